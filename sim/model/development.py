"""Development: programmes progress, read out, wait at gates, move up or fail.

Design notes: each month a running programme accrues one month of progress; when the drawn
duration of its stage is reached it reads out, succeeding with the stage's odds
(:meth:`AssetTable.success_prob`, BIO21). A success moves it to the next stage, unless its
owner cannot fund that stage or is licensing it out (:func:`sim.model.biotech.gated`): then
it waits at the gate having read out, and moves on once the gate clears. Programmes run by
a foreign licensee produce global-standard data. NewCos' development is paid by their
incubator at US cost; a NewCo whose incubator lacks the month's money waits.

Experience and track record: every readout of phase 2 or later adds to the ecosystem's
clinical experience (learning, :mod:`sim.model.sector`); readouts of China-originated
programmes run by foreign licensees make the track record that moves trust
(:mod:`sim.model.expectations`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.codes import BIOTECH, FAILED, INCUBATOR, PHASE2
from sim.model import biotech
from sim.model.assets import APPROVED
from sim.model.market import contracts

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket


def newco_funding(model: "LicensingMarket", ids: np.ndarray) -> np.ndarray:
    """Incubators pay their NewCos' month at US cost, out of the programmes ``ids`` that would run;
    returns which of them are left unfunded."""
    a, f, p = model.assets, model.firms, model.params
    dev = a.developer[ids]
    newco = (f.kind[dev] == INCUBATOR).nonzero()[0]
    unfunded = np.zeros(ids.size, dtype=bool)
    if newco.size == 0:
        return unfunded
    cost = p.incubator.us_cost_multiple * p.development.cost[a.stage[ids[newco]]]
    owners = dev[newco]
    # An incubator funds its NewCos in programme order while its money lasts.
    order = np.lexsort((ids[newco], owners))
    owners_o, cost_o = owners[order], cost[order]
    new_owner = np.concatenate([[True], owners_o[1:] != owners_o[:-1]])
    cum = np.cumsum(cost_o)
    prev = np.concatenate([[0.0], cum[:-1]])
    before = np.maximum.accumulate(np.where(new_owner, prev, 0.0))  # what the incubators before it took
    ok = (cum - before) <= f.cash[owners_o]
    paid = np.bincount(owners_o[ok], weights=cost_o[ok], minlength=f.n)
    payers = (paid > 0).nonzero()[0]
    f.sink(payers, paid[payers], "rd_spend")
    unfunded[newco[order][~ok]] = True
    return unfunded


def develop(model: "LicensingMarket") -> None:
    a, f = model.assets, model.firms
    live = a.live()
    act = live[a.stage[live] < APPROVED]
    # Programmes waiting at a gate move on once it clears.
    read = a.read_out[act]
    waiting = read.nonzero()[0]
    cleared = np.zeros(act.size, dtype=bool)
    if waiting.size:
        cleared[waiting[~biotech.gated(model, act[waiting])]] = True
    clear = act[cleared]
    run = ~read & ~biotech.paused(model, act)
    run[run] = ~newco_funding(model, act[run])
    a.paused[: a.n] = False
    a.paused[act] = ~run & ~cleared
    running = act[run]
    a.progress[running] += 1.0
    due = running[a.progress[running] >= a.duration[running]]
    ok = model.rng.random(due.size) < a.success_prob(due)
    prior = a.prior_odds(due)
    up, down = due[ok], due[~ok]
    # A success whose next stage its owner cannot fund (or which it is licensing out) waits at the gate.
    wait = biotech.gated(model, up) if up.size else np.zeros(0, bool)
    a.read_out[up[wait]] = True
    a.paused[up[wait]] = True
    move = np.concatenate([up[~wait], clear])
    record_readouts(model, up, down, prior[ok], prior[~ok])
    a.status[down] = FAILED
    a.in_talks[down] = False
    a.stage[move] += 1
    a.global_data[move] |= f.kind[a.developer[move]] != BIOTECH
    a.approved_month[move[a.stage[move] == APPROVED]] = model.month
    a.start_stage(model.rng, move, model.china_speed)
    contracts.on_advance(model, move)
    contracts.on_failure(model, down)


def record_readouts(model: "LicensingMarket", up: np.ndarray, down: np.ndarray, p_up: np.ndarray,
                    p_down: np.ndarray) -> None:
    """Clinical experience (phase 2 on) and the global track record of licensed China programmes:
    each readout abroad counts by how far it beat (or fell short of) the odds buyers expected of it
    (``p_up``, ``p_down``: :meth:`AssetTable.prior_odds`)."""
    a, f = model.assets, model.firms
    late_up, late_down = a.stage[up] >= PHASE2, a.stage[down] >= PHASE2
    s = model.params.sector
    model.clinical_experience = (model.clinical_experience * (1.0 - 1.0 / s.experience_memory_months)
                                 + float(late_up.sum() + late_down.sum()))

    def abroad(ids: np.ndarray, late: np.ndarray) -> np.ndarray:
        return late & (f.kind[a.originator[ids]] == BIOTECH) & (f.kind[a.developer[ids]] != BIOTECH)

    model.beliefs.record_readouts(float((1.0 - p_up[abroad(up, late_up)]).sum()),
                                  float(p_down[abroad(down, late_down)].sum()))
