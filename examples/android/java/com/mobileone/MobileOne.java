package com.mobileone;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Java binding of the MobileOne C API (include/mobileone/mobileone.h), through libmobileone_jni.so.
 *
 * <pre>{@code
 * try (MobileOne.Model model = MobileOne.Model.fromFile(path);
 *      MobileOne.Context context = new MobileOne.Context(model)) {
 *   MobileOne.Prediction[] top5 =
 *       context.classify(MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, pixels, width, height, 0), null, 5);
 * }
 * }</pre>
 *
 * <p>Threads: a {@link Model} may be used by any number of threads at once; use each {@link Context} from
 * one thread at a time. Close what you create (try-with-resources): the garbage collector does not see
 * the native memory behind a handle. Failures of the engine throw {@link MobileOneException} with the C
 * API's status and message; misuse of this binding (a closed handle, a heap ByteBuffer) throws the usual
 * {@link IllegalStateException} or {@link IllegalArgumentException}.
 *
 * <p>This class uses nothing beyond the JDK, so it runs on a desktop JVM as well; {@code Bitmaps} adds
 * {@code android.graphics.Bitmap} on Android.
 */
public final class MobileOne {
  static {
    System.loadLibrary("mobileone_jni");
  }

  private MobileOne() {}

  /** The engine's version, "MAJOR.MINOR.PATCH". */
  public static String version() {
    return nativeVersion();
  }

  /** mobileone_status. */
  public enum Status {
    OK, INVALID_ARGUMENT, BUFFER_TOO_SMALL, IO, INVALID_MODEL, UNSUPPORTED, NO_RESULTS, OUT_OF_MEMORY, INTERNAL;

    static Status of(int code) {
      return code >= 0 && code < values().length ? values()[code] : INTERNAL;
    }
  }

  /** mobileone_pixel_format: 8-bit layouts named by their bytes in memory. */
  public enum PixelFormat {
    /** R,G,B,A: {@code Bitmap.Config.ARGB_8888}. */
    RGBA_8888(1),
    BGRA_8888(2),
    RGB_888(3),
    BGR_888(4),
    GRAY_8(5),
    /** Y plane, then interleaved V,U: camera preview frames, {@code YUV_420_888} whose V plane comes first. */
    NV21(6),
    /** Y plane, then interleaved U,V. */
    NV12(7);

    final int code;

    PixelFormat(int code) {
      this.code = code;
    }
  }

  /** mobileone_yuv_color_space. Android cameras deliver BT.601 full range. */
  public enum YuvColorSpace {
    BT601_FULL_RANGE, BT601_VIDEO_RANGE, BT709_FULL_RANGE, BT709_VIDEO_RANGE
  }

  /** mobileone_isa. */
  public enum Isa {
    AUTO, SCALAR, AVX2, AVX512, NEON
  }

  /**
   * mobileone_precision. AUTO runs an int8 model (one made by mobileone-quantize) in INT8 and any other in
   * FP32; INT8 on a float32 model fails with {@link Status#INVALID_ARGUMENT}. FP16 (phones with FEAT_FP16:
   * ARMv8.2-A and later) and BF16 (FEAT_BF16; x86 with AVX512-BF16) run any model in 16-bit floats and fail
   * with {@link Status#UNSUPPORTED} where the CPU lacks them.
   */
  public enum Precision {
    AUTO, FP32, INT8, BF16, FP16
  }

  /**
   * mobileone_core_policy: which cores a context's threads run on (threads 0: one per such core, at most 4).
   * BIG: the cores faster than the slowest cluster (a 1+3+4 phone's prime and performance cores), the
   * default; ALL: every core, placed by the OS; LITTLE: the slowest cluster, for background work. Threads
   * are pinned with sched_setaffinity where the OS allows it; where it does not, they run unpinned.
   */
  public enum Cores {
    BIG, ALL, LITTLE
  }

  /** A failure reported by the engine. */
  public static final class MobileOneException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    public final Status status;

    MobileOneException(Status status, String message) {
      super(status + ": " + message);
      this.status = status;
    }
  }

  public static final class Prediction {
    public final int classIndex;
    public final float probability;
    public final String label;

    Prediction(int classIndex, float probability, String label) {
      this.classIndex = classIndex;
      this.probability = probability;
      this.label = label;
    }

    @Override
    public String toString() {
      return label + " (" + classIndex + "): " + probability;
    }
  }

  /** A backbone stage's output: NHWC, {@code data[(y * width + x) * channels + c]}. */
  public static final class FeatureMap {
    public final int height;
    public final int width;
    public final int channels;
    public final float[] data;

    FeatureMap(int height, int width, int channels, float[] data) {
      this.height = height;
      this.width = width;
      this.channels = channels;
      this.data = data;
    }
  }

  /**
   * The golden self-check of {@link Context#verify}: per stage ({@code stages[i]}: "stem", "stage1" ..,
   * last "logits") the worst relative error against the converter's float64 outputs and the tolerance of
   * the context's precision.
   */
  public static final class Verification {
    public final boolean passed;
    public final String[] stages;
    public final float[] relativeErrors;
    public final float[] tolerances;

    Verification(boolean passed, String[] stages, float[] relativeErrors, float[] tolerances) {
      this.passed = passed;
      this.stages = stages;
      this.relativeErrors = relativeErrors;
      this.tolerances = tolerances;
    }

    /** The first stage past its tolerance (where the engine goes wrong), or null when all passed. */
    public String firstDivergingStage() {
      for (int i = 0; i < stages.length; ++i) {
        if (!(relativeErrors[i] <= tolerances[i])) {
          return stages[i];
        }
      }
      return null;
    }

    @Override
    public String toString() {
      final StringBuilder text = new StringBuilder(passed ? "passed" : "diverges at " + firstDivergingStage());
      for (int i = 0; i < stages.length; ++i) {
        text.append(String.format(java.util.Locale.ROOT, " %s %.3g/%.3g", stages[i], relativeErrors[i], tolerances[i]));
      }
      return text.toString();
    }
  }

  /**
   * A region of interest in pixels of the upright image (the whole image, turned as {@link Image#oriented}
   * says); it must lie inside it.
   */
  public static final class Region {
    public final int x;
    public final int y;
    public final int width;
    public final int height;

    public Region(int x, int y, int width, int height) {
      this.x = x;
      this.y = y;
      this.width = width;
      this.height = height;
    }

    int[] toArray() {
      return new int[] {x, y, width, height};
    }
  }

  /**
   * An image in a {@code byte[]} or a direct {@link ByteBuffer} (its bytes from position to limit). Direct
   * buffers are read in place; a {@code byte[]} may be copied by the VM for the call. A camera frame is
   * turned upright with {@link #oriented}: regions are then in upright coordinates.
   */
  public static final class Image {
    final PixelFormat format;
    final int width;
    final int height;
    final Object pixels;
    final int pixelsOffset;
    final int pixelsLength;
    final int rowStride;
    final Object chroma;
    final int chromaOffset;
    final int chromaLength;
    final int chromaRowStride;
    final YuvColorSpace colorSpace;
    final ByteBuffer vPlane; // YUV_420_888 frames only: `chroma` is then the U plane
    final int chromaPixelStride;
    final int rotationDegrees;
    final boolean mirror;

    private Image(PixelFormat format, int width, int height, Object pixels, int pixelsOffset, int pixelsLength,
        int rowStride, Object chroma, int chromaOffset, int chromaLength, int chromaRowStride,
        YuvColorSpace colorSpace) {
      this(format, width, height, pixels, pixelsOffset, pixelsLength, rowStride, chroma, chromaOffset, chromaLength,
          chromaRowStride, colorSpace, null, 0, 0, false);
    }

    private Image(PixelFormat format, int width, int height, Object pixels, int pixelsOffset, int pixelsLength,
        int rowStride, Object chroma, int chromaOffset, int chromaLength, int chromaRowStride,
        YuvColorSpace colorSpace, ByteBuffer vPlane, int chromaPixelStride, int rotationDegrees, boolean mirror) {
      this.format = format;
      this.width = width;
      this.height = height;
      this.pixels = pixels;
      this.pixelsOffset = pixelsOffset;
      this.pixelsLength = pixelsLength;
      this.rowStride = rowStride;
      this.chroma = chroma;
      this.chromaOffset = chromaOffset;
      this.chromaLength = chromaLength;
      this.chromaRowStride = chromaRowStride;
      this.colorSpace = colorSpace;
      this.vPlane = vPlane;
      this.chromaPixelStride = chromaPixelStride;
      this.rotationDegrees = rotationDegrees;
      this.mirror = mirror;
    }

    /**
     * The same pixels as a frame to turn upright first: rotated clockwise by {@code rotationDegrees} (0, 90,
     * 180 or 270; CameraX: {@code imageProxy.getImageInfo().getRotationDegrees()}, the rotation that makes
     * the frame upright), then, if {@code mirror}, flipped left to right (what a front camera's preview
     * shows). Read in place, in the same pass as the resize. Other angles fail in {@link Context#run}.
     */
    public Image oriented(int rotationDegrees, boolean mirror) {
      return new Image(format, width, height, pixels, pixelsOffset, pixelsLength, rowStride, chroma, chromaOffset,
          chromaLength, chromaRowStride, colorSpace, vPlane, chromaPixelStride, rotationDegrees, mirror);
    }

    /** A packed image (not NV12/NV21); rowStride 0 means rows are packed. */
    public static Image packed(PixelFormat format, byte[] pixels, int width, int height, int rowStride) {
      return new Image(format, width, height, pixels, 0, pixels.length, rowStride, null, 0, 0, 0,
          YuvColorSpace.BT601_FULL_RANGE);
    }

    public static Image packed(PixelFormat format, ByteBuffer pixels, int width, int height, int rowStride) {
      return new Image(format, width, height, direct(pixels), pixels.position(), pixels.remaining(), rowStride, null,
          0, 0, 0, YuvColorSpace.BT601_FULL_RANGE);
    }

    /** A camera preview frame: width x height luma bytes followed by the interleaved V,U plane, packed. */
    public static Image nv21(byte[] frame, int width, int height) {
      final int luma = Math.max(0, width) * Math.max(0, height);
      if (luma > frame.length) {
        throw new IllegalArgumentException(
            "an NV21 frame of " + width + "x" + height + " needs more than its " + frame.length + " bytes");
      }
      return new Image(PixelFormat.NV21, width, height, frame, 0, luma, 0, frame, luma, frame.length - luma, 0,
          YuvColorSpace.BT601_FULL_RANGE);
    }

    /**
     * A frame of two planes in direct buffers (from position to limit): luma, and interleaved chroma in the
     * order {@code format} says.
     */
    public static Image yuv(PixelFormat format, ByteBuffer luma, int lumaRowStride, ByteBuffer chroma,
        int chromaRowStride, int width, int height, YuvColorSpace colorSpace) {
      return new Image(format, width, height, direct(luma), luma.position(), luma.remaining(), lumaRowStride,
          direct(chroma), chroma.position(), chroma.remaining(), chromaRowStride, colorSpace);
    }

    /**
     * A camera frame of {@code ImageFormat.YUV_420_888} ({@code android.media.Image} or CameraX's
     * {@code ImageProxy}), from its three planes' buffers (each from position to limit), row strides and
     * the chroma pixel stride, 1 (planar) or 2 (U and V interleaved, what most cameras deliver):
     * {@code yuv420888(p[0].getBuffer(), p[0].getRowStride(), p[1].getBuffer(), p[2].getBuffer(),
     * p[1].getRowStride(), p[1].getPixelStride(), width, height, YuvColorSpace.BT601_FULL_RANGE)
     * .oriented(imageProxy.getImageInfo().getRotationDegrees(), false)}. The planes are read in place.
     */
    public static Image yuv420888(ByteBuffer y, int yRowStride, ByteBuffer u, ByteBuffer v, int chromaRowStride,
        int chromaPixelStride, int width, int height, YuvColorSpace colorSpace) {
      return new Image(null, width, height, direct(y).slice(), 0, 0, yRowStride, direct(u).slice(), 0, 0,
          chromaRowStride, colorSpace, direct(v).slice(), chromaPixelStride, 0, false);
    }

    private static ByteBuffer direct(ByteBuffer buffer) {
      if (!buffer.isDirect()) {
        throw new IllegalArgumentException("the ByteBuffer must be direct (ByteBuffer.allocateDirect)");
      }
      return buffer;
    }
  }

  /** An immutable, validated model; share it between threads. */
  public static final class Model implements AutoCloseable {
    private long handle;
    private final ByteBuffer external; // the bytes a model made in place uses: kept reachable
    private final String name;
    private final String[] labels;

    private Model(long handle, ByteBuffer external) {
      this.handle = handle;
      this.external = external;
      this.name = utf8(nativeModelName(handle));
      this.labels = new String[nativeModelClassCount(handle)];
      for (int i = 0; i < labels.length; ++i) {
        labels[i] = utf8(nativeModelLabel(handle, i));
      }
    }

    public static Model fromFile(String path) {
      final long[] handle = new long[1];
      check(nativeModelFromFile(path.getBytes(StandardCharsets.UTF_8), handle));
      return new Model(handle[0], null);
    }

    /** Copies the blob. */
    public static Model fromBytes(byte[] blob) {
      final long[] handle = new long[1];
      check(nativeModelFromBytes(blob, handle));
      return new Model(handle[0], null);
    }

    /**
     * Uses a direct buffer (a memory-mapped file, say) in place, from its position to its limit; it must
     * be 4-byte aligned (64 is better) and stay unchanged while this model and its contexts are open.
     */
    public static Model fromDirectBuffer(ByteBuffer blob) {
      final long[] handle = new long[1];
      check(nativeModelFromDirectBuffer(Image.direct(blob), blob.position(), blob.remaining(), handle));
      return new Model(handle[0], blob);
    }

    public String name() {
      return name;
    }

    public int classCount() {
      return labels.length;
    }

    public String label(int classIndex) {
      return labels[classIndex];
    }

    /** Feature maps exist for stages 0 (the stem) .. stageCount(). */
    public int stageCount() {
      return nativeModelStageCount(handle());
    }

    long handle() {
      if (handle == 0) {
        throw new IllegalStateException("the model is closed");
      }
      return handle;
    }

    @Override
    public synchronized void close() {
      nativeModelDestroy(handle);
      handle = 0;
    }
  }

  /** Runs a model; use it from one thread at a time. */
  public static final class Context implements AutoCloseable {
    private long handle;
    private final Model model;

    public Context(Model model) {
      this(model, 0, Isa.AUTO);
    }

    /** threads: 0 for the default (one per big core, at most 4). */
    public Context(Model model, int threads, Isa isa) {
      this(model, threads, isa, Precision.AUTO);
    }

    public Context(Model model, int threads, Isa isa, Precision precision) {
      this(model, threads, isa, precision, Cores.BIG);
    }

    /** threads: 0 for one per core of {@code cores}, at most 4. */
    public Context(Model model, int threads, Isa isa, Precision precision, Cores cores) {
      final long[] context = new long[1];
      check(nativeContextCreate(model.handle(), threads, isa.ordinal(), precision.ordinal(), cores.ordinal(),
          context));
      this.handle = context[0];
      this.model = model;
    }

    /** The precision this context runs in: AUTO resolved for its model (FP32 or INT8). */
    public Precision precision() {
      return Precision.values()[nativeContextPrecision(handle())];
    }

    /**
     * Preprocesses the image (or its region, in upright coordinates; null for all of it) and runs the
     * network.
     */
    public void run(Image image, Region region) {
      final int[] rect = region == null ? null : region.toArray();
      if (image.vPlane != null) {
        check(nativeRunYuv420888(handle(), image.width, image.height, image.pixels, image.rowStride, image.chroma,
            image.vPlane, image.chromaRowStride, image.chromaPixelStride, image.colorSpace.ordinal(),
            image.rotationDegrees, image.mirror, rect));
        return;
      }
      check(nativeRun(handle(), image.format.code, image.width, image.height, image.pixels, image.pixelsOffset,
          image.pixelsLength, image.rowStride, image.chroma, image.chromaOffset, image.chromaLength,
          image.chromaRowStride, image.colorSpace.ordinal(), image.rotationDegrees, image.mirror, rect));
    }

    public Prediction[] classify(Image image, Region region, int k) {
      run(image, region);
      return topK(k);
    }

    /** The k most probable classes of the last run, most probable first. */
    public Prediction[] topK(int k) {
      final int room = Math.max(0, Math.min(k, model.classCount()));
      final int[] indices = new int[room];
      final float[] probabilities = new float[room];
      final int[] count = new int[1];
      check(nativeTopK(handle(), k, indices, probabilities, count));
      final Prediction[] top = new Prediction[count[0]];
      for (int i = 0; i < top.length; ++i) {
        top[i] = new Prediction(indices[i], probabilities[i], model.label(indices[i]));
      }
      return top;
    }

    public float[] logits() {
      final float[] logits = new float[model.classCount()];
      check(nativeCopyLogits(handle(), logits));
      return logits;
    }

    public FeatureMap featureMap(int stage) {
      final int[] shape = new int[3];
      check(nativeFeatureMapShape(handle(), stage, shape));
      final float[] data = new float[Math.multiplyExact(Math.multiplyExact(shape[0], shape[1]), shape[2])];
      check(nativeCopyFeatureMap(handle(), stage, data));
      return new FeatureMap(shape[0], shape[1], shape[2], data);
    }

    /**
     * Runs the model's golden input (format version 3) on this context's ISA, precision and threads, in
     * memory of its own (this context's results stay), and compares every stage with the converter's
     * outputs: run it once per device model or at first launch. A model without golden data throws
     * {@link MobileOneException} with {@link Status#UNSUPPORTED}.
     */
    public Verification verify() {
      final int rows = model.stageCount() + 2;
      final float[] errors = new float[rows];
      final float[] tolerances = new float[rows];
      final int[] passed = new int[1];
      check(nativeVerify(handle(), errors, tolerances, passed));
      final String[] stages = new String[rows];
      for (int i = 0; i < rows; ++i) {
        stages[i] = i == 0 ? "stem" : i == rows - 1 ? "logits" : "stage" + i;
      }
      return new Verification(passed[0] == 1, stages, errors, tolerances);
    }

    long handle() {
      if (handle == 0) {
        throw new IllegalStateException("the context is closed");
      }
      return handle;
    }

    @Override
    public synchronized void close() {
      nativeContextDestroy(handle);
      handle = 0;
    }
  }

  // The C API keeps the last error per thread, so it is still this call's when Java asks right after.
  static void check(int status) {
    if (status != 0) {
      throw new MobileOneException(Status.of(status), utf8(nativeLastErrorMessage()));
    }
  }

  private static String utf8(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static native String nativeVersion();

  private static native byte[] nativeLastErrorMessage();

  private static native int nativeModelFromFile(byte[] utf8Path, long[] handle);

  private static native int nativeModelFromBytes(byte[] blob, long[] handle);

  private static native int nativeModelFromDirectBuffer(ByteBuffer blob, int offset, int length, long[] handle);

  private static native void nativeModelDestroy(long model);

  private static native byte[] nativeModelName(long model);

  private static native int nativeModelClassCount(long model);

  private static native byte[] nativeModelLabel(long model, int classIndex);

  private static native int nativeModelStageCount(long model);

  private static native int nativeContextCreate(long model, int threads, int isa, int precision, int cores,
      long[] handle);

  private static native void nativeContextDestroy(long context);

  private static native int nativeContextPrecision(long context);

  private static native int nativeRun(long context, int format, int width, int height, Object pixels,
      int pixelsOffset, int pixelsLength, int rowStride, Object chroma, int chromaOffset, int chromaLength,
      int chromaRowStride, int colorSpace, int rotationDegrees, boolean mirror, int[] region);

  private static native int nativeRunYuv420888(long context, int width, int height, Object y, int yRowStride,
      Object u, Object v, int chromaRowStride, int chromaPixelStride, int colorSpace, int rotationDegrees,
      boolean mirror, int[] region);

  private static native int nativeTopK(long context, int k, int[] indices, float[] probabilities, int[] count);

  private static native int nativeCopyLogits(long context, float[] logits);

  private static native int nativeFeatureMapShape(long context, int stage, int[] shape);

  private static native int nativeCopyFeatureMap(long context, int stage, float[] data);

  private static native int nativeVerify(long context, float[] errors, float[] tolerances, int[] passed);
}
