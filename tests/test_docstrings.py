"""Docstrings: every public factory and combinator documents its arguments, formula and an example;
no docstring holds a control character (a ``\\b`` in a non-raw docstring is a backspace)."""

from __future__ import annotations

import importlib
import inspect
import typing

import pytest

import lrsched

MODULES = ["lrsched", "lrsched.optax", "lrsched.sweep", "lrsched.checkpoint", "lrsched.compat.torch",
           "lrsched.compat.optax", "lrsched.compat.fastai", "lrsched.compat.transformers", "lrsched.compat.timm"]


def _public(module_name):
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield f"{module_name}.{name}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if (inspect.isfunction(member) or isinstance(member, property)) and not attr.startswith("_"):
                        yield f"{module_name}.{name}.{attr}", member


EVERYTHING = sorted({name: obj for m in MODULES for name, obj in _public(m)}.items())


def _returns_schedules(obj):
    try:
        ret = typing.get_type_hints(obj).get("return")
    except Exception:  # noqa: BLE001 - an unresolvable annotation is not a schedule
        return False
    if inspect.isclass(ret) and issubclass(ret, lrsched.Schedule):
        return True
    return typing.get_origin(ret) is dict and lrsched.Schedule in typing.get_args(ret)


def _factories():
    """Functions returning schedules: lrsched's factories and combinators, and compat's constructors."""
    for name, obj in EVERYTHING:
        module, short = name.rsplit(".", 1)
        if (module == "lrsched" or module.startswith("lrsched.compat.")) and inspect.isfunction(obj) \
                and _returns_schedules(obj):
            yield name, obj


NOT_FACTORIES = {"lrsched.from_config", "lrsched.evaluate", "lrsched.to_config", "lrsched.plot"}
FACTORIES = sorted((n, f) for n, f in dict(_factories()).items() if n not in NOT_FACTORIES)


@pytest.mark.parametrize("name, obj", EVERYTHING, ids=[n for n, _ in EVERYTHING])
def test_no_control_characters(name, obj):
    doc = inspect.getdoc(obj.fget if isinstance(obj, property) else obj) or ""
    bad = sorted({hex(ord(c)) for c in doc if ord(c) < 32 and c != "\n"})
    assert not bad, f"{name}'s docstring holds control characters {bad} (use a raw docstring r'''...''')"


def test_the_factory_list_is_complete():
    names = {n.rsplit(".", 1)[1] for n, _ in FACTORIES}
    assert {"cosine", "join", "warmup", "cycle", "clip", "shift", "noise", "plateau", "add", "mul"} <= names
    assert {"StepLR", "exponential_decay", "get_scheduler", "one_cycle", "cosine"} <= names
    assert len(FACTORIES) > 70


@pytest.mark.parametrize("name, obj", FACTORIES, ids=[n for n, _ in FACTORIES])
def test_factories_document_args_formula_and_example(name, obj):
    doc = inspect.getdoc(obj) or ""
    params = [p for p in inspect.signature(obj).parameters if p not in ("self", "kwargs")]
    if params:
        assert "Args:" in doc, f"{name}: no Args section"
    assert ".. math::" in doc, f"{name}: no formula (.. math::)"
    assert ">>>" in doc, f"{name}: no runnable example"
    missing = [p for p in params if f"{p}:" not in doc.split("Args:")[-1]]
    assert not missing, f"{name}: Args does not describe {missing}"


def test_lrsched_cycle_docstring_has_no_backspace():
    assert "\b" not in lrsched.cycle.__doc__ and "\\big" in lrsched.cycle.__doc__
