// Small statistics for the benchmarks: median and minimum of repeated timings, and Spearman's rank
// correlation with its two-sided p-value (the paper's Table 1 correlates latency with MACs and parameters).
// Header-only and dependency-free.
//
// p-values: with n <= 9 observations the exact permutation distribution is enumerated (at most 9! = 362880
// permutations, a few milliseconds), because the Student t approximation is poor for tiny n such as the
// five networks S0..S4; above that the t approximation is used, as common statistics packages do.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace mobileone::bench {

namespace statistics_detail {

inline void reject_nan(const std::vector<double>& values, const char* function) {
  for (double v : values)
    if (std::isnan(v)) throw std::invalid_argument(std::string(function) + ": input contains NaN");
}

// Sum over i of (a[i] - mean_a) * (b[permutation[i]] - mean_b), with both vectors already centred.
inline double centred_cross_product(const std::vector<double>& a, const std::vector<double>& b,
                                    const std::vector<std::size_t>& permutation) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[permutation[i]];
  return sum;
}

inline std::vector<double> centred(const std::vector<double>& values) {
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
  std::vector<double> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = values[i] - mean;
  return out;
}

inline double sum_of_squares(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v * v;
  return sum;
}

}  // namespace statistics_detail

// Ranks 1..n of the values, ties getting the average of the ranks they span ({10, 20, 20, 30} -> {1, 2.5,
// 2.5, 4}). Throws std::invalid_argument on NaN, which has no place in an order.
inline std::vector<double> ranks(const std::vector<double>& values) {
  statistics_detail::reject_nan(values, "ranks");
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> result(values.size());
  for (std::size_t first = 0; first < order.size();) {
    std::size_t last = first;  // one past the run of values equal to values[order[first]]
    while (last < order.size() && values[order[last]] == values[order[first]]) ++last;
    const double average_rank = double(first + 1 + last) / 2;  // mean of the 1-based ranks first+1..last
    for (std::size_t k = first; k < last; ++k) result[order[k]] = average_rank;
    first = last;
  }
  return result;
}

// Regularized incomplete beta function I_x(a, b), for 0 <= x <= 1 and a, b > 0, from its continued fraction
// (DLMF 8.17.22) evaluated with the modified Lentz method. The fraction converges quickly for
// x < (a + 1) / (a + b + 2); above that the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) brings x into that range.
inline double regularized_incomplete_beta(double x, double a, double b) {
  if (!(x >= 0 && x <= 1) || !(a > 0) || !(b > 0))
    throw std::invalid_argument("regularized_incomplete_beta: needs 0 <= x <= 1 and a, b > 0");
  if (x == 0) return 0;
  if (x == 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - regularized_incomplete_beta(1 - x, b, a);

  // x^a (1-x)^b / (a B(a, b)), in logarithms so that large a, b do not overflow.
  const double log_beta = std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
  const double prefactor = std::exp(a * std::log(x) + b * std::log1p(-x) - log_beta) / a;

  // I = prefactor / (1 + d1 / (1 + d2 / (1 + ...))) with
  //   d(2m+1) = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)),   d(2m) = m(b-m) x / ((a+2m-1)(a+2m)).
  // Lentz evaluates the denominator front to back as a product of ratios of successive convergents.
  constexpr double tiny = 1e-300;  // stands in for a zero partial denominator, as Lentz's method prescribes
  constexpr double tolerance = 1e-15;
  constexpr int max_terms = 10000;  // converges in O(sqrt(max(a, b))) terms in the range used here
  double fraction = 1, c = 1, d = 0;
  for (int j = 1; j <= max_terms; ++j) {
    const int m = j / 2;
    const double numerator = (j % 2 == 1) ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                                          : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 + numerator * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + numerator / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double ratio = c * d;
    fraction *= ratio;
    if (std::fabs(ratio - 1) < tolerance) break;
  }
  return prefactor / fraction;
}

// Two-sided p-value P(|T| >= |t|) of Student's t distribution with the given degrees of freedom (> 0):
// I_{df/(df+t^2)}(df/2, 1/2). An infinite t gives 0.
inline double student_t_two_sided_p(double t, double degrees_of_freedom) {
  if (std::isnan(t) || !(degrees_of_freedom > 0))
    throw std::invalid_argument("student_t_two_sided_p: needs a t that is not NaN and degrees of freedom > 0");
  if (std::isinf(t)) return 0;
  return regularized_incomplete_beta(degrees_of_freedom / (degrees_of_freedom + t * t), degrees_of_freedom / 2, 0.5);
}

struct Correlation {
  double rho;          // in [-1, 1]; NaN if either input is constant
  double p_value;      // two-sided, H0: no monotone association; NaN if rho is
  std::size_t n;       // number of pairs
  const char* method;  // "exact" (permutation distribution, n <= 9) or "t" (Student t approximation)
};

// Largest n for which spearman() enumerates the exact permutation distribution.
inline constexpr std::size_t kSpearmanExactMaxN = 9;

// Spearman's rank correlation of paired observations: the Pearson correlation of their average ranks, which
// is correct with ties (the textbook 1 - 6 sum(d^2) / (n (n^2 - 1)) is not). The p-value is two-sided:
//   n <= 9: exact, the fraction of all n! pairings of the y ranks with the x ranks whose |rho| is at least the
//           observed |rho| (1e-12 slack so that equal values count despite rounding); conditional on the ties;
//   n > 9:  t = rho sqrt((n-2) / (1-rho^2)) with n-2 degrees of freedom (rho = +-1 gives t infinite, p = 0).
// Throws std::invalid_argument if the sizes differ, n < 3 or an input contains NaN. If x or y is constant
// the correlation is undefined: rho and p_value are NaN (method still says which test n selects).
inline Correlation spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size())
    throw std::invalid_argument("spearman: x and y have different sizes (" + std::to_string(x.size()) + " and " +
                                std::to_string(y.size()) + ")");
  const std::size_t n = x.size();
  if (n < 3) throw std::invalid_argument("spearman: needs at least 3 pairs, got " + std::to_string(n));
  Correlation result{std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN(), n,
                     n <= kSpearmanExactMaxN ? "exact" : "t"};

  const std::vector<double> rank_x = statistics_detail::centred(ranks(x));
  const std::vector<double> rank_y = statistics_detail::centred(ranks(y));
  // Permuting y leaves both sums of squares unchanged, so every permuted rho shares this denominator.
  const double denominator =
      std::sqrt(statistics_detail::sum_of_squares(rank_x) * statistics_detail::sum_of_squares(rank_y));
  if (!(denominator > 0)) return result;

  std::vector<std::size_t> permutation(n);
  std::iota(permutation.begin(), permutation.end(), std::size_t(0));
  const auto rho_of = [&](const std::vector<std::size_t>& p) {
    return std::clamp(statistics_detail::centred_cross_product(rank_x, rank_y, p) / denominator, -1.0, 1.0);
  };
  result.rho = rho_of(permutation);

  if (n <= kSpearmanExactMaxN) {
    const double threshold = std::fabs(result.rho) - 1e-12;
    std::size_t at_least_as_extreme = 0, total = 0;
    do {  // the identity permutation, where the loop starts, is the observed pairing
      ++total;
      if (std::fabs(rho_of(permutation)) >= threshold) ++at_least_as_extreme;
    } while (std::next_permutation(permutation.begin(), permutation.end()));
    result.p_value = double(at_least_as_extreme) / double(total);
  } else {
    const double degrees_of_freedom = double(n - 2);
    const double one_minus_rho_squared = 1 - result.rho * result.rho;
    const double t = one_minus_rho_squared > 0
                         ? result.rho * std::sqrt(degrees_of_freedom / one_minus_rho_squared)
                         : std::copysign(std::numeric_limits<double>::infinity(), result.rho);
    result.p_value = student_t_two_sided_p(t, degrees_of_freedom);
  }
  return result;
}

// Median of the values (the mean of the two middle ones for an even count). Throws std::invalid_argument if
// empty or if a value is NaN.
inline double median(std::vector<double> values) {
  if (values.empty()) throw std::invalid_argument("median: no values");
  statistics_detail::reject_nan(values, "median");
  const std::size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + std::ptrdiff_t(middle), values.end());
  const double upper = values[middle];
  if (values.size() % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + std::ptrdiff_t(middle));
  return (lower + upper) / 2;
}

// Smallest of the values. Throws std::invalid_argument if empty or if a value is NaN.
inline double minimum(const std::vector<double>& values) {
  if (values.empty()) throw std::invalid_argument("minimum: no values");
  statistics_detail::reject_nan(values, "minimum");
  return *std::min_element(values.begin(), values.end());
}

}  // namespace mobileone::bench
