"""PyTorch models in, tesa programs out.

    import tesa.torch
    exported = tesa.torch.export(model, (x,))      # masks from torch.nn.utils.prune
    exported.save("model.mlir")                    # then: tesa-compile model.mlir -o model.so
    run = tesa.torch.compile(model, (x,))          # or both steps, cached
    y = run(x)                                     # CUDA tensors in and out

`export` runs torch-mlir's FX importer (`torch.export`, then
linalg-on-tensors) and attaches a `#tesa.sparsity` encoding to every weight
that has a mask, so that the propagation and decomposition passes see the
sparsity the user already has. Masks come from

* `torch.nn.utils.prune`: every `<name>_mask` buffer of a pruned module
  (found automatically; the pruning is applied to a copy of the model);
* `masks={"fc1.weight": mask}`: per parameter, 0/1 or bit widths
  (0, 4, 8, 16, 32), with one entry per element or per block (a grid whose
  shape divides the parameter's);
* `bits={"fc1.weight": 8}` or `bits=8`: the width kept elements are stored
  at, per parameter or for every masked one.

Weights become function arguments (`weights="arguments"`, the default:
tesa-compile's `_pack` entry point packs them once) or constants
(`weights="constants"`: packed when the library is compiled). Batch norms
that follow a convolution are folded into it first (eval mode).
"""

import copy
import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.utils.prune

from .encoding import ALLOWED_BITS, sparsity_encoding
from .runtime import TesaError, load

__all__ = ["CompiledModule", "Exported", "compile", "compile_mlir", "export",
           "prepare"]

MaskLike = Union[torch.Tensor, np.ndarray]

_WEIGHT_MODES = ("arguments", "constants")
_ELEMENT_BITS = {torch.float32: 32, torch.float16: 16, torch.bfloat16: 16}
# Maps with more entries than this are written as hexadecimal strings.
_HEX_ABOVE = 256


@dataclass
class Exported:
    """A model exported to MLIR with its masks as encodings."""
    mlir: str
    function: str
    #: For each function argument: ("input", index) or ("parameter", name).
    arguments: List[tuple]
    #: The map of every encoded parameter (entries 0 or bits, at the
    #: coarsest grid that describes it).
    maps: Dict[str, np.ndarray] = field(default_factory=dict)
    #: The model the program computes: pruning applied, batch norms folded.
    model: Optional[torch.nn.Module] = None

    def save(self, path):
        Path(path).write_text(self.mlir)
        return path

    @property
    def parameter_names(self):
        return [name for kind, name in self.arguments if kind == "parameter"]


# --- masks -------------------------------------------------------------------


def _apply_pruning(model):
    """Makes torch.nn.utils.prune's masks permanent on `model` (a copy) and
    returns them by parameter name."""
    found = {}
    for module_name, module in model.named_modules():
        for buffer_name, buffer in list(module.named_buffers(recurse=False)):
            if not buffer_name.endswith("_mask"):
                continue
            parameter = buffer_name[:-len("_mask")]
            if not hasattr(module, parameter + "_orig"):
                continue
            torch.nn.utils.prune.remove(module, parameter)
            prefix = f"{module_name}." if module_name else ""
            found[prefix + parameter] = buffer.detach().cpu()
    return found


def _copy_model(model):
    """A deep copy of `model`; the weights torch.nn.utils.prune computes
    (not graph leaves, which deepcopy refuses) are copied detached."""
    memo = {}
    for module in model.modules():
        for name, value in vars(module).items():
            if isinstance(value, torch.Tensor) and not value.is_leaf:
                memo[id(value)] = value.detach().clone()
    return copy.deepcopy(model, memo)


def _as_array(value, what):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype == bool:
        array = array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        if not np.all(array == np.round(array)):
            raise TesaError(f"{what}: a mask holds 0/1 or bit widths, got "
                            "fractions")
        array = array.astype(np.int64)
    return array


def _parameter_map(name, mask, bits, parameter):
    """The map (0 or bits per entry) of `parameter` from a user's mask and
    bit width; None when it keeps everything at full width."""
    shape = tuple(parameter.shape)
    full = _ELEMENT_BITS.get(parameter.dtype)
    if full is None:
        raise TesaError(f"{name}: tesa encodes float32, float16 and bfloat16 "
                        f"parameters, got {parameter.dtype}")
    if bits is not None and bits not in ALLOWED_BITS[1:]:
        raise TesaError(f"{name}: bits must be one of 4, 8, 16, 32, got {bits}")
    if bits is not None and bits > full:
        raise TesaError(f"{name}: {bits} bits is more than its {full}-bit "
                        "elements hold")
    if mask is None:
        grid = np.full((1,) * len(shape), full, dtype=np.int64)
    else:
        grid = _as_array(mask, name)
        if grid.ndim != len(shape) or any(
                c == 0 or s % c for s, c in zip(shape, grid.shape)):
            raise TesaError(
                f"{name}: mask of shape {tuple(grid.shape)} does not match "
                f"the parameter's shape {shape} (one entry per element, or "
                "a grid whose shape divides it)")
        values = set(np.unique(grid).tolist())
        if not (values <= {0, 1} or values <= set(ALLOWED_BITS)):
            raise TesaError(f"{name}: mask entries are 0/1 or bit widths "
                            f"{ALLOWED_BITS}, got {sorted(values)}")
        if max(values) > full:
            raise TesaError(f"{name}: mask keeps {max(values)} bits, more "
                            f"than its {full}-bit elements hold")
        if values <= {0, 1}:
            grid = grid * full
    if bits is not None:
        grid = np.minimum(grid, bits)
    if (grid == full).all():
        return None
    return _coarsest(grid)


def _coarsest(grid):
    """The smallest grid that expands to `grid`: along each axis, the
    largest run length that divides it and over which it is constant."""
    for axis in range(grid.ndim):
        size = grid.shape[axis]
        for cells in range(1, size + 1):
            if size % cells:
                continue
            run = size // cells
            sample = np.take(grid, np.arange(0, size, run), axis=axis)
            if np.array_equal(np.repeat(sample, run, axis=axis), grid):
                grid = sample
                break
    return grid.astype(np.int8)


def _expand(grid, shape):
    for axis, size in enumerate(shape):
        grid = np.repeat(grid, size // grid.shape[axis], axis=axis)
    return grid


def _resolve_maps(model, pruned, masks, bits):
    parameters = dict(model.named_parameters())
    masks = dict(pruned, **(masks or {}))
    unknown = [n for n in masks if n not in parameters]
    if isinstance(bits, dict):
        unknown += [n for n in bits if n not in parameters]
    if unknown:
        raise TesaError(f"no parameter named {', '.join(sorted(unknown))} in "
                        f"{type(model).__name__}")
    names = list(masks) if not isinstance(bits, dict) else list(
        dict.fromkeys(list(masks) + list(bits)))
    maps = {}
    for name in names:
        width = bits.get(name) if isinstance(bits, dict) else bits
        grid = _parameter_map(name, masks.get(name), width, parameters[name])
        if grid is not None:
            maps[name] = grid
    return maps


def _zero_pruned(model, maps):
    """Zeroes what the maps prune, so that the model PyTorch runs and the
    program tesa compiles compute the same function."""
    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name, grid in maps.items():
            parameter = parameters[name]
            keep = torch.from_numpy(_expand(grid, parameter.shape) > 0)
            parameter.mul_(keep.to(parameter.device, parameter.dtype))


# --- export ------------------------------------------------------------------


def prepare(model: torch.nn.Module, *, masks=None, bits=None,
            fold_batch_norm: bool = True):
    """The model `export` exports, and the maps of its encoded parameters:
    a copy of `model` with torch.nn.utils.prune's masks made permanent,
    what the maps prune zeroed, and (in eval mode) batch norms folded into
    the convolutions before them."""
    model = _copy_model(model)
    # torch-mlir's importer finds buffers in the state dict only.
    for module in model.modules():
        module._non_persistent_buffers_set.clear()
    pruned = _apply_pruning(model)
    maps = _resolve_maps(model, pruned, masks, bits)
    _zero_pruned(model, maps)
    if fold_batch_norm:
        model = _fold_batch_norms(model)
    return model, maps


def _fold_batch_norms(model):
    if model.training:
        return model
    from torch.fx.experimental.optimization import fuse
    try:
        return fuse(model)
    except Exception:  # not symbolically traceable: keep the batch norms
        return model


class _Functional(torch.nn.Module):
    """`model` with its parameters as trailing arguments."""

    def __init__(self, model, names, inputs):
        super().__init__()
        self.model = model
        self.names = names
        self.inputs = inputs

    def forward(self, *args):
        state = dict(self.model.named_buffers())
        state.update(zip(self.names, args[self.inputs:]))
        return torch.func.functional_call(self.model, state,
                                          args[:self.inputs])


def _import_failure(error):
    """The lines of an exporter's error that name what failed."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return "\n".join((errors or lines or [type(error).__name__])[:8])


def _module_path(node):
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "<top level>"
    path = list(stack.values())[-1][0]
    path = re.sub(r"^L\['self'\]\.?", "", path)
    return re.sub(r"^model(\.|$)", "", path) or "<top level>"


class _ModuleLocations:
    """Within it, torch-mlir locates each op at the module path and ATen op
    it came from, then its source line, so that a diagnostic of tesa-compile
    reads `features.3.conv.0.0 (aten.convolution.default) in
    .../mobilenetv2.py:166:0: error: ...`."""

    def __enter__(self):
        from torch_mlir.extras import fx_importer
        from torch_mlir.ir import Location
        self.original = original = fx_importer.ContextCache.get_node_location

        def located(cache, node):
            if original(cache, node) is None:
                return None
            trace = node.meta.get("stack_trace") or ""
            frames = re.findall(r'File "([^"]+)", line ([0-9]+),', trace)
            source, line = frames[-1] if frames else ("<unknown>", 0)
            # Code torch.fx generates is numbered per process.
            source = re.sub(r"^<eval_with_key>\.\d+$", "<generated>", source)
            name = f"{_module_path(node)} ({node.target}) in {source}"
            return Location.file(name, int(line), 0, context=cache._c)

        fx_importer.ContextCache.get_node_location = located
        return self

    def __exit__(self, *exc):
        from torch_mlir.extras import fx_importer
        fx_importer.ContextCache.get_node_location = self.original
        return False


def _import(module, inputs, hooks, name, model_name):
    try:
        from torch_mlir import fx
    except ImportError as error:
        raise TesaError("tesa.torch needs torch-mlir (scripts/setup.sh "
                        f"installs it): {error}") from None
    try:
        program = torch.export.export(module, tuple(inputs), strict=False)
    except Exception as error:
        raise TesaError(f"torch.export cannot export {model_name}:\n"
                        f"{_import_failure(error)}") from None
    hooks.bind(program)
    from torch_mlir import ir
    from torch_mlir.dialects import torch as torch_dialect
    from torch_mlir.extras.fx_importer import FxImporter
    context = ir.Context()
    torch_dialect.register_dialect(context)
    diagnostics = []

    def collect(diagnostic):
        diagnostics.append(f"{diagnostic.location}: {diagnostic.message}")
        return True
    handler = context.attach_diagnostic_handler(collect)
    try:
        with _ModuleLocations():
            return fx.export_and_import(
                program, output_type="linalg-on-tensors",
                fx_importer=FxImporter(context=context, hooks=hooks),
                func_name=name)
    except Exception as error:
        raise TesaError(f"torch-mlir cannot lower {model_name} to linalg:\n"
                        + "\n".join(diagnostics[:8] or
                                    [_import_failure(error)])) from None
    finally:
        handler.detach()


def _hooks_class():
    from torch_mlir import ir
    from torch_mlir.extras.fx_importer import FxImporterHooks

    class NamedWeights(FxImporterHooks):
        """Imports each parameter and buffer as a `dense_resource` blob named
        after it, so that encodings can be attached by name."""

        def __init__(self, encoded):
            self.names = {}
            # The values of the parameters that get an encoded type later,
            # whose first blobs are replaced then.
            self.encoded = set(encoded)
            self.values = {}

        def bind(self, program):
            self.names = {id(v): k for k, v in program.state_dict.items()}
            self.names.update({id(v): k for k, v in
                               getattr(program, "constants", {}).items()
                               if isinstance(v, torch.Tensor)})

        def resolve_literal(self, gni, literal, info):
            if not isinstance(literal, torch.Tensor) or \
                    id(literal) not in self.names or literal.numel() <= 1:
                return None
            value = literal.detach().cpu().contiguous()
            if value.dtype == torch.bfloat16:
                return None
            array = value.numpy()
            vtensor = gni._cc.tensor_to_vtensor_type(literal)
            builtin = ir.RankedTensorType.get(
                list(array.shape), _mlir_element(value.dtype))
            name = self.names[id(literal)]
            blob = _blob_name(name)
            if name in self.encoded:
                self.values[blob] = array
                blob = "tesa.unencoded." + blob
            attribute = ir.DenseResourceElementsAttr.get_from_buffer(
                array, blob, builtin)
            return ir.Operation.create(
                name="torch.vtensor.literal", results=[vtensor],
                attributes={"value": attribute}).result

    return NamedWeights


# The dialects of what torch-mlir's linalg-on-tensors output tesa compiles.
_COMPILED_DIALECTS = ("builtin", "func", "arith", "math", "linalg", "tensor",
                      "scf", "cf", "complex")


def _check_compilable(function, model_name):
    """Ops torch-mlir leaves in other dialects (tm_tensor.sort for
    torch.sort and torch.topk, tm_tensor.scan for torch.cumsum, ...) are
    errors that name the op and where it came from."""
    unsupported = []

    def visit(op):
        name = op.operation.name
        if name.split(".")[0] not in _COMPILED_DIALECTS:
            location = str(op.operation.location)
            match = re.match(r'loc\("(.*) in .*"', location)
            unsupported.append(f"'{name}' from {match.group(1) if match else location}")
        for region in op.operation.regions:
            for block in region.blocks:
                for inner in block.operations:
                    visit(inner)

    visit(function)
    if unsupported:
        raise TesaError(f"tesa cannot compile {model_name}: " +
                        "; ".join(dict.fromkeys(unsupported)))


def _mlir_element(dtype):
    from torch_mlir import ir
    return {torch.float32: ir.F32Type.get, torch.float16: ir.F16Type.get,
            torch.float64: ir.F64Type.get,
            torch.int64: lambda: ir.IntegerType.get_signless(64),
            torch.int32: lambda: ir.IntegerType.get_signless(32),
            torch.int8: lambda: ir.IntegerType.get_signless(8),
            torch.uint8: lambda: ir.IntegerType.get_signless(8),
            torch.bool: lambda: ir.IntegerType.get_signless(1)}[dtype]()


def _blob_name(parameter):
    return "torch." + re.sub(r"[^A-Za-z0-9_.]", "_", parameter)


def _encoded_type(ir, value_type, grid, context):
    tensor = ir.RankedTensorType(value_type)
    encoding = ir.Attribute.parse(
        sparsity_encoding(grid, inline_limit=grid.size,
                          hex_above=_HEX_ABOVE).attribute, context=context)
    return ir.RankedTensorType.get(tensor.shape, tensor.element_type,
                                   encoding=encoding)


def _encode_constants(ir, module, maps, values):
    """Gives each weight constant named in `maps` its encoded type (and a
    blob of `values` with that type)."""
    by_blob = {"tesa.unencoded." + _blob_name(n): _blob_name(n)
               for n in maps}
    grids = {_blob_name(n): g for n, g in maps.items()}
    found = set()
    context = module.context
    for function in module.body.operations:
        for op in function.regions[0].blocks[0].operations:
            if op.operation.name != "arith.constant":
                continue
            text = str(op.attributes["value"])
            match = re.match(r"dense_resource<([^>]+)>", text)
            if not match or match.group(1) not in by_blob:
                continue
            blob = by_blob[match.group(1)]
            encoded = _encoded_type(ir, op.result.type, grids[blob], context)
            op.result.set_type(encoded)
            op.attributes["value"] = ir.DenseResourceElementsAttr.get_from_buffer(
                values[blob], blob, encoded)
            found.add(blob)
    return found


def _encode_arguments(ir, function, arguments, maps):
    block = function.regions[0].blocks[0]
    context = function.context
    for index, (kind, name) in enumerate(arguments):
        if kind == "parameter" and name in maps:
            argument = block.arguments[index]
            argument.set_type(_encoded_type(ir, argument.type, maps[name],
                                            context))
    signature = ir.FunctionType(ir.TypeAttr(
        function.attributes["function_type"]).value)
    function.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(
        [a.type for a in block.arguments], signature.results))


def export(model: torch.nn.Module, example_inputs: Sequence[torch.Tensor], *,
           masks: Optional[Dict[str, MaskLike]] = None,
           bits: Union[int, Dict[str, int], None] = None,
           weights: str = "arguments", name: str = "forward",
           fold_batch_norm: bool = True) -> Exported:
    """Exports `model` called on `example_inputs` to linalg-on-tensors MLIR
    with `#tesa.sparsity` encodings on its masked weights.

    The model is copied; the copy, with pruning applied, pruned elements
    zeroed and batch norms folded, is `Exported.model`.
    """
    if weights not in _WEIGHT_MODES:
        raise TesaError(f"weights must be one of {_WEIGHT_MODES}, got "
                        f"{weights!r}")
    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    model, maps = prepare(model, masks=masks, bits=bits,
                          fold_batch_norm=fold_batch_norm)
    hooks = _hooks_class()(maps)
    if weights == "arguments":
        names = [n for n, _ in model.named_parameters()]
        parameters = [p.detach() for _, p in model.named_parameters()]
        program = _Functional(model, names, len(example_inputs))
        module = _import(program, list(example_inputs) + parameters, hooks,
                         name, type(model).__name__)
        arguments = [("input", i) for i in range(len(example_inputs))] + \
            [("parameter", n) for n in names]
    else:
        module = _import(model, example_inputs, hooks, name,
                         type(model).__name__)
        arguments = [("input", i) for i in range(len(example_inputs))]
    from torch_mlir import ir
    context = module.context
    context.allow_unregistered_dialects = True
    with context, ir.Location.unknown():
        function = next(op for op in module.body.operations
                        if op.operation.name == "func.func")
        _check_compilable(function, type(model).__name__)
        if weights == "arguments":
            _encode_arguments(ir, function, arguments, maps)
        else:
            missing = {_blob_name(n) for n in maps} - _encode_constants(
                ir, module, maps, hooks.values)
            if missing:
                raise TesaError("masked parameter(s) "
                                f"{', '.join(sorted(missing))} did not "
                                "reach the program as constants")
    text = module.operation.get_asm(enable_debug_info=True)
    return Exported(text, name, arguments, maps, model)


# --- compile -----------------------------------------------------------------


def _compiler():
    configured = os.environ.get("TESA_COMPILE")
    if configured:
        return Path(configured)
    built = Path(__file__).resolve().parents[2] / "build" / "bin" / \
        "tesa-compile"
    if built.exists():
        return built
    found = shutil.which("tesa-compile")
    if found:
        return Path(found)
    raise TesaError("tesa-compile not found: build tesa, put it on PATH or "
                    "set TESA_COMPILE")


def _default_chip():
    if not torch.cuda.is_available():
        raise TesaError("no CUDA device: pass chip= (e.g. 'sm_90') to compile "
                        "for one")
    major, minor = torch.cuda.get_device_capability()
    return f"sm_{major}{minor}"


def _cache_dir():
    return Path(os.environ.get("TESA_CACHE_DIR") or
                Path.home() / ".cache" / "tesa")


def compile_mlir(text: str, *, chip: str, options: Sequence[str] = (),
                 cache_dir=None) -> Path:
    """Compiles MLIR text with tesa-compile into a library in the cache
    (keyed by the text, the chip, the options and the compiler), and returns
    its path; a library already there is reused."""
    compiler = _compiler()
    stat = compiler.stat()
    key = hashlib.sha256()
    for part in (text, chip, "\0".join(options), str(compiler),
                 str(stat.st_size), str(stat.st_mtime_ns)):
        key.update(part.encode())
        key.update(b"\0")
    directory = Path(cache_dir or _cache_dir())
    directory.mkdir(parents=True, exist_ok=True)
    library = directory / f"{key.hexdigest()[:32]}.so"
    if library.exists():
        return library
    source = library.with_suffix(".mlir")
    source.write_text(text)
    partial = library.with_suffix(".so.partial")
    command = [str(compiler), str(source), f"--chip={chip}", "-o",
               str(partial), f"--header={library.with_suffix('.h')}",
               *options]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines()
                  if "error" in line]
        raise TesaError("tesa-compile failed on the exported model:\n" +
                        "\n".join(errors[:20] or
                                  result.stderr.splitlines()[-20:]) +
                        f"\n(the program is {source})")
    os.replace(partial, library)
    return library


class CompiledModule:
    """A model compiled by tesa: call it like the model, with CUDA tensors.

    `model`'s parameters named in `parameter_names` (the library's trailing
    arguments) are packed once, on the first call, on the inputs' device;
    `refresh()` packs them again."""

    def __init__(self, library_path, function: str,
                 parameter_names: Sequence[str],
                 model: Optional[torch.nn.Module]):
        self.library = load(library_path)
        self.function = getattr(self.library, function)
        self.parameter_names = list(parameter_names)
        self.model = model
        self._packed = None

    @classmethod
    def from_exported(cls, exported: Exported, library_path):
        return cls(library_path, exported.function,
                   exported.parameter_names, exported.model)

    @property
    def path(self):
        return self.library.path

    def refresh(self, model=None):
        """Drops the packed weights; the next call packs them from `model`
        (default: the one given before)."""
        if model is not None:
            self.model = model
        self._packed = None

    def _parameters(self, device):
        parameters = dict(self.model.named_parameters())
        return [parameters[n].detach().to(device).contiguous()
                for n in self.parameter_names]

    def __call__(self, *inputs):
        inputs = [x.contiguous() for x in inputs]
        if not self.parameter_names:
            return self.function(*inputs)
        if self._packed is None:
            self._packed = self._pack(inputs)
        return self._packed(inputs)

    def _pack(self, inputs):
        """A function of the inputs that calls the library with the packed
        weights (or, without a packing entry point, all of them)."""
        weights = self._parameters(inputs[0].device)
        packer = self.library.functions.get(f"{self.function.name}_pack")
        if packer is None or packer.pack_of is None:
            return lambda xs: self.function(*xs, *weights)
        packed = self.function.pack(*([None] * len(inputs) + weights))
        count = len(inputs)

        def call(xs):
            return packed(*(xs[i] if i < count else weights[i - count]
                            for i in packed.kept_arguments))
        return call


def compile(model: torch.nn.Module, example_inputs, *, masks=None, bits=None,
            weights: str = "arguments", chip: Optional[str] = None,
            options: Sequence[str] = (), cache_dir=None,
            fold_batch_norm: bool = True) -> CompiledModule:
    """Exports `model` (see `export`), compiles it with tesa-compile for
    `chip` (default: the current CUDA device's) and loads it. Libraries are
    cached by content in `$TESA_CACHE_DIR` (default ~/.cache/tesa)."""
    exported = export(model, example_inputs, masks=masks, bits=bits,
                      weights=weights, fold_batch_norm=fold_batch_norm)
    path = compile_mlir(exported.mlir, chip=chip or _default_chip(),
                        options=options, cache_dir=cache_dir)
    return CompiledModule.from_exported(exported, path)
