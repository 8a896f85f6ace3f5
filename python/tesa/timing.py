"""Timing on a GPU the way docs/benchmarks.md reports it (needs PyTorch)."""

import numpy as np


def graph_median(fn, stream, replays=20, samples=25):
    """Median milliseconds of one call of `fn`, from CUDA-graph replays.

    `fn` is warmed up on `stream` (so that caching allocators, tesa's
    included, are populated for it), then `replays` calls are captured in
    one graph; each sample times one replay with events and divides by
    `replays`. Python dispatch is not part of the time.

    `fn` may be a list of calls, which the graph makes in turn (`replays`
    rounded up to whole rounds of them): calls that each read their own
    copy of a weight, more bytes than the L2 cache holds, time the weight
    read from memory as a model's layers do (see cold_copies).
    """
    import torch
    calls = list(fn) if isinstance(fn, (list, tuple)) else [fn]
    replays = -(-max(replays, len(calls)) // len(calls)) * len(calls)
    with torch.cuda.stream(stream):
        for _ in range(3):
            for call in calls:
                call()
    stream.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=stream):
        for i in range(replays):
            calls[i % len(calls)]()
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


def cold_copies(weight_bytes, most=64):
    """How many copies of a weight of `weight_bytes` bytes a rotating
    timing (graph_median with a list of calls) needs so that each call
    finds its copy evicted from L2: enough for three times the L2 cache,
    at most `most`."""
    import torch
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    return int(min(most, max(2, -(-3 * l2 // max(1, weight_bytes)))))
