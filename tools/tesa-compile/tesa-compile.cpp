//===- tesa-compile.cpp - Ahead-of-time compiler to a shared library ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
//   tesa-compile model.mlir --target=nvvm --chip=sm_90 -o model.so
//
// Runs the whole GPU pipeline in-process (sparsity propagation, decomposition,
// specialised and generic kernels, host code), emits the host object file,
// generates the C entry points and their header, and links a shared library
// with the kernels and the runtime embedded. Needs a C compiler driver
// (`--cc`, default $CC or `cc`) for the entry points and the link; needs no
// GPU.
//
//===----------------------------------------------------------------------===//

#include "tesa/Compiler/HostObject.h"
#include "tesa/Compiler/LibraryInterface.h"
#include "tesa/InitAll.h"
#include "tesa/Pipelines/Pipelines.h"
#include "tesa/Target/ChipDescription.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("tesa-compile options");
static cl::opt<std::string> inputFilename(cl::Positional,
                                          cl::desc("<input .mlir>"),
                                          cl::Required, cl::cat(category));
static cl::opt<std::string>
    outputFilename("o", cl::desc("The shared library to write"),
                   cl::value_desc("library.so"), cl::Required,
                   cl::cat(category));
static cl::opt<std::string>
    headerFilename("header",
                   cl::desc("The C header to write (default: the library's "
                            "path with .h)"),
                   cl::cat(category));
static cl::opt<tesa::GPUBackend> target("target", cl::desc("GPU backend"),
                                        cl::init(tesa::GPUBackend::NVVM),
                                        tesa::getGPUBackendValues(),
                                        cl::cat(category));
static cl::opt<std::string> chip("chip",
                                 cl::desc("Chip: sm_75, sm_80, sm_86, sm_89, "
                                          "sm_90 (nvvm) or gfx906 (rocdl)"),
                                 cl::init("sm_90"), cl::cat(category));
static cl::opt<tesa::KernelFormat> format(
    "format", cl::desc("How the library keeps its kernels"),
    cl::init(tesa::KernelFormat::Bin),
    cl::values(clEnumValN(tesa::KernelFormat::Bin, "bin", "cubin / HSACO"),
               clEnumValN(tesa::KernelFormat::Isa, "isa",
                          "PTX, compiled by the driver when the library is "
                          "loaded (AMDGPU assembly for rocdl)")),
    cl::cat(category));
static cl::opt<tesa::DecompositionOptions::Mode>
    plan("plan", cl::desc("Decomposition plan"),
         cl::init(tesa::DecompositionOptions::Mode::Auto),
         tesa::getDecompositionPlanValues(), cl::cat(category));
static cl::opt<std::string>
    blockShape("block-shape", cl::desc("Block shape for --plan=block and "
                                 "--plan=structured"),
               cl::init("16x16"), cl::cat(category));
static cl::opt<std::string> rocmToolkit(
    "rocm-toolkit",
    cl::desc("Directory with llvm/bin/ld.lld and amdgcn/bitcode, for "
             "linking HSACO (default: the one the build prepared)"),
    cl::init(tesa::getDefaultROCmToolkit()), cl::cat(category));
static cl::opt<bool> kernelRegions(
    "kernel-regions",
    cl::desc("Compile contractions, softmaxes and layer norms outside the "
             "decomposed parts as kernel regions (false: the generic path)"),
    cl::init(true), cl::cat(category));
static cl::opt<bool> decodeProducts(
    "decode-products",
    cl::desc("Compute the parts of a product of at most 64 dense columns in "
             "one launch (false: one launch per part)"),
    cl::init(true), cl::cat(category));
static cl::opt<bool> fineTensorCores(
    "fine-tensor-cores",
    cl::desc("Compute fine-grained 16-bit parts of f16 programs that keep at "
             "least 5% of their elements on tensor cores, from compressed "
             "tiles (false: on the SIMT kernel)"),
    cl::init(true), cl::cat(category));
static cl::opt<bool> wgmmaStructured(
    "wgmma-structured",
    cl::desc("Compute 2:4 structured parts of 64-channel blocks on sparse "
             "warpgroup tensor cores (wgmma.mma_async.sp) where the chip has "
             "them (false: on mma.sp)"),
    cl::init(true), cl::cat(category));
static cl::opt<tesa::BlockClusters> blockClusters(
    "block-clusters",
    cl::desc("Where tiles of groups of block rows (f16 kept-block parts, "
             "int8 block parts) run in clusters that load each slice of the "
             "dense operand once for all their tiles (TMA multicast, sm_90)"),
    cl::init(tesa::BlockClusters::Auto), tesa::getBlockClustersValues(),
    cl::cat(category));
static cl::list<int64_t> structuredTiling(
    "structured-tiling",
    cl::desc("The tiling of every 2:4 structured part on wgmma.mma_async.sp "
             "instead of the heuristic's: dense columns a warpgroup, "
             "warpgroups, slabs of 64 channels a block, walk slices "
             "(split-K), ring slots (0: the heuristic's); e.g. 128,1,1,2,0"),
    cl::CommaSeparated, cl::cat(category));
static cl::opt<int64_t> convolutionRun(
    "convolution-run",
    cl::desc("The most neighbouring outputs a thread of a convolution "
             "kernel computes (1: one output a thread)"),
    cl::init(8), cl::cat(category));
static cl::opt<bool> programmaticLaunch(
    "programmatic-launch",
    cl::desc("On sm_90, let each kernel start while the previous one "
             "finishes (programmatic dependent launch)"),
    cl::init(true), cl::cat(category));
static cl::opt<bool> propagate("propagate",
                               cl::desc("Propagate sparsity through the "
                                        "whole program first"),
                               cl::init(true), cl::cat(category));
static cl::opt<bool> packEntryPoints(
    "pack-entry-points",
    cl::desc("Add <f>_pack and <f>_packed for public functions that pack "
             "argument weights, so that packing runs once"),
    cl::init(true), cl::cat(category));
static cl::opt<std::string>
    runtimeLibrary("runtime",
                   cl::desc("libtesa_runtime_static.a to embed (default: "
                            "next to tesa-compile's lib/ directory)"),
                   cl::cat(category));
static cl::opt<std::string> compilerDriver(
    "cc", cl::desc("C compiler driver for the entry points and the link"),
    cl::cat(category));
static cl::opt<std::string>
    tempDirectory("save-temps",
                  cl::desc("Keep the intermediate files in this directory"),
                  cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "tesa-compile: error: " << message << "\n";
  return EXIT_FAILURE;
}

static std::string findRuntimeLibrary(const char *argv0) {
  if (!runtimeLibrary.empty())
    return runtimeLibrary;
  std::string executable =
      llvm::sys::fs::getMainExecutable(argv0, (void *)&findRuntimeLibrary);
  llvm::SmallString<256> path(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(executable)));
  llvm::sys::path::append(path, "lib", "libtesa_runtime_static.a");
  return std::string(path);
}

/// Compiles the entry points and links the library with `driver`.
static int linkLibrary(StringRef driver, StringRef workDir,
                       StringRef entrySource, StringRef hostObject,
                       StringRef runtime, StringRef headerDir,
                       const tesa::LibraryDescription &library) {
  llvm::SmallString<256> exportMap(workDir);
  llvm::sys::path::append(exportMap, "exports.map");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(exportMap, ec);
    if (ec)
      return fail("cannot write " + exportMap + ": " + ec.message());
    os << "{\n  global:\n    tesa_library_metadata;\n    tesa_rt_*;\n";
    for (const tesa::EntryPoint &entry : library.entryPoints)
      os << "    " << entry.name << ";\n";
    os << "  local: *;\n};\n";
  }
  std::string includeFlag = ("-I" + headerDir).str();
  std::string mapFlag = ("-Wl,--version-script=" + exportMap).str();
  // The entry points use the runtime embedded in this library, even in a
  // process that has another copy loaded.
  SmallVector<StringRef> args = {driver, "-shared", "-fPIC", "-O2",
                                 "-std=c11", includeFlag, "-x", "c",
                                 entrySource, "-x", "none", hostObject,
                                 runtime, mapFlag, "-Wl,-Bsymbolic", "-o",
                                 outputFilename,
                                 "-lstdc++", "-ldl", "-lpthread", "-lm"};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(driver, args, std::nullopt, {}, 0, 0,
                                         &message);
  if (status != 0)
    return fail("linking " + outputFilename + " with " + driver + " failed" +
                (message.empty() ? "" : ": " + message));
  return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "tesa-compile: compile a linalg program with #tesa.sparsity encodings "
      "into a shared library for a GPU\n");

  if (llvm::Error error = tesa::getChip(target, chip).takeError())
    return fail(llvm::toString(std::move(error)));

  std::string runtime = findRuntimeLibrary(argv[0]);
  if (!llvm::sys::fs::exists(runtime))
    return fail("runtime library " + runtime +
                " not found; build tesa_runtime_static or pass --runtime");
  std::string driverName = compilerDriver;
  if (driverName.empty())
    driverName = getenv("CC") ? getenv("CC") : "cc";
  llvm::ErrorOr<std::string> driver = llvm::sys::findProgramByName(driverName);
  if (!driver)
    return fail("C compiler '" + driverName +
                "' not found; tesa-compile needs one to link (set --cc or CC)");

  DialectRegistry registry;
  tesa::registerAllDialectsAndTranslations(registry);
  MLIRContext context(registry);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  std::string errorMessage;
  auto input = openInputFile(inputFilename, &errorMessage);
  if (!input)
    return fail(errorMessage);
  sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return EXIT_FAILURE;

  PassManager verify(&context);
  tesa::addEncodingChecks(verify);
  if (propagate)
    verify.addPass(tesa::createPropagate());
  if (failed(verify.run(*module)))
    return EXIT_FAILURE;

  tesa::LibraryDescription library;
  library.libraryName = llvm::sys::path::stem(outputFilename).str();
  library.source = llvm::sys::path::filename(inputFilename).str();
  library.target = tesa::getGPUBackendName(target).str();
  library.chip = chip;
  library.format = tesa::getKernelFormatName(format).str();
  // Checked before the slow part, and collected again after the parts
  // pipeline, which may add weight-packing entry points.
  if (failed(tesa::collectEntryPoints(*module, library.entryPoints)))
    return EXIT_FAILURE;

  tesa::GPUPipelineOptions options;
  options.target = target.getValue();
  options.chip = chip;
  options.format = format.getValue();
  options.plan = plan;
  options.blockShape = blockShape;
  options.packEntryPoints = packEntryPoints;
  options.kernelRegions = kernelRegions;
  options.decodeProducts = decodeProducts;
  options.fineTensorCores = fineTensorCores;
  options.wgmmaStructured = wgmmaStructured;
  options.blockClusters = blockClusters;
  options.structuredTiling = structuredTiling;
  options.convolutionRun = convolutionRun;
  options.programmaticLaunch = programmaticLaunch;
  options.rocmToolkit = rocmToolkit;
  PassManager parts(&context);
  tesa::buildGPUPartsPipeline(parts, options);
  if (failed(parts.run(*module)) ||
      failed(tesa::collectEntryPoints(*module, library.entryPoints)) ||
      failed(tesa::renameEntryPoints(*module, library.entryPoints)))
    return EXIT_FAILURE;
  PassManager lowering(&context);
  tesa::buildGPULoweringPipeline(lowering, options);
  if (failed(lowering.run(*module)))
    return EXIT_FAILURE;

  llvm::SmallString<256> workDir(tempDirectory);
  if (workDir.empty()) {
    if (std::error_code ec =
            llvm::sys::fs::createUniqueDirectory("tesa-compile", workDir))
      return fail("cannot create a temporary directory: " + ec.message());
  } else if (std::error_code ec = llvm::sys::fs::create_directories(workDir)) {
    return fail("cannot create " + workDir + ": " + ec.message());
  }
  llvm::scope_exit removeWorkDir([&] {
    if (tempDirectory.empty())
      llvm::sys::fs::remove_directories(workDir);
  });

  llvm::SmallString<256> hostObject(workDir), entrySource(workDir);
  llvm::sys::path::append(hostObject, "host.o");
  llvm::sys::path::append(entrySource, "entry.c");
  if (failed(tesa::emitHostObject(*module, hostObject)))
    return EXIT_FAILURE;

  std::string header = headerFilename;
  if (header.empty()) {
    llvm::SmallString<256> path(outputFilename);
    llvm::sys::path::replace_extension(path, "h");
    header = std::string(path);
  }
  auto headerFile = openOutputFile(header, &errorMessage);
  auto entryFile = openOutputFile(entrySource, &errorMessage);
  if (!headerFile || !entryFile)
    return fail(errorMessage);
  tesa::writeLibraryHeader(library, headerFile->os());
  tesa::writeEntryPointSource(library, llvm::sys::path::filename(header),
                              entryFile->os());
  headerFile->keep();
  entryFile->keep();
  headerFile->os().close();
  entryFile->os().close();

  llvm::SmallString<256> headerDir(header);
  llvm::sys::fs::make_absolute(headerDir);
  llvm::sys::path::remove_filename(headerDir);
  return linkLibrary(*driver, workDir, entrySource, hostObject, runtime,
                     headerDir, library);
}
