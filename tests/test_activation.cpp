// The elementwise kernels (activations in place, residual add) of every kernel set this machine runs:
//   - against the scalar reference, over element ranges of every length around the vector widths, placed
//     at unaligned offsets of a larger buffer, on inputs from [-20, 20] and the extremes (+-88, +-1e4,
//     +-0), with outputs always finite, elements outside the ranges untouched and results independent of
//     how the range is split;
//   - the scalar reference against the defining formulas in double precision (GELU through std::tanh, as
//     documented, not through the sigmoid identity the kernels use), tight enough to catch a wrong
//     constant, and against a few published values.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <mobileone/dispatch.hpp>

#include "support/blob_writer.hpp"

using namespace mobileone;
namespace k = mobileone::kernels;

namespace {

constexpr k::Activation kActivations[] = {k::Activation::relu, k::Activation::gelu, k::Activation::silu,
                                          k::Activation::hard_swish};
constexpr std::size_t kCounts[] = {0, 1, 7, 8, 15, 16, 17, 63, 1000};
constexpr float kSentinel = -12345.f;

const char* activation_name(k::Activation a) {
  switch (a) {
    case k::Activation::relu: return "relu";
    case k::Activation::gelu: return "gelu";
    case k::Activation::silu: return "silu";
    case k::Activation::hard_swish: return "hard_swish";
  }
  return "?";
}


// Calls fn.template operator()<A>() for the run-time activation `a`.
template <class Fn>
void with_activation(k::Activation a, const Fn& fn) {
  switch (a) {
    case k::Activation::relu: return fn(std::integral_constant<k::Activation, k::Activation::relu>{});
    case k::Activation::gelu: return fn(std::integral_constant<k::Activation, k::Activation::gelu>{});
    case k::Activation::silu: return fn(std::integral_constant<k::Activation, k::Activation::silu>{});
    case k::Activation::hard_swish: return fn(std::integral_constant<k::Activation, k::Activation::hard_swish>{});
  }
}

float reference(k::Activation a, float x) {
  float y = 0.f;
  with_activation(a, [&](auto tag) { y = k::ref::activation<decltype(tag)::value>(x); });
  return y;
}

// The extremes first, then uniform in [-20, 20]: every range length below meets both.
std::vector<float> test_inputs(std::uint64_t seed) {
  std::vector<float> v{0.f,   -0.f,   88.f,  -88.f, 1e4f, -1e4f, 20.f,  -20.f,  3.f,    -3.f,   6.f,
                       -6.f,  1e-30f, -1e-30f, 87.5f, -87.5f, 90.f, -90.f, 1e30f, -1e30f, 0.5f,  -0.5f};
  WeightRandom random(seed);
  while (v.size() < 1100) v.push_back(random.uniform(-20.f, 20.f));
  return v;
}

bool close(float got, float want) {
  return std::isfinite(got) && std::fabs(double(got) - double(want)) <= 2e-6 * std::fabs(double(want)) + 1e-7;
}

}  // namespace

TEST_CASE("activations of every kernel set match the scalar reference on every range length") {
  const std::vector<float> inputs = test_inputs(1);
  const std::size_t n = inputs.size();
  for (Isa isa : runnable_isas())
    detail::with_f32_kernel_set(isa, [&](auto kernel_set) {
      using K = decltype(kernel_set);
      CAPTURE(isa_name(isa));
      for (k::Activation activation : kActivations) {
        CAPTURE(activation_name(activation));
        std::vector<float> whole = inputs;
        with_activation(activation, [&](auto tag) { K::template activate<decltype(tag)::value>({whole.data(), n}, 0, n); });
        for (std::size_t count : kCounts)
          for (std::size_t offset : {std::size_t(0), std::size_t(3)}) {
            CAPTURE(count);
            CAPTURE(offset);
            // Consecutive ranges [start, start + count) from `offset`: a store past a range's end would
            // corrupt the next range's input or the untouched elements after the last one.
            std::vector<float> data(n + 32, kSentinel);
            std::copy(inputs.begin(), inputs.end(), data.begin());
            const std::size_t end = count == 0 ? offset : offset + (n - offset) / count * count;
            with_activation(activation, [&](auto tag) {
              for (std::size_t start = offset; start + count <= end && count > 0; start += count)
                K::template activate<decltype(tag)::value>({data.data(), data.size()}, start, start + count);
              if (count == 0) K::template activate<decltype(tag)::value>({data.data(), data.size()}, offset, offset);
            });
            std::size_t mismatches = 0, split_differs = 0, touched = 0;
            for (std::size_t i = 0; i < data.size(); ++i) {
              const float original = i < n ? inputs[i] : kSentinel;
              if (i < offset || i >= end) {
                touched += std::memcmp(&data[i], &original, sizeof(float)) != 0;
                continue;
              }
              mismatches += !close(data[i], reference(activation, inputs[i]));
              split_differs += std::memcmp(&data[i], &whole[i], sizeof(float)) != 0;
            }
            CHECK(mismatches == 0);
            CHECK(split_differs == 0);
            CHECK(touched == 0);
          }
      }
    });
}

TEST_CASE("residual add of every kernel set, with and without ReLU, equals the reference") {
  const std::vector<float> addend = test_inputs(2), base = test_inputs(3);
  const std::size_t n = base.size();
  for (Isa isa : runnable_isas())
    detail::with_f32_kernel_set(isa, [&](auto kernel_set) {
      using K = decltype(kernel_set);
      CAPTURE(isa_name(isa));
      for (bool relu : {false, true})
        for (std::size_t count : kCounts) {
          CAPTURE(relu);
          CAPTURE(count);
          std::vector<float> data(n + 32, kSentinel);
          std::copy(base.begin(), base.end(), data.begin());
          const std::size_t begin = 5, end = begin + count;
          K::add({addend.data(), data.data(), n, relu}, begin, end);
          std::size_t wrong = 0;
          for (std::size_t i = 0; i < data.size(); ++i) {
            const float original = i < n ? base[i] : kSentinel;
            const float sum = base[i] + addend[i];
            const float want = i < begin || i >= end ? original : relu ? std::max(sum, 0.f) : sum;
            wrong += data[i] != want;
          }
          CHECK(wrong == 0);
        }
    });
}

// 0 finite, 1 +inf, 2 -inf, 3 NaN.
static int fp_class(float v) { return std::isnan(v) ? 3 : std::isinf(v) ? (v > 0 ? 1 : 2) : 0; }

TEST_CASE("non-finite inputs: every kernel set gives the reference's NaN, +inf and -inf, in vectors and tails") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> inputs;  // 37 values: whole vectors of every width, then a tail
  for (int i = 0; i < 37; ++i) {
    const float specials[] = {nan, inf, -inf, -nan, 1.5f, -2.5f, 0.f};
    inputs.push_back(specials[std::size_t(i * 5) % std::size(specials)]);
  }
  const std::size_t n = inputs.size();
  for (Isa isa : runnable_isas())
    detail::with_f32_kernel_set(isa, [&](auto kernel_set) {
      using K = decltype(kernel_set);
      using Ref = k::ref::F32Kernels;
      CAPTURE(isa_name(isa));
      for (k::Activation activation : kActivations) {
        CAPTURE(activation_name(activation));
        std::vector<float> got = inputs, want = inputs;
        with_activation(activation, [&](auto tag) {
          K::template activate<decltype(tag)::value>({got.data(), n}, 0, n);
          Ref::template activate<decltype(tag)::value>({want.data(), n}, 0, n);
        });
        std::size_t differ = 0;
        for (std::size_t i = 0; i < n; ++i) differ += fp_class(got[i]) != fp_class(want[i]);
        CHECK(differ == 0);
      }
      std::vector<float> addend(inputs.rbegin(), inputs.rend());
      for (bool relu : {false, true}) {
        CAPTURE(relu);
        std::vector<float> got = inputs, want = inputs;
        K::add({addend.data(), got.data(), n, relu}, 0, n);
        Ref::add({addend.data(), want.data(), n, relu}, 0, n);
        std::size_t differ = 0;
        for (std::size_t i = 0; i < n; ++i) differ += fp_class(got[i]) != fp_class(want[i]);
        CHECK(differ == 0);
      }
    });
  // What the reference gives (and so every ISA): ReLU keeps NaN, maps -inf to 0.
  CHECK(std::isnan(k::ref::activation<k::Activation::relu>(nan)));
  CHECK(k::ref::activation<k::Activation::relu>(-inf) == 0.f);
  CHECK(k::ref::activation<k::Activation::silu>(-inf) == -inf);
  CHECK(std::isnan(k::ref::activation<k::Activation::hard_swish>(-inf)));
}

TEST_CASE("the scalar reference follows the defining formulas") {
  const double pi = std::acos(-1.0);
  // Double-precision formulas; GELU as written in the literature, through tanh.
  auto exact = [&](k::Activation a, double x) {
    switch (a) {
      case k::Activation::relu: return std::max(x, 0.0);
      case k::Activation::gelu: return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / pi) * (x + 0.044715 * x * x * x)));
      case k::Activation::silu: return x / (1.0 + std::exp(-x));
      case k::Activation::hard_swish: return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;
    }
    return 0.0;
  };
  // The sigmoid's argument: float rounding of an argument v perturbs x * sigmoid(v) by up to |v| ulps.
  auto sigmoid_argument = [&](k::Activation a, double x) {
    if (a == k::Activation::gelu) return 2.0 * std::sqrt(2.0 / pi) * (x + 0.044715 * x * x * x);
    return a == k::Activation::silu ? x : 0.0;
  };
  const double eps = std::numeric_limits<float>::epsilon();
  std::vector<float> xs = test_inputs(4);
  for (int i = -4000; i <= 4000; ++i) xs.push_back(float(i) / 200.f);  // [-20, 20] in steps of 1/200
  for (k::Activation activation : kActivations) {
    CAPTURE(activation_name(activation));
    double worst = 0.0;  // max error / allowed
    float worst_x = 0.f;
    for (float x : xs) {
      const double want = exact(activation, double(x));
      // A few ulps times the argument's condition number (about 1e-6 at |x| ~ 1), and an absolute floor
      // below which the double tanh form itself cancels (x < -6); a wrong constant shifts O(1) values by
      // more than 1e-5.
      const double allowed = 4 * eps * (2 + std::fabs(sigmoid_argument(activation, double(x)))) * std::fabs(want) + 1e-12;
      const double error = std::fabs(double(reference(activation, x)) - want) / allowed;
      if (!(error <= worst)) worst = error, worst_x = x;  // (a NaN becomes the worst)
    }
    CAPTURE(worst_x);
    CHECK(worst <= 1.0);
  }
  // Published values at x = 1: GELU (tanh form) 0.841192, SiLU sigmoid(1) = 0.731059, Hard-Swish 4/6.
  CHECK(std::fabs(reference(k::Activation::gelu, 1.f) - 0.8411919906) < 1e-6);
  CHECK(std::fabs(reference(k::Activation::silu, 1.f) - 0.7310585786) < 1e-6);
  CHECK(std::fabs(reference(k::Activation::hard_swish, 1.f) - 0.6666666667) < 1e-6);
  // The tanh form stays within 5e-4 of the exact (erf) GELU, as kernel_args.hpp says.
  double erf_gap = 0.0;
  for (int i = -4000; i <= 4000; ++i) {
    const double x = i / 200.0;
    erf_gap = std::max(erf_gap, std::fabs(double(reference(k::Activation::gelu, float(x))) - 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)))));
  }
  CHECK(erf_gap < 5e-4);
  CHECK(erf_gap > 4e-4);  // and it is the tanh form, not the erf one
}
