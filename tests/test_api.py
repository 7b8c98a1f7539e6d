"""The Python API (sim/__init__.py, sim/api.py): the README's example, and the same numbers as the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, ROOT, SCENARIOS

import sim
from sim.cli import main


def test_import_sim_is_light_and_lists_its_api():
    code = "import sys, sim; print(sorted(m for m in ('numpy', 'mesa', 'sim.api') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"
    assert {"load_scenario", "run_scenario", "summarise", "run_batch", "resume_batch", "compare",
            "ScenarioError", "SimError"} <= set(dir(sim))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sim.nothing


def test_a_run_in_python_gives_the_numbers_of_sim_run(tmp_path):
    scenario = sim.load_scenario(SCENARIOS / "niger-2024.toml", overrides=["parameters.balance_rate=0.02"])
    result = sim.run_scenario(scenario, reps=60, seed=7)
    summary = sim.summarise(result)
    assert main(["run", str(SCENARIOS / "niger-2024.toml"), "--reps", "60", "--seed", "7", "--no-plots", "--quiet",
                 "--set", "parameters.balance_rate=0.02", "--out", str(tmp_path)]) == 0
    (folder,) = tmp_path.glob("*/*/")
    written = json.loads((folder / "summary.json").read_text())["outcomes"]
    assert {k: s.to_json() for k, s in summary.items()} == written
    assert summary["us_withdrawn"].probability == np.mean(result.outcomes["us_withdrawn"])


def test_a_run_with_uncertain_parameters(tmp_path):
    result = sim.run_scenario(SCENARIOS / "niger-2024.toml", reps=40, seed=3,
                              uncertainty=ROOT / "tuning" / "niger-tune.toml", per_draw=10)
    assert len(set(result.drawn["balance_rate"])) == 4  # four draws of ten replications
    assert all(s.over_parameters is not None for s in sim.summarise(result).values() if s.n)


def test_batches_and_a_comparison_from_python(tmp_path):
    first = sim.run_batch([SCENARIOS / "niger-2024.toml", SCENARIOS / "niger-us-deal.toml"], tmp_path, reps=40,
                          executor="serial")
    assert first.status == 0 and first.complete and set(first.headline) == {"niger-2024", "niger-us-deal"}
    assert first.folder.parent == tmp_path and (first.folder / "runs.parquet").is_file()
    report = sim.compare([first.folder], tmp_path, baseline="niger-us-deal", outcomes=["us_withdrawn"])
    numbers = json.loads((report / "comparison.json").read_text())
    assert report.parent == tmp_path and numbers["baseline"] == "niger-us-deal"
    assert numbers["outcomes"] == ["us_withdrawn"] and (report / "report.html").is_file()


def test_bad_input_raises_the_errors_the_cli_reports(tmp_path):
    with pytest.raises(sim.ScenarioError) as caught:
        sim.load_scenario(DATA / "tiny.toml", overrides=["parameters.noise=-1"])
    assert "parameters.noise" in str(caught.value.problems[0])
    refused = {
        "reps: expected a whole number of at least 1, found 0": lambda: sim.run_scenario(DATA / "tiny.toml", reps=0),
        "reps: expected a whole number of at least 1, found 2.5": lambda: sim.run_scenario(DATA / "tiny.toml",
                                                                                            reps=2.5),
        "seed: expected a whole number of at least 0, found True": lambda: sim.run_batch(DATA / "tiny.toml",
                                                                                         seed=True),
        "overrides: expected a list of 'key.path=value' strings, found 'parameters.noise=0.1'":
            lambda: sim.load_scenario(DATA / "tiny.toml", overrides="parameters.noise=0.1"),
        "batches: expected a path or a non-empty list of paths, found []": lambda: sim.compare([], tmp_path),
        "fmt: expected one of png, svg, pdf, found 'jpg'": lambda: sim.compare([tmp_path], tmp_path, fmt="jpg"),
        "outcomes: expected a list of outcome ids, found 'b_gone'": lambda: sim.compare([tmp_path], tmp_path,
                                                                                        outcomes="b_gone"),
        "--scheduler is the address of a Dask scheduler": lambda: sim.run_batch(
            [DATA / "tiny.toml"], tmp_path, scheduler="tcp://127.0.0.1:8786"),
    }
    for message, call in refused.items():
        with pytest.raises(sim.SimError) as caught:
            call()
        assert str(caught.value).startswith(message)


def test_a_batch_that_stops_raises_and_says_how_to_resume(tmp_path, monkeypatch):
    from sim import batch_command
    from sim.experiment.batch import BatchReport

    def stopped(plan, folder, executor, progress=None, todo=None):  # as when a Dask cluster goes away
        return BatchReport(folder, len(plan.chunks()), 0, error="RuntimeError: the scheduler is gone")

    monkeypatch.setattr(batch_command, "run_batch", stopped)
    with pytest.raises(sim.SimError, match=r"the batch stopped before its outputs were written .*sim.resume_batch"):
        sim.run_batch(DATA / "tiny.toml", tmp_path, reps=4, executor="serial")


def test_the_readme_example_runs_as_a_script(tmp_path):
    import re
    import shutil

    text = (ROOT / "README.md").read_text()
    (example,) = re.findall(r"```python\n(.*?)```", text, re.S)
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    (tmp_path / "example.py").write_text(example)
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    probability, report = done.stdout.splitlines()[0].split()[0], Path(done.stdout.splitlines()[-1])
    assert 0 <= float(probability) <= 1 and (tmp_path / report).is_file()
