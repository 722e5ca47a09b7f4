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
 *
 * <p>no_golden.mone (a model without golden self-check data, from the test fixtures) lies beside MODEL.mone.
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

      // The golden self-check passes here, in memory of its own: the context still has no results.
      final MobileOne.Verification verification = context.verify();
      System.out.println("self-check via JNI: " + verification);
      check(verification.passed && verification.firstDivergingStage() == null && verification.stages.length == 6
          && verification.stages[0].equals("stem") && verification.stages[5].equals("logits")
          && verification.tolerances[5] == 1e-4f && verification.relativeErrors[5] < 1e-5f, "self-check " + verification);
      expectEngineError(() -> context.topK(1), MobileOne.Status.NO_RESULTS, "no results");

      // An Android bitmap's bytes (R,G,B,A), as byte[] and as a direct buffer with padded rows.
      final MobileOne.Prediction[] top = context.classify(
          MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, rgba, width, height, 0), null, 5);
      System.out.println("chelsea.png via JNI: " + top[0] + "; reference: " + expectedLabel + " (" + expectedIndex + ")");
      check(top.length == 5 && top[0].classIndex == expectedIndex && top[0].label.equals(expectedLabel), "top-1 " + top[0]);
      final float[] logits = context.logits();
      check(logits.length == 1000 && argmax(logits) == expectedIndex, "logits argmax");
      for (MobileOne.Cores cores : MobileOne.Cores.values()) {
        try (MobileOne.Context placed = new MobileOne.Context(model, 0, MobileOne.Isa.AUTO, MobileOne.Precision.AUTO, cores)) {
          placed.run(MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, rgba, width, height, 0), null);
          check(Arrays.equals(placed.logits(), logits), "cores " + cores + " gives the same logits");
        }
      }

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
      // Planar YUV_420_888 (pixel stride 1: three planes, rows padded) gives the same frame's logits too.
      final int chromaWidth = (width + 1) / 2;
      final int chromaHeight = (height + 1) / 2;
      final int planarStride = chromaWidth + 5;
      final ByteBuffer u = ByteBuffer.allocateDirect(planarStride * (chromaHeight - 1) + chromaWidth);
      final ByteBuffer v = ByteBuffer.allocateDirect(planarStride * (chromaHeight - 1) + chromaWidth);
      for (int y = 0; y < chromaHeight; ++y) {
        for (int x = 0; x < chromaWidth; ++x) {
          v.put(y * planarStride + x, frame[luma + y * 2 * chromaWidth + 2 * x]);
          u.put(y * planarStride + x, frame[luma + y * 2 * chromaWidth + 2 * x + 1]);
        }
      }
      context.run(MobileOne.Image.yuv420888(camera.slice(0, luma), width, u, v, planarStride, 1, width, height,
          MobileOne.YuvColorSpace.BT601_FULL_RANGE), null);
      check(Arrays.equals(context.logits(), nv21Logits), "planar YUV_420_888 gives the NV21 frame's logits");
      expectEngineError(() -> context.run(MobileOne.Image.yuv420888(camera.slice(0, luma), width, u, v, planarStride, 3,
          width, height, MobileOne.YuvColorSpace.BT601_FULL_RANGE), null), MobileOne.Status.INVALID_ARGUMENT,
          "chroma_pixel_stride 3 is not 1 or 2");
      expectEngineError(() -> context.run(MobileOne.Image.yuv420888(camera.slice(0, luma), width, u,
          v.slice(0, v.capacity() - 1), planarStride, 1, width, height, MobileOne.YuvColorSpace.BT601_FULL_RANGE), null),
          MobileOne.Status.INVALID_ARGUMENT, "V plane (chroma_v_size) is");

      // Frames as a sensor delivers them, with the rotation (and mirror) that turn them upright: the upright
      // image's logits, bit for bit. Regions are in upright coordinates.
      final MobileOne.Region part = new MobileOne.Region(101, 37, 213, 171);
      context.run(MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, rgba, width, height, 0), part);
      final float[] partLogits = context.logits();
      for (int[] orientation : new int[][] {{90, 0}, {180, 1}, {270, 0}, {0, 1}}) {
        final int degrees = orientation[0];
        final boolean mirror = orientation[1] == 1;
        final BufferedImage sensor = frameFor(chelsea, degrees, mirror);
        final MobileOne.Image turned = MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, rgba8888(sensor, 0),
            sensor.getWidth(), sensor.getHeight(), 0).oriented(degrees, mirror);
        context.run(turned, null);
        check(Arrays.equals(context.logits(), logits), "a frame rotated " + degrees + (mirror ? " mirrored" : "") + " turned upright");
        context.run(turned, part);
        check(Arrays.equals(context.logits(), partLogits), "its upright region");
      }
      final BufferedImage portrait = frameFor(chelsea, 90, false);  // 300x451; upright 451x300
      expectEngineError(() -> context.run(MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, rgba8888(portrait, 0),
          height, width, 0).oriented(90, false), new MobileOne.Region(0, 0, 100, 400)), MobileOne.Status.INVALID_ARGUMENT,
          "does not lie inside the 451x300 upright image");
      expectEngineError(() -> context.run(MobileOne.Image.packed(MobileOne.PixelFormat.RGBA_8888, rgba, width, height, 0)
          .oriented(45, false), null), MobileOne.Status.INVALID_ARGUMENT, "rotation 45 is not 0, 90, 180 or 270");

      // A YUV_420_888 camera frame (pixel stride 2, V first) of an even-sized picture, turned 90 degrees by
      // the sensor: rotationDegrees 90 gives the upright frame's logits. (Even sides: a quarter turn maps each
      // 2x2 chroma block onto one.)
      final BufferedImage even = chelsea.getSubimage(0, 0, 450, 300);
      final byte[] uprightFrame = nv21(even);
      context.run(MobileOne.Image.nv21(uprightFrame, 450, 300), null);
      final float[] uprightLogits = context.logits();
      final byte[] sensorFrame = nv21TurnedCounterclockwise(uprightFrame, 450, 300);  // 300x450
      final ByteBuffer sensorBuffer = ByteBuffer.allocateDirect(sensorFrame.length);
      sensorBuffer.put(sensorFrame);
      final int sensorLuma = 300 * 450;
      context.run(MobileOne.Image.yuv420888(sensorBuffer.slice(0, sensorLuma), 300,
          sensorBuffer.slice(sensorLuma + 1, sensorFrame.length - sensorLuma - 1),
          sensorBuffer.slice(sensorLuma, sensorFrame.length - sensorLuma - 1), 300, 2, 300, 450,
          MobileOne.YuvColorSpace.BT601_FULL_RANGE).oriented(90, false), null);
      check(Arrays.equals(context.logits(), uprightLogits), "a YUV_420_888 frame rotated 90 turned upright");

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
    // A model converted without golden data (format version 1): the self-check is unavailable.
    try (MobileOne.Model old = MobileOne.Model.fromFile(Paths.get(modelPath).resolveSibling("no_golden.mone").toString());
         MobileOne.Context oldContext = new MobileOne.Context(old)) {
      expectEngineError(oldContext::verify, MobileOne.Status.UNSUPPORTED, "has no golden data (format version 1)");
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

  /** The image turned a quarter clockwise: its left column, read bottom to top, becomes the top row. */
  private static BufferedImage turnedClockwise(BufferedImage image) {
    final BufferedImage turned = new BufferedImage(image.getHeight(), image.getWidth(), BufferedImage.TYPE_INT_ARGB);
    for (int y = 0; y < turned.getHeight(); ++y) {
      for (int x = 0; x < turned.getWidth(); ++x) {
        turned.setRGB(x, y, image.getRGB(y, image.getHeight() - 1 - x));
      }
    }
    return turned;
  }

  /**
   * The frame whose upright image (turned clockwise by degrees, then mirrored left to right) is `upright`:
   * the mirror undone first, then the rest of a full turn.
   */
  private static BufferedImage frameFor(BufferedImage upright, int degrees, boolean mirror) {
    BufferedImage frame = new BufferedImage(upright.getWidth(), upright.getHeight(), BufferedImage.TYPE_INT_ARGB);
    for (int y = 0; y < upright.getHeight(); ++y) {
      for (int x = 0; x < upright.getWidth(); ++x) {
        frame.setRGB(x, y, upright.getRGB(mirror ? upright.getWidth() - 1 - x : x, y));
      }
    }
    for (int turns = (4 - degrees / 90) % 4; turns > 0; --turns) {
      frame = turnedClockwise(frame);
    }
    return frame;
  }

  /**
   * An NV21 frame of even sides turned a quarter counterclockwise (the sensor's view of an upright frame
   * that rotationDegrees 90 turns back): the luma plane by samples, the chroma plane by V,U pairs.
   */
  private static byte[] nv21TurnedCounterclockwise(byte[] frame, int width, int height) {
    final byte[] turned = new byte[frame.length];
    for (int y = 0; y < width; ++y) { // the turned frame is height wide and width tall
      for (int x = 0; x < height; ++x) {
        turned[y * height + x] = frame[x * width + (width - 1 - y)];
      }
    }
    final int luma = width * height;
    final int pairsWide = width / 2;
    final int pairsTall = height / 2;
    for (int y = 0; y < pairsWide; ++y) {
      for (int x = 0; x < pairsTall; ++x) {
        final int from = luma + 2 * (x * pairsWide + (pairsWide - 1 - y));
        final int to = luma + 2 * (y * pairsTall + x);
        turned[to] = frame[from];
        turned[to + 1] = frame[from + 1];
      }
    }
    return turned;
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
