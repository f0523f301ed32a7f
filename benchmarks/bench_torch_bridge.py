"""Per-step cost of ``scheduler.step()``: lrsched_torch against torch's own schedulers, every step timed.

Each case builds torch's scheduler and the bridge's equivalent on identical SGD
optimizers (1, 10 or 100 param groups) and steps both for ``--steps`` steps (10^6
by default), alternating in chunks of ``--chunk`` steps (which side goes first
alternates too), so both see the same machine load. Every single ``step()`` is
timed with ``perf_counter_ns`` into a preallocated numpy array, and full garbage
collections (generation 2) are counted with ``gc.callbacks`` while each side runs.
No best-of-N: the mean, median, p99 and worst single step of the whole run are
reported, and the ratios bridge / torch (goal: mean <= 0.5, p99 and max <= 1.0,
no full GC pass caused by the bridge). For the bridge also: its worst step among
those that compute the next chunk (about 0.6% of them, counted by wrapping the
table's ``work``) and among all the others ("work/other": the first is the
bridge's own, the second one of the machine's events, as torch's worst step is),
and the median and worst of the steps that cross into the next chunk.

``--twin`` adds a third side, a second copy of torch's own scheduler on its own
optimizer, timed in the same rotation: how often torch's worst step exceeds its
own twin's is how often the machine, not the code, decides a row's worst step.
``--cpu N`` pins the process to one core first.

Cases (the same schedule on both sides):

- ``ScheduleLR cosine``: ``CosineAnnealingLR(T_max=5000, eta_min=1e-4)`` vs
  ``ScheduleLR(lr=compat.torch.CosineAnnealingLR(...))``
- ``ScheduleLR one-cycle+momentum``: ``OneCycleLR`` (cycle_momentum) vs ``ScheduleLR`` with
  ``compat.torch.OneCycleLR`` and ``OneCycleMomentum``
- ``lambda_lr``: ``LambdaLR(lambda k: <cosine in Python>)`` vs ``lambda_lr(lrsched.cosine(...))``
- ``lr_scheduler.StepLR``: torch's ``StepLR`` vs ``lrsched_torch.lr_scheduler.StepLR`` (the drop-in)

The per-group schedules differ (each group its own base lr), as in a real model;
groups sharing one schedule share one table column.

Run:  python benchmarks/bench_torch_bridge.py [--steps 1000000] [--chunk 10000] [--groups 1 10 100]
      [--twin] [--cpu N]
Writes benchmarks/results/torch_bridge.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import pathlib
import platform
import time
import warnings
from typing import Any, Callable

import numpy as np
import torch

L = torch.optim.lr_scheduler
TOTAL = 10**7  # OneCycle's length: longer than any run here (torch raises past it)


def optimizer(groups: int) -> torch.optim.Optimizer:
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(4))], "lr": 0.1 * (i + 1)}
                            for i in range(groups)], lr=0.1, momentum=0.9)


def cases() -> dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]]:
    import lrsched_torch
    from lrsched_torch import lr_scheduler as dl

    import lrsched
    from lrsched.compat import torch as tc

    def bases(o):
        return [g["lr"] for g in o.param_groups]

    def lam(k):  # what a torch user writes: a cosine factor in Python
        return 0.5 * (1.0 + math.cos(math.pi * min(k, 50_000) / 50_000))

    return {
        "ScheduleLR cosine": (
            lambda o: L.CosineAnnealingLR(o, T_max=5000, eta_min=1e-4),
            lambda o: lrsched_torch.ScheduleLR(o, lr=[tc.CosineAnnealingLR(b, 5000, 1e-4) for b in bases(o)])),
        "ScheduleLR one-cycle+momentum": (
            lambda o: L.OneCycleLR(o, max_lr=bases(o), total_steps=TOTAL),
            lambda o: lrsched_torch.ScheduleLR(o, lr=[tc.OneCycleLR(b, total_steps=TOTAL) for b in bases(o)],
                                               momentum=tc.OneCycleMomentum(total_steps=TOTAL))),
        "lambda_lr": (
            lambda o: L.LambdaLR(o, lam),
            lambda o: lrsched_torch.lambda_lr(o, [lrsched.cosine(b, 50_000) for b in bases(o)])),
        "lr_scheduler.StepLR": (
            lambda o: L.StepLR(o, step_size=1000, gamma=0.9),
            lambda o: dl.StepLR(o, step_size=1000, gamma=0.9)),
    }


class GCCounter:
    """Full (generation 2) collections while `side` is set."""

    def __init__(self) -> None:
        self.side: str | None = None
        self.full = {"torch": 0, "bridge": 0, "twin": 0}
        self.any = {"torch": 0, "bridge": 0, "twin": 0}

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and self.side is not None:
            self.any[self.side] += 1
            if info.get("generation") == 2:
                self.full[self.side] += 1


def run_chunk(step: Callable[[], None], times: np.ndarray, start: int, stop: int) -> None:
    clock = time.perf_counter_ns
    for i in range(start, stop):
        t0 = clock()
        step()
        times[i] = clock() - t0


def count_work(table: Any) -> dict[int, int]:
    """Count the table's work calls per chunk (by the chunk's start): the steps that compute the next chunk.
    (The count adds a call and a dict update to those steps, about 0.6% of them.)"""
    worked: dict[int, int] = {}
    real = table.work

    def work(chunk: Any) -> None:
        worked[chunk.start] = worked.get(chunk.start, 0) + 1
        real(chunk)

    table.work = work
    return worked


def measure(native_of, bridge_of, groups: int, steps: int, chunk: int, counter: GCCounter,
            twin: bool = False) -> dict[str, Any]:
    t0 = time.perf_counter()
    native = native_of(optimizer(groups))
    setup_native = time.perf_counter() - t0
    t0 = time.perf_counter()
    bridge = bridge_of(optimizer(groups))
    setup_bridge = time.perf_counter() - t0
    table = getattr(bridge, "_table", None) or bridge._lrsched.table
    worked = count_work(table)
    # (filled, not zeros: the pages are touched here, not at a step; a first write to fresh memory faults in
    # pages, a 2 MB huge page for an array this size, and evicts the caches just before the next step)
    sides = {"torch": native.step, "bridge": bridge.step}
    if twin:
        sides["twin"] = native_of(optimizer(groups)).step
    times = {side: np.full(steps, -1, np.int64) for side in sides}
    order = list(sides)
    for k, start in enumerate(range(0, steps, chunk)):
        stop = min(start + chunk, steps)
        turn = k % len(order)  # who goes first rotates (with two sides: alternates)
        for side in order[turn:] + order[:turn]:
            counter.side = side
            run_chunk(sides[side], times[side], start, stop)
            counter.side = None
    row: dict[str, Any] = {"groups": groups, "steps": steps, "setup_torch_s": setup_native,
                           "setup_bridge_s": setup_bridge}
    for side, t in times.items():
        us = t / 1000.0
        tenth = max(steps // 10, 1)
        row[side] = {"mean_us": float(us.mean()), "median_us": float(np.median(us)),
                     "p99_us": float(np.percentile(us, 99)), "p999_us": float(np.percentile(us, 99.9)),
                     "max_us": float(us.max()), "full_gc": counter.full[side], "any_gc": counter.any[side],
                     "total_s": float(us.sum() / 1e6), "first_tenth_s": float(us[:tenth].sum() / 1e6)}
    # the bridge's table refills: the steps that cross into a new chunk (the next chunk was computed
    # ahead, a few stages per step from a quarter into the current one: those steps are in the max)
    size = table.chunk
    boundary = np.arange(size - 1, steps, size)
    for side, t in times.items():
        us = t / 1000.0
        row[side]["boundary_median_us"] = float(np.median(us[boundary])) if boundary.size else 0.0
        row[side]["boundary_max_us"] = float(us[boundary].max()) if boundary.size else 0.0
        rest = np.delete(us, boundary)
        row[side]["max_off_boundary_us"] = float(rest.max())
    # the steps that computed the next chunk (one work call per step, from a quarter into each chunk until the
    # next one is ready): the worst of them is the bridge's own worst step; the worst of the others is one of
    # the machine's events, as torch's is
    work = np.zeros(steps, bool)
    for start, calls in worked.items():
        first = start + size // 4 - 1  # (step i ends at count i + 1)
        work[max(first, 0):max(first + calls, 0)] = True
    us = times["bridge"] / 1000.0
    row["bridge"]["work_steps"] = int(work.sum())
    row["bridge"]["work_max_us"] = float(us[work].max()) if work.any() else 0.0
    row["bridge"]["max_other_us"] = float(us[~work].max())
    for stat in ("mean_us", "median_us", "p99_us", "max_us"):
        row[f"ratio_{stat[:-3]}"] = row["bridge"][stat] / row["torch"][stat]
    if twin:
        row["twin_ratio_max"] = row["twin"]["max_us"] / row["torch"]["max_us"]
    return row


def scaling_table(rows: list[dict]) -> list[dict]:
    """Growth exponents: mean step() cost ~ groups**b (least squares on log-log), total time ~ steps**b
    (from the first tenth of the run to all of it)."""
    out = []
    for name in dict.fromkeys(r["case"] for r in rows):
        mine = sorted((r for r in rows if r["case"] == name), key=lambda r: r["groups"])
        entry: dict[str, Any] = {"case": name}
        for side in ("torch", "bridge"):
            if len(mine) >= 2:
                g = np.log([r["groups"] for r in mine])
                c = np.log([r[side]["mean_us"] for r in mine])
                entry[f"{side}_groups_exponent"] = float(np.polyfit(g, c, 1)[0])
            ratios = [r[side]["total_s"] / r[side]["first_tenth_s"] for r in mine]
            entry[f"{side}_steps_exponent"] = float(np.mean([math.log(x) / math.log(10) for x in ratios]))
            entry[f"{side}_us"] = {r["groups"]: r[side]["mean_us"] for r in mine}
        out.append(entry)
    print(f"\n{'growth exponents':<31}{'groups: torch':>14}{'bridge':>8}{'steps: torch':>14}{'bridge':>8}")
    for e in out:
        print(f"{e['case']:<31}{e.get('torch_groups_exponent', float('nan')):>14.2f}"
              f"{e.get('bridge_groups_exponent', float('nan')):>8.2f}{e['torch_steps_exponent']:>14.2f}"
              f"{e['bridge_steps_exponent']:>8.2f}")
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description="scheduler.step() cost: lrsched_torch vs torch, every step timed")
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=10_000, help="steps per alternation")
    parser.add_argument("--groups", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--cases", nargs="+", default=None, help="a subset of the case names")
    parser.add_argument("--twin", action="store_true", help="also time a second copy of torch's scheduler")
    parser.add_argument("--cpu", type=int, default=None, help="pin the process to this core")
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "torch_bridge.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    warnings.simplefilter("ignore", UserWarning)  # torch's call-order warning: not what is measured
    counter = GCCounter()
    gc.callbacks.append(counter)
    rows = []
    all_cases = cases()
    names = args.cases or list(all_cases)
    header = (f"{'case':<31}{'groups':>6}{'torch mean':>11}{'bridge mean':>12}{'mean':>6}{'median':>7}"
              f"{'p99':>6}{'max':>6}{'torch max us':>13}{'bridge max us':>14}{'work/other':>12}"
              f"{'crossing med/max us':>20}{'full GC t/b':>12}" + (f"{'twin max us':>12}" if args.twin else ""))
    print(f"load average: {os.getloadavg()}")
    print(header)
    print("-" * len(header))
    try:
        for name in names:
            native_of, bridge_of = all_cases[name]
            for groups in args.groups:
                row = measure(native_of, bridge_of, groups, args.steps, args.chunk, counter, args.twin)
                row["case"] = name
                rows.append(row)
                t, b = row["torch"], row["bridge"]
                print(f"{name:<31}{groups:>6}{t['mean_us']:>11.2f}{b['mean_us']:>12.2f}{row['ratio_mean']:>6.2f}"
                      f"{row['ratio_median']:>7.2f}{row['ratio_p99']:>6.2f}{row['ratio_max']:>6.2f}"
                      f"{t['max_us']:>13.0f}{b['max_us']:>14.0f}"
                      f"{b['work_max_us']:>7.0f}/{b['max_other_us']:<4.0f}"
                      f"{b['boundary_median_us']:>10.0f}/{b['boundary_max_us']:<7.0f}"
                      f"{t['full_gc']:>6}/{b['full_gc']:<5}"
                      + (f"{row['twin']['max_us']:>12.0f}" if args.twin else ""), flush=True)
    finally:
        gc.callbacks.remove(counter)
    scaling = scaling_table(rows)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "torch_bridge", "scaling": scaling, "machine": platform.platform(),
                               "processor": platform.processor(), "torch": torch.__version__,
                               "loadavg": os.getloadavg(), "steps": args.steps, "chunk": args.chunk,
                               "twin": args.twin, "cpu": args.cpu,
                               "rows": rows}, indent=2))
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
