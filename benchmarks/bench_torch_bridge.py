"""Per-step cost of ``scheduler.step()``: lrsched_torch versus torch's own schedulers.

For StepLR, CosineAnnealingLR and OneCycleLR (with cycle_momentum) on SGD with 1
and 10 param groups, in one run:

- native: ``torch.optim.lr_scheduler.<X>(optimizer, ...)``
- bridge: ``lrsched_torch.ScheduleLR(optimizer, lr=compat.torch.<X>(...), momentum=...)``
- lambda_lr: ``lrsched_torch.lambda_lr(optimizer, compat.torch.<X>(...))`` (a real LambdaLR; no momentum)
- naive: ``LambdaLR(optimizer, lambda k: float(jitted(k)) / base_lr)``, one JAX call per group per step
  (momentum not driven), the thing the table replaces

Times are the best of several repeats of many steps (steady state: chunk refills
included, the one-off compile reported apart as "setup"). Goal: bridge / native
<= 1.0 in every row (stretch 0.5).

Run:  python benchmarks/bench_torch_bridge.py [--steps 20000] [--repeats 5]
Writes benchmarks/results/torch_bridge.json.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import time
import warnings

import jax
import lrsched_torch
import torch

from lrsched.compat import torch as tc

L = torch.optim.lr_scheduler
TOTAL = 10**7  # OneCycle's length: longer than any run here (torch raises past it)

CASES = {
    "StepLR": (lambda o: L.StepLR(o, step_size=1000, gamma=0.9),
               lambda b: tc.StepLR(b, 1000, 0.9), None),
    "CosineAnnealingLR": (lambda o: L.CosineAnnealingLR(o, T_max=5000, eta_min=1e-4),
                          lambda b: tc.CosineAnnealingLR(b, 5000, 1e-4), None),
    "OneCycleLR+momentum": (lambda o: L.OneCycleLR(o, max_lr=[g["lr"] for g in o.param_groups], total_steps=TOTAL),
                            lambda b: tc.OneCycleLR(b, total_steps=TOTAL),
                            lambda b: tc.OneCycleMomentum(b, total_steps=TOTAL)),
}


def optimizer(groups: int) -> torch.optim.Optimizer:
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(4))], "lr": 0.1 * (i + 1)}
                            for i in range(groups)], lr=0.1, momentum=0.9)


def per_step(make, steps: int, repeats: int) -> tuple[float, float]:
    """(best seconds per step over `repeats` runs of `steps` steps, setup seconds of the first)."""
    best, setup = float("inf"), 0.0
    for r in range(repeats):
        t0 = time.perf_counter()
        sched = make()
        sched.step()
        if r == 0:
            setup = time.perf_counter() - t0
        step = sched.step
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - t0) / steps)
    return best, setup


def naive(opt: torch.optim.Optimizer, schedule_of) -> L.LambdaLR:
    lambdas = []
    for g in opt.param_groups:
        base = g["lr"]
        jitted = jax.jit(schedule_of(base))
        lambdas.append(lambda k, jitted=jitted, base=base: float(jitted(k)) / base)
    return L.LambdaLR(opt, lambdas)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description="scheduler.step() cost: lrsched_torch vs torch")
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "torch_bridge.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)  # torch's call-order warning: not what is measured
    rows = []
    for name, (native_of, lr_of, mom_of) in CASES.items():
        for groups in (1, 10):
            def bridge():
                o = optimizer(groups)
                bases = [g["lr"] for g in o.param_groups]
                return lrsched_torch.ScheduleLR(o, lr=[lr_of(b) for b in bases],
                                                momentum=None if mom_of is None else [mom_of(b) for b in bases])

            def lam():
                o = optimizer(groups)
                return lrsched_torch.lambda_lr(o, [lr_of(g["lr"]) for g in o.param_groups])

            t_native, s_native = per_step(lambda: native_of(optimizer(groups)), args.steps, args.repeats)
            t_bridge, s_bridge = per_step(bridge, args.steps, args.repeats)
            t_lambda, s_lambda = per_step(lam, args.steps, args.repeats)
            t_naive, s_naive = per_step(lambda: naive(optimizer(groups), lr_of), max(args.steps // 20, 200),
                                        max(args.repeats // 2, 1))
            rows.append({"schedule": name, "groups": groups, "native_us": t_native * 1e6,
                         "bridge_us": t_bridge * 1e6, "lambda_lr_us": t_lambda * 1e6, "naive_us": t_naive * 1e6,
                         "bridge_ratio": t_bridge / t_native, "lambda_lr_ratio": t_lambda / t_native,
                         "naive_ratio": t_naive / t_native, "bridge_setup_s": s_bridge, "native_setup_s": s_native})
    header = (f"{'schedule':<21}{'groups':>6}{'native us':>11}{'bridge us':>11}{'ratio':>7}"
              f"{'lambda_lr us':>14}{'ratio':>7}{'naive us':>10}{'ratio':>8}{'setup s':>9}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['schedule']:<21}{r['groups']:>6}{r['native_us']:>11.2f}{r['bridge_us']:>11.2f}"
              f"{r['bridge_ratio']:>7.2f}{r['lambda_lr_us']:>14.2f}{r['lambda_lr_ratio']:>7.2f}"
              f"{r['naive_us']:>10.1f}{r['naive_ratio']:>8.1f}{r['bridge_setup_s']:>9.3f}")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "torch_bridge", "machine": platform.platform(),
                               "processor": platform.processor(), "torch": torch.__version__,
                               "jax": jax.__version__, "steps": args.steps, "repeats": args.repeats,
                               "rows": rows}, indent=2))
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
