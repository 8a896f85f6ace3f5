"""What each kernel of a tesa library asks of the GPU, from the driver.

    python3 bench/kernel_resources.py LIB.so [LIB.so ...] [--threads N --shared B]

For every sm_90-class cubin a library embeds (tesa-compile --format=cubin,
the default), loads it with the CUDA driver and prints, for each kernel, the
registers a thread, its static shared memory, its local memory, the most
threads a block it can be launched with, and, where --threads and --shared
give a launch, the blocks a multiprocessor fits (0: the launch fails with
CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES). Runs on the GPU machine (no MLIR, no
PyTorch); kernel names come from the cubin's symbol table.
"""

import argparse
import ctypes
import struct
import sys

ELF_MAGIC = b"\x7fELF\x02\x01\x01"
CUDA_MACHINE = 190
# CUfunction_attribute values (cuda.h).
ATTRIBUTES = {"max threads a block": 0, "static shared bytes": 1,
              "local bytes a thread": 3, "registers a thread": 4}
MAX_DYNAMIC_SHARED = 8


def embedded_cubins(data):
    """(offset, size) of each CUDA ELF image inside `data`."""
    offset = data.find(ELF_MAGIC)
    while offset >= 0:
        machine, = struct.unpack_from("<H", data, offset + 0x12)
        if machine == CUDA_MACHINE:
            section_table, = struct.unpack_from("<Q", data, offset + 0x28)
            entry, count = struct.unpack_from("<HH", data, offset + 0x3A)
            yield offset, section_table + entry * count
        offset = data.find(ELF_MAGIC, offset + 1)


def kernel_names(image):
    """Names of the `.text.<kernel>` sections of a cubin."""
    section_table, = struct.unpack_from("<Q", image, 0x28)
    entry, count, names_index = struct.unpack_from("<HHH", image, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", image, section_table + i * entry)
               for i in range(count)]
    names_offset = headers[names_index][4]
    for header in headers:
        start = names_offset + header[0]
        name = image[start:image.index(b"\0", start)].decode()
        if name.startswith(".text."):
            yield name[len(".text."):]


def check(driver, result, what):
    if result != 0:
        text = ctypes.c_char_p()
        driver.cuGetErrorName(result, ctypes.byref(text))
        raise RuntimeError(f"{what}: {text.value.decode()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("libraries", nargs="+")
    parser.add_argument("--threads", type=int,
                        help="threads a block of the launch to check")
    parser.add_argument("--shared", type=int, default=0,
                        help="dynamic shared bytes of the launch to check")
    args = parser.parse_args()
    driver = ctypes.CDLL("libcuda.so.1")
    check(driver, driver.cuInit(0), "cuInit")
    device, context = ctypes.c_int(), ctypes.c_void_p()
    check(driver, driver.cuDeviceGet(ctypes.byref(device), 0), "cuDeviceGet")
    check(driver, driver.cuDevicePrimaryCtxRetain(ctypes.byref(context),
                                                  device), "context")
    check(driver, driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
    for path in args.libraries:
        data = open(path, "rb").read()
        for offset, size in embedded_cubins(data):
            image = data[offset:offset + size]
            module = ctypes.c_void_p()
            check(driver, driver.cuModuleLoadData(ctypes.byref(module), image),
                  f"{path}: cuModuleLoadData")
            for name in kernel_names(image):
                function = ctypes.c_void_p()
                check(driver, driver.cuModuleGetFunction(
                    ctypes.byref(function), module, name.encode()), name)
                values = {}
                for label, attribute in ATTRIBUTES.items():
                    value = ctypes.c_int()
                    check(driver, driver.cuFuncGetAttribute(
                        ctypes.byref(value), attribute, function), label)
                    values[label] = value.value
                line = ", ".join(f"{k} {v}" for k, v in values.items())
                if args.threads:
                    check(driver, driver.cuFuncSetAttribute(
                        function, MAX_DYNAMIC_SHARED, args.shared),
                        "dynamic shared memory")
                    blocks = ctypes.c_int()
                    check(driver,
                          driver.cuOccupancyMaxActiveBlocksPerMultiprocessor(
                              ctypes.byref(blocks), function, args.threads,
                              ctypes.c_size_t(args.shared)), "occupancy")
                    line += (f"; {args.threads} threads and {args.shared} "
                             f"dynamic shared bytes: {blocks.value} blocks a "
                             "multiprocessor")
                print(f"{path} {name}: {line}", flush=True)
            driver.cuModuleUnload(module)
    return 0


if __name__ == "__main__":
    sys.exit(main())
