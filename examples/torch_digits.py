"""Train a PyTorch MLP on scikit-learn's digits with an lrsched one-cycle schedule.

The learning rate and the momentum follow torch's ``OneCycleLR`` exactly
(``lrsched.compat.torch.OneCycleLR`` and ``OneCycleMomentum``), driven through
``lrsched_torch.ScheduleLR``: a torch ``LRScheduler`` whose values come from a
float64 table (no JAX call per step), that holds past the end instead of
raising, and whose state dict is plain data. No flax needed.

Run:  python examples/torch_digits.py [--epochs 10] [--max-lr 0.4]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import lrsched_torch
import numpy as np
import torch

from lrsched.compat import torch as tc
from lrsched.demo import digits


def build_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train(epochs: int = 10, max_lr: float = 0.4, batch_size: int = 64, seed: int = 0,
          verbose: bool = True) -> dict[str, Any]:
    """One-cycle SGD training; returns the test accuracy and the lr/momentum used at each step."""
    data = digits.load(seed=seed)
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train).long()
    x_test, y_test = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test).long()
    steps_per_epoch = len(x_train) // batch_size
    total = epochs * steps_per_epoch

    model = build_model(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=max_lr, momentum=0.9, weight_decay=1e-4, nesterov=True)
    scheduler = lrsched_torch.ScheduleLR(
        optimizer,
        lr=tc.OneCycleLR(max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch),
        momentum=tc.OneCycleMomentum(max_lr, epochs=epochs, steps_per_epoch=steps_per_epoch),
    )
    generator = torch.Generator().manual_seed(seed)
    lrs, momenta = [], []
    start = time.perf_counter()
    if verbose:
        print(f"{'epoch':>5} {'lr':>9} {'momentum':>9} {'loss':>8} {'test acc':>9}")
    for epoch in range(epochs):
        order = torch.randperm(len(x_train), generator=generator)
        for i in range(steps_per_epoch):
            idx = order[i * batch_size:(i + 1) * batch_size]
            lrs.append(optimizer.param_groups[0]["lr"])
            momenta.append(optimizer.param_groups[0]["momentum"])
            loss = torch.nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        if verbose:
            print(f"{epoch + 1:>5} {lrs[-1]:>9.5f} {momenta[-1]:>9.4f} {loss.item():>8.4f} "
                  f"{accuracy(model, x_test, y_test):>9.4f}")
    result = {"accuracy": accuracy(model, x_test, y_test), "steps": total, "lrs": np.asarray(lrs),
              "momenta": np.asarray(momenta), "seconds": time.perf_counter() - start,
              "scheduler_state": scheduler.state_dict()}
    if verbose:
        print(f"test accuracy {result['accuracy']:.4f} after {total} steps in {result['seconds']:.1f} s")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-lr", type=float, default=0.4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for this tiny MLP)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    return train(args.epochs, args.max_lr, args.batch_size, args.seed)


if __name__ == "__main__":
    main()
