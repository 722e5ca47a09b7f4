// JNI bridge of com.mobileone.Bitmaps (Android only): runs a context on an android.graphics.Bitmap's
// pixels in place, locked for the duration of the run, turned upright as asked.
#include <android/bitmap.h>
#include <jni.h>

#include <mobileone/mobileone.h>

#include "jni_support.hpp"

using mobileone::jni::context_of;
using mobileone::jni::read_region;
using mobileone::jni::throw_java;

extern "C" JNIEXPORT jint JNICALL Java_com_mobileone_Bitmaps_nativeRun(JNIEnv* env, jclass, jlong context,
                                                                       jobject bitmap, jint rotation, jboolean mirror,
                                                                       jintArray region) {
  AndroidBitmapInfo info{};
  if (bitmap == nullptr || AndroidBitmap_getInfo(env, bitmap, &info) != ANDROID_BITMAP_RESULT_SUCCESS)
    return throw_java(env, "java/lang/IllegalArgumentException", "cannot read the bitmap's description");
  if (info.format != ANDROID_BITMAP_FORMAT_RGBA_8888)
    return throw_java(env, "java/lang/IllegalArgumentException", "the bitmap must be ARGB_8888 (Bitmap.Config.ARGB_8888)");
  mobileone_rect rect{};
  if (region != nullptr && !read_region(env, region, rect)) return 0;
  void* pixels = nullptr;
  if (AndroidBitmap_lockPixels(env, bitmap, &pixels) != ANDROID_BITMAP_RESULT_SUCCESS || pixels == nullptr)
    return throw_java(env, "java/lang/IllegalStateException", "cannot lock the bitmap's pixels (recycled?)");
  mobileone_image image{};
  image.format = MOBILEONE_PIXEL_FORMAT_RGBA8888;
  image.width = static_cast<int32_t>(info.width);
  image.height = static_cast<int32_t>(info.height);
  image.pixels = static_cast<const uint8_t*>(pixels);
  image.row_stride = info.stride;
  image.pixels_size = size_t(info.stride) * info.height;
  image.rotation = rotation;
  image.mirror = mirror ? 1 : 0;
  const mobileone_status status =
      mobileone_context_run(context_of(context), &image, region ? &rect : nullptr);
  AndroidBitmap_unlockPixels(env, bitmap);
  return status;
}
