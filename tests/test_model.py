"""The model: determinism, invariants after every step, and the behaviour of a baseline run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.agents import Biotech
from sim.model.assets import Status
from sim.model.invariants import check_invariants
from sim.model.model import LicensingMarket
from sim.model.run import replication_seeds, simulate
from sim.scenarios.loader import apply_overrides, load_scenario


def test_same_seed_same_outputs_other_seed_differs(tiny_scenario):
    a = simulate(tiny_scenario, seed=7)
    b = simulate(tiny_scenario, seed=7)
    c = simulate(tiny_scenario, seed=8)
    pd.testing.assert_frame_equal(a.deals, b.deals)
    pd.testing.assert_frame_equal(a.monthly, b.monthly)
    assert len(a.deals) > 0
    differs = len(a.deals) != len(c.deals) or not a.deals["upfront_usd"].equals(c.deals["upfront_usd"])
    assert differs


def test_replication_seeds_are_stable_prefixes():
    assert replication_seeds(5, 3) == replication_seeds(5, 3)
    assert len(set(replication_seeds(5, 10))) == 10
    assert replication_seeds(5, 2) != replication_seeds(6, 2)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    biotechs=st.integers(5, 60),
    mids=st.integers(0, 10),
    incubators=st.integers(0, 4),
    regional=st.integers(0, 6),
    funding=st.floats(0.1, 3.0),
    trust=st.floats(0.0, 2.0),
    trust_shock=st.floats(-0.6, 0.0),
)
def test_invariants_hold_after_every_step(seed, biotechs, mids, incubators, regional, funding, trust, trust_shock):
    sc = load_scenario("baseline")
    sc = apply_overrides(sc, {
        "start": "2021-01", "end": "2023-06", "population.biotechs": biotechs, "population.top_mncs": 4,
        "population.mid_size": mids, "population.incubators": incubators, "population.regional": regional,
        "drivers.funding.scale": funding, "drivers.trust.scale": trust,
        "drivers.trust.shocks": [{"at": "2022-01", "change": trust_shock, "ramp_months": 2}],
    })
    model = LicensingMarket(sc, seed=seed)
    stage = check_invariants(model)
    while model.running:
        model.step()
        stage = check_invariants(model, stage)


def test_invariant_checker_catches_a_double_licence(tiny_scenario):
    model = LicensingMarket(tiny_scenario, seed=3)
    while model.running and model.ledger.n == 0:
        model.step()
    assert model.ledger.n > 0
    # Corrupt the books: hand the first licensed market back to the licensor without a deal ending.
    led = model.ledger
    deal = int(led.live()[0]) if led.live().size else 0
    model.book.rights[led.asset[deal], led.region0[deal]] = led.licensor[deal]
    if model.book.status[led.asset[deal]] == 0:
        with pytest.raises(AssertionError):
            check_invariants(model)
    # And money appearing from nowhere.
    model.accounts.cash[0] += 1e6
    with pytest.raises(AssertionError, match="money"):
        check_invariants(model)


@pytest.fixture(scope="module")
def baseline_run():
    return simulate(load_scenario("baseline"), seed=20180101)


def test_baseline_every_licensee_kind_signs_and_newcos_and_terminations(baseline_run):
    deals = baseline_run.deals
    assert set(deals["licensee_kind"]) >= {"mnc", "mid_size", "incubator", "regional"}
    assert (deals["deal_type"] == "newco").sum() > 0
    assert deals["terminated"].notna().sum() > 0
    assert (deals["licensor_kind"] == "incubator").sum() > 0  # NewCo exits: second deals
    assert set(deals["territory"]) <= {"global", "ex_china", "us_eu_jp", "regional", "china"}
    # Headline value is upfront plus milestones; upfronts are a small slice of it.
    assert np.allclose(deals["total_value_usd"], deals["upfront_usd"] + deals["milestones_usd"])
    # Every deal pays: upfront cash, or (a buyer with no trust at all in what it relies on,
    # market.upfront_distrust) milestones alone.
    assert (deals["upfront_usd"] >= 0).all() and (deals["total_value_usd"] > 0).all()
    assert (deals["upfront_usd"] > 0).mean() > 0.99
    assert deals["upfront_usd"].sum() < 0.5 * deals["total_value_usd"].sum()


def test_baseline_monthly_series_cover_the_horizon(baseline_run):
    m = baseline_run.monthly
    assert len(m) == 13 * 12
    assert m["month"].iloc[0] == pd.Timestamp("2018-01-01") and m["month"].iloc[-1] == pd.Timestamp("2030-12-01")
    assert (m["primary_financing_usd"] >= 0).all() and m["primary_financing_usd"].sum() > 0
    # The drivers are the scenario's: funding peaks in 2021, trust rises into 2024.
    fy = m.groupby(m["month"].dt.year)["funding_index"].mean()
    assert fy.idxmax() == 2021
    ty = m.groupby(m["month"].dt.year)["trust_index"].mean()
    assert ty[2024] > ty[2020]


def test_capital_winter_makes_the_same_biotechs_license_more(tiny_scenario):
    """Less money, same firms and pipelines: shorter runways and lower asks mean more deals."""
    fixed = {"biotech.entry_per_year": 0.0, "biotech.discovery_per_year": 0.0}
    rich = apply_overrides(tiny_scenario, {**fixed, "drivers.funding.scale": 2.5})
    poor = apply_overrides(tiny_scenario, {**fixed, "drivers.funding.scale": 0.3})
    seeds = replication_seeds(11, 4)
    rich_deals = pd.concat([simulate(rich, s).deals for s in seeds])
    poor_deals = pd.concat([simulate(poor, s).deals for s in seeds])
    assert len(poor_deals) > len(rich_deals)


def _programme_at_stage_end(model, stage: int) -> tuple[int, int]:
    """An active, self-run, unlicensed asset of a living biotech, one month from the end of ``stage``."""
    book, ent = model.book, model.ent
    n = book.n
    orig = book.originator[:n]
    ok = ((book.status[:n] == 0) & (book.stage[:n] == stage) & (book.developer[:n] == orig)
          & ent.alive[orig] & (ent.kind[orig] == 0) & ~book.in_play[:n])
    asset = int(np.flatnonzero(ok)[0])
    book.progress[asset] = book.duration[asset] - 1.0
    book.core[asset] = True  # core: never paused for a short runway, so only the gate can stop it
    return asset, int(orig[asset])


@pytest.mark.parametrize("cash, in_talks, waits", [(1e12, False, False), (0.0, False, True), (1e12, True, True)])
def test_stage_gate_binds_on_cash_and_on_talks(tiny_scenario, cash, in_talks, waits):
    """A programme whose stage ends moves on only if its owner can fund the next phase and is
    not negotiating it away; otherwise it waits at the gate (paused), at the same stage."""
    model = LicensingMarket(apply_overrides(tiny_scenario, {"assets.success.preclinical": 1.0}), seed=5)
    asset, owner = _programme_at_stage_end(model, stage=0)
    model.accounts.cash[owner] = cash
    model.book.in_play[asset] = in_talks
    model.develop()
    assert bool(model.book.paused[asset]) == waits
    assert int(model.book.stage[asset]) == (0 if waits else 1)
    assert not model.book.read_out[asset]  # by default a programme waits before its readout


@pytest.mark.parametrize("success, fails", [(1.0, False), (0.0, True)])
def test_a_stage_reads_out_before_the_gate(tiny_scenario, success, fails):
    """With assets.readout_at_gate, a programme held at the gate (no money for the next phase) has finished its stage and read
    out: a failure ends it there; a success waits, valued with that stage's odds already won, and
    moves on once funded without being drawn again."""
    model = LicensingMarket(apply_overrides(tiny_scenario, {"assets.success.preclinical": success,
                                                            "assets.readout_at_gate": True}), seed=5)
    book = model.book
    asset, owner = _programme_at_stage_end(model, stage=0)
    book.quality[asset] = 10.0  # at success 1 its odds are the 0.97 cap
    ids = np.array([asset])
    pos_before = float(book.pos_to_approval(ids)[0])
    model.accounts.cash[owner] = 0.0
    model.develop()
    assert int(book.stage[asset]) == 0
    if fails:
        assert book.status[asset] == Status.failed and not book.read_out[asset]
        return
    assert book.status[asset] == Status.active and book.read_out[asset] and book.paused[asset]
    # Preclinical odds are won: the value's probability of approval is that of a phase 1 programme.
    p0 = float(book.success_prob(ids, np.array([0]))[0])
    assert float(book.pos_to_approval(ids)[0]) == pytest.approx(pos_before / p0)
    model.develop()  # still no money: it waits, read out, at the same stage
    assert int(book.stage[asset]) == 0 and book.read_out[asset]
    # Funded: it moves on with no second draw, even with success odds set to zero now.
    book.success[0] = 0.0
    model.accounts.cash[owner] = 1e12
    model.develop()
    assert int(book.stage[asset]) == 1 and book.status[asset] == Status.active
    assert not book.read_out[asset] and book.progress[asset] == 0.0


def test_own_value_of_ex_china_rights_falls_with_stage_past_phase1(tiny_scenario):
    """A biotech's own value of ex-China rights: equal for preclinical and phase 1 programmes at
    equal funding elasticity, then `own_value_stage_decay` lower for each later stage."""
    flat = {f"biotech.funding_value_elasticity.{s}": 1.0 for s in
            ("preclinical", "phase1", "phase2", "phase3", "filed", "approved")}
    sc = apply_overrides(tiny_scenario, {**flat, "biotech.own_value_stage_decay": 0.7})
    model = LicensingMarket(sc, seed=1)
    own = Biotech.own_value_share(model, np.arange(6))
    assert own[0] == pytest.approx(own[1])
    assert own[2:] == pytest.approx(own[1] * 0.7 ** np.arange(1, 5))


def test_lower_own_value_of_late_rights_brings_global_buyers_later_assets(tiny_scenario):
    """When Chinese biotechs can do less with late ex-China rights themselves, global buyers
    (MNCs, mid-size pharma) license more assets at phase 2 or later."""
    seeds = replication_seeds(3, 4)

    def late_share(decay: float) -> float:
        sc = apply_overrides(tiny_scenario, {"biotech.own_value_stage_decay": decay})
        d = pd.concat([simulate(sc, s).deals for s in seeds])
        d = d[d["licensee_kind"].isin(["mnc", "mid_size"]) & (d["licensor_kind"] == "biotech")]
        return float(d["stage"].isin(["phase2", "phase3", "filed", "approved"]).mean())

    assert late_share(0.5) > late_share(1.0) + 0.05


def _talks_on_preclinical_asset(tiny_scenario, funding_scale: float, gap: float = 1.3, **overrides):
    """A model (no diligence failures, no quality noise) and open talks between a top MNC and a
    biotech on a non-core preclinical asset's ex-China rights, begun with a price gap (the ask is
    ``gap`` times what the buyer would sign at)."""
    from sim.model.assets import EX_CN
    from sim.model.market import EX_CHINA, Diligence, seller_ask, talks_basis

    sc = apply_overrides(tiny_scenario, {"market.diligence_fail": 0.0, "market.diligence_distrust_fail": 0.0,
                                         "market.quality_noise": 0.0, "drivers.funding.scale": funding_scale,
                                         **overrides})
    model = LicensingMarket(sc, seed=2)
    book, ent = model.book, model.ent
    n = book.n
    orig = book.originator[:n]
    ok = ((book.status[:n] == 0) & (book.stage[:n] == 0) & (book.rights[:n] == orig[:, None]).all(axis=1)
          & ent.alive[orig] & (ent.kind[orig] == 0) & ~book.in_play[:n] & ~book.core[:n])
    asset = int(np.flatnonzero(ok)[0])
    seller = int(orig[asset])
    ask = float(seller_ask(model, np.array([asset]), np.array([seller]), EX_CN[None, :])[0])
    value = ask / (gap * (1.0 - sc.mnc.hurdle))  # gap 1.3: the buyer would sign were the ask 30% lower
    basis = talks_basis(model, asset, EX_CN, 0)
    talks = Diligence(asset=asset, seller=seller, buyer=0, package=EX_CHINA, mask=EX_CN.copy(), value=value,
                      basis=basis, rival=-np.inf, start=model.month, work=1.0, distressed=False, stage=0)
    return model, talks


def test_terms_settle_at_signing_in_the_climate_then(tiny_scenario):
    """Talks begun with a price gap: while money stays easy the seller holds out and the talks
    lapse; after a capital winter the same seller's ask has come down, the deal signs, priced
    at the ask then plus the seller's share of the surplus."""
    from sim.model.market import close_diligence, distrust, seller_ask

    model, talks = _talks_on_preclinical_asset(tiny_scenario, funding_scale=1.0)
    model.book.in_play[talks.asset] = True
    signed_before = model.ledger.n  # contracts signed in the burn-in
    # The climate at signing: the ask is re-read now. Easy money keeps it where it was.
    assert not close_diligence(model, talks)
    assert model.ledger.n == signed_before and not model.book.in_play[talks.asset]
    assert (model.book.rights[talks.asset] == talks.seller).all()
    # The same talks closing after funding has fallen to a fifth: the ask is lower, the deal signs.
    model.now = {**model.now, "funding": model.now["funding"] * 0.2}
    model.funding_outlook = model.funding_outlook * 0.2  # the climate the seller prices on
    ask_now = float(seller_ask(model, np.array([talks.asset]), np.array([talks.seller]), talks.mask[None, :])[0])
    assert (1.0 - model.sc.mnc.hurdle) * talks.value >= ask_now
    assert close_diligence(model, talks)
    assert model.ledger.n == signed_before + 1
    deal = model.ledger.records[-1]
    price = ask_now + model.sc.market.seller_power * (talks.value - ask_now)
    assert deal["deal_type"] == "license"
    trusted = 1.0 - float(distrust(model, np.array([talks.asset]), np.array([0]))[0])
    terms = trusted ** model.sc.market.upfront_distrust
    assert deal["upfront_usd"] == pytest.approx(model.upfront_share_by_stage[0] * terms * price)
    assert (model.book.rights[talks.asset][talks.mask] == model.buyers[0].entity).all()


def test_buyer_revalues_an_asset_that_advanced_during_the_talks(tiny_scenario):
    """An asset not held at a stage gate can reach its next stage while diligence runs: the buyer
    signs at the value of the asset as it is then (its new stage's odds, time to launch and the
    buyer's appetite for that stage), not as it was when the talks began."""
    from sim.model.market import buyer_climate, close_diligence, distrust, seller_ask, talks_basis

    model, talks = _talks_on_preclinical_asset(tiny_scenario, funding_scale=0.3)
    a, b = np.array([talks.asset]), np.array([0])
    share = float(model.book.territory_share(talks.mask[None, :])[0])
    assert talks.basis == pytest.approx(model.book.world_value(a)[0] * share * buyer_climate(model, a, b)[0])
    model.book.stage[talks.asset] = 1  # phase 1 reached during the talks
    now = talks_basis(model, talks.asset, talks.mask, 0)
    assert now == pytest.approx(model.book.world_value(a)[0] * share * buyer_climate(model, a, b)[0])
    ratio = now / talks.basis
    assert abs(ratio - 1.0) > 0.05  # the new stage is worth something else to this buyer
    ask = float(seller_ask(model, a, np.array([talks.seller]), talks.mask[None, :])[0])
    talks.value = 2.0 * ask / (1.0 - model.sc.mnc.hurdle) / ratio  # the buyer's value now: twice the ask, over the hurdle
    model.book.in_play[talks.asset] = True
    n = model.ledger.n
    assert close_diligence(model, talks) and model.ledger.n == n + 1
    deal = model.ledger.records[-1]
    price = ask + model.sc.market.seller_power * (talks.value * ratio - ask)
    terms = (1.0 - float(distrust(model, a, b)[0])) ** model.sc.market.upfront_distrust
    assert deal["upfront_usd"] == pytest.approx(model.upfront_share_by_stage[1] * terms * price)


def _close_first_in_class_talks(tiny_scenario, trust_start: float, trust_end: float, global_data: bool = False):
    """Talks on a first-in-class asset (the buyer relies on the originator's science), begun at
    one trust and closed at another, in the same month; the ask is half the buyer's value."""
    from sim.model.market import close_diligence, seller_ask, talks_basis

    model, talks = _talks_on_preclinical_asset(tiny_scenario, funding_scale=0.3,
                                               **{"mnc.trust_sensitivity": 0.9, "market.upfront_distrust": 1.0})
    asset = np.array([talks.asset])
    model.book.novelty[talks.asset] = 0
    model.book.global_data[talks.asset] = global_data
    ask = float(seller_ask(model, asset, np.array([talks.seller]), talks.mask[None, :])[0])
    talks.value = 2.0 * ask / (1.0 - model.sc.mnc.hurdle)
    model.buyer_trust[model.t, 0] = trust_start
    talks.basis = talks_basis(model, talks.asset, talks.mask, 0)
    model.book.in_play[talks.asset] = True
    model.buyer_trust[model.t, 0] = trust_end
    ratio = talks_basis(model, talks.asset, talks.mask, 0) / talks.basis
    n = model.ledger.n
    signed = close_diligence(model, talks)
    return model, talks, ask, ratio, signed, n


def test_buyer_revalues_at_signing_when_its_trust_moved(tiny_scenario):
    """Terms settle at signing on the buyer's side too: a buyer whose trust in China data fell
    during the talks pays the value it sees then, and walks away when that no longer beats the ask."""
    power = tiny_scenario.market.seller_power
    model, talks, ask, ratio, signed, _ = _close_first_in_class_talks(tiny_scenario, 0.4, 0.4)
    assert signed and ratio == pytest.approx(1.0)
    same = model.ledger.records[-1]
    price_same = ask + power * (talks.value - ask)
    assert same["upfront_usd"] == pytest.approx(model.upfront_share_by_stage[0] * 0.4 * price_same)
    # Trust fell from 0.4 to 0.25: the value is 1 - 0.9 x 0.75 over 1 - 0.9 x 0.6 of what it was.
    model, talks, ask, ratio, signed, _ = _close_first_in_class_talks(tiny_scenario, 0.4, 0.25)
    assert ratio == pytest.approx((1 - 0.9 * 0.75) / (1 - 0.9 * 0.6))
    assert signed
    lower = model.ledger.records[-1]
    price_lower = ask + power * (talks.value * ratio - ask)
    assert price_lower < price_same
    assert lower["upfront_usd"] == pytest.approx(model.upfront_share_by_stage[0] * 0.25 * price_lower)
    # No trust left: the deal no longer beats sourcing elsewhere and the buyer walks away.
    model, talks, ask, ratio, signed, n = _close_first_in_class_talks(tiny_scenario, 0.4, 0.0)
    assert (1.0 - model.sc.mnc.hurdle) * talks.value * ratio < ask
    assert not signed and model.ledger.n == n
    assert (model.book.rights[talks.asset] == talks.seller).all()


def test_distrust_moves_upfront_cash_into_milestones(tiny_scenario):
    """`market.upfront_distrust`: what the buyer takes on trust it pays for in milestones. At
    trust t a first-in-class asset's upfront share is t times the stage's (upfront_distrust 1);
    with a global data package the buyer relies on China-only data a fifth as much. The price
    is the same; the headline grows by what moved into milestones."""
    model, talks, ask, _, signed, _ = _close_first_in_class_talks(tiny_scenario, 0.3, 0.3)
    china = model.ledger.records[-1]
    model_g, talks_g, ask_g, _, signed_g, _ = _close_first_in_class_talks(tiny_scenario, 0.3, 0.3, global_data=True)
    global_ = model_g.ledger.records[-1]
    assert signed and signed_g
    share = model.upfront_share_by_stage[0]
    price = ask + model.sc.market.seller_power * (talks.value - ask)
    price_g = ask_g + model.sc.market.seller_power * (talks_g.value - ask_g)
    assert china["upfront_usd"] == pytest.approx(share * 0.3 * price)
    assert global_["upfront_usd"] == pytest.approx(share * (1.0 - 0.7 * 0.2) * price_g)
    assert price == pytest.approx(price_g)
    assert china["total_value_usd"] > global_["total_value_usd"]
    assert china["upfront_usd"] / china["total_value_usd"] < global_["upfront_usd"] / global_["total_value_usd"]


def test_sellers_price_on_the_funding_outlook(tiny_scenario):
    """`biotech.funding_outlook_months`: an owner's own value follows the mean funding index over
    this month and the next ones, so asks move before a funding shock arrives, not only after."""
    from sim.model.agents import Biotech

    shock = {"drivers.funding.shocks": [{"at": "2022-07", "change": -0.5, "ramp_months": 1}]}
    t_before = 18 - 3  # three months before the shock (2022-07, from a 2021-01 start)
    for months in (0, 6):
        values = []
        for extra in ({}, shock):
            model = LicensingMarket(apply_overrides(tiny_scenario, {**extra, "biotech.funding_outlook_months": months}),
                                    seed=3)
            f = model.paths.funding
            assert model.funding_outlook[0] == pytest.approx(f[: months + 1].mean())
            assert model.funding_outlook[-1] == pytest.approx(f[-1])  # held flat past the end
            # a fraction of a month weighs the last month by that fraction
            assert model.paths.outlook("funding", 1.5)[0] == pytest.approx((f[0] + f[1] + 0.5 * f[2]) / 2.5)
            model.month = t_before
            values.append(float(Biotech.own_value_share(model, np.array([0]))[0]))
        calm, shocked = values
        if months == 0:
            assert shocked == calm  # this month's climate: the shock has not come yet
        else:
            assert shocked < 0.95 * calm  # the coming months' climate: asks fall ahead of the shock


def test_biotechs_differ_in_their_own_valuation(tiny_scenario):
    """`biotech.valuation_spread` is the log-sd of biotechs' own valuations; an ask scales with it."""
    from sim.model.assets import EX_CN
    from sim.model.market import seller_ask

    same = LicensingMarket(apply_overrides(tiny_scenario, {"biotech.valuation_spread": 0.0}), seed=4)
    assert (same.ent.optimism[same.ent.kind == 0] == 1.0).all()
    spread = LicensingMarket(apply_overrides(tiny_scenario, {"biotech.valuation_spread": 0.8,
                                                             "population.biotechs": 400}), seed=4)
    logs = np.log(spread.ent.optimism[spread.ent.kind == 0])
    assert np.std(logs) == pytest.approx(0.8, rel=0.15)
    asset = 0
    seller = np.array([int(spread.book.originator[asset])])
    before = seller_ask(spread, np.array([asset]), seller, EX_CN[None, :])[0]
    spread.ent.optimism[seller] *= 2.0
    assert seller_ask(spread, np.array([asset]), seller, EX_CN[None, :])[0] == pytest.approx(2 * before)


def test_core_programmes_are_the_promising_ones_when_tilted(tiny_scenario):
    """`assets.core_value_tilt`: 0 makes core programmes a random core_share; above 0 the most
    promising (novelty, quality) programmes are core, still core_share of the starting pipeline."""
    def pipeline(tilt: float):
        sc = apply_overrides(tiny_scenario, {"assets.core_value_tilt": tilt, "population.biotechs": 400,
                                             "market.warmup_months": 0})
        book = LicensingMarket(sc, seed=5).book
        n = book.n
        potential = np.log(book.novelty_value[book.novelty[:n]]) + sc.assets.quality_sd * book.quality[:n]
        return book.core[:n], potential

    core, potential = pipeline(0.0)
    assert core.mean() == pytest.approx(0.4, abs=0.04)
    assert abs(potential[core].mean() - potential[~core].mean()) < 0.1
    core, potential = pipeline(4.0)
    assert core.mean() == pytest.approx(0.4, abs=0.01)
    assert potential[core].mean() > potential[~core].mean() + 0.5
    assert potential[core].min() < potential[~core].max()  # noisy: promise, not a hard rule


def test_externalisation_lifts_phase1_appetite_by_its_share_of_the_preclinical_lift(tiny_scenario):
    from sim.model.agents import Kind
    from sim.scenarios.schema import Stage

    def lifts(share: float):
        sc = apply_overrides(tiny_scenario, {"mnc.externalisation_phase1": share, "mnc.externalisation_gain": 4.0})
        model = LicensingMarket(sc, seed=1)
        mnc = next(b for b in model.buyers if b.kind == Kind.mnc)
        path = mnc.appetite_path()
        return np.log(path[-1] / path[0])  # log-lift over the run, by stage

    none, half, full = lifts(0.0), lifts(0.5), lifts(1.0)
    assert none[Stage.preclinical] > 0.1
    assert none[Stage.phase1] == pytest.approx(0.0)
    assert half[Stage.phase1] == pytest.approx(0.5 * half[Stage.preclinical])
    assert full[Stage.phase1] == pytest.approx(full[Stage.preclinical])
    assert none[Stage.phase2] == pytest.approx(0.0)


def test_top_mncs_leave_programmes_below_materiality_to_others(tiny_scenario):
    """`mnc.materiality_usd`: top MNCs sign no deal on a programme whose worldwide peak sales are
    below it; mid-size buyers still license such programmes."""
    def run(materiality: float):
        sc = apply_overrides(tiny_scenario, {"mnc.materiality_usd": materiality, "population.biotechs": 120})
        model = LicensingMarket(sc, seed=9)
        while model.running:
            model.step()
        d = model.deals_frame()
        d = d[d["licensor_kind"] == "biotech"]
        peak = model.book.peak_sales(d["asset_id"].to_numpy())
        return d["licensee_kind"].to_numpy(), peak

    cut = 8e8
    kind, peak = run(0.0)
    assert ((kind == "mnc") & (peak < cut)).any()  # without it, top MNCs do license small programmes
    kind, peak = run(cut)
    assert (kind == "mnc").any()
    assert not ((kind == "mnc") & (peak < cut)).any()
    assert ((kind == "mid_size") & (peak < cut)).any()
