// bench/statistics.hpp: ranks, Spearman's rho with exact and t-approximated p-values, the incomplete beta
// function behind the t p-value, median and minimum. Expected values come from published examples, closed
// forms, Student t tables, or counts derived by hand (and re-counted here by a brute force written
// differently from the implementation).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "statistics.hpp"

using mobileone::bench::Correlation;

namespace {

const double kPi = std::acos(-1.0);

std::vector<double> one_to(int n) {
  std::vector<double> v(std::size_t(n), 0.0);
  std::iota(v.begin(), v.end(), 1.0);
  return v;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = double(a.size());
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sa += a[i];
    sb += b[i];
    saa += a[i] * a[i];
    sbb += b[i] * b[i];
    sab += a[i] * b[i];
  }
  return (sab - sa * sb / n) / std::sqrt((saa - sa * sa / n) * (sbb - sb * sb / n));
}

// Exact two-sided p of rho for n distinct values: the share of permutations of 1..n whose rho, from the
// no-ties formula 1 - 6 sum(d^2) / (n (n^2 - 1)), is at least |rho| in absolute value.
double exact_p_without_ties(int n, double rho) {
  std::vector<int> permutation(std::size_t(n), 0);
  std::iota(permutation.begin(), permutation.end(), 1);
  int extreme = 0, total = 0;
  do {
    int sum_d_squared = 0;
    for (int i = 0; i < n; ++i) {
      const int d = permutation[std::size_t(i)] - (i + 1);
      sum_d_squared += d * d;
    }
    const double permuted_rho = 1 - 6.0 * sum_d_squared / (n * (n * n - 1.0));
    ++total;
    if (std::fabs(permuted_rho) >= std::fabs(rho) - 1e-9) ++extreme;
  } while (std::next_permutation(permutation.begin(), permutation.end()));
  return double(extreme) / total;
}

}  // namespace

TEST_CASE("ranks are 1-based and average ties") {
  using mobileone::bench::ranks;
  CHECK(ranks({10, 20, 20, 30}) == std::vector<double>{1, 2.5, 2.5, 4});
  CHECK(ranks({5, 1, 5, 0, 5}) == std::vector<double>{4, 2, 4, 1, 4});
  CHECK(ranks({3, 3, 3}) == std::vector<double>{2, 2, 2});
  CHECK(ranks({-1e300, 7, -INFINITY, INFINITY}) == std::vector<double>{2, 3, 1, 4});
  CHECK(ranks({}).empty());
  CHECK_THROWS_AS(ranks({1, NAN, 2}), std::invalid_argument);
}

TEST_CASE("incomplete beta against closed forms") {
  using mobileone::bench::regularized_incomplete_beta;
  for (double x : {1e-6, 0.01, 0.2, 0.5, 0.73, 0.99, 1 - 1e-9}) {
    CAPTURE(x);
    for (double a : {0.5, 1.0, 2.5, 7.0, 40.0}) {
      CAPTURE(a);
      CHECK(regularized_incomplete_beta(x, a, 1) == doctest::Approx(std::pow(x, a)).epsilon(1e-12));
      CHECK(regularized_incomplete_beta(x, 1, a) == doctest::Approx(1 - std::pow(1 - x, a)).epsilon(1e-12));
      CHECK(regularized_incomplete_beta(x, a, 3.5) + regularized_incomplete_beta(1 - x, 3.5, a) ==
            doctest::Approx(1).epsilon(1e-12));
    }
    // I_x(1/2, 1/2) = (2 / pi) asin(sqrt(x)): the arcsine distribution.
    CHECK(regularized_incomplete_beta(x, 0.5, 0.5) == doctest::Approx(2 / kPi * std::asin(std::sqrt(x))).epsilon(1e-12));
  }
  for (double a : {0.5, 3.0, 250.0}) CHECK(regularized_incomplete_beta(0.5, a, a) == doctest::Approx(0.5).epsilon(1e-12));
  CHECK(regularized_incomplete_beta(0, 2, 3) == 0);
  CHECK(regularized_incomplete_beta(1, 2, 3) == 1);
  CHECK_THROWS_AS(regularized_incomplete_beta(-0.1, 2, 3), std::invalid_argument);
  CHECK_THROWS_AS(regularized_incomplete_beta(1.1, 2, 3), std::invalid_argument);
  CHECK_THROWS_AS(regularized_incomplete_beta(NAN, 2, 3), std::invalid_argument);
  CHECK_THROWS_AS(regularized_incomplete_beta(0.5, 0, 3), std::invalid_argument);
}

TEST_CASE("Student t two-sided p-values") {
  using mobileone::bench::student_t_two_sided_p;
  // Tabulated 97.5% quantiles: t(10) = 2.228, t(20) = 2.086, t(5) = 2.571; 99.5%: t(10) = 3.169.
  CHECK(student_t_two_sided_p(2.228, 10) == doctest::Approx(0.05).epsilon(0.002));
  CHECK(student_t_two_sided_p(-2.086, 20) == doctest::Approx(0.05).epsilon(0.002));
  CHECK(student_t_two_sided_p(2.571, 5) == doctest::Approx(0.05).epsilon(0.002));
  CHECK(student_t_two_sided_p(3.169, 10) == doctest::Approx(0.01).epsilon(0.002));
  // Closed forms: df 1 is the Cauchy distribution, P(|T| >= t) = 1 - (2 / pi) atan(t); df 2 has
  // P(|T| >= t) = 1 - t / sqrt(2 + t^2).
  for (double t : {0.0, 0.3, 1.0, 4.0, 60.0}) {
    CAPTURE(t);
    CHECK(student_t_two_sided_p(t, 1) == doctest::Approx(1 - 2 / kPi * std::atan(t)).epsilon(1e-12));
    CHECK(student_t_two_sided_p(t, 2) == doctest::Approx(1 - t / std::sqrt(2 + t * t)).epsilon(1e-12));
  }
  CHECK(student_t_two_sided_p(INFINITY, 8) == 0);
  CHECK(student_t_two_sided_p(-INFINITY, 8) == 0);
  CHECK_THROWS_AS(student_t_two_sided_p(NAN, 8), std::invalid_argument);
  CHECK_THROWS_AS(student_t_two_sided_p(1, 0), std::invalid_argument);
}

TEST_CASE("Spearman: the IQ / hours of TV textbook example, t approximation") {
  // Ten people's IQ and weekly hours of TV (the example in Wikipedia's "Spearman's rank correlation
  // coefficient" article): sum d^2 = 194, rho = 1 - 6 * 194 / 990 = -29/165, p = 0.627188 from the t test.
  const std::vector<double> iq = {106, 100, 86, 101, 99, 103, 97, 113, 112, 110};
  const std::vector<double> tv = {7, 27, 2, 50, 28, 29, 20, 12, 6, 17};
  const Correlation c = mobileone::bench::spearman(iq, tv);
  CHECK(c.rho == doctest::Approx(-29.0 / 165).epsilon(1e-12));
  CHECK(c.p_value == doctest::Approx(0.627188).epsilon(1e-5));
  CHECK(c.n == 10);
  CHECK(std::string(c.method) == "t");
  // Symmetric in its arguments, and negating one side flips the sign only.
  CHECK(mobileone::bench::spearman(tv, iq).rho == doctest::Approx(c.rho).epsilon(1e-12));
  std::vector<double> negated_tv = tv;
  for (double& v : negated_tv) v = -v;
  const Correlation flipped = mobileone::bench::spearman(iq, negated_tv);
  CHECK(flipped.rho == doctest::Approx(-c.rho).epsilon(1e-12));
  CHECK(flipped.p_value == doctest::Approx(c.p_value).epsilon(1e-12));
}

TEST_CASE("Spearman: monotone data give +-1 whatever the transform") {
  for (int n : {3, 5, 6, 9, 10, 40}) {
    CAPTURE(n);
    const std::vector<double> x = one_to(n);
    std::vector<double> increasing, decreasing;
    for (double v : x) {
      increasing.push_back(std::exp(v) + v * v * v);
      decreasing.push_back(-std::log(v) - 1e6 * v);
    }
    const Correlation up = mobileone::bench::spearman(x, increasing);
    const Correlation down = mobileone::bench::spearman(x, decreasing);
    CHECK(up.rho == 1);
    CHECK(down.rho == -1);
    if (n <= 9) {
      // Exactly two of the n! pairings reach |rho| = 1: the identity and the reversal.
      double factorial = 1;
      for (int k = 2; k <= n; ++k) factorial *= k;
      CHECK(std::string(up.method) == "exact");
      CHECK(up.p_value == doctest::Approx(2 / factorial).epsilon(1e-12));
      CHECK(down.p_value == doctest::Approx(2 / factorial).epsilon(1e-12));
    } else {
      CHECK(std::string(up.method) == "t");
      CHECK(up.p_value == 0);
      CHECK(down.p_value == 0);
    }
  }
  // n = 5, the five networks S0..S4: 2 / 120.
  CHECK(mobileone::bench::spearman({275, 825, 1298, 1896, 2979}, {1.1, 2.0, 2.9, 3.3, 5.6}).p_value ==
        doctest::Approx(0.016667).epsilon(1e-4));
}

TEST_CASE("Spearman: exact p-values for n = 5 match a brute force over sum(d^2)") {
  // y swaps the last two: sum d^2 = 2, rho = 1 - 12/120 = 0.9. |rho| >= 0.9 needs sum d^2 <= 2 (the identity
  // and the 4 adjacent swaps) or >= 38 (their reversals): 10 of 120 permutations.
  const Correlation c = mobileone::bench::spearman(one_to(5), {1, 2, 3, 5, 4});
  CHECK(c.rho == doctest::Approx(0.9).epsilon(1e-12));
  CHECK(c.p_value == doctest::Approx(10.0 / 120).epsilon(1e-12));
  CHECK(c.p_value == doctest::Approx(exact_p_without_ties(5, 0.9)).epsilon(1e-12));
  CHECK(std::string(c.method) == "exact");

  // Every ordering of 5 and of 7 values: rho and p as the no-ties formula and the brute force give them.
  for (int n : {5, 7}) {
    std::vector<double> y = one_to(n);
    int checked = 0;
    do {
      if (++checked % (n == 5 ? 1 : 97) != 0) continue;  // all 120 for n = 5, a sample of the 5040 for n = 7
      double sum_d_squared = 0;
      for (int i = 0; i < n; ++i) sum_d_squared += (y[std::size_t(i)] - (i + 1)) * (y[std::size_t(i)] - (i + 1));
      const double rho = 1 - 6 * sum_d_squared / (n * (n * n - 1.0));
      CAPTURE(n);
      CAPTURE(rho);
      const Correlation permuted = mobileone::bench::spearman(one_to(n), y);
      CHECK(permuted.rho == doctest::Approx(rho).epsilon(1e-12));
      CHECK(permuted.p_value == doctest::Approx(exact_p_without_ties(n, rho)).epsilon(1e-12));
    } while (std::next_permutation(y.begin(), y.end()));
  }
}

TEST_CASE("Spearman with ties: Pearson of the average ranks, exact p conditional on the ties") {
  const std::vector<double> x = {1, 2, 2, 3, 4, 4, 5, 6, 6, 6, 7, 8};
  const std::vector<double> y = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8};
  const std::vector<double> x_ranks = {1, 2.5, 2.5, 4, 5.5, 5.5, 7, 9, 9, 9, 11, 12};  // by hand
  const std::vector<double> y_ranks = {4.5, 1.5, 6, 1.5, 8, 12, 3, 10, 8, 4.5, 8, 11};
  const Correlation c = mobileone::bench::spearman(x, y);
  CHECK(c.rho == doctest::Approx(pearson(x_ranks, y_ranks)).epsilon(1e-12));
  const double t = c.rho * std::sqrt(10 / (1 - c.rho * c.rho));
  CHECK(c.p_value == doctest::Approx(mobileone::bench::student_t_two_sided_p(t, 10)).epsilon(1e-12));

  // x = 1..4, y = {1, 1, 2, 2}: y ranks {1.5, 1.5, 3.5, 3.5}, rho = 4 / sqrt(5 * 4). A pairing is fixed by the
  // two positions that get the high y (each choice 4 times among 24); of the 6 choices, {3,4} and {1,2}
  // reach |rho| = 0.894: p = 8 / 24.
  const Correlation tied = mobileone::bench::spearman({1, 2, 3, 4}, {1, 1, 2, 2});
  CHECK(tied.rho == doctest::Approx(4 / std::sqrt(20.0)).epsilon(1e-12));
  CHECK(tied.p_value == doctest::Approx(1.0 / 3).epsilon(1e-12));
}

TEST_CASE("Spearman: undefined and invalid input") {
  const Correlation constant = mobileone::bench::spearman({1, 2, 3, 4}, {7, 7, 7, 7});
  CHECK(std::isnan(constant.rho));
  CHECK(std::isnan(constant.p_value));
  CHECK(constant.n == 4);
  CHECK(std::isnan(mobileone::bench::spearman(std::vector<double>(12, 1.0), one_to(12)).rho));

  CHECK_THROWS_WITH_AS(mobileone::bench::spearman({1, 2}, {3, 4}), "spearman: needs at least 3 pairs, got 2",
                       std::invalid_argument);
  CHECK_THROWS_AS(mobileone::bench::spearman({}, {}), std::invalid_argument);
  CHECK_THROWS_WITH_AS(mobileone::bench::spearman({1, 2, 3}, {1, 2, 3, 4}),
                       "spearman: x and y have different sizes (3 and 4)", std::invalid_argument);
  CHECK_THROWS_AS(mobileone::bench::spearman({1, 2, NAN}, {1, 2, 3}), std::invalid_argument);
}

TEST_CASE("median and minimum") {
  using mobileone::bench::median;
  using mobileone::bench::minimum;
  CHECK(median({3, 1, 2}) == 2);
  CHECK(median({4, 1, 3, 2}) == 2.5);
  CHECK(median({5}) == 5);
  CHECK(median({2, 2, 9, 1, 2, 100}) == 2);
  CHECK(median({-1, 1}) == 0);
  CHECK(minimum({3, 1, 2}) == 1);
  CHECK(minimum({-INFINITY, 0}) == -INFINITY);
  CHECK_THROWS_AS(median({}), std::invalid_argument);
  CHECK_THROWS_AS(minimum({}), std::invalid_argument);
  CHECK_THROWS_AS(median({1, NAN}), std::invalid_argument);
  CHECK_THROWS_AS(minimum({NAN, 1}), std::invalid_argument);
}
