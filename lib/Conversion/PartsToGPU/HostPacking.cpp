//===- HostPacking.cpp - Pack constant weights at compile time ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// When a part's sparse operand is a constant of the module, its packed
// values and scales are computed here, at compile time, slot for slot as
// the pack kernel would compute them, and the pack kernel is not generated.
//
//===----------------------------------------------------------------------===//

#include "PartKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace tesa;

/// `value`, an f32 or f16, as the f32 it is exactly.
static float toFloat(APFloat value) {
  bool lost;
  value.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
  return value.convertToFloat();
}

std::optional<std::vector<float>> tesa::getConstantValues(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!constant || !type ||
      !isa<Float32Type, Float16Type>(type.getElementType()))
    return std::nullopt;
  bool isHalf = type.getElementType().isF16();
  if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue())) {
    std::vector<float> values;
    values.reserve(type.getNumElements());
    for (const APFloat &element : dense.getValues<APFloat>())
      values.push_back(toFloat(element));
    return values;
  }
  if (auto resource =
          dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    size_t elementBytes = isHalf ? sizeof(uint16_t) : sizeof(float);
    if (data.size() != elementBytes * size_t(type.getNumElements()))
      return std::nullopt;
    std::vector<float> values(type.getNumElements());
    if (!isHalf) {
      std::memcpy(values.data(), data.data(), data.size());
      return values;
    }
    for (size_t i = 0; i < values.size(); ++i) {
      uint16_t bits;
      std::memcpy(&bits, data.data() + 2 * i, sizeof(bits));
      values[i] = toFloat(APFloat(APFloat::IEEEhalf(), APInt(16, bits)));
    }
    return values;
  }
  return std::nullopt;
}

/// Visits the packed slots as the pack kernel fills them:
/// `visit(channel, slot, value)`, `value` being zero where the part keeps
/// nothing.
static void forEachSlot(const PartLayout &layout, ArrayRef<float> source,
                        function_ref<void(int64_t, int64_t, float)> visit) {
  int64_t p = layout.channels, k = layout.reduction;
  auto element = [&](int64_t channel, int64_t kk) {
    return source[layout.sparseIsLhs ? channel * k + kk : kk * p + channel];
  };
  for (size_t w = 0; w < layout.rows.size(); ++w) {
    int64_t lo = layout.offsets[w], hi = layout.offsets[w + 1];
    if (!layout.useMma) {
      int64_t channel = layout.rows[w];
      for (int64_t e = lo; e < hi; ++e) {
        uint32_t entry = uint32_t(layout.entries[e]);
        int64_t start = entry & 0xFFFFFF;
        for (int64_t t = 0; t < layout.group; ++t) {
          bool kept = (entry >> (24 + t)) & 1;
          visit(channel, e * layout.group + t,
                kept ? element(channel, start + t) : 0.0f);
        }
      }
      continue;
    }
    int64_t bc = layout.blockChannels, br = layout.blockReduction;
    int64_t words = (bc * br + 31) / 32;
    if (layout.compressed) {
      // A compressed block row's kept values, in reduction order.
      for (int64_t e = lo; e < hi; ++e)
        for (int64_t r = 0; r < bc; ++r) {
          int64_t channel = layout.rows[w] * bc + r;
          int64_t slot = layout.rowOffsets[e * bc + r];
          for (int64_t c = 0; c < br; ++c) {
            int64_t inBlock = r * br + c;
            uint32_t word =
                uint32_t(layout.blockMasks[e * words + inBlock / 32]);
            if ((word >> (inBlock % 32)) & 1)
              visit(channel, slot++,
                    element(channel, layout.entries[e] * br + c));
          }
        }
      continue;
    }
    for (int64_t r = 0; r < bc; ++r) {
      int64_t channel = layout.rows[w] * bc + r;
      if (channel >= p)
        break;
      for (int64_t e = lo; e < hi; ++e) {
        int64_t kBase = layout.entries[e] * br;
        // A block row packs its elements in order, or for a structured part
        // the ones its metadata names (zero where the block lacks them).
        int64_t length = layout.structured ? br / 2 : br;
        for (int64_t position = 0; position < length; ++position) {
          int64_t c = layout.structured
                          ? layout.getStructuredOffset(e, r, position)
                          : position;
          int64_t inBlock = r * br + c;
          uint32_t word = uint32_t(layout.blockMasks[e * words + inBlock / 32]);
          if (kBase + c < k && ((word >> (inBlock % 32)) & 1))
            visit(channel, (e * bc + r) * length + position,
                  element(channel, kBase + c));
        }
      }
    }
  }
}

HostPackedPart tesa::packOnHost(MLIRContext *context, const PartLayout &layout,
                                ArrayRef<float> source) {
  int64_t numPacked = layout.getNumPacked();
  std::vector<float> values(numPacked, 0.0f);
  std::vector<float> scales(layout.channels, 0.0f);
  forEachSlot(layout, source, [&](int64_t channel, int64_t slot, float value) {
    values[slot] = value;
    scales[channel] = std::max(scales[channel], std::fabs(value));
  });
  Type elementType = getPackedElementType(context, layout);
  auto packedType = RankedTensorType::get({numPacked}, elementType);
  HostPackedPart packed;
  switch (layout.compute) {
  case ComputeKind::F32:
    packed.values = DenseElementsAttr::get(packedType, ArrayRef<float>(values));
    return packed;
  case ComputeKind::F16: {
    SmallVector<APFloat> halves;
    for (float value : values) {
      APFloat half(value);
      bool losesInfo;
      half.convert(APFloat::IEEEhalf(), APFloat::rmNearestTiesToEven,
                   &losesInfo);
      halves.push_back(half);
    }
    packed.values = DenseElementsAttr::get(packedType, halves);
    return packed;
  }
  case ComputeKind::I8: {
    // The same arithmetic as PartMatmulOp::buildScale, buildInverseScale and
    // buildQuantise, in f32 with ties to even.
    float qmax = float(layout.qmax);
    std::vector<float> inverses;
    for (float &scale : scales) {
      scale /= qmax;
      inverses.push_back(scale > 0.0f ? 1.0f / scale : 0.0f);
    }
    std::vector<int8_t> quantised(numPacked, 0);
    forEachSlot(layout, source, [&](int64_t channel, int64_t slot, float value) {
      float ratio = value * inverses[channel];
      quantised[slot] =
          int8_t(std::nearbyint(std::clamp(ratio, -qmax, qmax)));
    });
    if (layout.packedInt4) {
      std::vector<int8_t> bytes(layout.getPackedBufferSize(), 0);
      for (auto [slot, value] : llvm::enumerate(quantised)) {
        auto [byte, high] = layout.getPackedByte(slot);
        bytes[byte] = int8_t(uint8_t(bytes[byte]) |
                             uint8_t((value & 15) << (high ? 4 : 0)));
      }
      quantised = std::move(bytes);
      packedType = RankedTensorType::get({layout.getPackedBufferSize()},
                                         elementType);
    }
    packed.values =
        DenseElementsAttr::get(packedType, ArrayRef<int8_t>(quantised));
    packed.scales = DenseElementsAttr::get(
        RankedTensorType::get({layout.channels}, Float32Type::get(context)),
        ArrayRef<float>(scales));
    return packed;
  }
  }
  return packed;
}
