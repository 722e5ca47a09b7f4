package com.mobileone;

import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * The Java binding through the JNI bridge on a desktop JVM: the real S0 classifies a shared image decoded
 * by Java as PyTorch does, through every entry the app uses, and failures arrive as the right exceptions.
 *
 * <pre>java -Djava.library.path=DIR -cp CLASSES com.mobileone.MobileOneJniTest MODEL.mone SHARED_DIR</pre>
 */
public final class MobileOneJniTest {
  private static int checks = 0;

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      throw new IllegalArgumentException("usage: MobileOneJniTest MODEL.mone SHARED_DIR");
    }
    final String modelPath = args[0];
    final BufferedImage chelsea = ImageIO.read(new File(args[1], "images/chelsea.png"));
    final String json = new String(Files.readAllBytes(Paths.get(args[1], "reference/s0_top5.json")), StandardCharsets.UTF_8);
    final Matcher reference = Pattern.compile("\"chelsea\\.png\".*?\"index\": (\\d+),\\s*\"label\": \"([^\"]*)\"",
        Pattern.DOTALL).matcher(json);
    check(reference.find(), "reference/s0_top5.json has chelsea.png");
    final int expectedIndex = Integer.parseInt(reference.group(1));
    final String expectedLabel = reference.group(2);
    final int width = chelsea.getWidth();
    final int height = chelsea.getHeight();
    final byte[] rgba = rgba8888(chelsea, 0);

    check(MobileOne.version().matches("\\d+\\.\\d+\\.\\d+"), "version " + MobileOne.version());
    try (MobileOne.Model model = MobileOne.Model.fromFile(modelPath);
         MobileOne.Context context = new MobileOne.Context(model)) {
      check(model.name().equals("mobileone_s0") && model.classCount() == 1000 && model.stageCount() == 4,
          "model " + model.name() + ", " + model.classCount() + " classes");
      // A float32 model: AUTO runs it in FP32, INT8 is refused.
      check(context.precision() == MobileOne.Precision.FP32, "precision " + context.precision());
      try (MobileOne.Context fp32 = new MobileOne.Context(model, 1, MobileOne.Isa.AUTO, MobileOne.Precision.FP32)) {
        check(fp32.precision() == MobileOne.Precision.FP32, "forced FP32 runs " + fp32.precision());
      }
      expectEngineError(() -> new MobileOne.Context(model, 1, MobileOne.Isa.AUTO, MobileOne.Precision.INT8),
          MobileOne.Status.INVALID_ARGUMENT, "has no int8 layers");

      // An Android bitmap's bytes (R,G,B,A), as byte[] and as a direct buffer with padded rows.
      final MobileOne.Prediction[] top = context.classify(
          MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, rgba, width, height, 0), null, 5);
      System.out.println("chelsea.png via JNI: " + top[0] + "; reference: " + expectedLabel + " (" + expectedIndex + ")");
      check(top.length == 5 && top[0].classIndex == expectedIndex && top[0].label.equals(expectedLabel), "top-1 " + top[0]);
      final float[] logits = context.logits();
      check(logits.length == 1000 && argmax(logits) == expectedIndex, "logits argmax");

      final int stride = width * 4 + 12;
      final ByteBuffer padded = ByteBuffer.allocateDirect(stride * height);
      padded.put(rgba8888(chelsea, 12)).flip();
      context.run(MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, padded, width, height, stride), null);
      check(Arrays.equals(context.logits(), logits), "direct buffer with padded rows gives the same logits");

      final MobileOne.FeatureMap last = context.featureMap(4);
      check(last.height == 7 && last.width == 7 && last.channels == 1024 && last.data.length == 7 * 7 * 1024,
          "stage 4 feature map is 7x7x1024");

      // Camera frames: an NV21 array, and YUV_420_888 planes as Camera2 hands them out (views into one
      // direct buffer; the V plane first, each chroma view one byte short of the interleaved plane).
      final byte[] frame = nv21(chelsea);
      final MobileOne.Prediction[] fromArray = context.classify(MobileOne.Image.nv21(frame, width, height), null, 1);
      check(fromArray[0].classIndex == expectedIndex, "NV21 top-1 " + fromArray[0]);
      final float[] nv21Logits = context.logits();
      final ByteBuffer camera = ByteBuffer.allocateDirect(frame.length);
      camera.put(frame);
      final int luma = width * height;
      final MobileOne.Image planes = MobileOne.Image.yuv420888(camera.slice(0, luma), width,
          camera.slice(luma + 1, frame.length - luma - 1), camera.slice(luma, frame.length - luma - 1),
          2 * ((width + 1) / 2), 2, width, height, MobileOne.YuvColorSpace.BT601_FULL_RANGE);
      context.run(planes, null);
      check(Arrays.equals(context.logits(), nv21Logits), "YUV_420_888 planes give the NV21 frame's logits");
      expectBindingError(() -> context.run(MobileOne.Image.yuv420888(camera.slice(0, luma), width,
          camera.slice(luma, 8), camera.slice(luma + 8, 8), width, 1, width, height,
          MobileOne.YuvColorSpace.BT601_FULL_RANGE), null), IllegalArgumentException.class);

      expectEngineError(() -> context.run(MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, rgba, width, height, 0),
          new MobileOne.Region(width - 10, 0, 20, 20)), MobileOne.Status.INVALID_ARGUMENT, "does not lie inside");
      expectEngineError(() -> context.topK(1), MobileOne.Status.NO_RESULTS, "no results");
      expectEngineError(() -> context.run(MobileOne.Image.packed(MobileOne.PixelFormat.RGB_888, rgba, width, height * 2, 0), null),
          MobileOne.Status.INVALID_ARGUMENT, "pixels_size");
      expectBindingError(() -> MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, ByteBuffer.allocate(16), 2, 2, 0),
          IllegalArgumentException.class);

      // Model and contexts shared with other threads, each thread with a context of its own.
      final List<Thread> threads = new ArrayList<>();
      final int[] agreeing = new int[2];
      for (int t = 0; t < 2; ++t) {
        final int slot = t;
        threads.add(new Thread(() -> {
          try (MobileOne.Context own = new MobileOne.Context(model, 1, MobileOne.Isa.AUTO)) {
            for (int run = 0; run < 3; ++run) {
              own.run(MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, rgba, width, height, 0), null);
              if (Arrays.equals(own.logits(), logits)) {
                ++agreeing[slot];
              }
            }
          }
        }));
      }
      for (Thread thread : threads) {
        thread.start();
      }
      for (Thread thread : threads) {
        thread.join();
      }
      check(agreeing[0] == 3 && agreeing[1] == 3, "contexts in other threads give the same logits");
    }

    // The blob in place from a memory-mapped file (as from an app asset), and a model file that is missing.
    try (FileChannel channel = FileChannel.open(Paths.get(modelPath), StandardOpenOption.READ)) {
      final MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size());
      try (MobileOne.Model model = MobileOne.Model.fromDirectBuffer(mapped);
           MobileOne.Context context = new MobileOne.Context(model)) {
        final MobileOne.Prediction[] top = context.classify(
            MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, rgba, width, height, 0), null, 1);
        check(top[0].classIndex == expectedIndex, "memory-mapped model top-1 " + top[0]);
      }
    }
    expectEngineError(() -> MobileOne.Model.fromFile("/nonexistent/model.mone"), MobileOne.Status.IO,
        "/nonexistent/model.mone: cannot open model file");
    expectEngineError(() -> MobileOne.Model.fromBytes(new byte[200]), MobileOne.Status.INVALID_MODEL, "bad magic");
    final MobileOne.Model closed = MobileOne.Model.fromFile(modelPath);
    closed.close();
    expectBindingError(() -> new MobileOne.Context(closed), IllegalStateException.class);
    System.out.println("jni: " + checks + " passed, 0 failed");
  }

  /** The image's pixels as an ARGB_8888 Android bitmap holds them: bytes R,G,B,A, rows padded by `padding`. */
  private static byte[] rgba8888(BufferedImage image, int padding) {
    final int stride = image.getWidth() * 4 + padding;
    final byte[] bytes = new byte[stride * image.getHeight()];
    for (int y = 0; y < image.getHeight(); ++y) {
      for (int x = 0; x < image.getWidth(); ++x) {
        final int argb = image.getRGB(x, y);
        final int at = y * stride + x * 4;
        bytes[at] = (byte) (argb >> 16);
        bytes[at + 1] = (byte) (argb >> 8);
        bytes[at + 2] = (byte) argb;
        bytes[at + 3] = (byte) (argb >>> 24);
      }
    }
    return bytes;
  }

  /** An NV21 frame (BT.601 full range, chroma of each 2x2 block from its top-left pixel). */
  private static byte[] nv21(BufferedImage image) {
    final int w = image.getWidth();
    final int h = image.getHeight();
    final int chromaRow = 2 * ((w + 1) / 2);
    final byte[] frame = new byte[w * h + chromaRow * ((h + 1) / 2)];
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        final int rgb = image.getRGB(x, y);
        final double r = (rgb >> 16) & 255;
        final double g = (rgb >> 8) & 255;
        final double b = rgb & 255;
        frame[y * w + x] = clamp(0.299 * r + 0.587 * g + 0.114 * b);
        if (x % 2 == 0 && y % 2 == 0) {
          final int pair = w * h + (y / 2) * chromaRow + x;
          frame[pair] = clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
          frame[pair + 1] = clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
        }
      }
    }
    return frame;
  }

  private static byte clamp(double v) {
    return (byte) Math.max(0, Math.min(255, Math.round(v)));
  }

  private static int argmax(float[] values) {
    int best = 0;
    for (int i = 1; i < values.length; ++i) {
      if (values[i] > values[best]) {
        best = i;
      }
    }
    return best;
  }

  private static void check(boolean condition, String what) {
    if (!condition) {
      throw new AssertionError("failed: " + what);
    }
    ++checks;
  }

  private static void expectEngineError(Runnable action, MobileOne.Status status, String fragment) {
    try {
      action.run();
    } catch (MobileOne.MobileOneException e) {
      check(e.status == status && e.getMessage().contains(fragment), "expected " + status + " '" + fragment + "', got " + e.getMessage());
      return;
    }
    throw new AssertionError("expected " + status + " '" + fragment + "', nothing was thrown");
  }

  private static void expectBindingError(Runnable action, Class<? extends RuntimeException> type) {
    try {
      action.run();
    } catch (RuntimeException e) {
      check(type.isInstance(e), "expected " + type.getSimpleName() + ", got " + e);
      return;
    }
    throw new AssertionError("expected " + type.getSimpleName() + ", nothing was thrown");
  }
}
