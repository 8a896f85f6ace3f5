"""Python helpers for tesa (pure Python: no MLIR bindings are needed)."""

from .encoding import (ALLOWED_BITS, SparsityEncoding, function_signature,
                       parse_tensor_type, resource_section, sparsity_encoding)

__all__ = ["ALLOWED_BITS", "SparsityEncoding", "function_signature",
           "parse_tensor_type", "resource_section", "sparsity_encoding"]
