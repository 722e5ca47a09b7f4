// The one blocking driver of the register-tiled GEMMs (the pointwise 1x1 convolution on every SIMD ISA, the
// x86 stem): C[rows][out] = relu(bias + A[rows][K] * W[K][out]), W packed as 16-wide panels (pack.hpp).
// Each ISA supplies only its microkernels (behind the one tile signature GemmTileArgs) and the constants of
// its `GemmTiles` (rows and panels per tile, K chunk, block budget); this file decides the order.
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
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "kernel_args.hpp"

namespace mobileone::kernels {

// What one microkernel call computes: rows x (panels * 16) of C over one K chunk. Row r of A is
// a + r * a_row_stride, made of `segments` runs of `seg_len` floats a_seg_stride apart (the stem's 3x3
// window is three runs of 3 * in_channels floats; a 1x1 convolution, one run).
struct GemmTileArgs {
  const float* a;
  std::size_t a_row_stride, a_seg_stride;
  int segments, seg_len;
  const float* w;  // the first panel at the chunk's first k: [k][16]
  std::size_t w_panel_stride;
  const float* init;  // the accumulators' start: the padded bias (init_stride 0) or C's partial sums
  std::size_t init_stride;
  float* c;
  std::size_t c_row_stride;
  int n_valid;  // columns of the tile that exist (tiles without partial stores always get 16 per panel)
  bool relu;
  const float* prefetch;  // a K x 16 panel to prefetch a line per step of K (ISAs may ignore it)
};

// The whole product; rows are counted from g.a and g.c.
struct GemmProblem {
  const float* a;
  std::size_t a_row_stride, a_seg_stride;
  int segments, seg_len;
  const float* weights;  // panels [ceil(out/16)][K][16]
  const float* bias;     // [ceil(out/16) * 16]
  float* c;
  std::size_t c_row_stride;
  int out_channels;
  bool relu;
};

// Rows [0, rows) x panels [panel_begin, panel_end) of C. Tiles: the ISA's GemmTiles (see the top).
template <class Tiles>
void gemm_blocked(const GemmProblem& g, std::size_t rows, std::size_t panel_begin, std::size_t panel_end) {
  constexpr int MR = Tiles::kRows, NP = Tiles::kPanels;
  static_assert(Tiles::kPartialPanels || NP == 1, "tiles without partial stores take one panel at a time");
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
  const std::size_t chunk_bytes = std::max<std::size_t>(1, chunk) * sizeof(float);
  const std::size_t block_rows =
      std::max<std::size_t>(Tiles::kMinBlockRows, Tiles::kBlockBytes / chunk_bytes / std::size_t(MR) * std::size_t(MR));
  alignas(64) float scratch[Tiles::kPartialPanels ? 1 : MR * kPanelWidth];  // the tail panel, without partial stores

  for (std::size_t p0 = 0; p0 < rows;) {
    const std::size_t left = rows - p0;
    const std::size_t blocks = (left + block_rows - 1) / block_rows;
    const std::size_t block = (left + blocks - 1) / blocks;
    const std::size_t tiles = (block + MR - 1) / MR;
    for (std::size_t k0 = 0; k0 < k;) {
      const std::size_t kc = std::min(chunk, k - k0);
      const bool first = k0 == 0, last = k0 + kc >= k;
      // Tile i of the block x panels [panel, panel + np).
      const auto run = [&](std::size_t i, std::size_t panel, std::size_t np, const float* prefetch) {
        const std::size_t r0 = block * i / tiles, r1 = block * (i + 1) / tiles;
        const int n = int(r1 - r0);
        float* c = g.c + (p0 + r0) * g.c_row_stride + panel * kPanelWidth;
        GemmTileArgs t{g.a + (p0 + r0) * g.a_row_stride + k0,
                       g.a_row_stride,
                       g.a_seg_stride,
                       chunk == k ? g.segments : 1,
                       chunk == k ? g.seg_len : int(kc),
                       g.weights + panel * w_panel_stride + k0 * kPanelWidth,
                       w_panel_stride,
                       first ? g.bias + panel * kPanelWidth : c,
                       first ? 0 : g.c_row_stride,
                       c,
                       g.c_row_stride,
                       g.out_channels - int(panel) * kPanelWidth,
                       last && g.relu,
                       prefetch};
        if (Tiles::kPartialPanels || t.n_valid >= kPanelWidth) return Tiles::run(n, int(np), t);
        // The out-channel tail panel of tiles that store whole panels: through a 16-wide scratch tile.
        const std::size_t cols = std::size_t(t.n_valid) * sizeof(float);
        if (!first)
          for (int r = 0; r < n; ++r) std::memcpy(scratch + r * kPanelWidth, c + std::size_t(r) * g.c_row_stride, cols);
        t.init = first ? t.init : scratch;
        t.init_stride = first ? 0 : kPanelWidth;
        t.c = scratch;
        t.c_row_stride = kPanelWidth;
        Tiles::run(n, 1, t);
        for (int r = 0; r < n; ++r) std::memcpy(c + std::size_t(r) * g.c_row_stride, scratch + r * kPanelWidth, cols);
      };
      const std::size_t weight_bytes = (panel_end - panel_begin) * kc * kPanelWidth * sizeof(float);
      const std::size_t a_bytes = block * kc * sizeof(float);
      if (weight_bytes <= a_bytes && weight_bytes <= Tiles::kMaxResidentWeightBytes) {
        for (std::size_t i = 0; i < tiles; ++i)
          for (std::size_t panel = panel_begin; panel < panel_end; panel += NP) {
            const std::size_t np = std::min<std::size_t>(NP, panel_end - panel);
            run(i, panel, np, g.weights + panel * w_panel_stride + k0 * kPanelWidth);
          }
      } else {
        for (std::size_t panel = panel_begin; panel < panel_end; panel += NP) {
          const std::size_t np = std::min<std::size_t>(NP, panel_end - panel);
          const std::size_t next = std::min<std::size_t>(NP, panel_end - panel - np);
          const float* w = g.weights + panel * w_panel_stride + k0 * kPanelWidth;
          for (std::size_t i = 0; i < tiles; ++i) run(i, panel, np, i < next ? w + (np + i) * w_panel_stride : w);
        }
      }
      k0 += kc;
    }
    p0 += block;
  }
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

}  // namespace mobileone::kernels
