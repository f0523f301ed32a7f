"""Exact re-creations of other libraries' schedules: ``lrsched.compat.<library>``.

Import the submodule you need (``from lrsched.compat import torch as tc``); none
of them imports the library it re-creates.
"""
