// Helpers shared by the JNI sources: throwing Java exceptions, and reading Java bytes.
#pragma once

#include <jni.h>

#include <cstddef>
#include <cstdint>

#include <mobileone/mobileone.h>

namespace mobileone::jni {

// Handles travel through Java as jlong.
inline mobileone_context* context_of(jlong handle) {
  return reinterpret_cast<mobileone_context*>(static_cast<std::intptr_t>(handle));
}

// Throws a new `class_name` (a java.lang class, so that code shrinkers cannot rename it) and returns 0
// for the native method to return: Java sees the exception, not the value.
inline jint throw_java(JNIEnv* env, const char* class_name, const char* message) {
  if (jclass type = env->FindClass(class_name)) env->ThrowNew(type, message);
  return 0;
}

// Reads a {x, y, width, height} region of interest into `rect`; false when a Java exception is pending.
inline bool read_region(JNIEnv* env, jintArray region, mobileone_rect& rect) {
  if (env->GetArrayLength(region) != 4) {
    throw_java(env, "java/lang/IllegalArgumentException", "a region is {x, y, width, height}");
    return false;
  }
  jint r[4];
  env->GetIntArrayRegion(region, 0, 4, r);
  rect = {r[0], r[1], r[2], r[3]};
  return true;
}

// Bytes [offset, offset + length) of a byte[] or of a direct ByteBuffer, readable while this object lives:
// a direct buffer in place, a byte[] pinned or copied as the VM chooses. A null source has no bytes.
// ok() is false when a Java exception is pending (bounds outside the source, a heap buffer, no memory).
class JavaBytes {
 public:
  JavaBytes(JNIEnv* env, jobject source, jint offset, jint length) : env_(env) {
    if (source == nullptr) return;
    jlong capacity = 0;
    const std::uint8_t* base = nullptr;
    jclass byte_array = env->FindClass("[B");
    const bool is_array = byte_array != nullptr && env->IsInstanceOf(source, byte_array);
    if (is_array) {
      array_ = static_cast<jbyteArray>(source);
      capacity = env->GetArrayLength(array_);
    } else {
      base = static_cast<const std::uint8_t*>(env->GetDirectBufferAddress(source));
      capacity = env->GetDirectBufferCapacity(source);
    }
    if (!is_array && base == nullptr) {
      fail("java/lang/IllegalArgumentException", "expected a byte[] or a direct ByteBuffer");
      return;
    }
    if (offset < 0 || length < 0 || jlong(offset) + jlong(length) > capacity) {
      fail("java/lang/IndexOutOfBoundsException", "offset and length lie outside the buffer");
      return;
    }
    if (is_array) {
      elements_ = env->GetByteArrayElements(array_, nullptr);
      if (elements_ == nullptr) {  // OutOfMemoryError pending
        ok_ = false;
        return;
      }
      base = reinterpret_cast<const std::uint8_t*>(elements_);
    }
    data_ = base + offset;
    size_ = std::size_t(length);
  }
  JavaBytes(const JavaBytes&) = delete;
  JavaBytes& operator=(const JavaBytes&) = delete;
  ~JavaBytes() {
    if (elements_ != nullptr) env_->ReleaseByteArrayElements(array_, elements_, JNI_ABORT);  // read only
  }

  bool ok() const { return ok_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void fail(const char* class_name, const char* message) {
    throw_java(env_, class_name, message);
    ok_ = false;
  }

  JNIEnv* env_;
  jbyteArray array_ = nullptr;
  jbyte* elements_ = nullptr;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool ok_ = true;
};

}  // namespace mobileone::jni
