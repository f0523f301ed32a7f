"""The LR range test (Smith, arXiv:1506.01186) in JAX, and the suggestion rules.

Three ways to look for a learning rate, all pure (the caller's params are never
touched, so there is nothing to restore):

- :func:`lr_range_test`: one run with a rate ramped from `start_lr` to `end_lr`
  (torch_lr_finder's ``range_test`` / fastai's ``lr_find``). With stacked batches
  the whole test is one jitted ``lax.scan``; with an iterator it is a Python loop
  over one jitted step. It stops at divergence.
- :func:`repeated_range_test`: R such runs (batch orders and/or initialisations)
  in parallel under ``jax.vmap``, for the noise-robust :func:`robust` rule.
- :func:`lr_sweep`: K short runs at K fixed rates in parallel: final loss vs rate.

The suggestion rules (:func:`steepest`, :func:`minimum`, :func:`steep`,
:func:`valley`, :func:`slide`, :func:`robust`) work on plain numpy arrays and are
shared with the PyTorch bridge (``lrsched_torch.lr_range_test``). See
``docs/lr-finder.md`` for how each one works.

The package is split by job: ``_ramp`` (the ramp, smoothing and divergence),
``_rules`` (the suggestion rules: numpy only, importable without JAX),
``_jax`` (the scan engine and its vmapped variants) and ``_results`` (the result
objects and their plots). Import the names from here.
"""

from lrsched.finder._jax import lr_range_test as lr_range_test
from lrsched.finder._jax import lr_sweep as lr_sweep
from lrsched.finder._jax import repeated_range_test as repeated_range_test
from lrsched.finder._ramp import LossTracker as LossTracker
from lrsched.finder._ramp import diverges as diverges
from lrsched.finder._ramp import ramp_schedule as ramp_schedule
from lrsched.finder._ramp import ramp_values as ramp_values
from lrsched.finder._results import RangeTestResult as RangeTestResult
from lrsched.finder._results import RangeTestRuns as RangeTestRuns
from lrsched.finder._results import SweepResult as SweepResult
from lrsched.finder._rules import RULES as RULES
from lrsched.finder._rules import Suggestion as Suggestion
from lrsched.finder._rules import minimum as minimum
from lrsched.finder._rules import robust as robust
from lrsched.finder._rules import slide as slide
from lrsched.finder._rules import steep as steep
from lrsched.finder._rules import steepest as steepest
from lrsched.finder._rules import suggest as suggest
from lrsched.finder._rules import valley as valley

__all__ = [
    "lr_range_test", "repeated_range_test", "lr_sweep",
    "RangeTestResult", "RangeTestRuns", "SweepResult", "Suggestion",
    "ramp_schedule", "ramp_values", "LossTracker", "diverges",
    "steepest", "minimum", "steep", "valley", "slide", "robust", "suggest", "RULES",
]
