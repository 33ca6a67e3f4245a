"""How long the dashboard's live panels take to draw, and a Reset + first month on the server.

Usage: python benchmarks/bench_dashboard.py [--repeats 5] [--workers 2]

Prints, for the baseline at month 1, 30 and 120 (funding lever x1.05), the best-of-N time to draw
each live panel to PNG in this process, then the server side of "a slider change, Reset, one Step":
build the model, draw its panels, step, draw the new month's panels, drawn in this process and
with the panels handed to drawing worker processes (as ``licsim dashboard`` does). The browser's
own share (websocket, page update) is measured by tests/test_dashboard_browser.py.
"""

from __future__ import annotations

import argparse
import time

from sim.interfaces.dashboard import data as D
from sim.interfaces.dashboard import panels as P


def _model(funding: float, seed: int) -> D.DashboardModel:
    return D.DashboardModel(scenario=D.default_scenario(D.scenario_choices()), funding=funding, seed=seed)


def reset_and_first_month(funding: float, seed: int) -> float:
    t0 = time.perf_counter()
    m = _model(funding, seed)
    for months in (0, 1):
        if months:
            m.step()
        data = m.data()
        P.prefetch(data)
        for key in P.PANELS:
            P.panel_png(key, data)
    elapsed = time.perf_counter() - t0
    m.release()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=P.default_workers())
    args = ap.parse_args()
    P.to_png(P.panel_figure("money", {}))  # warm imports and font caches
    print(f"{'month':>5} {'deals':>6} " + " ".join(f"{k:>15}" for k in P.PANELS) + "   (ms per panel, best of "
          f"{args.repeats})")
    for months in (1, 30, 120):
        m = _model(1.05, D.DEFAULT_SEED)
        for _ in range(months):
            m.step()
        data = m.data()
        best = {}
        for key in P.PANELS:
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                P.to_png(P.panel_figure(key, data))
                times.append(time.perf_counter() - t0)
            best[key] = min(times) * 1000
        print(f"{months:>5} {len(data['deals']):>6} " + " ".join(f"{best[k]:>15.0f}" for k in P.PANELS))
        m.release()

    for label, workers in (("drawn in the server", 0), (f"{args.workers} drawing workers", args.workers)):
        if workers:
            P.start_workers(workers)
            reset_and_first_month(1.0, 99)  # let the workers start and warm up
            time.sleep(2.0)
        times = []
        for i in range(args.repeats):
            P._PNG_CACHE.clear()
            times.append(reset_and_first_month(1.1 + 0.05 * i, D.DEFAULT_SEED))
        print(f"Reset + first month, server side, {label}: median {sorted(times)[len(times) // 2]:.2f} s, "
              f"worst {max(times):.2f} s")
        P.stop_workers()


if __name__ == "__main__":
    main()
