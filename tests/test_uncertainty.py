"""Parameter uncertainty: per-replication values act exactly like the scenario's number, draws are
reproducible per replication, summaries separate the spread over parameters from Monte Carlo error."""

import csv
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, SCENARIOS

from sim.analysis.uncertainty_file import load_uncertainty
from sim.cli import main
from sim.errors import ScenarioError, SimError
from sim.experiment.stats import over_draws
from sim.model.model import ScenarioModel, run_scenario
from sim.model.uncertain import draw_parameters
from sim.scenario.distributions import Distribution
from sim.scenario.loader import load_scenario
from sim.scenario.uncertainty import Uncertainty, from_json, to_json

NIGER = SCENARIOS / "niger-2024.toml"
TUNE = ROOT / "tuning" / "niger-tune.toml"


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


@pytest.mark.parametrize("overrides", [(), ("parameters.balance_form=marvel",), ("meta.rule=landscape",)])
def test_a_value_drawn_per_replication_acts_exactly_like_the_scenarios_number(overrides):
    values = {"balance_rate": [0.05, 0.3, 0.0, 1.7], "withdraw_delay": [2.0, 6.0, 12.0, 30.0],  # a lognormal median
              "shock_scale": [0.5, 1.0, 2.0, 1.0], "expel_threshold": [-0.1, -0.3, -0.6, -0.2],  # read by expressions
              "inertia": [0.0, 0.05, 0.2, 0.5], "noise": [0.0, 0.02, 0.1, 0.05], "capability_weight": [0, 1, 2, 3],
              "camp_rate": [0.0, 0.05, 0.5, 0.1]}
    scenario = load_scenario(NIGER, list(overrides))
    together = ScenarioModel(scenario, 3, [0, 1, 2, 3], varying={k: np.array(v, float) for k, v in values.items()}).run()
    for k in range(4):
        fixed = load_scenario(NIGER, list(overrides) + [f"parameters.{n}={v[k]}" for n, v in values.items()])
        alone = ScenarioModel(fixed, 3, [k]).run()
        for o in scenario.outcomes:
            assert same(together.outcomes[o.id][k:k + 1], alone.outcomes[o.id]), (k, o.id)


def uniform(name, low, high):
    return Distribution("uniform", (("low", low), ("high", high)))


UNC = Uncertainty("test", ("balance_rate", "expel_rate"), ((0.0, 0.2), (0.05, 1.0)),
                  (uniform("balance_rate", 0.0, 0.2), uniform("expel_rate", 0.05, 1.0)), per_draw=5)


def test_replication_k_draws_the_same_values_and_runs_the_same_alone_or_in_a_batch():
    scenario = load_scenario(NIGER)
    batch = run_scenario(scenario, 4, 30, uncertainty=UNC)
    for k in (0, 7, 29):
        alone = run_scenario(scenario, 4, [k], uncertainty=UNC)
        for name in UNC.names:
            assert alone.drawn[name][0] == batch.drawn[name][k]
        for o in scenario.outcomes:
            assert same(alone.outcomes[o.id], batch.outcomes[o.id][k:k + 1])


def test_replications_of_one_draw_share_values_and_draws_stay_in_range():
    drawn = draw_parameters(UNC, 9, np.arange(200))
    rate = drawn["balance_rate"].reshape(40, 5)
    assert (rate == rate[:, :1]).all()                      # 5 replications per draw
    assert len(np.unique(rate[:, 0])) == 40                 # every draw its own value
    assert rate.min() >= 0.0 and rate.max() <= 0.2
    assert abs(rate.mean() - 0.1) < 0.03
    assert not np.array_equal(drawn["balance_rate"], draw_parameters(UNC, 10, np.arange(200))["balance_rate"])
    normal = Uncertainty("t", ("noise",), ((0.0, 0.06),), (Distribution("normal", (("mean", 0.03), ("sd", 0.01))),),
                         per_draw=1)
    values = draw_parameters(normal, 1, np.arange(20000))["noise"]
    assert values.min() >= 0.0 and values.max() <= 0.06     # kept within mean +- 3 sd
    assert from_json(json.loads(json.dumps(to_json(UNC)))) == UNC


def test_a_joint_sample_keeps_its_rows_together():
    rows = ((0.01, 0.1), (0.02, 0.2), (0.03, 0.3))
    sample = Uncertainty("s", ("balance_rate", "expel_rate"), ((0.01, 0.03), (0.1, 0.3)), sample=rows, per_draw=2)
    drawn = draw_parameters(sample, 3, np.arange(300))
    pairs = set(zip(drawn["balance_rate"].tolist(), drawn["expel_rate"].tolist()))
    assert pairs == set(rows)


def test_spread_over_draws_separates_parameters_from_noise():
    rng = np.random.default_rng(0)
    draws = np.repeat(np.arange(100), 50)
    decided = np.repeat(rng.random(100) < 0.5, 50).astype(float)   # each draw settles it: all parameters
    spread = over_draws(decided, draws, True)
    assert spread.parameter_share > 0.99 and spread.range90 == (0.0, 1.0)
    coin = (rng.random(5000) < 0.3).astype(float)                   # parameters irrelevant: all noise
    spread = over_draws(coin, draws, True)
    assert spread.parameter_share < 0.05
    assert spread.mean_ci95[0] < 0.3 < spread.mean_ci95[1]


def test_sim_run_reports_both_and_records_the_draws(tmp_path, capsys):
    code = main(["run", str(NIGER), "--reps", "60", "--uncertainty", str(TUNE), "--per-draw", "10", "--no-plots",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "90% of parameter draws" in out and "6 draws of 10 replications" in out
    assert "Monte Carlo error of the runs and the parameter draws" in out
    (folder,) = (tmp_path / "niger-2024").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["outcomes"]["us_withdrawn"]["over_parameters"]["draws"] == 6
    assert summary["uncertainty"]["per_draw"] == 10
    with (folder / "outcomes.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["draw"]) for r in rows] == [k // 10 for k in range(60)]
    assert len({r["parameters.balance_rate"] for r in rows}) == 6
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["uncertainty"]["source"] == str(TUNE)
    capsys.readouterr()
    assert main(["replay", str(folder), "--replication", "3"]) == 2  # not a false "DIFFERS"
    assert "drew parameter values per replication (--uncertainty)" in capsys.readouterr().err


def test_uncertainty_files_are_checked(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[parameters]]\nkey = "actors.us.capability"\nlow = 1\nhigh = 2\n')
    with pytest.raises(ScenarioError, match="parameter uncertainty draws the scenario's parameters only"):
        load_uncertainty(bad, NIGER, 20)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("parameters.nope\n1\n")
    with pytest.raises(ScenarioError, match="'nope' is not a parameter of"):
        load_uncertainty(unknown, NIGER, 20)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("parameters.balance_rate,loss\n0.1,3\n0.2\n")
    with pytest.raises(SimError, match=r"ragged.csv:3: 1 fields, expected 2"):
        load_uncertainty(ragged, NIGER, 20)
    outside = tmp_path / "outside.csv"
    outside.write_text("parameters.balance_rate\n0.1\n-4\n")
    with pytest.raises(ScenarioError, match="its values reach -4"):
        load_uncertainty(outside, NIGER, 20)
    code = main(["run", str(NIGER), "--uncertainty", str(ragged), "--out", str(tmp_path)])
    assert code == 2 and "ragged.csv:3" in capsys.readouterr().err


def test_batch_with_uncertainty_is_the_same_serial_and_parallel_and_records_events(tmp_path):
    outs = []
    for executor in ("serial", "process"):
        out = tmp_path / executor
        assert main(["batch", str(NIGER), "--reps", "40", "--chunk-size", "15", "--uncertainty", str(TUNE),
                     "--per-draw", "4", "--executor", executor, "--jobs", "2", "--out", str(out), "--quiet"]) == 0
        (folder,) = out.glob("batch-*")
        outs.append(folder)
    for name in ("runs.parquet", "events.parquet", "points.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    runs = pq.read_table(outs[0] / "runs.parquet").to_pandas()
    assert (runs["draw"] == runs["replication"] // 4).all()
    scenario = load_scenario(NIGER)
    direct = run_scenario(scenario, scenario.meta.seed, 40, uncertainty=load_uncertainty(TUNE, NIGER, 4))
    assert np.allclose(runs["parameters.balance_rate"], direct.drawn["balance_rate"])
    events = pq.read_table(outs[0] / "events.parquet").to_pandas()
    ids = [e.id for e in scenario.events]
    for row in events.itertuples():
        e = ids.index(row.event)
        assert direct.first_fired[row.replication, e] == row.first_step
        assert direct.fired_count[row.replication, e] == row.count
    assert len(events) == int(np.count_nonzero(direct.fired_count))


def test_batch_resume_keeps_the_uncertainty(tmp_path):
    assert main(["batch", str(NIGER), "--reps", "20", "--chunk-size", "10", "--uncertainty", str(TUNE),
                 "--executor", "serial", "--out", str(tmp_path), "--quiet"]) == 0
    (folder,) = tmp_path.glob("batch-*")
    first = (folder / "runs.parquet").read_bytes()
    for chunk in sorted((folder / "chunks").glob("*.npz"))[1:]:
        chunk.unlink()
    assert main(["batch", "--resume", str(folder), "--executor", "serial", "--quiet"]) == 0
    assert (folder / "runs.parquet").read_bytes() == first
    code = main(["batch", "--resume", str(folder), "--uncertainty", str(TUNE), "--quiet"])
    assert code == 2
