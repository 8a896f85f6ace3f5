//===- NameKernels.cpp - Kernels named after the ops they compute ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Gives each `gpu.launch` the name its outlined kernel takes, from the
// launch's location: the module path an importer wrote (torch-mlir's
// "layer.0.dense (aten.mm.default)") or the source line.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

namespace tesa {
#define GEN_PASS_DEF_NAMEKERNELS
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct NameKernelsPass
    : public tesa::impl::NameKernelsBase<NameKernelsPass> {
  void runOnOperation() override;
};
} // namespace

/// The longest kernel name written (the rest of a long path is dropped).
static constexpr size_t kMaxNameLength = 80;

std::string tesa::getKernelNameFromLocation(Location loc,
                                            StringRef functionName) {
  std::string raw;
  loc->walk([&](Location inner) {
    if (auto name = dyn_cast<NameLoc>(inner)) {
      raw = name.getName().str();
      return WalkResult::interrupt();
    }
    auto file = dyn_cast<FileLineColLoc>(inner);
    if (!file || !raw.empty())
      return WalkResult::advance();
    // tesa.torch writes "<module path> (<aten op>) in <source>" as the file.
    auto [name, source] = file.getFilename().getValue().split(" in ");
    raw = source.empty()
              ? (functionName + "_line" + Twine(file.getLine())).str()
              : name.str();
    return WalkResult::advance();
  });
  // A PTX identifier: letters, digits and underscores, runs of anything
  // else as one underscore, not starting with a digit.
  std::string name;
  for (char c : raw) {
    bool word = llvm::isAlnum(c) || c == '_';
    if (word)
      name += c;
    else if (!name.empty() && name.back() != '_')
      name += '_';
    if (name.size() == kMaxNameLength)
      break;
  }
  while (!name.empty() && name.back() == '_')
    name.pop_back();
  if (!name.empty() && llvm::isDigit(name.front()))
    name = "k_" + name;
  return name;
}

void NameKernelsPass::runOnOperation() {
  getOperation()->walk([](gpu::LaunchOp launch) {
    if (launch.getFunction())
      return;
    auto function = launch->getParentOfType<FunctionOpInterface>();
    std::string name = tesa::getKernelNameFromLocation(
        launch.getLoc(), function ? function.getName() : StringRef());
    if (name.empty())
      return;
    MLIRContext *context = launch.getContext();
    launch.setFunctionAttr(FlatSymbolRefAttr::get(context, name));
  });
}
