"""`licsim report RESULTS_DIR`: one self-contained HTML page for a run, compare or batch folder."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import report as R

REPO = Path(__file__).resolve().parents[1]
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""", re.I)


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.interfaces.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """The output folder of a real `licsim run` of a tiny scenario (two replications)."""
    root = tmp_path_factory.mktemp("report")
    scenario = root / "tiny.yaml"
    scenario.write_text("name: tiny\nextends: baseline\nend: 2020-12\n"
                        "population: {biotechs: 60, top_mncs: 5, mid_size: 8, incubators: 2, regional: 3}\n"
                        "mnc: {attention: 0.15, hurdle: 0.2}\n")
    out = root / "run"
    res = _cli("run", str(scenario), "--out", str(out), "--replications", "2", "--workers", "1")
    assert res.returncode == 0, res.stderr[-2000:]
    assert (out / "deals.parquet").is_file() and (out / "manifest.json").is_file()
    return out


def _assert_self_contained(html: str) -> None:
    assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    assert not re.search(r"https?://", html), re.search(r".{40}https?://.{40}", html)


def test_report_of_a_run(run_dir):
    res = _cli("report", str(run_dir))
    assert res.returncode == 0, res.stderr
    path = Path(res.stdout.strip().splitlines()[-1])
    assert path == run_dir / "report.html" and path.is_file()
    html = path.read_text()
    _assert_self_contained(html)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    charts = sorted((run_dir / "charts").glob("*.png"))
    assert len(images) >= 4 + len(charts)  # our market charts and the run's own charts
    for name in ("Settings (manifest.json)", "Outcomes", "Market charts", "Largest deals", "yearly.csv"):
        assert name in html, name
    headings = re.findall(r"<h2>([^<]*)</h2>", html)
    assert headings[0].startswith("Outcomes, 2018-01 to 2020-12"), headings  # the answer, with its window
    assert headings[-1] == "Settings (manifest.json)", headings  # how it was made, last
    _assert_numbers_for_people(html)
    assert path.stat().st_mode & 0o044 == 0o044  # readable by others: it is a handout
    assert not list(run_dir.glob(".report.html.*"))  # written atomically, no temporary left


def _assert_numbers_for_people(html: str) -> None:
    """No 2,481,100,508 and no 0.5398 in the page's tables."""
    cells = " ".join(re.findall(r"<td[^>]*>([^<]*)</td>", html))
    assert not re.search(r"\d{1,3}(,\d{3}){2,}", cells), re.search(r".{30}\d{1,3}(,\d{3}){2,}.{10}", cells)
    assert not re.search(r"(?<![\d.])0\.\d{4,}", cells), re.search(r".{30}0\.\d{4,}.{10}", cells)


def test_report_opens_offline_in_the_browser(run_dir):
    """Every image of the page decodes with no network (file:// URL, all requests recorded)."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install -y chromium; .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api")
    path = R.write_report(run_dir)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu",
                                     "--disable-background-networking", "--no-first-run"])
        page = browser.new_page()
        urls = []
        page.on("request", lambda r: urls.append(r.url))
        page.goto(path.as_uri())
        decoded = page.evaluate("() => Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
        browser.close()
    assert decoded and all(decoded)
    assert all(u.startswith(("file:", "data:")) for u in urls), urls


def test_report_of_a_compare_folder(run_dir, tmp_path):
    folder = tmp_path / "compare_tiny_vs_tiny2"
    for side in ("a_tiny", "b_tiny2"):
        (folder / side).mkdir(parents=True)
        for name in ("deals.parquet", "monthly.parquet"):
            shutil.copy(run_dir / name, folder / side / name)
    table = pd.DataFrame([
        {"section": "deals", "metric": "deals_per_year", "label": "deals per year", "period": "2018..2020",
         "unit": "count", "a_mean": 10.0, "b_mean": 14.0, "diff_mean": 4.0, "significant": True, "n": 20},
        {"section": "counterparties", "metric": "share_mnc", "label": "share with mnc licensees",
         "period": "2018..2020", "unit": "share", "a_mean": 0.40, "b_mean": 0.41, "diff_mean": 0.01,
         "significant": False, "n": 20},
        {"section": "by year", "metric": "deals", "label": "deals", "period": "2019", "unit": "count",
         "a_mean": 9.0, "b_mean": 30.0, "diff_mean": 21.0, "significant": True, "n": 20},
    ])
    table.to_csv(folder / "comparison.csv", index=False)
    (folder / "manifest.json").write_text('{"command": "compare", "a": "tiny", "b": "tiny2"}')
    assert R.detect_kind(folder) == "compare"
    html = Path(R.write_report(folder)).read_text()
    _assert_self_contained(html)
    assert "Key differences" in html
    assert "Deals per year (2018\u20132020) is higher under tiny2: 14 vs 10 under tiny (+40%)." in html
    assert "share with mnc" not in html.split("All outcomes")[0]  # a 1-point change is not a key difference


def test_report_of_a_batch_folder(run_dir, tmp_path):
    folder = tmp_path / "batch"
    (folder / "runs").mkdir(parents=True)
    rng = np.random.default_rng(1)
    runs = pd.DataFrame({"point": np.repeat(np.arange(5), 4), "replication": np.tile(np.arange(4), 5),
                         "seed": np.arange(20), "status": ["ok"] * 19 + ["failed"],
                         "error": [None] * 19 + ["ValueError: boom"],
                         "drivers.funding.scale": np.repeat(np.linspace(0.5, 1.5, 5), 4),
                         "deals_per_year": rng.normal(40, 5, 20)})
    runs.to_parquet(folder / "runs" / "part-00000.parquet", index=False)
    (folder / "deals" / "point=0").mkdir(parents=True)
    shutil.copy(run_dir / "deals.parquet", folder / "deals" / "point=0" / "replication-0.parquet")
    (folder / "manifest.json").write_text('{"experiment": {"name": "grid"}}')
    assert R.detect_kind(folder) == "batch"
    html = Path(R.write_report(folder)).read_text()
    _assert_self_contained(html)
    for text in ("Runs", "runs ok", "19", "Distributions across runs", "Failed runs", "ValueError: boom",
                 "Market charts"):
        assert text in html, text


@pytest.fixture(scope="module")
def smoke_batch(tmp_path_factory) -> Path:
    """A real `licsim batch experiments/smoke.yaml` folder, analysed with `licsim analyze`."""
    out = tmp_path_factory.mktemp("report_batch") / "smoke"
    res = _cli("batch", "experiments/smoke.yaml", "--workers", "1", "--out", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    res = _cli("analyze", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    assert (out / "runs").is_dir() and (out / "deals").is_dir() and list((out / "analysis").glob("*.png"))
    return out


def test_report_of_a_real_batch_folder(smoke_batch):
    res = _cli("report", str(smoke_batch))
    assert res.returncode == 0, res.stderr
    path = Path(res.stdout.strip().splitlines()[-1])
    assert path == smoke_batch / "report.html"
    html = path.read_text()
    _assert_self_contained(html)
    manifest = json.loads((smoke_batch / "manifest.json").read_text())
    assert "<title>licsim report: smoke</title>" in html  # the experiment's name, from the manifest
    for text in ("Experiment", "grid (4 points, 3 replications, 12 runs)", "runs ok", "runs failed",
                 "Outcomes by design point", "Outcomes across all runs", "Analysis (licsim analyze)",
                 "Market charts", "Largest deals"):
        assert text in html, text
    for name in manifest["outcomes"]:
        assert name in html, name
    for p in manifest["parameters"]:
        assert p["path"] in html, p["path"]
    # per-point means of the runs table
    runs = pd.read_parquet(smoke_batch / "runs")
    assert len(runs) == 12
    per_point = html.split("Outcomes by design point")[1].split("</table>")[0]
    for mean in runs[runs.status == "ok"].groupby("point")["deals_2024"].mean():
        assert R.number_for_people(mean, "deals_2024") in per_point, mean
    # every chart `licsim analyze` drew is embedded as is
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    for png in sorted((smoke_batch / "analysis").glob("*.png")):
        assert base64.b64encode(png.read_bytes()).decode("ascii") in images, png.name
    assert len(images) >= len(list((smoke_batch / "analysis").glob("*.png"))) + 4 + 1  # + deal charts, histograms
    assert "Table: runs" not in html and "Table: analysis/points.csv" not in html  # summarised, not dumped


def test_report_of_a_sensitivity_batch_embeds_its_indices(tmp_path):
    from sim.experiments.analysis import analyze
    from sim.experiments.batch import run_batch
    from sim.experiments.executors import SerialExecutor
    from sim.experiments.loader import load_experiment
    from sim.experiments.toy import toy_run

    exp = tmp_path / "sens.yaml"
    exp.write_text("name: sens\nbase: baseline\ndesign: {kind: sobol, samples: 8}\n"
                   "parameters:\n  drivers.funding.scale: {low: 0.5, high: 1.5}\n"
                   "  mnc.trust_sensitivity: {low: 0.0, high: 0.2}\n"
                   "outcomes: [deals_2024, upfront_usd_2024]\n")
    out = tmp_path / "out"
    assert run_batch(load_experiment(exp), out, SerialExecutor(), run_fn=toy_run, progress=False).complete
    before = R.build_report(out)
    _assert_self_contained(before)
    assert "licsim analyze" in before and "Sobol indices" not in before  # says how to get the analysis
    assert "Market charts" not in before  # no deal ledgers kept
    analyze(out)
    html = R.build_report(out)
    _assert_self_contained(html)
    assert "Sobol indices" in html and "analysis/sobol.csv" in html
    for name in ("deals_2024", "upfront_usd_2024"):
        png = out / "analysis" / f"sensitivity_{name}.png"
        assert png.is_file()
        assert base64.b64encode(png.read_bytes()).decode("ascii") in html
        assert f"sensitivity of {name}" in html


def test_report_of_a_folder_with_only_pictures_and_tables(tmp_path):
    from sim.interfaces.dashboard.panels import to_png
    from matplotlib.figure import Figure

    fig = Figure()
    fig.subplots().plot([1, 2, 3])
    (tmp_path / "plot.png").write_bytes(to_png(fig))
    pd.DataFrame({"a": [1, 2]}).to_csv(tmp_path / "t.csv", index=False)
    assert R.detect_kind(tmp_path) == "files"
    html = R.build_report(tmp_path)
    _assert_self_contained(html)
    assert "plot.png" in html and "t.csv" in html


def test_report_rejects_what_is_not_a_result_folder(tmp_path):
    res = _cli("report", str(tmp_path / "missing"))
    assert res.returncode == 2 and "no such folder" in res.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    res = _cli("report", str(empty))
    assert res.returncode == 2 and "not a result folder" in res.stderr
    assert not (empty / "report.html").exists()


def test_key_differences_wording():
    a = pd.DataFrame({"deals_per_year": [10.0, 11.0, 9.0], "share_mnc": [0.4, 0.42, 0.38]})
    b = pd.DataFrame({"deals_per_year": [15.0, 16.0, 14.0], "share_mnc": [0.41, 0.40, 0.42]})
    lines = R.key_differences(a, b, ("A", "B"))
    assert lines == ["Deals signed per year is higher under B: 15 vs 10 under A (+50%)."]
    same = R.key_differences(a, a, ("A", "B"))
    assert "differ by less than" in same[0]


TINY_A = """\
name: rep_a
extends: baseline
end: 2024-12
population: {biotechs: 50, top_mncs: 5, mid_size: 10, incubators: 2, regional: 4}
expectations: {funding_memory_months: 1, funding_trend_months: 0}
"""
TINY_B = """\
name: rep_b
extends: a.yaml
drivers:
  funding:
    shocks: [{at: 2023-01, change: 0.6, ramp_months: 3}]
"""


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory):
    """A real `licsim compare` folder of two tiny scenarios, and what the command printed."""
    tmp_path = tmp_path_factory.mktemp("compare")
    (tmp_path / "a.yaml").write_text(TINY_A)
    (tmp_path / "b.yaml").write_text(TINY_B)
    out = tmp_path / "cmp"
    res = subprocess.run([sys.executable, "-m", "sim.interfaces.cli", "compare", str(tmp_path / "a.yaml"),
                          str(tmp_path / "b.yaml"), "-n", "3", "-w", "1", "--out", str(out)], cwd=REPO,
                         capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "80"})
    assert res.returncode == 0, res.stderr[-2000:]
    return out, res.stdout


def test_report_of_a_real_compare_folder_agrees_with_the_cli(compare_dir):
    """The report of `licsim compare` opens with the answer, says its window, and its numbers are
    those the command printed (the old report averaged every simulated year instead)."""
    out, stdout = compare_dir
    cli_row = next(line for line in stdout.splitlines() if line.strip().startswith("deals per year"))
    html = Path(R.write_report(out)).read_text()
    _assert_self_contained(html)
    _assert_numbers_for_people(html)
    headings = re.findall(r"<h2>([^<]*)</h2>", html)
    assert headings[0] == "Key differences: rep_b against rep_a, 2023\u20132024", headings
    assert headings[1] == "Charts" and headings[-1] == "Settings (manifest.json)", headings
    row = re.search(r"<tr><td>deals per year</td>(.*?)</tr>", html).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert " ".join(cells).strip() == " ".join(cli_row.split()[3:]), (cells, cli_row)  # A, B, B - A, CI, star


@pytest.mark.parametrize("which", ["run", "compare"])
def test_nothing_runs_off_the_page(which, run_dir, compare_dir):
    """The report on an A4 page (print, 794 px wide): no table or chart wider than the page."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    path = R.write_report(run_dir if which == "run" else compare_dir[0])
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 794, "height": 1123})
        page.emulate_media(media="print")
        page.goto(path.as_uri())
        wide = page.evaluate("""() => Array.from(document.querySelectorAll('table, img, figure, ul, p'))
            .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map(e => e.tagName + ' ' + e.getBoundingClientRect().right)""")
        width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        browser.close()
    assert not wide and width[0] <= width[1], (wide, width)
