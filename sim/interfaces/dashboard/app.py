"""The workshop dashboard: ``solara run sim.interfaces.dashboard.app`` (or ``licsim dashboard``).

Two pages:

* ``/`` (Live market): Mesa's model controller (Reset / Play / Step as Mesa users know them),
  the scenario picker and the lever sliders (each showing its value; a change waits for Reset,
  and the page says so) in the sidebar, and the live panels: the drivers with the current month
  marked, deals per quarter by stage, upfronts vs primary financing, counterparty mix, where
  rights go, biotech cash runways, the latest notable deals, plus PNG / CSV export. A switch
  overlays the observed values (the calibration targets) on the charts. The simulated month is
  shown in the app bar and on the run's card. The page is laid out for a projector: one column
  of large charts at 1280x720, two at 1920x1080.
* ``/compare`` (Compare futures): two scenarios run with the same seeds, or two result folders
  of ``licsim run``/``batch``, side by side with the key differences written out.

Every front-end file is served from solara-assets' local cache (see ``assets.py``).
"""

from __future__ import annotations

import threading
import traceback
from typing import Any

import base64

import pandas as pd
import solara
import solara.lab
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from sim.analysis import report as R
from sim.interfaces.dashboard import data as D
from sim.interfaces.dashboard import panels as P

CHOICES: dict[str, str] = D.scenario_choices()
D.ServedModel.choices = CHOICES  # what a browser may pick: these labels, never a path
DEFAULT_SCENARIO = D.default_scenario(CHOICES)
DEFAULT_PARAMS: dict[str, Any] = {"scenario": DEFAULT_SCENARIO, **{lv.name: 1.0 for lv in D.LEVERS},
                                  "seed": D.DEFAULT_SEED}

# Per-session state (solara keeps one value of a module-level reactive per browser connection).
live_model: solara.Reactive[D.DashboardModel | None] = solara.reactive(None)
_retired: solara.Reactive[tuple] = solara.reactive(())
compare_result: solara.Reactive[dict | None] = solara.reactive(None)
_start_error: solara.Reactive[str] = solara.reactive("")
pictures_drawn: solara.Reactive[int] = solara.reactive(0)  # bumped as each new panel picture is ready
# The sliders' values: what Reset builds the next run from (Mesa's controller reads it).
next_params: solara.Reactive[dict[str, Any]] = solara.reactive(dict(DEFAULT_PARAMS))
play_ms: solara.Reactive[int] = solara.reactive(150)
show_observed: solara.Reactive[bool] = solara.reactive(False)
_render_every: solara.Reactive[int] = solara.reactive(1)  # Mesa's controller wants these as reactives
_threads: solara.Reactive[bool] = solara.reactive(False)

#: Panels in the order a room reads them.
LIVE_PANELS = ["drivers", "deals", "money", "counterparties", "rights", "runways"]

PAGE_CSS = """
html, body { font-size: 18px; }
.v-application .v-navigation-drawer { min-width: 340px !important; max-width: 340px !important; }
.licsim-month { font-size: 1.6em; font-weight: 700; letter-spacing: .02em; }
.licsim-bar-month { font-size: 1.2em; font-weight: 700; margin-left: 1em; white-space: nowrap; }
.licsim-main { padding: 8px 12px; max-width: 100%; box-sizing: border-box; }
.licsim-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 700px), 1fr));
               gap: 12px; width: 100%; }
.licsim-grid > * { min-width: 0; }
.licsim-panel { background: white; }
.licsim-panel img { width: 100%; height: auto; display: block; }
.licsim-table { font-size: 16px; width: 100%; }
.licsim-table td, .licsim-table th { padding: 2px 8px !important; height: 26px !important; font-size: 16px !important; }
.licsim-pending { color: #b35900; font-weight: 600; }
.licsim-sidebar .v-input__slot label, .licsim-sidebar .v-label { font-size: 16px !important; }
"""


def model_params(current: dict[str, Any] | None = None) -> dict[str, Any]:
    """SolaraViz inputs: the scenario picker, the lever sliders and the seed (values as now)."""
    cur = {**DEFAULT_PARAMS, **(current or {})}
    params: dict[str, Any] = {
        "scenario": {"type": "Select", "label": "Scenario", "value": cur["scenario"], "values": list(CHOICES)},
    }
    for lv in D.LEVERS:
        params[lv.name] = {"type": "SliderFloat", "label": lv.label, "value": float(cur[lv.name]),
                           "min": lv.min, "max": lv.max, "step": lv.step}
    params["seed"] = {"type": "SliderInt", "label": "Seed", "value": int(cur["seed"]),
                      "min": D.SEED_RANGE[0], "max": D.SEED_RANGE[1], "step": 1}
    return params


# ------------------------------------------------------------------------------ small pieces


@solara.component
def Table(df: pd.DataFrame, classes: list[str] | None = None):
    """A compact HTML table (vuetify's simple table) of a small data frame."""
    head = solara.v.Html(tag="thead", children=[solara.v.Html(tag="tr", children=[
        solara.v.Html(tag="th", children=[str(c)]) for c in df.columns])])
    rows = [solara.v.Html(tag="tr", children=[solara.v.Html(tag="td", children=[str(v)]) for v in row])
            for row in df.itertuples(index=False)]
    body = solara.v.Html(tag="tbody", children=rows)
    solara.v.SimpleTable(dense=True, children=[head, body], class_=" ".join(["licsim-table", *(classes or [])]))


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@solara.component
def Png(data: bytes, key: str, shows: tuple[int, int] | None = None, alt: str = ""):
    """A panel's picture; ``shows`` (run, month number) marks which run and month it is of.

    The picture travels inside the page (a data: URL) rather than as an image widget: the
    widget hands the browser a blob: URL per picture and revokes it at the next one, and at
    several pictures a second the browser was still fetching the old one (a failed request).
    """
    marks = [f"licsim-run-{shows[0]}", f"licsim-step-{shows[1]}"] if shows else []
    with solara.Column(classes=["licsim-panel", f"licsim-panel-{key}", *marks], gap="0px"):
        solara.v.Html(tag="img", attributes={"src": data_url(data), "alt": alt or key})


def _collect_pictures(model: D.DashboardModel, data: dict[str, Any]) -> None:
    """(a background thread per month) Keep each of the month's pictures in the model as it is
    drawn, and have the panels show it. Rendering itself never waits for a drawing."""
    try:
        for key, png in P.collect(data):
            if model.keep_picture(key, data["steps"], png):
                pictures_drawn.set(pictures_drawn.peek() + 1)
    except Exception:  # the panels keep their last pictures; say why in the server's log
        traceback.print_exc()


def _panel(key: str):
    @solara.component
    def Panel(model: D.DashboardModel):
        """The panel's newest picture: the current month's when it is drawn, until then the last one.

        The month, the run's settings and the pictures drawn already go to the page at once;
        each new picture follows as soon as a drawing worker (or, without workers, the
        background thread of :func:`_collect_pictures`) has drawn it.
        """
        update_counter.get()  # redraw on every step (SolaraViz bumps this counter)
        pictures_drawn.get()  # and when a picture is ready
        data = model.data()
        P.prefetch(data)  # the first panel of a new month hands all of them to the drawing workers
        ready = P.ready_png(key, data)
        if ready is not None:
            model.keep_picture(key, data["steps"], ready)
        shown = solara.use_ref(None)  # across Reset too: the last run's picture until the new one is drawn
        kept = model.pictures.get(key)
        if kept is not None:
            shown.current = (kept[1], (model.run_id, kept[0]))
        if shown.current is None:
            with solara.Column(classes=["licsim-panel", f"licsim-panel-{key}", "licsim-drawing"], gap="0px"):
                solara.Text(f"{P.PANELS[key][0]}: drawing ...", style={"color": "grey"})
        else:
            Png(shown.current[0], key, shown.current[1], alt=P.PANELS[key][0])

    Panel.__name__ = f"{key.title()}Panel"
    return Panel


def lever_text(params: dict[str, Any]) -> str:
    """The levers as the page writes them: ``funding level x1.2, trust level x1, ...``."""
    return ", ".join(f"{lv.label.split(' (')[0].lower()} x{float(params[lv.name]):g}" for lv in D.LEVERS)


def pending_changes(running: dict[str, Any], chosen: dict[str, Any]) -> list[str]:
    """What the sidebar says that the run on screen does not use yet (it waits for Reset)."""
    out = []
    if chosen.get("scenario") != running.get("scenario"):
        out.append(f"scenario {chosen.get('scenario')}")
    for lv in D.LEVERS:
        if float(chosen.get(lv.name, 1.0)) != float(running.get(lv.name, 1.0)):
            out.append(f"{lv.label.split(' (')[0].lower()} x{float(chosen[lv.name]):g}")
    if int(chosen.get("seed", 0)) != int(running.get("seed", 0)):
        out.append(f"seed {int(chosen['seed'])}")
    return out


@solara.component
def RunStatus(model: D.DashboardModel):
    """The simulated month (also in the app bar), the run's settings, and the export buttons."""
    update_counter.get()
    month = model.month_label()
    model.set_show_observed(show_observed.value)

    def draw_pictures():  # each month's pictures are collected off the render thread
        threading.Thread(target=_collect_pictures, args=(model, model.data()), daemon=True,
                         name="licsim-pictures").start()

    solara.use_effect(draw_pictures, [id(model), model.steps, show_observed.value])
    with solara.AppBar():
        solara.Text(f"Month: {month}", classes=["licsim-bar-month"])
    with solara.Card(margin=0, classes=["licsim-status", f"licsim-run-{model.run_id}"]), solara.Column(gap="4px"):
        with solara.Row(style={"align-items": "baseline", "flex-wrap": "wrap", "gap": "0 18px"}):
            solara.Text("Simulated month", style={"color": "#555"})
            solara.Text(month, classes=["licsim-month"])
            solara.Text(f"{model.progress_label()}: scenario {model.scenario_label}, seed {model.seed}")
            n_deals = len(model.data()["deals"])
            solara.Text(f"{n_deals} deal{'' if n_deals == 1 else 's'} so far", classes=["licsim-deal-count"])
        solara.ProgressLinear(value=100.0 * model.steps / max(model.total_months, 1))
        solara.Text(f"Levers: {lever_text(model.levers)}", classes=["licsim-levers"])
        waiting = pending_changes(model.params, next_params.value)
        if waiting:
            solara.Text(f"Changed, not yet in this run: {', '.join(waiting)}. Press Reset to start a run with them.",
                        classes=["licsim-pending"])
        if getattr(model, "notice", ""):
            solara.Warning(model.notice, dense=True, classes=["licsim-notice"])
        stem = model.file_stem()
        with solara.Row(style={"flex-wrap": "wrap"}):
            solara.FileDownload(lambda: P.dashboard_png(model.data(), title=model.title()), filename=f"{stem}.png",
                                label="Charts (PNG)", mime_type="image/png")
            solara.FileDownload(model.deals_csv, filename=f"{stem}_deals.csv", label="Deals (CSV)",
                                mime_type="text/csv")


@solara.component
def Controls(model: D.DashboardModel):
    """The sidebar: Mesa's Reset / Play / Step, the speed, the levers for the next run, the overlay."""
    chosen = {**DEFAULT_PARAMS, **next_params.value}

    def choose(name: str, value: Any) -> None:
        next_params.set({**next_params.value, name: value})

    with solara.Column(classes=["licsim-sidebar"], gap="12px"):
        with solara.Card("Run", margin=0, classes=["licsim-controls"]):
            ModelController(live_model, model_parameters=next_params, play_interval=play_ms,
                            render_interval=_render_every, use_threads=_threads)
            solara.SliderInt(f"Speed: a month every {play_ms.value} ms", value=play_ms, min=50, max=1000, step=50)
        with solara.Card("Levers for the next run", margin=0, classes=["licsim-lever-card"]):
            solara.Select("Scenario", values=list(CHOICES), value=chosen["scenario"],
                          on_value=lambda v: choose("scenario", v))
            for lv in D.LEVERS:
                v = float(chosen[lv.name])
                solara.SliderFloat(f"{lv.label.split(' (')[0]}: x{v:.2f}", value=v, min=lv.min, max=lv.max,
                                   step=lv.step, on_value=lambda v, n=lv.name: choose(n, float(v)),
                                   thumb_label=False)
            solara.SliderInt(f"Seed: {int(chosen['seed'])}", value=int(chosen["seed"]), min=D.SEED_RANGE[0],
                             max=D.SEED_RANGE[1], on_value=lambda v: choose("seed", int(v)), thumb_label=False)
            waiting = pending_changes(model.params, chosen)
            if waiting:
                solara.Text("Waiting for Reset: " + ", ".join(waiting), classes=["licsim-pending"])
            else:
                solara.Text("The run on screen uses these levers.", style={"color": "#555"})
        with solara.Card("Against reality", margin=0):
            solara.Checkbox(label="Show the observed values (2021-2024)", value=show_observed)
            solara.Text("Dashed lines and diamonds: the calibration targets (experiments/targets.yaml).",
                        style={"color": "#555", "font-size": "0.85em"})


@solara.component
def NotableDeals(model: D.DashboardModel):
    update_counter.get()
    table = P.notable_deals(model.data()["deals"], n=10)
    with solara.Column(classes=["licsim-notable"], gap="4px"):
        solara.Text("Latest notable deals (largest upfronts)", style={"font-weight": "600"})
        if len(table):
            Table(table)
        else:
            solara.Text("no deals yet", style={"color": "grey"})


PANEL_COMPONENTS = {key: _panel(key) for key in LIVE_PANELS}


# ------------------------------------------------------------------------------ pages


@solara.component
def LivePage():
    solara.Style(PAGE_CSS)
    model = live_model.value

    def create_first():
        if live_model.peek() is None:
            try:
                live_model.set(D.ServedModel(**DEFAULT_PARAMS))
            except Exception as exc:  # show it in the page rather than a blank screen
                traceback.print_exc()
                _start_error.set(f"could not start the model: {one_line(exc)}")

    solara.use_effect(create_first, [])

    def retire_previous():
        # Reset makes a new model; free the one before the previous (it has surely stopped stepping)
        current = live_model.peek()
        kept = [m for m in _retired.peek() if m is not current]
        if current is not None and (not kept or kept[-1] is not current):
            kept.append(current)
        while len(kept) > 2:
            kept.pop(0).release()
        _retired.set(tuple(kept))

    solara.use_effect(retire_previous, [model])

    if model is None:
        if _start_error.value:
            solara.Error(_start_error.value)
        else:
            solara.Text("Starting the model ...")
        return
    with solara.AppBarTitle():
        solara.Text("licsim: cross-border licensing market")
    with solara.Sidebar():
        Controls(model)
    with solara.Column(classes=["licsim-main"], gap="12px"):
        RunStatus(model)
        with solara.Div(classes=["licsim-grid"]):
            for key in LIVE_PANELS:
                PANEL_COMPONENTS[key](model)
            NotableDeals(model)


def outcome_table(paired: pd.DataFrame | None, oa: pd.DataFrame, ob: pd.DataFrame) -> dict[str, Any]:
    """The outcomes table of the comparison page and its title: the paired comparison over its
    window, formatted as `licsim compare` prints it, else each side's means over its whole run."""
    if paired is not None:
        from sim.analysis.compare import HEADLINE, people_table, window_text

        win = paired[paired["section"] != "by year"]
        order = {m: i for i, m in enumerate(HEADLINE)}
        win = win.assign(_o=[order.get(m, len(order)) for m in win["metric"]]).sort_values("_o", kind="stable")
        period = window_text(str(win["period"].iloc[0])) if len(win) else ""
        return {"table": people_table(win), "table_title": f"Outcomes, {period}: mean over the seeds, B - A and "
                "the 90% confidence interval of B - A (* excludes zero)"}
    return {"table": R.side_by_side(oa, ob, ("A", "B")),
            "table_title": "Outcomes over each side's whole run (mean over the seeds)"}


def folder_label(folder: str) -> str:
    """A result folder as people name it: the scenario (or experiment) it holds, and the folder's
    own name when that differs; never the absolute path."""
    from pathlib import Path

    name = Path(folder).name
    manifest = R._read_json(Path(folder) / "manifest.json") or {}
    scenario = manifest.get("scenario")
    if isinstance(scenario, dict):
        scenario = scenario.get("name")
    if not scenario and isinstance(manifest.get("experiment"), dict):
        scenario = manifest["experiment"].get("name")
    scenario = str(scenario) if scenario else ""
    return f"{scenario} ({name})" if scenario and scenario != name else name


def _run_side(side: dict[str, Any], seeds: list[int], progress, label: str, pool: Any = None) -> dict[str, Any]:
    """Frames of one future: simulated with the given seeds (on ``pool`` when given, else in this
    process), or read from a result folder."""
    if side["source"] == "results":
        folder = D.check_result_folder(side.get("results"))  # only below the results directory
        deals, monthly = R.load_frames(folder)
        return {"deals": deals, "monthly": monthly, "label": f"{label}: {folder_label(folder)}"}
    from sim.analysis.validation import map_replications

    sc = D.build_scenario(side["scenario"], side["levers"], CHOICES)
    done = [0]

    def on_done(_i, _res) -> None:
        done[0] += 1
        progress(f"{label}: {done[0]} of {len(seeds)} runs done")

    progress(f"{label}: running {len(seeds)} run(s) of {side['scenario']}")
    results = map_replications(sc, seeds, 1, executor=pool, on_done=on_done)
    deals = [r.deals for r in results]
    monthly = [r.monthly for r in results]
    lv = ", ".join(f"{k} x{v:g}" for k, v in side["levers"].items() if float(v) != 1.0)
    return {"deals": pd.concat(deals, ignore_index=True), "monthly": pd.concat(monthly, ignore_index=True),
            "label": f"{label}: {sc.name}" + (f" ({lv})" if lv else "")}


@solara.component
def SideInputs(title: str, side: solara.Reactive[dict], results: dict[str, str]):
    value = side.value

    def update(**kw):
        side.set({**side.value, **kw})

    with solara.Card(title, margin=0, classes=[f"licsim-side-{title[-1].lower()}"]):
        if results:  # result folders of licsim run / batch to choose from
            solara.ToggleButtonsSingle(value=value["source"], values=["scenario", "results"],
                                       on_value=lambda v: update(source=v))
        if value["source"] == "scenario":
            solara.Select("Scenario", values=list(CHOICES), value=value["scenario"],
                          on_value=lambda v: update(scenario=v))
            for lv in D.LEVERS:
                v = float(value["levers"][lv.name])
                solara.SliderFloat(f"{lv.label.split(' (')[0]}: x{v:.2f}", value=v, min=lv.min, max=lv.max,
                                   step=lv.step,
                                   on_value=lambda v, n=lv.name: update(levers={**side.value["levers"], n: v}))
        else:
            solara.Select("Result folder", values=list(results),
                          value=next((k for k, v in results.items() if v == value.get("results")), None),
                          on_value=lambda v: update(results=results.get(v)))


_side_a = solara.reactive({"source": "scenario", "scenario": DEFAULT_SCENARIO,
                           "levers": {lv.name: 1.0 for lv in D.LEVERS}, "results": None})
_side_b = solara.reactive({"source": "scenario", "scenario": DEFAULT_SCENARIO,
                           "levers": {**{lv.name: 1.0 for lv in D.LEVERS}, "funding": 1.5}, "results": None})
_seeds = solara.reactive(2)
_first_seed = solara.reactive(D.DEFAULT_SEED)
_progress = solara.reactive("")


@solara.component
def ComparePage():
    solara.Style(PAGE_CSS)
    results = solara.use_memo(D.result_choices, [])

    def run_comparison():
        from sim.analysis.validation import make_executor
        from sim.experiments.executors import available_cores

        try:
            seeds = D.compare_seeds(_seeds.value, _first_seed.value)  # slider values, as a browser sent them
        except Exception as exc:
            compare_result.set({"error": one_line(exc)})
            return
        # One pool for both futures (its workers start on the first run); one seed runs here.
        pool = make_executor(min(available_cores(), len(seeds))) if len(seeds) > 1 else None
        try:
            a = _run_side(_side_a.value, seeds, _progress.set, "A", pool)
            b = _run_side(_side_b.value, seeds, _progress.set, "B", pool)
            _progress.set("drawing charts")
            oa, ob = R.outcome_table(a["deals"], a["monthly"]), R.outcome_table(b["deals"], b["monthly"])
            labels = (a["label"], b["label"])
            limits = P.side_limits(a, b)  # A and B on the same scales
            paired = R.paired_comparison((a["deals"], a["monthly"]), (b["deals"], b["monthly"]))
            if paired is not None:  # the same table and wording as `licsim compare`
                differences = R.differences_from_comparison(paired, ("A", "B"))
            else:
                differences = R.key_differences(oa, ob, ("A", "B"))
            simulated = [side["source"] == "scenario" for side in (_side_a.value, _side_b.value)]
            seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
            note = (f"Both run with {seed_text}." if all(simulated) else
                    "Loaded from result folders." if not any(simulated) else
                    f"One side loaded from a result folder, the other run with {seed_text}.")
            note += (" Paired comparison over the years from the first one in which the futures differ, "
                     "as licsim compare does." if paired is not None else " Means over each side's runs.")
            out = {
                "labels": labels, "seeds": seeds, "note": note,
                "differences": differences,
                **outcome_table(paired, oa, ob),
                "overlay": P.comparison_png(a, b, ("A", "B")),
                "panels": [{k: P.panel_png(k, {**side, "runways": None, "limits": limits}) for k in ("deals", "rights")}
                           for side in (a, b)],
                "outcomes_csv": pd.concat([oa.assign(future="A", label=labels[0]),
                                           ob.assign(future="B", label=labels[1])]).to_csv(index=False),
            }
            compare_result.set(out)
            _progress.set("")
        except Exception as exc:
            traceback.print_exc()
            _progress.set("")
            compare_result.set({"error": one_line(exc)})
        finally:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    task = solara.lab.use_task(run_comparison, dependencies=None)

    with solara.AppBarTitle():
        solara.Text("licsim: compare two futures")
    with solara.Column(style={"padding": "12px", "max-width": "1500px"}):
        solara.Text("Run two futures with the same seeds (or load two result folders of licsim run / "
                    "licsim batch) and see how the market differs.")
        with solara.Columns([1, 1]):
            SideInputs("Future A", _side_a, results)
            SideInputs("Future B", _side_b, results)
        with solara.Row(style={"align-items": "center"}):
            solara.SliderInt(f"Seeds per future: {_seeds.value}", value=_seeds, min=1, max=10)
            solara.SliderInt(f"First seed: {_first_seed.value}", value=_first_seed, min=D.SEED_RANGE[0],
                             max=D.SEED_RANGE[1])
            solara.Button("Run comparison", color="primary", on_click=task, disabled=task.pending,
                          classes=["licsim-run-compare"])
        if task.pending:
            solara.ProgressLinear(True)
            solara.Text(_progress.value or "running ...")
        res = compare_result.value
        if res is None:
            return
        if "error" in res:
            solara.Error(res["error"])
            return
        with solara.Card("Key differences: B against A", margin=0, classes=["licsim-differences"]), \
                solara.Column(gap="4px"):
            solara.Text(f"{res['labels'][0]}  |  {res['labels'][1]}", style={"font-weight": "500"})
            solara.Text(res["note"], style={"color": "#555", "font-size": "0.85em"})
            # plain HTML list: solara.Markdown would fetch KaTeX, which the offline cache lacks
            solara.v.Html(tag="ul", class_="licsim-difference-list",
                          children=[solara.v.Html(tag="li", children=[s]) for s in res["differences"]])
        with solara.Columns([1, 1]):
            for i, side in enumerate(("A", "B")):
                with solara.Card(res["labels"][i], margin=0, classes=[f"licsim-result-{side.lower()}"]):
                    Png(res["panels"][i]["deals"], f"compare-deals-{side.lower()}")
                    Png(res["panels"][i]["rights"], f"compare-rights-{side.lower()}")
        with solara.Card("A and B on the same axes", margin=0):
            Png(res["overlay"], "compare-overlay")
            with solara.Row():
                solara.FileDownload(res["overlay"], filename="licsim_comparison.png", label="Comparison (PNG)",
                                    mime_type="image/png")
                solara.FileDownload(res["outcomes_csv"], filename="licsim_comparison_outcomes.csv",
                                    label="Outcomes (CSV)", mime_type="text/csv")
        with solara.Card(res["table_title"], margin=0):
            Table(res["table"])


def one_line(exc: BaseException) -> str:
    """What a page shows of an error: one line (the server's log has the traceback)."""
    from sim.errors import UserError

    if isinstance(exc, UserError):  # written to be shown: what was wrong and what is allowed
        return str(exc)
    # anything else may quote what it was reading: only its kind reaches the page
    return f"something went wrong ({type(exc).__name__}); the server's log has the details"


def _guarded(page):
    """``page`` inside an error boundary: an error in it, or in what it calls on a click, shows as
    one line with a way back, never as solara's traceback in the page."""

    @solara.component
    def Guarded():
        exc, clear = solara.use_exception()
        if exc is not None:
            print("".join(traceback.format_exception(exc)), flush=True)  # the log has the detail
            with solara.Column(style={"padding": "12px"}):
                solara.Error(one_line(exc), classes=["licsim-page-error"])
                solara.Button("Back", on_click=clear)
            return
        page()

    Guarded.__name__ = f"Guarded{page.__name__}"
    return Guarded


routes = [
    solara.Route(path="/", component=_guarded(LivePage), label="Live market"),
    solara.Route(path="compare", component=_guarded(ComparePage), label="Compare futures"),
]
