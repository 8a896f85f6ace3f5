"""Python helpers for tesa (pure Python: no MLIR bindings are needed)."""

from .encoding import (ALLOWED_BITS, SparsityEncoding, function_signature,
                       parse_tensor_type, resource_section, sparsity_encoding)
from .runtime import Function, Library, TesaError, load

__all__ = ["ALLOWED_BITS", "Function", "Library", "SparsityEncoding",
           "TesaError", "function_signature", "load", "parse_tensor_type",
           "resource_section", "sparsity_encoding"]
