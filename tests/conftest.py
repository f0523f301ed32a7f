"""Shared test settings: a bounded hypothesis profile and matplotlib without a screen."""

import os

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

try:  # tiny torch ops are much slower with 2 threads on a busy 2-core machine
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass
os.environ.setdefault("JAX_PLATFORMS", "cpu")

settings.register_profile(
    "lrsched",
    max_examples=int(os.environ.get("LRSCHED_HYPOTHESIS_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.load_profile("lrsched")
