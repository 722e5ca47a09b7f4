// The one blocking driver of the register-tiled GEMMs (the pointwise 1x1 convolution on every SIMD ISA, fp32,
// int8 and 16-bit, and the x86 stem): C[rows][out] = relu(bias + A[rows][K] * W[K][out]), W packed as 16-wide
// panels (pack.hpp). Each ISA supplies only its microkernels (behind the one tile signature per element
// type: GemmTileArgs, QuantGemmTileArgs, HalfGemmTileArgs<T>) and the constants of its `GemmTiles` /
// `QuantGemmTiles` / `HalfGemmTiles` (rows and panels per tile, K chunk, block budget); this file decides the
// order, the same for all (gemm_detail::sweep).
//
// Blocking (GotoBLAS order):
//   for pixel blocks of about kBlockBytes of A per K chunk (at least kMinBlockRows rows), balanced
//     for K chunks of at most kChunk input channels (0: all of K at once), equal and multiples of 4
//       weights smaller than the block's A and than kMaxResidentWeightBytes:
//             for each row tile: for each panel group   (the weights stay in L1, each A tile is read once)
//       else: for each panel group: for each row tile   (the A block stays in L1/L2, each panel once)
//   Row tiles are balanced (49 rows -> 4 x 6 + 5 x 5, not 8 x 6 + 1), so no tile runs latency-bound.
//   Panel groups are kPanels panels, the remainder in one narrower tile.
//   In the panel-outer order the first tiles of a group each prefetch one panel of the next group, a cache
//   line per step of K: weights are read once per inference, usually from DRAM, and the next group's first
//   tile would otherwise wait for them (measured on Zen4: 7x7 x 256 -> 1024 with cold weights 250 -> 230
//   us, hot 221 us). Tiles with nothing to prefetch "prefetch" their own, cached panel.
// Partial sums of a K chunk go through C as floats (exact), so every output is one FMA chain over K in
// increasing order starting from its bias, ReLU after the last chunk: results do not depend on the
// blocking, the tiles or the task split.
// int8 runs the same blocking with K in one pass (int32 sums are exact in any order, but have no place in
// a uint8 C) and the budgets counted in bytes of uint8 A and int8 W; so do the 16-bit sets (float32 sums have
// no place in a 16-bit C either), budgets in bytes of T. The float32 tiles also store C as a 16-bit T (the
// stem of a 16-bit set: float32 input, weights and sums, rounded once at the store), without K chunks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernel_args.hpp"
#include "pack.hpp"

namespace mobileone::kernels {

// What one microkernel call computes: rows x (panels * 16) of C over one K chunk. Row r of A is
// a + r * a_row_stride, made of `segments` runs of `seg_len` floats a_seg_stride apart (the stem's 3x3
// window is three runs of 3 * in_channels floats; a 1x1 convolution, one run). C holds float, or a 16-bit
// T for the stem of a 16-bit set (then init is always the bias: K is never chunked).
template <class C>
struct GemmTileArgsOf {
  const float* a;
  std::size_t a_row_stride, a_seg_stride;
  int segments, seg_len;
  const float* w;  // the first panel at the chunk's first k: [k][16]
  std::size_t w_panel_stride;
  const float* init;  // the accumulators' start: the padded bias (init_stride 0) or C's partial sums
  std::size_t init_stride;
  C* c;
  std::size_t c_row_stride;
  int n_valid;  // columns of the tile that exist (tiles without partial stores always get 16 per panel)
  bool relu;
  const float* prefetch;  // a K x 16 panel to prefetch a line per step of K (ISAs may ignore it)
};
using GemmTileArgs = GemmTileArgsOf<float>;

// What one int8 microkernel call computes (QuantPointwiseArgs' arithmetic): rows x (panels * 16) outputs over
// all of K. int8 never splits K: the int32 sums would have to go through C. Row r of A is
// a + r * a_row_stride, k bytes; the tile runs ceil(k / 4) groups (tiles may read the up to 3 bytes past a row,
// the weights there are zero). Per-channel arrays and w point at the tile's first panel; panels follow
// w_panel_stride bytes / 16 channels apart.
struct QuantGemmTileArgs {
  const std::uint8_t* a;
  std::size_t a_row_stride;
  int k;
  const std::int8_t* w;  // panels [ceil(k/4)][16][4]
  std::size_t w_panel_stride;
  const float* scale;
  const float* bias;
  const std::int32_t* column_sums;  // for signed x signed dot products (QuantPointwiseArgs)
  // nullptr if none, else acc[r][j] += diagonal[j] * a_diagonal[r * a_row_stride + j]: a_diagonal is row 0's
  // input at the tile's first output channel (square layers only; tiles may read a whole panel's 16 bytes).
  const std::int32_t* diagonal;
  const std::uint8_t* a_diagonal;
  void* c;  // row 0's output at the tile's first channel: std::uint8_t when output_u8 else float
  std::size_t c_row_stride;  // in elements
  int n_valid;               // columns of the tile that exist (tiles without partial stores always get 16 per panel)
  bool relu, output_u8;
  const std::int8_t* prefetch;  // a panel to prefetch a line per group of K (ISAs may ignore it)
};

// What one 16-bit microkernel call computes (PointwiseArgsOf<T>'s arithmetic): rows x (panels * 16) outputs
// over all of K, never split (float32 sums have no place in a 16-bit C). Row r of A is a + r * a_row_stride,
// k elements; the weights are the set's panels [ceil(k/G)][16][G] (G = its kPointwiseGroup; tiles must not
// read A past k: the element after a row may be anything, NaN included, and 0 * NaN is NaN). Per-channel
// arrays and w point at the tile's first panel; panels follow w_panel_stride elements apart.
template <class T>
struct HalfGemmTileArgs {
  const T* a;
  std::size_t a_row_stride;
  int k;
  const T* w;
  std::size_t w_panel_stride;
  const float* bias;
  // nullptr if none, else acc[r][j] += diagonal[j] * a_diagonal[r * a_row_stride + j] after the K loop, in
  // float32: a_diagonal is row 0's input at the tile's first output channel (square layers only; like C,
  // only its columns [0, n_valid) exist).
  const float* diagonal;
  const T* a_diagonal;
  T* c;  // row 0's output at the tile's first channel
  std::size_t c_row_stride;
  int n_valid;  // columns of the tile that exist (tiles without partial stores always get 16 per panel)
  bool relu;
  const T* prefetch;  // a panel to prefetch a line per 64 bytes of its K (ISAs may ignore it)
};

// The whole product; rows are counted from g.a and g.c.
template <class C>
struct GemmProblemOf {
  const float* a;
  std::size_t a_row_stride, a_seg_stride;
  int segments, seg_len;
  const float* weights;  // panels [ceil(out/16)][K][16]
  const float* bias;     // [ceil(out/16) * 16]
  C* c;
  std::size_t c_row_stride;
  int out_channels;
  bool relu;
};
using GemmProblem = GemmProblemOf<float>;

namespace gemm_detail {

// The blocking both element types share: pixel blocks, K chunks of `chunk` (k itself: one pass), the loop
// order and the prefetch targets (see the top). `elem_bytes` is the size of one element of A and of W.
// tile(r0, n, panel, np, k0, kc, prefetch_panel) runs the tile of rows [r0, r0 + n) x panels
// [panel, panel + np) over K [k0, k0 + kc); prefetch_panel is the panel it prefetches a line per step of K.
template <class Tiles, class Tile>
void sweep(std::size_t rows, std::size_t k, std::size_t chunk, std::size_t elem_bytes, std::size_t panel_begin,
           std::size_t panel_end, const Tile& tile) {
  constexpr int MR = Tiles::kRows, NP = Tiles::kPanels;
  static_assert(Tiles::kPartialPanels || NP == 1, "tiles without partial stores take one panel at a time");
  const std::size_t chunk_bytes = std::max<std::size_t>(1, chunk) * elem_bytes;
  const std::size_t block_rows =
      std::max<std::size_t>(Tiles::kMinBlockRows, Tiles::kBlockBytes / chunk_bytes / std::size_t(MR) * std::size_t(MR));
  for (std::size_t p0 = 0; p0 < rows;) {
    const std::size_t left = rows - p0;
    const std::size_t blocks = (left + block_rows - 1) / block_rows;
    const std::size_t block = (left + blocks - 1) / blocks;
    const std::size_t tiles = (block + MR - 1) / MR;
    for (std::size_t k0 = 0; k0 < k;) {
      const std::size_t kc = std::min(chunk, k - k0);
      // Tile i of the block x panels [panel, panel + np).
      const auto run = [&](std::size_t i, std::size_t panel, std::size_t np, std::size_t prefetch_panel) {
        const std::size_t r0 = block * i / tiles, r1 = block * (i + 1) / tiles;
        tile(p0 + r0, int(r1 - r0), panel, np, k0, kc, prefetch_panel);
      };
      const std::size_t weight_bytes = (panel_end - panel_begin) * kc * kPanelWidth * elem_bytes;
      const std::size_t a_bytes = block * kc * elem_bytes;
      if (weight_bytes <= a_bytes && weight_bytes <= Tiles::kMaxResidentWeightBytes) {
        for (std::size_t i = 0; i < tiles; ++i)
          for (std::size_t panel = panel_begin; panel < panel_end; panel += NP)
            run(i, panel, std::min<std::size_t>(NP, panel_end - panel), panel);
      } else {
        for (std::size_t panel = panel_begin; panel < panel_end; panel += NP) {
          const std::size_t np = std::min<std::size_t>(NP, panel_end - panel);
          const std::size_t next = std::min<std::size_t>(NP, panel_end - panel - np);
          for (std::size_t i = 0; i < tiles; ++i) run(i, panel, np, i < next ? panel + np + i : panel);
        }
      }
      k0 += kc;
    }
    p0 += block;
  }
}

}  // namespace gemm_detail

// Rows [0, rows) x panels [panel_begin, panel_end) of C. Tiles: the ISA's GemmTiles (see the top).
template <class Tiles, class C>
void gemm_blocked(const GemmProblemOf<C>& g, std::size_t rows, std::size_t panel_begin, std::size_t panel_end) {
  constexpr int MR = Tiles::kRows;
  static_assert(std::is_same_v<C, float> || Tiles::kChunk == 0, "a K chunk's partial sums go through C: float C only");
  if (rows == 0 || panel_begin >= panel_end) return;
  const std::size_t k = std::size_t(g.segments) * std::size_t(g.seg_len);
  const std::size_t w_panel_stride = k * kPanelWidth;
  // K chunks of equal size, multiples of 4 (only the last one has an input-channel tail); a window of
  // several runs (the stem, K = 27) is never chunked.
  std::size_t chunk = k;
  if constexpr (Tiles::kChunk > 0) {
    if (g.segments == 1 && k > Tiles::kChunk) {
      const std::size_t chunks = (k + Tiles::kChunk - 1) / Tiles::kChunk;
      chunk = ((k + chunks - 1) / chunks + 3) / 4 * 4;
    }
  }
  alignas(64) C scratch[Tiles::kPartialPanels ? 1 : MR * kPanelWidth];  // the tail panel, without partial stores
  const auto tile = [&](std::size_t r0, int n, std::size_t panel, std::size_t np, std::size_t k0, std::size_t kc,
                        std::size_t prefetch_panel) {
    const bool first = k0 == 0, last = k0 + kc >= k;
    C* c = g.c + r0 * g.c_row_stride + panel * kPanelWidth;
    const float* init = g.bias + panel * kPanelWidth;
    if constexpr (std::is_same_v<C, float>) init = first ? init : c;  // else K is never chunked
    GemmTileArgsOf<C> t{g.a + r0 * g.a_row_stride + k0,
                        g.a_row_stride,
                        g.a_seg_stride,
                        chunk == k ? g.segments : 1,
                        chunk == k ? g.seg_len : int(kc),
                        g.weights + panel * w_panel_stride + k0 * kPanelWidth,
                        w_panel_stride,
                        init,
                        first ? 0 : g.c_row_stride,
                        c,
                        g.c_row_stride,
                        g.out_channels - int(panel) * kPanelWidth,
                        last && g.relu,
                        g.weights + prefetch_panel * w_panel_stride + k0 * kPanelWidth};
    if (Tiles::kPartialPanels || t.n_valid >= kPanelWidth) return Tiles::run(n, int(np), t);
    // The out-channel tail panel of tiles that store whole panels: through a 16-wide scratch tile.
    const std::size_t cols = std::size_t(t.n_valid) * sizeof(C);
    if constexpr (std::is_same_v<C, float>) {
      if (!first) {
        for (int r = 0; r < n; ++r) std::memcpy(scratch + r * kPanelWidth, c + std::size_t(r) * g.c_row_stride, cols);
        t.init = scratch;
        t.init_stride = kPanelWidth;
      }
    }
    t.c = scratch;
    t.c_row_stride = kPanelWidth;
    Tiles::run(n, 1, t);
    for (int r = 0; r < n; ++r) std::memcpy(c + std::size_t(r) * g.c_row_stride, scratch + r * kPanelWidth, cols);
  };
  gemm_detail::sweep<Tiles>(rows, k, chunk, sizeof(float), panel_begin, panel_end, tile);
}

// The pointwise 1x1 convolution on these tiles: pixels [pixel_begin, pixel_end) x panels [panel_begin, panel_end).
template <class Tiles>
void pointwise_gemm(const PointwiseArgs& a, std::size_t pixel_begin, std::size_t pixel_end, std::size_t panel_begin,
                    std::size_t panel_end) {
  if (pixel_begin >= pixel_end) return;
  const std::size_t cin = std::size_t(a.in_channels), cout = std::size_t(a.out_channels);
  const GemmProblem g{a.input + pixel_begin * cin, cin,    0, 1, a.in_channels, a.weights, a.bias,
                      a.output + pixel_begin * cout, cout, a.out_channels, a.relu};
  gemm_blocked<Tiles>(g, pixel_end - pixel_begin, panel_begin, panel_end);
}

// The int8 pointwise 1x1 convolution on these tiles (a QuantGemmTiles: GemmTiles' constants but kChunk, and
// run() taking QuantGemmTileArgs): pixels [pixel_begin, pixel_end) x panels [panel_begin, panel_end).
template <class Tiles>
void quant_pointwise_gemm(const QuantPointwiseArgs& a, std::size_t pixel_begin, std::size_t pixel_end,
                          std::size_t panel_begin, std::size_t panel_end) {
  constexpr int MR = Tiles::kRows;
  if (pixel_begin >= pixel_end || panel_begin >= panel_end) return;
  const std::size_t cin = std::size_t(a.in_channels), cout = std::size_t(a.out_channels);
  const std::size_t w_panel_stride = quant_pointwise_groups(a.in_channels) * kPanelWidth * kQuantGroup;
  const std::size_t out_bytes = a.output_u8 ? sizeof(std::uint8_t) : sizeof(float);
  const std::uint8_t* const in = a.input + pixel_begin * cin;
  unsigned char* const out = static_cast<unsigned char*>(a.output) + pixel_begin * cout * out_bytes;
  alignas(64) float scratch[Tiles::kPartialPanels ? 1 : MR * kPanelWidth];  // the tail panel, without partial stores
  const auto tile = [&](std::size_t r0, int n, std::size_t panel, std::size_t np, std::size_t, std::size_t,
                        std::size_t prefetch_panel) {
    const std::size_t c0 = panel * kPanelWidth;
    unsigned char* const c = out + (r0 * cout + c0) * out_bytes;
    QuantGemmTileArgs t{in + r0 * cin,
                        cin,
                        a.in_channels,
                        a.weights + panel * w_panel_stride,
                        w_panel_stride,
                        a.scale + c0,
                        a.bias + c0,
                        a.column_sums ? a.column_sums + c0 : nullptr,
                        a.diagonal ? a.diagonal + c0 : nullptr,
                        in + r0 * cin + c0,
                        c,
                        cout,
                        a.out_channels - int(c0),
                        a.relu,
                        a.output_u8,
                        a.weights + prefetch_panel * w_panel_stride};
    if (Tiles::kPartialPanels || t.n_valid >= kPanelWidth) return Tiles::run(n, int(np), t);
    // The out-channel tail panel of tiles that store whole panels: through a 16-wide scratch tile.
    const std::size_t cols = std::size_t(t.n_valid) * out_bytes, row_bytes = cout * out_bytes;
    const std::size_t scratch_row_bytes = kPanelWidth * out_bytes;
    t.c = scratch;
    t.c_row_stride = kPanelWidth;
    Tiles::run(n, 1, t);
    const unsigned char* const s = reinterpret_cast<const unsigned char*>(scratch);
    for (int r = 0; r < n; ++r)
      std::memcpy(c + std::size_t(r) * row_bytes, s + std::size_t(r) * scratch_row_bytes, cols);
  };
  // One K pass: chunk = K; a byte per element of A and of W.
  gemm_detail::sweep<Tiles>(pixel_end - pixel_begin, cin, cin, sizeof(std::uint8_t), panel_begin, panel_end, tile);
}

// The 16-bit pointwise 1x1 convolution on these tiles (a HalfGemmTiles: GemmTiles' constants but kChunk, plus
// kGroup, the panels' group of input channels; run() taking HalfGemmTileArgs<T>): pixels [pixel_begin,
// pixel_end) x panels [panel_begin, panel_end).
template <class Tiles, class T>
void half_pointwise_gemm(const PointwiseArgsOf<T>& a, std::size_t pixel_begin, std::size_t pixel_end,
                         std::size_t panel_begin, std::size_t panel_end) {
  constexpr int MR = Tiles::kRows;
  if (pixel_begin >= pixel_end || panel_begin >= panel_end) return;
  const std::size_t cin = std::size_t(a.in_channels), cout = std::size_t(a.out_channels);
  const std::size_t w_panel_stride = pointwise_packed_size(kPanelWidth, a.in_channels, Tiles::kGroup);
  const T* const in = a.input + pixel_begin * cin;
  T* const out = a.output + pixel_begin * cout;
  alignas(64) T scratch[Tiles::kPartialPanels ? 1 : MR * kPanelWidth];  // the tail panel, without partial stores
  const auto tile = [&](std::size_t r0, int n, std::size_t panel, std::size_t np, std::size_t, std::size_t,
                        std::size_t prefetch_panel) {
    const std::size_t c0 = panel * kPanelWidth;
    T* const c = out + r0 * cout + c0;
    HalfGemmTileArgs<T> t{in + r0 * cin,
                          cin,
                          a.in_channels,
                          a.weights + panel * w_panel_stride,
                          w_panel_stride,
                          a.bias + c0,
                          a.diagonal ? a.diagonal + c0 : nullptr,
                          in + r0 * cin + c0,
                          c,
                          cout,
                          a.out_channels - int(c0),
                          a.relu,
                          a.weights + prefetch_panel * w_panel_stride};
    if (Tiles::kPartialPanels || t.n_valid >= kPanelWidth) return Tiles::run(n, int(np), t);
    // The out-channel tail panel of tiles that store whole panels: through a 16-wide scratch tile.
    t.c = scratch;
    t.c_row_stride = kPanelWidth;
    Tiles::run(n, 1, t);
    for (int r = 0; r < n; ++r)
      std::memcpy(c + std::size_t(r) * cout, scratch + r * kPanelWidth, std::size_t(t.n_valid) * sizeof(T));
  };
  // One K pass: chunk = K; sizeof(T) bytes per element of A and of W.
  gemm_detail::sweep<Tiles>(pixel_end - pixel_begin, cin, cin, sizeof(T), panel_begin, panel_end, tile);
}

}  // namespace mobileone::kernels
