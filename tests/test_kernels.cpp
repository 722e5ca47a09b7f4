// Every kernel of every kernel set this machine can run, on shapes that hit every remainder (channel
// counts around the vector and panel widths, odd and tiny H/W, 1x1 spatial, stride-2 edges, pixel counts
// that are not a multiple of the microkernel's rows), against
//   - naive double-precision loops on the PyTorch-layout (unpacked) weights, so packing is covered too, and
//   - the RefKernels output on the same packed weights;
// plus: partial task ranges write exactly their part, and different splits of the same work give bitwise
// identical results. Finally whole networks (random S0..S4) on each ISA against the scalar path, and
// thread counts 1/2/3 bitwise identical.
//
// Tolerances are the classic bound for a sum of n rounded terms: |computed - exact| <= c * n * eps *
// (|bias| + sum |terms|), which any correct order of summation (FMA or not) meets, while an index bug
// (a missing, repeated or misplaced term) breaks it by orders of magnitude.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include "support/blob_writer.hpp"
#include "test_support.hpp"
#include <mobileone/dispatch.hpp>
#include <mobileone/mobileone.hpp>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

using namespace mobileone;
namespace k = mobileone::kernels;

namespace {

// ---- The kernel sets under test: the library's registry (dispatch.hpp), as a tuple for doctest. --------
template <class... Sets>
std::tuple<Sets...> as_tuple(detail::KernelSetList<Sets...>);
using KernelSets = decltype(as_tuple(detail::KernelSets{}));
using RefKernels = k::ref::F32Kernels;

// ---- Helpers ------------------------------------------------------------------------------------------
const int kChannels[] = {1, 3, 7, 15, 16, 17, 31, 33, 48, 63, 100};
const int kSides[] = {1, 2, 3, 5, 7, 13, 15};
constexpr float kSentinel = -12345.f;  // what outputs outside a task's range must still hold

std::vector<float> random_vector(std::size_t n, std::uint64_t seed, float low = -1.f, float high = 1.f) {
  WeightRandom random(seed);
  std::vector<float> v(n);
  for (float& x : v) x = random.uniform(low, high);
  return v;
}

// Exact value (double) and the scale of its rounding error: |bias| + sum |terms|, and the term count.
struct Exact {
  double value = 0.0, scale = 0.0;
  int terms = 0;
  void add(double a, double b) {
    value += a * b;
    scale += std::fabs(a * b);
    ++terms;
  }
};

Exact start(double bias) { return Exact{bias, std::fabs(bias), 1}; }

double bound(const Exact& e, double factor = 2.0) {
  return factor * double(e.terms + 1) * double(std::numeric_limits<float>::epsilon()) * e.scale + 1e-30;
}

float relu_if(bool relu, double v) { return float(relu ? std::max(v, 0.0) : v); }

// Accumulates the worst violation of a bound over many outputs; one CHECK per shape.
struct Comparison {
  double worst = 0.0;  // max |got - want| / allowed
  std::size_t where = 0;
  void check(float got, double want, double allowed, std::size_t index) {
    const double ratio = std::isfinite(got) ? std::fabs(double(got) - want) / allowed : 1e30;
    if (ratio > worst) worst = ratio, where = index;
  }
};

// Outputs outside [begin, end) of a range still hold the sentinel.
bool untouched(const std::vector<float>& v, const std::vector<bool>& written) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!written[i] && v[i] != kSentinel) return false;
  return true;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Contiguous cut points of [0, total) into `parts` uneven pieces (deterministic).
std::vector<std::size_t> cuts(std::size_t total, std::size_t parts, std::uint64_t seed) {
  std::vector<std::size_t> c{0, total};
  WeightRandom random(seed);
  for (std::size_t i = 1; i < parts && total > 1; ++i)
    c.push_back(std::size_t(random.uniform(0.f, 1.f) * float(total)));
  std::sort(c.begin(), c.end());
  return c;
}

// ---- Pointwise 1x1 ---------------------------------------------------------------------------------------
struct PointwiseCase {
  std::size_t pixels;
  int cin, cout;
  bool relu;
  std::vector<float> input, oi, bias, packed, packed_bias;  // oi: PyTorch [out][in]
  std::vector<Exact> exact;                                 // [pixels][cout]

  PointwiseCase(std::size_t p, int ci, int co, bool r, std::uint64_t seed) : pixels(p), cin(ci), cout(co), relu(r) {
    input = random_vector(p * std::size_t(ci), seed);
    oi = random_vector(std::size_t(co) * std::size_t(ci), seed + 1);
    bias = random_vector(std::size_t(co), seed + 2, -0.5f, 0.5f);
    packed.resize(k::pointwise_packed_size(co, ci));
    packed_bias.resize(k::pointwise_panel_count(co) * k::kPanelWidth);
    k::pack_pointwise_weights(oi.data(), co, ci, packed.data());
    k::pack_pointwise_bias(bias.data(), co, packed_bias.data());
    exact.resize(p * std::size_t(co));
    for (std::size_t px = 0; px < p; ++px)
      for (int o = 0; o < co; ++o) {
        Exact e = start(bias[std::size_t(o)]);
        for (int i = 0; i < ci; ++i)
          e.add(input[px * std::size_t(ci) + std::size_t(i)], oi[std::size_t(o) * std::size_t(ci) + std::size_t(i)]);
        exact[px * std::size_t(co) + std::size_t(o)] = e;
      }
  }
  std::size_t panels() const { return k::pointwise_panel_count(cout); }
  k::PointwiseArgs args(std::vector<float>& out) const {
    return {input.data(), out.data(), pixels, cin, cout, packed.data(), packed_bias.data(), relu};
  }
  template <class K>
  std::vector<float> run(std::size_t p0, std::size_t p1, std::size_t n0, std::size_t n1) const {
    std::vector<float> out(pixels * std::size_t(cout), kSentinel);
    K::pwconv1x1(args(out), p0, p1, n0, n1);
    return out;
  }
};

template <class K>
void check_pointwise(const PointwiseCase& c) {
  CAPTURE(c.pixels);
  CAPTURE(c.cin);
  CAPTURE(c.cout);
  CAPTURE(c.relu);
  const std::size_t panels = c.panels();
  const std::vector<float> got = c.template run<K>(0, c.pixels, 0, panels);
  const std::vector<float> ref = c.template run<RefKernels>(0, c.pixels, 0, panels);
  Comparison vs_exact, vs_ref;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Exact& e = c.exact[i];
    const double want = relu_if(c.relu, e.value);
    vs_exact.check(got[i], want, bound(e), i);
    vs_ref.check(got[i], ref[i], 2 * bound(e), i);
  }
  CHECK(vs_exact.worst <= 1.0);
  CHECK(vs_ref.worst <= 1.0);

  // A sub-range of pixels and panels writes exactly its outputs, bitwise as the full run does.
  const std::size_t p0 = c.pixels / 3, p1 = c.pixels - c.pixels / 4, n0 = panels / 2, n1 = panels;
  const std::vector<float> part = c.template run<K>(p0, p1, n0, n1);
  std::vector<bool> written(part.size(), false);
  bool same = true;
  for (std::size_t p = p0; p < p1; ++p)
    for (std::size_t o = n0 * k::kPanelWidth; o < std::size_t(c.cout); ++o) {
      const std::size_t i = p * std::size_t(c.cout) + o;
      written[i] = true;
      same = same && std::memcmp(&part[i], &got[i], sizeof(float)) == 0;
    }
  CHECK(same);
  CHECK(untouched(part, written));

  // Uneven splits of pixels and panels (as threads would get them) give bitwise the same output.
  std::vector<float> split(got.size(), kSentinel);
  const auto pc = cuts(c.pixels, 4, c.pixels + std::size_t(c.cin)), nc = cuts(panels, 3, std::size_t(c.cout));
  for (std::size_t a = 0; a + 1 < pc.size(); ++a)
    for (std::size_t b = 0; b + 1 < nc.size(); ++b) K::pwconv1x1(c.args(split), pc[a], pc[a + 1], nc[b], nc[b + 1]);
  CHECK(bitwise_equal(split, got));
}

// ---- The 3x3 convolutions' shared geometry --------------------------------------------------------------
// A case whose kernel splits output rows: its sizes, and run<K>(r0, r1), output rows [r0, r1) of Case's
// call<K>() into a map that holds the sentinel elsewhere.
template <class Case>
struct RowSplitCase {
  int in_h, in_w, stride, out_h, out_w, out_channels;
  bool relu;
  RowSplitCase(int h, int w, int s, int channels, bool r)
      : in_h(h), in_w(w), stride(s), out_h(k::conv_output_size(h, s)), out_w(k::conv_output_size(w, s)),
        out_channels(channels), relu(r) {}
  template <class K>
  std::vector<float> run(int r0, int r1) const {
    std::vector<float> out(std::size_t(out_h) * std::size_t(out_w) * std::size_t(out_channels), kSentinel);
    static_cast<const Case&>(*this).template call<K>(out, r0, r1);
    return out;
  }
};

// ---- Depthwise 3x3 ---------------------------------------------------------------------------------------
struct DepthwiseCase : RowSplitCase<DepthwiseCase> {
  int channels;
  std::vector<float> input, c133, bias, packed;
  std::vector<Exact> exact;

  DepthwiseCase(int c, int h, int w, int s, bool r, std::uint64_t seed) : RowSplitCase(h, w, s, c, r), channels(c) {
    const std::size_t ch = std::size_t(c);
    input = random_vector(std::size_t(h) * std::size_t(w) * ch, seed);
    c133 = random_vector(ch * 9, seed + 1);
    bias = random_vector(ch, seed + 2, -0.5f, 0.5f);
    packed.resize(ch * 9);
    k::pack_dwconv3x3_weights(c133.data(), c, packed.data());
    exact.resize(std::size_t(out_h) * std::size_t(out_w) * ch);
    for (int oy = 0; oy < out_h; ++oy)
      for (int ox = 0; ox < out_w; ++ox)
        for (std::size_t ci = 0; ci < ch; ++ci) {
          Exact e = start(bias[ci]);
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int iy = oy * s + ky - 1, ix = ox * s + kx - 1;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              e.add(input[(std::size_t(iy) * std::size_t(w) + std::size_t(ix)) * ch + ci],
                    c133[ci * 9 + std::size_t(ky * 3 + kx)]);
            }
          exact[(std::size_t(oy) * std::size_t(out_w) + std::size_t(ox)) * ch + ci] = e;
        }
  }
  k::DepthwiseArgs args(std::vector<float>& out) const {
    return {input.data(), in_h, in_w, channels, out.data(), out_h, out_w, packed.data(), bias.data(), relu};
  }
  template <class K>
  void call(std::vector<float>& out, int r0, int r1) const {
    if (stride == 2)
      K::template dwconv3x3<2>(args(out), r0, r1);
    else
      K::template dwconv3x3<1>(args(out), r0, r1);
  }
};

// ---- Dense 3x3 (stem) --------------------------------------------------------------------------------------
struct ConvCase : RowSplitCase<ConvCase> {
  int cin, cout;
  std::vector<float> input, oihw, bias, taps, panels;  // weights packed in both stem layouts
  std::vector<Exact> exact;

  ConvCase(int ci, int co, int h, int w, int s, bool r, std::uint64_t seed)
      : RowSplitCase(h, w, s, co, r), cin(ci), cout(co) {
    input = random_vector(std::size_t(h) * std::size_t(w) * std::size_t(ci), seed);
    oihw = random_vector(std::size_t(co) * std::size_t(ci) * 9, seed + 1);
    bias = random_vector(std::size_t(co), seed + 2, -0.5f, 0.5f);
    taps.resize(k::conv3x3_packed_size(k::StemLayout::taps, co, ci));
    k::pack_conv3x3_weights(oihw.data(), co, ci, taps.data());
    panels.resize(k::conv3x3_packed_size(k::StemLayout::panels, co, ci));
    k::pack_conv3x3_panels(oihw.data(), bias.data(), co, ci, panels.data());
    exact.resize(std::size_t(out_h) * std::size_t(out_w) * std::size_t(co));
    for (int oy = 0; oy < out_h; ++oy)
      for (int ox = 0; ox < out_w; ++ox)
        for (int o = 0; o < co; ++o) {
          Exact e = start(bias[std::size_t(o)]);
          for (int i = 0; i < ci; ++i)
            for (int ky = 0; ky < 3; ++ky)
              for (int kx = 0; kx < 3; ++kx) {
                const int iy = oy * s + ky - 1, ix = ox * s + kx - 1;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                e.add(input[(std::size_t(iy) * std::size_t(w) + std::size_t(ix)) * std::size_t(ci) + std::size_t(i)],
                      oihw[((std::size_t(o) * std::size_t(ci) + std::size_t(i)) * 3 + std::size_t(ky)) * 3 +
                           std::size_t(kx)]);
              }
          exact[(std::size_t(oy) * std::size_t(out_w) + std::size_t(ox)) * std::size_t(co) + std::size_t(o)] = e;
        }
  }
  k::Conv3x3Args args(std::vector<float>& out, k::StemLayout layout) const {
    if (layout == k::StemLayout::taps)
      return {input.data(), in_h, in_w, cin, out.data(), out_h, out_w, cout, taps.data(), bias.data(), relu};
    const float* padded_bias = panels.data() + k::pointwise_packed_size(cout, 9 * cin);
    return {input.data(), in_h, in_w, cin, out.data(), out_h, out_w, cout, panels.data(), padded_bias, relu};
  }
  template <class K>
  void call(std::vector<float>& out, int r0, int r1) const {
    if (stride == 2)
      K::template conv3x3<2>(args(out, K::stem_layout), r0, r1);
    else
      K::template conv3x3<1>(args(out, K::stem_layout), r0, r1);
  }
};

// Shared checks of the two row-split convolutions: full run vs exact and vs RefKernels, a row sub-range,
// and uneven row splits bitwise equal to the full run.
template <class K, class Case>
void check_rows(const Case& c, std::size_t row_floats) {
  const std::vector<float> got = c.template run<K>(0, c.out_h);
  const std::vector<float> ref = c.template run<RefKernels>(0, c.out_h);
  Comparison vs_exact, vs_ref;
  for (std::size_t i = 0; i < got.size(); ++i) {
    vs_exact.check(got[i], relu_if(c.relu, c.exact[i].value), bound(c.exact[i]), i);
    vs_ref.check(got[i], ref[i], 2 * bound(c.exact[i]), i);
  }
  CHECK(vs_exact.worst <= 1.0);
  CHECK(vs_ref.worst <= 1.0);

  const int r0 = c.out_h / 3, r1 = c.out_h - c.out_h / 4;
  const std::vector<float> part = c.template run<K>(r0, r1);
  std::vector<bool> written(part.size(), false);
  std::fill(written.begin() + std::ptrdiff_t(std::size_t(r0) * row_floats),
            written.begin() + std::ptrdiff_t(std::size_t(r1) * row_floats), true);
  bool same = true;
  for (std::size_t i = 0; i < part.size(); ++i)
    if (written[i]) same = same && std::memcmp(&part[i], &got[i], sizeof(float)) == 0;
  CHECK(same);
  CHECK(untouched(part, written));

  std::vector<float> split(got.size(), kSentinel);
  const auto rc = cuts(std::size_t(c.out_h), 3, std::size_t(c.out_h * 7 + c.out_w));
  for (std::size_t a = 0; a + 1 < rc.size(); ++a) c.template call<K>(split, int(rc[a]), int(rc[a + 1]));
  CHECK(bitwise_equal(split, got));
}

// fn(stride, channels, height, width) for strides 1 and 2 x kChannels x kSides x `widths`; `seed` advances
// after each shape.
template <class Fn>
void sweep_shapes(std::uint64_t& seed, const std::vector<int>& widths, const Fn& fn) {
  for (int stride : {1, 2})
    for (int channels : kChannels)
      for (int h : kSides)
        for (int w : widths) {
          CAPTURE(stride);
          CAPTURE(channels);
          CAPTURE(h);
          CAPTURE(w);
          fn(stride, channels, h, w);
          ++seed;
        }
}

}  // namespace

// ---- Test cases, instantiated for every kernel set ---------------------------------------------------------
// KERNEL_SET_TEST(title, id) { body }: a doctest case for every float32 kernel set of the registry (the
// int8 sets reuse those float32 families), skipped where this CPU lacks the ISA; in the body, Set is the
// registry entry and K its kernels.
#define KERNEL_SET_TEST(title, id)                                              \
  template <class Set, class K = typename Set::Kernels>                         \
  void id##_body();                                                             \
  TEST_CASE_TEMPLATE_DEFINE(title, Set, id) {                                   \
    if constexpr (Set::precision == Precision::fp32) {                          \
      if (!Set::runs_here()) return;                                            \
      const std::string set_name = Set::name();                                 \
      CAPTURE(set_name);                                                        \
      id##_body<Set>();                                                         \
    }                                                                           \
  }                                                                             \
  TEST_CASE_TEMPLATE_APPLY(id, KernelSets);             \
  template <class Set, class K>                         \
  void id##_body()

KERNEL_SET_TEST("pwconv1x1: every channel remainder, odd pixel counts, sub-ranges, splits", pointwise_test) {
  std::uint64_t seed = 1;
  for (std::size_t pixels : {1, 5, 13, 49})
    for (int cin : kChannels)
      for (int cout : kChannels) {
        check_pointwise<K>(PointwiseCase(pixels, cin, cout, (seed & 1) != 0, seed));
        ++seed;
      }
  // Long pixel ranges (several pixel blocks and row tiles) and wide layers.
  check_pointwise<K>(PointwiseCase(1500, 100, 33, true, 7));
  check_pointwise<K>(PointwiseCase(777, 17, 100, false, 8));
  check_pointwise<K>(PointwiseCase(98, 256, 200, true, 9));
  check_pointwise<K>(PointwiseCase(3, 700, 48, true, 10));
}

KERNEL_SET_TEST("dwconv3x3: stride 1 and 2, every channel remainder, odd and tiny sides", depthwise_test) {
  std::uint64_t seed = 100;
  sweep_shapes(seed, std::vector<int>(std::begin(kSides), std::end(kSides)), [&](int stride, int channels, int h, int w) {
    const DepthwiseCase c(channels, h, w, stride, (seed & 1) != 0, seed);
    check_rows<K>(c, std::size_t(c.out_w) * std::size_t(channels));
  });
  for (int stride : {1, 2}) {
    const DepthwiseCase c(256, 14, 14, stride, true, seed++);  // a real layer's shape
    check_rows<K>(c, std::size_t(c.out_w) * 256);
    const DepthwiseCase d(48, 28, 17, stride, false, seed++);
    check_rows<K>(d, std::size_t(d.out_w) * 48);
    const DepthwiseCase e(512, 7, 9, stride, true, seed++);  // 512-multiple channels take their own blocking
    check_rows<K>(e, std::size_t(e.out_w) * 512);
  }
  // Interior rows of floor(w / 2) - 1 stride-2 pixels: one, one and a bit, almost two, two and more groups
  // of NEON's 16-pixel assembly (the last group overlapping the one before), with a channel tail.
  for (int w : {34, 35, 36, 64, 69})
    for (int channels : {4, 37}) {
      const DepthwiseCase c(channels, 5, w, 2, (seed & 1) != 0, seed);
      ++seed;
      check_rows<K>(c, std::size_t(c.out_w) * std::size_t(channels));
    }
}

KERNEL_SET_TEST("conv3x3 (stem): 3 input channels, stride 2 and 1, odd sizes, every out remainder", conv_test) {
  std::uint64_t seed = 200;
  sweep_shapes(seed, {1, 2, 5, 13, 15}, [&](int stride, int cout, int h, int w) {
    const ConvCase c(3, cout, h, w, stride, (seed & 1) != 0, seed);
    check_rows<K>(c, std::size_t(c.out_w) * std::size_t(cout));
  });
  // The real stems (3 -> 48 / 64 at stride 2), long rows, and other input channel counts.
  for (const auto& shape : {std::array{3, 48, 40, 67}, {3, 64, 33, 80}, {1, 17, 9, 9}, {4, 33, 8, 11}, {8, 16, 5, 6}}) {
    const int cin = shape[0], cout = shape[1];
    const ConvCase c(cin, cout, shape[2], shape[3], 2, true, seed++);
    CAPTURE(cin);
    CAPTURE(cout);
    check_rows<K>(c, std::size_t(c.out_w) * std::size_t(cout));
  }
}

KERNEL_SET_TEST("channel_mean: every channel remainder, channel sub-ranges, splits", mean_test) {
  std::uint64_t seed = 300;
  for (std::size_t pixels : {1, 7, 49, 196})
    for (int channels : {1, 3, 7, 15, 16, 17, 31, 33, 48, 63, 100, 1024}) {
      CAPTURE(pixels);
      CAPTURE(channels);
      const std::vector<float> input = random_vector(pixels * std::size_t(channels), seed++, -1.f, 3.f);
      std::vector<float> got(std::size_t(channels), kSentinel), ref(got.size(), kSentinel);
      K::channel_mean({input.data(), pixels, channels, got.data()}, 0, channels);
      RefKernels::channel_mean({input.data(), pixels, channels, ref.data()}, 0, channels);
      Comparison vs_exact, vs_ref;
      for (int c = 0; c < channels; ++c) {
        Exact e;
        for (std::size_t p = 0; p < pixels; ++p)
          e.add(input[p * std::size_t(channels) + std::size_t(c)], 1.0 / double(pixels));
        vs_exact.check(got[std::size_t(c)], e.value, bound(e), std::size_t(c));
        vs_ref.check(got[std::size_t(c)], ref[std::size_t(c)], 2 * bound(e), std::size_t(c));
      }
      CHECK(vs_exact.worst <= 1.0);
      CHECK(vs_ref.worst <= 1.0);
      // A channel sub-range writes only its channels, and splits are bitwise the full run.
      std::vector<float> part(got.size(), kSentinel), split(got.size(), kSentinel);
      const int c0 = channels / 3, c1 = channels - channels / 5;
      K::channel_mean({input.data(), pixels, channels, part.data()}, c0, c1);
      std::vector<bool> written(got.size(), false);
      for (int c = c0; c < c1; ++c) written[std::size_t(c)] = true;
      CHECK(untouched(part, written));
      for (int c = c0; c < c1; ++c) CHECK(std::memcmp(&part[std::size_t(c)], &got[std::size_t(c)], sizeof(float)) == 0);
      const auto cc = cuts(std::size_t(channels), 3, seed);
      for (std::size_t a = 0; a + 1 < cc.size(); ++a)
        K::channel_mean({input.data(), pixels, channels, split.data()}, int(cc[a]), int(cc[a + 1]));
      CHECK(bitwise_equal(split, got));
    }
}

KERNEL_SET_TEST("squeeze-excite: gate on every channel/hidden remainder, scale with and without ReLU", se_test) {
  std::uint64_t seed = 400;
  for (int channels : {1, 3, 7, 15, 16, 17, 31, 33, 48, 63, 100, 896})
    for (int hidden : {1, 3, 8, 17, 56}) {
      CAPTURE(channels);
      CAPTURE(hidden);
      const std::size_t c_n = std::size_t(channels), h_n = std::size_t(hidden);
      const std::vector<float> mean = random_vector(c_n, seed, -1.f, 2.f), rw = random_vector(h_n * c_n, seed + 1),
                               rb = random_vector(h_n, seed + 2), ew = random_vector(c_n * h_n, seed + 3),
                               eb = random_vector(c_n, seed + 4);
      seed += 5;
      std::vector<float> hidden_scratch(h_n), gate(c_n, kSentinel);
      K::se_gate({mean.data(), channels, hidden, rw.data(), rb.data(), ew.data(), eb.data(), hidden_scratch.data(),
                  gate.data()});
      // Exact gate; the tolerance carries the hidden layer's error bound through the expand layer.
      std::vector<Exact> hid(h_n);
      for (std::size_t h = 0; h < h_n; ++h) {
        hid[h] = start(rb[h]);
        for (std::size_t c = 0; c < c_n; ++c) hid[h].add(rw[h * c_n + c], mean[c]);
      }
      Comparison cmp;
      for (std::size_t c = 0; c < c_n; ++c) {
        Exact z = start(eb[c]);
        double carried = 0.0;
        for (std::size_t h = 0; h < h_n; ++h) {
          z.add(ew[c * h_n + h], std::max(hid[h].value, 0.0));
          carried += std::fabs(ew[c * h_n + h]) * bound(hid[h]);
        }
        const double want = 1.0 / (1.0 + std::exp(-z.value));
        // sigmoid' <= 1/4; plus a few ulps for exp and the division.
        cmp.check(gate[c], want, 0.25 * (bound(z) + carried) + 4e-7, c);
      }
      CHECK(cmp.worst <= 1.0);
    }
  for (int channels : kChannels)
    for (bool relu : {false, true}) {
      CAPTURE(channels);
      CAPTURE(relu);
      const std::size_t pixels = 23, c_n = std::size_t(channels);
      const std::vector<float> data = random_vector(pixels * c_n, seed), gate = random_vector(c_n, seed + 1, 0.f, 1.f);
      seed += 2;
      std::vector<float> got = data, part = data, split = data;
      K::scale_channels({got.data(), channels, gate.data(), relu}, 0, pixels);
      bool exact = true;  // one rounded product: every correct kernel gives the same float
      for (std::size_t p = 0; p < pixels; ++p)
        for (std::size_t c = 0; c < c_n; ++c) {
          const float v = data[p * c_n + c] * gate[c];
          exact = exact && got[p * c_n + c] == (relu ? std::max(v, 0.f) : v);
        }
      CHECK(exact);
      K::scale_channels({part.data(), channels, gate.data(), relu}, 5, 17);
      bool only_range = true;
      for (std::size_t i = 0; i < part.size(); ++i) {
        const bool inside = i >= 5 * c_n && i < 17 * c_n;
        only_range = only_range && std::memcmp(&part[i], inside ? &got[i] : &data[i], sizeof(float)) == 0;
      }
      CHECK(only_range);
      const auto pc = cuts(pixels, 4, seed);
      for (std::size_t a = 0; a + 1 < pc.size(); ++a)
        K::scale_channels({split.data(), channels, gate.data(), relu}, pc[a], pc[a + 1]);
      CHECK(bitwise_equal(split, got));
    }
}

KERNEL_SET_TEST("linear: every input/output remainder, output sub-ranges, splits", linear_test) {
  std::uint64_t seed = 500;
  for (int in : {1, 3, 7, 15, 16, 17, 31, 33, 48, 63, 100, 1024})
    for (int out : {1, 3, 4, 5, 7, 17, 100}) {
      CAPTURE(in);
      CAPTURE(out);
      const std::vector<float> x = random_vector(std::size_t(in), seed, 0.f, 2.f),
                               w = random_vector(std::size_t(out) * std::size_t(in), seed + 1),
                               b = random_vector(std::size_t(out), seed + 2);
      seed += 3;
      std::vector<float> got(std::size_t(out), kSentinel), ref(got.size(), kSentinel);
      K::linear({x.data(), in, got.data(), out, w.data(), b.data()}, 0, out);
      RefKernels::linear({x.data(), in, ref.data(), out, w.data(), b.data()}, 0, out);
      Comparison vs_exact, vs_ref;
      for (std::size_t o = 0; o < std::size_t(out); ++o) {
        Exact e = start(b[o]);
        for (std::size_t i = 0; i < std::size_t(in); ++i) e.add(w[o * std::size_t(in) + i], x[i]);
        vs_exact.check(got[o], e.value, bound(e), o);
        vs_ref.check(got[o], ref[o], 2 * bound(e), o);
      }
      CHECK(vs_exact.worst <= 1.0);
      CHECK(vs_ref.worst <= 1.0);
      std::vector<float> part(got.size(), kSentinel), split(got.size(), kSentinel);
      const int o0 = out / 3, o1 = out - out / 4;
      K::linear({x.data(), in, part.data(), out, w.data(), b.data()}, o0, o1);
      std::vector<bool> written(got.size(), false);
      for (int o = o0; o < o1; ++o) written[std::size_t(o)] = true;
      CHECK(untouched(part, written));
      const auto oc = cuts(std::size_t(out), 3, seed);
      for (std::size_t a = 0; a + 1 < oc.size(); ++a)
        K::linear({x.data(), in, split.data(), out, w.data(), b.data()}, int(oc[a]), int(oc[a + 1]));
      CHECK(bitwise_equal(split, got));
    }
}

template <class K, class = void>
struct HasGemmTiles : std::false_type {};
template <class K>
struct HasGemmTiles<K, std::void_t<typename K::GemmTiles>> : std::true_type {};

// The edges of the kernel set's own tiling (GemmTiles, gemm_blocking.hpp): rows per tile and output
// channels per tile +-1, K around the chunk size (and several chunks), and pixel counts around a block.
KERNEL_SET_TEST("pwconv1x1: the tiling's own edges (tile rows, tile width, K chunk, pixel block +-1)", tile_edges_test) {
  if constexpr (HasGemmTiles<K>::value) {
    using T = typename K::GemmTiles;
    const int mr = T::kRows, nr = T::kPanels * k::kPanelWidth, chunk = int(T::kChunk);
    std::vector<int> ks = {1, 3, 4, 5, 67};
    if (chunk > 0) ks = {chunk - 1, chunk, chunk + 1, 2 * chunk + 3};
    std::uint64_t seed = 900;
    for (int pixels : {mr - 1, mr, mr + 1, 2 * mr + 1})
      for (int cout : {nr - 1, nr, nr + 1, 2 * nr + 1})
        for (int cin : ks)
          if (pixels > 0) {
            const bool relu = (++seed & 1) != 0;
            check_pointwise<K>(PointwiseCase(std::size_t(pixels), cin, cout, relu, seed));
          }
    // A pixel block (about kBlockBytes of one K chunk of A, at least kMinBlockRows) and one row more.
    const int cin = ks.back();
    const std::size_t chunk_floats = chunk > 0 && cin > chunk ? std::size_t(chunk) : std::size_t(cin);
    const std::size_t block = std::max<std::size_t>(T::kMinBlockRows, T::kBlockBytes / (chunk_floats * sizeof(float)) /
                                                                          std::size_t(mr) * std::size_t(mr));
    for (std::size_t pixels : {block, block + 1}) check_pointwise<K>(PointwiseCase(pixels, cin, nr + 1, true, seed++));
  }
}

// 0 finite, 1 +inf, 2 -inf, 3 NaN.
int fp_class(float v) { return std::isnan(v) ? 3 : std::isinf(v) ? (v > 0 ? 1 : 2) : 0; }

// Every output's class (finite, +inf, -inf, NaN) equals the reference's: a NaN or an infinity in the input
// propagates the same way on every ISA (ReLU keeps NaN; padding adds nothing, not 0 * inf).
std::size_t class_mismatches(const std::vector<float>& got, const std::vector<float>& want) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < got.size(); ++i) n += fp_class(got[i]) != fp_class(want[i]);
  return n;
}

// Writes NaN, +inf and -inf into about one element in `stride` of v.
void poison(std::vector<float>& v, std::size_t stride) {
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity()};
  for (std::size_t i = 0, j = 0; i < v.size(); i += stride, ++j) v[i] = specials[j % 3];
}

KERNEL_SET_TEST("non-finite inputs propagate as in the reference in every kernel family", nonfinite_test) {
  for (bool relu : {false, true}) {
    CAPTURE(relu);
    PointwiseCase pw(29, 37, 45, relu, 1000);
    poison(pw.input, 97);
    CHECK(class_mismatches(pw.template run<K>(0, pw.pixels, 0, pw.panels()),
                           pw.template run<RefKernels>(0, pw.pixels, 0, pw.panels())) == 0);
    for (int stride : {1, 2}) {
      CAPTURE(stride);
      DepthwiseCase dw(37, 9, 11, stride, relu, 1001);
      poison(dw.input, 131);
      CHECK(class_mismatches(dw.template run<K>(0, dw.out_h), dw.template run<RefKernels>(0, dw.out_h)) == 0);
      ConvCase conv(3, 37, 13, 15, stride, relu, 1002);
      poison(conv.input, 67);
      CHECK(class_mismatches(conv.template run<K>(0, conv.out_h), conv.template run<RefKernels>(0, conv.out_h)) == 0);
    }
    std::vector<float> data = random_vector(7 * 37, 1003), gate = random_vector(37, 1004, 0.f, 1.f);
    poison(data, 23);
    std::vector<float> want = data;
    K::scale_channels({data.data(), 37, gate.data(), relu}, 0, 7);
    RefKernels::scale_channels({want.data(), 37, gate.data(), relu}, 0, 7);
    CHECK(class_mismatches(data, want) == 0);
  }
  std::vector<float> input = random_vector(13 * 37, 1005);
  poison(input, 41);
  std::vector<float> got(37), want(37);
  K::channel_mean({input.data(), 13, 37, got.data()}, 0, 37);
  RefKernels::channel_mean({input.data(), 13, 37, want.data()}, 0, 37);
  CHECK(class_mismatches(got, want) == 0);
  for (std::size_t bad : {std::size_t(0), std::size_t(36)}) {  // a NaN in the body, an infinity in the tail
    std::vector<float> x = random_vector(37, 1006), w = random_vector(9 * 37, 1007), b = random_vector(9, 1008);
    x[bad] = bad == 0 ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    std::vector<float> out(9), ref(9);
    K::linear({x.data(), 37, out.data(), 9, w.data(), b.data()}, 0, 9);
    RefKernels::linear({x.data(), 37, ref.data(), 9, w.data(), b.data()}, 0, 9);
    CHECK(class_mismatches(out, ref) == 0);
  }
}


// ---- Whole networks ----------------------------------------------------------------------------------------

TEST_CASE("random S0..S4 on every kernel set match the scalar path; thread counts are bitwise identical") {
  // Under emulation a quarter of the pixels: the last stage still has 2x2 (test_support.hpp).
  const int height = testing::kEmulated ? 48 : 96, width = testing::kEmulated ? 64 : 128;
  const std::vector<float> input = random_vector(std::size_t(3) * height * width, 77, -2.f, 2.f);
  for (const char* variant : {"s0", "s1", "s2", "s3", "s4"}) {
    CAPTURE(variant);
    const std::vector<unsigned char> blob = random_model_blob(Architecture::variant(variant), 21);
    const Model model = Model::from_buffer(blob.data(), blob.size());
    Context scalar(model, Options{1, Isa::scalar});
    const std::vector<float> expected = scalar.run(input.data(), 3, height, width);
    double expected_max = 0.0;
    for (float v : expected) expected_max = std::max(expected_max, double(std::fabs(v)));
    REQUIRE(expected_max > 0.0);
    detail::for_each_kernel_set([&](auto set) {
      using Set = decltype(set);
      if (Set::isa == Isa::scalar || Set::precision != Precision::fp32 || !Set::runs_here()) return;
      CAPTURE(isa_name(Set::isa));
      Context one(model, Options{1, Set::isa});
      const std::vector<float> logits = one.run(input.data(), 3, height, width);
      double worst = 0.0;
      for (std::size_t i = 0; i < logits.size(); ++i)
        worst = std::max(worst, double(std::fabs(logits[i] - expected[i])));
      CHECK(worst / expected_max <= 1e-4);
      for (int threads : {2, 3}) {
        CAPTURE(threads);
        Context many(model, Options{threads, Set::isa});
        CHECK(bitwise_equal(many.run(input.data(), 3, height, width), logits));
      }
    });
  }
}

// ---- The in-order NEON kernel set (dispatch.hpp, detail/arm_midr.hpp) ----------------------------------------

TEST_CASE("in-order Arm cores by MIDR: Cortex-A53, A55, A510, A520 and Qualcomm's Silver cores only") {
  for (std::uint64_t midr : {0x410fd034ull, 0x411fd050ull, 0x412fd050ull, 0x410fd461ull, 0x410fd801ull, 0x517f803cull,
                             0x51df805eull})
    CHECK(detail::arm_midr_is_in_order(midr));
  // Cortex-A76, Neoverse N1, Cortex-X1, A710, Apple M1, qemu's `max`, another implementer's part 0xD05.
  for (std::uint64_t midr : {0x414fd0b1ull, 0x414fd0c1ull, 0x411fd440ull, 0x412fd470ull, 0x611f0220ull, 0x000f0510ull,
                             0x510fd050ull})
    CHECK_FALSE(detail::arm_midr_is_in_order(midr));
}

// Where the ctest registration says what the emulated CPU is (MOBILEONE_TEST_CPU_IN_ORDER=1 under qemu's
// -cpu cortex-a53, 0 under its default): the detection agrees, and a float32 NEON context takes the
// in-order kernel set exactly there.
TEST_CASE("the in-order NEON kernel set is chosen exactly on in-order cores") {
  const char* expected = std::getenv("MOBILEONE_TEST_CPU_IN_ORDER");
  if (expected == nullptr) return;
  const bool in_order = std::string(expected) == "1";
  CHECK(detail::cpu_is_in_order() == in_order);
#if defined(__aarch64__)
  const bool chosen = detail::with_kernel_set(Isa::neon, Precision::fp32, [](auto kernels) {
    return std::is_same_v<decltype(kernels), k::neon_in_order::F32Kernels>;
  });
  CHECK(chosen == in_order);
#endif
}
