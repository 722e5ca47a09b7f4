// bench_peaks: one core's peak multiply-add rate per arithmetic instruction the kernels use, measured with
// kChains independent accumulator chains (enough to hide every core's latency x issue width that the
// kernels target), so "% of peak" elsewhere has a measured denominator rather than a data-sheet one:
//
//   f32_fma__avx2 / f32_fma__avx512     vfmadd231ps ymm / zmm: 8 / 16 multiply-adds
//   bf16_dot__avx512+bf16               vdpbf16ps zmm: 32 (16 lanes x a pair of bf16 products)
//   f16_fma__avx512+fp16                vfmadd231ph zmm: 32 (Sapphire Rapids and later)
//   u8s8_dot__avx512+vnni               vpdpbusd zmm: 64 (16 lanes x 4 uint8 x int8 products)
//   f32_fma__neon / f16_fma__neon+fp16  FMLA .4s / .8h: 4 / 8
//   bf16_dot__neon+bf16 / s8_dot__neon+dotprod   BFDOT / SDOT: 8 / 16
//
// Counter GMAC: G multiply-adds per second (printed as GMAC=.../s; GFLOP/s = 2x). An instruction the CPU lacks is skipped. Pass
// the figures on as MOBILEONE_PEAK_GMACS (f32, the widest vector), MOBILEONE_PEAK_INT8_GMACS,
// MOBILEONE_PEAK_BF16_GMACS, MOBILEONE_PEAK_FP16_GMACS (bench_common.hpp).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include <mobileone/isa.hpp>

#include "google_benchmark_main.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "../kernels/simd_target.hpp"

namespace {

constexpr int kChains = 16;  // 16 registers of accumulators: 4-cycle latency x 4 issue, the widest targeted

// The body of a peak function: `iterations` rounds of kChains independent multiply-adds on vectors of V
// (`init` of chain c, `step` of accumulator a, `fold` of a into a double: plain expressions, since a lambda
// would not inherit the function's target attribute); returns a value that depends on every chain (its first lane).
#define MOBILEONE_PEAK_LOOP(V, init, step, fold)                                          \
  V acc[kChains];                                                                          \
  for (int c = 0; c < kChains; ++c) acc[c] = (init);                                       \
  for (std::int64_t i = 0; i < iterations; ++i) {                                          \
    _Pragma("GCC unroll 16") for (int k = 0; k < kChains; ++k) {                           \
      const V a = acc[k];                                                                  \
      acc[k] = (step);                                                                     \
    }                                                                                      \
  }                                                                                        \
  double sum = 0;                                                                          \
  for (int k = 0; k < kChains; ++k) {                                                      \
    const V a = acc[k];                                                                    \
    sum += (fold);                                                                         \
  }                                                                                        \
  return sum;

#if defined(__x86_64__) || defined(_M_X64)

bool cpu_has_avx512_fp16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return mobileone::detail::cpu_runs_avx512() && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 23 & 1);
}

MOBILEONE_TARGET_AVX2 double f32_fma_avx2(std::int64_t iterations) {
  const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-7f);
  MOBILEONE_PEAK_LOOP(__m256, _mm256_set1_ps(float(c)), _mm256_fmadd_ps(a, x, y), double(_mm256_cvtss_f32(a)))
}

MOBILEONE_TARGET_AVX512 double f32_fma_avx512(std::int64_t iterations) {
  const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-7f);
  MOBILEONE_PEAK_LOOP(__m512, _mm512_set1_ps(float(c)), _mm512_fmadd_ps(a, x, y), double(_mm512_cvtss_f32(a)))
}

MOBILEONE_TARGET_AVX512_BF16 double bf16_dot_avx512(std::int64_t iterations) {
  const __m512bh x = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  MOBILEONE_PEAK_LOOP(__m512, _mm512_set1_ps(float(c)), _mm512_dpbf16_ps(a, x, x), double(_mm512_cvtss_f32(a)))
}

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512fp16"))) double f16_fma_avx512(std::int64_t iterations) {
  const __m512h x = _mm512_set1_ph(_Float16(0.999f)), y = _mm512_set1_ph(_Float16(1e-3f));
  MOBILEONE_PEAK_LOOP(__m512h, _mm512_set1_ph(_Float16(float(c))), _mm512_fmadd_ph(a, x, y), double(float(_mm512_cvtsh_h(a))))
}

MOBILEONE_TARGET_AVX512_VNNI double u8s8_dot_avx512(std::int64_t iterations) {
  const __m512i x = _mm512_set1_epi8(1);
  MOBILEONE_PEAK_LOOP(__m512i, _mm512_set1_epi32(c), _mm512_dpbusd_epi32(a, x, x), double(_mm512_cvtsi512_si32(a)))
}

#elif defined(__aarch64__)

double f32_fma_neon(std::int64_t iterations) {
  const float32x4_t x = vdupq_n_f32(0.999f), y = vdupq_n_f32(1e-7f);
  MOBILEONE_PEAK_LOOP(float32x4_t, vdupq_n_f32(float(c)), vfmaq_f32(a, x, y), double(vaddvq_f32(a)))
}

MOBILEONE_TARGET_NEON_FP16 double f16_fma_neon(std::int64_t iterations) {
  const float16x8_t x = vdupq_n_f16(0.999f), y = vdupq_n_f16(1e-3f);
  MOBILEONE_PEAK_LOOP(float16x8_t, vdupq_n_f16(float16_t(c)), vfmaq_f16(a, x, y), double(vaddvq_f32(vcvt_f32_f16(vget_low_f16(a)))))
}

MOBILEONE_TARGET_NEON_BF16 double bf16_dot_neon(std::int64_t iterations) {
  const bfloat16x8_t x = vreinterpretq_bf16_u16(vdupq_n_u16(0x3a83));  // ~1e-3
  MOBILEONE_PEAK_LOOP(float32x4_t, vdupq_n_f32(float(c)), vbfdotq_f32(a, x, x), double(vaddvq_f32(a)))
}

MOBILEONE_TARGET_NEON_DOTPROD double s8_dot_neon(std::int64_t iterations) {
  const int8x16_t x = vdupq_n_s8(1);
  MOBILEONE_PEAK_LOOP(int32x4_t, vdupq_n_s32(c), vdotq_s32(a, x, x), double(vaddvq_s32(a)))
}

#endif

#undef MOBILEONE_PEAK_LOOP

struct Peak {
  const char* name;
  double (*run)(std::int64_t);
  int macs_per_instruction;
  bool (*available)();
};

void measure(benchmark::State& state, const Peak& peak) {
  constexpr std::int64_t kIterations = 1 << 16;  // ~1M instructions per call: far above timer resolution
  double sink = 0;
  for (auto _ : state) {
    sink += peak.run(kIterations);
    benchmark::DoNotOptimize(sink);
  }
  const double macs = double(state.iterations()) * double(kIterations) * kChains * peak.macs_per_instruction;
  state.counters["GMAC"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsRate);
}

const Peak kPeaks[] = {
#if defined(__x86_64__) || defined(_M_X64)
    {"f32_fma__avx2", f32_fma_avx2, 8, mobileone::detail::cpu_runs_avx2},
    {"f32_fma__avx512", f32_fma_avx512, 16, mobileone::detail::cpu_runs_avx512},
    {"bf16_dot__avx512+bf16", bf16_dot_avx512, 32, mobileone::detail::cpu_has_avx512_bf16},
    {"f16_fma__avx512+fp16", f16_fma_avx512, 32, cpu_has_avx512_fp16},
    {"u8s8_dot__avx512+vnni", u8s8_dot_avx512, 64, mobileone::detail::cpu_has_avx512_vnni},
#elif defined(__aarch64__)
    {"f32_fma__neon", f32_fma_neon, 4, mobileone::detail::cpu_runs_neon},
    {"f16_fma__neon+fp16", f16_fma_neon, 8, mobileone::detail::cpu_has_fp16_arithmetic},
    {"bf16_dot__neon+bf16", bf16_dot_neon, 8, mobileone::detail::cpu_has_arm_bf16},
    {"s8_dot__neon+dotprod", s8_dot_neon, 16, mobileone::detail::cpu_has_dotprod},
#endif
};

}  // namespace

int main(int argc, char** argv) {
  return mobileone::bench::run_google_benchmark("bench_peaks", argc, argv, [](int c, char** v) {
    for (const Peak& peak : kPeaks)
      if (peak.available()) benchmark::RegisterBenchmark(peak.name, measure, peak)->MinTime(0.3);
    return std::vector<std::string>(v, v + c);
  });
}
