// The int8 families of every int8 kernel set this machine can run (qpwconv1x1, qdwconv3x3, quantize),
// on shapes that hit every remainder (input channels around the 4-channel groups, output channels around
// the 16-wide panels, pixel counts around each kernel set's tile rows), against
//   - a naive loop on the unpacked [out][in] int8 weights with int64 accumulation (packing covered too):
//     integer accumulation is exact and the epilogue is one defined rounding (kernel_args.hpp), so the
//     pointwise results must be bitwise identical to it in every kernel set, uint8 and float outputs;
//   - for depthwise (fp32 arithmetic on uint8 inputs), a double-precision loop within the classic bound
//     of a rounded sum (float outputs) and one uint8 step (uint8 outputs);
// plus: sub-ranges write exactly their part, the diagonal term, ties and saturation of the requantization.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "support/blob_writer.hpp"
#include <mobileone/dispatch.hpp>
#include <mobileone/mobileone.hpp>

using namespace mobileone;
namespace k = mobileone::kernels;

namespace {

template <class... Sets>
std::tuple<Sets...> as_tuple(detail::KernelSetList<Sets...>);
using KernelSets = decltype(as_tuple(detail::KernelSets{}));

// Tile rows of the set's int8 GEMM (1 for the scalar families, which have no tiles).
template <class K, class = void>
struct TileRows {
  static constexpr int value = 1;
};
template <class K>
struct TileRows<K, std::void_t<typename K::QuantGemmTiles>> {
  static constexpr int value = K::QuantGemmTiles::kRows;
};

const int kInChannels[] = {1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 48, 64, 100};
const int kOutChannels[] = {1, 3, 15, 16, 17, 31, 33, 48, 64, 65, 100};

std::vector<std::uint8_t> random_u8(std::size_t n, std::uint64_t seed) {
  WeightRandom random(seed);
  std::vector<std::uint8_t> v(n + 64);  // kernels may read 64 bytes past the last pixel
  for (auto& x : v) x = std::uint8_t(std::min(255.f, random.uniform(0.f, 256.f)));
  return v;
}

std::vector<std::int8_t> random_s8(std::size_t n, std::uint64_t seed) {
  WeightRandom random(seed);
  std::vector<std::int8_t> v(n);
  for (auto& x : v) x = std::int8_t(std::clamp(std::lround(random.uniform(-127.5f, 127.5f)), -127l, 127l));
  return v;
}

// The documented epilogue (kernel_args.hpp), applied to an exact accumulator.
float epilogue(std::int64_t acc, float scale, float bias, bool relu) {
  REQUIRE(acc == std::int64_t(std::int32_t(acc)));
  const float v = std::fma(float(std::int32_t(acc)), scale, bias);
  return relu ? std::max(v, 0.f) : v;
}

struct QuantPointwiseCase {
  std::size_t pixels;
  int cin, cout;
  bool relu, output_u8, with_diagonal;
  std::vector<std::uint8_t> input;
  std::vector<std::int8_t> oi, packed;
  std::vector<float> scale, bias;
  std::vector<std::int32_t> sums, diagonal;

  QuantPointwiseCase(std::size_t p, int ci, int co, bool r, bool u8, bool diag, std::uint64_t seed)
      : pixels(p), cin(ci), cout(co), relu(r), output_u8(u8), with_diagonal(diag && ci == co) {
    input = random_u8(p * std::size_t(ci), seed);
    oi = random_s8(std::size_t(co) * std::size_t(ci), seed + 1);
    const std::size_t padded = k::pointwise_panel_count(co) * k::kPanelWidth;
    packed.resize(k::quant_pointwise_packed_bytes(co, ci));
    sums.resize(padded);
    k::pack_quant_pointwise_weights(oi.data(), co, ci, packed.data(), sums.data());
    WeightRandom random(seed + 2);
    // Scales that put outputs around the uint8 range (so that clamping at 0 and 255 both happen).
    const float typical = 1.f / (127.f * 128.f * std::sqrt(float(ci)));
    scale.resize(padded);
    bias.resize(padded);
    diagonal.resize(padded);
    for (std::size_t c = 0; c < padded; ++c) {
      scale[c] = typical * random.uniform(20.f, 400.f);
      bias[c] = random.uniform(-60.f, 120.f);
      diagonal[c] = std::int32_t(random.uniform(-3000.f, 3000.f));
    }
  }

  k::QuantPointwiseArgs args(void* out) const {
    return {input.data(), out,         pixels,      cin,  cout, packed.data(), scale.data(), bias.data(),
            sums.data(),  with_diagonal ? diagonal.data() : nullptr, relu, output_u8};
  }

  // The expected output element (float, or the uint8 value as a float).
  float expected(std::size_t p, int o) const {
    std::int64_t acc = 0;
    for (int i = 0; i < cin; ++i)
      acc += std::int64_t(input[p * std::size_t(cin) + std::size_t(i)]) * oi[std::size_t(o) * std::size_t(cin) + std::size_t(i)];
    if (with_diagonal) acc += std::int64_t(diagonal[std::size_t(o)]) * input[p * std::size_t(cin) + std::size_t(o)];
    const float v = epilogue(acc, scale[std::size_t(o)], bias[std::size_t(o)], relu);
    return output_u8 ? float(k::requantize_u8(v)) : v;
  }
};

// Runs pixels [p0, p1) x panels [n0, n1) into a sentinel-filled output; checks every element: the
// expected value inside the range, the sentinel outside. Returns the number of mismatches.
template <class K>
int run_pointwise(const QuantPointwiseCase& c, std::size_t p0, std::size_t p1, std::size_t n0, std::size_t n1) {
  const std::size_t count = c.pixels * std::size_t(c.cout);
  std::vector<float> out_f(count, -12345.f);
  std::vector<std::uint8_t> out_u8(count, 0xA5);
  void* out = c.output_u8 ? static_cast<void*>(out_u8.data()) : static_cast<void*>(out_f.data());
  K::qpwconv1x1(c.args(out), p0, p1, n0, n1);
  int mismatches = 0;
  for (std::size_t p = 0; p < c.pixels; ++p)
    for (int o = 0; o < c.cout; ++o) {
      const std::size_t i = p * std::size_t(c.cout) + std::size_t(o);
      const std::size_t panel = std::size_t(o) / k::kPanelWidth;
      const bool inside = p >= p0 && p < p1 && panel >= n0 && panel < n1;
      if (c.output_u8) {
        const std::uint8_t want = inside ? std::uint8_t(c.expected(p, o)) : std::uint8_t(0xA5);
        mismatches += out_u8[i] != want;
      } else {
        const float want = inside ? c.expected(p, o) : -12345.f;
        mismatches += std::memcmp(&out_f[i], &want, sizeof want) != 0;
      }
    }
  return mismatches;
}

// INT8_KERNEL_SET_TEST(title, id) { body }: a doctest case for every int8 kernel set this CPU runs; in the
// body, Set is the registry entry and K its kernels.
#define INT8_KERNEL_SET_TEST(title, id)                     \
  template <class Set, class K = typename Set::Kernels>     \
  void id##_body();                                         \
  TEST_CASE_TEMPLATE_DEFINE(title, Set, id) {               \
    if constexpr (Set::precision == Precision::int8) {      \
      if (!Set::runs_here()) return;                        \
      const std::string set_name = Set::name();             \
      CAPTURE(set_name);                                    \
      id##_body<Set>();                                     \
    }                                                       \
  }                                                         \
  TEST_CASE_TEMPLATE_APPLY(id, KernelSets);                 \
  template <class Set, class K>                             \
  void id##_body()

}  // namespace

INT8_KERNEL_SET_TEST("qpwconv1x1: bitwise equal to the naive integer loop on every remainder", qpw_test) {
  constexpr int rows = TileRows<K>::value;
  std::uint64_t seed = 1;
  for (int cin : kInChannels)
    for (int cout : kOutChannels)
      for (std::size_t pixels : {std::size_t(1), std::size_t(rows), std::size_t(rows + 1), std::size_t(2 * rows + 3)}) {
        const bool relu = seed % 2 == 0, u8 = seed % 3 != 0, diagonal = seed % 4 != 1;
        CAPTURE(cin);
        CAPTURE(cout);
        CAPTURE(pixels);
        CAPTURE(relu);
        CAPTURE(u8);
        const QuantPointwiseCase c(pixels, cin, cout, relu, u8, diagonal, seed++);
        const std::size_t panels = k::pointwise_panel_count(cout);
        CHECK(run_pointwise<K>(c, 0, pixels, 0, panels) == 0);
        if (pixels > 2 && panels > 1) CHECK(run_pointwise<K>(c, 1, pixels - 1, 1, panels) == 0);
      }
}

INT8_KERNEL_SET_TEST("qpwconv1x1: the square layer's diagonal, large K and pixel blocks", qpw_large_test) {
  for (int channels : {256, 512, 1024})
    for (bool u8 : {false, true}) {
      CAPTURE(channels);
      const QuantPointwiseCase c(197, channels, channels, true, u8, true, std::uint64_t(channels) + u8);
      CHECK(run_pointwise<K>(c, 0, 197, 0, k::pointwise_panel_count(channels)) == 0);
    }
}

INT8_KERNEL_SET_TEST("qdwconv3x3: stride 1 and 2, every channel remainder, odd sides, float and uint8 out", qdw_test) {
  std::uint64_t seed = 100;
  for (int stride : {1, 2})
    for (int channels : {1, 3, 15, 16, 17, 31, 33, 48, 100})
      for (int side : {1, 2, 3, 5, 8, 13})
        for (bool u8 : {false, true}) {
          CAPTURE(stride);
          CAPTURE(channels);
          CAPTURE(side);
          CAPTURE(u8);
          const int h = side, w = side + 1;
          const int oh = k::conv_output_size(h, stride), ow = k::conv_output_size(w, stride);
          const std::size_t c = std::size_t(channels);
          const std::vector<std::uint8_t> input = random_u8(std::size_t(h) * std::size_t(w) * c, seed);
          WeightRandom random(seed + 1);
          std::vector<float> weights(9 * c), bias(c);
          for (float& x : weights) x = random.uniform(-0.02f, 0.02f);
          for (float& x : bias) x = random.uniform(-20.f, 60.f);
          const bool relu = seed % 2 == 0;
          ++seed;
          const std::size_t count = std::size_t(oh) * std::size_t(ow) * c;
          std::vector<float> out_f(count, -12345.f);
          std::vector<std::uint8_t> out_u8(count, 0xA5);
          void* out = u8 ? static_cast<void*>(out_u8.data()) : static_cast<void*>(out_f.data());
          const k::QuantDepthwiseArgs a{input.data(), h, w, channels, out, oh, ow, weights.data(), bias.data(), relu, u8};
          const int r0 = oh > 2 ? 1 : 0;  // a sub-range of rows
          if (stride == 1) K::template qdwconv3x3<1>(a, r0, oh);
          else K::template qdwconv3x3<2>(a, r0, oh);
          double worst = 0.0;
          int wrong = 0;
          for (int oy = 0; oy < oh; ++oy)
            for (int ox = 0; ox < ow; ++ox)
              for (std::size_t ch = 0; ch < c; ++ch) {
                const std::size_t i = (std::size_t(oy) * std::size_t(ow) + std::size_t(ox)) * c + ch;
                if (oy < r0) {
                  wrong += u8 ? out_u8[i] != 0xA5 : out_f[i] != -12345.f;
                  continue;
                }
                double v = bias[ch], scale = std::fabs(bias[ch]);
                for (int ky = 0; ky < 3; ++ky)
                  for (int kx = 0; kx < 3; ++kx) {
                    const int iy = oy * stride + ky - 1, ix = ox * stride + kx - 1;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                    const double term = double(input[(std::size_t(iy) * std::size_t(w) + std::size_t(ix)) * c + ch]) *
                                        double(weights[std::size_t(ky * 3 + kx) * c + ch]);
                    v += term;
                    scale += std::fabs(term);
                  }
                if (relu) v = std::max(v, 0.0);
                if (u8) {
                  const double want = std::clamp(std::nearbyint(v), 0.0, 255.0);
                  wrong += std::fabs(double(out_u8[i]) - want) > 1.0;
                } else {
                  worst = std::max(worst, std::fabs(double(out_f[i]) - v) / (20.0 * 1.2e-7 * scale + 1e-30));
                }
              }
          CHECK(wrong == 0);
          CHECK(worst <= 1.0);
        }
}

INT8_KERNEL_SET_TEST("quantize: round half to even, saturation, NaN and sub-ranges", quantize_test) {
  std::vector<float> input = {0.f,  -0.f, 0.5f, 1.5f, 2.5f, 254.5f, 255.f, 255.5f, 1e30f, -1e30f, -3.f,
                              std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(), 127.49f, 3.5f};
  const std::uint8_t want[] = {0, 0, 0, 2, 2, 254, 255, 255, 255, 0, 0, 0, 255, 0, 127, 4};
  WeightRandom random(7);
  for (int i = 0; i < 301; ++i) input.push_back(random.uniform(-10.f, 300.f));
  for (std::size_t begin : {std::size_t(0), std::size_t(5)}) {
    std::vector<std::uint8_t> out(input.size(), 0xA5);
    K::quantize(k::QuantizeArgs{input.data(), out.data(), input.size(), 1.f}, begin, input.size());
    for (std::size_t i = 0; i < input.size(); ++i) {
      CAPTURE(i);
      const std::uint8_t expected = i < begin ? std::uint8_t(0xA5) : i < std::size(want) ? want[i] : k::requantize_u8(input[i]);
      CHECK(out[i] == expected);
    }
  }
  std::vector<std::uint8_t> out(input.size());
  K::quantize(k::QuantizeArgs{input.data(), out.data(), input.size(), 0.25f}, 0, input.size());
  for (std::size_t i = 0; i < input.size(); ++i) CHECK(out[i] == k::requantize_u8(input[i] * 0.25f));
}

INT8_KERNEL_SET_TEST("qpwconv1x1: extreme operands (255 x +-127 everywhere: no 16-bit saturation on any path)", qpw_extreme_test) {
  for (int cin : {4, 64, 256})
    for (int pattern = 0; pattern < 3; ++pattern) {
      CAPTURE(cin);
      CAPTURE(pattern);
      QuantPointwiseCase c(7, cin, 33, false, false, false, std::uint64_t(cin) + std::uint64_t(pattern));
      std::fill(c.input.begin(), c.input.end(), std::uint8_t(pattern == 2 ? 128 : 255));
      for (std::size_t i = 0; i < c.oi.size(); ++i)
        c.oi[i] = std::int8_t(pattern == 1 && i % 2 ? -127 : 127);
      k::pack_quant_pointwise_weights(c.oi.data(), c.cout, c.cin, c.packed.data(), c.sums.data());
      std::fill(c.scale.begin(), c.scale.end(), 1.f);  // the raw sums, exact in float below 2^24
      std::fill(c.bias.begin(), c.bias.end(), 0.f);
      CHECK(run_pointwise<K>(c, 0, c.pixels, 0, k::pointwise_panel_count(c.cout)) == 0);
    }
}
