"""``python -m lrsched demo``: find a learning rate on the digits, then sweep schedules around it.

1. The LR range test (:func:`lrsched.finder.repeated_range_test`: several batch
   orders at once, one vmapped program) on scikit-learn's digits with a
   64-64-10 MLP, and every rule's suggestion.
2. One vmapped program that trains the MLP with three schedules, one-cycle
   (with fastai's momentum cycling, 0.95 -> 0.85 -> 0.95), cosine and constant,
   at a grid of peak rates from a tenth of the suggestion to ten times it: the
   same data, initialisation and batches for every run, the schedules held as
   data in the optimizer state (:func:`lrsched.optax.inject`). The three families
   share one pytree structure (:func:`mixture`), so every configuration is one
   slice of one batched schedule and the whole grid compiles once.
3. A table: each schedule's best peak, its accuracy, the steps it took to reach
   a target accuracy, and the time of the sweep against separate programs (the
   schedule's numbers baked in as constants, as an optax closure bakes them:
   one compile per configuration), measured on a few of them in the same run.
   The summary sentences are computed from the numbers.
4. PNG files: the range test, accuracy and loss against peak rate per schedule,
   and the training curves of each schedule's best run.

Needs scikit-learn and matplotlib (``pip install 'lrsched[demo]'``).
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from typing import Any, Callable

import numpy as np

__all__ = ["FAMILIES", "mixture", "sweep_program", "run_demo", "add_demo_arguments", "run_demo_from_args"]

FAMILIES = ("one_cycle", "cosine", "constant")
_OPTIMIZERS = ("adam", "sgd")
_RULES = ("robust", "valley", "steepest", "minimum", "steep", "slide")


def add_demo_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the demo's options to `parser` (the ``demo`` sub-command's parser).

    Args:
      parser: an ``argparse`` parser.

    Returns:
      The same parser.

    Examples:
      >>> import argparse
      >>> from lrsched.demo.run import add_demo_arguments
      >>> args = add_demo_arguments(argparse.ArgumentParser()).parse_args(["--quick"])
      >>> args.quick, args.out_dir, args.peaks
      (True, 'lrsched-demo', None)
    """
    parser.add_argument("--out-dir", default="lrsched-demo",
                        help="folder for the PNG files (created if missing; default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 3 range-test runs of 60 steps, 150 training steps, 5 peak rates, "
                             "1 separate program timed")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per run (default: 300, or 150 with --quick)")
    parser.add_argument("--peaks", type=int, default=None,
                        help="peak rates in the grid, log-spaced from 0.1x to 10x the suggestion (default: 7, or 5 "
                             "with --quick)")
    parser.add_argument("--target", type=float, default=0.95,
                        help="test accuracy whose first step is reported (default: %(default)s)")
    parser.add_argument("--separate", type=int, default=None,
                        help="configurations run as separate programs to time one compile per configuration "
                             "(default: 3, one per schedule, or 1 with --quick)")
    parser.add_argument("--optimizer", choices=_OPTIMIZERS, default="adam",
                        help="adam (momentum = b1) or sgd with momentum (default: %(default)s)")
    parser.add_argument("--rule", default="robust", choices=_RULES,
                        help="which suggestion is the centre of the grid (default: %(default)s, the median of "
                             "valley over the vmapped runs)")
    parser.add_argument("--seed", type=int, default=0, help="data split, batch order and initialisation seed")
    return parser


def run_demo_from_args(args: argparse.Namespace) -> dict:
    """Run :func:`run_demo` with the options parsed by :func:`add_demo_arguments`.

    Args:
      args: the parsed options.

    Returns:
      What :func:`run_demo` returns.
    """
    return run_demo(args.out_dir, quick=args.quick, steps=args.steps, peaks=args.peaks, target=args.target,
                    separate=args.separate, optimizer=args.optimizer, rule=args.rule, seed=args.seed)


def mixture(family: str, steps: int, peak: float) -> tuple[Any, Any]:
    r"""The learning rate and momentum schedules of one configuration, in a structure shared by all.

    .. math::
       \eta(t) = w_1\,\text{one\_cycle}(t) + w_2\,\text{cosine}(t) + w_3\,\text{constant}(t)

    with the one-hot weights ``w`` of `family` (leaves, like every number), and the
    momentum ``w_1 * one_cycle_momentum(t) + (1 - w_1) * 0.9`` (fastai's cycle
    0.95 -> 0.85 -> 0.95 for one-cycle; 0.9, Adam's default ``b1``, otherwise).
    Every configuration has the same pytree structure, so :func:`lrsched.sweep.stack`
    makes them one batched schedule, and the values are exactly those of the named
    schedule (``x * 1 + y * 0 + z * 0 == x`` in floating point).

    Args:
      family: ``"one_cycle"`` (``lrsched.one_cycle(steps, peak)``), ``"cosine"``
        (``lrsched.cosine(peak, steps)``) or ``"constant"`` (``lrsched.constant(peak)``).
      steps: the length of the training.
      peak: the peak learning rate.

    Returns:
      ``(learning_rate, momentum)`` schedules.

    Examples:
      >>> import numpy as np, lrsched
      >>> from lrsched.demo.run import mixture
      >>> lr, mom = mixture("cosine", 100, 0.01)
      >>> bool(np.array_equal(lrsched.evaluate(lr, 100), lrsched.evaluate(lrsched.cosine(0.01, 100), 100)))
      True
      >>> [round(float(mixture("one_cycle", 100, 0.01)[1](t)), 3) for t in (0, 29, 99)]
      [0.95, 0.85, 0.95]
    """
    import lrsched as L

    if family not in FAMILIES:
        raise ValueError(f"mixture: family must be one of {list(FAMILIES)}; got {family!r}")
    w = {f: float(f == family) for f in FAMILIES}
    lr = (w["one_cycle"] * L.one_cycle(steps, peak) + w["cosine"] * L.cosine(peak, steps)
          + w["constant"] * L.constant(peak))
    mom = w["one_cycle"] * L.one_cycle_momentum(steps, base_value=0.85, peak_value=0.95) \
        + (1.0 - w["one_cycle"]) * L.constant(0.9)
    return lr, mom


def _make_tx(optimizer: str, lr: Any, mom: Any) -> Any:
    import optax

    import lrsched.optax

    if optimizer == "adam":
        return lrsched.optax.inject(optax.adam, learning_rate=lr, b1=mom)
    return lrsched.optax.inject(optax.sgd, learning_rate=lr, momentum=mom)


def sweep_program(optimizer: str = "adam") -> Callable[..., tuple[Any, Any]]:
    """One training run as a pure function of its schedules, to be vmapped over them.

    ``run(lr, momentum, params, xs, ys, x_test, y_test) -> (losses, accuracies)``: an
    optax optimizer (:func:`lrsched.optax.inject` of Adam's ``b1`` or SGD's
    ``momentum``) whose schedules live in its state, trained for ``len(xs)`` steps
    by :func:`lrsched.demo.digits.update` in a ``lax.scan``, recording each step's
    training loss (before the update) and test accuracy (after it).

    Args:
      optimizer: ``"adam"`` or ``"sgd"``.

    Returns:
      The function ``run``. ``jax.jit(jax.vmap(run, in_axes=(0, 0, None, None, None,
      None, None)))`` trains a batched schedule in one program.

    Examples:
      >>> import jax, numpy as np
      >>> from lrsched import sweep
      >>> from lrsched.demo import digits
      >>> from lrsched.demo.run import mixture, sweep_program
      >>> d = digits.load(); xs, ys = digits.batches(d.x_train, d.y_train, 20)
      >>> lr, mom = (sweep.stack(s) for s in zip(*[mixture(f, 20, 1e-2) for f in ("one_cycle", "constant")]))
      >>> run = jax.vmap(sweep_program("adam"), in_axes=(0, 0, None, None, None, None, None))
      >>> losses, accs = run(lr, mom, digits.init_mlp(0), xs, ys, d.x_test, d.y_test)
      >>> losses.shape, accs.shape
      ((2, 20), (2, 20))
    """
    import jax

    from lrsched.demo import digits

    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"sweep_program: optimizer must be one of {list(_OPTIMIZERS)}; got {optimizer!r}")

    def run(lr: Any, mom: Any, params: Any, xs: Any, ys: Any, x_test: Any, y_test: Any) -> tuple[Any, Any]:
        tx = _make_tx(optimizer, lr, mom)

        def step(carry: Any, batch: Any) -> Any:
            p, st, loss = digits.update(tx, carry[0], carry[1], batch)
            return (p, st), (loss, digits.accuracy(p, x_test, y_test))

        _, (losses, accs) = jax.lax.scan(step, (params, tx.init(params)), (xs, ys))
        return losses, accs

    return run


def _first_at_least(curve: np.ndarray, target: float) -> int | None:
    """Steps taken until the curve first reaches `target` (index + 1), or None."""
    hit = np.flatnonzero(curve >= target)
    return int(hit[0]) + 1 if hit.size else None


def _points(x: float) -> str:
    return f"{100 * x:+.1f} points"


def _summary(best: dict[str, dict], rows: list[dict], peaks: np.ndarray, lr: float, target: float,
             tolerance: float = 0.01) -> list[str]:
    """The conclusions, each computed from the numbers (nothing here is fixed in advance)."""
    lines = []
    order = sorted(FAMILIES, key=lambda f: (-best[f]["accuracy"], best[f]["final_loss"]))
    top = order[0]
    rest = ", ".join(f"{f} {best[f]['accuracy']:.3f} ({_points(best[f]['accuracy'] - best[top]['accuracy'])})"
                     for f in order[1:])
    lines.append(f"Best final test accuracy: {top} {best[top]['accuracy']:.3f} at peak {best[top]['peak']:.2e}; "
                 f"{rest}.")
    overall = best[top]["accuracy"]
    reach = {}
    for f in FAMILIES:
        good = [r["peak"] for r in rows if r["schedule"] == f and r["accuracy"] >= overall - tolerance]
        reach[f] = good
    parts = []
    for f in sorted(FAMILIES, key=lambda f: (-len(reach[f]), -(max(reach[f]) if reach[f] else 0.0))):
        good = reach[f]
        span = f"{min(good) / lr:.2g}x to {max(good) / lr:.2g}x the suggestion" if good else "none"
        parts.append(f"{f} {len(good)} of {len(peaks)} ({span})")
    lines.append(f"Peaks within {100 * tolerance:.0f} point of the best accuracy: " + "; ".join(parts) + ".")
    high = float(peaks[-1])
    at_high = {f: next(r for r in rows if r["schedule"] == f and r["peak"] == high) for f in FAMILIES}
    hi_order = sorted(FAMILIES, key=lambda f: -at_high[f]["accuracy"])
    lines.append(f"At the highest peak ({high:.2e}, {high / lr:.2g}x the suggestion): " + ", ".join(
        f"{f} {at_high[f]['accuracy']:.3f} (training loss {at_high[f]['final_loss']:.3g})" for f in hi_order) + ".")
    steps = {f: best[f]["steps_to_target"] for f in FAMILIES}
    reached = sorted((s, f) for f, s in steps.items() if s is not None)
    never = [f for f, s in steps.items() if s is None]
    if reached:
        text = ", ".join(f"{f} at step {s}" for s, f in reached)
        lines.append(f"Best runs reaching {target:.0%} test accuracy: {text}"
                     + (f"; never: {', '.join(never)}" if never else "") + ".")
    else:
        lines.append(f"No best run reached {target:.0%} test accuracy.")
    lines.append("One seed and one data split: rerun with --seed to see how much these numbers move.")
    return lines


def run_demo(out_dir: str, quick: bool = False, steps: int | None = None, peaks: int | None = None,
             target: float = 0.95, separate: int | None = None, optimizer: str = "adam", rule: str = "robust",
             seed: int = 0, verbose: bool = True) -> dict:
    """Range test and suggestions, then one vmapped sweep of three schedules over peak rates; plots in `out_dir`.

    Args:
      out_dir: folder for ``range_test.png``, ``sweep.png`` and ``training.png``.
      quick: 3 range-test runs of 60 steps, 150 training steps, 5 peaks, 1 separate
        program timed (instead of 5 runs, 100 steps, 300 training steps, 7 peaks, 3).
      steps: training steps per run (overrides the default; >= 10).
      peaks: the number of peak rates, log-spaced from 0.1x to 10x the suggestion (>= 2).
      target: the test accuracy whose first step is reported.
      separate: how many configurations (taken in turn from each schedule, at the
        suggestion's peak first) to also run as separate programs, to time one
        compile per configuration and check the vmapped runs against them (>= 1).
      optimizer: ``"adam"`` (momentum is ``b1``) or ``"sgd"`` (with momentum).
      rule: the suggestion at the centre of the grid (``"robust"``: the median of
        valley over the runs).
      seed: seeds the data split, the batch orders and the initialisation.
      verbose: print the suggestions, the table and the summary.

    Returns:
      A dict: ``suggestions`` (rule -> {"lr", "interval"}), ``lr`` (the centre),
      ``peaks``, ``runs`` (one dict per configuration: schedule, peak, accuracy,
      final_loss, steps_to_target), ``best`` (schedule -> its best run),
      ``timing`` (sweep_s, compile_s, separate_s, estimate_s, traces, ...),
      ``summary`` (the printed conclusions), ``files`` (the PNG paths),
      ``range_test`` (lrs, median curve, time_s).
    """
    import jax
    import jax.numpy as jnp
    import optax

    from lrsched import sweep
    from lrsched.demo import digits
    from lrsched.finder import repeated_range_test

    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"run_demo: optimizer must be one of {list(_OPTIMIZERS)}; got {optimizer!r}")
    if rule not in _RULES:
        raise ValueError(f"run_demo: rule must be one of {list(_RULES)}; got {rule!r}")
    repeats, test_steps = (3, 60) if quick else (5, 100)
    steps = (150 if quick else 300) if steps is None else int(steps)
    n_peaks = (5 if quick else 7) if peaks is None else int(peaks)
    n_separate = (1 if quick else 3) if separate is None else int(separate)
    if steps < 10:
        raise ValueError(f"run_demo: steps must be >= 10; got {steps}")
    if n_peaks < 2:
        raise ValueError(f"run_demo: peaks must be >= 2 (a grid from 0.1x to 10x the suggestion); got {n_peaks}")
    if n_separate < 1:
        raise ValueError(f"run_demo: separate must be >= 1 (the compile per configuration is measured); "
                         f"got {n_separate}")
    if not 0.0 < target <= 1.0:
        raise ValueError(f"run_demo: target must be an accuracy in (0, 1]; got {target}")
    say = print if verbose else (lambda *a, **k: None)
    os.makedirs(out_dir, exist_ok=True)
    opt = optax.adam if optimizer == "adam" else functools.partial(optax.sgd, momentum=0.9)

    data = digits.load(seed=seed)
    params = digits.init_mlp(seed)
    say(f"digits: {len(data.x_train)} training and {len(data.x_test)} test images; MLP 64-64-10; "
        f"optimizer {optimizer}")

    # 1. the range test: `repeats` batch orders at once (one vmapped scan)
    xb, yb = digits.batches(data.x_train, data.y_train, test_steps, batch_size=64, seed=seed)
    t0 = time.perf_counter()
    runs = repeated_range_test(digits.loss_fn, params, (xb, yb), repeats=repeats, seed=seed, optimizer=opt,
                               start_lr=1e-6, end_lr=10.0, num_steps=test_steps)
    t_test = time.perf_counter() - t0
    first = runs.runs[0]
    say(f"\nLR range test: {repeats} runs x {test_steps} steps, 1e-6 -> 10, in {t_test:.2f} s (compile included); "
        f"run 0: {first.stop_reason}")
    suggestions: dict[str, dict] = {name: {"lr": s.lr, "interval": None} for name, s in first.suggestions().items()}
    try:
        s = runs.suggest("robust", base="valley")
        suggestions["robust"] = {"lr": s.lr, "interval": s.interval}
    except ValueError as e:
        say(f"  robust: not available ({e})")
    say(f"  {'rule':<10} {'lr':>10}   interval")
    for name, sg in suggestions.items():
        iv = f"[{sg['interval'][0]:.2e}, {sg['interval'][1]:.2e}]" if sg["interval"] else ""
        say(f"  {name:<10} {sg['lr']:>10.2e}   {iv}")
    if rule not in suggestions:
        raise ValueError(f"run_demo: rule {rule!r} gave no suggestion on this curve; try another --rule")
    lr = float(suggestions[rule]["lr"])
    grid = lr * np.logspace(-1.0, 1.0, n_peaks)
    if n_peaks % 2:
        grid[n_peaks // 2] = lr  # the suggestion itself, exactly
    say(f"centre of the grid ({rule}): {lr:.3g}; peaks {', '.join(f'{p:.2e}' for p in grid)}")

    # 2. one vmapped program: every schedule at every peak, the same init and batches
    configs = [(f, float(p)) for f in FAMILIES for p in grid]
    lr_batch, mom_batch = (sweep.stack(list(s)) for s in zip(*[mixture(f, steps, p) for f, p in configs]))
    xs_np, ys_np = digits.batches(data.x_train, data.y_train, steps, batch_size=64, seed=seed + 1)
    xs, ys, x_test, y_test = (jnp.asarray(a) for a in (xs_np, ys_np, data.x_test, data.y_test))
    one = sweep_program(optimizer)
    traces = []

    def counted(*args: Any) -> Any:
        traces.append(1)  # runs at trace time only: counts the programs built
        return one(*args)

    program = jax.jit(jax.vmap(counted, in_axes=(0, 0, None, None, None, None, None)))
    args = (lr_batch, mom_batch, params, xs, ys, x_test, y_test)
    t0 = time.perf_counter()
    compiled = program.lower(*args).compile()
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    losses, accs = (np.asarray(a) for a in jax.block_until_ready(compiled(*args)))
    t_run = time.perf_counter() - t0
    t_sweep = t_compile + t_run

    # the alternative: one program per configuration, its numbers constants (as in an optax closure)
    order = sorted(range(len(configs)), key=lambda i: (abs(np.log(configs[i][1] / lr)), FAMILIES.index(configs[i][0])))
    checked, separate_s, separate_compile_s, worst = [], [], [], 0.0
    for i in order[:n_separate]:
        lr_i, mom_i = mixture(configs[i][0], steps, configs[i][1])
        alone = jax.jit(lambda p, lr_i=lr_i, mom_i=mom_i: one(lr_i, mom_i, p, xs, ys, x_test, y_test))
        t0 = time.perf_counter()
        exe = alone.lower(params).compile()
        c = time.perf_counter() - t0
        l_i, a_i = (np.asarray(a) for a in jax.block_until_ready(exe(params)))
        separate_s.append(time.perf_counter() - t0)
        separate_compile_s.append(c)
        worst = max(worst, float(np.max(np.abs(l_i - losses[i]))))
        checked.append(i)
    each = float(np.mean(separate_s))
    estimate = each * len(configs)

    # 3. the table and the conclusions
    rows = []
    for k, (f, p) in enumerate(configs):
        rows.append({"schedule": f, "peak": p, "accuracy": float(accs[k, -1]),
                     "final_loss": float(np.mean(losses[k, -10:])),
                     "steps_to_target": _first_at_least(accs[k], target)})
    best: dict[str, dict] = {}
    for f in FAMILIES:  # the highest final accuracy; a tie goes to the lower (finite) training loss
        mine = [k for k, r in enumerate(rows) if r["schedule"] == f]
        k = min(mine, key=lambda k: (-accs[k, -1], float(np.nan_to_num(np.mean(losses[k, -10:]), nan=np.inf))))
        best[f] = dict(rows[k], index=k)
    say(f"\n{len(configs)} runs ({len(FAMILIES)} schedules x {n_peaks} peaks) x {steps} steps, batch 64, one program")
    for what, key, fmt in (("final test accuracy", "accuracy", ".3f"),
                           ("final training loss (mean of the last 10 steps)", "final_loss", ".3g")):
        say(f"  {what}, by peak:")
        say(f"  {'schedule':<10}" + "".join(f"{p:>10.2e}" for p in grid))
        for f in FAMILIES:
            say(f"  {f:<10}" + "".join(f"{format(r[key], fmt):>10}" for r in rows if r["schedule"] == f))
    say(f"\n  {'schedule':<10} {'best peak':>10} {'x sugg.':>8} {'test acc':>9} {'train loss':>11} "
        f"{'steps to ' + format(target, '.0%'):>14}")
    for f in FAMILIES:
        b = best[f]
        reach = "never" if b["steps_to_target"] is None else str(b["steps_to_target"])
        say(f"  {f:<10} {b['peak']:>10.2e} {b['peak'] / lr:>8.2g} {b['accuracy']:>9.3f} {b['final_loss']:>11.3g} "
            f"{reach:>14}")
    timing = {"configurations": len(configs), "steps": steps, "sweep_s": t_sweep, "compile_s": t_compile,
              "run_s": t_run, "traces": len(traces), "separate_measured": len(checked),
              "separate_s": separate_s, "separate_compile_s": separate_compile_s, "separate_each_s": each,
              "estimate_s": estimate, "check_max_abs_loss_diff": worst,
              "method": f"{len(checked)} configurations run as separate programs in this run (compile + run each), "
                        f"their mean times {len(configs)}"}
    say(f"\ntime: the sweep of {len(configs)} runs as one program took {t_sweep:.2f} s (compile {t_compile:.2f} s, "
        f"run {t_run:.2f} s; traced {len(traces)} time{'s' if len(traces) != 1 else ''}).")
    say(f"      one program per configuration: {len(checked)} measured here at {each:.2f} s each "
        f"(compile {np.mean(separate_compile_s):.2f} s), so {len(configs)} would take about {estimate:.1f} s: "
        f"{estimate / t_sweep:.1f}x the sweep. Their losses equal the sweep's within {worst:.1e}.")
    summary = _summary(best, rows, grid, lr, target)
    say("")
    for line in summary:
        say(line)

    # 4. the plots
    files = _plots(out_dir, first, runs, repeats, rows, best, grid, lr, losses, accs, steps, target, optimizer)
    say("\nsaved " + ", ".join(files))
    return {"suggestions": suggestions, "lr": lr, "rule": rule, "peaks": grid.tolist(), "runs": rows,
            "best": best, "timing": timing, "summary": summary, "files": files,
            "range_test": {"lrs": runs.lrs.tolist(), "median": runs.median().tolist(), "time_s": t_test}}


def _plots(out_dir: str, first: Any, runs: Any, repeats: int, rows: list[dict], best: dict[str, dict],
           grid: np.ndarray, lr: float, losses: np.ndarray, accs: np.ndarray, steps: int, target: float,
           optimizer: str) -> list[str]:
    import lrsched
    from lrsched.plot import _pyplot

    plt = _pyplot()
    colors = {"one_cycle": "C0", "cosine": "C1", "constant": "C2"}
    files = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    first.plot(ax=axes[0], methods=("steepest", "minimum", "steep", "valley", "slide"))
    axes[0].set_title(f"range test (run 0 of {repeats})")
    runs.plot(ax=axes[1])
    axes[1].set_title(f"{repeats} batch orders: median and spread")
    files.append(_save(fig, out_dir, "range_test.png"))

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for f in FAMILIES:
        mine = [r for r in rows if r["schedule"] == f]
        axes[0].plot(grid, [r["accuracy"] for r in mine], "o-", color=colors[f], label=f)
        axes[1].plot(grid, [r["final_loss"] for r in mine], "o-", color=colors[f], label=f)
        axes[0].plot(best[f]["peak"], best[f]["accuracy"], "*", ms=14, color=colors[f])
    for ax, name in zip(axes, ("final test accuracy", "final training loss (mean of the last 10 steps)")):
        ax.axvline(lr, color="0.5", ls="--", lw=1, label=f"suggestion {lr:.2e}")
        ax.set_xscale("log")
        ax.set_xlabel("peak learning rate")
        ax.set_ylabel(name)
        ax.legend(fontsize="small")
    axes[0].set_ylim(max(0.0, min(r["accuracy"] for r in rows) - 0.02), 1.0)
    axes[1].set_yscale("log")
    axes[0].set_title(f"{len(rows)} runs of {steps} steps, one program")
    files.append(_save(fig, out_dir, "sweep.png"))

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), layout="constrained")
    window = max(1, steps // 30)
    for f in FAMILIES:
        k = best[f]["index"]
        label = f"{f} at {best[f]['peak']:.2e}"
        smooth = np.convolve(losses[k], np.ones(window) / window, mode="valid")
        axes[0, 0].plot(np.arange(window - 1, steps), smooth, color=colors[f], label=label)
        axes[0, 1].plot(np.arange(1, steps + 1), accs[k], color=colors[f], label=label)
        lr_s, mom_s = mixture(f, steps, best[f]["peak"])
        lrsched.plot(lr_s, steps, ax=axes[1, 0], color=colors[f], label=label)
        lrsched.plot(mom_s, steps, ax=axes[1, 1], color=colors[f], label=label,
                     ylabel="momentum (Adam's b1)" if optimizer == "adam" else "momentum")
    axes[0, 0].set_yscale("log")
    axes[0, 0].set_xlabel("step")
    axes[0, 0].set_ylabel(f"training loss (mean of {window} steps)")
    axes[0, 1].axhline(target, color="0.5", ls="--", lw=1, label=f"target {target:.0%}")
    axes[0, 1].set_ylim(0.5, 1.0)
    axes[0, 1].set_xlabel("step")
    axes[0, 1].set_ylabel("test accuracy")
    for ax in axes.flat:
        ax.legend(fontsize="small")
    axes[0, 0].set_title("each schedule's best run")
    files.append(_save(fig, out_dir, "training.png"))
    return files


def _save(fig: Any, out_dir: str, name: str) -> str:
    from lrsched.plot import _pyplot

    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path
