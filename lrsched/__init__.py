"""lrsched: learning-rate (and other hyperparameter) schedules as JAX pytree data.

Schedules are pure, jit-compiled functions of the step count, held as small
frozen pytrees whose numbers are leaves: vmap over any parameter, differentiate,
serialise, and drive Optax or (through ``lrsched_torch``) PyTorch with them.
"""

from lrsched._combinators import Clip as Clip
from lrsched._combinators import Cycle as Cycle
from lrsched._combinators import Join as Join
from lrsched._combinators import Noise as Noise
from lrsched._combinators import Shift as Shift
from lrsched._combinators import Warmup as Warmup
from lrsched._combinators import clip as clip
from lrsched._combinators import cycle as cycle
from lrsched._combinators import join as join
from lrsched._combinators import noise as noise
from lrsched._combinators import shift as shift
from lrsched._combinators import warmup as warmup
from lrsched._config import from_config as from_config
from lrsched._config import to_config as to_config
from lrsched._core import Add as Add
from lrsched._core import Div as Div
from lrsched._core import Mul as Mul
from lrsched._core import Pow as Pow
from lrsched._core import Schedule as Schedule
from lrsched._core import ScheduleError as ScheduleError
from lrsched._core import add as add
from lrsched._core import div as div
from lrsched._core import evaluate as evaluate
from lrsched._core import mul as mul
from lrsched._core import pow as pow
from lrsched._plateau import Plateau as Plateau
from lrsched._plateau import PlateauState as PlateauState
from lrsched._plateau import plateau as plateau
from lrsched._primitives import WSD as WSD
from lrsched._primitives import Constant as Constant
from lrsched._primitives import Cosine as Cosine
from lrsched._primitives import Cyclic as Cyclic
from lrsched._primitives import Exponential as Exponential
from lrsched._primitives import InverseSqrt as InverseSqrt
from lrsched._primitives import InverseTime as InverseTime
from lrsched._primitives import Linear as Linear
from lrsched._primitives import MultiStep as MultiStep
from lrsched._primitives import OneCycle as OneCycle
from lrsched._primitives import OneCycleMomentum as OneCycleMomentum
from lrsched._primitives import PiecewiseConstant as PiecewiseConstant
from lrsched._primitives import PiecewiseLinear as PiecewiseLinear
from lrsched._primitives import Polynomial as Polynomial
from lrsched._primitives import StepDecay as StepDecay
from lrsched._primitives import Tanh as Tanh
from lrsched._primitives import WarmupCosine as WarmupCosine
from lrsched._primitives import constant as constant
from lrsched._primitives import cosine as cosine
from lrsched._primitives import cyclic as cyclic
from lrsched._primitives import exponential as exponential
from lrsched._primitives import inverse_sqrt as inverse_sqrt
from lrsched._primitives import inverse_time as inverse_time
from lrsched._primitives import linear as linear
from lrsched._primitives import multistep as multistep
from lrsched._primitives import one_cycle as one_cycle
from lrsched._primitives import one_cycle_momentum as one_cycle_momentum
from lrsched._primitives import piecewise_constant as piecewise_constant
from lrsched._primitives import piecewise_linear as piecewise_linear
from lrsched._primitives import polynomial as polynomial
from lrsched._primitives import step_decay as step_decay
from lrsched._primitives import tanh as tanh
from lrsched._primitives import warmup_cosine as warmup_cosine
from lrsched._primitives import wsd as wsd
from lrsched.plot import plot as plot

__version__ = "0.1.0"

_SUBMODULES = ("checkpoint", "compat", "finder", "keras", "optax", "sweep")


def __getattr__(name: str):
    """``lrsched.optax``, ``lrsched.checkpoint``, ``lrsched.finder``, ``lrsched.sweep``,
    ``lrsched.compat`` and ``lrsched.keras`` import on first use, so ``import lrsched`` stays light."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"lrsched.{name}")
    raise AttributeError(f"module 'lrsched' has no attribute {name!r}")
