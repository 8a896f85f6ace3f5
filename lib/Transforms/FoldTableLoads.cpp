//===- FoldTableLoads.cpp - Regular constant tables as index arithmetic ---===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Replaces each load from a constant 1-D integer global whose values have
// a TableForm by the form's arithmetic on the load's index, and erases the
// private globals no op reads any more (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "tesa/Support/TableForm.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace tesa {
#define GEN_PASS_DEF_FOLDTABLELOADS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {
struct FoldTableLoadsPass
    : public tesa::impl::FoldTableLoadsBase<FoldTableLoadsPass> {
  void runOnOperation() override;
};

/// The form of `global`'s values, where it is a constant 1-D table of
/// integers of at most 32 bits that has one.
static std::optional<TableForm> getTableForm(memref::GlobalOp global) {
  if (!global.getConstant())
    return std::nullopt;
  auto values =
      dyn_cast_or_null<DenseIntElementsAttr>(global.getInitialValueAttr());
  auto element =
      values ? dyn_cast<IntegerType>(values.getElementType()) : IntegerType();
  if (!element || element.getWidth() > 32 || values.getType().getRank() != 1)
    return std::nullopt;
  SmallVector<int32_t> table;
  for (const APInt &value : values.getValues<APInt>())
    table.push_back(int32_t(value.getSExtValue()));
  return fitTableForm(table);
}

/// A load at one index from a table that has a TableForm (`forms`, by
/// global, fitted once per run), as the form's arithmetic.
struct FoldTableLoad : public OpRewritePattern<memref::LoadOp> {
  FoldTableLoad(MLIRContext *context,
                const DenseMap<Operation *, TableForm> &forms)
      : OpRewritePattern(context), forms(forms) {}

  LogicalResult matchAndRewrite(memref::LoadOp load,
                                PatternRewriter &rewriter) const override {
    auto getGlobal = load.getMemRef().getDefiningOp<memref::GetGlobalOp>();
    if (!getGlobal || load.getIndices().size() != 1)
      return failure();
    auto it = forms.find(SymbolTable::lookupNearestSymbolFrom(
        getGlobal, getGlobal.getNameAttr()));
    if (it == forms.end())
      return failure();
    const TableForm *form = &it->second;
    Location loc = load.getLoc();
    Type type = load.getType();
    if (form->isConstant()) {
      rewriter.replaceOpWithNewOp<arith::ConstantOp>(
          load, rewriter.getIntegerAttr(type, form->base));
      return success();
    }
    // The arithmetic is in i32, which holds every index of a table and
    // every value of one: 32-bit division by a constant is a few
    // instructions (64-bit, as `index`, many more, in the copy loops of
    // the warpgroup kernels). The values wrap as the table's bits do.
    Type i32 = rewriter.getI32Type();
    auto constant = [&](int64_t value) -> Value {
      return arith::ConstantOp::create(rewriter, loc,
                                       rewriter.getI32IntegerAttr(value));
    };
    // base + step * (i mod period) + periodStep * (i div period), without
    // the terms whose factor is 0; the table is read at indices in [0,
    // size): unsigned division.
    Value i = arith::IndexCastUIOp::create(rewriter, loc, i32,
                                           load.getIndices().front());
    Value value;
    auto add = [&](Value term) {
      value = value ? arith::AddIOp::create(rewriter, loc, value, term) : term;
    };
    auto addTerm = [&](llvm::function_ref<Value()> build, int64_t factor) {
      if (factor == 0)
        return;
      Value term = build();
      if (factor != 1)
        term = arith::MulIOp::create(rewriter, loc, term, constant(factor));
      add(term);
    };
    if (form->isAffine()) {
      addTerm([&] { return i; }, form->step);
    } else {
      Value period = constant(form->period);
      addTerm([&] { return arith::RemUIOp::create(rewriter, loc, i, period); },
              form->step);
      addTerm([&] { return arith::DivUIOp::create(rewriter, loc, i, period); },
              form->periodStep);
    }
    if (form->base != 0)
      add(constant(form->base));
    if (type == i32)
      rewriter.replaceOp(load, value);
    else
      rewriter.replaceOpWithNewOp<arith::TruncIOp>(load, type, value);
    return success();
  }

  const DenseMap<Operation *, TableForm> &forms;
};
} // namespace

void FoldTableLoadsPass::runOnOperation() {
  DenseMap<Operation *, TableForm> forms;
  getOperation()->walk([&](memref::GlobalOp global) {
    if (std::optional<TableForm> form = getTableForm(global))
      forms[global] = *form;
  });
  RewritePatternSet patterns(&getContext());
  patterns.add<FoldTableLoad>(&getContext(), forms);
  walkAndApplyPatterns(getOperation(),
                       FrozenRewritePatternSet(std::move(patterns)));
  // The private tables no op reads any more.
  getOperation()->walk([](memref::GetGlobalOp getGlobal) {
    if (getGlobal->use_empty())
      getGlobal.erase();
  });
  SmallVector<memref::GlobalOp> unread;
  getOperation()->walk([&](memref::GlobalOp global) {
    Operation *scope = SymbolTable::getNearestSymbolTable(global);
    if (global.isPrivate() && global.getConstant() && scope &&
        SymbolTable::symbolKnownUseEmpty(global, scope))
      unread.push_back(global);
  });
  for (memref::GlobalOp global : unread)
    global.erase();
}
