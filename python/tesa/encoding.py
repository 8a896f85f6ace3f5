"""Write `#tesa.sparsity` encodings from numpy masks.

A mask is an integer array with one entry per element (or per block) whose
values are 0 (pruned) or the bit width the element is kept at: 4, 8, 16, 32.
Small maps are written inline as `dense<...>`; large ones as
`dense_resource<name>` with the bytes in the file's `dialect_resources`
section, which is how a per-element mask of a real weight is stored.

    enc = sparsity_encoding(mask, resource_name="w1_mask")
    text = f"... tensor<1024x1024xf32, {enc.attribute}> ..." + resource_section([enc])
"""

import json
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

ALLOWED_BITS = (0, 4, 8, 16, 32)

# Resource blobs start with their alignment as a little-endian uint32.
_BLOB_ALIGNMENT = (1).to_bytes(4, "little")


@dataclass(frozen=True)
class SparsityEncoding:
    """The attribute text, and the resource blob it refers to if any."""

    attribute: str
    resource_name: Optional[str] = None
    resource_hex: Optional[str] = None


def _validate(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if not np.issubdtype(mask.dtype, np.integer):
        raise TypeError(f"a sparsity map holds integers, got {mask.dtype}")
    bad = ~np.isin(mask, ALLOWED_BITS)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"map entry {index} is {mask[index]}, expected one of "
                         f"{', '.join(map(str, ALLOWED_BITS))}")
    if mask.size == 0:
        raise ValueError("a sparsity map needs at least one entry")
    return mask.astype(np.int8)


def _tensor_type(shape) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + "i8>"


def _inline_literal(mask: np.ndarray) -> str:
    return json.dumps(mask.tolist())


def sparsity_encoding(mask, resource_name: Optional[str] = None,
                      inline_limit: int = 256) -> SparsityEncoding:
    """The `#tesa.sparsity` encoding for `mask` (a grid over the tensor).

    A uniform mask gives `bits = N`. A mask of at most `inline_limit` entries
    is written inline; a larger one needs `resource_name` and is written as a
    `dense_resource` blob (tesa-opt canonicalises either form the same way).
    """
    mask = _validate(mask)
    values = np.unique(mask)
    if values.size == 1:
        return SparsityEncoding(f"#tesa.sparsity<bits = {int(values[0])}>")
    type_text = _tensor_type(mask.shape)
    if mask.size <= inline_limit:
        return SparsityEncoding(
            f"#tesa.sparsity<map = dense<{_inline_literal(mask)}> : {type_text}>")
    if not resource_name or not resource_name.replace("_", "a").isalnum():
        raise ValueError("a large map needs a resource_name made of letters, "
                         "digits and '_'")
    blob = _BLOB_ALIGNMENT + mask.astype(np.uint8).tobytes(order="C")
    return SparsityEncoding(
        f"#tesa.sparsity<map = dense_resource<{resource_name}> : {type_text}>",
        resource_name, "0x" + blob.hex().upper())


def resource_section(encodings: Iterable[SparsityEncoding]) -> str:
    """The `{-# dialect_resources ... #-}` trailer for resource-backed maps."""
    entries = [f'      {e.resource_name}: "{e.resource_hex}"'
               for e in encodings if e.resource_name]
    if not entries:
        return ""
    return ("{-#\n  dialect_resources: {\n    builtin: {\n" +
            ",\n".join(entries) + "\n    }\n  }\n#-}\n")
