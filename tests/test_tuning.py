import csv

import numpy as np
import pytest

from conftest import DATA, ROOT, SCENARIOS
from sim.analysis.backtest import backtest
from sim.analysis.calibration import calibrate
from sim.analysis.sensitivity import run_sensitivity
from sim.analysis.tuning_config import load_tuning
from sim.cli import main
from sim.errors import ScenarioError
from sim.experiment.executors import SerialExecutor
from sim.scenario.loader import load_scenario

SYNTHETIC = DATA / "synthetic.toml"
TRUE = {"parameters.inertia": 0.08, "events.tick.effects[0].delta": 0.05}
OBSERVED = "kind,id,date,value,description\nevent,drift,2024-03-11,true,drift\nevent,alarm,2024-06-10,true,alarm\n"


@pytest.fixture
def observed(tmp_path):
    """The median dates of the synthetic scenario under its true values."""
    path = tmp_path / "observed.csv"
    path.write_text(OBSERVED)
    return path


def config(write_toml, extra: str = "", **head) -> object:
    settings = {"replications": 100, "seed": 5, "samples": 16, "window": 1, "generations": 12, "population": 8} | head
    text = "[tuning]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()) + (
        '[[parameters]]\nkey = "parameters.inertia"\nlow = 0.03\nhigh = 0.3\n'
        '[[parameters]]\nkey = "events.tick.effects[0].delta"\nlow = 0.02\nhigh = 0.2\n') + extra
    return load_tuning(write_toml(text, "tune.toml"))


def test_calibration_recovers_the_true_values(write_toml, observed):
    scenario = write_toml(SYNTHETIC.read_text().replace("inertia = 0.08", "inertia = 0.25")
                          .replace("delta = 0.05", "delta = 0.15"), "start.toml")
    result = calibrate(scenario, observed, config(write_toml), SerialExecutor(), report=lambda text: None)
    assert result.loss_after < result.loss_before
    for key, truth in TRUE.items():  # stated tolerance: within 20% of the true value
        assert abs(result.best[key] - truth) / truth < 0.20, (key, result.best[key])


def test_calibrate_cli_writes_a_variant_that_extends_the_scenario(write_toml, observed, tmp_path, capsys):
    tune = write_toml('[tuning]\nreplications = 30\ngenerations = 2\npopulation = 3\n'
                      '[[parameters]]\nkey = "parameters.inertia"\nlow = 0.03\nhigh = 0.3\n', "small.toml")
    out = tmp_path / "cal"
    assert main(["calibrate", str(SYNTHETIC), "--observed", str(observed), "--config", str(tune), "--out", str(out),
                 "--executor", "serial"]) == 0
    text = (out / "calibrated.toml").read_text()
    assert "extends = " in text and "[parameters]" in text
    calibrated = load_scenario(out / "calibrated.toml")
    assert calibrated.meta.name == "synthetic-calibrated"
    fitted = float(next(line for line in (out / "history.csv").read_text().splitlines()[::-1]).split(",")[2])
    assert calibrated.parameter("inertia") == pytest.approx(fitted, rel=1e-5)
    for name in ("report.html", "report.md", "timing.png"):
        assert (out / name).is_file()
    assert "generation 2: best loss" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_sensitivity_ranks_a_parameter_that_does_nothing_last(write_toml, method):
    tune = config(write_toml, '[[parameters]]\nkey = "parameters.unused"\nlow = 0.0\nhigh = 1.0\n', replications=40)
    result = run_sensitivity(SYNTHETIC, tune, method, SerialExecutor())
    rows = result.rows()
    score = "ST" if method == "sobol" else "mu_star"
    for outcome in ("drift_step", "alarm_step"):
        mine = [r for r in rows if r["outcome"] == outcome]
        assert mine[-1]["parameter"] == "parameters.unused"
        assert abs(mine[-1][score]) < 1e-9  # common random numbers: it changes nothing at all
    top = {r["outcome"]: r["parameter"] for r in rows if r["rank"] == 1}
    assert top == {"drift_step": "parameters.inertia", "alarm_step": "events.tick.effects[0].delta"}
    assert max(result.stability().values()) < 0.2


def test_sensitivity_cli_outputs(write_toml, tmp_path):
    tune = write_toml('[tuning]\nreplications = 20\nsamples = 4\n[[parameters]]\nkey = "parameters.inertia"\n'
                      'low = 0.03\nhigh = 0.3\n[[parameters]]\nkey = "parameters.unused"\nlow = 0\nhigh = 1\n', "t.toml")
    out = tmp_path / "sens"
    assert main(["sensitivity", str(SYNTHETIC), "--config", str(tune), "--out", str(out), "--executor", "serial",
                 "--quiet"]) == 0
    rows = list(csv.DictReader((out / "sensitivity.csv").open()))
    assert {r["outcome"] for r in rows} == {"drift_step", "alarm_step"} and len(rows) == 4
    assert len((out / "samples.csv").read_text().splitlines()) == 1 + 4 * (2 + 2)
    assert (out / "sobol-drift_step.png").is_file() and "second seed" in (out / "report.md").read_text()


def test_backtest_numbers(observed, tmp_path):
    result = backtest(SYNTHETIC, observed, reps=200, seed=3)
    drift = result.outcomes["observed_2"]
    assert result.rows[0]["probability_by_date"] == pytest.approx(np.mean(drift <= 10))
    assert result.rows[0]["simulated_median_date"] == "2024-03-11"
    assert result.brier == pytest.approx(np.mean([(1 - r["probability_by_date"]) ** 2 for r in result.rows]))
    assert 0 <= result.weekly_brier < 0.1
    out = tmp_path / "bt"
    assert main(["backtest", str(SYNTHETIC), "--observed", str(observed), "--reps", "200", "--out", str(out)]) == 0
    assert (out / "reliability.png").is_file() and (out / "backtest.csv").is_file()


def test_shipped_timeline_backtests_the_niger_scenario(tmp_path):
    result = backtest(SCENARIOS / "niger-2024.toml", SCENARIOS / "observed" / "niger-2023-2024.csv", reps=200)
    assert len(result.rows) == 16 and result.brier < 0.25
    assert load_tuning(ROOT / "tuning" / "niger-tune.toml").keys[0] == "parameters.balance_rate"


def test_bad_observed_and_config_files(write_toml, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,id,date\nevent,drfit,2024-03-11\nstate,presence(b) ==,2024-03-11\nevent,drift,2030-01-01\n")
    with pytest.raises(ScenarioError) as info:
        backtest(SYNTHETIC, bad)
    assert [str(p) for p in info.value.problems] == [
        f"{bad}: line 2: unknown event 'drfit' (did you mean 'drift'?)",
        f"{bad}: line 3: state 'presence(b) ==': unexpected end of text at column 15",
        f"{bad}: line 4: date 2030-01-01: expected a date after the start (2024-01-01) and no later than the last "
        "step (2024-10-07)",
    ]
    with pytest.raises(ScenarioError) as info:
        load_tuning(write_toml('[[parameters]]\nkey = "parameters.noise"\nlow = 0.2\nhigh = 0.1\nmean = 1\n', "c.toml"))
    assert [str(p) for p in info.value.problems] == [
        f"{tmp_path / 'c.toml'}: parameters[0].mean: 'mean' is not used by a uniform distribution (it takes low, high)",
        f"{tmp_path / 'c.toml'}: parameters[0]: found low = 0.2 and high = 0.1, expected low < high",
    ]
