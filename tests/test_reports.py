"""Reports that explain: the what-if comparison in one command, timing differences, network outputs,
sensitivity warnings, and the report as a real browser shows it (every image loads, nothing leaves)."""

import json
import shutil

import numpy as np
import pytest
from conftest import DATA, SCENARIOS, made

from sim.analysis.sensitivity import METHODS, sensitivity_warnings
from sim.cli import EXAMPLES, _parser, main
from sim.experiment.stats import compare_timing, format_p
from sim.model.model import run_scenario
from sim.scenario.loader import load_scenario

NIGER = SCENARIOS / "niger-2024.toml"


@pytest.fixture(scope="module")
def what_if(tmp_path_factory):
    root = tmp_path_factory.mktemp("what-if")
    assert main(["compare", str(NIGER), "--set", "parameters.balance_rate=0.02", "--reps", "200", "--executor",
                 "serial", "--out", str(root), "--quiet"]) == 0
    batch = next(root.glob("batch-*"))
    report = next(root.glob("compare-*"))
    return batch, report


def test_compare_runs_a_paired_what_if_in_one_command(what_if):
    batch, report = what_if
    numbers = json.loads((report / "comparison.json").read_text())
    labels = [s["label"] for s in numbers["scenarios"]]
    assert labels == ["niger-2024", "niger-2024-what-if"]
    variant = numbers["scenarios"][1]
    assert variant["paired"] is True
    assert variant["changes"] == [["parameters.balance_rate", "0.061", "0.02"]]
    assert set(variant["timing"]) == {"russia_arrival_step", "france_out_step", "us_out_step"}
    text = (report / "report.md").read_text()
    assert "When first-hit outcomes happen" in text
    assert "us_withdrawn: " in text  # outcomes carry their descriptions
    for name in ("network-0-niger-2024.png", "network-1-niger-2024-what-if.png", "camps-0-niger-2024.png"):
        assert (report / name).is_file()
    # the network a batch records is the sum of its chunks: the same as one run of all its replications
    network = json.loads(next((batch / "network").glob("000-*.json")).read_text())
    direct = run_scenario(load_scenario(NIGER), replications=200).network
    assert network["count"] == 200 and np.allclose(network["relations"], direct.relations)
    assert network["splits"] == direct.splits


def test_a_what_if_that_changes_nothing_is_refused(tmp_path, capsys):
    assert main(["compare", str(NIGER), "--set", "parameters.balance_rate=0.061", "--out", str(tmp_path)]) == 2
    assert "--set changes nothing in the scenario" in capsys.readouterr().err
    assert main(["compare", str(NIGER), "--out", str(tmp_path)]) == 2
    assert "give the what-if's changes with --set" in capsys.readouterr().err


def test_timing_difference_finds_a_known_shift():
    rng = np.random.default_rng(1)
    base = rng.integers(10, 60, 400).astype(float)
    base[:40] = np.nan                      # never happens in some runs
    paired = compare_timing(base, base - 5, paired=True)
    assert paired.difference == -5 and paired.ci95 == (-5, -5) and paired.n == 360
    other = rng.integers(20, 70, 400).astype(float)
    unpaired = compare_timing(base, other, paired=False)
    assert unpaired.ci95[0] < unpaired.difference < unpaired.ci95[1]
    assert 3 < unpaired.difference < 17
    assert format_p(0.0004) == "< 0.001" and format_p(0.0123) == "0.0123"


def test_sensitivity_warns_when_indices_exceed_one_or_intervals_are_wide():
    rows = [{"outcome": "o", "parameter": "a", "S1": 1.2, "S1_conf": 0.05, "ST": 0.5, "ST_conf": 0.3},
            {"outcome": "o", "parameter": "b", "S1": 0.1, "S1_conf": 0.01, "ST": 0.2, "ST_conf": 0.02}]
    warnings = sensitivity_warnings(rows, "sobol")
    assert len(warnings) == 2
    assert "S1 of a is 1.20, above 1" in warnings[0] and "ST of a is 0.50 +- 0.30" in warnings[1]
    assert sensitivity_warnings(rows, "morris") == []


def test_each_sensitivity_method_is_offered_and_reported():
    from sim.report.tuning_reports import SHOWN

    sub = next(a for a in _parser()._actions if a.dest == "command").choices["sensitivity"]
    method = next(a for a in sub._actions if a.dest == "method")
    assert tuple(method.choices) == tuple(METHODS) == tuple(SHOWN)  # the command line, the analysis, the report


def test_every_command_has_examples_and_there_is_a_version(capsys):
    parser = _parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) == set(EXAMPLES)
    for name, sub in commands.items():
        assert sub.format_help().rstrip().endswith(EXAMPLES[name][-1]), name
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("sim ")


def test_ablation_leaves_out_events_that_change_nothing(tmp_path):
    assert main(["compare", "--ablate-events", str(DATA / "tiny.toml"), "--reps", "4", "--outcomes", "a_to_pair",
                 "--out", str(tmp_path)]) == 0
    text = (made(tmp_path) / "report.md").read_text()
    assert "event(s) left out: switching them off changes a_to_pair in no replication" in text
    assert "| 1 | shock" in text and "arrive (" not in text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (apt-get install -y chromium)")
def test_the_report_in_a_real_browser(what_if):
    from playwright.sync_api import sync_playwright

    _, report = what_if
    url = (report / "report.html").as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        errors, requests = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url)
        page.wait_for_load_state("load")
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        browser.close()
    assert len(widths) >= 10 and all(w > 0 for w in widths)
    assert not errors
    assert all(u == url or u.startswith("data:") for u in requests)  # nothing leaves the file


def test_plots_with_a_hundred_marked_events_and_long_names_grow_instead_of_failing(tmp_path):
    import datetime as dt

    from PIL import Image

    from sim.model.model import run_scenario
    from sim.plots import network_figures, network_plots, run_plots
    from sim.scenario.loader import load_scenario

    scenario = load_scenario("scenarios/niger-2024.toml")
    result = run_scenario(scenario, replications=20)
    few = run_plots.event_marks(scenario, result)
    many = [(dt.date(2024, 1, 1) + dt.timedelta(days=5 * k), f"an event with a long name, number {k}")
            for k in range(100)]
    for name, marks in (("few", few), ("many", many)):
        run_plots.plot_camps(tmp_path / f"camps-{name}.png", scenario, result, marks)
        run_plots.plot_alignment(tmp_path / f"alignment-{name}.png", scenario, result, marks)
    for kind in ("camps", "alignment"):
        small, big = (Image.open(tmp_path / f"{kind}-{name}.png").size for name in ("few", "many"))
        assert big[0] == small[0] and big[1] > small[1]  # taller by the caption, panels kept
    names = [a.id for a in scenario.actors]
    names[1] = "an actor whose name goes on " * 8
    assert network_plots.plot_camp_membership(result.network, names, scenario.dates, "long",
                                              tmp_path / "membership").exists()  # the comparison report's
    short = network_figures.plot_camp_membership(result.network, [a.id for a in scenario.actors], scenario.dates,
                                                 "short", tmp_path / "short.png")
    long = network_figures.plot_camp_membership(result.network, names, scenario.dates, "long", tmp_path / "long.png")
    (short_w, short_h), (long_w, long_h) = (Image.open(p).size for p in (short, long))
    assert short_h == long_h and long_w > short_w + 1000  # wider by the name, the heat map kept
