"""The main job: lrsched on a real (small) problem, and the pictures of every schedule.

- :mod:`lrsched.demo.digits`: scikit-learn's digits, a pure-JAX MLP and its
  scanned training loop (used by the demo, the examples, the tests and the benchmarks);
- :mod:`lrsched.demo.run`: ``python -m lrsched demo`` (the LR range test, then
  schedules trained side by side);
- :mod:`lrsched.demo.gallery`: the schedules drawn by ``python -m lrsched gallery``
  and printed by ``python -m lrsched table``.

Needs the demo extra (``pip install 'lrsched[demo]'``: scikit-learn, matplotlib);
``import lrsched`` imports none of it. Import the submodules themselves
(``from lrsched.demo import digits``).
"""
