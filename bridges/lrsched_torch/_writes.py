"""Tensor param-group values the bridge schedulers write, and other writers noticed.

A scheduler that sets absolute values would silently undo another writer's change (a
second scheduler on the same optimizer, code assigning ``param_group['lr']``), so both
bridge schedulers check before each write that a value is still the one they wrote.
Floats are checked by identity, then value. A tensor value (``lr=torch.tensor(...)``,
as capturable and fused optimizers take it) is written in place, so its identity says
nothing: its version counter does, which every in-place write moves. Only when the
counter moved is the value read (one device sync) and compared with what was written,
so a tensor rewritten with the same value is no conflict, as for floats.
"""

from __future__ import annotations

from typing import Any, Hashable

import torch


def _version(tensor: torch.Tensor) -> int | None:
    try:
        return int(tensor._version)
    except RuntimeError:  # an inference-mode tensor has no version counter: nothing to check
        return None


class TensorWrites:
    """The tensors a scheduler filled, each with its version counter right after the fill."""

    __slots__ = ("_marks",)

    def __init__(self) -> None:
        self._marks: dict[Hashable, tuple[torch.Tensor, int | None]] = {}

    def fill(self, key: Hashable, tensor: torch.Tensor, value: float) -> None:
        """Write `value` into `tensor` in place and remember it under `key`."""
        tensor.fill_(value)
        self._marks[key] = (tensor, _version(tensor))

    def unverified(self, key: Hashable, value: Any) -> None:
        """A value left as another writer set it where this scheduler's record says it wrote something else
        (see ``ScheduleLR._write``'s `keep`): a tensor is then compared by value at the next check."""
        if isinstance(value, torch.Tensor):
            self._marks[key] = (value, -1)  # no version counter reads -1: the next check reads the value
        else:
            self._marks.pop(key, None)

    def rewritten(self, key: Hashable, tensor: torch.Tensor, written: Any) -> Any:
        """What another writer left in `tensor` since this scheduler's last fill under `key` wrote `written`
        (the tensor's value as a float), or None: unchanged, rewritten with the same value, never filled (a
        first write after building or loading checks nothing), or an inference-mode tensor (no counter)."""
        mark = self._marks.get(key)
        if mark is None or mark[1] is None or (mark[0] is tensor and _version(tensor) == mark[1]):
            return None
        found = float(tensor.detach().item())
        expected = float(torch.tensor(float(written), dtype=tensor.dtype).item())  # the fill rounded it to the dtype
        return None if found == expected or (found != found and expected != expected) else found


def other_write(tensors: TensorWrites, key: Hashable, current: Any, written: Any) -> Any:
    """What another writer left in a value where this scheduler wrote `written` at its last step (the value
    found), or None: a float still that one (by identity, then value), a tensor as :meth:`TensorWrites.rewritten`
    says."""
    if isinstance(current, torch.Tensor):
        return tensors.rewritten(key, current, written)
    return None if current is written or current == written else current
