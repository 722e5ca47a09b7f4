// Swift layer over the MobileOne C API: a model shared by the app, a classifier per thread, and the
// images iOS apps hold (CGImage, camera CVPixelBuffers).
import CMobileOne
import CoreGraphics
import CoreVideo
import Foundation
import ImageIO

/// A failure reported by the engine, with the C API's status and message.
public struct MobileOneError: Error, CustomStringConvertible {
    public let status: mobileone_status
    public let message: String

    public var description: String { "\(String(cString: mobileone_status_name(status))): \(message)" }
}

/// The C API keeps the last error per thread, so it is still this call's when read right after it.
private func check(_ status: mobileone_status) throws {
    if status != MOBILEONE_OK {
        throw MobileOneError(status: status, message: String(cString: mobileone_last_error_message()))
    }
}

private func invalidArgument(_ message: String) -> MobileOneError {
    MobileOneError(status: MOBILEONE_ERROR_INVALID_ARGUMENT, message: message)
}

public struct Prediction {
    public let classIndex: Int
    public let probability: Float
    public let label: String
}

/// One row of the golden self-check (`MobileOneClassifier.verify()`).
public struct StageVerification {
    public let stage: String         // "stem", "stage1" ... "logits"
    public let relativeError: Float  // max|ours - golden| / max|golden| over the stage's output
    public let tolerance: Float      // of the classifier's precision
    public let passed: Bool
}

public struct Verification {
    public let stages: [StageVerification]
    public var passed: Bool { stages.allSatisfy { $0.passed } }
    /// The first stage past its tolerance (where the engine goes wrong), nil when every stage passed.
    public var firstDivergence: StageVerification? { stages.first { !$0.passed } }
}

/// An immutable model: load it once and share it between threads and classifiers.
public final class MobileOneModel: @unchecked Sendable {
    let handle: OpaquePointer

    /// Reads a .mone file, e.g. `Bundle.main.url(forResource: "mobileone_s0", withExtension: "mone")`.
    public init(contentsOf url: URL) throws {
        var model: OpaquePointer?
        try check(mobileone_model_create_from_file(url.path, &model))
        handle = model!
    }

    /// Copies a .mone blob held in memory.
    public init(data: Data) throws {
        var model: OpaquePointer?
        try data.withUnsafeBytes { blob in
            try check(mobileone_model_create_from_buffer(blob.baseAddress, blob.count, &model))
        }
        handle = model!
    }

    deinit { mobileone_model_destroy(handle) }

    public var name: String { String(cString: mobileone_model_name(handle)) }
    public var classCount: Int { Int(mobileone_model_class_count(handle)) }
}

/// Runs a model. Use each classifier from one thread (or serial queue) at a time; make one per thread.
public final class MobileOneClassifier {
    public let model: MobileOneModel
    private let context: OpaquePointer

    /// `threads`: 0 for one per core of `cores`, at most 4. `precision`: MOBILEONE_PRECISION_AUTO runs an int8
    /// model (made by mobileone-quantize) in int8 and any other in fp32; MOBILEONE_PRECISION_INT8 on a float32
    /// model throws MOBILEONE_ERROR_INVALID_ARGUMENT; MOBILEONE_PRECISION_FP16 (A11 and later, FEAT_FP16) and
    /// MOBILEONE_PRECISION_BF16 (M2/A15 and later, FEAT_BF16) run any model in 16-bit floats and throw
    /// MOBILEONE_ERROR_UNSUPPORTED where the CPU lacks them. `cores`: MOBILEONE_CORES_BIG counts the performance
    /// cores (hw.perflevel0), MOBILEONE_CORES_LITTLE the efficiency cores, whose workers run at background
    /// QoS; iOS and macOS have no thread affinity, so nothing is pinned (other workers take the QoS of the
    /// thread that creates the classifier).
    public init(model: MobileOneModel, threads: Int = 0, precision: mobileone_precision = MOBILEONE_PRECISION_AUTO,
                cores: mobileone_core_policy = MOBILEONE_CORES_BIG) throws {
        var options = mobileone_context_options(threads: Int32(clamping: threads), isa: MOBILEONE_ISA_AUTO,
                                                precision: precision, cores: cores)
        var created: OpaquePointer?
        try check(mobileone_context_create(model.handle, &options, &created))
        self.model = model
        context = created!
    }

    deinit { mobileone_context_destroy(context) }

    /// The precision this classifier runs in: the requested one with AUTO resolved for the model.
    public var precision: mobileone_precision { mobileone_context_precision(context) }

    /// Classifies a CGImage, rendered into RGBA first, turned upright as `orientation` (its EXIF orientation;
    /// for a UIImage, the one matching `imageOrientation`) says, in the engine's resize pass.
    /// `regionOfInterest` is in pixels of the upright image, origin at the top left.
    public func classify(_ image: CGImage, orientation: CGImagePropertyOrientation = .up, regionOfInterest: CGRect? = nil,
                         topK: Int = 5) throws -> [Prediction] {
        let width = image.width, height = image.height, rowBytes = image.width * 4
        var pixels = [UInt8](repeating: 0, count: rowBytes * height)
        try pixels.withUnsafeMutableBytes { buffer in
            guard let space = CGColorSpace(name: CGColorSpace.sRGB),
                  let canvas = CGContext(data: buffer.baseAddress, width: width, height: height, bitsPerComponent: 8,
                                         bytesPerRow: rowBytes, space: space,
                                         bitmapInfo: CGImageAlphaInfo.noneSkipLast.rawValue)  // bytes R,G,B,x
            else { throw invalidArgument("cannot render the image as RGBA") }
            canvas.draw(image, in: CGRect(x: 0, y: 0, width: width, height: height))
        }
        return try pixels.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) throws -> [Prediction] in
            var frame = mobileone_image()
            frame.format = MOBILEONE_PIXEL_FORMAT_RGBA8888
            frame.width = Int32(clamping: width)
            frame.height = Int32(clamping: height)
            frame.pixels = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
            frame.row_stride = rowBytes
            frame.pixels_size = buffer.count
            (frame.rotation, frame.mirror) = try rotationAndMirror(orientation)
            return try classify(&frame, regionOfInterest, topK)
        }
    }

    /// Classifies a camera frame in place: kCVPixelFormatType_32BGRA, or 420f / 420v (NV12 in full or video
    /// range, BT.601 or BT.709 as the buffer's attachment says). `orientation` is the frame's, as Vision takes
    /// it (e.g. `.right` for the back camera of a phone held upright, `.leftMirrored` for the front camera):
    /// the engine turns the frame upright in the same pass as the resize, without a copy.
    /// `regionOfInterest` is in pixels of the upright image, origin at the top left.
    public func classify(_ pixelBuffer: CVPixelBuffer, orientation: CGImagePropertyOrientation = .up,
                         regionOfInterest: CGRect? = nil, topK: Int = 5) throws -> [Prediction] {
        CVPixelBufferLockBaseAddress(pixelBuffer, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(pixelBuffer, .readOnly) }
        var frame = mobileone_image()
        frame.width = Int32(clamping: CVPixelBufferGetWidth(pixelBuffer))
        frame.height = Int32(clamping: CVPixelBufferGetHeight(pixelBuffer))
        let format = CVPixelBufferGetPixelFormatType(pixelBuffer)
        switch format {
        case kCVPixelFormatType_32BGRA:
            frame.format = MOBILEONE_PIXEL_FORMAT_BGRA8888
            frame.pixels = UnsafePointer(CVPixelBufferGetBaseAddress(pixelBuffer)?.assumingMemoryBound(to: UInt8.self))
            frame.row_stride = CVPixelBufferGetBytesPerRow(pixelBuffer)
            frame.pixels_size = frame.row_stride * CVPixelBufferGetHeight(pixelBuffer)
        case kCVPixelFormatType_420YpCbCr8BiPlanarFullRange, kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange:
            frame.format = MOBILEONE_PIXEL_FORMAT_NV12
            frame.color_space = yuvColorSpace(of: pixelBuffer, fullRange: format == kCVPixelFormatType_420YpCbCr8BiPlanarFullRange)
            frame.pixels = plane(0, of: pixelBuffer)
            frame.row_stride = CVPixelBufferGetBytesPerRowOfPlane(pixelBuffer, 0)
            frame.pixels_size = frame.row_stride * CVPixelBufferGetHeightOfPlane(pixelBuffer, 0)
            frame.chroma = plane(1, of: pixelBuffer)
            frame.chroma_row_stride = CVPixelBufferGetBytesPerRowOfPlane(pixelBuffer, 1)
            frame.chroma_size = frame.chroma_row_stride * CVPixelBufferGetHeightOfPlane(pixelBuffer, 1)
        default:
            throw invalidArgument("pixel format \(format) is not 32BGRA, 420f or 420v")
        }
        (frame.rotation, frame.mirror) = try rotationAndMirror(orientation)
        return try classify(&frame, regionOfInterest, topK)
    }

    /// The last run's logits, one per class.
    public func logits() throws -> [Float] {
        var logits: UnsafePointer<Float>?
        var count: Int32 = 0
        try check(mobileone_context_logits(context, &logits, &count))
        return Array(UnsafeBufferPointer(start: logits, count: Int(count)))
    }

    /// The last run's output of backbone stage `stage` (0 = stem), NHWC.
    public func featureMap(stage: Int) throws -> (height: Int, width: Int, channels: Int, values: [Float]) {
        var map = mobileone_feature_map()
        try check(mobileone_context_feature_map(context, Int32(clamping: stage), &map))
        let count = Int(map.height) * Int(map.width) * Int(map.channels)
        return (Int(map.height), Int(map.width), Int(map.channels), Array(UnsafeBufferPointer(start: map.data, count: count)))
    }

    /// The golden self-check: runs the model's built-in input (format version 3) on this classifier's
    /// kernels, in memory of its own (the last results stay), against the converter's float64 outputs. Run
    /// it once per device model or at first launch; a model without golden data throws
    /// MOBILEONE_ERROR_UNSUPPORTED.
    public func verify() throws -> Verification {
        let rows = Int(mobileone_model_stage_count(model.handle)) + 2
        var table = [mobileone_verify_stage](repeating: mobileone_verify_stage(), count: rows)
        var count = 0
        var passed: Int32 = 0
        try check(mobileone_context_verify(context, &table, rows, &count, &passed))
        return Verification(stages: table.prefix(count).map { row in
            let index = Int(row.stage)
            let name = index == 0 ? "stem" : index == rows - 1 ? "logits" : "stage\(index)"
            return StageVerification(stage: name, relativeError: row.relative_error, tolerance: row.tolerance,
                                     passed: row.passed != 0)
        })
    }

    private func classify(_ frame: inout mobileone_image, _ region: CGRect?, _ k: Int) throws -> [Prediction] {
        if let region = region {
            var rect = try pixelRect(region)
            try check(mobileone_context_run(context, &frame, &rect))
        } else {
            try check(mobileone_context_run(context, &frame, nil))
        }
        var top = [mobileone_prediction](repeating: mobileone_prediction(), count: max(k, 1))
        var count: Int32 = 0
        try check(mobileone_context_top_k(context, Int32(clamping: k), &top, &count))
        return top.prefix(Int(count)).map {
            Prediction(classIndex: Int($0.class_index), probability: $0.probability, label: String(cString: $0.label))
        }
    }
}

/// An EXIF orientation as the C API's rotation (degrees clockwise that make the stored image upright) and
/// mirror (then flip it left to right): transpose (5) is 90 then a flip, transverse (7) 270 then a flip.
private func rotationAndMirror(_ orientation: CGImagePropertyOrientation) throws -> (Int32, Int32) {
    switch orientation {
    case .up: return (0, 0)
    case .upMirrored: return (0, 1)
    case .down: return (180, 0)
    case .downMirrored: return (180, 1)
    case .right: return (90, 0)
    case .leftMirrored: return (90, 1)
    case .left: return (270, 0)
    case .rightMirrored: return (270, 1)
    @unknown default: throw invalidArgument("image orientation \(orientation.rawValue) is not an EXIF orientation")
    }
}

private func plane(_ index: Int, of pixelBuffer: CVPixelBuffer) -> UnsafePointer<UInt8>? {
    UnsafePointer(CVPixelBufferGetBaseAddressOfPlane(pixelBuffer, index)?.assumingMemoryBound(to: UInt8.self))
}

private func yuvColorSpace(of pixelBuffer: CVPixelBuffer, fullRange: Bool) -> mobileone_yuv_color_space {
    let matrix = CVBufferCopyAttachment(pixelBuffer, kCVImageBufferYCbCrMatrixKey, nil) as? String
    let bt709 = matrix == (kCVImageBufferYCbCrMatrix_ITU_R_709_2 as String)
    switch (bt709, fullRange) {
    case (false, true): return MOBILEONE_YUV_BT601_FULL_RANGE
    case (false, false): return MOBILEONE_YUV_BT601_VIDEO_RANGE
    case (true, true): return MOBILEONE_YUV_BT709_FULL_RANGE
    case (true, false): return MOBILEONE_YUV_BT709_VIDEO_RANGE
    }
}

/// A CGRect as whole pixels; the engine refuses a region that does not lie inside the image.
private func pixelRect(_ rect: CGRect) throws -> mobileone_rect {
    let r = rect.integral
    let limit = CGFloat(Int32.max)
    guard !r.isNull, !r.isInfinite, [r.minX, r.minY, r.width, r.height].allSatisfy({ abs($0) <= limit }) else {
        throw invalidArgument("region of interest \(rect) is not a rectangle of pixels")
    }
    return mobileone_rect(x: Int32(r.minX), y: Int32(r.minY), width: Int32(r.width), height: Int32(r.height))
}
