"""Selection step of the Model 2.0 quick refit, as `licsim calibrate` does it (its confirm stage
crashed on a schema change mid-run): the 8 lowest-loss trials rerun on 20 selection replications
(root seed 20240602 = experiment seed + 1, disjoint from validate's 20180101)."""
import sys, json
import pandas as pd
from sim.analysis.calibration import selection_seed
from sim.analysis.validation import load_targets, map_replications, prepare_runs, evaluate
from sim.model.run import replication_seeds
from sim.scenarios.loader import load_scenario, apply_overrides

def main():
    hist = pd.read_csv(sys.argv[1])
    hist = hist[hist.state == "COMPLETE"].sort_values(["loss", "trial"]).head(8)
    params = [c for c in hist.columns if "." in c]
    base = load_scenario("baseline")
    targets = load_targets()
    seeds = replication_seeds(selection_seed(20240601, base.seed), 20)
    rows = []
    for _, t in hist.iterrows():
        over = {p: float(t[p]) for p in params}
        sc = apply_overrides(base, over)
        res = map_replications(sc, seeds, 2)
        card = evaluate(targets, prepare_runs(res, targets.universe))
        g = card.gated
        rows.append({"trial": int(t.trial), "fit_loss": t.loss, "passed": int(g.passed.sum()), "gated": len(g),
                     "failing": " ".join(card.failing), **over})
        print(rows[-1]["trial"], rows[-1]["passed"], "/", rows[-1]["gated"], rows[-1]["failing"], flush=True)
    out = pd.DataFrame(rows).sort_values(["passed", "fit_loss"], ascending=[False, True])
    out.to_csv(sys.argv[2], index=False)
    print(out[["trial", "fit_loss", "passed", "gated"]].to_string())


if __name__ == "__main__":
    main()
