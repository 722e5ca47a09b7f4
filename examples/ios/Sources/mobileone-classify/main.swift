// Classifies an image file with the Swift package on macOS: swift run mobileone-classify MODEL.mone IMAGE;
// `swift run mobileone-classify MODEL.mone --verify` runs the golden self-check (exit status 1 if it fails).
import Foundation
import ImageIO
import MobileOne

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: mobileone-classify MODEL.mone IMAGE|--verify\n".utf8))
    exit(2)
}
do {
    let classifier = try MobileOneClassifier(model: MobileOneModel(contentsOf: URL(fileURLWithPath: arguments[1])))
    if arguments[2] == "--verify" {
        let verification = try classifier.verify()
        for stage in verification.stages {
            print("\(stage.stage): worst relative error \(stage.relativeError) (tolerance \(stage.tolerance))"
                + (stage.passed ? "" : "  DIVERGES"))
        }
        if let first = verification.firstDivergence {
            FileHandle.standardError.write(Data("mobileone-classify: self-check failed: \(first.stage) diverges first\n".utf8))
            exit(1)
        }
        exit(0)
    }
    guard let source = CGImageSourceCreateWithURL(URL(fileURLWithPath: arguments[2]) as CFURL, nil),
          let image = CGImageSourceCreateImageAtIndex(source, 0, nil)
    else {
        FileHandle.standardError.write(Data("mobileone-classify: cannot decode \(arguments[2])\n".utf8))
        exit(1)
    }
    for prediction in try classifier.classify(image, topK: 5) {
        print("\(prediction.label) (\(prediction.classIndex)): \(prediction.probability)")
    }
} catch {
    FileHandle.standardError.write(Data("mobileone-classify: \(error)\n".utf8))
    exit(1)
}
