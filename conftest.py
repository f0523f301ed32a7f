"""Root conftest: doctests run with matplotlib's Agg backend and JAX on the CPU."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
