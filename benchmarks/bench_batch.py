"""Batch throughput and memory: runs per second and peak memory of `licsim batch`.

Each configuration runs ``licsim batch`` as a fresh process on a small scenario (the
smoke market: 20 Chinese biotechs, 24 months; a Latin hypercube over two drivers with
one replication per point, so ``--runs`` is exact) and samples the memory of its whole
process tree (the batch and its workers) every 0.1 s.

    python benchmarks/bench_batch.py                       # 1000 runs: 1 and 2 workers, Dask LocalCluster
    python benchmarks/bench_batch.py --runs 200            # quicker
    python benchmarks/bench_batch.py --workers 1,2,4,8,16  # scaling curve (needs the cores)
    python benchmarks/bench_batch.py --no-dask --json out.json

Columns: wall time including start-up (interpreter, worker processes, Mesa import),
runs per second over that wall time, seconds to the first stored run, peak summed RSS
(counts pages shared between processes once per process: an upper bound) and peak
summed PSS (shared pages split between processes: the honest total), and the batch
process's own peak RSS (it must not grow with the number of runs: compare --runs 100
with --runs 1000).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]

EXPERIMENT = """\
name: bench
base: baseline
overrides:
  start: 2023-01
  end: 2024-12
  population.biotechs: {biotechs}
  population.top_mncs: 5
  population.mid_size: 6
  population.incubators: 2
  population.regional: 3
seed: 1
design: {{kind: lhs, samples: {runs}}}
parameters:
  drivers.funding.scale: {{low: 0.6, high: 1.4}}
  drivers.trust.scale: {{low: 0.8, high: 1.2}}
replications: 1
outcomes: [deals_2024, upfront_usd_2024, preclinical_share_2024, biotech_survival]
"""


class TreeMemory(threading.Thread):
    """Peak summed RSS and PSS of a process and all its descendants."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_rss = self.peak_pss = 0
        self.peak_procs = 0
        self.peak_parent_rss = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            rss = pss = 0
            for p in procs:
                try:
                    info = p.memory_full_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
                if p.pid == self.root.pid:
                    self.peak_parent_rss = max(self.peak_parent_rss, info.rss)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.peak_procs = max(self.peak_procs, len(procs))
            self.stop.wait(self.interval)


def run_one(exp: Path, out: Path, args: list[str], runs: int, timeout: float) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "sim.interfaces.cli", "batch", str(exp), "--out", str(out), "--no-progress", *args]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mem = TreeMemory(proc.pid)
    mem.start()
    first = math.nan
    while proc.poll() is None:
        if math.isnan(first) and (out / "runs").is_dir() and any((out / "runs").glob("*.parquet")):
            first = time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            proc.kill()
            break
        time.sleep(0.05)
    stdout, stderr = proc.communicate()
    wall = time.monotonic() - t0
    mem.stop.set()
    mem.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return {"wall_s": round(wall, 2), "runs_per_s": round(runs / wall, 2), "first_run_s": round(first, 2),
            "peak_rss_mb": round(mem.peak_rss / 2**20), "peak_pss_mb": round(mem.peak_pss / 2**20),
            "processes": mem.peak_procs, "parent_peak_rss_mb": round(mem.peak_parent_rss / 2**20),
            "summary": stdout.strip().splitlines()[-1] if stdout.strip() else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000, help="runs per configuration (default 1000)")
    ap.add_argument("--workers", default="1,2", help="local worker counts, e.g. 1,2,4,8,16 (1 = in-process)")
    ap.add_argument("--dask-workers", type=int, default=None,
                    help="Dask LocalCluster workers (default: the largest of --workers)")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster run")
    ap.add_argument("--biotechs", type=int, default=20, help="Chinese biotechs at the start (default 20)")
    ap.add_argument("--max-tasks-per-child", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=3600, help="seconds allowed per configuration")
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args()
    workers = [int(w) for w in a.workers.split(",") if w.strip()]
    from sim.experiments.executors import available_cores

    cores = available_cores()
    configs = [(f"local x{w}" if w > 1 else "in-process x1", w, ["--workers", str(w),
                                                                   "--max-tasks-per-child", str(a.max_tasks_per_child)])
               for w in workers]
    if not a.no_dask:
        dw = a.dask_workers or max(workers)
        configs.append((f"dask LocalCluster x{dw}", dw, ["--cluster", "local", "--workers", str(dw)]))
    tmp = Path(tempfile.mkdtemp(prefix="bench_batch."))
    exp = tmp / "bench.yaml"
    exp.write_text(EXPERIMENT.format(runs=a.runs, biotechs=a.biotechs))
    print(f"{a.runs} runs of a {a.biotechs}-biotech, 24-month market; {cores} cores; python {sys.version.split()[0]}")
    header = f"{'configuration':<24}{'wall s':>8}{'runs/s':>8}{'speed-up':>9}{'1st run s':>10}" \
             f"{'peak RSS MB':>12}{'peak PSS MB':>12}{'procs':>6}{'parent MB':>10}"
    print(header)
    results, base = [], None
    try:
        for label, w, extra in configs:
            if w > cores:
                print(f"{label:<24} skipped: only {cores} cores")
                continue
            r = run_one(exp, tmp / "out", extra, a.runs, a.timeout)
            base = base or r["runs_per_s"]
            r.update(configuration=label, workers=w, speedup=round(r["runs_per_s"] / base, 2))
            results.append(r)
            print(f"{label:<24}{r['wall_s']:>8.1f}{r['runs_per_s']:>8.1f}{r['speedup']:>9.2f}{r['first_run_s']:>10.1f}"
                  f"{r['peak_rss_mb']:>12}{r['peak_pss_mb']:>12}{r['processes']:>6}{r['parent_peak_rss_mb']:>10}",
                  flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        a.json.write_text(json.dumps({"runs": a.runs, "cores": cores, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
