// A 64-byte aligned, fixed-capacity array (cache line and widest SIMD load), resized only on demand.
#pragma once

#include <cstddef>
#include <cstring>
#include <new>

namespace mobileone::detail {

inline constexpr std::size_t kBufferAlignment = 64;

template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t count) { resize_discard(count); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& other) noexcept : data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = other.data_;
      size_ = other.size_;
      other.data_ = nullptr;
      other.size_ = 0;
    }
    return *this;
  }
  ~AlignedBuffer() { release(); }

  // Makes room for `count` elements; old contents are not kept. New memory is zeroed.
  void resize_discard(std::size_t count) {
    if (count == size_) return;
    release();
    if (count == 0) return;
    data_ = static_cast<T*>(::operator new(count * sizeof(T), std::align_val_t(kBufferAlignment)));
    std::memset(static_cast<void*>(data_), 0, count * sizeof(T));
    size_ = count;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void release() {
    if (data_) ::operator delete(static_cast<void*>(data_), std::align_val_t(kBufferAlignment));
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace mobileone::detail
