"""Cold start of the bridge: import time and memory, and the time to the first ready scheduler.

Every measurement runs in a fresh Python process (nothing cached in memory), the
two sides alternating, ``--repeats`` times; the table shows medians and the ratio
bridge / torch (goals: import <= 1.15x in time and memory, first ScheduleLR ready
in <= 100 ms).

- import: ``import lrsched_torch`` against ``import torch.optim.lr_scheduler``
  (wall time of the import statement; peak RSS of the process after it).
- first scheduler: in a process that has already imported torch, lrsched and
  lrsched_torch (what a training script does before building its scheduler), the
  time to construct the first scheduler and take one step, for several
  schedules: numpy-evaluated types build their table without JAX; the others
  (and a plateau) start JAX's CPU backend and compile once.
- first drop-in scheduler: ``lrsched_torch.lr_scheduler.OneCycleLR`` in a process
  that imported only torch and ``lrsched_torch.lr_scheduler`` (it imports
  lrsched, hence JAX, on first use) against torch's ``OneCycleLR``.

Run:  python benchmarks/bench_torch_cold.py [--repeats 7]
Writes benchmarks/results/torch_cold.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys

IMPORT = """
import resource, time, json
t0 = time.perf_counter()
import {module}
t = time.perf_counter() - t0
print(json.dumps({{"s": t, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

FIRST = """
import json, resource, time, warnings
warnings.simplefilter("ignore")
import torch
{imports}
opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(4))], lr=0.1, momentum=0.9)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
sched = {build}
opt.step(); sched.step()
t = time.perf_counter() - t0
print(json.dumps({{"s": t, "rss_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}}))
"""

BRIDGE_IMPORTS = ("import lrsched, lrsched_torch\nfrom lrsched.compat import torch as tc\n"
                  "from lrsched.compat import transformers as hf")
FIRST_CASES = {
    "ScheduleLR(warmup_cosine)": (BRIDGE_IMPORTS,
                                  "lrsched_torch.ScheduleLR(opt, lr=lrsched.warmup_cosine(0.1, 500, 50_000))"),
    "ScheduleLR(CosineAnnealingLR)": (BRIDGE_IMPORTS, "lrsched_torch.ScheduleLR(opt, lr=tc.CosineAnnealingLR(0.1, "
                                      "50_000))"),
    "ScheduleLR(transformers linear)": (BRIDGE_IMPORTS, "lrsched_torch.ScheduleLR(opt, lr=hf.get_scheduler("
                                        "'linear', 0.1, 500, 50_000))"),
    "ScheduleLR(transformers cosine)": (BRIDGE_IMPORTS, "lrsched_torch.ScheduleLR(opt, lr=hf.get_scheduler("
                                        "'cosine', 0.1, 500, 50_000))"),
    "ScheduleLR(OneCycleLR + momentum)": (BRIDGE_IMPORTS, "lrsched_torch.ScheduleLR(opt, lr=tc.OneCycleLR(0.1, "
                                         "total_steps=50_000), momentum=tc.OneCycleMomentum(0.1, total_steps=50_000))"),
    "lambda_lr(cosine)": (BRIDGE_IMPORTS, "lrsched_torch.lambda_lr(opt, lrsched.cosine(0.1, 50_000))"),
    "ScheduleLR(cycle(cosine)) [JAX]": (BRIDGE_IMPORTS, "lrsched_torch.ScheduleLR(opt, lr=lrsched.cycle("
                                        "lrsched.cosine(0.1, 1000), 1000, 2))"),
    "ScheduleLR(plateau(warmup)) [JAX]": (BRIDGE_IMPORTS, "lrsched_torch.ScheduleLR(opt, lr=lrsched.plateau("
                                          "lrsched.warmup(lrsched.constant(0.1), 500), start=500))"),
    "torch OneCycleLR (reference)": ("", "torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=50_000)"),
    "drop-in lr_scheduler.OneCycleLR (imports lrsched)": (
        "import lrsched_torch.lr_scheduler as dl", "dl.OneCycleLR(opt, 0.1, total_steps=50_000)"),
}


def run(code: str) -> dict:
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="bridge cold start: import and first scheduler")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "torch_cold.json"))
    args = parser.parse_args(argv)
    print(f"load average: {os.getloadavg()}")
    imports: dict[str, list[dict]] = {"torch.optim.lr_scheduler": [], "lrsched_torch": []}
    for _ in range(args.repeats):
        for module in imports:  # alternate
            imports[module].append(run(IMPORT.format(module=module)))
    med = {m: {k: statistics.median(r[k] for r in rs) for k in ("s", "rss_mb")} for m, rs in imports.items()}
    t, b = med["torch.optim.lr_scheduler"], med["lrsched_torch"]
    print(f"\n{'import':<28}{'time s':>9}{'peak RSS MB':>13}")
    for m, v in med.items():
        print(f"{m:<28}{v['s']:>9.3f}{v['rss_mb']:>13.1f}")
    print(f"{'ratio lrsched_torch / torch':<28}{b['s'] / t['s']:>9.2f}{b['rss_mb'] / t['rss_mb']:>13.2f}")

    first: dict[str, list[dict]] = {name: [] for name in FIRST_CASES}
    for _ in range(args.repeats):
        for name, (imp, build) in FIRST_CASES.items():
            first[name].append(run(FIRST.format(imports=imp, build=build)))
    print(f"\n{'first scheduler (construct + one step)':<52}{'ms':>9}{'extra RSS MB':>14}")
    firsts = {}
    for name, rs in first.items():
        firsts[name] = {"ms": 1000 * statistics.median(r["s"] for r in rs),
                        "rss_mb": statistics.median(r["rss_mb"] for r in rs)}
        print(f"{name:<52}{firsts[name]['ms']:>9.1f}{firsts[name]['rss_mb']:>14.1f}")
    result = {"benchmark": "torch_cold", "machine": platform.platform(), "loadavg": os.getloadavg(),
              "repeats": args.repeats, "import": med, "import_ratio_time": b["s"] / t["s"],
              "import_ratio_rss": b["rss_mb"] / t["rss_mb"], "first": firsts}
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
