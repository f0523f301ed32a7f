"""lrsched_torch.lr_range_test against the real torch_lr_finder 0.2.2, and its restore."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
torch_lr_finder = pytest.importorskip("torch_lr_finder")

from lrsched_torch.finder import lr_range_test  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from lrsched.demo import digits as demo_digits  # noqa: E402
from lrsched.finder import LossTracker, steepest  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # two shared cores: torch's intra-op pool spins badly under load (80 ms per tiny step)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def digits():
    d = demo_digits.load()
    train = TensorDataset(torch.tensor(d.x_train), torch.tensor(d.y_train).long())
    val = TensorDataset(torch.tensor(d.x_test), torch.tensor(d.y_test).long())
    return train, val


def mlp(seed=0, dropout=0.0, batchnorm=False):
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(64, 64)] + ([torch.nn.BatchNorm1d(64)] if batchnorm else [])
    layers += [torch.nn.ReLU(), torch.nn.Dropout(dropout), torch.nn.Linear(64, 10)]
    return torch.nn.Sequential(*layers)


def loader(ds, seed=0, batch_size=64, shuffle=True):
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=torch.Generator().manual_seed(seed))


def snapshot(model, optimizer):
    return copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())


def assert_same_state(a, b):
    (ma, oa), (mb, ob) = a, b
    assert ma.keys() == mb.keys()
    for k in ma:
        assert torch.equal(ma[k], mb[k]), k
    assert oa["param_groups"] == ob["param_groups"]
    assert oa["state"].keys() == ob["state"].keys()
    for k in oa["state"]:
        for name, v in oa["state"][k].items():
            w = ob["state"][k][name]
            assert torch.equal(v, w) if torch.is_tensor(v) else v == w


def run_anchor(model, optimizer, criterion, train_loader, capsys, **kw):
    """torch_lr_finder 0.2.2 itself; returns its history and plot(suggest_lr=True)'s rate."""
    import matplotlib.pyplot as plt

    finder = torch_lr_finder.LRFinder(model, optimizer, criterion)
    finder.range_test(train_loader, **kw)
    fig, ax = plt.subplots()
    try:
        _, lr = finder.plot(ax=ax, suggest_lr=True)
    except RuntimeError:  # too short to suggest
        lr = None
    plt.close(fig)
    history = dict(finder.history)
    finder.reset()
    capsys.readouterr()
    return history, lr


CASES = [
    dict(start_lr=1e-5),
    dict(start_lr=1e-4, end_lr=1.0, step_mode="linear"),
    dict(start_lr=1e-5, accumulation_steps=2, smooth_f=0.0),
    dict(start_lr=1e-5, smooth_f=0.2, diverge_th=3, num_iter=60),
]


@pytest.mark.parametrize("kw", CASES, ids=["exp", "linear", "accumulate", "smooth-diverge"])
@pytest.mark.parametrize("opt", ["sgd-momentum", "adam"])
def test_same_lrs_and_losses_as_torch_lr_finder(digits, capsys, kw, opt):
    train, _ = digits
    model = mlp()
    if opt == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = torch.nn.CrossEntropyLoss()
    before = snapshot(model, optimizer)
    torch.manual_seed(1)
    ours = lr_range_test(model, optimizer, crit, loader(train), progress=False, **kw)
    assert_same_state(before, snapshot(model, optimizer))  # restored exactly
    torch.manual_seed(1)
    hist, anchor_lr = run_anchor(model, optimizer, crit, loader(train), capsys, **kw)
    assert len(ours.lrs) == len(hist["lr"])
    np.testing.assert_allclose(ours.lrs, hist["lr"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(ours.smoothed, hist["loss"], rtol=1e-6, atol=1e-7)
    # the raw losses smooth into torch_lr_finder's history
    t = LossTracker("torch", smooth_f=kw.get("smooth_f", 0.05), diverge_factor=kw.get("diverge_th", 5))
    np.testing.assert_allclose([t.update(x)[0] for x in ours.losses], hist["loss"], rtol=1e-12)
    if len(hist["lr"]) < kw.get("num_iter", 100):
        assert ours.stopped_at == len(hist["lr"]) - 1 and ours.diverged
    if anchor_lr is not None:
        assert ours.suggest("steepest").lr == anchor_lr


def test_validation_loss_groups_and_default_start(digits, capsys):
    train, val = digits
    model = mlp()
    groups = [{"params": model[0].parameters(), "lr": 1e-4}, {"params": model[3].parameters(), "lr": 1e-5}]
    optimizer = torch.optim.SGD(groups, lr=0.1)
    crit = torch.nn.CrossEntropyLoss()
    before = snapshot(model, optimizer)
    kw = dict(end_lr=1.0, num_iter=25)
    ours = lr_range_test(model, optimizer, crit, loader(train), val_loader=loader(val, shuffle=False),
                         progress=False, **kw)
    assert_same_state(before, snapshot(model, optimizer))
    hist, _ = run_anchor(model, optimizer, crit, loader(train), capsys, val_loader=loader(val, shuffle=False), **kw)
    np.testing.assert_allclose(ours.lrs, hist["lr"], rtol=1e-6)  # group 0 ramps from its own lr (1e-4)
    assert ours.lrs[0] == pytest.approx(1e-4)
    np.testing.assert_allclose(ours.smoothed, hist["loss"], rtol=1e-6)


@given(losses=st.lists(st.floats(0.0, 10.0), min_size=17, max_size=80),
       skip=st.tuples(st.integers(0, 12), st.integers(0, 6)))
def test_steepest_equals_torch_lr_finder_plot(losses, skip):
    import matplotlib.pyplot as plt

    lrs = list(np.geomspace(1e-6, 1, len(losses)))
    finder = torch_lr_finder.LRFinder.__new__(torch_lr_finder.LRFinder)  # only plot(): no model needed
    finder.history = {"lr": lrs, "loss": list(losses)}
    fig, ax = plt.subplots()
    if len(losses) < skip[0] + skip[1] + 2:
        with pytest.raises(RuntimeError):
            finder.plot(skip_start=skip[0], skip_end=skip[1], ax=ax)
        with pytest.raises(ValueError, match="too short"):
            steepest(lrs, losses, skip_start=skip[0], skip_end=skip[1])
    else:
        _, lr = finder.plot(skip_start=skip[0], skip_end=skip[1], ax=ax, suggest_lr=True)
        assert steepest(lrs, losses, skip_start=skip[0], skip_end=skip[1]).lr == lr
    plt.close(fig)


class Boom(Exception):
    pass


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_restored_when_the_test_raises(digits, error):
    train, _ = digits
    model = mlp(dropout=0.2, batchnorm=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = torch.nn.CrossEntropyLoss()
    # some optimizer state (momentum buffers) and eval mode before the test
    optimizer.zero_grad()
    x, y = train[:32]
    crit(model(x), y).backward()
    optimizer.step()
    model.eval()
    before = snapshot(model, optimizer)
    calls = []

    def failing(out, labels):
        calls.append(1)
        if len(calls) == 7:
            raise error("stop")
        return crit(out, labels)

    with pytest.raises(error):
        lr_range_test(model, optimizer, failing, loader(train), start_lr=1e-4, progress=False)
    assert_same_state(before, snapshot(model, optimizer))
    assert not model.training and not any(m.training for m in model.modules())
    assert [g["lr"] for g in optimizer.param_groups] == [0.01]
    # the restore (model, optimizer and the global RNG dropout draws from) is exact: two tests in a
    # row record the same curve
    torch.manual_seed(5)
    r1 = lr_range_test(model, optimizer, crit, loader(train), start_lr=1e-4, num_iter=20, progress=False)
    assert_same_state(before, snapshot(model, optimizer))
    r2 = lr_range_test(model, optimizer, crit, loader(train), start_lr=1e-4, num_iter=20, progress=False)
    np.testing.assert_array_equal(r1.losses, r2.losses)


def test_iterators_progress_and_errors(digits, capsys):
    train, _ = digits
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    crit = torch.nn.CrossEntropyLoss()
    before = snapshot(model, optimizer)
    batches = [train[i:i + 64] for i in range(0, 64 * 5, 64)]
    r = lr_range_test(model, optimizer, crit, batches, start_lr=1e-4, end_lr=1e-2, num_iter=12, progress=True)
    assert len(r.lrs) == 12  # a list restarts like a DataLoader
    bar = capsys.readouterr().err
    assert "lr range test" in bar and "12/12" in bar and "ran all 12 steps" in bar  # the tqdm bar stays, says why
    # a one-shot iterator shorter than num_iter: the curve so far, with a warning (as the JAX side)
    with pytest.warns(UserWarning, match="ran out after 5 of 12"):
        short = lr_range_test(model, optimizer, crit, iter(batches), start_lr=1e-4, end_lr=1e-2, num_iter=12,
                              progress=True)
    assert len(short.lrs) == 5 and not short.diverged
    np.testing.assert_array_equal(short.losses, r.losses[:5])
    assert short.stop_reason == "data ran out after 5 of 12 steps" and short.stop_reason in capsys.readouterr().err
    assert_same_state(before, snapshot(model, optimizer))
    with pytest.raises(ValueError, match="no batch"):
        lr_range_test(model, optimizer, crit, iter([]), num_iter=12, progress=False)
    with pytest.raises(ValueError, match="empty"):
        lr_range_test(model, optimizer, crit, [], num_iter=12, progress=False)
    assert_same_state(before, snapshot(model, optimizer))
    r = lr_range_test(model, optimizer, crit, batches, start_lr=1e-1, end_lr=1e3, num_iter=60, progress=True)
    assert r.diverged and f"diverged at step {r.stopped_at}" in capsys.readouterr().err
    with pytest.raises(ValueError, match="tuple or list"):
        lr_range_test(model, optimizer, crit, [{"x": 1}], num_iter=3, progress=False)
    r = lr_range_test(model, optimizer, crit, [{"x": b[0], "y": b[1]} for b in batches], num_iter=3, progress=False,
                      inputs_labels=lambda b: (b["x"], b["y"]))
    assert len(r.lrs) == 3
    with pytest.raises(ValueError, match="step_mode"):
        lr_range_test(model, optimizer, crit, batches, step_mode="cos")


def test_torch_and_jax_record_the_same_curve(digits):
    """The same MLP, init, batches and ramp in JAX (lrsched.finder) and torch: the same losses.

    (Adam, 100 steps of 64 digits, the default ramp: the JAX program is the one
    tests/test_finder.py compiles, so one process compiles it once.)"""
    import jax.numpy as jnp
    import optax

    from lrsched.finder import lr_range_test as jax_range_test

    train, _ = digits
    model = mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    xs, ys = train.tensors
    per_epoch = len(xs) // 64
    batches = [(xs[j * 64:(j + 1) * 64], ys[j * 64:(j + 1) * 64]) for j in (i % per_epoch for i in range(100))]
    r_t = lr_range_test(model, optimizer, torch.nn.CrossEntropyLoss(), batches, start_lr=1e-7, progress=False)
    params = [{"w": jnp.asarray(m.weight.detach().numpy().T), "b": jnp.asarray(m.bias.detach().numpy())}
              for m in (model[0], model[3])]
    stacked = (np.stack([b[0].numpy() for b in batches]), np.stack([b[1].numpy() for b in batches]).astype(np.int32))
    r_j = jax_range_test(demo_digits.loss_fn, params, stacked, optimizer=optax.adam)
    n = min(len(r_t.lrs), len(r_j.lrs))
    assert n >= 50
    np.testing.assert_allclose(r_j.lrs[:n], r_t.lrs[:n], rtol=2e-5)
    k = int(np.searchsorted(r_t.lrs, 0.05))  # before the blow-up float32 differences stay small
    np.testing.assert_allclose(r_j.losses[:k], r_t.losses[:k], rtol=2e-3)
    assert abs(len(r_t.lrs) - len(r_j.lrs)) <= 2


def test_device_argument_moves_and_returns(digits):
    train, _ = digits
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    before = snapshot(model, optimizer)
    batches = [train[i:i + 64] for i in range(0, 64 * 3, 64)]
    r = lr_range_test(model, optimizer, torch.nn.CrossEntropyLoss(), batches, num_iter=5, device="cpu",
                      start_lr=1e-3, progress=False)
    assert len(r.lrs) == 5 and next(model.parameters()).device.type == "cpu"
    assert_same_state(before, snapshot(model, optimizer))


def test_rng_and_gradients_restored(digits):
    """The run after the test is the run without it (fastai#3013): the global RNG (dropout masks,
    a DataLoader's shuffle without a generator) and the .grad tensors are put back too."""
    train, _ = digits
    model = mlp(dropout=0.3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = torch.nn.CrossEntropyLoss()
    x, y = train[:32]
    crit(model(x), y).backward()  # gradients left from a previous step
    model[3].bias.grad = None  # and one parameter without a gradient
    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    unseeded = DataLoader(train, batch_size=64, shuffle=True)  # shuffles with the global RNG

    def after():
        return torch.rand(3), next(iter(unseeded))[1][:8]

    torch.manual_seed(11)
    without = after()
    torch.manual_seed(11)
    r = lr_range_test(model, optimizer, crit, unseeded, start_lr=1e-4, num_iter=15, progress=False)
    with_test = after()
    assert len(r.lrs) == 15
    assert torch.equal(without[0], with_test[0]) and torch.equal(without[1], with_test[1])
    for p, g in zip(model.parameters(), grads):
        assert (p.grad is None and g is None) or torch.equal(p.grad, g)
    # restore_rng=False keeps the state the test advanced the RNG to (torch_lr_finder's behaviour)
    torch.manual_seed(11)
    lr_range_test(model, optimizer, crit, unseeded, start_lr=1e-4, num_iter=15, progress=False, restore_rng=False)
    assert not torch.equal(torch.rand(3), without[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_rng_restored(digits):
    train, _ = digits
    model = mlp(dropout=0.3).cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    batches = [(x.cuda(), y.cuda()) for x, y in (train[i:i + 64] for i in range(0, 320, 64))]
    torch.cuda.manual_seed_all(3)
    want = torch.rand(3, device="cuda")
    torch.cuda.manual_seed_all(3)
    lr_range_test(model, optimizer, torch.nn.CrossEntropyLoss(), batches, num_iter=10, progress=False)
    assert torch.equal(torch.rand(3, device="cuda"), want)


def test_negative_losses_and_the_anchor_on_positive_ones(digits, capsys):
    """A loss shifted below zero (a likelihood-style objective) runs until it rises
    (diverge_th - 1) |best| above its best; torch_lr_finder stops at once there. On the same
    losses shifted up, torch_lr_finder and we stop at the same step."""
    train, _ = digits
    crit = torch.nn.CrossEntropyLoss()
    kw = dict(start_lr=1e-4, end_lr=10.0, num_iter=60)
    results = {}
    for shift in (-10.0, 10.0):
        def shifted(out, labels, shift=shift):
            return crit(out, labels) + shift

        model = mlp()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        torch.manual_seed(1)
        ours = lr_range_test(model, optimizer, shifted, loader(train), progress=False, **kw)
        torch.manual_seed(1)
        hist, _ = run_anchor(model, optimizer, shifted, loader(train), capsys, **kw)
        results[shift] = ours, hist
        s = ours.smoothed
        t = LossTracker("torch", smooth_f=0.05, diverge_factor=5.0)
        flags = [t.update(x)[1] for x in ours.losses]
        assert flags.index(True) == ours.stopped_at if ours.diverged else not any(flags)
        if shift > 0:  # positive losses: torch_lr_finder's rule, the same stop and curve
            assert len(hist["loss"]) == len(s)
            np.testing.assert_allclose(s, hist["loss"], rtol=1e-6)
        else:
            assert len(hist["loss"]) <= 2 and len(s) > 20  # the anchor stops at its first step below its best
            assert ours.diverged and s.min() < 0  # it does stop, once the loss blows up
            best = np.minimum.accumulate(s)
            rose = s - best > 4 * np.abs(best)  # the documented rule, diverge_th = 5
            assert rose[ours.stopped_at] and not rose[: ours.stopped_at].any()
    # the curve itself does not depend on the shift (before either stops)
    n = min(len(results[-10.0][0].losses), len(results[10.0][0].losses))
    np.testing.assert_allclose(results[-10.0][0].losses[:n] + 20.0, results[10.0][0].losses[:n], rtol=1e-5)
