"""Sphinx configuration of lrsched's documentation: the guides (Markdown) and the API reference
built from the docstrings.

Build it with ``.venv/bin/sphinx-build -W --keep-going -n -b html docs docs/_build/html`` (the test
suite runs the same strict build in a temporary folder: tests/test_docs.py). Strict means every
warning fails the build: a docstring that does not parse, a cross-reference (``:func:`...```) to
a name that does not exist, a guide linking to a missing page.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

project = "lrsched"
author = "lrsched contributors"
copyright = "lrsched contributors"  # noqa: A001 - Sphinx's name

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # Google-style Args / Returns / Examples sections
    "sphinx.ext.mathjax",  # the `.. math::` formulas of every schedule
    "myst_parser",  # the guides are Markdown
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "gallery/*.png"]

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True  # Attributes: sections as fields, not a second description of each member
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
myst_heading_anchors = 3

# every cross-reference must resolve; names of other libraries (no network for intersphinx) are plain text
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(jax|jnp|np|numpy|optax|torch|flax|orbax|keras|matplotlib|argparse|collections|typing|"
               r"types|dataclasses|enum|os|pathlib|ml_dtypes|lightning|transformers|accelerate|tqdm)(\..*)?"),
    (r"py:.*", r"(Any|Callable|Iterable|Iterator|Sequence|Mapping|NamedTuple|ArrayLike|Array|DTypeLike|"
               r"ndarray|dtype|Tensor|Optimizer|Module|PRNGKey|Number|Params|Self|T|ClassVar|Literal|Union)"),
    # private base classes (and classes of private modules) named in signatures are not documented
    (r"py:class", r"lrsched\S*\._[A-Za-z]\w*(\.\w+)*"),
    (r"py:.*", r"(int|float|str|bool|dict|list|tuple|object|type|bytes|complex|None|callable|optional)"),
]

html_theme = "alabaster"
html_title = "lrsched"
html_static_path: list[str] = []
html_theme_options = {"description": "Learning-rate schedules as JAX pytree data", "fixed_sidebar": True}
