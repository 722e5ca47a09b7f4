// Every family of every 16-bit kernel set (Precision::bf16, Precision::fp16) this machine runs, on shapes that
// hit every remainder (pixel counts 1..13 and 49, channels around the 16/32/64 vector and tile widths +-1,
// odd K, square layers with their float32 diagonal, stride 1 and 2 depthwise on small odd sizes, the stem,
// SE's gate and scale, the channel mean, the classifier with odd in_features), against
//   - a naive double-precision loop on the same rounded operands (the PyTorch-layout weights rounded to T as
//     the packing rounds them, so the packing is covered too), and
//   - ref::HalfKernels of the same element type and pointwise group, on the same packed weights;
// plus: sub-ranges write exactly their part, uneven splits (as threads get them) are bitwise the full run,
// and inputs are followed by NaNs, so a kernel that uses an element past its input (the odd-K pair's second
// half, a diagonal or depthwise tail) poisons its output.
//
// Tolerances. An output is a sum of n terms accumulated with unit roundoff u_acc, then (16-bit outputs)
// rounded once to T with unit roundoff u_T (bf16 2^-8, fp16 2^-11):
//   |got - exact| <= S (1 + u_T) + u_T |exact| + u_T tiny_T,   S = 4 (n + 1) u_acc (|bias| + sum |terms|)
// where S is the classic bound of a rounded sum in any order (test_kernels.cpp's, FMA or not), u_T |exact|
// the final rounding, tiny_T the smallest normal T (fp16's subnormal spacing). u_acc is float32's unless the
// set says it accumulates in T (kPointwiseAccumulatesInElement / kDepthwiseAccumulatesInElement, e.g. FMLA
// .8h chains on NEON fp16): then T's, a real bound for those chains too. What the bound catches: with
// weights and inputs of magnitude ~0.5, a dropped or repeated term (an off-by-one K tail), a swapped pair
// (W[c][2g] against x[2g + 1]) or a dropped diagonal (~1 per output) moves outputs by ~0.1-1, against an
// allowance of u_T |exact| ~ 1e-2 (bf16) at |exact| ~ 2: the worst of many outputs breaks it by 10-100x.
// The SE scale is exact: the seam fixes it to one float32 product rounded once to T, bitwise the reference's.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
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

// ---- What a set says about its arithmetic (defaults: float32 sums, as kernel_args.hpp describes) ----------
template <class K, class = void>
struct PointwiseInElement : std::false_type {};
template <class K>
struct PointwiseInElement<K, std::void_t<decltype(K::kPointwiseAccumulatesInElement)>>
    : std::bool_constant<K::kPointwiseAccumulatesInElement> {};
template <class K, class = void>
struct DepthwiseInElement : std::false_type {};
template <class K>
struct DepthwiseInElement<K, std::void_t<decltype(K::kDepthwiseAccumulatesInElement)>>
    : std::bool_constant<K::kDepthwiseAccumulatesInElement> {};

// Unit roundoff (half an ulp at 1) and the smallest normal value of each element type.
template <class T>
constexpr double unit_roundoff() {
  if constexpr (std::is_same_v<T, k::bf16>) return 0x1p-8;
  if constexpr (std::is_same_v<T, k::fp16>) return 0x1p-11;
  return 0x1p-24;
}
template <class T>
constexpr double smallest_normal() {
  return std::is_same_v<T, k::fp16> ? 0x1p-14 : 0x1p-126;
}

// The reference of a 16-bit set: the scalar set of its element type and pointwise group.
template <class K>
using RefOf = k::ref::HalfKernels<typename K::Element, K::kPointwiseGroup>;

// ---- Operands ---------------------------------------------------------------------------------------------
constexpr std::size_t kPoison = 64;  // NaNs after every input

std::vector<float> random_floats(std::size_t n, std::uint64_t seed, float low = -1.f, float high = 1.f) {
  WeightRandom random(seed);
  std::vector<float> v(n);
  for (float& x : v) x = random.uniform(low, high);
  return v;
}

// A T input of n random values, then kPoison NaNs; `values` gets the same values as floats (exact).
template <class T>
std::vector<T> random_input(std::size_t n, std::uint64_t seed, std::vector<float>& values, float low = -1.f,
                            float high = 1.f) {
  values = random_floats(n, seed, low, high);
  std::vector<T> v(n + kPoison, k::from_float<T>(std::numeric_limits<float>::quiet_NaN()));
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = k::from_float<T>(values[i]);
    values[i] = k::to_float(v[i]);
  }
  return v;
}

// T's rounding of x (what the packing stores), as a float.
template <class T>
float round_to(float x) {
  return k::to_float(k::from_float<T>(x));
}

template <class T>
T sentinel() {
  return k::from_float<T>(-12345.f);
}

template <class T>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}
template <class T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
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

// The bound at the top for an output of type Out summed with unit roundoff u_acc (relu applied to the exact
// value: ReLU never increases an error).
template <class Out>
double allowed(const Exact& e, double u_acc, bool relu) {
  const double sum = 4.0 * double(e.terms + 1) * u_acc * e.scale, u = unit_roundoff<Out>();
  const double want = relu ? std::max(e.value, 0.0) : e.value;
  return sum * (1 + u) + u * std::fabs(want) + u * smallest_normal<Out>() + 1e-30;
}

// The worst |got - want| / allowed over many outputs; one CHECK per shape. Non-finite got fails.
struct Comparison {
  double worst = 0.0;
  std::size_t where = 0;
  void check(double got, double want, double allowed, std::size_t index) {
    const double ratio = std::isfinite(got) ? std::fabs(got - want) / allowed : 1e30;
    if (ratio > worst) worst = ratio, where = index;
  }
};

// Outputs outside `written` still hold the sentinel.
template <class T>
bool untouched(const std::vector<T>& v, const std::vector<bool>& written, T sentinel_value) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!written[i] && !same_bits(v[i], sentinel_value)) return false;
  return true;
}

// Contiguous cut points of [0, total) into `parts` uneven pieces (deterministic).
std::vector<std::size_t> cuts(std::size_t total, std::size_t parts, std::uint64_t seed) {
  std::vector<std::size_t> c{0, total};
  WeightRandom random(seed);
  for (std::size_t i = 1; i < parts && total > 1; ++i) c.push_back(std::size_t(random.uniform(0.f, 1.f) * float(total)));
  std::sort(c.begin(), c.end());
  return c;
}

// ---- Pointwise 1x1 ------------------------------------------------------------------------------------------
template <class T, int G>
struct PointwiseCase {
  std::size_t pixels;
  int cin, cout;
  bool relu, with_diagonal;
  std::vector<float> input_values, bias, packed_bias, diagonal;
  std::vector<T> input, packed;
  std::vector<Exact> exact;  // [pixels][cout]

  PointwiseCase(std::size_t p, int ci, int co, bool r, bool diag, std::uint64_t seed)
      : pixels(p), cin(ci), cout(co), relu(r), with_diagonal(diag && ci == co) {
    input = random_input<T>(p * std::size_t(ci), seed, input_values);
    std::vector<float> oi = random_floats(std::size_t(co) * std::size_t(ci), seed + 1);
    // A square layer's diagonal holds the folded identity: ~1 beside weights of ~0.5.
    if (with_diagonal)
      for (int c = 0; c < co; ++c) oi[std::size_t(c) * std::size_t(ci) + std::size_t(c)] += 1.f;
    bias = random_floats(std::size_t(co), seed + 2, -0.5f, 0.5f);
    const std::size_t padded = k::pointwise_panel_count(co) * k::kPanelWidth;
    packed.resize(k::pointwise_packed_size(co, ci, G));
    packed_bias.resize(padded);
    diagonal.assign(with_diagonal ? padded : 0, 0.f);
    k::pack_pointwise_panels(oi.data(), co, ci, G, packed.data(), with_diagonal ? diagonal.data() : nullptr);
    k::pack_pointwise_bias(bias.data(), co, packed_bias.data());
    exact.resize(p * std::size_t(co));
    for (std::size_t px = 0; px < p; ++px)
      for (int o = 0; o < co; ++o) {
        Exact e = start(bias[std::size_t(o)]);
        for (int i = 0; i < ci; ++i) {
          const float w = oi[std::size_t(o) * std::size_t(ci) + std::size_t(i)];
          // The diagonal stays float32; every other weight is rounded to T by the packing.
          e.add(input_values[px * std::size_t(ci) + std::size_t(i)], with_diagonal && i == o ? w : round_to<T>(w));
        }
        exact[px * std::size_t(co) + std::size_t(o)] = e;
      }
  }
  std::size_t panels() const { return k::pointwise_panel_count(cout); }
  k::PointwiseArgsOf<T> args(std::vector<T>& out) const {
    return {input.data(), out.data(), pixels, cin, cout, packed.data(), packed_bias.data(), relu,
            with_diagonal ? diagonal.data() : nullptr};
  }
  template <class K>
  std::vector<T> run(std::size_t p0, std::size_t p1, std::size_t n0, std::size_t n1) const {
    std::vector<T> out(pixels * std::size_t(cout), sentinel<T>());
    K::pwconv1x1(args(out), p0, p1, n0, n1);
    return out;
  }
};

template <class K>
void check_pointwise(std::size_t pixels, int cin, int cout, bool relu, bool diagonal, std::uint64_t seed) {
  using T = typename K::Element;
  CAPTURE(pixels);
  CAPTURE(cin);
  CAPTURE(cout);
  CAPTURE(relu);
  CAPTURE(diagonal);
  const PointwiseCase<T, K::kPointwiseGroup> c(pixels, cin, cout, relu, diagonal, seed);
  const double u_acc = PointwiseInElement<K>::value ? unit_roundoff<T>() : unit_roundoff<float>();
  const std::size_t panels = c.panels();
  const std::vector<T> got = c.template run<K>(0, pixels, 0, panels);
  const std::vector<T> ref = c.template run<RefOf<K>>(0, pixels, 0, panels);
  Comparison vs_exact, vs_ref;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Exact& e = c.exact[i];
    const double bound = allowed<T>(e, u_acc, relu);
    vs_exact.check(k::to_float(got[i]), relu ? std::max(e.value, 0.0) : e.value, bound, i);
    // Both within the bound of the exact value (the reference with float32 sums).
    vs_ref.check(k::to_float(got[i]), k::to_float(ref[i]), bound + allowed<T>(e, unit_roundoff<float>(), relu), i);
  }
  CHECK(vs_exact.worst <= 1.0);
  CHECK(vs_ref.worst <= 1.0);

  // A sub-range of pixels and panels writes exactly its outputs, bitwise as the full run does.
  const std::size_t p0 = pixels / 3, p1 = pixels - pixels / 4, n0 = panels / 2, n1 = panels;
  const std::vector<T> part = c.template run<K>(p0, p1, n0, n1);
  std::vector<bool> written(part.size(), false);
  bool same = true;
  for (std::size_t p = p0; p < p1; ++p)
    for (std::size_t o = n0 * k::kPanelWidth; o < std::size_t(cout); ++o) {
      const std::size_t i = p * std::size_t(cout) + o;
      written[i] = true;
      same = same && same_bits(part[i], got[i]);
    }
  CHECK(same);
  CHECK(untouched(part, written, sentinel<T>()));

  // Uneven splits of pixels and panels give bitwise the same output.
  std::vector<T> split(got.size(), sentinel<T>());
  const auto pc = cuts(pixels, 4, pixels + std::size_t(cin)), nc = cuts(panels, 3, std::size_t(cout));
  for (std::size_t a = 0; a + 1 < pc.size(); ++a)
    for (std::size_t b = 0; b + 1 < nc.size(); ++b) K::pwconv1x1(c.args(split), pc[a], pc[a + 1], nc[b], nc[b + 1]);
  CHECK(bitwise_equal(split, got));
}

// ---- The 3x3 convolutions: output rows [r0, r1) into a sentinel-filled map --------------------------------
struct RowGeometry {
  int in_h, in_w, stride, out_h, out_w, channels;  // channels: of the output
  bool relu;
  RowGeometry(int h, int w, int s, int c, bool r)
      : in_h(h), in_w(w), stride(s), out_h(k::conv_output_size(h, s)), out_w(k::conv_output_size(w, s)), channels(c),
        relu(r) {}
  std::size_t outputs() const { return std::size_t(out_h) * std::size_t(out_w) * std::size_t(channels); }
  std::size_t row_outputs() const { return std::size_t(out_w) * std::size_t(channels); }
};

// exact[(oy * out_w + ox) * channels + c] from term(e, iy, ix, ky, kx, c) over the taps inside the image.
template <class Term>
std::vector<Exact> exact_conv(const RowGeometry& g, const std::vector<float>& bias, const Term& term) {
  std::vector<Exact> exact(g.outputs());
  for (int oy = 0; oy < g.out_h; ++oy)
    for (int ox = 0; ox < g.out_w; ++ox)
      for (int c = 0; c < g.channels; ++c) {
        Exact e = start(bias[std::size_t(c)]);
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = oy * g.stride + ky - 1, ix = ox * g.stride + kx - 1;
            if (iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w) term(e, iy, ix, ky, kx, c);
          }
        exact[(std::size_t(oy) * std::size_t(g.out_w) + std::size_t(ox)) * std::size_t(g.channels) + std::size_t(c)] = e;
      }
  return exact;
}

// Full run vs exact and vs the reference, a row sub-range, uneven row splits bitwise the full run.
// run(K, out, r0, r1) runs kernel set K (as a type tag) on rows [r0, r1).
template <class K, class T, class Run>
void check_rows(const RowGeometry& g, const std::vector<Exact>& exact, double u_acc, const Run& run) {
  const auto rows = [&](auto tag, int r0, int r1) {
    std::vector<T> out(g.outputs(), sentinel<T>());
    run(tag, out, r0, r1);
    return out;
  };
  const std::vector<T> got = rows(K{}, 0, g.out_h), ref = rows(RefOf<K>{}, 0, g.out_h);
  Comparison vs_exact, vs_ref;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Exact& e = exact[i];
    const double bound = allowed<T>(e, u_acc, g.relu);
    vs_exact.check(k::to_float(got[i]), g.relu ? std::max(e.value, 0.0) : e.value, bound, i);
    vs_ref.check(k::to_float(got[i]), k::to_float(ref[i]), bound + allowed<T>(e, unit_roundoff<float>(), g.relu), i);
  }
  CHECK(vs_exact.worst <= 1.0);
  CHECK(vs_ref.worst <= 1.0);

  const int r0 = g.out_h / 3, r1 = g.out_h - g.out_h / 4;
  const std::vector<T> part = rows(K{}, r0, r1);
  std::vector<bool> written(part.size(), false);
  std::fill(written.begin() + std::ptrdiff_t(std::size_t(r0) * g.row_outputs()),
            written.begin() + std::ptrdiff_t(std::size_t(r1) * g.row_outputs()), true);
  bool same = true;
  for (std::size_t i = 0; i < part.size(); ++i) same = same && (!written[i] || same_bits(part[i], got[i]));
  CHECK(same);
  CHECK(untouched(part, written, sentinel<T>()));

  std::vector<T> split(got.size(), sentinel<T>());
  const auto rc = cuts(std::size_t(g.out_h), 3, std::size_t(g.out_h * 7 + g.out_w));
  for (std::size_t a = 0; a + 1 < rc.size(); ++a) run(K{}, split, int(rc[a]), int(rc[a + 1]));
  CHECK(bitwise_equal(split, got));
}

template <class K>
void check_depthwise(int channels, int h, int w, int stride, bool relu, std::uint64_t seed) {
  using T = typename K::Element;
  CAPTURE(channels);
  CAPTURE(h);
  CAPTURE(w);
  CAPTURE(stride);
  const RowGeometry g(h, w, stride, channels, relu);
  const std::size_t ch = std::size_t(channels);
  std::vector<float> values;
  const std::vector<T> input = random_input<T>(std::size_t(h) * std::size_t(w) * ch, seed, values);
  const std::vector<float> c133 = random_floats(ch * 9, seed + 1), bias = random_floats(ch, seed + 2, -0.5f, 0.5f);
  std::vector<float> packed(ch * 9);
  k::pack_dwconv3x3_weights(c133.data(), channels, packed.data());
  const std::vector<Exact> exact = exact_conv(g, bias, [&](Exact& e, int iy, int ix, int ky, int kx, int c) {
    e.add(values[(std::size_t(iy) * std::size_t(w) + std::size_t(ix)) * ch + std::size_t(c)],
          c133[std::size_t(c) * 9 + std::size_t(ky * 3 + kx)]);
  });
  const double u_acc = DepthwiseInElement<K>::value ? unit_roundoff<T>() : unit_roundoff<float>();
  check_rows<K, T>(g, exact, u_acc, [&](auto tag, std::vector<T>& out, int r0, int r1) {
    using Set = decltype(tag);
    const k::DepthwiseArgsOf<T> a{input.data(), h, w, channels, out.data(), g.out_h, g.out_w, packed.data(), bias.data(),
                                  relu};
    if (stride == 2)
      Set::template dwconv3x3<2>(a, r0, r1);
    else
      Set::template dwconv3x3<1>(a, r0, r1);
  });
}

template <class K>
void check_stem(int cin, int cout, int h, int w, int stride, bool relu, std::uint64_t seed) {
  using T = typename K::Element;
  CAPTURE(cin);
  CAPTURE(cout);
  CAPTURE(h);
  CAPTURE(w);
  CAPTURE(stride);
  const RowGeometry g(h, w, stride, cout, relu);
  const std::size_t ci = std::size_t(cin);
  // The stem's input is the float32 image (kernel_args.hpp), followed by NaNs as the others'.
  std::vector<float> input = random_floats(std::size_t(h) * std::size_t(w) * ci + kPoison, seed, -2.f, 2.f);
  std::fill(input.end() - kPoison, input.end(), std::numeric_limits<float>::quiet_NaN());
  const std::vector<float> oihw = random_floats(std::size_t(cout) * ci * 9, seed + 1),
                           bias = random_floats(std::size_t(cout), seed + 2, -0.5f, 0.5f);
  const auto packed_for = [&](k::StemLayout layout) {
    std::vector<float> packed(k::conv3x3_packed_size(layout, cout, cin));
    if (layout == k::StemLayout::taps)
      k::pack_conv3x3_weights(oihw.data(), cout, cin, packed.data());
    else
      k::pack_conv3x3_panels(oihw.data(), bias.data(), cout, cin, packed.data());
    return packed;
  };
  const std::vector<float> packed = packed_for(K::stem_layout), ref_packed = packed_for(RefOf<K>::stem_layout);
  const std::vector<Exact> exact = exact_conv(g, bias, [&](Exact& e, int iy, int ix, int ky, int kx, int c) {
    for (std::size_t i = 0; i < ci; ++i)
      e.add(input[(std::size_t(iy) * std::size_t(w) + std::size_t(ix)) * ci + i],
            oihw[((std::size_t(c) * ci + i) * 3 + std::size_t(ky)) * 3 + std::size_t(kx)]);
  });
  // float32 arithmetic in every set (kernel_args.hpp).
  check_rows<K, T>(g, exact, unit_roundoff<float>(), [&](auto tag, std::vector<T>& out, int r0, int r1) {
    using Set = decltype(tag);
    const bool panels = Set::stem_layout == k::StemLayout::panels;
    const std::vector<float>& weights = std::is_same_v<Set, K> ? packed : ref_packed;
    const float* b = panels ? weights.data() + k::pointwise_packed_size(cout, 9 * cin) : bias.data();
    const k::Conv3x3ArgsOf<T> a{input.data(), h, w, cin, out.data(), g.out_h, g.out_w, cout, weights.data(), b, relu};
    if (stride == 2)
      Set::template conv3x3<2>(a, r0, r1);
    else
      Set::template conv3x3<1>(a, r0, r1);
  });
}

// ---- Tiles ----------------------------------------------------------------------------------------------------
template <class K, class = void>
struct HasHalfGemmTiles : std::false_type {};
template <class K>
struct HasHalfGemmTiles<K, std::void_t<typename K::HalfGemmTiles>> : std::true_type {};

}  // namespace

// HALF_SET_TEST(title, id) { body }: a doctest case for every 16-bit kernel set of the registry, skipped where
// this CPU lacks it; in the body, Set is the registry entry, K its kernels, T their element type.
#define HALF_SET_TEST(title, id)                                                             \
  template <class Set, class K = typename Set::Kernels>                                      \
  void id##_body();                                                                          \
  TEST_CASE_TEMPLATE_DEFINE(title, Set, id) {                                                \
    if constexpr (Set::precision == Precision::bf16 || Set::precision == Precision::fp16) { \
      if (!Set::runs_here()) return;                                                         \
      const std::string set_name = Set::name();                                              \
      CAPTURE(set_name);                                                                     \
      id##_body<Set>();                                                                      \
    }                                                                                        \
  }                                                                                          \
  TEST_CASE_TEMPLATE_APPLY(id, KernelSets);                                                  \
  template <class Set, class K>                                                              \
  void id##_body()

HALF_SET_TEST("16-bit pwconv1x1: remainders, odd K, the float32 diagonal, sub-ranges, splits", half_pointwise_test) {
  std::uint64_t seed = 1;
  const auto check = [&](std::size_t pixels, int cin, int cout, bool diagonal) {  // ReLU on every other shape
    check_pointwise<K>(pixels, cin, cout, (seed & 1) != 0, diagonal, seed);
    ++seed;
  };
  const int cins[] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65};
  const int couts[] = {1, 15, 16, 17, 33, 63, 64, 65};
  for (std::size_t pixels : {7, 49})
    for (int cin : cins)
      for (int cout : couts) check(pixels, cin, cout, false);
  for (std::size_t pixels = 1; pixels <= 13; ++pixels)
    for (const auto& [cin, cout] : {std::pair{2, 16}, {17, 33}, {33, 64}, {64, 65}, {65, 17}}) check(pixels, cin, cout, false);
  // Square layers with their diagonal (and one without, as a layer packed without it would be).
  for (std::size_t pixels : {1, 5, 13, 49})
    for (int c : {1, 15, 16, 17, 31, 33, 48, 64, 65}) check(pixels, c, c, true);
  check(13, 48, 48, false);
  // Long pixel ranges (several pixel blocks and row tiles) and wide layers.
  check(1500, 100, 33, false);
  check(98, 256, 200, false);
  check(3, 701, 48, false);
  check(50, 128, 128, true);
}

// The edges of the set's own tiling (HalfGemmTiles): rows per tile and output channels per tile +-1, odd and
// even K, and pixel counts around a pixel block.
HALF_SET_TEST("16-bit pwconv1x1: the tiling's own edges (tile rows, tile width, pixel block +-1)", half_tile_edges_test) {
  if constexpr (HasHalfGemmTiles<K>::value) {
    using Tiles = typename K::HalfGemmTiles;
    using T = typename K::Element;
    const int mr = Tiles::kRows, nr = Tiles::kPanels * k::kPanelWidth;
    std::uint64_t seed = 900;
    for (int pixels : {mr - 1, mr, mr + 1, 2 * mr + 1})
      for (int cout : {nr - 1, nr, nr + 1, 2 * nr + 1})
        for (int cin : {1, 2, 5, 67})
          if (pixels > 0) check_pointwise<K>(std::size_t(pixels), cin, cout, (cin & 1) != 0, false, seed++);
    const int cin = 67;
    const std::size_t block = std::max<std::size_t>(
        Tiles::kMinBlockRows, Tiles::kBlockBytes / (std::size_t(cin) * sizeof(T)) / std::size_t(mr) * std::size_t(mr));
    for (std::size_t pixels : {block, block + 1}) check_pointwise<K>(pixels, cin, nr + 1, true, false, seed++);
  }
}

HALF_SET_TEST("16-bit dwconv3x3: stride 1 and 2, channel remainders, odd and tiny sides, splits", half_depthwise_test) {
  std::uint64_t seed = 100;
  for (int stride : {1, 2})
    for (int channels : {1, 15, 16, 17, 31, 32, 33, 48, 64, 65})
      for (int h : {1, 2, 3, 5, 7})
        for (int w : {1, 2, 3, 5, 7}) check_depthwise<K>(channels, h, w, stride, ((h + w) & 1) != 0, seed++);
  for (int stride : {1, 2}) {
    check_depthwise<K>(256, 14, 14, stride, true, seed++);  // a real layer's shape
    check_depthwise<K>(48, 28, 17, stride, false, seed++);
    check_depthwise<K>(512, 7, 9, stride, true, seed++);   // 2 KB float pixels: their own blocking
    check_depthwise<K>(1024, 5, 4, stride, true, seed++);  // 2 KB 16-bit pixels
  }
}

HALF_SET_TEST("16-bit conv3x3 (stem): 3 input channels, stride 2 and 1, odd sizes, every out remainder", half_stem_test) {
  std::uint64_t seed = 200;
  for (int stride : {1, 2})
    for (int cout : {1, 15, 16, 17, 33, 48, 64, 65})
      for (int h : {1, 2, 5, 13})
        for (int w : {1, 2, 5, 15}) check_stem<K>(3, cout, h, w, stride, ((h + w) & 1) != 0, seed++);
  for (const auto& shape : {std::array{3, 48, 40, 67}, {3, 64, 33, 80}, {1, 17, 9, 9}, {4, 33, 8, 11}})
    check_stem<K>(shape[0], shape[1], shape[2], shape[3], 2, true, seed++);
}

HALF_SET_TEST("16-bit channel_mean: channel remainders, sub-ranges, splits", half_mean_test) {
  using T = typename K::Element;
  std::uint64_t seed = 300;
  for (std::size_t pixels : {1, 7, 49, 196})
    for (int channels : {1, 15, 16, 17, 31, 33, 63, 64, 65, 1024}) {
      CAPTURE(pixels);
      CAPTURE(channels);
      std::vector<float> values;
      const std::vector<T> input = random_input<T>(pixels * std::size_t(channels), seed++, values, -1.f, 3.f);
      const auto mean = [&](auto tag, int c0, int c1, std::vector<float>& out) {
        decltype(tag)::channel_mean({input.data(), pixels, channels, out.data()}, c0, c1);
      };
      std::vector<float> got(std::size_t(channels), -12345.f), ref = got, part = got, split = got;
      mean(K{}, 0, channels, got);
      mean(RefOf<K>{}, 0, channels, ref);
      Comparison vs_exact, vs_ref;
      for (int c = 0; c < channels; ++c) {
        Exact e;
        for (std::size_t p = 0; p < pixels; ++p) e.add(values[p * std::size_t(channels) + std::size_t(c)], 1.0 / double(pixels));
        const double bound = allowed<float>(e, unit_roundoff<float>(), false);  // float32 sums and output
        vs_exact.check(got[std::size_t(c)], e.value, bound, std::size_t(c));
        vs_ref.check(got[std::size_t(c)], ref[std::size_t(c)], 2 * bound, std::size_t(c));
      }
      CHECK(vs_exact.worst <= 1.0);
      CHECK(vs_ref.worst <= 1.0);
      const int c0 = channels / 3, c1 = channels - channels / 5;
      mean(K{}, c0, c1, part);
      bool only_range = true;
      for (int c = 0; c < channels; ++c) {
        const float want = c >= c0 && c < c1 ? got[std::size_t(c)] : -12345.f;
        only_range = only_range && std::memcmp(&part[std::size_t(c)], &want, sizeof(float)) == 0;
      }
      CHECK(only_range);
      const auto cc = cuts(std::size_t(channels), 3, seed);
      for (std::size_t a = 0; a + 1 < cc.size(); ++a) mean(K{}, int(cc[a]), int(cc[a + 1]), split);
      CHECK(bitwise_equal(split, got));
    }
}

HALF_SET_TEST("16-bit squeeze-excite: the gate, and the scale bitwise the reference's, with and without ReLU", half_se_test) {
  using T = typename K::Element;
  std::uint64_t seed = 400;
  for (int channels : {1, 15, 16, 17, 33, 64, 65})
    for (int hidden : {1, 3, 17}) {
      CAPTURE(channels);
      CAPTURE(hidden);
      const std::size_t c_n = std::size_t(channels), h_n = std::size_t(hidden);
      const std::vector<float> mean = random_floats(c_n, seed, -1.f, 2.f), rw = random_floats(h_n * c_n, seed + 1),
                               rb = random_floats(h_n, seed + 2), ew = random_floats(c_n * h_n, seed + 3),
                               eb = random_floats(c_n, seed + 4);
      seed += 5;
      std::vector<float> scratch(h_n), gate(c_n, -12345.f);
      K::se_gate({mean.data(), channels, hidden, rw.data(), rb.data(), ew.data(), eb.data(), scratch.data(), gate.data()});
      // Exact gate; the expand layer carries the hidden layer's bound; sigmoid' <= 1/4, plus a few ulps for
      // exp and the division (test_kernels.cpp's float32 check, the same float32 gate in every precision).
      Comparison cmp;
      std::vector<Exact> hid(h_n);
      for (std::size_t h = 0; h < h_n; ++h) {
        hid[h] = start(rb[h]);
        for (std::size_t c = 0; c < c_n; ++c) hid[h].add(rw[h * c_n + c], mean[c]);
      }
      for (std::size_t c = 0; c < c_n; ++c) {
        Exact z = start(eb[c]);
        double carried = 0.0;
        for (std::size_t h = 0; h < h_n; ++h) {
          z.add(ew[c * h_n + h], std::max(hid[h].value, 0.0));
          carried += std::fabs(ew[c * h_n + h]) * allowed<float>(hid[h], unit_roundoff<float>(), true);
        }
        cmp.check(gate[c], 1.0 / (1.0 + std::exp(-z.value)),
                  0.25 * (allowed<float>(z, unit_roundoff<float>(), false) + carried) + 4e-7, c);
      }
      CHECK(cmp.worst <= 1.0);
    }
  for (int channels : {1, 15, 16, 17, 31, 33, 64, 65})
    for (bool relu : {false, true}) {
      CAPTURE(channels);
      CAPTURE(relu);
      const std::size_t pixels = 23, c_n = std::size_t(channels);
      std::vector<float> values;
      std::vector<T> data = random_input<T>(pixels * c_n, seed, values);
      data.resize(pixels * c_n);  // scaled in place: no poison needed past it
      const std::vector<float> gate = random_floats(c_n, seed + 1, 0.f, 1.f);
      seed += 2;
      std::vector<T> got = data, ref = data, part = data, split = data;
      K::scale_channels({got.data(), channels, gate.data(), relu}, 0, pixels);
      RefOf<K>::scale_channels({ref.data(), channels, gate.data(), relu}, 0, pixels);
      CHECK(bitwise_equal(got, ref));
      K::scale_channels({part.data(), channels, gate.data(), relu}, 5, 17);
      bool only_range = true;
      for (std::size_t i = 0; i < part.size(); ++i) {
        const bool inside = i >= 5 * c_n && i < 17 * c_n;
        only_range = only_range && same_bits(part[i], inside ? got[i] : data[i]);
      }
      CHECK(only_range);
      const auto pc = cuts(pixels, 4, seed);
      for (std::size_t a = 0; a + 1 < pc.size(); ++a)
        K::scale_channels({split.data(), channels, gate.data(), relu}, pc[a], pc[a + 1]);
      CHECK(bitwise_equal(split, got));
    }
}

HALF_SET_TEST("16-bit linear: weights of T, odd in_features, output sub-ranges, splits", half_linear_test) {
  using T = typename K::Element;
  std::uint64_t seed = 500;
  for (int in : {1, 3, 15, 16, 17, 31, 33, 63, 64, 65, 1023})
    for (int out : {1, 3, 4, 5, 7, 17}) {
      CAPTURE(in);
      CAPTURE(out);
      const std::size_t in_n = std::size_t(in), out_n = std::size_t(out);
      // The input is float32 (the channel means); poison after it, and after the weights.
      std::vector<float> x = random_floats(in_n + kPoison, seed, 0.f, 2.f), weight_values;
      std::fill(x.end() - kPoison, x.end(), std::numeric_limits<float>::quiet_NaN());
      const std::vector<T> w = random_input<T>(out_n * in_n, seed + 1, weight_values);
      const std::vector<float> b = random_floats(out_n, seed + 2);
      seed += 3;
      const auto linear = [&](auto tag, int o0, int o1, std::vector<float>& y) {
        decltype(tag)::linear({x.data(), in, y.data(), out, w.data(), b.data()}, o0, o1);
      };
      std::vector<float> got(out_n, -12345.f), ref = got, part = got, split = got;
      linear(K{}, 0, out, got);
      linear(RefOf<K>{}, 0, out, ref);
      Comparison vs_exact, vs_ref;
      for (std::size_t o = 0; o < out_n; ++o) {
        Exact e = start(b[o]);
        for (std::size_t i = 0; i < in_n; ++i) e.add(weight_values[o * in_n + i], x[i]);
        const double bound = allowed<float>(e, unit_roundoff<float>(), false);
        vs_exact.check(got[o], e.value, bound, o);
        vs_ref.check(got[o], ref[o], 2 * bound, o);
      }
      CHECK(vs_exact.worst <= 1.0);
      CHECK(vs_ref.worst <= 1.0);
      const int o0 = out / 3, o1 = out - out / 4;
      linear(K{}, o0, o1, part);
      bool only_range = true;
      for (int o = 0; o < out; ++o) {
        const float want = o >= o0 && o < o1 ? got[std::size_t(o)] : -12345.f;
        only_range = only_range && std::memcmp(&part[std::size_t(o)], &want, sizeof(float)) == 0;
      }
      CHECK(only_range);
      const auto oc = cuts(out_n, 3, seed);
      for (std::size_t a = 0; a + 1 < oc.size(); ++a) linear(K{}, int(oc[a]), int(oc[a + 1]), split);
      CHECK(bitwise_equal(split, got));
    }
}
