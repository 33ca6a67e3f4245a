"""The dashboard without a browser: offline assets, scenarios and levers, the live model, panels, CLI."""

from __future__ import annotations

import inspect
import re
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.interfaces.dashboard import assets, data as D, panels as P

REPO = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _cli(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.interfaces.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


# ------------------------------------------------------------------------------ offline assets


def _fake_cache(root: Path) -> Path:
    for name in [*assets.REQUIRED, *assets.ALIASES.values()]:
        (root / name).mkdir(parents=True)
    return root


def test_assets_links_major_versions_idempotently(tmp_path):
    cdn = _fake_cache(tmp_path / "cdn")
    _, made = assets.ensure_assets(cdn)
    assert sorted(made) == sorted(assets.ALIASES)
    for alias, target in assets.ALIASES.items():
        assert (cdn / alias).is_symlink() and os.readlink(cdn / alias) == target
        assert (cdn / alias).resolve() == (cdn / target).resolve()
    _, again = assets.ensure_assets(cdn)
    assert again == []


def test_assets_missing_package_or_folder_is_a_clear_error(tmp_path, monkeypatch):
    cdn = tmp_path / "cdn"
    cdn.mkdir()
    with pytest.raises(assets.AssetError, match="lacks"):
        assets.ensure_assets(cdn)
    monkeypatch.setattr(assets, "_assets_installed", lambda: False)
    with pytest.raises(assets.AssetError, match="solara-assets is not installed"):
        assets.ensure_assets(_fake_cache(tmp_path / "cdn2"))


def test_assets_module_completes_the_real_cache():
    out = subprocess.run([sys.executable, "-m", "sim.interfaces.dashboard.assets"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.strip().splitlines()) == 1 and "ready" in out.stdout
    cdn = assets.cache_dir()
    for alias in assets.ALIASES:
        assert (cdn / alias / "package.json").exists() or any((cdn / alias).iterdir()), alias


# ------------------------------------------------------------------------------ scenarios, levers, model


def test_scenario_choices_lists_shipped_scenarios_and_the_given_file(tmp_path):
    extra = tmp_path / "mine.yaml"
    extra.write_text("name: mine\nextends: baseline\n")
    choices = D.scenario_choices(extra=extra, root=REPO)
    assert next(iter(choices)) == "mine"  # the file given with --scenario comes first and is the default
    for p in sorted((REPO / "scenarios").glob("*.yaml")):
        assert p.stem in choices
    assert D.default_scenario(D.scenario_choices(extra="", root=REPO)) == "baseline"


def test_levers_multiply_the_scenarios_own_scale():
    from sim.scenarios.loader import load_scenario

    base = load_scenario(REPO / "scenarios" / "baseline.yaml")
    sc = D.build_scenario(str(REPO / "scenarios" / "baseline.yaml"),
                          {"funding": 1.5, "trust": 0.5, "patent_cliff": 1.0, "us_venture": 2.0})
    assert sc.drivers.funding.scale == pytest.approx(1.5 * base.drivers.funding.scale)
    assert sc.drivers.trust.scale == pytest.approx(0.5 * base.drivers.trust.scale)
    assert sc.drivers.patent_cliff.scale == pytest.approx(base.drivers.patent_cliff.scale)
    assert sc.drivers.us_venture.scale == pytest.approx(2.0 * base.drivers.us_venture.scale)


@pytest.fixture(scope="module")
def small_scenario(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scen") / "small.yaml"
    path.write_text("name: small\nextends: baseline\nend: 2019-12\n"
                    "population: {biotechs: 80, top_mncs: 6, mid_size: 10, incubators: 3, regional: 4}\n")
    return path


def test_dashboard_model_steps_and_reports(small_scenario):
    m = D.DashboardModel(scenario=str(small_scenario), funding=1.2, seed=3)
    assert m.steps == 0 and "not started" in m.month_label()
    first = m.data()
    assert len(first["deals"]) == 0 and len(first["monthly"]) == 0 and len(first["runways"]) > 0
    for _ in range(14):
        m.step()
    assert m.steps == 14 and m.month_label() == "2019-02"
    d = m.data()
    assert d is m.data()  # cached per month
    assert len(d["monthly"]) == 14
    assert m.deals_csv().decode().splitlines()[0].startswith("deal_id,")
    assert "funding x1.2" in m.title()
    while m.running:
        m.step()
    assert m.steps == m.total_months == 24
    m.release()


@pytest.mark.filterwarnings("ignore::UserWarning")  # Mesa 3.3.1 trips solara's hook linter
def test_model_params_match_the_model_signature():
    """Mesa's SolaraViz rebuilds the model from the sliders by keyword: every input must be an argument."""
    pytest.importorskip("networkx")  # mesa.visualization needs it
    from sim.interfaces.dashboard import app

    params = app.model_params()
    sig = inspect.signature(D.DashboardModel.__init__).parameters
    assert set(params) == set(sig) - {"self"}
    assert params["scenario"]["type"] == "Select" and "baseline" in params["scenario"]["values"]
    for lever in D.LEVERS:
        assert params[lever.name]["type"] == "SliderFloat"
    assert params["seed"]["type"] == "SliderInt"
    assert {path for path, _c in [(r.path, r.component) for r in app.routes]} == {"/", "compare"}


def test_reset_of_the_default_population_shows_first_month_within_2_s():
    """Server side of 'a slider change followed by Reset shows the new run's first months within 2 s':
    build the model for the shipped baseline with a moved lever, draw the panels, step a month, draw."""
    P.panel_png("runways", D.DashboardModel(scenario=str(REPO / "scenarios" / "baseline.yaml")).data())  # warm up
    t0 = time.perf_counter()
    m = D.DashboardModel(scenario=str(REPO / "scenarios" / "baseline.yaml"), funding=1.35, seed=7)
    for key in P.PANELS:
        assert P.panel_png(key, m.data())[:8] == PNG_MAGIC
    m.step()
    for key in P.PANELS:
        P.panel_png(key, m.data())
    P.notable_deals(m.data()["deals"])
    elapsed = time.perf_counter() - t0
    m.release()
    print(f"reset + first month, server side: {elapsed:.2f} s")
    assert elapsed < 2.0


# ------------------------------------------------------------------------------ panels


def _frames(n_deals: int = 40, months: int = 30, reps: int = 1):
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2018-01-01")
    deals, monthly = [], []
    for r in range(reps):
        signed = [start + pd.DateOffset(months=int(m)) for m in rng.integers(0, months, n_deals)]
        deals.append(pd.DataFrame({
            "replication": r, "deal_id": range(n_deals), "signed": signed, "year": [s.year for s in signed],
            "licensee_kind": rng.choice(P.COUNTERPARTIES, n_deals), "licensee_region": rng.choice(["US", "EU", "JP"], n_deals),
            "stage": rng.choice(P.STAGES, n_deals), "territory": rng.choice(P.TERRITORIES, n_deals),
            "deal_type": rng.choice(["license", "newco"], n_deals), "upfront_usd": rng.lognormal(17, 1, n_deals),
            "total_value_usd": rng.lognormal(20, 1, n_deals), "terminated": pd.NaT,
        }))
        monthly.append(pd.DataFrame({
            "replication": r, "month": pd.date_range(start, periods=months, freq="MS"),
            "primary_financing_usd": rng.gamma(2, 2e8, months), "upfront_usd": rng.gamma(2, 1e8, months),
            "active_biotechs": 400, "folded_biotechs": rng.integers(0, 3, months),
        }))
    return pd.concat(deals, ignore_index=True), pd.concat(monthly, ignore_index=True)


@pytest.mark.parametrize("empty", [True, False])
def test_every_panel_draws(empty):
    deals, monthly = _frames()
    if empty:
        deals, monthly = deals.iloc[:0], monthly.iloc[:0]
    data = {"deals": deals, "monthly": monthly, "runways": np.array([] if empty else [3.0, 12, 30, 80]),
            "start": pd.Timestamp("2018-01-01"), "end": pd.Timestamp("2020-12-01"), "thresholds": {"distress": 6}}
    for key in P.PANELS:
        assert P.panel_png(key, data)[:8] == PNG_MAGIC, key
    assert P.dashboard_png(data, "title")[:8] == PNG_MAGIC
    table = P.notable_deals(deals, n=5)
    assert len(table) == (0 if empty else 5)


def test_notable_deals_are_large_and_newest_first():
    deals, _ = _frames(n_deals=80)
    table = P.notable_deals(deals, n=10)
    assert list(table["signed"]) == sorted(table["signed"], reverse=True)
    q75 = deals["upfront_usd"].quantile(0.75)
    big = deals[deals["upfront_usd"] >= q75]
    assert len(table) == min(10, len(big))


def test_comparison_figure_draws():
    a, b = _frames(reps=2), _frames(n_deals=60, reps=2)
    png = P.comparison_png({"deals": a[0], "monthly": a[1]}, {"deals": b[0], "monthly": b[1]}, ("A", "B"))
    assert png[:8] == PNG_MAGIC


def test_panel_cache_reuses_unchanged_pictures():
    deals, monthly = _frames()
    data = {"deals": deals, "monthly": monthly, "runways": np.arange(10.0)}
    first = P.panel_png("deals", data)
    assert P.panel_png("deals", {**data, "monthly": monthly.iloc[:3]}) is first  # deals panel ignores monthly
    assert P.panel_png("deals", {"deals": deals.iloc[:-1], "monthly": monthly}) is not first
    # old deals changing in place (a milestone paid, a termination) leave the ledger panels as they were
    moved = deals.assign(terminated=pd.Timestamp("2019-06-01"), milestones_paid_usd=1e6)
    assert P.panel_png("deals", {"deals": moved, "monthly": monthly}) is first
    assert P.panel_png("deals", {"deals": moved.assign(stage="phase2"), "monthly": monthly}) is not first


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line.split()[1] for line in f)  # a zombie
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_drawing_workers_end_with_a_server_that_was_killed():
    script = ("import os, time\n"
              "from sim.interfaces.dashboard import panels as P\n"
              "P.start_workers(1)\n"
              "print(P._POOL.submit(os.getpid).result(timeout=120), flush=True)\n"
              "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        worker = int(proc.stdout.readline())
        assert not _gone(worker)
        proc.kill()  # no shutdown, no atexit: what a SIGKILL or an abrupt stop leaves behind
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while not _gone(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _gone(worker), f"drawing worker {worker} outlived its server"
    finally:
        proc.kill()


def test_stacked_bars_draw_only_the_non_empty_bars_on_top_of_each_other():
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    P._stacked_bars(ax, np.arange(3), [np.array([1.0, 0, 2]), np.array([0.0, 3, 1])], ["red", "blue"],
                    ["a", "b"], width=0.8)
    lower, upper = ax.collections
    boxes = [[(p.vertices[:, 0].min(), p.vertices[:, 1].min(), p.vertices[:, 1].max()) for p in c.get_paths()]
             for c in (lower, upper)]
    assert np.allclose(boxes[0], [(-0.4, 0, 1), (1.6, 0, 2)])  # no bar where the count is 0
    assert np.allclose(boxes[1], [(0.6, 0, 3), (1.6, 2, 3)])  # the second layer starts where the first ends
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert ax.get_ylim()[1] >= 3


def test_drawing_workers_draw_the_same_panels_as_the_server(small_scenario):
    m = D.DashboardModel(scenario=str(small_scenario), seed=3)
    for _ in range(14):
        m.step()
    data = m.data()
    here = {key: P.to_png(P.panel_figure(key, data)) for key in P.PANELS}
    P._PNG_CACHE.clear()
    try:
        assert P.start_workers(2) == 2 and P.workers_running() == 2
        assert P.prefetch(data) == len(P.PANELS)
        assert P.prefetch(data) == 0  # already handed over: not drawn twice
        for fut in list(P._PENDING.values()):
            fut.result(timeout=60)  # drawn in a worker process
        for key in P.PANELS:
            assert P.panel_png(key, data) == here[key], key
        assert not P._PENDING
    finally:
        P.stop_workers()
        m.release()
    assert P.workers_running() == 0 and P.prefetch(data) == 0  # back to drawing in this process


# ------------------------------------------------------------------------------ command line


def test_dashboard_command_rejects_bad_input(tmp_path):
    out = _cli("dashboard", "--scenario", str(tmp_path / "nope.yaml"))
    assert out.returncode == 2 and "no such file" in out.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndrivers:\n  trsut: {}\n")
    out = _cli("dashboard", "--scenario", str(bad))
    assert out.returncode == 2 and "bad.yaml" in out.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        out = _cli("dashboard", "--port", str(port))
    assert out.returncode == 2 and f"--port {port}" in out.stderr
    out = _cli("dashboard", env={"LICSIM_DASHBOARD_DRAW_WORKERS": "two"})
    assert out.returncode == 2 and "LICSIM_DASHBOARD_DRAW_WORKERS='two'" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_collect_gives_every_panel_and_the_model_keeps_the_newest_picture():
    m = D.DashboardModel(scenario=str(REPO / "scenarios" / "baseline.yaml"))
    m.step()
    data = m.data()
    got = dict(P.collect(data))
    assert sorted(got) == sorted(P.PANEL_INPUTS)
    assert all(png[:8] == PNG_MAGIC for png in got.values())
    assert P.ready_png("money", data) is got["money"]  # drawn once, then served from the cache
    assert m.keep_picture("money", 2, b"two")
    assert not m.keep_picture("money", 1, b"one")  # an older month's picture never replaces a newer one
    assert m.pictures["money"] == (2, b"two")
    m.release()


# ------------------------------------------------------------------------------ what a room reads


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _live_data(now: str = "2019-05-01", observed=None):
    deals, monthly = _frames(months=17)
    drivers = pd.DataFrame({"month": pd.date_range("2018-01-01", periods=36, freq="MS"),
                            **{k: np.linspace(0.4, 1.0, 36) for k in P.DRIVER_LINES}})
    return {"deals": deals, "monthly": monthly, "runways": np.array([3.0, 12, 30, 80]),
            "start": pd.Timestamp("2018-01-01"), "end": pd.Timestamp("2020-12-01"), "now": pd.Timestamp(now),
            "drivers": drivers, "thresholds": {"distress": 6, "raise": 18}, "observed": observed}


@pytest.mark.parametrize("key", list(P.PANELS))
def test_panel_text_is_large_enough_for_a_projector(key):
    """Titles at TITLE_PT and every other text at TEXT_PT or more (the browser test checks what
    those points come to on screen at 1280x720 and 1920x1080)."""
    fig = P.panel_figure(key, _live_data(observed=D.observed_values()))
    texts = _texts(fig)
    assert texts
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < P.TEXT_PT]
    assert not small, small
    titles = [t for t in texts if t.get_text() == P.PANELS[key][0]]
    assert titles and all(t.get_fontsize() >= P.TITLE_PT for t in titles)
    assert not [t.get_text() for t in texts if "_" in t.get_text()]  # people's names, not column names


def test_the_unfinished_quarter_is_not_drawn_as_a_low_quarter():
    """In May a quarter has two months of three: its bar is hatched (marked "quarter so far") and
    the money lines stop at the last finished quarter, with the current one apart, at its pace."""
    fig = P.panel_figure("deals", _live_data("2019-05-01"))
    ax = fig.axes[0]
    assert any(c.get_hatch() == "//" for c in ax.collections)
    assert "quarter so far" in [t.get_text() for t in ax.get_legend().get_texts()]
    fig = P.panel_figure("deals", _live_data("2019-06-01"))  # the quarter is over: nothing is pale
    assert not any(c.get_hatch() for c in fig.axes[0].collections)
    fig = P.panel_figure("money", _live_data("2019-05-01"))
    ax = fig.axes[0]
    line = next(line for line in ax.get_lines() if line.get_label() == "licensing upfronts")
    y = np.asarray(line.get_ydata(), dtype=float)
    q = pd.period_range("2018Q1", "2020Q4", freq="Q")
    current = list(q).index(pd.Period("2019Q2"))
    assert np.isnan(y[current:]).all() and np.isfinite(y[current - 1])  # no cliff at the live edge
    assert "this quarter\n(pace so far)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert P.unfinished_quarter(pd.Timestamp("2019-05-01")) == (pd.Period("2019Q2"), 2)
    assert P.unfinished_quarter(pd.Timestamp("2019-06-01")) is None


def test_drivers_panel_marks_the_current_month():
    fig = P.panel_figure("drivers", _live_data("2019-05-01"))
    ax = fig.axes[0]
    marks = [line for line in ax.get_lines() if list(line.get_xdata()) == [2019 + 4 / 12] * 2]
    assert marks, "no line at the current month"
    assert "2019-05" in " ".join(t.get_text() for t in _texts(fig))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [lab for lab, _c in P.DRIVER_LINES.values()]
    assert P._cache_key("drivers", _live_data("2019-05-01"), 90) != P._cache_key("drivers", _live_data("2019-06-01"),
                                                                                 90)


def test_observed_values_overlay_the_charts_when_asked():
    obs = D.observed_values()
    panels = {o["panel"] for o in obs}
    assert {"deals", "upfront", "financing", "mnc_share"} <= panels
    deals_2024 = next(o for o in obs if o["id"] == "C1.deals.2024")
    assert deals_2024["per_quarter"] == pytest.approx(94 / 4)
    data = _live_data("2020-11-01")
    data["end"] = pd.Timestamp("2024-12-01")
    data["deals"] = data["deals"].assign(year=np.where(np.arange(len(data["deals"])) % 2, 2023, 2024))
    for key, label in (("deals", "observed"), ("money", "observed\nupfronts"),
                       ("counterparties", "observed\ntop-MNC share")):
        with_obs = P.panel_figure(key, {**data, "observed": obs}).axes[0].get_legend()
        without = P.panel_figure(key, data).axes[0].get_legend()
        assert label in [t.get_text() for t in with_obs.get_texts()], key
        assert label not in [t.get_text() for t in without.get_texts()], key
    # the switch is part of what a picture depends on
    assert P._cache_key("deals", {**data, "observed": obs}, 90) != P._cache_key("deals", data, 90)


def test_the_deals_table_never_shows_zero_millions():
    deals, _ = _frames(n_deals=12)
    deals.loc[:3, "upfront_usd"] = [0.0, 3e5, 4.2e6, 2.5e7]
    table = P.notable_deals(deals, n=12, quantile=None)
    shown = set(table["upfront"]) | set(table["total"])
    assert not [s for s in shown if re.fullmatch(r"\$0(\.0+)?[MB]?", s)], shown
    assert {"none", "$0.3M", "$4.2M", "$25M"} <= shown
    assert P.deal_money(1.45e9) == "$1.45B"


def test_two_futures_side_by_side_share_their_scales():
    a, b = _frames(n_deals=20), _frames(n_deals=120)
    sa, sb = {"deals": a[0], "monthly": a[1]}, {"deals": b[0], "monthly": b[1]}
    limits = P.side_limits(sa, sb)
    ya = P.panel_figure("deals", {**sa, "limits": limits}).axes[0].get_ylim()
    yb = P.panel_figure("deals", {**sb, "limits": limits}).axes[0].get_ylim()
    assert ya == yb and ya[1] >= b[0].groupby(b[0]["signed"].dt.to_period("Q")).size().max()
    xa = [ax.get_xlim() for ax in P.panel_figure("rights", {**sa, "limits": limits}).axes]
    xb = [ax.get_xlim() for ax in P.panel_figure("rights", {**sb, "limits": limits}).axes]
    assert xa == xb


def test_the_comparison_chart_shows_the_spread_across_seeds():
    from matplotlib.collections import PolyCollection

    a, b = _frames(reps=3), _frames(n_deals=60, reps=3)
    fig = P.comparison_figure({"deals": a[0], "monthly": a[1]}, {"deals": b[0], "monthly": b[1]}, ("A", "B"))
    bands = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # one 5-95% band per future
    assert all(ax.get_legend() is not None and ax.get_ylabel() for ax in fig.axes)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_compare_page_names_folders_by_scenario_not_by_path(tmp_path):
    pytest.importorskip("networkx")
    from sim.interfaces.dashboard import app

    folder = tmp_path / "deep" / "results" / "baseline"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text('{"scenario": {"name": "baseline"}}')
    assert app.folder_label(str(folder)) == "baseline"
    other = tmp_path / "run7"
    other.mkdir()
    (other / "manifest.json").write_text('{"scenario": "trust_shock"}')
    assert app.folder_label(str(other)) == "trust_shock (run7)"
    assert str(tmp_path) not in app.folder_label(str(other))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_lever_moved_during_a_run_is_shown_as_waiting_for_reset():
    pytest.importorskip("networkx")
    from sim.interfaces.dashboard import app

    running = dict(app.DEFAULT_PARAMS)
    assert app.pending_changes(running, dict(running)) == []
    moved = {**running, "funding": 1.2, "seed": 5}
    assert app.pending_changes(running, moved) == ["funding level x1.2", "seed 5"]
    assert app.lever_text(running).startswith("funding level x1, trust level x1")
