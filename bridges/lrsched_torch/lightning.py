"""Lightning: feed a per-step plateau schedule the validation metric (``FeedPlateau``).

Lightning passes the monitored metric only to schedulers it treats as
``ReduceLROnPlateau`` (``reduce_on_plateau``), and steps those only at their
interval with that metric. A ``ScheduleLR`` whose lr is ``plateau(warmup(...))``
must instead advance at every optimizer step (``"interval": "step"``) and see the
metric after each validation. :class:`FeedPlateau` does the second part: one
callback in the ``Trainer``; the monitor is the scheduler config's ``"monitor"``::

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=1e-3)
        p = lrsched.plateau(lrsched.warmup(lrsched.constant(1e-3), 100), patience=2, start=100)
        sched = lrsched_torch.ScheduleLR(opt, lr=p)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step", "monitor": "val_loss"}}

    trainer = Trainer(callbacks=[lrsched_torch.lightning.FeedPlateau()])

A per-epoch plateau needs no callback: ``{"scheduler": sched, "interval": "epoch",
"monitor": "val_loss", "reduce_on_plateau": True}`` makes Lightning call
``sched.step(val_loss)`` once per epoch (advance and feed), as for torch's class.
(Resuming that setup from a checkpoint written at an epoch's end: Lightning saves
before the epoch-end scheduler step and skips it on restart, so the resumed
schedule is one step behind from then on, and that metric is lost, as it is for
torch's class. The per-step form with ``FeedPlateau`` resumes exactly.)
``lrsched_torch.lr_scheduler.ReduceLROnPlateau`` is a torch ``ReduceLROnPlateau``,
so Lightning feeds it by itself. A ``SequentialLR`` or ``ChainedScheduler`` with a
plateau child is not (torch refuses those): give it ``"reduce_on_plateau": True``
or use ``FeedPlateau``, else Lightning steps it without the metric and it never
reduces.
"""

from __future__ import annotations

from typing import Any

try:
    from lightning.pytorch import Callback
except ImportError:  # pragma: no cover - the standalone package
    from pytorch_lightning import Callback  # type: ignore[no-redef,assignment]

from torch.optim.lr_scheduler import ReduceLROnPlateau

from lrsched_torch._scheduler import ScheduleLR

__all__ = ["FeedPlateau"]


def _fed_by_us(config: Any) -> bool:
    s = config.scheduler
    return isinstance(s, ScheduleLR) and bool(s._plateau_columns) and not config.reduce_on_plateau


class FeedPlateau(Callback):
    """After each validation during ``fit``, ``observe`` the monitored metric in every plateau ``ScheduleLR``.

    Args:
      monitor: the logged metric to feed (default: each scheduler config's
        ``"monitor"``).
      strict: a missing metric is an error (``False``: a warning, and that
        validation is skipped), as Lightning's ``strict`` key.
    """

    def __init__(self, monitor: str | None = None, strict: bool = True) -> None:
        self.monitor = monitor
        self.strict = strict

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        for config in trainer.lr_scheduler_configs:
            s = config.scheduler
            if not (isinstance(s, ScheduleLR) and s._plateau_columns):
                continue
            # (the drop-in ReduceLROnPlateau is torch's class: Lightning feeds it per step as it feeds torch's)
            if config.reduce_on_plateau and config.interval == "step" and not isinstance(s, ReduceLROnPlateau):
                raise ValueError(
                    "FeedPlateau: this ScheduleLR has 'reduce_on_plateau': True with 'interval': 'step', so Lightning "
                    "would pass it the last logged value of the monitor at every step (the same validation metric "
                    "many times). Drop 'reduce_on_plateau' and let FeedPlateau feed it after each validation, or "
                    "use 'interval': 'epoch' (then no callback is needed)"
                )
            if _fed_by_us(config) and (self.monitor or config.monitor) is None:
                raise ValueError(
                    "FeedPlateau: no metric to monitor. Add \"monitor\": \"val_loss\" (the logged name) to the "
                    "lr_scheduler dict returned by configure_optimizers, or pass FeedPlateau(monitor=...)"
                )

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking or str(getattr(trainer.state.fn, "value", trainer.state.fn)) != "fit":
            return
        for config in trainer.lr_scheduler_configs:
            if not _fed_by_us(config):
                continue
            key = self.monitor or config.monitor
            value = trainer.callback_metrics.get(key)
            if value is None:
                message = (f"FeedPlateau: the monitored metric {key!r} was not logged in this validation; the "
                           f"logged metrics are {sorted(trainer.callback_metrics)}. Log it with "
                           f"self.log({key!r}, ...) in validation_step")
                if self.strict:
                    raise KeyError(message)
                import warnings

                warnings.warn(message + " (skipped: strict=False)", RuntimeWarning, stacklevel=2)
                continue
            config.scheduler.observe(value)
