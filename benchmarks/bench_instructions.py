"""Machine instructions of one baseline run, counted by valgrind (callgrind): a measure of the
work a change saves that does not drift with a shared or throttled machine, as wall time does.

Usage: python benchmarks/bench_instructions.py [--seed 1] [--checkout DIR]

It runs this interpreter twice under callgrind, once importing and warming up only and once
also simulating the baseline, and prints the difference. ``--checkout`` counts another
checkout's code and scenarios (a ``git worktree`` of an older commit) for an A/B on the same
machine. Needs
valgrind (Debian: ``apt-get install valgrind``); about two minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import sys
from sim.model.run import simulate
from sim.scenarios.loader import apply_overrides, load_scenario
base = load_scenario("baseline")
simulate(apply_overrides(base, {"end": "2018-02"}), 0)  # imports and first-call caches
import gc
gc.collect()
gc.freeze()  # what the imports made stays out of the run's collections, whichever checkout it came from
if sys.argv[1] == "run":
    simulate(base, int(sys.argv[2]))
"""


def instructions(mode: str, seed: int, checkout: str, folder: str) -> int:
    out = os.path.join(folder, f"callgrind.{mode}")
    # ``-c`` puts the working folder first on the path; a fixed hash seed keeps set and dict work alike.
    env = dict(os.environ, PYTHONPATH=checkout, PYTHONHASHSEED="0")
    proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c",
                           CHILD, mode, str(seed)], cwd=checkout, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench_instructions: the {mode} run failed in {checkout}:\n{proc.stderr[-3000:]}")
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if not found:
        raise RuntimeError(f"valgrind printed no instruction count:\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--checkout", default=str(Path(__file__).resolve().parents[1]),
                    help="the checkout whose code and scenarios to count (default: this one)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("bench_instructions: valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        raise SystemExit(2)
    checkout = os.path.abspath(args.checkout)
    if not os.path.isdir(os.path.join(checkout, "sim")):
        print(f"bench_instructions: --checkout {checkout}: no sim/ package there", file=sys.stderr)
        raise SystemExit(2)
    with tempfile.TemporaryDirectory() as folder:
        warm = instructions("warm", args.seed, checkout, folder)
        run = instructions("run", args.seed, checkout, folder)
    print(f"baseline run (seed {args.seed}): {(run - warm) / 1e9:.3f} G instructions "
          f"(valgrind callgrind; imports and warm-up subtracted)")


if __name__ == "__main__":
    main()
