"""Plots: lrsched never changes the user's matplotlib backend, and its labels fit in the figure."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lrsched

matplotlib = pytest.importorskip("matplotlib")

BACKEND_SCRIPT = textwrap.dedent(
    """
    import matplotlib
    matplotlib.use("svg")  # the user's choice: not Agg, works without a display
    import numpy as np
    import lrsched
    from lrsched import finder, sweep

    lrsched.plot(lrsched.cosine(0.1, 100), 100)
    lrs = np.geomspace(1e-4, 1, 40)
    losses = np.r_[np.linspace(2, 0.5, 30), np.linspace(0.6, 5, 10)]
    r = finder.RangeTestResult(lrs, losses, losses, 40, stopped_at=39)
    r.plot()
    finder.RangeTestRuns([r, r]).plot()
    finder.SweepResult(lrs[:4], np.zeros((4, 3)), np.array([1.0, 0.5, 0.7, np.nan])).plot()
    _, configs = sweep.grid(lrsched.cosine, init_value=[0.1, 0.2], steps=[10, 20])
    sweep.plot(configs, [1.0, 2.0, 3.0, 4.0])
    print(matplotlib.get_backend())
    """
)


def test_plotting_never_changes_the_backend():
    """Without DISPLAY or MPLBACKEND (where lrsched used to force Agg) a user's backend stays."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND", "WAYLAND_DISPLAY")}
    out = subprocess.run([sys.executable, "-c", BACKEND_SCRIPT], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "svg"


def test_backend_unchanged_in_process():
    before = matplotlib.get_backend()
    ax = lrsched.plot(lrsched.one_cycle(100, 0.1), 100)
    assert matplotlib.get_backend() == before
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def _inside(fig, artist) -> bool:
    fig.canvas.draw()
    box = artist.get_window_extent()
    whole = fig.bbox
    return box.x0 >= whole.x0 - 0.5 and box.y0 >= whole.y0 - 0.5 and box.x1 <= whole.x1 + 0.5 \
        and box.y1 <= whole.y1 + 0.5


def test_labels_fit_and_name_what_is_plotted(tmp_path):
    import matplotlib.pyplot as plt

    ax = lrsched.plot(lrsched.warmup(lrsched.cosine(0.1, 900), 100), 1000)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "learning rate")
    assert _inside(ax.figure, ax.xaxis.label) and _inside(ax.figure, ax.yaxis.label)
    ax.figure.savefig(tmp_path / "s.png")
    ax2 = lrsched.plot(lrsched.one_cycle_momentum(100), 100, ylabel="momentum", label="b1")
    assert ax2.get_ylabel() == "momentum" and ax2.get_legend() is not None
    from lrsched.finder import RangeTestResult

    lrs = np.geomspace(1e-6, 10, 100)
    losses = np.r_[np.full(40, 2.3), np.linspace(2.3, 0.3, 45), np.geomspace(0.3, 40, 15)]
    ax3 = RangeTestResult(lrs, losses, losses, 100, stopped_at=99).plot()
    assert _inside(ax3.figure, ax3.xaxis.label) and _inside(ax3.figure, ax3.yaxis.label)
    plt.close("all")


def test_sweep_plot_has_a_legend():
    import matplotlib.pyplot as plt

    from lrsched import sweep

    _, configs = sweep.grid(lrsched.cosine, init_value=[0.1, 0.2, 0.4], steps=[10, 20])
    axes = sweep.plot(configs, [1.0, 2.0, np.nan, 4.0, 0.5, 0.7])
    for ax in axes:
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["each run", "diverged", "best run at each value"]
    plt.close("all")
