"""Load and call a shared library built by ``tesa-compile``.

    import tesa
    lib = tesa.load("model.so")
    y = lib.mlp(x, w1, w2)        # numpy in, numpy out (copies to the GPU)
    y = lib.mlp(tx, tw1, tw2)     # CUDA tensors in, CUDA tensor out, no copy
    run = lib.mlp.pack(None, tw1, tw2)  # pack the weights once
    y = run(tx)                   # then every call skips packing

Arguments may be numpy arrays (host memory: copied to the device, the call
waits and the results come back as numpy arrays) or device arrays that expose
``__cuda_array_interface__`` or DLPack (PyTorch, CuPy, ...): then the call is
queued on the stream of the framework's current stream and results are
allocated by the same framework. Shapes, element types and layouts are
checked against the library's own description of its entry points (the
same facts its generated C header documents) before anything is launched.
"""

import ctypes
import json
import os

import numpy as np

_BACKENDS = {"nvvm": 1, "rocdl": 2}
_DEVICE_NAMES = {"nvvm": "CUDA", "rocdl": "HIP"}


class TesaError(RuntimeError):
    """A failure reported by a compiled library or its runtime."""


# Device buffers the kernels read with 16-byte loads (cp.async, vectors).
_DEVICE_ALIGNMENT = 16


class _Buffer:
    """One argument as the loader sees it: where it lives and its layout."""

    def __init__(self, value, pointer, shape, dtype, strides, on_device,
                 framework):
        self.value = value
        self.pointer = pointer
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.strides = strides  # in elements, None when contiguous
        self.on_device = on_device
        self.framework = framework


def _framework_of(value):
    module = type(value).__module__.split(".")[0]
    return module if module in ("torch", "cupy") else None


def _from_cuda_array_interface(value):
    info = value.__cuda_array_interface__
    dtype = np.dtype(info["typestr"])
    strides = info.get("strides")
    if strides is not None:
        strides = tuple(s // dtype.itemsize for s in strides)
    return _Buffer(value, info["data"][0], info["shape"], dtype, strides,
                   True, _framework_of(value))


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice),
                ("ndim", ctypes.c_int32), ("dtype", _DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


_DLPACK_KINDS = {0: "i", 1: "u", 2: "f"}
_DLPACK_GPU_DEVICES = (2, 10)  # kDLCUDA, kDLROCM


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _from_dlpack(value):
    capsule = value.__dlpack__()
    # DLManagedTensor begins with its DLTensor.
    tensor = _DLTensor.from_address(_capsule_pointer(capsule, b"dltensor"))
    if tensor.device.device_type not in _DLPACK_GPU_DEVICES:
        raise TesaError("DLPack tensor is not in GPU memory")
    kind = _DLPACK_KINDS.get(tensor.dtype.code)
    if kind is None or tensor.dtype.lanes != 1:
        raise TesaError("unsupported DLPack element type")
    dtype = np.dtype(f"{kind}{tensor.dtype.bits // 8}")
    shape = [tensor.shape[i] for i in range(tensor.ndim)]
    strides = None
    if tensor.strides:
        strides = tuple(tensor.strides[i] for i in range(tensor.ndim))
    # Keep the capsule alive with the buffer: the producer frees on release.
    buffer = _Buffer((value, capsule), tensor.data + tensor.byte_offset,
                     shape, dtype, strides, True, _framework_of(value))
    return buffer


def _as_buffer(value):
    if isinstance(value, np.ndarray):
        return _Buffer(value, value.ctypes.data, value.shape, value.dtype,
                       None if value.flags.c_contiguous else (),
                       False, "numpy")
    if hasattr(value, "__cuda_array_interface__"):
        return _from_cuda_array_interface(value)
    if hasattr(value, "__dlpack__"):
        return _from_dlpack(value)
    if _framework_of(value) == "torch":  # a CPU tensor
        return _as_buffer(value.numpy())
    raise TesaError(f"cannot pass a {type(value).__name__}: expected a numpy "
                    "array or a GPU array with __cuda_array_interface__ or "
                    "DLPack")


def _is_contiguous(buffer):
    if buffer.strides is None:
        return True
    if buffer.strides == ():
        return False
    expected, step = [], 1
    for size in reversed(buffer.shape):
        expected.append(step)
        step *= size
    return all(size == 1 or stride == want for size, stride, want in
               zip(buffer.shape, buffer.strides, reversed(expected)))


def _current_stream(framework):
    if framework == "torch":
        import torch
        return torch.cuda.current_stream().cuda_stream
    if framework == "cupy":
        import cupy
        return cupy.cuda.get_current_stream().ptr
    return 0


def _empty_like_framework(framework, shape, dtype, device_of):
    if framework == "torch":
        import torch
        torch_dtype = getattr(torch, np.dtype(dtype).name)
        return torch.empty(shape, dtype=torch_dtype, device=device_of.device)
    if framework == "cupy":
        import cupy
        return cupy.empty(shape, dtype=dtype)
    raise TesaError("pass `out=` for results: the inputs' framework cannot "
                    "allocate device memory")


class Function:
    """One entry point of a compiled library."""

    def __init__(self, library, description):
        self._library = library
        self.name = description["name"]
        self.arguments = [(tuple(a["shape"]), np.dtype(a["dtype"]))
                          for a in description["arguments"]]
        self.results = [(tuple(r["shape"]), np.dtype(r["dtype"]))
                        for r in description["results"]]
        # Weight-packing entry points name the function they serve and
        # which of its arguments they take.
        self.pack_of = description.get("pack_of")
        self.packed_of = description.get("packed_of")
        entry = getattr(library._dll, self.name)
        entry.restype = ctypes.c_int
        entry.argtypes = [ctypes.c_void_p] * (
            1 + len(self.arguments) + len(self.results))
        self._entry = entry

    def __repr__(self):
        def show(items):
            return ", ".join(f"{'x'.join(map(str, s)) or 'scalar'} {d.name}"
                             for s, d in items)
        return (f"<tesa function {self.name}({show(self.arguments)}) -> "
                f"({show(self.results)})>")

    def _check(self, buffers, expected, what):
        if len(buffers) != len(expected):
            raise TesaError(f"{self.name} takes {len(expected)} {what}s, got "
                            f"{len(buffers)}")
        for index, (buffer, (shape, dtype)) in enumerate(
                zip(buffers, expected)):
            if buffer.shape != shape or buffer.dtype != dtype:
                raise TesaError(
                    f"{self.name}: {what} #{index} must be "
                    f"{'x'.join(map(str, shape))} {dtype.name}, got "
                    f"{'x'.join(map(str, buffer.shape))} {buffer.dtype.name}")
            if not _is_contiguous(buffer):
                raise TesaError(f"{self.name}: {what} #{index} must be "
                                "contiguous (row-major)")
            if buffer.on_device and buffer.pointer % _DEVICE_ALIGNMENT:
                raise TesaError(
                    f"{self.name}: {what} #{index} must be "
                    f"{_DEVICE_ALIGNMENT}-byte aligned (the kernels read 16 "
                    f"bytes at a time), got address 0x{buffer.pointer:x}")

    def __call__(self, *args, out=None, stream=None):
        buffers = [_as_buffer(a) for a in args]
        self._check(buffers, self.arguments, "argument")
        on_device = {b.on_device for b in buffers}
        if len(on_device) > 1:
            raise TesaError(f"{self.name}: arguments mix host and device "
                            "arrays")
        if on_device == {False}:
            return self._call_from_host(buffers)
        return self._call_on_device(buffers, out, stream)

    def pack(self, *args, stream=None):
        """Packs this function's weights once, for a library compiled with
        weight-packing entry points (tesa-compile's default).

        `args` are this function's own arguments; those that packing does
        not read (activations) may be None. Returns a PackedFunction that
        takes the arguments `<name>_packed` keeps, in order, and runs
        without packing. Call `pack` again when the weights change.
        """
        functions = self._library.functions
        packer = functions.get(f"{self.name}_pack")
        packed = functions.get(f"{self.name}_packed")
        if packer is None or packed is None or packer.pack_of is None:
            raise TesaError(f"{self.name} packs no argument weights (no "
                            f"{self.name}_pack entry point)")
        if len(args) != len(self.arguments):
            raise TesaError(f"{self.name}.pack takes the {len(self.arguments)} "
                            f"arguments of {self.name}, got {len(args)}")
        indices = packer.pack_of["arguments"]
        missing = [i for i in indices if args[i] is None]
        if missing:
            raise TesaError(f"{self.name}.pack needs argument(s) "
                            f"{', '.join(f'#{i}' for i in missing)}")
        weights = packer(*(args[i] for i in indices), stream=stream)
        if not isinstance(weights, tuple):
            weights = (weights,)
        return PackedFunction(packed, weights)

    def _call_on_device(self, buffers, out, stream):
        framework = next((b.framework for b in buffers if b.framework), None)
        if out is None:
            out = [_empty_like_framework(framework, s, d, buffers[0].value)
                   for s, d in self.results]
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        results = [_as_buffer(o) for o in out]
        self._check(results, self.results, "result")
        if stream is None:
            stream = _current_stream(framework)
        self._library._run(self._entry, stream,
                           [b.pointer for b in buffers + results])
        return out[0] if len(out) == 1 else tuple(out)

    def _call_from_host(self, buffers):
        library = self._library
        library._require_device()
        device = []
        try:
            for b in buffers:
                device.append(library._malloc(b.value.nbytes))
                library._check(library._dll.tesa_rt_memcpy_htod(
                    device[-1], b.pointer, b.value.nbytes, None))
            outputs = [np.empty(s, d) for s, d in self.results]
            result_pointers = []
            for o in outputs:
                result_pointers.append(library._malloc(o.nbytes))
                device.append(result_pointers[-1])
            library._run(self._entry, None,
                         device[:len(buffers)] + result_pointers)
            for o, pointer in zip(outputs, result_pointers):
                library._check(library._dll.tesa_rt_memcpy_dtoh(
                    o.ctypes.data, pointer, o.nbytes, None))
            library._check(library._dll.tesa_rt_synchronize(None))
        finally:
            for pointer in device:
                library._dll.tesa_rt_free(pointer)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


class PackedFunction:
    """A function whose weights were packed once by Function.pack: call it
    with the arguments its `<name>_packed` entry point keeps, in order
    (`kept_arguments` lists their positions among the original function's
    arguments)."""

    def __init__(self, function, weights):
        self.function = function
        self.weights = weights
        self.kept_arguments = list(function.packed_of["arguments"])

    def __repr__(self):
        return (f"<tesa packed function {self.function.name}, arguments "
                f"{self.kept_arguments} of {self.function.packed_of['function']}>")

    def __call__(self, *args, out=None, stream=None):
        if len(args) != len(self.kept_arguments):
            raise TesaError(
                f"{self.function.name} takes {len(self.kept_arguments)} "
                f"arguments ({', '.join(f'#{i}' for i in self.kept_arguments)}"
                f" of {self.function.packed_of['function']}), got {len(args)}")
        return self.function(*args, *self.weights, out=out, stream=stream)


class Library:
    """A shared library built by tesa-compile, with one attribute per entry
    point."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        try:
            self._dll = ctypes.CDLL(self.path)
        except OSError as error:
            raise TesaError(f"cannot load {path}: {error}") from None
        try:
            metadata = self._dll.tesa_library_metadata
        except AttributeError:
            raise TesaError(f"{path} was not built by tesa-compile (no "
                            "tesa_library_metadata)") from None
        metadata.restype = ctypes.c_char_p
        self.metadata = json.loads(metadata().decode())
        self.target = self.metadata["target"]
        self.chip = self.metadata["chip"]
        self._backend = _BACKENDS[self.target]
        self._declare_runtime()
        self.functions = {}
        for description in self.metadata["functions"]:
            function = Function(self, description)
            self.functions[function.name] = function
            setattr(self, function.name, function)

    def _declare_runtime(self):
        dll, p, size = self._dll, ctypes.c_void_p, ctypes.c_size_t
        signatures = {
            "tesa_rt_init": [ctypes.c_int],
            "tesa_rt_device_count": [ctypes.c_int,
                                     ctypes.POINTER(ctypes.c_int)],
            "tesa_rt_device_name": [ctypes.c_char_p, size],
            "tesa_rt_malloc": [size, ctypes.POINTER(p)],
            "tesa_rt_free": [p],
            "tesa_rt_memcpy_htod": [p, p, size, p],
            "tesa_rt_memcpy_dtoh": [p, p, size, p],
            "tesa_rt_synchronize": [p],
        }
        for name, argtypes in signatures.items():
            getattr(dll, name).argtypes = argtypes
            getattr(dll, name).restype = ctypes.c_int
        dll.tesa_rt_last_error.restype = ctypes.c_char_p
        dll.tesa_rt_last_error.argtypes = []

    def _check(self, status):
        if status != 0:
            message = self._dll.tesa_rt_last_error().decode()
            raise TesaError(message or f"status {status}")

    def _run(self, entry, stream, pointers):
        self._check(entry(stream or None, *pointers))

    def _malloc(self, nbytes):
        pointer = ctypes.c_void_p()
        self._check(self._dll.tesa_rt_malloc(max(nbytes, 1),
                                             ctypes.byref(pointer)))
        return pointer.value

    def _require_device(self):
        self._check(self._dll.tesa_rt_init(self._backend))

    def device_count(self):
        """Number of GPUs of the library's kind (0 without driver)."""
        count = ctypes.c_int()
        self._check(self._dll.tesa_rt_device_count(self._backend,
                                                   ctypes.byref(count)))
        return count.value

    def device_name(self):
        self._require_device()
        name = ctypes.create_string_buffer(256)
        self._check(self._dll.tesa_rt_device_name(name, len(name)))
        return name.value.decode()

    def no_device_reason(self):
        """Why no GPU can run this library, or None if one can."""
        if self.device_count() > 0:
            return None
        status = self._dll.tesa_rt_init(self._backend)
        if status == 0:
            return f"no {_DEVICE_NAMES[self.target]} device"
        return self._dll.tesa_rt_last_error().decode()

    def synchronize(self, stream=None):
        self._check(self._dll.tesa_rt_synchronize(stream))

    def __repr__(self):
        return (f"<tesa library {os.path.basename(self.path)} for "
                f"{self.target} {self.chip}: {', '.join(self.functions)}>")


def load(path):
    """Loads a library built by tesa-compile."""
    return Library(path)
