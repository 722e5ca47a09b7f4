// Camera frames for the tests, made with naive loops: the frame a camera delivers for a given upright
// image and Orientation (rotated clockwise, then mirrored), plane by plane, so that every pixel format can
// be built from it. The reference the engine's one-pass rotation is compared against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <mobileone/image.hpp>

namespace mobileone::testing {

// width x height samples of sample_bytes bytes each (1: a luma or chroma plane, 2: interleaved chroma
// pairs, 3: RGB), rows packed.
struct Plane {
  int width = 0, height = 0, sample_bytes = 1;
  std::vector<std::uint8_t> bytes;

  Plane() = default;
  Plane(int w, int h, int sample) : width(w), height(h), sample_bytes(sample), bytes(std::size_t(w) * std::size_t(h) * std::size_t(sample)) {}
  std::uint8_t* at(int x, int y) { return bytes.data() + (std::size_t(y) * std::size_t(width) + std::size_t(x)) * std::size_t(sample_bytes); }
  const std::uint8_t* at(int x, int y) const {
    return bytes.data() + (std::size_t(y) * std::size_t(width) + std::size_t(x)) * std::size_t(sample_bytes);
  }
};

// The plane turned a quarter clockwise: its left column, read bottom to top, becomes the top row.
inline Plane turned_clockwise(const Plane& p) {
  Plane t(p.height, p.width, p.sample_bytes);
  for (int y = 0; y < t.height; ++y)
    for (int x = 0; x < t.width; ++x)
      for (int b = 0; b < p.sample_bytes; ++b) t.at(x, y)[b] = p.at(y, p.height - 1 - x)[b];
  return t;
}

inline Plane mirrored(const Plane& p) {
  Plane m(p.width, p.height, p.sample_bytes);
  for (int y = 0; y < p.height; ++y)
    for (int x = 0; x < p.width; ++x)
      for (int b = 0; b < p.sample_bytes; ++b) m.at(x, y)[b] = p.at(p.width - 1 - x, y)[b];
  return m;
}

// What the engine must see for a frame: turned clockwise rotation / 90 times, then mirrored.
inline Plane upright_of(const Plane& frame, const Orientation& o) {
  Plane u = frame;
  for (int turns = o.rotation / 90; turns > 0; --turns) u = turned_clockwise(u);
  return o.mirror ? mirrored(u) : u;
}

// The frame whose upright image is `upright`: undone in reverse order (the mirror, then the rest of a full turn).
inline Plane frame_for(const Plane& upright, const Orientation& o) {
  Plane f = o.mirror ? mirrored(upright) : upright;
  for (int turns = (4 - o.rotation / 90) % 4; turns > 0; --turns) f = turned_clockwise(f);
  return f;
}

inline constexpr Orientation kAllOrientations[] = {{0, false},  {90, false},  {180, false}, {270, false},
                                                   {0, true},   {90, true},   {180, true},  {270, true}};

// The plane's bytes with `padding` bytes of `fill` after each row but the last, so that the buffer ends
// right after the last sample (a read past the plane is out of bounds). Row stride: row bytes + padding.
inline std::vector<std::uint8_t> padded_rows(const Plane& p, std::size_t padding, std::uint8_t fill = 0xEE) {
  const std::size_t row = std::size_t(p.width) * std::size_t(p.sample_bytes), stride = row + padding;
  std::vector<std::uint8_t> out(stride * std::size_t(p.height - 1) + row, fill);
  for (int y = 0; y < p.height; ++y)
    for (std::size_t i = 0; i < row; ++i) out[std::size_t(y) * stride + i] = p.bytes[std::size_t(y) * row + i];
  return out;
}

// Two planes of equal size as one of interleaved pairs (first, second): NV12's chroma from U and V.
inline Plane interleaved(const Plane& first, const Plane& second) {
  Plane pairs(first.width, first.height, 2);
  for (int y = 0; y < first.height; ++y)
    for (int x = 0; x < first.width; ++x) {
      pairs.at(x, y)[0] = *first.at(x, y);
      pairs.at(x, y)[1] = *second.at(x, y);
    }
  return pairs;
}

}  // namespace mobileone::testing
