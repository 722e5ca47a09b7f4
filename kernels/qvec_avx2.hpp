// The int8 vector traits `QVec` on 8 int32 lanes of AVX2, for the two AVX2 int8 kernel sets: avx2_vnni
// (AVX-VNNI's vpdpbusd) and avx2_maddubs (plain AVX2: the same exact sums from vpmaddubsw and vpmaddwd).
// NO include guard on purpose: isa_x86_int8.hpp includes it inside each set's namespace, after <immintrin.h>,
// with MOBILEONE_SIMD_TARGET (the set's target attribute) and MOBILEONE_QVEC_AVX_VNNI (1 or 0) defined.

#if !defined(MOBILEONE_SIMD_TARGET) || !defined(MOBILEONE_QVEC_AVX_VNNI)
#error "include kernels/isa_x86_int8.hpp, not this file"
#endif

// The int8 operations on 8 int32 lanes (see avx512_vnni::QVec in isa_x86_int8.hpp). AVX2 has no byte-masked
// loads or stores: tails go through an 8-byte staging word, which never touches memory past p + n. Its packs
// saturate as signed, so requantization clamps to [0, 255] in float first (cvtps2dq's 0x80000000 would pack
// to 0).
struct QVec {
  using type = __m256i;
  static constexpr int kLanes = 8;

  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static type zero() { return _mm256_setzero_si256(); }
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static type broadcast4(const std::uint8_t* p) {
    std::int32_t x;
    std::memcpy(&x, p, sizeof x);
    return _mm256_set1_epi32(x);
  }
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static type load(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
  }
  // acc + the dot products of u's 4 unsigned bytes and s's 4 signed bytes, per lane (exact in int32).
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static type dpbusd(type acc, type u, type s) {
#if MOBILEONE_QVEC_AVX_VNNI
    return _mm256_dpbusd_avx_epi32(acc, u, s);
#else
    // Without AVX-VNNI: vpmaddubsw saturates its 16-bit pair sums (2 x 255 x 127 > 32767), so u goes in as
    // its low 7 bits (pair sums <= 2 x 127 x 127) and its top bit (128 s where set); vpmaddwd widens both.
    const type low = _mm256_and_si256(u, _mm256_set1_epi8(0x7f));
    const type top = _mm256_and_si256(_mm256_srli_epi16(u, 7), _mm256_set1_epi8(1));
    const type sum_low = _mm256_madd_epi16(_mm256_maddubs_epi16(low, s), _mm256_set1_epi16(1));
    const type sum_top = _mm256_madd_epi16(_mm256_maddubs_epi16(top, s), _mm256_set1_epi16(128));
    return _mm256_add_epi32(acc, _mm256_add_epi32(sum_low, sum_top));
#endif
  }
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static type mul_add(type x, type y, type acc) {
    return _mm256_add_epi32(acc, _mm256_mullo_epi32(x, y));
  }
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static type load_u8_i32(const std::uint8_t* p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static Vec::type to_float(type x) { return _mm256_cvtepi32_ps(x); }
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static Vec::type load_u8(const std::uint8_t* p) {
    return to_float(load_u8_i32(p));
  }
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static Vec::type load_u8_partial(const std::uint8_t* p, int n) {
    std::uint64_t x = 0;
    std::memcpy(&x, p, std::size_t(n));
    return to_float(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(x))));
  }
  // The 8 requantized lanes of v in the low 8 bytes.
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static __m128i requantize(Vec::type v) {
    const __m256i i = _mm256_cvtps_epi32(Vec::min(Vec::max(v, Vec::zero()), Vec::set1(255.f)));
    const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
    return _mm_packus_epi16(w, w);
  }
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static void store(float* p, Vec::type v) { Vec::store(p, v); }
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static void store_partial(float* p, Vec::type v, int n) {
    Vec::store_partial(p, v, n);
  }
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static void store(std::uint8_t* p, Vec::type v) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), requantize(v));
  }
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static void store_partial(std::uint8_t* p, Vec::type v, int n) {
    const std::uint64_t x = std::uint64_t(_mm_cvtsi128_si64(requantize(v)));
    std::memcpy(p, &x, std::size_t(n));
  }
};

