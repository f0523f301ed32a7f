"""The schedules shown by ``python -m lrsched gallery`` and ``python -m lrsched table``.

:data:`GALLERY` holds one example of every primitive and combinator, drawn over
:data:`TOTAL` steps (and 200 past the end, to show what each does there).
"""

from __future__ import annotations

import os

import numpy as np

import lrsched as L

__all__ = ["GALLERY", "TOTAL", "table", "write_gallery"]

#: The steps drawn for every schedule (200 more are drawn past the end).
TOTAL = 1000

#: One example of every primitive and combinator, by name.
GALLERY: dict[str, L.Schedule] = {
    "constant": L.constant(0.1),
    "linear": L.linear(0.1, 0.001, TOTAL),
    "polynomial": L.polynomial(0.1, 0.001, TOTAL, power=2.0),
    "cosine": L.cosine(0.1, TOTAL, end_value=0.001),
    "exponential": L.exponential(0.1, rate=0.5, steps=200),
    "exponential_staircase": L.exponential(0.1, rate=0.5, steps=200, staircase=True),
    "step_decay": L.step_decay(0.1, step_size=250, gamma=0.5),
    "multistep": L.multistep(0.1, milestones=[300, 600, 800], gamma=0.3),
    "inverse_sqrt": L.warmup(L.inverse_sqrt(0.1, timescale=100), 100),
    "inverse_time": L.inverse_time(0.1, rate=1.0, steps=100),
    "piecewise_constant": L.piecewise_constant([250, 500, 750], [0.1, 0.05, 0.02, 0.005]),
    "piecewise_linear": L.piecewise_linear([0, 100, 700, 1000], [0.0, 0.1, 0.03, 0.0]),
    "cyclic_triangular": L.cyclic(0.01, 0.1, up_steps=100),
    "cyclic_triangular2": L.cyclic(0.01, 0.1, up_steps=100, mode="triangular2"),
    "cyclic_exp_range": L.cyclic(0.01, 0.1, up_steps=100, mode="exp_range", gamma=0.998),
    "one_cycle": L.one_cycle(TOTAL, 0.1),
    "one_cycle_three_phase": L.one_cycle(TOTAL, 0.1, three_phase=True, anneal="linear"),
    "one_cycle_momentum": L.one_cycle_momentum(TOTAL),
    "warmup_cosine": L.warmup_cosine(0.1, warmup_steps=100, total_steps=TOTAL),
    "wsd_linear": L.wsd(0.1, TOTAL, warmup_steps=100, decay_steps=200),
    "wsd_sqrt": L.wsd(0.1, TOTAL, warmup_steps=100, decay_steps=200, decay="sqrt"),
    "tanh": L.tanh(0.1, TOTAL, end_value=0.001),
    "noise": L.noise(L.cosine(0.1, TOTAL), pct=0.2, seed=0),
    "join": L.join([L.linear(0.0, 0.1, 100), L.constant(0.1), L.cosine(0.1, 400)], [100, 600]),
    "warmup": L.warmup(L.exponential(0.1, 0.5, 200), steps=100, init_value=0.01, kind="cosine"),
    "cycle_sgdr": L.cycle(L.cosine(0.1, 100, 0.001), period=100, period_mul=2, decay=0.7),
    "clip": L.clip(L.cyclic(0.0, 0.1, 100) * 1.5, 0.02, 0.1),
    "product": L.cosine(0.1, TOTAL) * L.cyclic(0.5, 1.0, 50),
}


def table(steps: tuple[int, ...] = (0, 1, 10, 100, 250, 500, 999, 5000)) -> str:
    """A text table of every gallery schedule at sample steps.

    Args:
      steps: the steps of the columns.

    Returns:
      The table, one line per schedule.

    Examples:
      >>> from lrsched.demo.gallery import table
      >>> print(table(steps=(0, 500)).splitlines()[2])
      constant                     0.1        0.1
    """
    width = max(len(n) for n in GALLERY)
    head = "schedule".ljust(width) + "".join(f"{'t=' + str(t):>11}" for t in steps)
    rows = [head, "-" * len(head)]
    for name, s in GALLERY.items():
        values = L.evaluate(s, np.asarray(steps))
        rows.append(name.ljust(width) + "".join(f"{v:>11.5g}" for v in values))
    return "\n".join(rows)


def write_gallery(out_dir: str, columns: int = 4, singles: bool = True) -> list[str]:
    """``gallery.png`` with every schedule, plus one PNG per schedule when `singles`.

    Args:
      out_dir: the folder, created if missing (``python -m lrsched gallery --out``).
      columns: the columns of ``gallery.png``.
      singles: also write ``<name>.png`` for each schedule.

    Returns:
      The paths written, ``gallery.png`` last.

    Examples:
      >>> import os, tempfile
      >>> from lrsched.demo.gallery import write_gallery
      >>> os.path.basename(write_gallery(tempfile.mkdtemp(), singles=False)[-1])
      'gallery.png'
    """
    from lrsched.plot import _pyplot

    plt = _pyplot()
    os.makedirs(out_dir, exist_ok=True)
    steps = np.arange(TOTAL + 200)
    paths = []
    for name, s in GALLERY.items() if singles else ():
        fig, ax = plt.subplots(figsize=(4, 2.4), layout="constrained")
        L.plot(s, steps, ax=ax, ylabel="momentum" if "momentum" in name else "learning rate")
        ax.set_title(name, fontsize=10)
        path = os.path.join(out_dir, f"{name}.png")
        fig.savefig(path, dpi=80)
        plt.close(fig)
        paths.append(path)
    rows = -(-len(GALLERY) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.0 * rows), layout="constrained")
    for ax, (name, s) in zip(axes.flat, GALLERY.items()):
        ax.plot(steps, L.evaluate(s, steps), lw=1.2)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(GALLERY):]:
        ax.axis("off")
    path = os.path.join(out_dir, "gallery.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return paths + [path]
