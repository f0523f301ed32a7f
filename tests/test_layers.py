"""The layout of DESIGN section 2: every import points down the layers, compat imports no private name,
and ``import lrsched`` stays light."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

# module -> layer; a module may import modules of lower layers, and of its own layer only as listed below
LAYERS = {
    "lrsched._numerics": 0,
    "lrsched._core": 1,
    "lrsched._tree": 2, "lrsched._primitives": 2, "lrsched._combinators": 2, "lrsched._plateau": 2,
    "lrsched._config": 3, "lrsched.optax": 3, "lrsched.checkpoint": 3, "lrsched.sweep": 3, "lrsched.plot": 3,
    "lrsched.compat": 3, "lrsched.compat._common": 3, "lrsched.compat.torch": 3, "lrsched.compat.optax": 3,
    "lrsched.compat.fastai": 3, "lrsched.compat.transformers": 3, "lrsched.compat.timm": 3,
    "lrsched.keras": 4,  # a front-end adapter, like the bridges: above configs
}
SAME_LAYER = {  # (importer, imported) within one layer: acyclic
    ("lrsched._combinators", "lrsched._tree"),
    ("lrsched.optax", "lrsched.checkpoint"),
    ("lrsched.sweep", "lrsched.plot"),
    ("lrsched._config", "lrsched.compat"),
}
COMPAT = [m for m in LAYERS if m.startswith("lrsched.compat.") and m != "lrsched.compat._common"]


def _path(module):
    p = ROOT / (module.replace(".", "/") + ".py")
    return p if p.exists() else ROOT / module.replace(".", "/") / "__init__.py"


def _imports(module):
    """Every lrsched module `module` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(_path(module).read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("lrsched")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lrsched"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in LAYERS}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.JoinedStr) and "lrsched.compat" in ast.unparse(arg):
                found.add("lrsched.compat")
    return found


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_imports_point_down(module):
    for imported in sorted(_imports(module)):
        if imported == "lrsched" or imported not in LAYERS:
            continue
        up = LAYERS[imported] > LAYERS[module]
        sideways = LAYERS[imported] == LAYERS[module] and (module, imported) not in SAME_LAYER \
            and not (module.startswith("lrsched.compat") and imported.startswith("lrsched.compat"))
        assert not up and not sideways, f"{module} imports {imported} (layer {LAYERS[imported]} vs {LAYERS[module]})"


@pytest.mark.parametrize("module", COMPAT)
def test_compat_imports_only_public_names_and_its_common_module(module):
    for imported in _imports(module):
        assert imported in ("lrsched", "lrsched.compat._common"), f"{module} imports {imported}"
    tree = ast.parse(_path(module).read_text())
    private = [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "lrsched"
               for a in n.names if a.name.startswith("_")]
    assert not private, f"{module} imports private names {private}"


def test_no_schedule_class_isinstance_outside_config():
    """One mechanism per concern: behaviour never depends on which class built a schedule."""
    names = {"Warmup", "Join", "Cycle", "Clip", "Shift", "Noise", "Plateau", "Add", "Mul", "Constant", "Cosine"}
    for module in LAYERS:
        if module == "lrsched._config":
            continue
        for node in ast.walk(ast.parse(_path(module).read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance" and len(node.args) == 2:
                used = {getattr(n, "id", getattr(n, "attr", "")) for n in ast.walk(node.args[1])}
                assert not used & names, f"{module}: {ast.unparse(node)}"


def test_import_lrsched_is_light():
    code = ("import sys, lrsched; heavy = [m for m in ('torch', 'matplotlib', 'flax', 'keras', 'orbax', 'tqdm', "
            "'optax', 'lrsched.optax', 'lrsched.compat') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout
