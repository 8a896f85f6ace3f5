"""Seed corpora for tesa's fuzz targets, from the lit tests and examples.

    python tools/tesa-fuzz/make_corpus.py OUT_DIR

writes OUT_DIR/module/ (every module of every .mlir file under test/ and
examples/, split at `// -----` as tesa-opt --split-input-file does) and
OUT_DIR/attribute/ (every distinct `tensor<...>` type text that carries a
`#tesa.sparsity` encoding, from the same files).
"""

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sources():
    for directory in ("test", "examples"):
        yield from sorted((ROOT / directory).rglob("*.mlir"))


def modules(text):
    for chunk in text.split("// -----"):
        if chunk.strip():
            yield chunk


def encoded_tensor_types(text):
    """Every `tensor<...>` whose angle brackets balance and that mentions
    #tesa.sparsity."""
    start = text.find("tensor<")
    while start >= 0:
        depth, end = 0, start + len("tensor")
        while end < len(text):
            if text[end] == "<":
                depth += 1
            elif text[end] == ">" and text[end - 1] != "-":
                depth -= 1
                if depth == 0:
                    break
            end += 1
        candidate = text[start:end + 1]
        if "#tesa.sparsity" in candidate and depth == 0:
            yield candidate
        start = text.find("tensor<", start + 1)


def write(directory, items):
    directory.mkdir(parents=True, exist_ok=True)
    for item in items:
        data = item.encode()
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main(out):
    out = Path(out)
    texts = [path.read_text() for path in sources()]
    write(out / "module", {m for t in texts for m in modules(t)})
    write(out / "attribute", {a for t in texts for a in encoded_tensor_types(t)})
    for name in ("module", "attribute"):
        print(f"{name}: {len(list((out / name).iterdir()))} seeds")


if __name__ == "__main__":
    main(sys.argv[1])
