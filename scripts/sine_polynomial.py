"""Fit and check the float32 sine behind ``lrsched._numerics.cos_anneal``.

XLA on CPU calls the C library's scalar ``sinf`` for every element of ``jnp.sin``, so a
cosine schedule spent most of its time there. ``cos_anneal`` evaluates
``sin(pi x / 2) ** 2`` in float32 with an odd polynomial on [0, 1/2] instead (and
``1 - sin(pi (1 - x) / 2) ** 2`` above 1/2), which XLA vectorises.

This script (1) fits the polynomial's coefficients: ``sin(pi u / 2) / u`` as a
polynomial in ``u**2`` on [0, 1/2], minimising the largest relative error by
iteratively reweighted least squares (a Remez-like equioscillation), and prints them
rounded to float32 next to the ones in ``lrsched/_numerics.py``; (2) measures
``cos_anneal`` (float32) and the former ``jnp.sin(pi x / 2) ** 2`` against float64 on
every float32 ``x`` in [2**-60, 1] (``--stride k``: every k-th), in ulps of the
float32 result.

Run:  .venv/bin/python scripts/sine_polynomial.py [--stride 1]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from lrsched import _numerics


def fit(terms: int = 4, top: float = 0.5, points: int = 40_000, rounds: int = 40) -> tuple[np.ndarray, float]:
    """Coefficients c0.. of ``sin(pi u / 2) = u * sum(c_k u**(2k))`` on [0, top], and their largest relative error."""
    u = np.concatenate([top * np.cos(np.linspace(0, np.pi / 2, points)), np.linspace(1e-5, top, points)])
    s, f = u * u, np.sin(np.pi * u / 2) / u
    a = np.stack([s**k for k in range(terms)], 1)
    w = np.ones_like(s)
    for _ in range(rounds):  # weight up where the error is largest, until it equioscillates
        c, *_ = np.linalg.lstsq(a * (w / f)[:, None], f * (w / f), rcond=None)
        err = np.abs(a @ c - f) / f
        w = w * np.sqrt(err / err.max()) + 1e-12
        w /= w.max()
    return c, float(err.max())


def measure(stride: int) -> None:
    new = jax.jit(lambda x: _numerics.cos_anneal(None, x))
    old = jax.jit(lambda x: jnp.sin(0.5 * jnp.pi * x) ** 2)
    start, stop = int(np.float32(2.0**-60).view(np.uint32)), int(np.float32(1.0).view(np.uint32)) + 1
    stats = {"cos_anneal": [0.0, 0, 0.0], "jnp.sin": [0.0, 0, 0.0]}  # max ulp, count > 1 ulp, sum
    count, chunk = 0, 1 << 23
    for lo in range(start, stop, chunk * stride):
        x = np.arange(lo, min(lo + chunk * stride, stop), stride, dtype=np.uint32).view(np.float32)
        truth = np.sin(np.pi / 2 * x.astype(np.float64)) ** 2
        ulp = np.spacing(truth.astype(np.float32)).astype(np.float64)
        count += x.size
        for name, fn in (("cos_anneal", new), ("jnp.sin", old)):
            err = np.abs(np.asarray(fn(jnp.asarray(x)), np.float64) - truth) / ulp
            st = stats[name]
            st[0], st[1], st[2] = max(st[0], float(err.max())), st[1] + int((err > 1).sum()), st[2] + float(err.sum())
    print(f"{count:,} float32 x in [2**-60, 1] (every {stride}): error of sin(pi x / 2)**2 in ulps of the result")
    for name, (worst, over, total) in stats.items():
        print(f"  {name:11} max {worst:.3f}  mean {total / count:.3f}  over 1 ulp {over / count:.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stride", type=int, default=1)
    args = parser.parse_args()
    c, err = fit()
    print(f"fit: largest relative error {err:.2e} (float32's half ulp: {2.0**-24:.2e})")
    print("  fitted, rounded to float32:", [float(np.float32(x)) for x in c])
    print("  in lrsched/_numerics.py:   ", [_numerics._SINE_HI, *_numerics._SINE_ODD],
          "+ low part", _numerics._SINE_LO)
    measure(args.stride)


if __name__ == "__main__":
    main()
