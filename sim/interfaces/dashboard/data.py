"""What the dashboard shows, without any user interface: scenarios, levers, the live model.

* :func:`scenario_choices`: the shipped scenarios, every YAML file in ``scenarios/`` and the
  file given with ``licsim dashboard --scenario`` (environment variable ``LICSIM_DASHBOARD_SCENARIO``).
* :data:`LEVERS`: the sliders and the scenario fields they set (through ``apply_overrides``).
* :class:`DashboardModel`: what Mesa's SolaraViz drives: built from keyword arguments (the
  slider values), it wraps one :class:`sim.model.model.LicensingMarket` and caches its frames.
  :class:`ServedModel` is the one the server builds from what a browser sends: every value is
  checked (only the scenarios the picker offers, levers and seed within their sliders' range),
  and a bad one gives the default with a one-line notice, never an error in the page.
* :func:`result_choices`: result folders of ``licsim run``/``compare``/``batch`` to load for comparison,
  only below the project's ``results/`` or the folders ``licsim dashboard --results-dir`` names
  (:func:`check_result_folder`).
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError

SCENARIO_ENV = "LICSIM_DASHBOARD_SCENARIO"
RESULTS_ENV = "LICSIM_DASHBOARD_RESULTS"
DEFAULT_SEED = 1
#: Most seeds per future on the comparison page (its slider's maximum).
MAX_COMPARE_SEEDS = 10

log = logging.getLogger("licsim.dashboard")


@dataclass(frozen=True)
class Lever:
    name: str  # keyword argument of DashboardModel
    label: str
    path: str  # dotted scenario path set by apply_overrides
    min: float
    max: float
    step: float
    help: str


LEVERS: list[Lever] = [
    Lever("funding", "Funding level (x)", "drivers.funding.scale", 0.0, 2.0, 0.05,
          "China biotech primary-financing climate, as a multiple of the scenario's path"),
    Lever("trust", "Trust level (x)", "drivers.trust.scale", 0.0, 2.0, 0.05,
          "MNC trust in China-generated data, as a multiple of the scenario's path (clipped to 0-1)"),
    Lever("patent_cliff", "Patent-cliff pressure (x)", "drivers.patent_cliff.scale", 0.0, 2.0, 0.05,
          "large-pharma revenue at risk from loss of exclusivity, as a multiple of the scenario's path"),
    Lever("us_venture", "US venture funding (x)", "drivers.us_venture.scale", 0.0, 2.0, 0.05,
          "US life-science venture funding for incubators and NewCos, as a multiple of the scenario's path"),
]
SEED_RANGE = (0, 999)


# ------------------------------------------------------------------------------ scenarios


def _label_for(path: Path, taken: Mapping[str, str]) -> str:
    label = path.stem
    if label in taken and Path(taken[label]).resolve() != path.resolve():
        label = str(path)
    return label


def _shipped() -> list[tuple[str, str]]:
    """(name, path) of the shipped scenarios."""
    from sim.scenarios.loader import shipped_scenarios

    return [(name, str(path)) for name, path in shipped_scenarios().items()]


def scenario_choices(extra: str | os.PathLike | None = None, root: str | os.PathLike | None = None) -> dict[str, str]:
    """Picker label -> what to pass to ``load_scenario``. The ``extra`` file (if any) comes first."""
    if extra is None:
        extra = os.environ.get(SCENARIO_ENV) or None
    root = Path(root) if root is not None else Path.cwd()
    choices: dict[str, str] = {}
    if extra:
        p = Path(extra)
        choices[p.stem] = str(p)
    for name, where in _shipped():
        wp = Path(where)
        if name in choices and (not wp.exists() or wp.resolve() == Path(choices[name]).resolve()):
            continue
        label = name if name not in choices else str(wp)
        choices.setdefault(label, where)
    folder = root / "scenarios"
    if folder.is_dir():
        for p in sorted(list(folder.glob("*.yaml")) + list(folder.glob("*.yml"))):
            if any(Path(v).exists() and Path(v).resolve() == p.resolve() for v in choices.values()):
                continue
            choices[_label_for(p, choices)] = str(p)
    return choices


def default_scenario(choices: Mapping[str, str]) -> str:
    if not choices:
        raise UserError("no scenarios found: ship scenarios/*.yaml or pass --scenario FILE")
    if os.environ.get(SCENARIO_ENV):
        return next(iter(choices))
    return "baseline" if "baseline" in choices else next(iter(choices))


def lever_value(lever: Lever, value: Any) -> float:
    """A lever's value if it is a finite number within its slider's range, else UserError."""
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        x = math.nan
    if isinstance(value, bool) or not math.isfinite(x) or not lever.min <= x <= lever.max:
        raise UserError(f"{lever.label}: {str(value)[:20]!r} is not allowed; allowed {lever.min:g} to {lever.max:g}")
    return x


def whole_number(value: Any, low: int, high: int, label: str) -> int:
    """``value`` as a whole number from ``low`` to ``high``, else UserError naming ``label``."""
    x: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        x = value
    elif isinstance(value, float) and value.is_integer():
        x = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and len(value) < 20:
        x = int(value)
    if x is None or not low <= x <= high:
        raise UserError(f"{label}: {str(value)[:20]!r} is not allowed; allowed {low} to {high}")
    return x


def seed_value(value: Any) -> int:
    """A seed within :data:`SEED_RANGE`, else UserError."""
    return whole_number(value, SEED_RANGE[0], SEED_RANGE[1], "seed")


def build_scenario(scenario: str, levers: Mapping[str, float] | None = None, choices: Mapping[str, str] | None = None):
    """Load a scenario by picker label and apply the lever values.

    With ``choices`` (what the dashboard's picker offers: label -> file) only those labels are
    accepted: a browser's value never becomes a path. Without it (Python callers) ``scenario``
    may be a path or a shipped name. Lever values must be within their sliders' range.
    """
    from sim.scenarios.loader import apply_overrides, load_scenario

    if choices is not None:
        if not isinstance(scenario, str) or scenario not in choices:
            raise UserError(f"scenario {str(scenario)[:40]!r} is not one the picker offers")
        where = choices[scenario]
    else:
        where = scenario
    sc = load_scenario(where)
    overrides = {}
    for lever in LEVERS:
        value = (levers or {}).get(lever.name)
        if value is None:
            continue
        value = lever_value(lever, value)
        if value == 1.0:
            continue
        base = _get_path(sc, lever.path)  # the scenario's own scale: the slider multiplies it
        overrides[lever.path] = round(float(value) * (float(base) if base is not None else 1.0), 6)
    if overrides:
        sc = apply_overrides(sc, overrides)
    return sc


def _get_path(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


# ------------------------------------------------------------------------------ drivers and targets


def driver_paths(scenario: Any) -> pd.DataFrame | None:
    """The scenario's drivers at every month from its start to its end (month, funding, trust,
    patent_cliff, us_venture): the drivers panel draws the whole path and marks the current month."""
    try:
        from sim.model.drivers import driver_series
        from sim.scenarios.schema import month_index

        n = month_index(scenario.end) - month_index(scenario.start) + 1
        frame = {"month": pd.date_range(f"{scenario.start}-01", periods=n, freq="MS")}
        for name in ("funding", "trust", "patent_cliff", "us_venture"):
            frame[name] = driver_series(getattr(scenario.drivers, name), scenario.start, n)
        return pd.DataFrame(frame)
    except Exception:  # a model whose drivers work otherwise: the panel says it has no paths
        return None


_OBSERVED: list[dict[str, Any]] | None = None


def observed_values() -> list[dict[str, Any]]:
    """The observed values (experiments/targets.yaml) the live charts can show against the model:
    deals, upfronts and primary financing per quarter of a year or half-year (the period's value
    spread evenly over its quarters), and the top-MNC share of a year's deals. Read once."""
    global _OBSERVED
    if _OBSERVED is not None:
        return _OBSERVED
    out: list[dict[str, Any]] = []
    try:
        from sim.analysis.validation import load_targets, parse_period

        targets = load_targets().targets
    except Exception:  # no targets file: nothing to overlay
        targets = []
    for t in targets:
        if t.observed is None or t.period is None or t.kind not in ("level", "share"):
            continue
        p = parse_period(t.period)
        start = pd.Timestamp(year=p.start // 12, month=p.start % 12 + 1, day=1)
        end = pd.Timestamp(year=p.end // 12, month=p.end % 12 + 1, day=1)
        quarters = p.months / 3
        base = {"id": t.id, "start": start, "end": end, "source": t.source}
        if t.metric == "deal_count" and not t.where and p.months <= 12:
            out.append({**base, "panel": "deals", "per_quarter": t.observed / quarters})
        elif t.metric == "deal_sum" and t.column == "upfront_usd" and not t.where and p.months <= 12:
            out.append({**base, "panel": "upfront", "per_quarter": t.observed / quarters})
        elif t.metric == "monthly_sum" and t.column == "primary_financing_usd" and p.months <= 12:
            out.append({**base, "panel": "financing", "per_quarter": t.observed / quarters})
        elif t.metric == "deal_share" and t.where == {"licensee_kind": "mnc"} and p.months == 12:
            out.append({**base, "panel": "mnc_share", "year": int(start.year), "value": float(t.observed)})
    # a half year whose whole year is there too would draw two values over the same quarters
    years = {(o["panel"], o["start"].year) for o in out if (o["end"] - o["start"]).days > 300}
    out = [o for o in out if (o["end"] - o["start"]).days > 300 or (o["panel"], o["start"].year) not in years]
    _OBSERVED = out
    return out


# ------------------------------------------------------------------------------ the live model


def release_market(market: Any) -> None:
    """Free a finished Mesa model (Mesa 3.3.1 never frees a model that had agents)."""
    if market is None:
        return
    from sim.model.run import release

    try:
        release(market)
    except Exception:  # a half-built model: nothing more to free
        pass


class DashboardModel:
    """The model SolaraViz steps: one ``LicensingMarket`` built from the sliders' values.

    SolaraViz re-creates it with keyword arguments on Reset, so every slider is an argument.
    Frames are cached per step, so several panels drawing the same month cost one query.
    """

    choices: dict[str, str] = {}
    _serial = itertools.count(1)

    def __init__(self, scenario: str = "baseline", funding: float = 1.0, trust: float = 1.0,
                 patent_cliff: float = 1.0, us_venture: float = 1.0, seed: int = DEFAULT_SEED):
        from sim.model.model import LicensingMarket

        self.notice = ""  # one line for the page when a value sent was not allowed (ServedModel)
        levers = {"funding": funding, "trust": trust, "patent_cliff": patent_cliff, "us_venture": us_venture}
        scenario, levers, seed = self._checked(scenario, levers, seed)
        self.params = {"scenario": scenario, **levers, "seed": int(seed)}
        self.levers = levers
        self.scenario_label = scenario
        self.scenario = self._build(scenario, levers)
        if self.scenario.parameters is not None:  # one model has one parameter set: its own values
            ens = Path(self.scenario.parameters).name
            self.notice = (self.notice + "; " if self.notice else "") + (
                f"scenario {self.scenario_label} refers to a parameter ensemble ({ens}); one run here uses the "
                "scenario's own values (licsim run draws one set per replication)")
        self.seed = int(seed)
        self.market = LicensingMarket(self.scenario, seed=self.seed)
        self.start = pd.Timestamp(f"{self.scenario.start}-01")
        self.end = pd.Timestamp(f"{self.scenario.end}-01")
        self.total_months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
        self._lock = threading.RLock()
        self._cache: tuple[int, dict[str, Any]] | None = None
        self.run_id = next(DashboardModel._serial)  # tells this run's pictures from the last one's on the page
        self.pictures: dict[str, tuple[int, bytes]] = {}  # the newest picture drawn of each panel: (step, PNG)
        self.drivers = driver_paths(self.scenario)
        self.show_observed = False  # the page's "observed values" switch

    def set_show_observed(self, show: bool) -> None:
        """Show (or hide) the observed values on the charts from now on."""
        with self._lock:
            if bool(show) != self.show_observed:
                self.show_observed = bool(show)
                self._cache = None
                self.pictures.clear()

    def _checked(self, scenario: Any, levers: dict[str, Any], seed: Any) -> tuple[Any, dict[str, Any], Any]:
        """Python callers' values, as given (see :class:`ServedModel`)."""
        return scenario, levers, seed

    def _build(self, scenario: Any, levers: dict[str, Any]):
        return build_scenario(scenario, levers, self.choices or None)

    # --- what SolaraViz uses
    def step(self) -> None:
        with self._lock:
            if self.market.running:
                self.market.step()

    @property
    def running(self) -> bool:
        return bool(self.market.running)

    @property
    def steps(self) -> int:
        return int(self.market.steps)

    # --- what the panels use
    @property
    def month(self) -> pd.Timestamp | None:
        if self.steps == 0:
            return None
        date = getattr(self.market, "date", None)
        return pd.Timestamp(date) if date is not None else self.start + pd.DateOffset(months=self.steps - 1)

    def month_label(self) -> str:
        m = self.month
        if m is None:
            return f"{self.start:%Y-%m} (not started)"
        return f"{m:%Y-%m}"

    def progress_label(self) -> str:
        return f"month {self.steps} of {self.total_months}"

    def thresholds(self) -> dict[str, float]:
        b = getattr(self.scenario, "biotech", None)
        if b is None:
            return {}
        return {"distress": float(b.distress_runway_months), "raise": float(b.financing_trigger_months)}

    def data(self) -> dict[str, Any]:
        """deals, monthly, runways, drivers (+ start, end, now, thresholds, observed) for the current
        month; cached per step."""
        with self._lock:
            steps = self.steps
            if self._cache is not None and self._cache[0] == steps:
                return self._cache[1]
            deals = self.market.deals_frame()
            monthly = self.market.monthly_frame()
            runways = np.asarray(self.market.biotech_runways(), dtype=float)
            data = {"deals": deals, "monthly": monthly, "runways": runways, "start": self.start,
                    "end": self.end, "thresholds": self.thresholds(), "steps": steps, "now": self.month,
                    "drivers": self.drivers, "observed": observed_values() if self.show_observed else None}
            self._cache = (steps, data)
            return data

    def keep_picture(self, key: str, steps: int, png: bytes) -> bool:
        """Remember a panel's picture of month ``steps`` unless a later month's is kept already."""
        with self._lock:
            kept = self.pictures.get(key)
            if kept is not None and (kept[0] > steps or (kept[0] == steps and kept[1] is png)):
                return False
            self.pictures[key] = (steps, png)
            return True

    def deals_csv(self) -> bytes:
        deals = self.data()["deals"]
        return deals.to_csv(index=False).encode()

    def title(self) -> str:
        lv = ", ".join(f"{k} x{v:g}" for k, v in self.levers.items() if float(v) != 1.0) or "levers at 1"
        return f"{self.scenario_label} (seed {self.seed}; {lv}) at {self.month_label()}"

    def file_stem(self) -> str:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(self.scenario_label).stem)
        return f"licsim_{safe}_seed{self.seed}_{self.month_label()[:7]}"

    def release(self) -> None:
        with self._lock:
            release_market(self.market)


class ServedModel(DashboardModel):
    """The model the dashboard's server builds from the values a browser sends.

    Every value is treated as hostile: the scenario must be a label the picker offers (never a
    path), levers and seed must be within their sliders' range. A value that is not allowed,
    or a scenario that fails to load, gives the default in its place and a one-line
    :attr:`notice` for the page; the detail goes to the server's log. It never raises for
    what a browser sent, so no traceback can reach a page from Reset.
    """

    def _checked(self, scenario: Any, levers: dict[str, Any], seed: Any) -> tuple[Any, dict[str, Any], Any]:
        notes = []
        if not isinstance(scenario, str) or scenario not in self.choices:
            notes.append(f"scenario {str(scenario)[:40]!r} is not offered")
            scenario = default_scenario(self.choices)
        clean = {}
        for lever in LEVERS:
            try:
                clean[lever.name] = lever_value(lever, levers.get(lever.name, 1.0))
            except UserError as exc:
                notes.append(str(exc))
                clean[lever.name] = 1.0
        try:
            seed = seed_value(seed)
        except UserError as exc:
            notes.append(str(exc))
            seed = DEFAULT_SEED
        if notes:
            log.warning("dashboard: refused values from a browser: %s", "; ".join(notes))
            self.notice = "; ".join(notes) + "; the defaults are used instead"
        return scenario, clean, seed

    def _build(self, scenario: Any, levers: dict[str, Any]):
        try:
            return build_scenario(scenario, levers, self.choices)
        except Exception as exc:  # a broken scenario file among the offered ones: the default instead
            log.warning("dashboard: scenario %r failed to load", scenario, exc_info=True)
            fallback = default_scenario(self.choices)
            if fallback == scenario:
                raise
            one_line = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__} (see the server's log)"
            self.notice = (self.notice + "; " if self.notice else "") + (
                f"scenario {scenario!r} could not be loaded: {one_line}; showing {fallback}")
            self.scenario_label = fallback
            self.params["scenario"] = fallback
            return build_scenario(fallback, levers, self.choices)


def compare_seeds(count: Any, first: Any) -> list[int]:
    """The comparison page's seeds from its two sliders (hostile values refused with UserError)."""
    n = whole_number(count, 1, MAX_COMPARE_SEEDS, "seeds per future")
    start = seed_value(first)
    return [start + i for i in range(n)]


# ------------------------------------------------------------------------------ results


def result_roots(root: str | os.PathLike | None = None) -> list[Path]:
    """The folders result folders may come from: ``--results-dir`` ones and the project's ``results/``."""
    roots = [Path(p) for p in os.environ.get(RESULTS_ENV, "").split(os.pathsep) if p]
    roots.append(Path(root) if root is not None else Path.cwd() / "results")
    return [r.resolve() for r in roots]


def check_result_folder(folder: Any, root: str | os.PathLike | None = None) -> str:
    """``folder`` if it lies below an allowed results root (links resolved), else UserError."""
    if not isinstance(folder, (str, os.PathLike)) or not str(folder):
        raise UserError("pick a result folder")
    real = Path(folder).resolve()
    if not any(real == r or real.is_relative_to(r) for r in result_roots(root)):
        raise UserError("that result folder is not below the results directory (licsim dashboard --results-dir "
                        "names others)")
    return str(real)


def result_choices(root: str | os.PathLike | None = None, max_depth: int = 3) -> dict[str, str]:
    """Result folders (``licsim run``/``compare``/``batch``) under ``results/``: label -> path."""
    from sim.analysis.report import detect_kind

    out: dict[str, str] = {}
    for base in result_roots(root):
        if not base.is_dir():
            continue
        stack = [(base, 0)]
        while stack:
            folder, depth = stack.pop()
            try:
                kind = detect_kind(folder)
            except Exception:
                kind = None
            if kind in ("run", "batch"):
                label = f"{folder.relative_to(base.parent) if folder != base else folder.name} ({kind})"
                out[label] = str(folder)
                continue
            if depth < max_depth:
                for child in sorted(folder.iterdir(), reverse=True):
                    # a link out of the results directory is not followed
                    if child.is_dir() and not child.name.startswith(".") and child.resolve().is_relative_to(base):
                        stack.append((child, depth + 1))
    return dict(sorted(out.items()))
