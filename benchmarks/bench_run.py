"""Seconds per simulated baseline run, and how time grows with population.

Usage: python benchmarks/bench_run.py [--repeats 3] [--scales 1,2,4]

Prints the median wall time of a full baseline run (2018-2030, default population, one
replication) and, for each population scale, the time and its ratio to scale 1. Machine
speed drifts between sessions: compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sim.model.run import simulate
from sim.scenarios.loader import apply_overrides, load_scenario


def time_run(scenario, seed: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    res = simulate(scenario, seed)
    return time.perf_counter() - t0, len(res.deals)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scales", default="1,2,4")
    args = ap.parse_args()
    base = load_scenario("baseline")
    simulate(apply_overrides(base, {"end": "2018-06"}), 0)  # warm imports and caches
    pop = base.population
    print(f"baseline {base.start}..{base.end}, population: {pop.biotechs} biotechs, "
          f"{pop.top_mncs + pop.mid_size + pop.incubators + pop.regional} buyers")
    print(f"{'scale':>5} {'biotechs':>8} {'s/run (median)':>15} {'deals':>6} {'x scale 1':>9}")
    first = None
    for scale in [float(s) for s in args.scales.split(",")]:
        sc = apply_overrides(base, {f"population.{k}": max(1, int(round(getattr(pop, k) * scale)))
                                    for k in ("biotechs", "top_mncs", "mid_size", "incubators", "regional")
                                    if getattr(pop, k) > 0} | {"population.top_mncs": min(40, int(pop.top_mncs * scale))})
        times, deals = zip(*(time_run(sc, seed) for seed in range(args.repeats)))
        med = statistics.median(times)
        first = first or med
        print(f"{scale:>5g} {sc.population.biotechs:>8} {med:>15.3f} {int(statistics.mean(deals)):>6} "
              f"{med / first:>9.2f}")


if __name__ == "__main__":
    main()
