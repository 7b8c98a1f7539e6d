import json
import re

import pyarrow.parquet as pq
import pytest
from conftest import DATA, ROOT, SCENARIOS, made
from matplotlib import image
from scipy import stats

from sim.cli import main
from sim.experiment.stats import compare_means


def batch(out, *args):
    before = set(out.glob("batch-*")) if out.exists() else set()
    assert main(["batch", *map(str, args), "--out", str(out), "--quiet", "--executor", "serial"]) == 0
    (folder,) = set(out.glob("batch-*")) - before
    return folder


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    out = tmp_path_factory.mktemp("batches")
    shared = batch(out, SCENARIOS / "niger-2024.toml", SCENARIOS / "niger-us-deal.toml", "--reps", "300")
    other_seed = batch(out, SCENARIOS / "niger-ecowas-intervenes.toml", "--reps", "300", "--seed", "99")
    return shared, other_seed


@pytest.fixture(scope="module")
def report(batches, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert main(["compare", *map(str, batches), "--baseline", "niger-2024", "--out", str(out),
                 "--series", "niger:us,niger:russia_bloc"]) == 0
    return made(out)


def runs(folder, scenario):
    table = pq.read_table(folder / "runs.parquet").to_pandas()
    return table[table.scenario == scenario].sort_values("replication")


def test_report_files_and_order(report):
    md = (report / "report.md").read_text()
    order = [md.index(s) for s in ("## What each variant changes", "## Outcomes by scenario",
                                   "## Differences from the baseline", "![")]
    assert order == sorted(order)
    assert "| `outcomes.deal_struck` | (absent) | {description = \"The access deal for Airbase 201 was struck\", " \
           "expr = \"fired(us_access_deal)\"} |" in md
    html = (report / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 5 and not re.search(r"src='[^d]", html)
    for name in ("probabilities.png", "fan-niger-us.png", "fan-niger-russia_bloc.png", "time-to-us_out_step.png",
                 "presence.png"):
        pixels = image.imread(report / name)
        assert pixels[..., :3].std() > 0.05, name


def test_numbers_are_recomputed_from_the_runs(batches, report):
    shared, other = batches
    numbers = json.loads((report / "comparison.json").read_text())
    base, deal = runs(shared, "niger-2024"), runs(shared, "niger-us-deal")
    ecowas = runs(other, "niger-ecowas-intervenes")
    by_label = {s["label"]: s for s in numbers["scenarios"]}
    assert by_label["niger-2024"]["estimates"]["us_keeps_201"]["estimate"] == base["us_keeps_201"].mean()
    d = by_label["niger-us-deal"]["differences"]["us_keeps_201"]
    assert by_label["niger-us-deal"]["paired"] and d["test"] == "paired (McNemar exact)"
    diff = deal["us_keeps_201"].to_numpy(int) - base["us_keeps_201"].to_numpy(int)
    assert d["difference"] == pytest.approx(diff.mean())
    assert d["p_value"] == pytest.approx(stats.binomtest(int((diff > 0).sum()), int((diff != 0).sum())).pvalue)
    w = by_label["niger-ecowas-intervenes"]["differences"]["niger_toward_west"]
    assert not by_label["niger-ecowas-intervenes"]["paired"] and w["test"] == "Welch t"
    assert w["p_value"] == pytest.approx(stats.ttest_ind(ecowas["niger_toward_west"], base["niger_toward_west"],
                                                         equal_var=False).pvalue)
    md = (report / "report.md").read_text()
    assert f"| us_keeps_201 | probability | {d['difference']:+.3f} | [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] |" in md
    assert "**Paired comparison**: niger-us-deal and niger-2024 share seed 7" in md
    assert "Unpaired comparison: niger-ecowas-intervenes and niger-2024 do not share seeds" in md


def test_paired_comparison_is_much_tighter(batches):
    shared, _ = batches
    a = runs(shared, "niger-2024")["niger_toward_west"].to_numpy()
    b = runs(shared, "niger-us-deal")["niger_toward_west"].to_numpy()
    paired, unpaired = compare_means(a, b, paired=True), compare_means(a, b, paired=False)
    assert paired.difference == pytest.approx(unpaired.difference)
    width = (lambda r: r.ci95[1] - r.ci95[0])
    assert width(paired) < 0.6 * width(unpaired)  # common random numbers: same runs, same noise


def test_svg_format_and_sweep_plots(tmp_path):
    sweep = batch(tmp_path / "b", SCENARIOS / "niger-2024.toml", "--sweep", ROOT / "sweeps" / "balance-vs-threshold.toml",
                  "--reps", "20")
    out = tmp_path / "r"
    assert main(["compare", str(sweep), "--out", str(out), "--format", "svg", "--outcomes", "us_withdrawn"]) == 0
    out = made(out)
    assert (out / "sweep-niger-2024-us_withdrawn.svg").read_text().lstrip().startswith("<?xml")
    assert "data:image/svg+xml;base64," in (out / "report.html").read_text()


def test_bad_options_are_clear(batches, tmp_path, capsys):
    assert main(["compare", str(batches[0]), "--baseline", "nigr", "--out", str(tmp_path)]) == 2
    assert "--baseline nigr: no such scenario; found niger-2024, niger-us-deal" in capsys.readouterr().err
    assert main(["compare", str(batches[0]), "--outcomes", "us_withdrawm", "--out", str(tmp_path)]) == 2
    assert ("'us_withdrawm' is not an outcome of niger-2024 or any other scenario compared (did you mean "
            "'us_withdrawn'?)") in capsys.readouterr().err


def test_ablation_ranks_events_by_paired_difference(tmp_path):
    out = tmp_path / "ablation"
    assert main(["compare", "--ablate-events", str(DATA / "tiny.toml"), "--reps", "4", "--out", str(out)]) == 0
    out = made(out)
    rows = json.loads((out / "ablation.json").read_text())["rows"]
    by = {(r["event"], r["outcome"]): r for r in rows}
    assert by[("shock", "a_to_pair")]["difference"] == pytest.approx(0.1)  # r(a,b) stays 0.5 instead of 0.3
    assert by[("shock", "b_gone")]["difference"] == -1.0  # no shock, no withdrawal
    assert by[("arrive", "b_gone")]["difference"] == 0.0
    ranking = [line.split(",")[2] for line in (out / "ablation.csv").read_text().splitlines()[1:]
               if line.startswith("b_gone,")]
    assert ranking[:2] == ["shock", "withdraw"] and ranking[-1] == "arrive"
    assert (out / "ablation-b_gone.png").is_file() and "## b_gone (probability)" in (out / "report.md").read_text()


def test_ablation_runs_through_the_executors_with_the_same_numbers(tmp_path):
    rows = {}
    for name, options in (("serial", ["--executor", "serial"]), ("pool", ["--jobs", "2"])):
        out = tmp_path / name
        assert main(["compare", "--ablate-events", "scenarios/niger-2024.toml", "--reps", "30", "--outcomes",
                     "us_withdrawn,niger_toward_west", "--out", str(out), *options]) == 0
        rows[name] = json.loads((made(out) / "ablation.json").read_text())["rows"]
    assert rows["serial"] == rows["pool"] and len(rows["serial"]) > 20
