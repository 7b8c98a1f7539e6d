import csv
import dataclasses
import datetime as dt

import numpy as np
import pytest
from conftest import DATA, ROOT, SCENARIOS, made
from scipy import stats

from sim.analysis import scores
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
    out = made(out)
    text = (out / "calibrated.toml").read_text()
    assert "extends = " in text and "[parameters]" in text
    calibrated = load_scenario(out / "calibrated.toml")
    assert calibrated.meta.name == "synthetic-calibrated"
    fitted = float(next(line for line in (out / "history.csv").read_text().splitlines()[::-1]).split(",")[4])
    assert calibrated.parameter("inertia") == pytest.approx(fitted, rel=1e-5)
    for name in ("report.html", "report.md", "timing.png", "convergence.png", "plausible.csv"):
        assert (out / name).is_file()
    captured = capsys.readouterr()
    assert "generation 2: best loss" in captured.err
    assert "within the 95% likelihood-ratio bound" in captured.out
    assert "converged" in captured.out  # converged or "warning: not converged", said in the output
    plausible = (out / "plausible.csv").read_text().splitlines()
    assert plausible[0] == "parameters.inertia,loss"
    assert float(plausible[1].split(",")[0]) == pytest.approx(fitted, rel=1e-5)  # best first
    # the plausible set feeds parameter uncertainty
    assert main(["run", str(out / "calibrated.toml"), "--uncertainty", str(out / "plausible.csv"), "--reps", "20",
                 "--no-plots", "--out", str(tmp_path / "runs")]) == 0
    assert "90% of parameter draws" in capsys.readouterr().out


def test_calibration_says_how_well_it_knows(write_toml, observed):
    scenario = write_toml(SYNTHETIC.read_text().replace("inertia = 0.08", "inertia = 0.25")
                          .replace("delta = 0.05", "delta = 0.15"), "start.toml")
    result = calibrate(scenario, observed, config(write_toml), SerialExecutor(), report=lambda text: None)
    assert result.bound == pytest.approx(stats.chi2.ppf(0.95, 2) / 2)
    best = min(loss for _, loss in result.evaluated)
    kept = result.plausible()
    assert kept[0][1] == best and all(loss <= best + result.bound for _, loss in kept)
    assert len(kept) < len(result.evaluated)
    ranges = result.plausible_ranges()
    for key, truth in TRUE.items():  # the true values lie in the plausible ranges
        assert ranges[key][0] <= truth <= ranges[key][1], (key, ranges[key])
    assert len(result.generations) == result.config.generations + 1
    assert [g["best"] for g in result.generations] == sorted([g["best"] for g in result.generations], reverse=True)


def test_a_value_fitted_at_its_bound_is_warned_about_in_the_output(write_toml, observed, tmp_path, capsys):
    tune = write_toml('[tuning]\nreplications = 30\ngenerations = 2\npopulation = 3\n'
                      '[[parameters]]\nkey = "parameters.inertia"\nlow = 0.2\nhigh = 0.3\n', "edge.toml")
    assert main(["calibrate", str(SYNTHETIC), "--observed", str(observed), "--config", str(tune), "--out",
                 str(tmp_path / "cal"), "--executor", "serial"]) == 0
    out = capsys.readouterr().out
    assert "warning: parameters.inertia = 0.2 is at the edge of its search range (0.2 to 0.3)" in out
    assert "Warning" in (made(tmp_path / "cal") / "report.md").read_text()


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
    out = made(out)
    rows = list(csv.DictReader((out / "sensitivity.csv").open()))
    assert {r["outcome"] for r in rows} == {"drift_step", "alarm_step"} and len(rows) == 4
    assert len((out / "samples.csv").read_text().splitlines()) == 1 + 4 * (2 + 2)
    assert (out / "sobol-drift_step.png").is_file() and "second seed" in (out / "report.md").read_text()


def test_backtest_numbers(observed, tmp_path):
    result = backtest(SYNTHETIC, observed, reps=200, seed=3)
    drift = result.outcomes["observed_0"]
    assert result.rows[0]["probability"] == pytest.approx(np.mean(drift <= 10))
    assert result.rows[0]["simulated_median_date"] == "2024-03-11"
    assert result.brier == pytest.approx(np.mean([(1 - r["probability"]) ** 2 for r in result.rows]))
    assert 0 <= result.weekly_brier < 0.1
    out = tmp_path / "bt"
    assert main(["backtest", str(SYNTHETIC), "--observed", str(observed), "--reps", "200", "--out", str(out)]) == 0
    out = made(out)
    assert (out / "reliability.png").is_file() and (out / "backtest.csv").is_file()



def test_shipped_timelines_backtest_the_shipped_scenarios(tmp_path):
    niger = backtest(SCENARIOS / "niger-2024.toml", SCENARIOS / "observed" / "niger-2023-2024.csv", reps=100)
    assert {o.id for o, _ in niger.given} == {"coup", "ecowas_sanctions", "aes_charter", "ecowas_lifts_sanctions"}
    assert len(niger.rows) == 19 and niger.skill is not None
    observed = [SCENARIOS / "observed" / name for name in ("sahel-2020-2023.csv", "sahel-2023-2025.csv")]
    sahel = backtest(SCENARIOS / "sahel-2020-2025.toml", observed, reps=100, cutoff=dt.date(2023, 6, 30))
    assert all(dt.date.fromisoformat(r["observed_date"]) > dt.date(2023, 6, 30) for r in sahel.rows)
    assert {r["value"] for r in sahel.rows} == {True, False}  # what did not happen is scored too
    assert load_tuning(ROOT / "tuning" / "niger-tune.toml").keys[0] == "parameters.balance_rate"


def test_bad_observed_and_config_files(write_toml, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,id,date\nevent,drfit,2024-03-11\nstate,presence(b) ==,2024-03-11\nevent,drift,2030-01-01\n")
    with pytest.raises(ScenarioError) as info:
        backtest(SYNTHETIC, bad)
    assert [str(p) for p in info.value.problems] == [
        f"{bad}: line 2: unknown event 'drfit' (did you mean 'drift'?)",
        f"{bad}: line 3: state 'presence(b) ==': unexpected end of text at column 15",
        f"{bad}: line 4: date 2030-01-01: expected a date from the start (2024-01-01) to the last step (2024-10-07)",
    ]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("kind,id,date,value,description\nevent,drift,2024-03-11,true,C\xf4te\n".encode("cp1252"))
    with pytest.raises(ScenarioError) as info:
        backtest(SYNTHETIC, latin)
    assert str(info.value) == (f"{latin}: not UTF-8 text (invalid continuation byte at byte 60); save it as "
                               "UTF-8 CSV")
    with pytest.raises(ScenarioError) as info:
        load_tuning(write_toml('[[parameters]]\nkey = "parameters.noise"\nlow = 0.2\nhigh = 0.1\nmean = 1\n', "c.toml"))
    assert [str(p) for p in info.value.problems] == [
        f"{tmp_path / 'c.toml'}: parameters[0].mean: 'mean' is not used by a uniform distribution (it takes low, high)",
        f"{tmp_path / 'c.toml'}: parameters[0]: found low = 0.2 and high = 0.1, expected low < high",
    ]

# --- the cut-off protocol and skill (issue 10) ---------------------------------------------------------
def test_calibrating_with_a_cutoff_fits_the_early_observations_alone(write_toml, tmp_path):
    """drift happens under inertia 0.08 on 2024-03-11; a later row says relation(a, b) was still above -0.6
    in July, which needs inertia below about 0.035: with the cut-off it is ignored."""
    observed = tmp_path / "o.csv"
    observed.write_text(OBSERVED.splitlines()[0] + "\nevent,drift,2024-03-11,true,drift\n"
                        "state,\"relation(a, b) > -0.6\",2024-07-01,true,a later row that pulls the other way\n")
    scenario = write_toml(SYNTHETIC.read_text().replace("inertia = 0.08", "inertia = 0.25"), "start.toml")
    tune = config(write_toml).values[0]
    cfg = dataclasses.replace(config(write_toml), values=(tune,))
    fitted = calibrate(scenario, observed, cfg, SerialExecutor(), report=lambda text: None,
                       cutoff=dt.date(2024, 6, 1))
    assert [o.id for o in fitted.observed] == ["drift"]
    assert [why for _, why in fitted.left_out] == ["after the cut-off 2024-06-01"]
    assert abs(fitted.best["parameters.inertia"] - 0.08) / 0.08 < 0.20
    everything = calibrate(scenario, observed, cfg, SerialExecutor(), report=lambda text: None)
    assert abs(everything.best["parameters.inertia"] - 0.08) / 0.08 > 0.20  # the later row pulls it away


def test_what_a_scheduled_shock_settles_is_left_out(write_toml, tmp_path):
    path = write_toml(SYNTHETIC.read_text() + """
[events.shock]
kind = "scheduled"
date = 2024-05-06
effects = [{ type = "attribute", actor = "b", attribute = "clock", delta = 1.0 }]
""")
    observed = tmp_path / "o.csv"
    observed.write_text("kind,id,date,value,description\nevent,shock,2024-05-06,true,the shock itself\n"
                        "state,\"attr(b, clock) > 0.5\",2024-06-03,true,only the shock moves b's clock\n"
                        "state,\"fired(shock) and attr(a, clock) > 0.5\",2024-06-03,true,a's clock is decided\n"
                        "event,alarm,2024-06-10,true,alarm\n")
    result = backtest(path, observed, reps=50, cutoff=dt.date(2024, 4, 1))
    assert [(o.id, why) for o, why in result.given] == [
        ("shock", "the scheduled shock shock"), ("attr(b, clock) > 0.5", "only scheduled shocks change it (shock)")]
    assert [r["id"] for r in result.rows] == ["fired(shock) and attr(a, clock) > 0.5", "alarm"]


def test_skill_scores_match_a_hand_computed_example():
    outcome = np.array([1, 0, 1, 1])
    model = np.array([0.9, 0.2, 0.6, 0.5])
    skill = scores.compare_forecasts(outcome, {"model": model, "climatology": scores.climatology(outcome),
                                               "persistence": np.array([1.0, 1.0, 0.0, 1.0])})
    # model: (0.01 + 0.04 + 0.16 + 0.25) / 4 = 0.115; climatology 0.75: (0.0625 * 3 + 0.5625) / 4 = 0.1875
    assert skill.brier == pytest.approx({"model": 0.115, "climatology": 0.1875, "persistence": 0.5})
    assert skill.brier_skill == pytest.approx({"climatology": 1 - 0.115 / 0.1875, "persistence": 1 - 0.115 / 0.5})
    expected_log = -np.mean(np.log([0.9, 0.8, 0.6, 0.5]))
    assert skill.log["model"] == pytest.approx(expected_log)
    assert skill.log["persistence"] == pytest.approx(-np.mean(np.log([0.999, 0.001, 0.001, 0.999])))
    assert scores.reliability(model, outcome, bins=2) == [
        {"bin": "0.0-0.5", "forecast": 0.2, "observed": 0.0, "count": 1},
        {"bin": "0.5-1.0", "forecast": pytest.approx(2.0 / 3), "observed": 1.0, "count": 3}]


def test_a_cutoff_outside_the_scenario_is_an_error(observed, write_toml, capsys):
    assert main(["backtest", str(SYNTHETIC), "--observed", str(observed), "--cutoff", "2030-01-01"]) == 2
    assert capsys.readouterr().err == ("error: --cutoff 2030-01-01 is outside synthetic's dates: expected a date from "
                                       "2024-01-01 to before 2024-10-07\n")
    tune = write_toml('[[parameters]]\nkey = "parameters.inertia"\nlow = 0.03\nhigh = 0.3\n', "t.toml")
    assert main(["calibrate", str(SYNTHETIC), "--observed", str(observed), "--config", str(tune), "--cutoff",
                 "2023-12-31", "--executor", "serial"]) == 2
    assert "error: --cutoff 2023-12-31 is outside synthetic's dates" in capsys.readouterr().err


def test_a_fitted_scenario_is_not_scored_on_what_it_was_fitted_to(observed, write_toml, capsys):
    fitted = write_toml(SYNTHETIC.read_text().replace('name = "synthetic"', 'name = "synthetic"\nfitted_until = '
                                                                          '2024-04-01'), "fitted.toml")
    assert main(["backtest", str(fitted), "--observed", str(observed), "--cutoff", "2024-02-01"]) == 2
    assert "was fitted on observations up to 2024-04-01 (meta.fitted_until)" in capsys.readouterr().err
    result = backtest(fitted, observed, reps=20)  # the cut-off defaults to fitted_until
    assert result.cutoff == dt.date(2024, 4, 1) and [r["id"] for r in result.rows] == ["alarm"]


def test_save_as_never_overwrites_the_scenario_or_what_it_extends(write_toml, observed, tmp_path, capsys):
    tune = write_toml('[tuning]\nreplications = 10\ngenerations = 1\npopulation = 2\n'
                      '[[parameters]]\nkey = "parameters.inertia"\nlow = 0.03\nhigh = 0.3\n', "small.toml")
    base = tmp_path / "base.toml"
    base.write_text(SYNTHETIC.read_text())
    variant = write_toml('extends = "base.toml"\n[meta]\nname = "v"\n', "v.toml")
    for target in (variant, base, tmp_path):
        before = base.read_text(), variant.read_text()
        assert main(["calibrate", str(variant), "--observed", str(observed), "--config", str(tune), "--save-as",
                     str(target), "--executor", "serial", "--out", str(tmp_path / "cal")]) == 2
        assert (base.read_text(), variant.read_text()) == before
    err = capsys.readouterr().err
    assert f"error: --save-as {variant}: that is {variant} or a file it extends" in err
    assert f"error: --save-as {tmp_path}: is a folder; expected a file name" in err
    (tmp_path / "scenario.schema.json").write_text("{}")  # saved beside the editor schema, it names it
    assert main(["calibrate", str(variant), "--observed", str(observed), "--config", str(tune), "--save-as",
                 str(tmp_path / "v-calibrated.toml"), "--executor", "serial", "--out", str(tmp_path / "cal")]) == 0
    saved = load_scenario(tmp_path / "v-calibrated.toml")
    assert saved.meta.name == "v-calibrated" and saved.meta.fitted_until == dt.date(2024, 6, 10)  # the last fitted
    assert (tmp_path / "v-calibrated.toml").read_text().startswith("#:schema ./scenario.schema.json\n# v calibrated")
