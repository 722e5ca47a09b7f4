// JNI bridge of com.mobileone.MobileOne over the C API. Every native returns the C API's status; the Java
// side turns a failure into MobileOneException with mobileone_last_error_message() (thread-local, so it is
// still this call's). What only the bridge can check (array bounds, direct buffers) throws the usual Java
// exception instead. Handles travel as jlong.
#include <jni.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <mobileone/mobileone.h>

#include "jni_support.hpp"

using mobileone::jni::JavaBytes;
using mobileone::jni::context_of;
using mobileone::jni::read_region;
using mobileone::jni::throw_java;

namespace {

mobileone_model* model_of(jlong handle) { return reinterpret_cast<mobileone_model*>(static_cast<std::intptr_t>(handle)); }
jlong handle_of(const void* pointer) { return static_cast<jlong>(reinterpret_cast<std::intptr_t>(pointer)); }

// Stores a new handle in handle[0] when the call that created it succeeded.
jint store_handle(JNIEnv* env, mobileone_status status, const void* created, jlongArray handle) {
  if (status == MOBILEONE_OK) {
    const jlong value = handle_of(created);
    env->SetLongArrayRegion(handle, 0, 1, &value);
  }
  return status;
}

// Runs the context on `image` and the optional {x, y, width, height} region.
jint run(JNIEnv* env, jlong context, const mobileone_image& image, jintArray region) {
  mobileone_rect rect{};
  if (region != nullptr && !read_region(env, region, rect)) return 0;
  return mobileone_context_run(context_of(context), &image, region ? &rect : nullptr);
}

jbyteArray utf8_bytes(JNIEnv* env, const char* text) {
  const jsize length = static_cast<jsize>(std::strlen(text));
  jbyteArray bytes = env->NewByteArray(length);
  if (bytes != nullptr) env->SetByteArrayRegion(bytes, 0, length, reinterpret_cast<const jbyte*>(text));
  return bytes;
}

}  // namespace

extern "C" {

JNIEXPORT jstring JNICALL Java_com_mobileone_MobileOne_nativeVersion(JNIEnv* env, jclass) {
  return env->NewStringUTF(mobileone_version());
}

// Messages quote file names and labels, which need not be valid modified UTF-8: Java decodes the bytes.
JNIEXPORT jbyteArray JNICALL Java_com_mobileone_MobileOne_nativeLastErrorMessage(JNIEnv* env, jclass) {
  return utf8_bytes(env, mobileone_last_error_message());
}

// The path comes as UTF-8 bytes (JNI's own strings are modified UTF-8, which mangles some file names).
JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeModelFromFile(JNIEnv* env, jclass, jbyteArray path,
                                                                        jlongArray handle) {
  const JavaBytes bytes(env, path, 0, path ? env->GetArrayLength(path) : 0);
  if (!bytes.ok()) return 0;
  if (std::memchr(bytes.data(), 0, bytes.size()) != nullptr)
    return throw_java(env, "java/lang/IllegalArgumentException", "the path contains a NUL character");
  const std::string terminated(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  mobileone_model* model = nullptr;
  const mobileone_status status = mobileone_model_create_from_file(terminated.c_str(), &model);
  return store_handle(env, status, model, handle);
}

JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeModelFromBytes(JNIEnv* env, jclass, jbyteArray blob,
                                                                         jlongArray handle) {
  const JavaBytes bytes(env, blob, 0, blob ? env->GetArrayLength(blob) : 0);
  if (!bytes.ok()) return 0;
  mobileone_model* model = nullptr;
  const mobileone_status status = mobileone_model_create_from_buffer(bytes.data(), bytes.size(), &model);
  return store_handle(env, status, model, handle);
}

JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeModelFromDirectBuffer(JNIEnv* env, jclass, jobject blob,
                                                                                jint offset, jint length,
                                                                                jlongArray handle) {
  const JavaBytes bytes(env, blob, offset, length);
  if (!bytes.ok()) return 0;
  mobileone_model* model = nullptr;
  const mobileone_status status = mobileone_model_create_from_external_buffer(bytes.data(), bytes.size(), &model);
  return store_handle(env, status, model, handle);
}

JNIEXPORT void JNICALL Java_com_mobileone_MobileOne_nativeModelDestroy(JNIEnv*, jclass, jlong model) {
  mobileone_model_destroy(model_of(model));
}

JNIEXPORT jbyteArray JNICALL Java_com_mobileone_MobileOne_nativeModelName(JNIEnv* env, jclass, jlong model) {
  return utf8_bytes(env, mobileone_model_name(model_of(model)));
}

JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeModelClassCount(JNIEnv*, jclass, jlong model) {
  return mobileone_model_class_count(model_of(model));
}

JNIEXPORT jbyteArray JNICALL Java_com_mobileone_MobileOne_nativeModelLabel(JNIEnv* env, jclass, jlong model,
                                                                          jint class_index) {
  const char* label = mobileone_model_label(model_of(model), class_index);
  return utf8_bytes(env, label ? label : "");
}

JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeModelStageCount(JNIEnv*, jclass, jlong model) {
  return mobileone_model_stage_count(model_of(model));
}

JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeContextCreate(JNIEnv* env, jclass, jlong model, jint threads,
                                                                        jint isa, jint precision, jint cores,
                                                                        jlongArray handle) {
  const mobileone_context_options options{threads, static_cast<mobileone_isa>(isa),
                                          static_cast<mobileone_precision>(precision),
                                          static_cast<mobileone_core_policy>(cores)};
  mobileone_context* context = nullptr;
  const mobileone_status status = mobileone_context_create(model_of(model), &options, &context);
  return store_handle(env, status, context, handle);
}

JNIEXPORT void JNICALL Java_com_mobileone_MobileOne_nativeContextDestroy(JNIEnv*, jclass, jlong context) {
  mobileone_context_destroy(context_of(context));
}

JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeContextPrecision(JNIEnv*, jclass, jlong context) {
  return mobileone_context_precision(context_of(context));
}

JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeRun(JNIEnv* env, jclass, jlong context, jint format,
                                                              jint width, jint height, jobject pixels,
                                                              jint pixels_offset, jint pixels_length, jint row_stride,
                                                              jobject chroma, jint chroma_offset, jint chroma_length,
                                                              jint chroma_row_stride, jint color_space, jint rotation,
                                                              jboolean mirror, jintArray region) {
  if (row_stride < 0 || chroma_row_stride < 0)
    return throw_java(env, "java/lang/IllegalArgumentException", "row strides must not be negative");
  const JavaBytes pixel_bytes(env, pixels, pixels_offset, pixels_length);
  if (!pixel_bytes.ok()) return 0;
  const bool semi_planar = format == MOBILEONE_PIXEL_FORMAT_NV12 || format == MOBILEONE_PIXEL_FORMAT_NV21;
  const JavaBytes chroma_bytes(env, semi_planar ? chroma : nullptr, chroma_offset, chroma_length);
  if (!chroma_bytes.ok()) return 0;
  mobileone_image image{};
  image.format = static_cast<mobileone_pixel_format>(format);
  image.color_space = static_cast<mobileone_yuv_color_space>(color_space);
  image.width = width;
  image.height = height;
  image.pixels = pixel_bytes.data();
  image.row_stride = static_cast<size_t>(row_stride);
  image.pixels_size = pixel_bytes.size();
  image.chroma = chroma_bytes.data();
  image.chroma_row_stride = static_cast<size_t>(chroma_row_stride);
  image.chroma_size = chroma_bytes.size();
  image.rotation = rotation;
  image.mirror = mirror ? 1 : 0;
  return run(env, context, image, region);
}

// Camera2 / CameraX YUV_420_888 frames: the three planes as they come (Java passes each buffer sliced at its
// position), read in place. With a pixel stride of 2 the U and V planes are views into one interleaved plane,
// each ending at its last sample: the C API reads each through its own view, so either chroma order works.
JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeRunYuv420888(JNIEnv* env, jclass, jlong context, jint width,
                                                                       jint height, jobject y, jint y_row_stride,
                                                                       jobject u, jobject v, jint chroma_row_stride,
                                                                       jint chroma_pixel_stride, jint color_space,
                                                                       jint rotation, jboolean mirror,
                                                                       jintArray region) {
  if (y_row_stride < 0 || chroma_row_stride < 0)
    return throw_java(env, "java/lang/IllegalArgumentException", "row strides must not be negative");
  auto whole = [env](jobject plane) {
    return JavaBytes(env, plane, 0, plane ? static_cast<jint>(env->GetDirectBufferCapacity(plane)) : 0);
  };
  const JavaBytes luma = whole(y), u_plane = whole(u), v_plane = whole(v);
  if (!luma.ok() || !u_plane.ok() || !v_plane.ok()) return 0;
  mobileone_image image{};
  image.format = MOBILEONE_PIXEL_FORMAT_YUV_420_888;
  image.color_space = static_cast<mobileone_yuv_color_space>(color_space);
  image.width = width;
  image.height = height;
  image.pixels = luma.data();
  image.row_stride = static_cast<size_t>(y_row_stride);
  image.pixels_size = luma.size();
  image.chroma = u_plane.data();
  image.chroma_row_stride = static_cast<size_t>(chroma_row_stride);
  image.chroma_size = u_plane.size();
  image.chroma_v = v_plane.data();
  image.chroma_v_row_stride = static_cast<size_t>(chroma_row_stride);  // Android: the same for U and V
  image.chroma_v_size = v_plane.size();
  image.chroma_pixel_stride = chroma_pixel_stride;
  image.rotation = rotation;
  image.mirror = mirror ? 1 : 0;
  return run(env, context, image, region);
}

JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeTopK(JNIEnv* env, jclass, jlong context, jint k,
                                                               jintArray indices, jfloatArray probabilities,
                                                               jintArray count) {
  // Never more than the arrays hold; k < 1 goes through for the C API to refuse.
  const jint room = std::min(env->GetArrayLength(indices), env->GetArrayLength(probabilities));
  const jint asked = k < 1 ? k : std::min(k, room);
  std::vector<mobileone_prediction> top(static_cast<std::size_t>(std::max<jint>(asked, 1)));
  int32_t written = 0;
  const mobileone_status status = mobileone_context_top_k(context_of(context), asked, top.data(), &written);
  if (status != MOBILEONE_OK) return status;
  std::vector<jint> classes;
  std::vector<jfloat> probability;
  for (jint i = 0; i < written; ++i) {
    classes.push_back(top[static_cast<std::size_t>(i)].class_index);
    probability.push_back(top[static_cast<std::size_t>(i)].probability);
  }
  env->SetIntArrayRegion(indices, 0, written, classes.data());
  env->SetFloatArrayRegion(probabilities, 0, written, probability.data());
  env->SetIntArrayRegion(count, 0, 1, &written);
  return status;
}

JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeCopyLogits(JNIEnv* env, jclass, jlong context,
                                                                     jfloatArray logits) {
  const float* data = nullptr;
  int32_t count = 0;
  const mobileone_status status = mobileone_context_logits(context_of(context), &data, &count);
  if (status != MOBILEONE_OK) return status;
  if (env->GetArrayLength(logits) < count)
    return throw_java(env, "java/lang/IllegalArgumentException", "the logits array is too small");
  env->SetFloatArrayRegion(logits, 0, count, data);
  return status;
}

JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeFeatureMapShape(JNIEnv* env, jclass, jlong context,
                                                                          jint stage, jintArray shape) {
  mobileone_feature_map map{};
  const mobileone_status status = mobileone_context_feature_map(context_of(context), stage, &map);
  if (status != MOBILEONE_OK) return status;
  const jint dims[3] = {map.height, map.width, map.channels};
  env->SetIntArrayRegion(shape, 0, 3, dims);
  return status;
}

JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeCopyFeatureMap(JNIEnv* env, jclass, jlong context,
                                                                         jint stage, jfloatArray data) {
  mobileone_feature_map map{};
  const mobileone_status status = mobileone_context_feature_map(context_of(context), stage, &map);
  if (status != MOBILEONE_OK) return status;
  const std::int64_t floats = std::int64_t(map.height) * map.width * map.channels;
  if (env->GetArrayLength(data) < floats)
    return throw_java(env, "java/lang/IllegalArgumentException", "the feature map array is too small");
  env->SetFloatArrayRegion(data, 0, static_cast<jsize>(floats), map.data);
  return status;
}

// The golden self-check: per stage (and last the logits) its relative error and tolerance; passed[0] is 1
// when every stage passed. The arrays have mobileone_model_stage_count() + 2 entries.
JNIEXPORT jint JNICALL Java_com_mobileone_MobileOne_nativeVerify(JNIEnv* env, jclass, jlong context,
                                                                 jfloatArray errors, jfloatArray tolerances,
                                                                 jintArray passed) {
  const jsize room = std::min(env->GetArrayLength(errors), env->GetArrayLength(tolerances));
  std::vector<mobileone_verify_stage> stages(static_cast<std::size_t>(room));
  size_t count = 0;
  int32_t all_passed = 0;
  const mobileone_status status = mobileone_context_verify(context_of(context), stages.data(), stages.size(), &count, &all_passed);
  if (status != MOBILEONE_OK) return status;
  std::vector<jfloat> error(count), tolerance(count);
  for (std::size_t i = 0; i < count; ++i) {
    error[i] = stages[i].relative_error;
    tolerance[i] = stages[i].tolerance;
  }
  env->SetFloatArrayRegion(errors, 0, static_cast<jsize>(count), error.data());
  env->SetFloatArrayRegion(tolerances, 0, static_cast<jsize>(count), tolerance.data());
  const jint result = all_passed;
  env->SetIntArrayRegion(passed, 0, 1, &result);
  return status;
}

}  // extern "C"
