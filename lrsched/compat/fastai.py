"""fastai's schedules (``fastai.callback.schedule``) as lrsched schedules.

fastai schedules a hyper-parameter as a function of ``pos``, the fraction of
training done: before batch ``i`` of ``N`` its ``ParamScheduler`` sets the value
``f(i / N)`` (so ``pos`` never reaches 1). Here:

- ``SchedLin``, ``SchedCos``, ``SchedNo``, ``SchedExp``, ``SchedPoly``,
  ``combine_scheds`` and ``combined_cos`` build schedules *of pos* (call them
  with a fraction in [0, 1], as in fastai);
- :func:`per_step` turns a schedule of pos into a schedule of the step count
  (``f(t / total_steps)``), and
- :func:`one_cycle`, :func:`one_cycle_momentum`, :func:`fit_one_cycle`,
  :func:`flat_cos` and :func:`sgdr` are the schedules that ``fit_one_cycle``,
  ``fit_flat_cos`` and ``fit_sgdr`` install, per step.

``total_steps`` is fastai's ``n_epoch * len(dls.train)``. Past the last step
(``t >= total_steps``) the value of step ``total_steps - 1`` is held.

The pieces are lrsched primitives (``linear``, ``cosine``, ``exponential``,
``constant``, ``polynomial``) evaluated at pos; ``combine_scheds`` and
``per_step`` are fastai's own arithmetic on pos (the float comparisons and
divisions of ``combine_scheds`` decide on which step a piece starts), kept as two
small nodes (``fastai.combine``, ``fastai.per_step``). Every number is a leaf:
vmap over ``lr_max``, ``pct_start``, ``total_steps``, ``moms``...

Discriminative rates (fastai's one value per parameter group): where fastai takes
an array of values, or a ``slice(lo, hi)`` spread over the optimizer's groups
(``Optimizer.set_hyper``: ``even_mults(lo, hi, n)``, or ``[hi / 10] * (n - 1) +
[hi]`` for ``slice(hi)``), these functions return a **list of schedules, one per
group**, in group order (pass ``n_groups``, fastai's ``len(learn.opt.param_lists)``,
with a slice). A list is what both consumers take per group: the torch bridge
(``lrsched_torch.ScheduleLR(opt, lr=schedules)``, one per param group) and optax
(one optimizer per group, e.g. ``optax.multi_transform({"body": optax.adam(s[0]),
"head": optax.adam(s[1])}, labels)``). ``SchedLin`` ... ``combined_cos`` with
arrays, and ``combine_scheds`` / ``per_step`` of such lists, give lists too. Each
group's value is checked as a single one is, at construction, named by its index
(``one_cycle(lr_max[1]=nan): lr_max[1] must be finite``); a slice's bounds must be
positive numbers (``slice(0, hi)`` is fastai's ``slice(hi)``), and per-group values
of different lengths (other than 1) refuse.
"""

from __future__ import annotations

from typing import Any, Sequence, Union, cast

import jax.numpy as jnp
import numpy as np

from lrsched import Schedule, ScheduleError, constant, cosine, exponential, linear, polynomial
from lrsched.compat._common import (
    NUMBER,
    Leaf,
    Leaves,
    Real,
    any_traced,
    argument_error,
    as_float,
    as_number,
    check,
    check_kind,
    check_length,
    check_positive,
    checked,
    common,
    concrete,
    divide,
    exact_parts,
    float_dtype,
    is_concretely,
    precise_field,
    require,
    schedule_class,
    schedule_field,
    schedules_field,
    two_product,
    two_sum,
)

__all__ = [
    "SchedLin", "SchedCos", "SchedNo", "SchedExp", "SchedPoly", "combine_scheds", "combined_cos",
    "per_step", "one_cycle", "one_cycle_momentum", "fit_one_cycle", "flat_cos", "sgdr",
    "PerStep", "Combine",
]


def _all_concrete(*xs: Any) -> bool:
    return all(concrete(x) is not None for x in xs)


#: A piece boundary that pos misses by less than this counts as reached (rounding noise of fractions that meet).
_TIE = 1e-12

#: One schedule, or one per parameter group (fastai's discriminative rates).
Schedules = Union[Schedule, list]


# ----------------------------------------------------- one value per group


def _grouped(value: Any) -> bool:
    """A list, tuple or 1-d array of numbers: one value per parameter group, as in fastai."""
    if isinstance(value, (list, tuple)):
        return True
    return not isinstance(value, Schedule) and np.ndim(value) == 1


def _groups(func: str, values: dict[str, Any]) -> int | None:
    """The number of parameter groups the per-group `values` give (fastai broadcasts a length of 1),
    or None when every value is a single number."""
    sizes = {name: len(v) for name, v in values.items() if _grouped(v)}
    if not sizes:
        return None
    longest = max(sizes.values())
    for name, size in sizes.items():
        if size not in (1, longest) or size == 0:
            raise argument_error(func, name, values[name], f"one value per parameter group ({longest}, as "
                                 f"{max(sizes, key=lambda k: sizes[k])}), or a single value",
                                 "Give every per-group argument the same length")
    return longest


def _numbers(func: str, values: dict[str, Any]) -> None:
    """Each value a number (``check_kind``'s NUMBER: no bool, string, None, NaN or inf...), or a list,
    tuple or 1-d array of them, one per parameter group (named ``start[1]`` in the error); a per-group
    sequence must not be empty."""
    for name, value in values.items():
        if not _grouped(value):
            check_kind(func, name, value, NUMBER, int_range=False)
            continue
        if len(value) == 0:
            raise argument_error(func, name, value, "one value per parameter group (not empty), or a single value",
                                 "Pass a number, or a list with one per group such as [1e-4, 1e-3]")
        for g, x in enumerate(value):
            check_kind(func, f"{name}[{g}]", x, NUMBER, int_range=False)


def _pick(value: Any, group: int) -> Any:
    if not _grouped(value):
        return value
    return value[group] if len(value) > 1 else value[0]


def _per_group(func: str, build: Any, **values: Any) -> Schedules:
    """``build(**values)``, or one schedule per parameter group when some values are per-group (each
    value checked first: :func:`_numbers`)."""
    _numbers(func, values)
    n = _groups(func, values)
    if n is None:
        return build(**values)
    return [build(**{k: _pick(v, g) for k, v in values.items()}) for g in range(n)]


def _even_mults(start: float, stop: float, n: int) -> list[float]:
    """fastcore's ``even_mults``: ``n`` values from `start` to `stop` in equal ratios (``stop`` alone for one)."""
    if n == 1:
        return [stop]
    step = (stop / start) ** (1 / (n - 1))
    return [start * step**i for i in range(n)]


def _group_rates(func: str, field: str, rate: Any, n_groups: int | None) -> Any:
    """fastai's ``Optimizer.set_hyper('lr', rate)``: a slice spread over `n_groups` groups, a sequence
    taken per group (one value broadcast), a number for every group."""
    if n_groups is not None and (isinstance(n_groups, bool) or not isinstance(n_groups, (int, np.integer))
                                 or n_groups < 1):
        raise argument_error(func, "n_groups", n_groups, "a positive int (the optimizer's parameter groups)",
                             "Pass len(learn.opt.param_lists), e.g. n_groups=3")
    if isinstance(rate, slice):
        if n_groups is None:
            raise argument_error(func, field, rate, "given with n_groups when it is a slice",
                                 "fastai spreads a slice over the optimizer's parameter groups; pass "
                                 "n_groups=len(learn.opt.param_lists)")
        if rate.stop is None:
            raise argument_error(func, field, rate, "a slice with a stop (the last group's rate)",
                                 "Pass slice(lo, hi) or slice(hi)")
        for end, bound in (("stop", rate.stop), ("start", rate.start)):
            if end == "start" and bound is None:
                continue
            check_kind(func, f"{field}.{end}", bound, NUMBER, int_range=False)
            # fastai's even_mults takes (hi / lo) ** (1 / (n - 1)): a complex number for a negative ratio
            require(func, f"{field}.{end}", bound, lambda a: (a > 0) | ((a == 0) & (end == "start")),
                    "positive (a learning rate)", "Pass slice(lo, hi) with 0 < lo <= hi, or slice(hi)")
        stop = rate.stop
        start = None if rate.start is None or is_concretely(rate.start, 0) else rate.start
        if start is not None:  # fastai: `if v.start:` -- a start of 0 or None means hi / 10 for all but the last
            return _even_mults(start, stop, int(n_groups))
        return [stop / 10] * (int(n_groups) - 1) + [stop]
    if _grouped(rate):
        values = list(np.asarray(rate).tolist()) if not isinstance(rate, (list, tuple)) else list(rate)
        if n_groups is not None:
            if len(values) == 1:
                values = values * int(n_groups)
            elif len(values) != n_groups:
                raise argument_error(func, field, rate, f"one value per parameter group ({n_groups})",
                                     "Give as many values as n_groups, or one")
        return values
    return rate if n_groups is None else [rate] * int(n_groups)


def _schedules(func: str, field: str, value: Any) -> None:
    """A Schedule, or a non-empty list of them (one per parameter group)."""
    if isinstance(value, Schedule):
        return
    if not isinstance(value, list) or not value:
        raise argument_error(func, field, value, "an lrsched Schedule, or a non-empty list of them (one per "
                             "parameter group)", "Use SchedLin/SchedCos/SchedExp/SchedNo/SchedPoly from "
                             "lrsched.compat.fastai")
    for g, s in enumerate(value):
        if not isinstance(s, Schedule):
            raise argument_error(func, f"{field}[{g}]", s, "an lrsched Schedule",
                                 "Use SchedLin/SchedCos/SchedExp/SchedNo/SchedPoly from lrsched.compat.fastai")


# ------------------------------------------------------- a ratio in two floats


def _add(a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
    """The sum of two numbers held as ``(hi, lo)`` pairs, as a pair."""
    s, e = two_sum(as_float(a[0]), as_float(b[0]))
    return two_sum(s, e + (as_float(a[1]) + as_float(b[1])))


def _neg(a: tuple[Any, Any]) -> tuple[Any, Any]:
    return -as_float(a[0]), -as_float(a[1])


def _mul(a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
    """The product of two ``(hi, lo)`` pairs, as a pair (the lo * lo term dropped)."""
    p, e = two_product(as_float(a[0]), as_float(b[0]))
    return two_sum(p, e + (as_float(a[0]) * as_float(b[1]) + as_float(a[1]) * as_float(b[0])))


def _at_ratio(schedule: Schedule, num: tuple[Any, Any], den: tuple[Any, Any]) -> Any:
    """A schedule of pos at ``pos = num / den``: without rounding the ratio where the schedule
    takes it as two numbers (``at_ratio`` of the core's linear, cosine and polynomial, and of
    :class:`Combine`), else at the rounded ratio (an empty stretch counts as its end)."""
    at = getattr(schedule, "at_ratio", None)
    if at is not None:
        return at(num, den)
    whole = as_float(den[0]) + as_float(den[1])
    empty = whole <= 0
    pos = jnp.where(empty, 1.0, divide(as_float(num[0]) + as_float(num[1]), jnp.where(empty, 1.0, whole)))
    return schedule(pos)


# ------------------------------------------------------------ private nodes


@schedule_class("fastai.per_step")
class PerStep(Schedule):
    """``schedule(min(t, total_steps - 1) / total_steps)``: a schedule of pos, per step."""

    stretchable = False  # the last step N - 1 does not scale with N

    schedule: Schedule = schedule_field()
    total_steps: Leaf

    def validate(self):
        check_positive(self, "total_steps")

    def compute(self, t):
        t, n = common(t, as_number(self.total_steps))
        last = jnp.maximum(n - 1, jnp.zeros((), n.dtype))
        # pos = t / N handed over as a ratio of two exact numbers: a piece of a combine_scheds then
        # starts exactly where t / N reaches its boundary, and its phase is never rounded
        num, den = exact_parts(jnp.minimum(t, last)), exact_parts(n)
        return _at_ratio(self.schedule, two_sum(*num), two_sum(*den))  # (hi, lo) with hi leading


@schedule_class("fastai.combine")
class Combine(Schedule):
    """fastai's ``combine_scheds``: piece ``i`` runs over the fraction ``pcts[i]`` of pos
    and sees its own pos ``(p - c_i) / (c_{i+1} - c_i)`` (``c`` the cumulative sums)."""

    stretchable = False  # a function of pos in [0, 1]

    scheds: tuple[Schedule, ...] = schedules_field()
    pcts: Leaves = precise_field(many=True)

    @classmethod
    def from_config_args(cls, args):
        return cls(tuple(args["scheds"]), args["pcts"])

    def at_ratio(self, num, den):
        """The value at ``pos = num / den`` (two ``(hi, lo)`` pairs), with exact boundaries.

        The cumulative sums of `pcts` (as passed, in two floats) times ``den`` are compared
        with ``num`` exactly, so piece ``i`` starts on the first step where ``t / N``
        reaches ``c_i`` (float32 included: no restart one step late), and each piece
        gets its own ``(t - c_i N) / (c_{i+1} N - c_i N)`` as two numbers. A boundary that
        ``t / N`` misses by less than ``1e-12`` (the rounding of fractions that should meet,
        like ``1/8 + 5/24 + 1/3`` and ``166/249``) counts as reached: the piece starts there."""
        pcts = as_float(self.pcts)
        low = self.low("pcts")
        edges = [(jnp.zeros(pcts.shape[:-1], pcts.dtype), jnp.zeros(pcts.shape[:-1], pcts.dtype))]
        for i in range(len(self.scheds)):  # sequential sums, as numpy's and torch's cumsum
            edges.append(_add(edges[-1], (pcts[..., i], low[..., i])))
        bounds = [_mul(e, den) for e in edges]
        index = jnp.zeros(jnp.shape(num[0]), jnp.int32)
        tie = -self._tie() * jnp.abs(as_float(den[0]) + as_float(den[1]))
        for b in bounds[1:-1]:  # the last piece starting at or before pos (fastai: pos >= pcts)
            gap = _add(num, _neg(b))
            index = index + ((gap[0] + gap[1]) >= tie).astype(jnp.int32)
        out = None
        for i, piece in enumerate(self.scheds):
            local = _at_ratio(piece, _add(num, _neg(bounds[i])), _add(bounds[i + 1], _neg(bounds[i])))
            out = local if out is None else jnp.where(index == i, local, out)
        return out

    def _tie(self) -> float:
        """The relative miss that still reaches a boundary: :data:`_TIE` where the fractions
        are known as passed (their low parts ride along); a few roundings of the float
        type where they were traced when the node was built (inside ``vmap``: the float32
        fractions are all there is, and ``1/3 + 1/3`` misses ``2/3`` by an ulp)."""
        traced_alone = any_traced(self.pcts) and not any_traced(getattr(self, "pcts_lo"))  # noqa: B009
        if not traced_alone:
            return _TIE
        return max(_TIE, 4.0 * (len(self.scheds) + 1) * float(jnp.finfo(float_dtype()).eps))

    def validate(self):
        check_length(self, "pcts", len(self.scheds), "one fraction per schedule")
        check(self, "pcts", lambda a: (a >= 0).all() & (np.abs(a.sum(axis=-1) - 1.0) <= 1e-9).all(),
              "non-negative fractions that sum to 1", "Each entry is the fraction of training its schedule covers")

    def compute(self, t):
        pos = as_float(t)
        pcts = as_float(self.pcts)
        edges = [jnp.zeros(pcts.shape[:-1], pcts.dtype)]
        for i in range(len(self.scheds)):  # sequential sums, as numpy's and torch's cumsum
            edges.append(edges[-1] + pcts[..., i])
        cum = jnp.stack(edges, axis=-1)
        index = jnp.sum(cum[1:-1] <= pos[..., None] + _TIE, axis=-1)  # the last piece starting at or before pos
        low, high = jnp.take(cum, index), jnp.take(cum, index + 1)
        width = high - low
        local = jnp.where(width > 0, divide(pos - low, jnp.where(width > 0, width, 1.0)), 1.0)
        out = self.scheds[0](local)
        for i, piece in enumerate(self.scheds[1:], start=1):
            out = jnp.where(index == i, piece(local), out)
        return out


# ------------------------------------------------------- schedules of pos


@checked
def SchedLin(start: Real | Leaves, end: Real | Leaves) -> Schedules:  # noqa: N802 - fastai's name
    r"""Linear from `start` to `end` as pos goes 0 -> 1 (fastai's ``SchedLin``).

    .. math:: f(p) = s + p\,(e - s)

    Args:
      start: the value at pos 0.
      end: the value at pos 1.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> from lrsched.compat import fastai
      >>> float(fastai.SchedLin(0.0, 2.0)(0.25))
      0.5
    """
    return _per_group("SchedLin", lambda start, end: linear(start, end, 1), start=start, end=end)


@checked
def SchedCos(start: Real | Leaves, end: Real | Leaves) -> Schedules:  # noqa: N802
    r"""Cosine from `start` to `end` as pos goes 0 -> 1 (fastai's ``SchedCos``).

    .. math:: f(p) = s + \tfrac12 (1 + \cos(\pi (1 - p)))\,(e - s)

    Args:
      start: the value at pos 0.
      end: the value at pos 1.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> from lrsched.compat import fastai
      >>> round(float(fastai.SchedCos(1.0, 0.0)(0.25)), 4)
      0.8536
    """
    return _per_group("SchedCos", lambda start, end: cosine(start, 1, end), start=start, end=end)


@checked
def SchedNo(start: Real | Leaves, end: Real | Leaves) -> Schedules:  # noqa: N802
    r"""The constant `start` (fastai's ``SchedNo``; `end` is ignored, as in fastai).

    .. math:: f(p) = s

    Args:
      start: the value at pos 0.
      end: the value at pos 1.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> from lrsched.compat import fastai
      >>> float(fastai.SchedNo(0.1, 5.0)(0.9))
      0.1
    """
    return _per_group("SchedNo", lambda start, end: constant(start), start=start, end=end)


@checked
def SchedExp(start: Real | Leaves, end: Real | Leaves) -> Schedules:  # noqa: N802
    r"""Exponential (geometric) from `start` to `end` (fastai's ``SchedExp``).

    .. math:: f(p) = s\,(e / s)^{p}

    `start` and `end` must be non-zero with the same sign.

    Args:
      start: the value at pos 0.
      end: the value at pos 1.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> from lrsched.compat import fastai
      >>> round(float(fastai.SchedExp(1e-4, 1e-2)(0.5)), 6)
      0.001
    """
    def build(start: Any, end: Any) -> Schedule:
        if _all_concrete(start, end):
            s, e = float(np.asarray(start)), float(np.asarray(end))
            if s == 0 or e / s <= 0:
                raise argument_error("SchedExp", "end", end, f"non-zero with the sign of start ({s!r})",
                                     "An exponential schedule moves by a constant ratio end/start, which must be > 0")
        return exponential(start, end / start, 1)

    return _per_group("SchedExp", build, start=start, end=end)


@checked
def SchedPoly(start: Real | Leaves, end: Real | Leaves, power: Real | Leaves) -> Schedules:  # noqa: N802
    r"""Polynomial from `start` to `end` (fastai's ``SchedPoly``).

    .. math:: f(p) = s + (e - s)\,p^{\text{power}}

    Built as ``lrsched.polynomial(s, e, 1, k_decay=power)`` (``e + (s - e)(1 - p^k)``).

    Args:
      start: the value at pos 0.
      end: the value at pos 1.
      power: the exponent of pos (> 0).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> from lrsched.compat import fastai
      >>> float(fastai.SchedPoly(0.0, 1.0, power=2)(0.5))
      0.25
    """
    _numbers("SchedPoly", dict(start=start, end=end, power=power))
    require("SchedPoly", "power", power, lambda a: a > 0, "positive", "Pass e.g. power=2")
    return _per_group("SchedPoly", lambda start, end, power: polynomial(start, end, 1, 1.0, k_decay=power),
                      start=start, end=end, power=power)


def _as_vector(xs: Any) -> Any:
    """numpy float64 when concrete (exact under x64 whatever the mode), else jnp."""
    a = concrete(xs)
    if a is not None:
        return np.asarray(a, dtype=np.float64).reshape(-1)
    if isinstance(xs, (list, tuple)):
        return jnp.stack([as_float(x) for x in xs])
    return as_float(xs).reshape(-1)


@checked
def combine_scheds(pcts: Sequence[Real], scheds: Sequence[Schedules]) -> Schedules:
    r"""Run ``scheds[i]`` over the fraction ``pcts[i]`` of training (fastai's ``combine_scheds``).

    With ``c_i`` the cumulative sums of `pcts` (``c_0 = 0``), piece ``i`` is
    active for ``c_i <= p < c_{i+1}`` and sees its own pos:

    .. math:: f(p) = s_i\left(\frac{p - c_i}{c_{i+1} - c_i}\right)

    A piece of width 0 is skipped, as in fastai. The result is a schedule of pos;
    wrap it in :func:`per_step` to get one of the step count. Piece ``i`` starts
    exactly where ``p`` reaches ``c_i`` (the sums of `pcts` as passed, compared
    without rounding when :func:`per_step` evaluates it). A piece given as a list
    (one schedule per parameter group, e.g. ``SchedCos`` of arrays) makes the
    result a list, one combination per group.

    Args:
      pcts: the fraction of training each schedule covers (non-negative, summing to 1).
      scheds: the schedules of pos, one per fraction (or lists of them, one per group).

    Returns:
      An lrsched Schedule, or a list of them (one per parameter group).

    Examples:
      >>> from lrsched.compat import fastai
      >>> f = fastai.combine_scheds([0.5, 0.5], [fastai.SchedLin(0.0, 1.0), fastai.SchedNo(1.0, 1.0)])
      >>> [float(f(p)) for p in (0.0, 0.25, 0.75)]
      [0.0, 0.5, 1.0]
    """
    if not isinstance(scheds, (list, tuple)):
        raise argument_error("combine_scheds", "scheds", scheds, "a list of schedules (one per fraction in pcts)",
                             "Pass e.g. [SchedCos(1e-4, 1e-3), SchedCos(1e-3, 1e-8)]")
    scheds = list(scheds)
    for i, s in enumerate(scheds):
        if not isinstance(s, (Schedule, list)):
            raise ScheduleError(
                f"combine_scheds(scheds[{i}]): expected an lrsched Schedule; got {type(s).__name__}. "
                "Use SchedLin/SchedCos/SchedExp/SchedNo/SchedPoly from lrsched.compat.fastai"
            )
        _schedules("combine_scheds", f"scheds[{i}]", s)
    groups = _groups("combine_scheds", {f"scheds[{i}]": s for i, s in enumerate(scheds) if isinstance(s, list)})
    if groups is not None:
        return [combine_scheds(pcts, [_pick(s, g) if isinstance(s, list) else s for s in scheds])
                for g in range(groups)]
    pieces = tuple(s for s in scheds if isinstance(s, Schedule))
    p = _as_vector(pcts)
    if p.shape[-1] != len(scheds) or not scheds:
        raise argument_error("combine_scheds", "pcts", pcts, f"one fraction per schedule ({len(scheds)})",
                   "Give pcts and scheds the same non-zero length")
    return Combine(pieces, p)


@checked
def combined_cos(pct: Real, start: Real | Leaves, middle: Real | Leaves, end: Real | Leaves) -> Schedules:
    r"""Cosine from `start` to `middle` over the fraction `pct`, then to `end`
    (fastai's ``combined_cos``, the shape of ``fit_one_cycle``).

    .. math:: f(p) = \text{combine\_scheds}([q, 1 - q], [\text{SchedCos}(s, m), \text{SchedCos}(m, e)])(p)

    With arrays (one value per parameter group, as ``fit_one_cycle`` passes them
    for discriminative rates) the result is a list of schedules, one per group.

    Args:
      pct: the fraction of training of the first half.
      start: the value at pos 0 (or one per parameter group).
      middle: the value at pos `pct` (or one per group).
      end: the value at pos 1 (or one per group).

    Returns:
      An lrsched Schedule, or a list of them (one per parameter group).

    Examples:
      >>> from lrsched.compat import fastai
      >>> f = fastai.combined_cos(0.25, 0.0, 1.0, 0.0)
      >>> [round(float(f(p)), 4) for p in (0.0, 0.125, 0.25, 0.625)]
      [0.0, 0.5, 1.0, 0.5]
      >>> groups = fastai.combined_cos(0.25, [1e-4, 1e-3], [1e-3, 1e-2], [1e-8, 1e-7])
      >>> [round(float(g(0.25)), 6) for g in groups]
      [0.001, 0.01]
    """
    _numbers("combined_cos", dict(start=start, middle=middle, end=end))
    _groups("combined_cos", dict(start=start, middle=middle, end=end))
    return combine_scheds([pct, 1 - pct], [SchedCos(start, middle), SchedCos(middle, end)])


@checked
def per_step(schedule: Schedules, total_steps: Real) -> Schedules:
    r"""A schedule of pos as a schedule of the step: what fastai's ``ParamScheduler``
    sets before batch `t` of a fit of `total_steps` batches.

    .. math:: v(t) = f\left(\min(t, N - 1) / N\right)

    ``t / N`` is handed to the schedule as a ratio of two exact numbers, so a
    :func:`combine_scheds` piece starts exactly on the step where ``t / N``
    reaches its boundary and its phase is never rounded (fastai compares
    ``pos`` with float32 boundaries; see the module's notes).

    Args:
      schedule: a schedule of pos (its steps are fractions in [0, 1]), or a list of them (one per group).
      total_steps: fastai's ``n_epoch * len(dls.train)`` (> 0).

    Returns:
      An lrsched Schedule (a list for a list).

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import fastai
      >>> lrsched.evaluate(fastai.per_step(fastai.SchedLin(0.0, 1.0), 4), 6)
      array([0.  , 0.25, 0.5 , 0.75, 0.75, 0.75], dtype=float32)
    """
    _schedules("per_step", "schedule", schedule)
    if isinstance(schedule, list):
        return [PerStep(s, total_steps) for s in schedule]
    return PerStep(schedule, total_steps)


def _check_fraction(func: str, field: str, value: Any) -> None:
    a = concrete(value)
    if a is not None and not np.all((a >= 0) & (a <= 1)):
        raise argument_error(func, field, value, "in [0, 1]", "Pass the fraction of training, such as 0.25")


def _check_divisor(func: str, field: str, value: Any, why: str, example: str) -> None:
    require(func, field, value, lambda a: a != 0, f"non-zero ({why})",
            f"fastai divides by it too (a ZeroDivisionError); pass e.g. {field}={example}")


# ---------------------------------------------------- fastai's fit_* schedules


@checked
def one_cycle(total_steps: Real, lr_max: Real | Leaves | slice, div: Real = 25.0, div_final: Real = 1e5,
              pct_start: Real = 0.25, n_groups: int | None = None) -> Schedules:
    r"""The learning rate of fastai's ``Learner.fit_one_cycle``, per step.

    Cosine from ``lr_max / div`` up to `lr_max` over the fraction `pct_start`
    of the `total_steps` (``n_epoch * len(dls.train)``), then cosine down to
    ``lr_max / div_final``; with ``p = t / N``:

    .. math:: v(t) = \text{combined\_cos}(\text{pct\_start}, l/\text{div}, l, l/\text{div\_final})(p)

    The momentum that goes with it is :func:`one_cycle_momentum`; both at once:
    :func:`fit_one_cycle`.

    Args:
      total_steps: fastai's ``n_epoch * len(dls.train)`` (> 0).
      lr_max: the peak learning rate; or one per parameter group (a list or array), or fastai's
        ``slice(lo, hi)`` / ``slice(hi)`` spread over `n_groups` groups.
      div: the start rate is ``lr_max / div``.
      div_final: the final rate is ``lr_max / div_final`` (flat_cos: ``lr / div_final``).
      pct_start: the fraction of training before the turn, in [0, 1].
      n_groups: the optimizer's number of parameter groups (``len(learn.opt.param_lists)``); needed
        with a slice, and with a single rate it gives that rate to every group (a list).

    Returns:
      An lrsched Schedule; a list of them, one per parameter group, for per-group rates.

    Examples:
      fastai's ``learn.fit_one_cycle(n_epoch, lr_max=1e-2)`` with 100 batches in all:

      >>> import lrsched
      >>> from lrsched.compat import fastai
      >>> lr = fastai.one_cycle(100, lr_max=1e-2)
      >>> (100 * lrsched.evaluate(lr, [0, 12, 25, 60, 90])).round(4)  # in units of lr_max
      array([0.04  , 0.4899, 1.    , 0.5523, 0.0432], dtype=float32)
      >>> mom = fastai.one_cycle_momentum(100)
      >>> lrsched.evaluate(mom, [0, 25, 99]).round(4)
      array([0.95, 0.85, 0.95], dtype=float32)

      Discriminative rates, ``learn.fit_one_cycle(n, slice(1e-5, 1e-3))`` with 3 parameter groups:

      >>> groups = fastai.one_cycle(100, slice(1e-5, 1e-3), n_groups=3)
      >>> [float(g(25)) for g in groups]  # the peaks: fastai's even_mults(1e-5, 1e-3, 3)
      [9.999999747378752e-06, 9.999999747378752e-05, 0.0010000000474974513]
    """
    return _one_cycle("one_cycle", total_steps, lr_max, div, div_final, pct_start, n_groups)


def _one_cycle(func: str, total_steps: Any, lr_max: Any, div: Any, div_final: Any, pct_start: Any,
               n_groups: Any) -> Schedules:
    """:func:`one_cycle`, its errors naming `func` (``fit_one_cycle`` calls it too)."""
    _check_fraction(func, "pct_start", pct_start)
    _check_divisor(func, "div", div, "the start rate is lr_max / div", "25.0")
    _check_divisor(func, "div_final", div_final, "the final rate is lr_max / div_final", "1e5")
    rates = _group_rates(func, "lr_max", lr_max, n_groups)
    return _per_group(func, lambda lr_max: per_step(combined_cos(pct_start, lr_max / div, lr_max,
                                                                 lr_max / div_final), total_steps),
                      lr_max=rates)


@checked
def one_cycle_momentum(total_steps: Real, pct_start: Real = 0.25,
                       moms: Sequence[Real] = (0.95, 0.85, 0.95)) -> Schedule:
    r"""The momentum of fastai's ``fit_one_cycle`` (``moms=(0.95, 0.85, 0.95)``), per step.

    Cosine from ``moms[0]`` to ``moms[1]`` over `pct_start`, then to ``moms[2]``:

    .. math:: v(t) = \text{combined\_cos}(\text{pct\_start}, m_0, m_1, m_2)(t / N)

    fastai sets it as the optimizer's ``mom`` (``beta1`` for Adam).

    Args:
      total_steps: fastai's ``n_epoch * len(dls.train)`` (> 0).
      pct_start: the fraction of training before the turn, in [0, 1].
      moms: the momenta at the start, the turn and the end.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import fastai
      >>> lrsched.evaluate(fastai.one_cycle_momentum(8, pct_start=0.25), 8).round(4)
      array([0.95  , 0.9   , 0.85  , 0.8567, 0.875 , 0.9   , 0.925 , 0.9433], dtype=float32)
    """
    _check_fraction("one_cycle_momentum", "pct_start", pct_start)
    known = concrete(moms)
    if known is not None and known.shape[-1:] != (3,):
        raise argument_error("one_cycle_momentum", "moms", moms, "three values (start, middle, end)",
                   "Pass e.g. moms=(0.95, 0.85, 0.95)")
    # scalar moms: one schedule (a list only comes from per-group values)
    return cast(Schedule, per_step(combined_cos(pct_start, moms[0], moms[1], moms[2]), total_steps))


@checked
def fit_one_cycle(total_steps: Real, lr_max: Real | Leaves | slice, div: Real = 25.0, div_final: Real = 1e5,
                  pct_start: Real = 0.25, moms: Sequence[Real] = (0.95, 0.85, 0.95),
                  n_groups: int | None = None) -> dict[str, Schedules]:
    r"""Both schedules of fastai's ``fit_one_cycle``, keyed like its ``ParamScheduler``.

    Returns ``{"lr": one_cycle(...), "mom": one_cycle_momentum(...)}``, ready for
    e.g. ``lrsched.optax.inject(optax.adam, learning_rate=s["lr"], b1=s["mom"])``:

    .. math:: \text{lr}(t) = \text{combined\_cos}(q, l/d, l, l/d_f)(t/N),\quad
              \text{mom}(t) = \text{combined\_cos}(q, m_0, m_1, m_2)(t/N)

    Args:
      total_steps: fastai's ``n_epoch * len(dls.train)`` (> 0).
      lr_max: the peak learning rate.
      div: the start rate is ``lr_max / div``.
      div_final: the final rate is ``lr_max / div_final`` (flat_cos: ``lr / div_final``).
      pct_start: the fraction of training before the turn, in [0, 1].
      moms: the momenta at the start, the turn and the end.
      n_groups: the optimizer's number of parameter groups, with per-group rates (see :func:`one_cycle`).

    Returns:
      A dict of Schedules (``"lr"``: a list, one per group, for per-group rates).

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import fastai
      >>> s = fastai.fit_one_cycle(1000, lr_max=3e-3)
      >>> sorted(s), float(s["lr"](250)), float(s["mom"](250))
      (['lr', 'mom'], 0.003, 0.85)
    """
    return {"lr": _one_cycle("fit_one_cycle", total_steps, lr_max, div, div_final, pct_start, n_groups),
            "mom": one_cycle_momentum(total_steps, pct_start, moms)}


@checked
def flat_cos(total_steps: Real, lr: Real | Leaves | slice, div_final: Real = 1e5, pct_start: Real = 0.75,
             n_groups: int | None = None) -> Schedules:
    r"""The learning rate of fastai's ``fit_flat_cos``: flat at `lr`, then cosine.

    .. math:: v(t) = \text{combined\_cos}(\text{pct\_start}, l, l, l / \text{div\_final})(t / N)

    Args:
      total_steps: fastai's ``n_epoch * len(dls.train)`` (> 0).
      lr: the flat learning rate (or per parameter group, as :func:`one_cycle`'s `lr_max`).
      div_final: the final rate is ``lr_max / div_final`` (flat_cos: ``lr / div_final``).
      pct_start: the fraction of training before the turn, in [0, 1].
      n_groups: the optimizer's number of parameter groups, with per-group rates.

    Returns:
      An lrsched Schedule (a list, one per group, for per-group rates).

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import fastai
      >>> lrsched.evaluate(fastai.flat_cos(8, lr=1.0, pct_start=0.5), 8).round(4)
      array([1.    , 1.    , 1.    , 1.    , 1.    , 0.8536, 0.5   , 0.1464], dtype=float32)
    """
    _check_fraction("flat_cos", "pct_start", pct_start)
    _check_divisor("flat_cos", "div_final", div_final, "the final rate is lr / div_final", "1e5")
    return _per_group("flat_cos", lambda lr: per_step(combined_cos(pct_start, lr, lr, lr / div_final), total_steps),
                      lr=_group_rates("flat_cos", "lr", lr, n_groups))


@checked
def sgdr(n_cycles: int, cycle_len: Real, lr_max: Real | Leaves | slice, cycle_mult: Real = 2,
         steps_per_epoch: Real = 1, n_groups: int | None = None) -> Schedules:
    r"""The learning rate of fastai's ``fit_sgdr``: `n_cycles` cosine annealings
    from `lr_max` to 0, cycle ``i`` lasting ``cycle_len * cycle_mult**i`` epochs.

    The fit lasts ``n_epoch = cycle_len * (cycle_mult**n_cycles - 1) // (cycle_mult - 1)``
    epochs of `steps_per_epoch` steps (with the default ``steps_per_epoch=1``
    `cycle_len` counts steps), and cycle ``i`` covers the fraction
    ``cycle_len * cycle_mult**i / n_epoch`` of it:

    .. math:: v(t) = \text{combine\_scheds}(\text{pcts}, [\text{SchedCos}(l, 0)] \times n)(t / N)

    ``cycle_mult=1`` (a division by zero in fastai) gives equal cycles.
    `n_cycles` fixes the number of pieces, so it is a Python int (not vmappable).

    Args:
      n_cycles: the number of cycles (a Python int: it fixes the number of pieces).
      cycle_len: the first cycle's length in epochs (> 0).
      lr_max: the peak learning rate.
      cycle_mult: each cycle is this many times longer than the previous one (>= 1).
      steps_per_epoch: steps per epoch (> 0).
      n_groups: the optimizer's number of parameter groups, with per-group rates (see :func:`one_cycle`).

    Returns:
      An lrsched Schedule (a list, one per group, for per-group rates).

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import fastai
      >>> lrsched.evaluate(fastai.sgdr(2, cycle_len=2, lr_max=1.0), 6).round(4)
      array([1.    , 0.5   , 1.    , 0.8536, 0.5   , 0.1464], dtype=float32)
    """
    if isinstance(n_cycles, bool) or not isinstance(n_cycles, (int, np.integer)) or n_cycles < 1:
        raise argument_error("sgdr", "n_cycles", n_cycles, "a positive Python int",
                   "It sets the number of pieces; pass e.g. n_cycles=3")
    for field, value in (("cycle_len", cycle_len), ("steps_per_epoch", steps_per_epoch)):
        a = concrete(value)
        if a is not None and not np.all(a > 0):
            raise argument_error("sgdr", field, value, "positive", f"Pass a number > 0 for {field}")
    require("sgdr", "cycle_mult", cycle_mult, lambda a: a >= 1, ">= 1",
            "Pass 1 for equal cycles or e.g. 2 to double them")
    n = int(n_cycles)
    if _all_concrete(cycle_len, cycle_mult):
        length, mult = cycle_len, cycle_mult
        n_epoch = length * n if mult == 1 else length * (mult**n - 1) // (mult - 1)
        pcts = [length * mult**i / n_epoch for i in range(n)]
    else:
        length, mult = as_number(cycle_len), as_number(cycle_mult)
        length, mult = common(length, mult)
        one = jnp.ones((), mult.dtype)
        geometric = mult != one
        safe = jnp.where(geometric, mult - one, one)
        if jnp.issubdtype(mult.dtype, jnp.integer):
            summed = jnp.floor_divide(length * (mult**n - one), safe)
        else:
            summed = jnp.floor(length * (mult**n - one) / safe)
        n_epoch = jnp.where(geometric, summed, length * n)
        pcts = [as_float(length * mult**i) / as_float(n_epoch) for i in range(n)]
    return _per_group("sgdr", lambda lr_max: per_step(combine_scheds(pcts, [SchedCos(lr_max, 0.0) for _ in range(n)]),
                                                      n_epoch * steps_per_epoch),
                      lr_max=_group_rates("sgdr", "lr_max", lr_max, n_groups))
