"""Averaging a metric over the ranks of an initialised ``torch.distributed`` group."""

from __future__ import annotations

import torch

__all__ = ["mean_over_ranks"]


def mean_over_ranks(value: float) -> float:
    """The mean of `value` over all ranks (all-reduce), or `value` when not distributed.

    Every rank must call it at the same point (it is a collective). The sum is
    taken in float64 and divided by the world size, so every rank gets the same
    number bit for bit. NCCL groups reduce on the current CUDA device.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return float(value)
    device = torch.device("cpu")
    if dist.get_backend() == "nccl":
        device = torch.device("cuda", torch.cuda.current_device())
    t = torch.tensor([float(value)], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item()) / dist.get_world_size()
