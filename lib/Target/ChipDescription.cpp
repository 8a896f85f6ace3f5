//===- ChipDescription.cpp - The supported chips --------------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// sm_90's cost table is measured on the GPU (bench/cost_table.py writes
// costs/sm_90.inc). The others are analytical: they follow each chip's
// published peak rates (tensor-core, dot-product and FFMA throughput) with an
// efficiency factor per kernel kind, because no such GPU can be reached from
// here. docs/decomposition.md gives both.
//
//===----------------------------------------------------------------------===//

#include "tesa/Target/ChipDescription.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace tesa;

ComputeKind tesa::getComputeKind(unsigned bits) {
  if (bits > 16)
    return ComputeKind::F32;
  if (bits > 8)
    return ComputeKind::F16;
  return ComputeKind::I8;
}

std::optional<MatrixShape>
ChipDescription::getMatrixShape(ComputeKind kind) const {
  switch (kind) {
  case ComputeKind::F16:
    return f16Mma;
  case ComputeKind::I8:
    return i8Mma;
  case ComputeKind::F32:
    return std::nullopt;
  }
  return std::nullopt;
}

/// The cost `table` lists for blocks of `kind` and `shape`, if any.
static std::optional<double>
findMeasuredCost(llvm::ArrayRef<MeasuredBlockCost> table, ComputeKind kind,
                 BlockShape shape) {
  for (const MeasuredBlockCost &measured : table)
    if (measured.kind == kind && measured.shape.channels == shape.channels &&
        measured.shape.reduction == shape.reduction)
      return measured.cost;
  return std::nullopt;
}

double ChipDescription::getBlockCost(ComputeKind kind, BlockShape shape) const {
  if (std::optional<double> cost =
          findMeasuredCost(costs.measuredBlocks, kind, shape))
    return *cost;
  return costs.blockOverhead[unsigned(kind)] +
         shape.channels * shape.reduction * costs.blockPerMac[unsigned(kind)];
}

double ChipDescription::getStructuredBlockCost(BlockShape shape) const {
  if (std::optional<double> cost =
          findMeasuredCost(structuredCosts, ComputeKind::F16, shape))
    return *cost;
  return getBlockCost(ComputeKind::F16, shape) / 2;
}

bool ChipDescription::acceptsStructuredBlock(BlockShape shape) const {
  return sparseF16Mma && shape.channels % sparseF16Mma->m == 0 &&
         shape.reduction % sparseF16Mma->k == 0;
}

bool ChipDescription::acceptsBlock(ComputeKind kind, BlockShape shape) const {
  if (std::optional<MatrixShape> mma = getMatrixShape(kind))
    return shape.channels % mma->m == 0 && shape.reduction % mma->k == 0;
  // SIMT kernels read 4 (int8) or 2 (f16) consecutive reduction elements.
  int64_t group = kind == ComputeKind::I8 ? 4 : kind == ComputeKind::F16 ? 2 : 1;
  return shape.reduction % group == 0;
}

// Block sizes, as (channels, reduction); acceptsBlock() filters them per
// compute kind (int8 tensor cores on sm_80+ need a reduction of 32).
static const BlockShape kBlockMenu[] = {
    {16, 16}, {16, 32}, {32, 32}, {64, 64}, {32, 64}};

// Per kept element: f32 and f16 go through FFMA with a gathered operand;
// int8 through dot4 on groups of four reduction elements, about half full.
// Per block MAC: tensor cores run f16 at 8-16x and int8 at 16-32x the FFMA
// rate (halved for the fragment loads of an unstaged kernel); FFMA tiles read
// both operands contiguously, about 4x cheaper than a gathered element.
static constexpr KernelCosts kTuringCosts = {
    {1.0, 1.0, 0.5}, {0.25, 1.0 / 16, 1.0 / 32}, {8.0, 8.0, 8.0}, {},
    "analytical"};
static constexpr KernelCosts kAmpereCosts = {
    {1.0, 1.0, 0.5}, {0.25, 1.0 / 32, 1.0 / 64}, {8.0, 8.0, 8.0}, {},
    "analytical"};
// Defines kSm90MeasuredCosts.
#include "costs/sm_90.inc"
// 2:4 structured f16 blocks on an H200 at 0c33969
// (docs/gpu-runs/2026-11-21-h200-0c33969-structured-bench.log): the BERT-base
// FFN product (4096 x 768 x 3072) with a 2:4 weight, packed once, per block,
// in the units of kSm90MeasuredCosts through the dense 32x64 f16 blocks of the
// same run and weight (0.1271 ms for 1152 blocks = 46.43 units each). 64x64
// blocks, which run the staged kernel since 80d5cfd (in pairs of block rows
// since 9539cfc), were measured again at 9539cfc
// (docs/gpu-runs/2026-11-22-h200-9539cfc-bench.log: 0.0789 ms for 576
// blocks, dense 32x64 blocks 0.1270 ms).
static const MeasuredBlockCost kSm90StructuredBlocks[] = {
    {ComputeKind::F16, {16, 32}, 13.90},
    {ComputeKind::F16, {32, 32}, 20.75},
    {ComputeKind::F16, {32, 64}, 38.46},
    {ComputeKind::F16, {64, 64}, 57.69},
};
// gfx906: no matrix cores; v_dot2_f32_f16 and v_dot4_i32_i8 double and
// quadruple the FFMA rate.
static constexpr KernelCosts kVega20Costs = {
    {1.0, 0.75, 0.5}, {0.25, 1.0 / 8, 1.0 / 16}, {8.0, 8.0, 8.0}, {},
    "analytical"};

static const ChipDescription kChips[] = {
    {"sm_75", GPUBackend::NVVM, 32, 48 * 1024, 64 * 1024, 68, 5632 * 1024,
     MatrixShape{16, 8, 8}, MatrixShape{8, 8, 16}, std::nullopt, true, false,
     false, "+ptx70", kBlockMenu, kTuringCosts},
    {"sm_80", GPUBackend::NVVM, 32, 48 * 1024, 163 * 1024, 108,
     40 * 1024 * 1024, MatrixShape{16, 8, 16}, MatrixShape{16, 8, 32},
     MatrixShape{16, 8, 32}, true, false, true, "+ptx71", kBlockMenu,
     kAmpereCosts},
    {"sm_86", GPUBackend::NVVM, 32, 48 * 1024, 99 * 1024, 84, 6 * 1024 * 1024,
     MatrixShape{16, 8, 16}, MatrixShape{16, 8, 32}, MatrixShape{16, 8, 32},
     true, false, true, "+ptx71", kBlockMenu, kAmpereCosts},
    {"sm_89", GPUBackend::NVVM, 32, 48 * 1024, 99 * 1024, 128, 72 * 1024 * 1024,
     MatrixShape{16, 8, 16}, MatrixShape{16, 8, 32}, MatrixShape{16, 8, 32},
     true, false, true, "+ptx78", kBlockMenu, kAmpereCosts},
    {"sm_90", GPUBackend::NVVM, 32, 48 * 1024, 227 * 1024, 132,
     50 * 1024 * 1024, MatrixShape{16, 8, 16}, MatrixShape{16, 8, 32},
     MatrixShape{16, 8, 32}, true, false, true, "+ptx82", kBlockMenu,
     kSm90MeasuredCosts, kSm90StructuredBlocks,
     /*hasGridDependencyControl=*/true, /*hasWarpgroupMma=*/true, "sm_90a",
     /*hasTensorMemoryAccelerator=*/true},
    {"gfx906", GPUBackend::ROCDL, 64, 64 * 1024, 64 * 1024, 60, 4 * 1024 * 1024,
     std::nullopt, std::nullopt, std::nullopt, true, true, false, "",
     kBlockMenu, kVega20Costs},
};

const ChipDescription *tesa::lookupChip(llvm::StringRef name) {
  for (const ChipDescription &chip : kChips)
    if (chip.name == name)
      return &chip;
  return nullptr;
}

llvm::Expected<const ChipDescription &> tesa::getChip(llvm::StringRef name) {
  if (const ChipDescription *chip = lookupChip(name))
    return *chip;
  return llvm::createStringError("unknown chip '" + name +
                                 "'; known chips: " + getKnownChipNames());
}

llvm::Expected<const ChipDescription &>
tesa::getChip(GPUBackend backend, llvm::StringRef name) {
  llvm::Expected<const ChipDescription &> chip = getChip(name);
  if (!chip)
    return chip.takeError();
  llvm::StringRef target = getGPUBackendName(backend);
  if (chip->backend != backend)
    return llvm::createStringError("chip '" + name + "' is not a " + target +
                                   " chip; known " + target + " chips: " +
                                   getKnownChipNames(backend));
  return chip;
}

llvm::StringRef tesa::getGPUBackendName(GPUBackend backend) {
  return backend == GPUBackend::NVVM ? "nvvm" : "rocdl";
}

llvm::ArrayRef<ChipDescription> tesa::getKnownChips() { return kChips; }

std::string tesa::getKnownChipNames(std::optional<GPUBackend> backend) {
  std::string names;
  llvm::raw_string_ostream os(names);
  llvm::interleaveComma(
      llvm::make_filter_range(kChips,
                              [&](const ChipDescription &chip) {
                                return !backend || chip.backend == *backend;
                              }),
      os, [&](const ChipDescription &chip) { os << chip.name; });
  return names;
}
