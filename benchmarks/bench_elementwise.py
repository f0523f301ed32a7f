"""Every primitive and combinator over 10^6 steps: time against a bare ``jnp.cos`` and against optax.

For each schedule, three jitted programs evaluate the same int32 steps ``0 .. n-1``
(compile excluded), timed in alternation (lrsched, the bare cosine, optax's
equivalent where optax has one; optax's piecewise-interpolated schedules
take a scalar step, so they run under ``jax.vmap``), medians of ``--repeat`` rounds:

- ``lrsched``: ``jax.jit(lambda s, t: s(t))(schedule, steps)`` (the schedule's
  numbers are arguments, as in a sweep or an optimizer state);
- ``closed``: ``jax.jit(lambda t: schedule(t))(steps)`` (the schedule closed over,
  its numbers constants, as ``optax.adam(schedule)`` has them and as optax's
  closures do: the like-for-like comparison with optax);
- ``bare cos``: ``jax.jit(lambda c, t: jnp.cos(c * t))`` over the same steps: the
  practical floor of an elementwise schedule on XLA CPU. Goal: lrsched / cos <= 2;
- ``optax``: optax's closure for the same schedule (its numbers baked into the
  program). Goal: lrsched / optax <= 1 (the closed-over program against optax's
  closure, like for like; the argument form is reported too).

Before timing, lrsched's values are checked against optax's on the first 5,000
steps where the schedules are the same (``same``), and only timed side by side
where optax's schedule differs in detail (``like``: e.g. optax's one-cycle phase
ends are ``pct T``, torch's are ``pct T - 1``).

Run:  .venv/bin/python benchmarks/bench_elementwise.py [--steps 1000000] [--repeat 21] [--only NAME ...]
Writes benchmarks/results/elementwise.json.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _timing import header, load_average, medians

import lrsched


def cases(n: int) -> list[tuple[str, lrsched.Schedule, Callable[[Any], Any] | None, str]]:
    """(name, lrsched schedule, optax schedule or None, "same" | "like" | "")."""
    p = n // 10  # a period or piece length: ten of them over the run
    bounds = [p * i for i in range(1, 10)]
    sgdr_period = n // 1023  # ten doubling periods over the run
    sgdr_bounds = list(np.cumsum([sgdr_period * 2**k for k in range(9)]))
    cos = lrsched.cosine
    return [
        ("constant", lrsched.constant(0.1), lambda t: jnp.broadcast_to(optax.constant_schedule(0.1)(t), t.shape),
         "same"),
        ("linear", lrsched.linear(1.0, 0.01, n), optax.linear_schedule(1.0, 0.01, n), "same"),
        ("polynomial power=2", lrsched.polynomial(1.0, 0.01, n, power=2.0),
         optax.polynomial_schedule(1.0, 0.01, 2.0, n), "same"),
        ("polynomial k_decay=2", lrsched.polynomial(1.0, 0.01, n, power=2.0, k_decay=2.0), None, ""),
        ("cosine", cos(1.0, n, end_value=0.01), optax.cosine_decay_schedule(1.0, n, alpha=0.01), "same"),
        ("cosine exponent=2", cos(1.0, n, end_value=0.01, exponent=2.0),
         optax.cosine_decay_schedule(1.0, n, alpha=0.01, exponent=2.0), "same"),
        ("cosine k_decay=2", cos(1.0, n, end_value=0.01, k_decay=2.0), None, ""),
        ("cosine periodic", cos(1.0, p, end_value=0.01, periodic=True), None, ""),
        ("exponential", lrsched.exponential(1.0, 0.96, steps=1000), optax.exponential_decay(1.0, 1000, 0.96), "same"),
        ("exponential staircase", lrsched.exponential(1.0, 0.96, steps=1000, staircase=True),
         optax.exponential_decay(1.0, 1000, 0.96, staircase=True), "same"),
        ("exponential end_value", lrsched.exponential(1.0, 0.96, steps=1000, end_value=1e-6),
         optax.exponential_decay(1.0, 1000, 0.96, end_value=1e-6), "same"),
        ("step_decay", lrsched.step_decay(1.0, p, 0.5), optax.exponential_decay(1.0, p, 0.5, staircase=True),
         "same"),
        ("multistep (9 milestones)", lrsched.multistep(1.0, bounds, 0.5),
         optax.piecewise_constant_schedule(1.0, {b: 0.5 for b in bounds}), "same"),
        ("inverse_sqrt", lrsched.inverse_sqrt(1.0, 1000, offset=100), None, ""),
        ("inverse_time", lrsched.inverse_time(1.0, 0.5, steps=1000), None, ""),
        ("piecewise_constant (10 values)", lrsched.piecewise_constant(bounds, [0.5**i for i in range(10)]),
         optax.piecewise_constant_schedule(1.0, {b: 0.5 for b in bounds}), "same"),
        ("piecewise_linear (10 points)", lrsched.piecewise_linear([0] + bounds, [0.5**i for i in range(10)]),
         jax.vmap(optax.piecewise_interpolate_schedule("linear", 1.0, {b: 0.5 for b in bounds})), "same"),
        ("piecewise_linear cos", lrsched.piecewise_linear([0] + bounds, [0.5**i for i in range(10)], kind="cos"),
         jax.vmap(optax.piecewise_interpolate_schedule("cosine", 1.0, {b: 0.5 for b in bounds})), "same"),
        ("cyclic triangular", lrsched.cyclic(0.01, 1.0, p // 2), None, ""),
        ("cyclic triangular2", lrsched.cyclic(0.01, 1.0, p // 2, mode="triangular2"), None, ""),
        ("cyclic exp_range", lrsched.cyclic(0.01, 1.0, p // 2, mode="exp_range", gamma=0.99999), None, ""),
        ("one_cycle", lrsched.one_cycle(n, 1.0), jax.vmap(optax.cosine_onecycle_schedule(n, 1.0)), "like"),
        ("one_cycle linear three_phase", lrsched.one_cycle(n, 1.0, anneal="linear", three_phase=True),
         jax.vmap(optax.linear_onecycle_schedule(n, 1.0)), "like"),
        ("one_cycle_momentum", lrsched.one_cycle_momentum(n), None, ""),
        ("warmup_cosine", lrsched.warmup_cosine(1.0, p, n, end_value=0.01),
         optax.warmup_cosine_decay_schedule(0.0, 1.0, p, n, end_value=0.01), "same"),
        ("wsd linear", lrsched.wsd(1.0, n, p, 2 * p), None, ""),
        ("wsd cosine", lrsched.wsd(1.0, n, p, 2 * p, decay="cosine"), None, ""),
        ("wsd sqrt", lrsched.wsd(1.0, n, p, 2 * p, decay="sqrt"), None, ""),
        ("tanh", lrsched.tanh(1.0, n, end_value=0.01), None, ""),
        ("join (10 cosines)", lrsched.join([cos(1.0 + i, p) for i in range(10)], bounds),
         optax.join_schedules([optax.cosine_decay_schedule(1.0 + i, p) for i in range(10)], bounds), "same"),
        ("warmup(cosine)", lrsched.warmup(cos(1.0, n - p, end_value=0.01), p),
         optax.join_schedules([optax.linear_schedule(0.0, 1.0, p), optax.cosine_decay_schedule(1.0, n - p, 0.01)],
                              [p]), "same"),
        ("cycle(cosine)", lrsched.cycle(cos(1.0, p), p),
         optax.join_schedules([optax.cosine_decay_schedule(1.0, p)] * 10, bounds), "same"),
        ("cycle(cosine, decay=0.9)", lrsched.cycle(cos(1.0, p), p, decay=0.9),
         optax.join_schedules([optax.cosine_decay_schedule(0.9**i, p) for i in range(10)], bounds), "same"),
        ("cycle(cosine, period_mul=2)", lrsched.cycle(cos(1.0, sgdr_period), sgdr_period, period_mul=2),
         optax.join_schedules([optax.cosine_decay_schedule(1.0, sgdr_period * 2**k) for k in range(10)],
                              sgdr_bounds), "same"),
        ("cycle(one_cycle, period_mul=2)", lrsched.cycle(lrsched.one_cycle(sgdr_period, 1.0), sgdr_period,
                                                         period_mul=2), None, ""),
        ("clip(cosine)", lrsched.clip(cos(1.0, n), 0.1, 0.9), None, ""),
        ("shift(cosine)", lrsched.shift(cos(1.0, n), p), None, ""),
        ("cosine * 0.5 + 0.1", cos(1.0, n) * 0.5 + 0.1, None, ""),
        ("cosine * linear", cos(1.0, n) * lrsched.linear(0.0, 1.0, p), None, ""),
        ("noise(cosine)", lrsched.noise(cos(1.0, n), 0.1), None, ""),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--only", nargs="*", help="substrings of case names to run")
    args = parser.parse_args()
    n = args.steps
    steps = jnp.arange(n, dtype=jnp.int32)
    bare = jax.jit(lambda c, t: jnp.cos(c * t.astype(jnp.float32)))
    c = jnp.float32(1e-5)
    ours_fn = jax.jit(lambda s, t: s(t))
    print(header())
    print(f"{n:,} int32 steps, medians of {args.repeat} alternating rounds")
    print(f"{'schedule':34} {'lrsched ms':>10} {'closed ms':>9} {'cos ms':>8} {'optax ms':>9} {'/ cos':>6} "
          f"{'closed/cos':>10} {'/ optax':>8} {'closed/optax':>12}")
    rows = []
    load_before = load_average()
    for name, ours, theirs, relation in cases(n):
        if args.only and not any(o in name for o in args.only):
            continue
        closed = jax.jit(lambda t, ours=ours: ours(t))
        fns = [lambda ours=ours: ours_fn(ours, steps), lambda: bare(c, steps), lambda f=closed: f(steps)]
        if theirs is not None:
            f_theirs = jax.jit(theirs)
            if relation == "same":
                np.testing.assert_allclose(ours_fn(ours, steps[:5000]), f_theirs(steps[:5000]), rtol=2e-4, atol=1e-6,
                                           err_msg=name)
            fns.append(lambda f=f_theirs: f(steps))
        times = medians(fns, args.repeat)
        row = {"schedule": name, "lrsched_ms": 1e3 * times[0], "cos_ms": 1e3 * times[1],
               "closed_ms": 1e3 * times[2], "vs_cos": times[0] / times[1], "closed_vs_cos": times[2] / times[1],
               "optax_relation": relation}
        if theirs is not None:
            row.update(optax_ms=1e3 * times[3], vs_optax=times[0] / times[3], closed_vs_optax=times[2] / times[3])
        rows.append(row)
        print(f"{name:34} {row['lrsched_ms']:10.3f} {row['closed_ms']:9.3f} {row['cos_ms']:8.3f} "
              f"{row.get('optax_ms', float('nan')):9.3f} {row['vs_cos']:6.2f} {row['closed_vs_cos']:10.2f} "
              f"{row.get('vs_optax', float('nan')):8.2f} {row.get('closed_vs_optax', float('nan')):12.2f}"
              f"{'  (' + relation + ')' if relation == 'like' else ''}", flush=True)
    worst = max(rows, key=lambda r: r["vs_cos"])
    closed_worst = max(rows, key=lambda r: r["closed_vs_cos"])
    print(f"worst / cos: {worst['schedule']} {worst['vs_cos']:.2f}, closed over: {closed_worst['schedule']} "
          f"{closed_worst['closed_vs_cos']:.2f} (goal <= 2); worst / optax: "
          f"{max((r.get('vs_optax', 0), r['schedule']) for r in rows)}, closed over: "
          f"{max((r.get('closed_vs_optax', 0), r['schedule']) for r in rows)} (goal <= 1)")
    print(f"load average before {load_before}, after {load_average()}")
    out = os.path.join(os.path.dirname(__file__), "results", "elementwise.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"steps": n, "repeat": args.repeat, "load_before": load_before, "load_after": load_average(),
                   "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
