import csv
import json
import tomllib

import numpy as np
import pytest
from conftest import DATA, SCENARIOS
from matplotlib import image

from sim.cli import main
from sim.scenario.loader import load_scenario


def run_folder(out):
    (folder,) = [p for p in (out / "niger-2024").iterdir()]
    return folder


@pytest.fixture(scope="module")
def niger_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    code = main(["run", str(SCENARIOS / "niger-2024.toml"), "--reps", "200", "--seed", "7", "--out", str(out),
                 "--set", "parameters.noise=0.02", "--keep-trajectories", "--events", "both"])
    assert code == 0
    return run_folder(out)


def test_run_writes_every_file(niger_run):
    names = {p.name for p in niger_run.iterdir()}
    assert names == {"manifest.json", "scenario.toml", "outcomes.csv", "timeseries.csv", "trajectories.csv",
                     "events.csv", "events.parquet", "summary.json", "alignment.png", "presence.png", "camps.png",
                     "network.png", "camp_membership.png"}
    assert not [p for p in niger_run.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_manifest_and_outcomes(niger_run):
    manifest = json.loads((niger_run / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["replications"] == 200
    assert manifest["overrides"] == ["parameters.noise=0.02"]
    assert manifest["scenario_hash"] == load_scenario(SCENARIOS / "niger-2024.toml",
                                                      ["parameters.noise=0.02"]).content_hash
    assert set(manifest["versions"]) >= {"python", "mesa", "numpy"}
    rows = list(csv.DictReader((niger_run / "outcomes.csv").open()))
    assert len(rows) == 200 and rows[0]["replication"] == "0"
    assert {r["us_withdrawn"] for r in rows} <= {"0", "1"}
    summary = json.loads((niger_run / "summary.json").read_text())["outcomes"]
    k = sum(r["us_withdrawn"] == "1" for r in rows)
    assert summary["us_withdrawn"]["probability"] == k / 200
    low, high = summary["us_withdrawn"]["ci95"]
    assert low <= k / 200 <= high


def test_timeseries_is_tidy_and_dated(niger_run):
    rows = list(csv.DictReader((niger_run / "timeseries.csv").open()))
    assert list(rows[0]) == ["step", "date", "quantity", "source", "target", "statistic", "value"]
    first = [r for r in rows if r["step"] == "0" and r["quantity"] == "relation" and r["target"] == "us"]
    assert {r["statistic"]: float(r["value"]) for r in first}["q50"] == 0.5  # before the coup
    assert rows[-1]["step"] == "104" and rows[-1]["date"] == "2025-07-22"


def test_plots_are_real_images(niger_run):
    for name in ("alignment.png", "presence.png", "camps.png"):
        pixels = image.imread(niger_run / name)
        assert pixels.shape[0] > 300 and pixels.shape[1] > 600
        assert pixels[..., :3].std() > 0.05  # not blank


def test_replay_reproduces_the_batch_record(niger_run, capsys):
    assert main(["replay", str(niger_run), "--replication", "123"]) == 0
    out = capsys.readouterr().out
    assert "event log: identical to the run's record" in out
    folder = niger_run / "replays" / "replication-123"
    batch = [r for r in csv.DictReader((niger_run / "outcomes.csv").open()) if r["replication"] == "123"][0]
    assert f"us_withdrawn = {batch['us_withdrawn'] == '1'}" in out
    traj = list(csv.DictReader((folder / "trajectory.csv").open()))
    assert {r["quantity"] for r in traj} >= {"relation", "alignment", "attribute", "presence"}
    kept = [r for r in csv.DictReader((niger_run / "trajectories.csv").open())
            if r["replication"] == "123" and r["quantity"] == "relation" and r["target"] == "russia"]
    mine = [r for r in traj if r["quantity"] == "relation" and r["source"] == "niger" and r["target"] == "russia"]
    assert [r["value"] for r in kept] == [r["value"] for r in mine]


def test_replay_of_a_replication_outside_the_run_is_an_error(niger_run, capsys):
    assert main(["replay", str(niger_run), "--replication", "200"]) == 2
    assert "replication 200 is outside this run (0..199)" in capsys.readouterr().err


def test_show_prints_resolved_toml(capsys):
    assert main(["show", str(SCENARIOS / "niger-us-deal.toml"), "--set", "parameters.inertia=0.07"]) == 0
    text = capsys.readouterr().out
    data = tomllib.loads(text)
    assert data["meta"]["name"] == "niger-us-deal" and "extends" not in data
    assert data["parameters"]["inertia"] == 0.07
    assert data["events"]["us_access_deal"]["probability"] == 0.08
    assert data["templates"]["expel"]["for"]["force"] == {"present_in": "{host}"}  # the mechanism, resolved
    assert "airbase_101" in data["sites"]  # inherited from the base


def test_validate_reports_problems_and_exit_code(write_toml, capsys):
    bad = write_toml('[meta]\nname = "b"\nstart = 2024-01-01\nsteps = 3\n[actors.a]\nnmae = "A"\n')
    assert main(["validate", str(DATA / "tiny.toml"), str(bad)]) == 2
    out = capsys.readouterr().out
    assert f"ok   {DATA / 'tiny.toml'}: tiny, 3 actors, 3 events, 4 outcomes, 10 weeks" in out
    assert (f"  {bad}: actors.a.nmae: unknown key 'nmae'; expected one of name, kind, attributes, blocs, baseline "
            "(did you mean 'name'?)") in out


def test_run_with_a_bad_override_fails_cleanly(tmp_path, capsys):
    code = main(["run", str(DATA / "tiny.toml"), "--out", str(tmp_path), "--set", "parameters.noise=-1"])
    assert code == 2
    assert "parameters.noise: found -1, expected a number between 0 and 1" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_tiny_run_end_to_end(tmp_path, capsys):
    assert main(["run", str(DATA / "tiny.toml"), "--out", str(tmp_path), "--no-plots"]) == 0
    (folder,) = list((tmp_path / "tiny").iterdir())
    summary = json.loads((folder / "summary.json").read_text())["outcomes"]
    assert summary["b_gone_step"]["date_quantiles"]["q50"] == "2024-02-26"
    assert np.isclose(summary["a_to_pair"]["mean"], 0.05)
    assert "results in" in capsys.readouterr().out


def test_an_interrupted_run_leaves_nothing_half_written(tmp_path, monkeypatch):
    import sim.plots.run_plots as run_plots

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_plots, "plot_run", interrupted)
    assert main(["run", str(DATA / "tiny.toml"), "--out", str(tmp_path)]) == 130
    assert list((tmp_path / "tiny").iterdir()) == []


def test_summary_is_strict_json_even_with_one_replication(tmp_path):
    assert main(["run", str(DATA / "tiny.toml"), "--reps", "1", "--out", str(tmp_path), "--no-plots"]) == 0
    (folder,) = list((tmp_path / "tiny").iterdir())
    summary = json.loads((folder / "summary.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    assert summary["outcomes"]["a_to_pair"]["mean_ci95"] == [None, None]


def test_events_csv_is_what_csv_writer_makes_of_the_event_rows(tmp_path):
    """write_events builds the lines itself (fast); they must be the csv module's bytes, quoting included."""
    import io

    from sim.experiment.run_folder import EVENT_COLUMNS, event_rows, write_events
    from sim.model.model import run_scenario

    result = run_scenario(load_scenario(SCENARIOS / "sahel-2020-2025.toml"), replications=30)
    write_events(tmp_path / "events.csv", result)
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerow(EVENT_COLUMNS)
    writer.writerows(event_rows(result))
    assert (tmp_path / "events.csv").read_text() == expected.getvalue()
    assert '"' in expected.getvalue()  # some fields needed quoting


def test_the_event_log_is_the_same_in_parquet_and_csv(niger_run):
    import pyarrow.parquet as pq

    table = pq.read_table(niger_run / "events.parquet")
    rows = list(csv.reader((niger_run / "events.csv").open(newline="")))
    assert table.column_names == rows[0]
    parquet = [tuple(str(v) for v in row) for row in zip(*(table.column(c).to_pylist() for c in rows[0]))]
    assert parquet == [tuple(r) for r in rows[1:]] and len(parquet) > 1000
    assert (niger_run / "events.parquet").stat().st_size < (niger_run / "events.csv").stat().st_size / 10


def test_the_event_log_form_is_chosen(tmp_path):
    for form, files in (("parquet", {"events.parquet"}), ("csv", {"events.csv"}), ("none", set())):
        assert main(["run", str(DATA / "tiny.toml"), "--out", str(tmp_path / form), "--no-plots", "--quiet",
                     "--events", form]) == 0
        (folder,) = (tmp_path / form / "tiny").iterdir()
        assert {p.name for p in folder.iterdir() if p.name.startswith("events")} == files


def test_a_bad_kernel_choice_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIM_KERNELS", "fortran")
    for command in (["run", "scenarios/niger-2024.toml"], ["batch", "scenarios/niger-2024.toml", "--reps", "4"]):
        code = main([*command, "--out", str(tmp_path)])
        err = capsys.readouterr().err
        assert code == 2 and err == "error: environment variable SIM_KERNELS: expected numba or numpy, got 'fortran'\n"
    assert not any(tmp_path.iterdir())
