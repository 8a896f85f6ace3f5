//===- ModuleFuzzer.cpp - Fuzzing parse, propagation and decomposition ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// libFuzzer target. An input is the text of a module. It is parsed and
// verified, then run through what `tesa-opt` runs before code generation:
// encoding verification, propagation (with its JSON report), the expansion
// of aggregated ops, decomposition and the sparsity summary. Errors are
// expected; findings are crashes, hangs (libFuzzer's -timeout), running out
// of memory (-rss_limit_mb), a pass manager that succeeds although a pass
// reported an error, and a decomposition that `--tesa-check-decomposition`
// rejects (checked for inputs that held no decomposition of their own).
// Inputs with a tensor of more than 2^31 elements are skipped: their work is
// legitimately proportional to their size (decomposition plans up to 2^28
// cells, a 2^32-element block map takes 3 s natively and a minute under the
// sanitizers), which would read as hangs. So are inputs that crash MLIR 22's
// own parser (see hitsUpstreamParserCrash), which tesa cannot fix.
//
//===----------------------------------------------------------------------===//

#include "FuzzContext.h"

#include "tesa/Analysis/SparsityLattice.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"

#include <cstdint>
#include <string>

using namespace mlir;

/// The passes up to decomposition, as `tesa-opt` would run them.
static void addAnalysisPasses(PassManager &pm) {
  pm.addPass(tesa::createVerifyEncodings());
  tesa::PropagateOptions propagate;
  propagate.report = "/dev/null";
  propagate.reportFormat = "json";
  pm.addPass(tesa::createPropagate(propagate));
  pm.addPass(tesa::createDecomposeAggregatedOps());
  pm.addPass(tesa::createDecompose());
  tesa::SparsitySummaryOptions summary;
  summary.outputFile = "/dev/null";
  pm.addPass(tesa::createSparsitySummary(summary));
}

/// Whether `module` holds parts or kernel regions already (lit tests of the
/// later passes do), which decomposition leaves as they are.
static bool hasDecomposition(ModuleOp module) {
  WalkResult found = module.walk([](Operation *op) {
    bool tesaOp = isa<tesa::TesaDialect>(op->getDialect());
    return tesaOp && !isa<tesa::AnnotateOp>(op) ? WalkResult::interrupt()
                                                : WalkResult::advance();
  });
  return found.wasInterrupted();
}

/// Whether `text` would crash MLIR 22's own parser: a resource blob whose
/// alignment is not a power of two, or a `permutation =` or `dimensions =`
/// not followed by a well-formed integer list (the custom parsers of
/// linalg.transpose, linalg.broadcast and linalg.reduce then store a null
/// attribute and crash; `mlir-opt` too, on `linalg.transpose permutation=`).
static bool hitsUpstreamParserCrash(llvm::StringRef text) {
  // A resource blob starts with its alignment, a little-endian uint32;
  // MLIR 22 aborts allocating a blob whose alignment is not a power of two
  // (mlir-opt too).
  static const llvm::Regex blob("\"0x([0-9A-Fa-f]{8})");
  llvm::SmallVector<llvm::StringRef> found;
  for (llvm::StringRef rest = text; blob.match(rest, &found);
       rest =
           rest.drop_front(found[0].data() + found[0].size() - rest.data())) {
    uint32_t alignment = 0;
    for (int byte = 3; byte >= 0; --byte) {
      unsigned value = 0;
      found[1].substr(2 * byte, 2).getAsInteger(16, value);
      alignment = alignment << 8 | value;
    }
    if (!llvm::isPowerOf2_32(alignment))
      return true;
  }
  static const llvm::Regex keyword("(permutation|dimensions)[[:space:]]*=");
  // Entries of more than 18 digits may overflow i64, which crashes too.
  static const llvm::Regex list("^[[:space:]]*\\[[[:space:]]*(-?[0-9]{1,18}"
                                "[[:space:]]*(,[[:space:]]*-?[0-9]{1,18}"
                                "[[:space:]]*)*)?\\]");
  llvm::SmallVector<llvm::StringRef> match;
  while (keyword.match(text, &match)) {
    text = text.drop_front(match[0].data() + match[0].size() - text.data());
    if (!list.match(text))
      return true;
  }
  return false;
}

/// Whether `text` has a decimal literal of more than 1000 digits: MLIR 22
/// takes time quadratic in its length to parse one (97 s for 47,000 digits,
/// mlir-opt too), which would read as a hang.
static bool hasHugeIntegerLiteral(llvm::StringRef text) {
  size_t run = 0;
  bool inWord = false;
  for (char c : text) {
    if (llvm::isDigit(c)) {
      if (!inWord && ++run > 1000)
        return true;
      continue;
    }
    run = 0;
    inWord = llvm::isAlpha(c) || c == '_';
  }
  return false;
}

/// Whether `module` has a static tensor of more than 2^31 elements.
static bool hasHugeTensor(ModuleOp module) {
  auto isHuge = [](Type type) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor || !tensor.hasStaticShape())
      return false;
    std::optional<int64_t> count = tesa::getCheckedElementCount(tensor);
    return !count || *count > tesa::kMaxTrackedElements;
  };
  WalkResult found = module.walk([&](Operation *op) {
    for (Type type : op->getResultTypes())
      if (isHuge(type))
        return WalkResult::interrupt();
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument argument : block.getArguments())
          if (isHuge(argument.getType()))
            return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return found.wasInterrupted();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &context = tesa::fuzz::getContext();
  tesa::fuzz::ErrorCounter errors(context);
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  if (hitsUpstreamParserCrash(text) || hasHugeIntegerLiteral(text))
    return 0;
  // A null-terminated copy followed by a closing brace: MLIR 22's lexer can
  // run past the terminator on some unterminated tokens (reading, in
  // tesa-opt, the zeroed rest of a file's last page), and the brace gives
  // it a token to stop at.
  std::string padded = text.str();
  padded.append(std::string(1, '\0') + "}");
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBuffer(
                                 llvm::StringRef(padded.data(), text.size()),
                                 "input",
                                 /*RequiresNullTerminator=*/true),
                             llvm::SMLoc());
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sources, ParserConfig(&context));
  // MLIR 22's parser can report an error and still return the module (a
  // `.` after a dialect attribute in a type: "expected three consecutive
  // dots for an ellipsis"; mlir-opt too, which then exits 0).
  if (!module || errors.getErrors() || failed(verify(*module)) ||
      hasHugeTensor(*module))
    return 0;

  bool decomposedAlready = hasDecomposition(*module);
  PassManager analysis(&context);
  addAnalysisPasses(analysis);
  if (failed(analysis.run(*module)))
    return 0;
  if (errors.getErrors())
    tesa::fuzz::reportFinding("a pass reported an error, yet the pipeline "
                              "succeeded");

  if (decomposedAlready)
    return 0;
  PassManager check(&context);
  check.addPass(tesa::createCheckDecomposition());
  if (failed(check.run(*module)))
    tesa::fuzz::reportFinding("--tesa-check-decomposition rejects what "
                              "--tesa-decompose produced");
  return 0;
}
