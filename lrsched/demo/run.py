"""``python -m lrsched demo``: find a learning rate on the digits, then train with it.

1. Run the LR range test (``lrsched.finder.repeated_range_test``: several batch
   orders at once, vmapped) on scikit-learn's ``load_digits`` with a small MLP
   and Adam, and print every rule's suggestion.
2. Train the same MLP from the same initialisation for the same number of steps
   twice: with ``lrsched.one_cycle`` peaking at the suggested rate, and with a
   constant rate equal to it. Print a table (steps, final test accuracy, wall time).
3. Save three PNG files into the output folder: the range-test curve with the
   suggestions marked, the two schedules, and the training curves.

Needs scikit-learn and matplotlib (``pip install 'lrsched[demo]'``).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

__all__ = ["run_demo", "add_demo_arguments", "run_demo_from_args"]

_OPTIMIZERS = ("adam", "sgd")


def add_demo_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the demo's options to `parser` (the ``demo`` sub-command's parser)."""
    parser.add_argument("--out-dir", default="lrsched-demo",
                        help="folder for the PNG files (created if missing; default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer range-test runs and training steps (a smoke test, a few seconds)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per schedule (default: 300, or 150 with --quick)")
    parser.add_argument("--optimizer", choices=_OPTIMIZERS, default="adam",
                        help="optax optimizer for the range test and the training (default: %(default)s)")
    parser.add_argument("--rule", default="robust",
                        choices=("robust", "valley", "steepest", "minimum", "steep", "slide"),
                        help="which suggestion becomes the peak rate (default: %(default)s, the median of "
                             "valley over the vmapped runs)")
    parser.add_argument("--seed", type=int, default=0, help="data split, batch order and initialisation seed")
    return parser


def run_demo_from_args(args: argparse.Namespace) -> dict:
    """Run :func:`run_demo` with the options parsed by :func:`add_demo_arguments`."""
    return run_demo(args.out_dir, quick=args.quick, steps=args.steps, optimizer=args.optimizer, rule=args.rule,
                    seed=args.seed)


def _train_fn(optimizer: Any):
    """A jitted training run ``(params, lrs, xs, ys, x_test, y_test) -> (losses, test accuracy per step)``.

    The schedule comes in as its table of values (``lrsched.evaluate``), so every
    schedule runs through the same compiled program."""
    import jax
    import optax

    from lrsched.demo import digits

    @jax.jit
    def train(params, lrs, xs, ys, x_test, y_test):
        tx = optax.inject_hyperparams(optimizer)(learning_rate=lrs[0])

        def body(carry, inputs):
            p, state = carry
            lr, batch = inputs[0], inputs[1:]
            state.hyperparams["learning_rate"] = lr
            loss, grads = jax.value_and_grad(digits.loss_fn)(p, batch)
            updates, state = tx.update(grads, state, p)
            p = optax.apply_updates(p, updates)
            return (p, state), (loss, digits.accuracy(p, x_test, y_test))

        _, (losses, accs) = jax.lax.scan(body, (params, tx.init(params)), (lrs, xs, ys))
        return losses, accs

    return train


def run_demo(out_dir: str, quick: bool = False, steps: int | None = None, optimizer: str = "adam",
             rule: str = "robust", seed: int = 0, verbose: bool = True) -> dict:
    """Range test, suggestions, one-cycle vs constant training on the digits; plots in `out_dir`.

    Args:
      out_dir: folder for ``range_test.png``, ``schedules.png`` and ``training.png``.
      quick: 3 range-test runs of 60 steps and 150 training steps (instead of 5 runs,
        100 steps, 300 training steps).
      steps: training steps per schedule (overrides the default).
      optimizer: "adam" or "sgd" (with momentum 0.9), for the range test and training.
      rule: the suggestion used as the peak rate ("robust": median of valley over the runs).
      seed: seeds the data split, the batch orders and the initialisation.
      verbose: print the suggestions and the table.

    Returns:
      A dict: ``suggestions`` (rule -> {"lr", "interval"}), ``lr`` (the rate used),
      ``runs`` (one dict per schedule: schedule, steps, peak_lr, accuracy, final_loss,
      time_s, compile_s), ``files`` (the PNG paths), ``range_test`` (lrs, median curve).
    """
    import functools

    import jax
    import numpy as np
    import optax

    import lrsched
    from lrsched.demo import digits
    from lrsched.finder import repeated_range_test
    from lrsched.plot import _pyplot

    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"run_demo: optimizer must be one of {list(_OPTIMIZERS)}; got {optimizer!r}")
    opt = optax.adam if optimizer == "adam" else functools.partial(optax.sgd, momentum=0.9)
    repeats, test_steps = (3, 60) if quick else (5, 100)
    steps = (150 if quick else 300) if steps is None else int(steps)
    if steps < 10:
        raise ValueError(f"run_demo: steps must be >= 10; got {steps}")
    say = print if verbose else (lambda *a, **k: None)
    os.makedirs(out_dir, exist_ok=True)

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
    say(f"\nLR range test: {repeats} runs x {test_steps} steps, 1e-6 -> 10, in {t_test:.2f} s "
        f"(compile included); run 0 stopped at step {first.stopped_at}")
    suggestions: dict[str, dict] = {}
    for name, s in first.suggestions().items():
        suggestions[name] = {"lr": s.lr, "interval": None}
    try:
        s = runs.suggest("robust", base="valley")
        suggestions["robust"] = {"lr": s.lr, "interval": s.interval}
    except ValueError as e:
        say(f"  robust: not available ({e})")
    say(f"  {'rule':<10} {'lr':>10}   interval")
    for name, s in suggestions.items():
        iv = f"[{s['interval'][0]:.2e}, {s['interval'][1]:.2e}]" if s["interval"] else ""
        say(f"  {name:<10} {s['lr']:>10.2e}   {iv}")
    if rule not in suggestions:
        raise ValueError(f"run_demo: rule {rule!r} gave no suggestion on this curve; try another --rule")
    lr = float(suggestions[rule]["lr"])
    say(f"peak rate ({rule}): {lr:.3g}")

    # 2. train with one-cycle and with a constant rate, the same steps, batches and init
    xs, ys = digits.batches(data.x_train, data.y_train, steps, batch_size=64, seed=seed + 1)
    schedules = {"one_cycle": lrsched.one_cycle(steps, peak_value=lr), "constant": lrsched.constant(lr)}
    train = _train_fn(opt)
    results, curves = [], {}
    for name, sched in schedules.items():
        args = (params, jax.numpy.asarray(lrsched.evaluate(sched, steps)), xs, ys, data.x_test, data.y_test)
        t0 = time.perf_counter()
        compiled = train.lower(*args).compile()  # the same program for both: cached after the first
        t_compile = time.perf_counter() - t0
        t0 = time.perf_counter()
        losses, accs = jax.block_until_ready(compiled(*args))
        t_run = time.perf_counter() - t0
        losses, accs = np.asarray(losses), np.asarray(accs)
        curves[name] = (losses, accs)
        results.append({"schedule": name, "steps": steps, "peak_lr": lr, "accuracy": float(accs[-1]),
                        "final_loss": float(losses[-10:].mean()), "time_s": t_run, "compile_s": t_compile})
    say(f"\n  {'schedule':<10} {'steps':>6} {'lr':>9} {'test acc':>9} {'time (s)':>9} {'compile (s)':>12}")
    for r in results:
        say(f"  {r['schedule']:<10} {r['steps']:>6} {r['peak_lr']:>9.2e} {r['accuracy']:>9.3f} "
            f"{r['time_s']:>9.3f} {r['compile_s']:>12.2f}")

    # 3. the plots
    plt = _pyplot()
    files = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    first.plot(ax=axes[0], methods=("steepest", "minimum", "steep", "valley", "slide"))
    axes[0].set_title(f"range test (run 0 of {repeats})")
    runs.plot(ax=axes[1])
    axes[1].set_title(f"{repeats} batch orders: median and spread")
    files.append(_save(fig, out_dir, "range_test.png"))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, sched in schedules.items():
        lrsched.plot(sched, steps, ax=ax, label=name)
    ax.set_ylabel("learning rate")
    ax.set_title("schedules")
    files.append(_save(fig, out_dir, "schedules.png"))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, (losses, accs) in curves.items():
        axes[0].plot(losses, label=name, lw=0.9)
        axes[1].plot(accs, label=name)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("training loss")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("test accuracy")
    axes[1].set_ylim(0.5, 1.0)
    for a in axes:
        a.legend()
    files.append(_save(fig, out_dir, "training.png"))
    say("\nsaved " + ", ".join(files))
    return {"suggestions": suggestions, "lr": lr, "rule": rule, "runs": results, "files": files,
            "range_test": {"lrs": runs.lrs.tolist(), "median": runs.median().tolist(), "time_s": t_test}}


def _save(fig: Any, out_dir: str, name: str) -> str:
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
