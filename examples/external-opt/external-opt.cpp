//===- external-opt.cpp - An opt tool of another project that embeds tesa -===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// What a compiler engineer writes to embed tesa: register its dialect and
// passes next to the dialects of their own compiler (here just func and
// arith), and run MLIR's opt driver.
//
//===----------------------------------------------------------------------===//

#include "tesa/InitAll.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect, mlir::arith::ArithDialect>();
  tesa::registerAllDialects(registry);
  tesa::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "external-opt: embeds tesa\n", registry));
}
