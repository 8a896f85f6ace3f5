//===- wgmma_sp_layout.cu - The layouts tesa's wgmma.sp kernel assumes ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// One warpgroup multiplies a 2:4 A of 64 x D (its 64 x D / 2 packed
// values) by B of D x 64 on D / 32 `wgmma.mma_async.sp` m64n64k32, both
// from swizzled shared memory, as the warpgroup kernel of structured parts
// (lib/Conversion/PartsToGPU/WgmmaBlockKernel.cpp) lays them out for
// blocks D = 64 or 32 deep: packed rows of D bytes (a D-byte swizzle, 32
// bytes further for each instruction), B K-major in rows of 2D bytes (a
// 2D-byte swizzle, 64 bytes further), and each thread's metadata word as
// PartLayout::metadata holds it (the mma.sp m16n8k32 layout for the 16
// rows of each warp, sparsity selector 0). It checks the product against
// the host's, and that two other metadata layouts give wrong products (so
// that the check can fail).
//
//   nvcc -gencode=arch=compute_90a,code=sm_90a wgmma_sp_layout.cu && ./a.out
//
// Exit status 0 when tesa's layout gives the exact product and the others
// do not.
//
//===----------------------------------------------------------------------===//

#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace {
constexpr int kRows = 64, kColumns = 64;

/// The byte offset of byte `byte` of row `row` in a swizzled tile whose
/// rows are `rowBytes` long (WarpgroupMma.h's getSwizzledChunkOffset).
__host__ __device__ int swizzled(int row, int byte, int rowBytes) {
  int chunk = byte / 16, line = row * rowBytes / 128;
  return row * rowBytes + 16 * (chunk ^ (line % (rowBytes / 16))) +
         byte % 16;
}

/// A wgmma shared-memory descriptor (WarpgroupMma.h's
/// getWgmmaDescriptorFields).
__device__ uint64_t descriptor(const void *tile, int rowBytes) {
  uint64_t address = __cvta_generic_to_shared(tile);
  uint64_t mode = rowBytes == 128 ? 1 : rowBytes == 64 ? 2 : 3;
  return ((address >> 4) & 0x3fff) | (1ull << 16) |
         (uint64_t(8 * rowBytes >> 4) << 32) | (mode << 62);
}

#define ACC(i) "+f"(d[i])
template <int kDepth>
__global__ void multiply(const half *packed, const half *dense,
                         const uint32_t *metadata, float *out) {
  constexpr int kPacked = kDepth / 2, kPackedRowBytes = 2 * kPacked,
                kDenseRowBytes = 2 * kDepth;
  __shared__ __align__(1024) unsigned char a[kRows * kPackedRowBytes];
  __shared__ __align__(1024) unsigned char b[kColumns * kDenseRowBytes];
  int t = threadIdx.x;
  for (int i = t; i < kRows * kPacked; i += 128)
    *(half *)(a + swizzled(i / kPacked, 2 * (i % kPacked), kPackedRowBytes)) =
        packed[i];
  for (int i = t; i < kColumns * kDepth; i += 128)
    *(half *)(b + swizzled(i / kDepth, 2 * (i % kDepth), kDenseRowBytes)) =
        dense[i];
  asm volatile("fence.proxy.async.shared::cta;");
  __syncthreads();
  float d[32] = {};
  uint64_t da = descriptor(a, kPackedRowBytes), db = descriptor(b, kDenseRowBytes);
  asm volatile("wgmma.fence.sync.aligned;");
  for (int step = 0; step < kDepth / 32; ++step)
    asm volatile(
        "wgmma.mma_async.sp.sync.aligned.m64n64k32.f32.f16.f16 "
        "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
        "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, "
        "%32, %33, %34, 0, 1, 1, 1, 0, 0;"
        : ACC(0), ACC(1), ACC(2), ACC(3), ACC(4), ACC(5), ACC(6), ACC(7),
          ACC(8), ACC(9), ACC(10), ACC(11), ACC(12), ACC(13), ACC(14),
          ACC(15), ACC(16), ACC(17), ACC(18), ACC(19), ACC(20), ACC(21),
          ACC(22), ACC(23), ACC(24), ACC(25), ACC(26), ACC(27), ACC(28),
          ACC(29), ACC(30), ACC(31)
        : "l"(da + 32 * step / 16), "l"(db + 64 * step / 16),
          "r"(metadata[step * 128 + t]));
  asm volatile("wgmma.commit_group.sync.aligned;");
  asm volatile("wgmma.wait_group.sync.aligned 0;");
  // getWgmmaAccumulatorPosition.
  int warp = t / 32, lane = t % 32;
  for (int i = 0; i < 32; ++i)
    out[(16 * warp + lane / 4 + 8 * (i % 4 / 2)) * kColumns + 8 * (i / 4) +
        2 * (lane % 4) + i % 2] = d[i];
}
#undef ACC

enum class Layout { Tesa, RowPerThread, HalvesSwapped };

/// Thread `thread`'s metadata word for step `step`, where `nibble(row,
/// group)` is the 4-bit positions of group `group` (of 16) of row `row`.
template <typename Nibble>
uint32_t metadataWord(Layout layout, int step, int thread, Nibble nibble) {
  int warp = thread / 32, lane = thread % 32, g = lane / 4, t = lane % 4;
  if (t >= 2)
    return 0;
  int row = 16 * warp + g;
  uint32_t word = 0;
  for (int half = 0; half < 2; ++half)
    for (int c = 0; c < 4; ++c) {
      switch (layout) {
      case Layout::Tesa: // rows g and g + 8, K half t of the step
        word |= nibble(row + 8 * half, 8 * step + 4 * t + c)
                << (16 * half + 4 * c);
        break;
      case Layout::RowPerThread: // row g + 8t, the step's 8 groups
        word |= nibble(row + 8 * t, 8 * step + 4 * half + c)
                << (16 * half + 4 * c);
        break;
      case Layout::HalvesSwapped:
        word |= nibble(row + 8 * half, 8 * step + 4 * t + c)
                << (16 * (1 - half) + 4 * c);
        break;
      }
    }
  return word;
}
/// Checks blocks `kDepth` deep; true where tesa's layout is exact and the
/// others are not.
template <int kDepth> bool check() {
  constexpr int kPacked = kDepth / 2;
  std::mt19937 rng(11);
  auto value = [&] { return float(int(rng() % 17) - 8) / 8; };
  // Each group of four keeps two distinct positions, ascending.
  std::vector<int> first(kRows * kDepth / 4), second(first.size());
  std::vector<float> a(kRows * kDepth, 0), b(kDepth * kColumns);
  std::vector<half> packed(kRows * kPacked), dense(kColumns * kDepth);
  for (int r = 0; r < kRows; ++r)
    for (int g = 0; g < kDepth / 4; ++g) {
      int i = r * kDepth / 4 + g, p = rng() % 4, q = (p + 1 + rng() % 3) % 4;
      first[i] = std::min(p, q);
      second[i] = std::max(p, q);
      float x = value(), y = value();
      a[r * kDepth + 4 * g + first[i]] = x;
      a[r * kDepth + 4 * g + second[i]] = y;
      packed[r * kPacked + 2 * g] = __float2half(x);
      packed[r * kPacked + 2 * g + 1] = __float2half(y);
    }
  for (float &x : b)
    x = value();
  for (int c = 0; c < kColumns; ++c)
    for (int k = 0; k < kDepth; ++k)
      dense[c * kDepth + k] = __float2half(b[k * kColumns + c]);
  std::vector<float> expected(kRows * kColumns, 0);
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kColumns; ++c)
      for (int k = 0; k < kDepth; ++k)
        expected[r * kColumns + c] += a[r * kDepth + k] * b[k * kColumns + c];
  auto nibble = [&](int row, int group) {
    int i = row * kDepth / 4 + group;
    return uint32_t(first[i] | second[i] << 2);
  };

  half *packedOnGpu, *denseOnGpu;
  uint32_t *metadataOnGpu;
  float *outOnGpu;
  cudaMalloc(&packedOnGpu, packed.size() * sizeof(half));
  cudaMalloc(&denseOnGpu, dense.size() * sizeof(half));
  cudaMalloc(&metadataOnGpu, 256 * sizeof(uint32_t));
  cudaMalloc(&outOnGpu, expected.size() * sizeof(float));
  cudaMemcpy(packedOnGpu, packed.data(), packed.size() * sizeof(half),
             cudaMemcpyHostToDevice);
  cudaMemcpy(denseOnGpu, dense.data(), dense.size() * sizeof(half),
             cudaMemcpyHostToDevice);
  bool ok = true;
  for (Layout layout :
       {Layout::Tesa, Layout::RowPerThread, Layout::HalvesSwapped}) {
    std::vector<uint32_t> metadata(256);
    for (int step = 0; step < kDepth / 32; ++step)
      for (int t = 0; t < 128; ++t)
        metadata[step * 128 + t] = metadataWord(layout, step, t, nibble);
    cudaMemcpy(metadataOnGpu, metadata.data(), 256 * sizeof(uint32_t),
               cudaMemcpyHostToDevice);
    cudaMemset(outOnGpu, 0, expected.size() * sizeof(float));
    multiply<kDepth>
        <<<1, 128>>>(packedOnGpu, denseOnGpu, metadataOnGpu, outOnGpu);
    cudaError_t status = cudaDeviceSynchronize();
    std::vector<float> out(expected.size());
    cudaMemcpy(out.data(), outOnGpu, out.size() * sizeof(float),
               cudaMemcpyDeviceToHost);
    int wrong = 0;
    for (size_t i = 0; i < out.size(); ++i)
      wrong += std::fabs(out[i] - expected[i]) > 1e-3f;
    const char *names[] = {"tesa's layout", "a row a thread",
                           "halves swapped"};
    std::printf("%d deep, %s: %s, %d of %zu wrong\n", kDepth,
                names[int(layout)], cudaGetErrorString(status), wrong,
                out.size());
    bool exact = status == cudaSuccess && wrong == 0;
    ok &= layout == Layout::Tesa ? exact : !exact;
  }
  cudaFree(packedOnGpu);
  cudaFree(denseOnGpu);
  cudaFree(metadataOnGpu);
  cudaFree(outOnGpu);
  return ok;
}
} // namespace

int main() {
  bool ok = check<64>();
  ok &= check<32>();
  std::printf(ok ? "layouts as assumed\n" : "LAYOUTS DIFFER\n");
  return ok ? 0 : 1;
}
