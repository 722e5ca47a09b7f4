// swift-tools-version:5.7
// The MobileOne engine for iOS and macOS apps: `CMobileOne` is the C API (compiled from the repository's
// headers, reached through symbolic links because SwiftPM reads no file outside the package), `MobileOne`
// the Swift layer for CGImage and CVPixelBuffer. Add it to an app as a local package (this directory).
import PackageDescription

let package = Package(
    name: "MobileOne",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "MobileOne", targets: ["MobileOne"]),
        .executable(name: "mobileone-classify", targets: ["mobileone-classify"]),
    ],
    targets: [
        .target(name: "CMobileOne"),
        .target(name: "MobileOne", dependencies: ["CMobileOne"]),
        .executableTarget(name: "mobileone-classify", dependencies: ["MobileOne"]),
    ],
    cxxLanguageStandard: .cxx17
)
