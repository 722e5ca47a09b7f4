package com.mobileone;

import android.graphics.Bitmap;
import android.graphics.Rect;

/**
 * Classifies an {@link android.graphics.Bitmap} in place: its pixels are locked and read by the engine,
 * never copied. ARGB_8888 bitmaps only (bytes R,G,B,A in memory); alpha is ignored. Android only.
 */
public final class Bitmaps {
  private Bitmaps() {}

  /** Runs the context on the bitmap (or its region, null for all of it) and returns the k best classes. */
  public static MobileOne.Prediction[] classify(MobileOne.Context context, Bitmap bitmap, Rect region, int k) {
    return classify(context, bitmap, 0, false, region, k);
  }

  /**
   * The same for a bitmap to turn upright first, as {@link MobileOne.Image#oriented} does: rotated clockwise
   * by {@code rotationDegrees} (0, 90, 180 or 270), then, if {@code mirror}, flipped left to right, in the
   * same pass as the resize. {@code region} is in upright coordinates.
   */
  public static MobileOne.Prediction[] classify(MobileOne.Context context, Bitmap bitmap, int rotationDegrees,
      boolean mirror, Rect region, int k) {
    final int[] rect = region == null ? null : new int[] {region.left, region.top, region.width(), region.height()};
    MobileOne.check(nativeRun(context.handle(), bitmap, rotationDegrees, mirror, rect));
    return context.topK(k);
  }

  private static native int nativeRun(long context, Bitmap bitmap, int rotationDegrees, boolean mirror, int[] region);
}
