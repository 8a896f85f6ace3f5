"""Timing on a GPU the way docs/benchmarks.md reports it (needs PyTorch)."""

import numpy as np


def graph_median(fn, stream, replays=20, samples=25):
    """Median milliseconds of one call of `fn`, from CUDA-graph replays.

    `fn` is warmed up on `stream` (so that caching allocators, tesa's
    included, are populated for it), then `replays` calls are captured in
    one graph; each sample times one replay with events and divides by
    `replays`. Python dispatch is not part of the time.
    """
    import torch
    with torch.cuda.stream(stream):
        for _ in range(3):
            fn()
    stream.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=stream):
        for _ in range(replays):
            fn()
    times = []
    # Replays go to the current stream: make it the timed one.
    with torch.cuda.stream(stream):
        graph.replay()
        for _ in range(samples):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record(stream)
            graph.replay()
            end.record(stream)
            end.synchronize()
            times.append(start.elapsed_time(end) / replays)
    return float(np.median(times))
