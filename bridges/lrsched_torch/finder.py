"""The LR range test for PyTorch: torch_lr_finder's ``range_test``, restored automatically.

``lr_range_test(model, optimizer, criterion, train_loader, ...)`` takes the options of
torch_lr_finder 0.2.2's ``LRFinder.range_test`` and records the same rates and
losses on the same model, data and seed. Unlike ``LRFinder`` it always puts
everything back as it was (the model's and the optimizer's state dicts, the
parameters' ``.grad``, the train/eval flags and the global torch RNG, restored in
a ``finally``: also when the test raises or is interrupted with Ctrl-C), so the
run after it is the run you would have had without it, and returns lrsched's
:class:`lrsched.finder.RangeTestResult`, whose suggestion rules are shared with the
JAX side.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator
from typing import Any, Callable, Iterable

import numpy as np
import torch

from lrsched.finder import LossTracker, RangeTestResult, ramp_values

__all__ = ["lr_range_test"]


def _inputs_labels(batch: Any) -> tuple[Any, Any]:
    """torch_lr_finder's ``inputs_labels_from_batch``: ``(inputs, labels, *rest)``."""
    if not isinstance(batch, (list, tuple)):
        raise ValueError(
            f"lr_range_test: a batch must be a tuple or list (inputs, labels, ...); got {type(batch).__name__}. "
            "Pass inputs_labels=lambda batch: (inputs, labels) to unpack other batch types")
    inputs, labels, *_ = batch
    return inputs, labels


class _Batches:
    """Training batches: a re-iterable loader is restarted when exhausted (torch_lr_finder's
    ``TrainDataLoaderIter`` with ``auto_reset=True``); a one-shot iterator raises
    StopIteration when it runs out."""

    def __init__(self, loader: Iterable, unpack: Callable[[Any], tuple[Any, Any]]) -> None:
        self.loader = loader
        self.unpack = unpack
        self.restartable = not isinstance(loader, Iterator)
        self.it = iter(loader)

    def __next__(self) -> tuple[Any, Any]:
        try:
            batch = next(self.it)
        except StopIteration:
            if not self.restartable:
                raise
            self.it = iter(self.loader)
            try:
                batch = next(self.it)
            except StopIteration:
                raise ValueError("lr_range_test: train_loader is empty; pass at least one batch") from None
        return self.unpack(batch)


def _move(obj: Any, device: Any, non_blocking: bool) -> Any:
    if hasattr(obj, "to"):
        return obj.to(device, non_blocking=non_blocking)
    if isinstance(obj, tuple):
        return tuple(_move(o, device, non_blocking) for o in obj)
    if isinstance(obj, list):
        return [_move(o, device, non_blocking) for o in obj]
    if isinstance(obj, dict):
        return {k: _move(o, device, non_blocking) for k, o in obj.items()}
    return obj


def _dataset_size(loader: Any) -> int:
    try:
        return len(loader.dataset)
    except (AttributeError, TypeError):
        raise ValueError("lr_range_test: val_loader needs a .dataset with a length (a torch DataLoader) to "
                         "average the validation loss as torch_lr_finder does") from None


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional: no bar without it
        return None
    return tqdm(total=total, desc="lr range test", leave=True)


def _modes(model: torch.nn.Module) -> list[tuple[torch.nn.Module, bool]]:
    return [(m, m.training) for m in model.modules()]


def _parameters(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The model's parameters and any other tensor the optimizer updates, each once."""
    seen: dict[int, torch.Tensor] = {id(p): p for p in model.parameters()}
    for group in optimizer.param_groups:
        for p in group["params"]:
            seen.setdefault(id(p), p)
    return list(seen.values())


def _rng_state(devices: tuple[torch.device, ...]) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
    """The global torch RNG: the CPU generator, and every CUDA device's when CUDA is in use
    (already initialised, or the test runs there); an unused CUDA is left uninitialised."""
    uses_cuda = torch.cuda.is_available() and (
        torch.cuda.is_initialized() or any(d.type == "cuda" for d in devices))
    return torch.get_rng_state(), torch.cuda.get_rng_state_all() if uses_cuda else None


def _set_rng_state(state: tuple[torch.Tensor, list[torch.Tensor] | None]) -> None:
    cpu, cuda = state
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)


def lr_range_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: Callable[[Any, Any], torch.Tensor],
    train_loader: Iterable,
    val_loader: Iterable | None = None,
    start_lr: float | None = None,
    end_lr: float = 10.0,
    num_iter: int = 100,
    step_mode: str = "exp",
    smooth_f: float = 0.05,
    diverge_th: float = 5.0,
    accumulation_steps: int = 1,
    device: Any = None,
    non_blocking_transfer: bool = True,
    progress: bool = True,
    inputs_labels: Callable[[Any], tuple[Any, Any]] | None = None,
    smoothing: str = "torch",
    convention: str = "torch",
    restore_rng: bool = True,
) -> RangeTestResult:
    """The LR range test on a torch model; the model, optimizer, gradients and RNG are restored afterwards.

    Iteration ``i`` sets every param group's rate to the ramp's ``lr_i`` (each group
    ramps from its own start rate, as torch_lr_finder's schedulers do), zeroes the
    gradients, runs `accumulation_steps` batches (each loss divided by
    `accumulation_steps`, backpropagated, and summed), takes one optimizer step,
    and records the summed loss (or, with `val_loader`, the mean validation loss
    after the step: ``sum(loss * len(labels)) / len(dataset)`` in eval mode without
    gradients). The loss is smoothed and the test stops after recording a diverged
    step (:class:`lrsched.finder.LossTracker`; on top of torch_lr_finder, a NaN
    loss also stops it, and a negative best loss needs a rise of
    ``(diverge_th - 1) * |best|``: see :func:`lrsched.finder.diverges`; for
    positive losses the rule is torch_lr_finder's ``loss > diverge_th * best``).
    Exactly torch_lr_finder 0.2.2's ``range_test`` otherwise: the same ramp
    (``ramp_values``), a re-iterable loader restarted when exhausted. A one-shot
    iterator that runs out first ends the test with a warning and the curve so far.

    Restored in a ``finally`` block (so an exception or Ctrl-C leaves them untouched
    too): the model's and the optimizer's state dicts (deep copies), every
    parameter's ``.grad`` (None stays None), every submodule's train/eval flag, and
    the global torch RNG (the CPU generator, and the CUDA generators when CUDA is in
    use), so dropout masks and a DataLoader's shuffle after the test are those you
    would have had without it (torch_lr_finder leaves the RNG advanced). With
    ``restore_rng=False`` the RNG is left where the test left it. The progress bar
    stays on the screen and ends with why the test stopped
    (:attr:`lrsched.finder.RangeTestResult.stop_reason`).

    Args:
      model, optimizer, criterion: as for ``torch_lr_finder.LRFinder``; ``criterion(outputs, labels)``.
      train_loader: a DataLoader or any re-iterable of ``(inputs, labels, *rest)`` batches.
      val_loader: optional DataLoader for the validation loss at every iteration.
      start_lr: the first rate (default: each param group's current ``lr``).
      end_lr, num_iter, step_mode: the ramp (`step_mode` is ``"exp"`` or ``"linear"``).
      smooth_f: weight of the newest loss in the smoothing (0 disables it).
      diverge_th: stop once the smoothed loss exceeds ``diverge_th * best``.
      accumulation_steps: batches per optimizer step.
      device: where to run (default: the model's device); the model is moved there for
        the test and back afterwards, and batches are moved there.
      progress: show a tqdm bar (needs tqdm; silently none without it).
      inputs_labels: ``batch -> (inputs, labels)`` for batches that are not tuples.
      smoothing, convention: ``"fastai"`` for fastai's debiased EMA / ``i / num_iter`` ramp.
      restore_rng: put the global torch RNG back afterwards (default); False keeps
        the state the test advanced it to, as torch_lr_finder does.

    Returns:
      A :class:`lrsched.finder.RangeTestResult`: ``lrs``, ``losses`` (raw),
      ``smoothed`` (torch_lr_finder's ``history["loss"]``), ``stopped_at``,
      ``stop_reason``, ``.suggest(method)``, ``.plot()``.

    Examples:
      >>> import torch
      >>> from lrsched_torch.finder import lr_range_test
      >>> _ = torch.manual_seed(0)
      >>> model = torch.nn.Linear(4, 1); opt = torch.optim.SGD(model.parameters(), lr=1e-4)
      >>> x = torch.randn(64, 4); loader = [(x[i:i + 8], x[i:i + 8].sum(1, keepdim=True)) for i in range(0, 64, 8)]
      >>> before = {k: v.clone() for k, v in model.state_dict().items()}
      >>> r = lr_range_test(model, opt, torch.nn.MSELoss(), loader, end_lr=10, num_iter=50, progress=False)
      >>> r.diverged, all(torch.equal(before[k], v) for k, v in model.state_dict().items())
      (True, True)
    """
    if step_mode.lower() not in ("exp", "linear"):
        raise ValueError(f"lr_range_test: step_mode must be 'exp' or 'linear'; got {step_mode!r}")
    if not 0 <= smooth_f < 1:
        raise ValueError(f"lr_range_test: smooth_f must be in [0, 1); got {smooth_f!r}")
    if not isinstance(accumulation_steps, int) or accumulation_steps < 1:
        raise ValueError(f"lr_range_test: accumulation_steps must be an integer >= 1; got {accumulation_steps!r}")
    if not isinstance(num_iter, int) or num_iter < 2:
        raise ValueError(f"lr_range_test: num_iter must be an integer >= 2; got {num_iter!r}")
    groups = optimizer.param_groups
    starts = [float(g["lr"]) for g in groups] if not start_lr else [float(start_lr)] * len(groups)
    ramps = [ramp_values(s, end_lr, num_iter, step_mode.lower(), convention) for s in starts]
    unpack = inputs_labels or _inputs_labels
    tracker = LossTracker(smoothing, smooth_f, diverge_th)
    home = next(model.parameters()).device
    device = home if device is None else torch.device(device)

    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    saved_modes = _modes(model)
    params = _parameters(model, optimizer)
    saved_grads = [None if p.grad is None else p.grad.detach().clone() for p in params]
    saved_rng = _rng_state((home, device)) if restore_rng else None
    lrs: list[float] = []
    raw: list[float] = []
    smoothed: list[float] = []
    stopped_at = None
    ran_out = False
    bar = _progress(num_iter, progress)
    try:
        if device != home:
            model.to(device)
        batches = _Batches(train_loader, unpack)
        val_size = _dataset_size(val_loader) if val_loader is not None else 0
        for i in range(num_iter):
            for g, ramp in zip(groups, ramps):
                g["lr"] = float(ramp[i])
            model.train()
            optimizer.zero_grad()
            total = None
            for _ in range(accumulation_steps):
                try:
                    inputs, labels = next(batches)
                except StopIteration:
                    ran_out = True
                    break
                inputs = _move(inputs, device, non_blocking_transfer)
                labels = _move(labels, device, non_blocking_transfer)
                loss = criterion(model(inputs), labels)
                loss = loss / accumulation_steps
                loss.backward()
                total = loss if total is None else total + loss
            if ran_out:
                if i == 0:
                    raise ValueError("lr_range_test: train_loader gave no batch (or fewer than accumulation_steps)")
                warnings.warn(f"lr_range_test: train_loader is a one-shot iterator and ran out after {i} of "
                              f"{num_iter} iterations; the result stops there. Pass a DataLoader or a list (they "
                              "restart when exhausted) to reuse batches", stacklevel=2)
                break
            optimizer.step()
            assert total is not None  # accumulation_steps >= 1
            value = total.item()
            if val_loader is not None:
                value = _validate(model, criterion, val_loader, val_size, device, non_blocking_transfer, unpack)
            s, diverged = tracker.update(value)
            lrs.append(float(ramps[0][i]))
            raw.append(value)
            smoothed.append(s)
            if bar is not None:
                bar.update(1)
                if i % 10 == 0:
                    bar.set_postfix(lr=f"{ramps[0][i]:.2e}", loss=f"{s:.4g}", refresh=False)
            if diverged:
                stopped_at = i
                break
        config = dict(start_lr=start_lr if start_lr else starts[0], end_lr=end_lr, num_steps=num_iter,
                      mode=step_mode.lower(), convention=convention, smoothing=smoothing, smooth_f=smooth_f,
                      diverge_factor=diverge_th, accumulation_steps=accumulation_steps,
                      validation=val_loader is not None, backend="torch")
        result = RangeTestResult(lrs=np.asarray(lrs, np.float64), losses=np.asarray(raw, np.float64),
                                 smoothed=np.asarray(smoothed, np.float64), num_steps=num_iter,
                                 stopped_at=stopped_at, config=config)
        if bar is not None:
            bar.set_postfix_str(result.stop_reason, refresh=False)
    finally:
        if bar is not None:
            bar.close()
        if device != home:
            model.to(home)
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        for p, grad in zip(params, saved_grads):
            p.grad = grad
        for m, mode in saved_modes:
            m.training = mode
        if saved_rng is not None:
            _set_rng_state(saved_rng)
    return result


def _validate(model, criterion, loader, size, device, non_blocking, unpack) -> float:
    """torch_lr_finder's ``_validate``: the loss summed over the loader, weighted by
    batch size, divided by the dataset's size; eval mode, no gradients."""
    running = 0.0
    model.eval()
    with torch.no_grad():
        for batch in loader:
            inputs, labels = unpack(batch)
            inputs = _move(inputs, device, non_blocking)
            labels = _move(labels, device, non_blocking)
            loss = criterion(model(inputs), labels)
            running += loss.item() * len(labels)
    return running / size
