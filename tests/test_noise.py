"""lrsched.noise: the "hash" generator against an independent numpy reference, its distribution,
bounds, jit / vmap / grad, float32 and x64; the "threefry" generator unchanged; configs saved
before format 2 (and a torch state_dict) loading to their old draws.

The reference: MurmurHash3_x86_32 written here from Austin Appleby's MurmurHash3.cpp (SMHasher),
checked against its published test vectors, in numpy uint64 arithmetic masked to 32 bits; the
normal draw ``sqrt(2) erfinv(u erf(pct / sqrt(2)))`` in float64 with scipy.special.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

import lrsched
from lrsched import ScheduleError
from lrsched._config import FORMAT
from lrsched.compat import timm

ULP = 2.0**-24  # float32's relative rounding unit
BIG = np.array([2**24 - 1, 2**24, 2**24 + 1, 2**31 - 3, 2**31 - 2, 2**31 - 1])
STEPS32 = np.concatenate([np.arange(10_001), BIG])
STEPS64 = np.concatenate([STEPS32, [2**32 - 1, 2**32, 2**32 + 1, 2**32 + 10_000, 2**40 + 7, 2**53 - 1, 2**62 + 3]])


# ------------------------------------------------------------------ the reference


def murmur3_32(data: bytes, seed: int) -> int:
    """MurmurHash3_x86_32 (MurmurHash3.cpp), in plain Python integers."""
    c1, c2, m = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF

    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & m

    h = seed & m
    whole = len(data) // 4 * 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = rotl((k * c1) & m, 15) * c2 & m
        h = rotl(h ^ k, 13)
        h = (h * 5 + 0xE6546B64) & m
    tail = data[whole:]
    if tail:
        k = int.from_bytes(tail, "little")
        h ^= rotl((k * c1) & m, 15) * c2 & m
    h ^= len(data)
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & m
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & m
    return h ^ (h >> 16)


# Published test vectors of MurmurHash3_x86_32 (stackoverflow.com/questions/14747343, as in boost.hash2's
# test/murmur3_32.cpp), multi-block ones included.
VECTORS = [
    (b"", 0, 0), (b"", 1, 0x514E28B7), (b"", 0xFFFFFFFF, 0x81F16F39),
    (b"\xff\xff\xff\xff", 0, 0x76293B50), (b"\x21\x43\x65\x87", 0, 0xF55B516B),
    (b"\x21\x43\x65\x87", 0x5082EDEE, 0x2362F9DE), (b"\x21\x43\x65", 0, 0x7E4A8634),
    (b"\x21\x43", 0, 0xA0F7B07A), (b"\x21", 0, 0x72661CF4), (b"\x00\x00\x00\x00", 0, 0x2362F9DE),
    (b"\x00\x00\x00", 0, 0x85F0B427), (b"\x00\x00", 0, 0x30F4C306), (b"\x00", 0, 0x514E28B7),
    (b"abc", 0, 0xB3DD93FA), (b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0, 0xEE925B90),
    (b"The quick brown fox jumps over the lazy dog", 0x9747B28C, 0x2FA826CD),
]


def test_the_reference_hash_is_murmur3():
    for data, seed, want in VECTORS:
        assert murmur3_32(data, seed) == want, (data, seed)


_M = np.uint64(0xFFFFFFFF)


def _rotl(x, r):
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & _M


def _block(h, k):
    k = _rotl((k * np.uint64(0xCC9E2D51)) & _M, 15) * np.uint64(0x1B873593) & _M
    return (_rotl(h ^ k, 13) * np.uint64(5) + np.uint64(0xE6546B64)) & _M


def murmur_steps(seed: int, steps) -> np.ndarray:
    """MurmurHash3_x86_32 of each step's 8 little-endian bytes, seeded: numpy, vectorised."""
    steps = np.asarray(steps, np.uint64)
    h = _block(_block(np.uint64(seed), steps & _M), steps >> np.uint64(32)) ^ np.uint64(8)
    h = ((h ^ (h >> np.uint64(16))) * np.uint64(0x85EBCA6B)) & _M
    h = ((h ^ (h >> np.uint64(13))) * np.uint64(0xC2B2AE35)) & _M
    return h ^ (h >> np.uint64(16))


def test_the_vectorised_reference_is_the_hash_of_the_step_bytes():
    steps = [0, 1, 255, 256, 2**24 + 1, 2**31 - 1, 2**32, 2**32 + 5, 2**63 - 1]
    for seed in (0, 1, 42, 2**32 - 1):
        got = murmur_steps(seed, steps)
        assert [int(g) for g in got] == [murmur3_32(s.to_bytes(8, "little"), seed) for s in steps]


def ref_unit(seed, steps) -> np.ndarray:
    """The top 24 bits k as (2k + 1 - 2**24) / 2**24, exactly (float64)."""
    k = (murmur_steps(seed, steps) >> np.uint64(8)).astype(np.float64)
    return (2 * k + 1 - 2**24) / 2**24


def ref_draws(seed, steps, pct, kind) -> np.ndarray:
    """The draws in float64 (pct rounded to float32 first, as lrsched draws in float32)."""
    u, p = ref_unit(seed, steps), float(np.float32(pct))
    if kind == "uniform":
        return u * p
    return np.sqrt(2.0) * special.erfinv(u * special.erf(p / np.sqrt(2.0)))


_draws = jax.jit(lambda s, t: s._draw_hash(t))  # the draws themselves (the public value is s(t) (1 + n))


def draws(s, steps, dtype=jnp.int32) -> np.ndarray:
    return np.asarray(_draws(s, jnp.asarray(steps, dtype)), np.float64)


def unit_noise(pct, seed=0, kind="normal", **kw):
    return lrsched.noise(lrsched.constant(1.0), pct, seed=seed, kind=kind, **kw)


# ---------------------------------------------------------------- draws = reference


PCTS = [1e-6, 0.1, 0.3, 0.67, 0.9, 1 - 1e-7]


@pytest.mark.parametrize("kind", ["normal", "uniform"])
@pytest.mark.parametrize("seed", [0, 1, 12345, 2**31 - 1])  # float32 mode takes int32 seeds (x64: any uint32)
def test_draws_equal_the_reference_float32(kind, seed):
    for pct in PCTS:
        got = draws(unit_noise(pct, seed, kind), STEPS32)
        want = ref_draws(seed, STEPS32, pct, kind)
        if kind == "uniform":  # one float32 rounding of an exact product
            np.testing.assert_array_equal(got, want.astype(np.float32))
        else:  # erf, the polynomial erfinv and three roundings: a few float32 ulps
            np.testing.assert_allclose(got, want, rtol=8 * ULP, atol=0, err_msg=f"pct={pct}")


@pytest.mark.parametrize("kind", ["normal", "uniform"])
@pytest.mark.parametrize("seed", [977, 2**32 - 1])
def test_draws_equal_the_reference_x64_past_2_32_and_the_same_bits_as_float32(kind, seed):
    pct = 0.3
    with jax.enable_x64(True):
        s = unit_noise(pct, seed, kind)
        wide = draws(s, STEPS64, jnp.int64)
        floats = draws(s, STEPS64[:-1].astype(np.float64), jnp.float64)  # float steps draw as their floor
        values = np.asarray(jax.jit(lambda s, t: s(t))(s, jnp.asarray(STEPS64)))
    want = ref_draws(seed, STEPS64, pct, kind)
    if kind == "uniform":
        np.testing.assert_array_equal(wide, want.astype(np.float32))
    else:
        np.testing.assert_allclose(wide, want, rtol=8 * ULP, atol=0)
    np.testing.assert_array_equal(floats, wide[:-1])
    assert values.dtype == np.float64
    np.testing.assert_allclose(values - 1.0, wide, rtol=0, atol=2**-52)  # the value is 1 + n
    if seed < 2**31:  # float32 mode: the same float32 draws, widened
        np.testing.assert_array_equal(draws(unit_noise(pct, seed, kind), STEPS32), wide[:len(STEPS32)])
    # steps 2**32 apart differ: the high word enters the hash
    far = {int(t): n for t, n in zip(STEPS64, wide)}
    for t in (0, 1, 10_000):
        assert far[t] != far[2**32 + t]
    if seed < 2**31:  # the float32 values are x64's rounded
        n32 = np.asarray(jax.jit(unit_noise(pct, seed, kind))(jnp.asarray(STEPS32, jnp.int32)))
        with jax.enable_x64(True):
            n64 = np.asarray(jax.jit(unit_noise(pct, seed, kind))(jnp.asarray(STEPS32)))
        np.testing.assert_array_equal(n64.astype(np.float32), n32)


@pytest.mark.parametrize("x64", [False, True])
def test_eager_jit_constant_and_argument_evaluations_draw_the_same_bits(x64):
    """XLA fuses multiply-adds at run time, and folds erf of a constant with the host's erf: the draw is
    computed so that every way of evaluating a schedule (numbers known when compiling or not) gives the
    same bits. (A constant inner schedule: other schedules' own rounding is theirs.)"""
    t = np.arange(3000)
    with jax.enable_x64(x64):
        for kind in ("normal", "uniform"):
            for pct in (0.1, 0.2, 0.37, 0.5, 0.9):
                s = lrsched.noise(lrsched.constant(0.1), pct, seed=5, kind=kind)
                ways = [jax.jit(s)(t), jax.jit(lambda s, t: s(t))(s, t), jax.jit(lambda s=s: s(jnp.arange(3000)))(),
                        s(t), lrsched.evaluate(s, 3000),
                        jax.jit(jax.vmap(lambda p, kind=kind: lrsched.noise(lrsched.constant(0.1), p, seed=5,
                                                                            kind=kind)(t)))(jnp.asarray([pct]))[0]]
                for w in ways[1:]:
                    np.testing.assert_array_equal(np.asarray(w), np.asarray(ways[0]), err_msg=f"{kind} {pct}")


def test_the_polynomial_erfinv_over_the_whole_truncated_range():
    """sqrt(2) erfinv(y) for every |y| <= erf(1 / sqrt(2)) (any pct < 1), float32 evaluation vs scipy."""
    from lrsched._combinators import _ERFINV_POLY

    y = np.linspace(0.0, special.erf(np.sqrt(0.5)), 200_001).astype(np.float32)
    z = y * y
    p = np.full_like(z, _ERFINV_POLY[-1])
    for c in _ERFINV_POLY[-2::-1]:
        p = p * z + c
    want = np.sqrt(2.0) * special.erfinv(y.astype(np.float64))
    np.testing.assert_allclose(y * p, want, rtol=3 * ULP, atol=0)


# ----------------------------------------------------------------- distribution

N = 100_000


def _truncnorm(pct):
    return stats.truncnorm(-pct, pct)


@pytest.mark.parametrize("pct", [0.05, 0.5, 0.9])
@pytest.mark.parametrize("seed", [0, 3])
def test_the_normal_draws_follow_the_truncated_normal(pct, seed):
    for steps in (np.arange(N), np.arange(2**31 - N, 2**31)):
        n = draws(unit_noise(pct, seed), steps)
        law = _truncnorm(pct)
        assert stats.kstest(n, law.cdf).pvalue > 1e-3
        assert abs(n.mean()) < 5 * law.std() / np.sqrt(N)
        assert n.var() == pytest.approx(law.var(), rel=0.025)
    if pct == 0.9:  # the test tells the laws apart: the uniform on the same range fails it
        assert stats.kstest(n, stats.uniform(-pct, 2 * pct).cdf).pvalue < 1e-6


@pytest.mark.parametrize("pct", [0.05, 0.5, 0.9])
def test_the_uniform_draws_are_uniform(pct):
    n = draws(unit_noise(pct, 8, "uniform"), np.arange(N))
    law = stats.uniform(-pct, 2 * pct)
    assert stats.kstest(n, law.cdf).pvalue > 1e-3
    assert abs(n.mean()) < 5 * law.std() / np.sqrt(N)
    assert n.var() == pytest.approx(law.var(), rel=0.02)
    assert stats.kstest(n, _truncnorm(pct).cdf).pvalue < 1e-6 or pct < 0.1  # tells the laws apart


def test_no_correlation_between_consecutive_steps_seeds_and_distant_steps():
    bound = 5 / np.sqrt(N)  # five standard errors of a correlation of independent draws
    zero = draws(unit_noise(0.5, 0), np.arange(N))
    assert abs(np.corrcoef(zero[:-1], zero[1:])[0, 1]) < bound
    for seed in (1, 2, 2**31 - 1):
        other = draws(unit_noise(0.5, seed), np.arange(N))
        assert abs(np.corrcoef(zero, other)[0, 1]) < bound, seed
        assert np.mean(zero == other) < 1e-3
    later = draws(unit_noise(0.5, 0), np.arange(2**24, 2**24 + N))
    assert abs(np.corrcoef(zero, later)[0, 1]) < bound
    with jax.enable_x64(True):
        wrapped = draws(unit_noise(0.5, 0), np.arange(2**32, 2**32 + N), jnp.int64)
        for seed in (2**31, 2**32 - 1):
            other = draws(unit_noise(0.5, seed), np.arange(N), jnp.int64)
            assert abs(np.corrcoef(zero, other)[0, 1]) < bound, seed
    assert abs(np.corrcoef(zero, wrapped)[0, 1]) < bound


# ------------------------------------------------------------------------ bounds


#: Steps whose hash (seed 0) has its top 24 bits all zeros or all ones: the largest |u|, 1 - 2**-24.
EXTREME = np.array([3481920, 12162614, 25000685, 32539535, 36349829, 42258698, 42427929])


@settings(max_examples=40)
@given(pct=st.floats(0.0, 1.0, exclude_max=True) | st.sampled_from([0.3, 0.1, 2**-126, 1e-40, 1e-45, 1 - 1e-9]),
       seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["normal", "uniform"]))
def test_draws_stay_strictly_inside_minus_pct_pct(pct, seed, kind):
    steps = np.concatenate([np.arange(4096), BIG, EXTREME])
    if seed < 2**31:
        n32 = draws(unit_noise(pct, seed, kind), steps)
        assert np.all(np.abs(n32) < np.float32(pct)) or np.float32(pct) < np.finfo(np.float32).tiny and np.all(
            n32 == 0)
    with jax.enable_x64(True):  # against the float64 pct (float32(0.3) is above 0.3)
        n64 = draws(unit_noise(pct, seed, kind), steps, jnp.int64)
    assert np.all(np.abs(n64) < pct) or np.float32(pct) < np.finfo(np.float32).tiny and np.all(n64 == 0)


def test_the_extreme_draws_are_held_inside():
    extreme = EXTREME
    assert np.all(np.abs(ref_unit(0, extreme)) == 1 - 2.0**-24)
    for pct in (0.3, 0.5, 0.75, 0.999, 2.0**-20, 0.1):
        for kind in ("normal", "uniform"):
            n = draws(unit_noise(pct, 0, kind), extreme)
            assert np.all(np.abs(n) < np.float32(pct)), (pct, kind)
            assert np.all(np.abs(n) >= np.float32(pct) * (1 - 8 * ULP)), (pct, kind)  # and next to the bound


def test_pct_zero_is_exactly_no_noise():
    inner = lrsched.cosine(0.1, 1000, 0.001)
    t = jnp.asarray(STEPS32)
    for kind in ("normal", "uniform"):
        for generator in ("hash", "threefry"):
            s = lrsched.noise(inner, 0.0, seed=3, kind=kind, generator=generator)
            np.testing.assert_array_equal(np.asarray(jax.jit(s)(t)), np.asarray(jax.jit(inner)(t)))


def test_start_and_end():
    s = lrsched.noise(lrsched.constant(1.0), 0.2, seed=4, start=10, end=20)
    v = np.asarray(lrsched.evaluate(s, 30))
    assert np.all(v[:10] == 1) and np.all(v[20:] == 1) and np.all(v[10:20] != 1)
    np.testing.assert_array_equal(v[10:20], (1 + draws(unit_noise(0.2, 4), np.arange(10, 20))).astype(np.float32))


# --------------------------------------------------------------- vmap and grad


def test_vmap_over_seed_and_pct_equals_one_by_one():
    seeds, pcts = jnp.asarray([0, 1, 7, 2**31 - 1]), jnp.asarray([0.0, 0.1, 0.45, 0.9])
    steps = jnp.asarray(np.concatenate([np.arange(500), BIG]), jnp.int32)
    for kind in ("normal", "uniform"):
        batched = jax.jit(jax.vmap(lambda seed, pct, kind=kind: unit_noise(pct, seed, kind)(steps)))(seeds, pcts)
        for i in range(len(seeds)):
            alone = jax.jit(unit_noise(float(pcts[i]), int(seeds[i]), kind))(steps)
            np.testing.assert_array_equal(np.asarray(batched[i]), np.asarray(alone), err_msg=f"{kind} {i}")
        # a sweep (lrsched.sweep.grid) of seeds: its configs carry the generator
        grid, configs = lrsched.sweep.grid(lambda seed: unit_noise(0.3, seed, kind), seed=[0, 1, 2])
        swept = jax.jit(jax.vmap(lambda s: s(steps)))(grid)
        for row, c in zip(swept, configs):
            np.testing.assert_array_equal(np.asarray(row), np.asarray(jax.jit(unit_noise(0.3, c["seed"], kind))(steps)))


@pytest.mark.parametrize("x64", [False, True])
def test_grad_wrt_pct_is_the_derivative_of_the_draw(x64):
    """n = sqrt(2) erfinv(u erf(p / sqrt(2))) gives dn/dp = u exp((n**2 - p**2) / 2); the uniform: u."""
    steps = np.array([0, 1, 2, 3, 17, 2**24 + 1, 2**31 - 1])
    with jax.enable_x64(x64):
        for kind in ("normal", "uniform"):
            for p in (0.0, 0.1, 0.6, 0.95):
                grad = jax.jit(jax.vmap(jax.grad(lambda p, t, kind=kind: unit_noise(p, 9, kind)(t)), (None, 0)))
                got = np.asarray(grad(p, jnp.asarray(steps)), np.float64)
                u, n = ref_unit(9, steps), ref_draws(9, steps, p, kind)
                want = u if kind == "uniform" else u * np.exp((n**2 - float(np.float32(p)) ** 2) / 2)
                assert np.all(np.isfinite(got))
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{kind} p={p}")


def test_grad_wrt_the_schedule_and_pct_under_jit_is_finite():
    def loss(peak, pct):
        s = lrsched.noise(lrsched.warmup(lrsched.cosine(peak, 1000), 50), pct, seed=2, start=10)
        return jnp.sum(s(jnp.arange(1200)))

    g_peak, g_pct = jax.jit(jax.grad(loss, argnums=(0, 1)))(0.1, 0.3)
    assert np.isfinite(g_peak) and np.isfinite(g_pct)
    plain = jax.grad(lambda peak: jnp.sum(lrsched.warmup(lrsched.cosine(peak, 1000), 50)(jnp.arange(1200))))(0.1)
    assert float(g_peak) == pytest.approx(float(plain), rel=0.05)  # the noise is about zero on average
    assert np.isfinite(jax.grad(loss, argnums=1)(0.1, 0.0))


# ---------------------------------------------------------------- construction


def test_the_generator_is_a_static_field_with_a_clear_error():
    s = unit_noise(0.1)
    assert s.generator == "hash" and "generator" not in [str(k) for k in jax.tree_util.tree_leaves(s)]
    assert "generator='hash'" in repr(s)
    with pytest.raises(ScheduleError, match=r"noise\(generator='philox'\): generator must be one of .*'hash'"):
        lrsched.noise(lrsched.constant(1.0), 0.1, generator="philox")
    with pytest.raises(ScheduleError, match=r"generator"):
        lrsched.noise(lrsched.constant(1.0), 0.1, generator=None)
    with pytest.raises(ScheduleError, match=r"generator"):  # the class checks too
        lrsched.Noise(lrsched.constant(1.0), 0.1, generator="jax")
    # two generators are two structures: a join keeps them apart, each draws its own way
    both = lrsched.join([unit_noise(0.2, 1), unit_noise(0.2, 1, generator="threefry")], [100])
    v = np.asarray(lrsched.evaluate(both, 200))
    np.testing.assert_array_equal(v[:100], np.asarray(lrsched.evaluate(unit_noise(0.2, 1), 100)))
    np.testing.assert_array_equal(v[100:], np.asarray(lrsched.evaluate(unit_noise(0.2, 1, generator="threefry"),
                                                                       100)))


# -------------------------------------------------------------------- threefry


def threefry_reference(seed, steps, pct, kind, x64):
    """main's draws (04d3999): jax.random, keyed by fold_in(fold_in(key(seed), low32), high32), in float32.
    The seed and pct are arguments: with constant bounds XLA folds truncated_normal's erf with the host's
    erf (an ulp off its run-time one), as it did on main."""
    def one(step, seed, pct):
        if x64:
            low, high = (step & 0xFFFFFFFF).astype(jnp.uint32), (step >> 32).astype(jnp.uint32)
        else:
            low, high = step.astype(jnp.uint32), jnp.zeros((), jnp.uint32)
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), low), high)
        if kind == "uniform":
            return jax.random.uniform(key, (), jnp.float32, -pct, pct)
        return jax.random.truncated_normal(key, -pct, pct, (), jnp.float32)

    run = jax.jit(jax.vmap(one, (0, None, None)))
    return np.asarray(run(jnp.asarray(steps), jnp.asarray(seed, jnp.uint32), jnp.float32(pct)), np.float64)


@pytest.mark.parametrize("kind", ["normal", "uniform"])
@pytest.mark.parametrize("x64", [False, True])
def test_threefry_draws_are_main_s(kind, x64):
    steps = np.concatenate([np.arange(2000), BIG] + ([[2**32, 2**32 + 1, 2**40 + 3]] if x64 else []))
    for seed, pct in ((0, 0.3), (42, 0.67), (2**32 - 1 if x64 else 2**31 - 1, 0.05)):
        with jax.enable_x64(x64):
            s = unit_noise(pct, seed, kind, generator="threefry")
            got = jax.jit(lambda s, t: jax.vmap(s._draw_threefry)(t))(s, jnp.asarray(steps))
            want = threefry_reference(seed, steps, pct, kind, x64)
            values = np.asarray(jax.jit(lambda s, t: s(t))(s, jnp.asarray(steps)), np.float64)
        np.testing.assert_array_equal(np.asarray(got, np.float64), want)
        if x64:
            np.testing.assert_allclose(values - 1.0, want, rtol=0, atol=2**-52)


# -------------------------------------------------------- configs: format 1 and 2

MAIN_STEPS = [0, 1, 2, 3, 499, 500, 2**24 + 1, 2**31 - 1]

# Configs as lrsched at main 04d3999 (config format 1) wrote them with lrsched.to_config, and its values at
# MAIN_STEPS (jax.jit(schedule) in float32; from_config(config) under x64), copied from that code's output.
FORMAT1 = {
    "noise": (
        {"lrsched_config": 1, "type": "noise", "schedule": {"type": "cosine", "init_value": 0.1, "steps": 1000,
         "end_value": 0.01, "exponent": None, "k_decay": None, "periodic": False}, "pct": 0.3, "seed": 7,
         "kind": "normal", "start": 0, "end": None},
        [0.08150319755077362, 0.08486912399530411, 0.11893531680107117, 0.09603628516197205, 0.05601150915026665,
         0.06864094734191895, 0.010419155471026897, 0.012177178636193275],
        [0.0815031960606575, 0.08486912179400749, 0.11893530937690308, 0.09603628540361588, 0.05601150618196042,
         0.06864093653857707, 0.010419155731797218, 0.012177178412675857]),
    "nested": (  # noise inside a warmup inside a join's list, and a uniform one, under a product
        {"lrsched_config": 1, "type": "mul", "left": {"type": "join", "schedules": [
            {"type": "warmup", "schedule": {"type": "noise", "schedule": {"type": "constant", "value": 0.1},
             "pct": 0.2, "seed": 1, "kind": "uniform", "start": 0, "end": None}, "steps": 10, "init_value": 0.0,
             "kind": "linear"},
            {"type": "noise", "schedule": {"type": "linear", "init_value": 0.1, "end_value": 0.01, "steps": 900},
             "pct": 0.1, "seed": 2, "kind": "normal", "start": 5, "end": None}], "boundaries": [100]},
         "right": 2.0},
        [0.0, 0.019985493272542953, 0.03997098654508591, 0.05995647981762886, 0.12260635197162628,
         0.11772634088993073, 0.020113693550229073, 0.018274659290909767],
        [0.0, 0.01998549270560034, 0.03997098541120068, 0.05995647811680102, 0.12260635168626904,
         0.11772634238004685, 0.02011369410902262, 0.018274660557508468]),
    "timm": (  # lrsched.compat.timm.cosine(0.1, 300, 1e-3, noise_range_t=20, noise_pct=0.2, noise_seed=11)
        {"lrsched_config": 1, "type": "noise", "schedule": {"type": "cycle", "schedule": {
            "type": "cosine", "init_value": 0.1, "steps": 300, "end_value": 0.001, "exponent": None,
            "k_decay": None, "periodic": False}, "period": 300, "period_mul": 1.0, "decay": 1.0, "limit": 1,
            "stretch": True, "end_value": 0.001}, "pct": 0.2, "seed": 11, "kind": "normal", "start": 20,
         "end": None},
        [0.10000000149011612, 0.09999728202819824, 0.0999891385436058, 0.0999755710363388, 0.00107978330925107,
         0.0009585735970176756, 0.000828856136649847, 0.0008053418714553118],
        [0.1, 0.09999728588359284, 0.09998914383200486, 0.09997557473810371, 0.0010797831639647484,
         0.0009585735611617565, 0.0008288561254739761, 0.0008053418695926666]),
    "fastai": (  # a noise node inside compat nodes (fastai.combine's list of schedules)
        {"lrsched_config": 1, "type": "fastai.per_step", "schedule": {"type": "fastai.combine", "scheds": [
            {"type": "noise", "schedule": {"type": "linear", "init_value": 0.01, "end_value": 0.1, "steps": 1},
             "pct": 0.2, "seed": 3, "kind": "normal", "start": 0, "end": None},
            {"type": "cosine", "init_value": 0.1, "steps": 1, "end_value": 0.001, "exponent": None,
             "k_decay": None, "periodic": False}], "pcts": [0.3, 0.7]}, "total_steps": 1000},
        [0.011117867194116116, 0.011451403610408306, 0.011784939095377922, 0.012118475511670113,
         0.08153612166643143, 0.0813627541065216, 0.0010004985379055142, 0.0010004985379055142],
        [0.011117866709828377, 0.011451402711123227, 0.01178493871241808, 0.012118474713712933,
         0.0815361219386425, 0.0813627451920073, 0.0010004985148957437, 0.0010004985148957437]),
}


def _noise_nodes(config):
    if isinstance(config, dict):
        if config.get("type") == "noise":
            yield config
        for v in config.values():
            yield from _noise_nodes(v)
    elif isinstance(config, list):
        for v in config:
            yield from _noise_nodes(v)


@pytest.mark.parametrize("name", list(FORMAT1))
def test_format_1_configs_load_to_their_old_draws(name):
    config, f32, f64 = FORMAT1[name]
    before = json.dumps(config)
    loaded = lrsched.from_config(json.loads(before))
    assert json.dumps(config) == before  # the caller's dict is not changed
    again = lrsched.to_config(loaded)
    assert again["lrsched_config"] == FORMAT
    nodes = list(_noise_nodes(again))
    assert nodes and all(n["generator"] == "threefry" for n in nodes)
    # float32: the old values (a hash draw differs from them by up to pct); x64: within float64 rounding
    np.testing.assert_allclose(np.asarray(jax.jit(loaded)(jnp.asarray(MAIN_STEPS, jnp.int32))), f32, rtol=1e-6)
    with jax.enable_x64(True):
        wide = np.asarray(jax.jit(lrsched.from_config(config))(jnp.asarray(MAIN_STEPS)))
    np.testing.assert_allclose(wide, f64, rtol=1e-12)
    # the current-format config it writes now keeps the draws, and loads without an upgrade
    np.testing.assert_array_equal(np.asarray(lrsched.evaluate(lrsched.from_config(again), MAIN_STEPS)),
                                  np.asarray(lrsched.evaluate(loaded, MAIN_STEPS)))


def test_configs_from_format_2_on_carry_the_generator():
    for generator in ("hash", "threefry"):
        s = lrsched.warmup(lrsched.noise(lrsched.cosine(0.1, 100), 0.2, seed=5, generator=generator), 10)
        config = lrsched.to_config(s)
        assert config["lrsched_config"] == FORMAT and config["schedule"]["generator"] == generator
        again = lrsched.from_config(json.loads(json.dumps(config)))
        np.testing.assert_array_equal(lrsched.evaluate(again, 300), lrsched.evaluate(s, 300))
    # a format-1 config that names a generator (written by hand) keeps it
    hand = {**FORMAT1["noise"][0], "generator": "hash"}
    assert lrsched.from_config(hand).generator == "hash"
    # without the lrsched_config key a config is read as the current format: noise's default generator
    bare = {k: v for k, v in FORMAT1["noise"][0].items() if k != "lrsched_config"}
    assert lrsched.from_config(bare).generator == "hash"


@pytest.mark.parametrize("version, match", [
    (4, r"config format 4 is not one this lrsched reads \(1 to 3\); it was written by a newer lrsched: "
        r"upgrade lrsched"),
    (99.0, r"newer lrsched: upgrade lrsched"),
    (0, r"config format 0 .*lrsched_config must be the format number"),
    ("1", r"config format '1' .*must be the format number"),
    (True, r"config format True .*must be the format number"),
    (None, r"config format None"),
])
def test_other_formats_are_refused(version, match):
    with pytest.raises(ScheduleError, match=match):
        lrsched.from_config({**FORMAT1["noise"][0], "lrsched_config": version})


# ------------------------------------------------------------------------ torch

# lrsched_torch.ScheduleLR(SGD(lr=0.1), lr=FORMAT1["timm"]'s schedule).state_dict() after 37 steps, as main
# 04d3999 saved it, and the lrs that run set at steps 37..44 after it.
TORCH_STATE = {
    "format": "lrsched_torch.ScheduleLR/1", "last_epoch": 37, "position": None, "_step_count": 38, "base_lrs": [0.1],
    "lr": [FORMAT1["timm"][0]], "momentum": [None], "plateau_of": [None], "plateau": [], "sync_metric": False,
    "chunk": None,
}
TORCH_LRS = [0.0912929579669548, 0.08414116727950277, 0.0788568282763779, 0.09656262231906342, 0.08848162395188408,
             0.08784261928103047, 0.1019231637276065, 0.07687306018887666]


def test_a_torch_state_dict_saved_before_format_2_resumes_with_its_draws():
    torch = pytest.importorskip("torch")
    lrsched_torch = pytest.importorskip("lrsched_torch")
    from lrsched_torch import _numpy

    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=0.1)
    # built today (hash draws), then resumed from the old state: the saved schedule wins
    sched = lrsched_torch.ScheduleLR(opt, lr=timm.cosine(0.1, 300, 1e-3, noise_range_t=20, noise_pct=0.2,
                                                         noise_seed=11))
    sched.load_state_dict(json.loads(json.dumps(TORCH_STATE)))
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(lrs, TORCH_LRS, rtol=1e-12)
    assert sched.schedules[0].generator == "threefry"
    assert sched.state_dict()["lr"][0] == FORMAT1["timm"][0]  # saved again as it was loaded
    # the bridge's numpy evaluators read format-1 configs of the schedules they know (noise goes to JAX)
    cosine1 = {**lrsched.to_config(lrsched.cosine(0.1, 100)), "lrsched_config": 1}
    assert _numpy.supported(cosine1) and not _numpy.supported(FORMAT1["timm"][0])


# ------------------------------------------------------------- flax checkpoints

# flax.serialization.to_bytes of lrsched.optax.inject(optax.sgd, learning_rate=lrsched.noise(lrsched.cosine(0.1,
# 100), 0.2, seed=3)).init({"w": ones(3)}) after 5 updates, saved by main 04d3999 (learning rate 0.10775036).
OLD_CHECKPOINT = (
    "haVjb3VudMcOAZOQpWludDMyxAQFAAAAq2h5cGVycGFyYW1zga1sZWFybmluZ19yYXRlhq1fX3N0cnVjdHVyZV9fzmhXm0Soc2NoZWR1bGWG"
    "rV9fc3RydWN0dXJlX1/OUg4V7qppbml0X3ZhbHVl2AGTkKdmbG9hdDMyxATNzMw9pXN0ZXBzxw4Bk5ClaW50MzLEBGQAAACpZW5kX3ZhbHVl"
    "2AGTkKdmbG9hdDMyxAQAAAAAqGV4cG9uZW50wKdrX2RlY2F5wKNwY3TYAZOQp2Zsb2F0MzLEBM3MTD6kc2VlZMcOAZOQpWludDMyxAQDAAAA"
    "pXN0YXJ0xw4Bk5ClaW50MzLEBAAAAACjZW5kwKdwbGF0ZWF1gKlzdHJ1Y3R1cmXHDgGTkKVpbnQzMsQEo42kMatpbm5lcl9zdGF0ZYKhMIChMYA="
)


def test_a_flax_checkpoint_saved_before_the_generator_resumes_with_threefry_and_refuses_hash():
    """A checkpoint holds numbers and the structure's fingerprint, not static fields: the generator comes from
    the target. `generator="threefry"` (what the checkpoint drew with) stays out of the fingerprint, so a target
    built with it restores the old checkpoint with its own draws; the default "hash" is another structure and
    is refused rather than resumed with other draws."""
    pytest.importorskip("flax")
    import base64

    import optax

    import lrsched.optax

    data = base64.b64decode(OLD_CHECKPOINT)
    params = {"w": jnp.ones(3)}

    def target(generator):
        noisy = lrsched.noise(lrsched.cosine(0.1, 100), 0.2, seed=3, generator=generator)
        return lrsched.optax.inject(optax.sgd, learning_rate=noisy)

    with pytest.raises(ValueError, match="different structure"):
        lrsched.optax.restore(target("hash").init(params), data)
    for schedules in ("checkpoint", "code"):
        state = lrsched.optax.restore(target("threefry").init(params), data, **(
            {} if schedules == "checkpoint" else {"schedules": "code"}))
        assert float(lrsched.optax.current(state)["learning_rate"]) == pytest.approx(0.10775036, rel=1e-7)
        assert int(state.count) == 5
