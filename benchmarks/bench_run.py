"""Seconds per simulated baseline run, microseconds per agent-month next to Mesa's Boltzmann
wealth model's microseconds per agent-step (measured in the same process), and how time grows
with population.

Usage: python benchmarks/bench_run.py [--repeats 3] [--scales 1,2,4]

Machine speed drifts between sessions: compare ratios measured in the same run.
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


def agent_months(scenario, seed: int) -> tuple[float, int]:
    """Seconds of one run and its agent-months (firms alive each month, summed)."""
    from sim.model.model import LicensingMarket
    from sim.model.run import release

    t0 = time.perf_counter()
    model = LicensingMarket(scenario, seed=seed)
    months = 0
    while model.running:
        model.step()
        months += len(model.agents)
    secs = time.perf_counter() - t0
    release(model)
    return secs, months


def phase_ms(scenario, seed: int) -> dict[str, float]:
    """Milliseconds of one run spent in each phase of the month (burn-in included), in setting up,
    and in the output tables: where to look before optimising."""
    from sim.model.model import LicensingMarket
    from sim.model.run import release

    spent: dict[str, float] = {}

    def timed(name, fn):
        def run(model):
            t0 = time.perf_counter()
            fn(model)
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0
        return run

    class Timed(LicensingMarket):
        PHASES = tuple((name, timed(name, fn)) for name, fn in LicensingMarket.PHASES)
        _record = timed("monthly record (DataCollector)", LicensingMarket._record)

    t0 = time.perf_counter()
    model = Timed(scenario, seed=seed)
    setup = time.perf_counter() - t0 - sum(spent.values())
    while model.running:
        model.step()
    t0 = time.perf_counter()
    model.deals_frame(), model.monthly_frame()
    spent["output tables"] = time.perf_counter() - t0
    spent["setting up"] = setup
    release(model)
    return {k: v * 1e3 for k, v in spent.items()}


def boltzmann_us_per_agent_step(n: int = 500, steps: int = 200) -> float:
    """Mesa's Boltzmann wealth model (the tutorial model), microseconds per agent-step."""
    import mesa

    class Money(mesa.Agent):
        def __init__(self, model):
            super().__init__(model)
            self.wealth = 1

        def step(self):
            if self.wealth > 0:
                other = self.random.choice(self.model.agent_list)
                other.wealth += 1
                self.wealth -= 1

    class Boltzmann(mesa.Model):
        def __init__(self, n, seed=0):
            super().__init__(rng=seed)
            Money.create_agents(self, n)
            self.agent_list = list(self.agents)

        def step(self):
            self.agents.shuffle_do("step")

    model = Boltzmann(n)
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step()
    return (time.perf_counter() - t0) / (n * steps) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scales", default="1,2,4")
    args = ap.parse_args()
    base = load_scenario("baseline")
    simulate(apply_overrides(base, {"end": "2018-06"}), 0)  # warm imports and caches
    # Rounds alternate a baseline run and a Boltzmann run, so that a drift in the machine's speed
    # (shared, throttled or busy cores) moves both sides of a round's ratio alike.
    rounds = []
    for seed in range(args.repeats):
        secs, months = agent_months(base, seed)
        rounds.append((secs, months, boltzmann_us_per_agent_step()))
    secs, months, _ = min(rounds)
    ours = secs / months * 1e6
    boltz = min(r[2] for r in rounds)
    paired = statistics.median(r[0] / r[1] * 1e6 / r[2] for r in rounds)
    print(f"baseline run: {secs:.3f} s (best of {args.repeats}), {months} agent-months: {ours:.2f} us per "
          f"agent-month; Mesa Boltzmann: {boltz:.2f} us per agent-step (best of {args.repeats}); "
          f"ratio {ours / boltz:.2f}x (bests), {paired:.2f}x (median of {args.repeats} paired rounds)")
    runs = [phase_ms(base, seed) for seed in range(args.repeats)]
    best = {k: min(r[k] for r in runs) for k in runs[0]}
    print(f"where a baseline run's time goes (ms, best of {args.repeats}; burn-in months included):")
    for name, ms in sorted(best.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<40} {ms:7.1f}")
    print(f"  {'total':<40} {sum(best.values()):7.1f}")
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
