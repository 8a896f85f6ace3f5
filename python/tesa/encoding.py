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
import re
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
                      inline_limit: int = 256,
                      hex_above: Optional[int] = None) -> SparsityEncoding:
    """The `#tesa.sparsity` encoding for `mask` (a grid over the tensor).

    A uniform mask gives `bits = N`. A mask of at most `inline_limit` entries
    is written inline (as a hexadecimal string when it has more than
    `hex_above` entries); a larger one needs `resource_name` and is written
    as a `dense_resource` blob (tesa-opt canonicalises every form the same
    way).
    """
    mask = _validate(mask)
    values = np.unique(mask)
    if values.size == 1:
        return SparsityEncoding(f"#tesa.sparsity<bits = {int(values[0])}>")
    type_text = _tensor_type(mask.shape)
    if mask.size <= inline_limit:
        literal = (_inline_literal(mask)
                   if hex_above is None or mask.size <= hex_above else
                   '"0x' + mask.astype(np.uint8).tobytes().hex().upper() + '"')
        return SparsityEncoding(
            f"#tesa.sparsity<map = dense<{literal}> : {type_text}>")
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


def _split_top_level(text: str, separator: str = ","):
    """Splits `text` at `separator`s outside any (), <>, [] or {}."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "(<[{":
            depth += 1
        elif char in ")>]}":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


_ELEMENT_BITS = {"f64": 64, "f32": 32, "f16": 16, "bf16": 16, "i64": 64,
                 "i32": 32, "i16": 16, "i8": 8, "index": 64}


def resource_blobs(ir_text: str):
    """The `builtin` resource blobs of a printed module, by name (bytes
    without the leading alignment word)."""
    blobs = {}
    for name, hex_text in re.findall(r'^\s*([\w.$-]+): "0x([0-9A-Fa-f]*)"',
                                     ir_text, flags=re.M):
        blobs[name] = bytes.fromhex(hex_text)[4:]
    return blobs


def parse_tensor_type(text: str, resources: Optional[dict] = None):
    """The shape, element type and per-element map of a printed tensor type.

    `text` is e.g. `tensor<4x8xf32, #tesa.sparsity<bits = 8>>`. The map is a
    numpy int array over the shape (0 = pruned, else bits); without an
    encoding every element is kept at full precision (32 bits at most).
    `dense_resource` maps are read from `resources` (see resource_blobs).
    """
    text = text.strip()
    if not (text.startswith("tensor<") and text.endswith(">")):
        raise ValueError(f"not a ranked tensor type: {text}")
    parts = _split_top_level(text[len("tensor<"):-1])
    *dims, element = parts[0].split("x")
    shape = tuple(int(d) for d in dims)
    full = max(b for b in ALLOWED_BITS
               if b <= min(_ELEMENT_BITS.get(element, 32), 32))
    if len(parts) == 1:
        return shape, element, np.full(shape, full, dtype=np.int64)
    encoding = parts[1]
    uniform = re.fullmatch(r"#tesa\.sparsity<bits = (\d+)>", encoding)
    if uniform:
        return shape, element, np.full(shape, int(uniform.group(1)),
                                       dtype=np.int64)
    inline = re.fullmatch(
        r"#tesa\.sparsity<map = (dense|dense_resource)<(.*)> : "
        r"tensor<([0-9x]+)xi8>>", encoding)
    if not inline:
        raise ValueError(f"cannot read the encoding {encoding}")
    grid = tuple(int(d) for d in inline.group(3).split("x"))
    literal = inline.group(2)
    if inline.group(1) == "dense_resource":
        if not resources or literal not in resources:
            raise ValueError(f"no data for dense_resource<{literal}>")
        entries = np.frombuffer(resources[literal], dtype=np.uint8)
    elif literal.startswith('"0x'):
        entries = np.frombuffer(bytes.fromhex(literal[3:-1]), dtype=np.uint8)
    else:
        entries = np.array(json.loads(literal))
    entries = entries.astype(np.int64).reshape(grid)
    for axis, (size, cells) in enumerate(zip(shape, grid)):
        entries = np.repeat(entries, size // cells, axis=axis)
    return shape, element, entries


def function_signature(ir_text: str, name: str):
    """The argument and result types of `func.func @name` in printed IR."""
    match = re.search(r"func\.func (?:private )?@" + re.escape(name) + r"\(",
                      ir_text)
    if not match:
        raise ValueError(f"no function @{name}")
    depth, i = 1, match.end()
    while depth:
        depth += {"(": 1, ")": -1}.get(ir_text[i], 0)
        i += 1
    arguments = [a.split(":", 1)[1] for a in
                 _split_top_level(ir_text[match.end():i - 1])]
    rest = ir_text[i:].lstrip()
    results = []
    if rest.startswith("->"):
        rest = rest[2:].strip()
        if rest.startswith("("):
            results = _split_top_level(rest[1:rest.index(") {")])
        else:
            results = [rest[:rest.index(" {")]]
    return arguments, results


def argument_masks(ir_text: str, name: str):
    """The per-element map of each argument of `func.func @name`."""
    arguments, _ = function_signature(ir_text, name)
    blobs = resource_blobs(ir_text)
    return [parse_tensor_type(a, blobs)[2] for a in arguments]
