"""The bridge inside the real trainers: Hugging Face ``Trainer`` (with accelerate) and Lightning.

Each run trains a tiny model for a few dozen optimizer steps on in-memory data
(no downloads: HF_HUB_OFFLINE, no tokenizer, report_to="none"), records the lr
(and momentum / betas[0]) the optimizer holds right before every optimizer step,
and compares it with the schedule evaluated by ``lrsched`` in float64: one-cycle
with momentum, and warmup + reduce-on-plateau, whose expected rates are replayed
with the core's own ``Plateau.update`` / ``Plateau.__call__`` on the metrics the
trainer logged. A save / resume through the trainer's own checkpointing must
continue with the exact rates of the uninterrupted run.
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import jax
import lrsched_torch
import numpy as np
import pytest
import torch

import lrsched

transformers = pytest.importorskip("transformers")
pl = pytest.importorskip("lightning.pytorch")

import lrsched_torch.lightning  # noqa: E402
import lrsched_torch.transformers  # noqa: E402

N_STEPS = 40
BATCH = 4
DATA = 160  # 40 batches of 4: one epoch is the whole run
EVAL_EVERY = 5


def _data(n: int = DATA, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    return x, x @ torch.linspace(-1.0, 1.0, 6) + 0.3 * torch.randn(n, generator=g)


def one_cycle() -> tuple[lrsched.Schedule, lrsched.Schedule]:
    from lrsched.compat import torch as tc

    return (tc.OneCycleLR(0.05, total_steps=N_STEPS, pct_start=0.25),
            tc.OneCycleMomentum(0.05, total_steps=N_STEPS, pct_start=0.25))


def warmup_plateau() -> lrsched.Schedule:
    # threshold 0.5 (rel) and patience 0: most evaluations count as bad, so the plateau acts within 40 steps
    return lrsched.plateau(lrsched.warmup(lrsched.constant(0.05), 8, init_value=0.005), factor=0.5, patience=0,
                           threshold=0.5, start=8)


def expected_plain(schedule: lrsched.Schedule, n: int) -> np.ndarray:
    with jax.enable_x64(True):
        return np.asarray(lrsched.evaluate(lrsched.from_config(lrsched.to_config(schedule)), n), np.float64)


def expected_plateau(p: lrsched.Schedule, n: int, metrics: dict[int, float]) -> np.ndarray:
    """Replay: the metric logged when `g` optimizer steps were done belongs to step g - 1 and acts from step g."""
    with jax.enable_x64(True):
        p64 = lrsched.from_config(lrsched.to_config(p))
        value = jax.jit(lambda p, t, s: p(t, s))
        update = jax.jit(lambda p, s, m, t: p.update(s, m, t))
        state = jax.jit(lambda p: p.init())(p64)
        out = []
        for k in range(n):
            out.append(float(value(p64, np.int64(k), state)))
            if k + 1 in metrics:
                state = update(p64, state, np.float64(metrics[k + 1]), np.int64(k))
        return np.asarray(out)


def assert_rates(got: list[float], want: np.ndarray, what: str) -> None:
    got_a = np.asarray(got, np.float64)
    assert got_a.shape == want.shape, f"{what}: {got_a.shape} steps recorded, {want.shape} expected"
    np.testing.assert_allclose(got_a, want, rtol=1e-13, atol=0, err_msg=what)


# ---------------------------------------------------------------------------- Hugging Face


class _Regression(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Linear(6, 8)
        self.head = torch.nn.Linear(8, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        out = self.head(torch.tanh(self.body(x))).squeeze(-1)
        result = {"logits": out}
        if labels is not None:
            result["loss"] = torch.nn.functional.mse_loss(out, labels)
        return result


class _Dataset(torch.utils.data.Dataset):
    def __init__(self, seed: int) -> None:
        self.x, self.y = _data(seed=seed)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "labels": self.y[i]}


class _Record(transformers.TrainerCallback):
    def __init__(self) -> None:
        self.lrs: list[float] = []
        self.momenta: list[float] = []
        self.metrics: dict[int, float] = {}

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        group = optimizer.param_groups[0]
        self.lrs.append(float(group["lr"]))
        self.momenta.append(float(group["betas"][0]) if "betas" in group else float(group.get("momentum", 0.0)))

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.metrics[state.global_step] = float(metrics["eval_loss"])


def hf_run(tmp_path, make_scheduler, max_steps: int = N_STEPS, resume: str | None = None, adam: bool = True,
           **extra):
    model = _Regression()
    if adam:
        opt = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.0)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = make_scheduler(opt)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=BATCH, per_device_eval_batch_size=16,
        max_steps=max_steps, eval_strategy="steps", eval_steps=EVAL_EVERY, save_strategy="steps", save_steps=20,
        logging_strategy="no", report_to="none", use_cpu=True, dataloader_num_workers=0, disable_tqdm=True,
        seed=0, data_seed=0, **extra)
    record = _Record()
    trainer = transformers.Trainer(model=model, args=args, train_dataset=_Dataset(0), eval_dataset=_Dataset(1),
                                   optimizers=(opt, sched),
                                   callbacks=[record, lrsched_torch.transformers.FeedPlateau()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train(resume_from_checkpoint=resume)
    return record, sched


def test_hf_trainer_one_cycle_with_betas_every_step(tmp_path):
    lr, momentum = one_cycle()
    record, sched = hf_run(tmp_path, lambda opt: lrsched_torch.ScheduleLR(opt, lr=lr, momentum=momentum))
    assert_rates(record.lrs, expected_plain(lr, N_STEPS), "lr")
    assert_rates(record.momenta, expected_plain(momentum, N_STEPS), "betas[0]")
    assert sched.last_epoch == N_STEPS


def test_hf_trainer_warmup_plateau_fed_after_each_evaluation_and_resumes_exactly(tmp_path):
    p = warmup_plateau()
    record, sched = hf_run(tmp_path / "a", lambda opt: lrsched_torch.ScheduleLR(opt, lr=p), adam=False)
    assert sorted(record.metrics) == list(range(EVAL_EVERY, N_STEPS + 1, EVAL_EVERY))
    want = expected_plateau(p, N_STEPS, record.metrics)
    assert_rates(record.lrs, want, "lr")
    assert int(sched.plateau_states[0].num_reductions) >= 2, "the plateau must act in this run"
    assert len(set(record.lrs[8:])) >= 3
    # resume from the checkpoint at step 20 in a fresh model/optimizer/scheduler: the same rates
    again, _ = hf_run(tmp_path / "a", lambda opt: lrsched_torch.ScheduleLR(opt, lr=p), adam=False,
                      resume=str(tmp_path / "a" / "checkpoint-20"))
    assert len(again.lrs) == N_STEPS - 20
    np.testing.assert_array_equal(again.lrs, record.lrs[20:])


def test_hf_trainer_one_cycle_resumes_exactly(tmp_path):
    lr, momentum = one_cycle()

    def make(opt):
        return lrsched_torch.ScheduleLR(opt, lr=lr, momentum=momentum)

    record, _ = hf_run(tmp_path, make)
    again, _ = hf_run(tmp_path, make, resume=str(tmp_path / "checkpoint-20"))
    np.testing.assert_array_equal(again.lrs, record.lrs[20:])
    np.testing.assert_array_equal(again.momenta, record.momenta[20:])


def test_hf_trainer_run_extended_with_a_rebuilt_schedule_keeps_it(tmp_path):
    """max_steps 20 -> 40 on resume, the schedule rebuilt for 40 steps: with ``keep_schedule=True`` the new
    schedule continues from step 20, as transformers' own "linear" does (its lambdas are not saved); by default
    the saved schedule would continue, with a warning (tests/test_torch_resume.py)."""
    from lrsched.compat import transformers as hf

    def ours(steps):
        return lambda opt: lrsched_torch.ScheduleLR(opt, lr=hf.get_scheduler("linear", 0.05, 4, steps),
                                                    keep_schedule=True)

    def theirs(steps):
        return lambda opt: transformers.get_linear_schedule_with_warmup(opt, 4, steps)

    lrs = {}
    for name, make in (("ours", ours), ("theirs", theirs)):
        hf_run(tmp_path / name, make(20), max_steps=20)
        again, _ = hf_run(tmp_path / name, make(40), max_steps=40, resume=str(tmp_path / name / "checkpoint-20"))
        lrs[name] = again.lrs
    assert len(lrs["ours"]) == 20
    # transformers' first resumed step runs at the optimizer's saved lr (the old schedule's end, 0): torch's
    # LambdaLR does not re-apply its lr on load (pytorch#65342); the bridge does
    assert lrs["theirs"][0] == 0.0
    np.testing.assert_allclose(lrs["ours"][1:], lrs["theirs"][1:], rtol=1e-12)
    np.testing.assert_allclose(lrs["ours"], [0.05 * (40 - k) / 36 for k in range(20, 40)], rtol=1e-12)


def test_hf_trainer_drives_the_drop_in_reduce_lr_on_plateau_itself(tmp_path):
    """lrsched_torch.lr_scheduler.ReduceLROnPlateau is a torch ReduceLROnPlateau: the Trainer feeds it."""
    from lrsched_torch.lr_scheduler import ReduceLROnPlateau

    # as with torch's class, the Trainer needs metric_for_best_model to know what to pass
    record, sched = hf_run(tmp_path, lambda opt: ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=0.5),
                           adam=False, metric_for_best_model="loss")
    native_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.05)
    native = torch.optim.lr_scheduler.ReduceLROnPlateau(native_opt, factor=0.5, patience=0, threshold=0.5)
    want = []
    for k in range(N_STEPS):
        want.append(native_opt.param_groups[0]["lr"])
        if k + 1 in record.metrics:
            native.step(record.metrics[k + 1])
    assert record.lrs == want
    assert len(set(want)) >= 2


def test_hf_feed_plateau_names_a_missing_metric(tmp_path):
    class Callback(lrsched_torch.transformers.FeedPlateau):
        pass

    p = warmup_plateau()
    model = _Regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    args = transformers.TrainingArguments(output_dir=str(tmp_path), max_steps=6, eval_strategy="steps", eval_steps=5,
                                          report_to="none", use_cpu=True, save_strategy="no", disable_tqdm=True,
                                          per_device_train_batch_size=BATCH)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=_Dataset(0), eval_dataset=_Dataset(1),
                                   optimizers=(opt, lrsched_torch.ScheduleLR(opt, lr=p)),
                                   callbacks=[Callback(metric="accuracy")])
    with pytest.raises(KeyError, match="eval_accuracy"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()


# ---------------------------------------------------------------------------- Lightning


class _Module(pl.LightningModule):
    def __init__(self, make_scheduler, interval: str = "step", reduce_on_plateau: bool | None = None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        self.make_scheduler = make_scheduler
        self.interval = interval
        self.reduce_on_plateau = reduce_on_plateau
        self.lrs: list[float] = []
        self.momenta: list[float] = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x).squeeze(-1), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x).squeeze(-1), y))

    def on_before_optimizer_step(self, optimizer):
        group = optimizer.param_groups[0]
        self.lrs.append(float(group["lr"]))
        self.momenta.append(float(group["betas"][0]) if "betas" in group else float(group.get("momentum", 0.0)))

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=0.05, weight_decay=0.0)
        config = {"scheduler": self.make_scheduler(opt), "interval": self.interval, "monitor": "val_loss"}
        if self.reduce_on_plateau is not None:
            config["reduce_on_plateau"] = self.reduce_on_plateau
        return {"optimizer": opt, "lr_scheduler": config}


class _Metrics(pl.Callback):
    def __init__(self) -> None:
        self.metrics: dict[int, float] = {}

    def on_validation_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            self.metrics[trainer.global_step] = float(trainer.callback_metrics["val_loss"])


def _loaders(batches_per_epoch: int):
    x, y = _data(batches_per_epoch * BATCH)
    vx, vy = _data(32, seed=1)
    train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=BATCH, shuffle=False)
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(vx, vy), batch_size=32)
    return train, val


def lightning_run(tmp_path, module, max_steps: int = N_STEPS, batches_per_epoch: int = 20, ckpt_path=None,
                  val_check_interval: int | float = EVAL_EVERY, feed: bool = True):
    metrics = _Metrics()
    checkpoints = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), save_top_k=-1, every_n_epochs=1,
                                               save_on_train_epoch_end=True, filename="{epoch}-{step}")
    callbacks = [metrics, checkpoints] + ([lrsched_torch.lightning.FeedPlateau()] if feed else [])
    trainer = pl.Trainer(max_steps=max_steps, accelerator="cpu", devices=1, logger=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         val_check_interval=val_check_interval, default_root_dir=str(tmp_path), callbacks=callbacks,
                         deterministic=True)
    train, val = _loaders(batches_per_epoch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, train, val, ckpt_path=ckpt_path)
    return metrics.metrics, trainer


def test_lightning_one_cycle_with_betas_every_step(tmp_path):
    lr, momentum = one_cycle()
    module = _Module(lambda opt: lrsched_torch.ScheduleLR(opt, lr=lr, momentum=momentum))
    lightning_run(tmp_path, module, feed=False)
    assert_rates(module.lrs, expected_plain(lr, N_STEPS), "lr")
    assert_rates(module.momenta, expected_plain(momentum, N_STEPS), "betas[0]")


def test_lightning_warmup_plateau_fed_by_the_callback_and_resumes_exactly(tmp_path):
    p = warmup_plateau()
    module = _Module(lambda opt: lrsched_torch.ScheduleLR(opt, lr=p))
    metrics, _ = lightning_run(tmp_path, module)
    assert sorted(metrics) == list(range(EVAL_EVERY, N_STEPS + 1, EVAL_EVERY))
    assert_rates(module.lrs, expected_plateau(p, N_STEPS, metrics), "lr")
    assert len(set(module.lrs[8:])) >= 3, "the plateau must act in this run"
    # resume from the end of epoch 0 (step 20) through Lightning's checkpoint: the same rates
    resumed = _Module(lambda opt: lrsched_torch.ScheduleLR(opt, lr=p))
    ckpt = tmp_path / "ckpt" / "epoch=0-step=20.ckpt"
    assert ckpt.exists(), sorted(os.listdir(tmp_path / "ckpt"))
    lightning_run(tmp_path / "again", resumed, ckpt_path=str(ckpt))
    np.testing.assert_array_equal(resumed.lrs, module.lrs[20:])


def test_lightning_without_the_callback_a_plateau_is_fed_by_reduce_on_plateau_per_epoch(tmp_path):
    """The per-epoch form needs no callback: Lightning calls step(val_loss) once per epoch."""
    p = lrsched.plateau(lrsched.constant(0.05), factor=0.5, patience=0, threshold=0.5)
    module = _Module(lambda opt: lrsched_torch.ScheduleLR(opt, lr=p), interval="epoch", reduce_on_plateau=True)
    metrics, _ = lightning_run(tmp_path, module, max_steps=32, batches_per_epoch=4, val_check_interval=1.0,
                               feed=False)
    epochs = sorted(metrics)
    assert epochs == [4, 8, 12, 16, 20, 24, 28, 32]
    native_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.05)
    native = torch.optim.lr_scheduler.ReduceLROnPlateau(native_opt, factor=0.5, patience=0, threshold=0.5)
    want = []
    for k in range(32):
        want.append(native_opt.param_groups[0]["lr"])
        if k + 1 in metrics:
            native.step(metrics[k + 1])
    assert module.lrs == want and len(set(want)) >= 2


def test_lightning_reduce_on_plateau_with_step_interval_is_refused(tmp_path):
    p = warmup_plateau()
    module = _Module(lambda opt: lrsched_torch.ScheduleLR(opt, lr=p), interval="step", reduce_on_plateau=True)
    with pytest.raises(ValueError, match="same validation metric"):
        lightning_run(tmp_path, module, max_steps=4)


def test_lightning_drop_in_reduce_on_plateau_per_step_is_left_to_lightning(tmp_path):
    """The drop-in ReduceLROnPlateau is torch's class: with FeedPlateau in the trainer, Lightning still feeds it
    per step (as it feeds torch's), the callback does not refuse it, and the rates are torch's."""
    from lrsched_torch import lr_scheduler as dl

    class OnTrainingLoss(_Module):  # monitors the training loss, logged at every step
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            config = super().configure_optimizers()
            config["lr_scheduler"]["monitor"] = "train_loss"
            return config

    runs = []
    for cls in (torch.optim.lr_scheduler.ReduceLROnPlateau, dl.ReduceLROnPlateau):
        module = OnTrainingLoss(lambda opt, cls=cls: cls(opt, factor=0.5, patience=1, threshold=0.5),
                                interval="step")
        lightning_run(tmp_path / cls.__module__, module, max_steps=24, batches_per_epoch=4, val_check_interval=1.0)
        runs.append(module.lrs)
    assert runs[1] == runs[0] and len(set(runs[0])) >= 2
