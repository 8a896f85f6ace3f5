# -*- Python -*- lit configuration for tesa.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "tesa"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tesa_obj_root, "test")
config.excludes = ["Inputs", "Unit", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.tesa_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

config.substitutions.append(("%tesa_src_root", config.tesa_src_root))
config.substitutions.append(("%tesa_obj_root", config.tesa_obj_root))
config.substitutions.append(("%external_opt", config.tesa_external_opt))
llvm_config.add_tool_substitutions(["tesa-opt"], [config.tesa_tools_dir])

# Cubin serialisation needs ptxas from the CUDA toolkit; without it, the
# NVVM pipeline can still emit PTX (format=isa).
if os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")
    llvm_config.with_environment("PATH", "/usr/local/cuda/bin", append_path=True)
    # ptxas from CUDA 13 exits with status 255 and no message without it.
    llvm_config.with_environment("CUDA_HOME", "/usr/local/cuda")
