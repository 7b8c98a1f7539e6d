import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import DATA, ROOT, SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.errors import ScenarioError
from sim.experiment import chunks as chunk_module
from sim.experiment.sweep import _latin_hypercube, load_sweep, sweep_points

OUTPUTS = ("runs.parquet", "points.csv", "series.csv", "series.parquet")


def batch(tmp, *args) -> Path:
    before = set(tmp.glob("batch-*")) if tmp.exists() else set()
    code = main(["batch", *map(str, args), "--out", str(tmp), "--quiet"])
    assert code == 0
    (folder,) = set(tmp.glob("batch-*")) - before
    return folder


def same_outputs(a: Path, b: Path) -> None:
    for name in OUTPUTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def serial_batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    return batch(out, SCENARIOS / "niger-2024.toml", SCENARIOS / "niger-us-deal.toml", "--reps", "300",
                 "--chunk-size", "100", "--executor", "serial")


def test_batch_outputs(serial_batch):
    runs = pq.read_table(serial_batch / "runs.parquet").to_pandas()
    assert len(runs) == 600 and set(runs["scenario"]) == {"niger-2024", "niger-us-deal"}
    assert runs["deal_struck"].isna().sum() == 300  # an outcome only the variant has
    assert runs.groupby("scenario")["replication"].apply(list).to_dict()["niger-2024"] == list(range(300))
    manifest = json.loads((serial_batch / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["chunks"] == 6 and manifest["chunk_size"] == 100
    points = (serial_batch / "points.csv").read_text().splitlines()
    base = runs[runs.scenario == "niger-2024"]
    row = next(line for line in points if line.startswith("niger-2024,0,us_withdrawn,"))
    assert float(row.split(",")[5]) == pytest.approx(base["us_withdrawn"].mean(), abs=1e-6)  # 6 digits written


def test_batch_replications_equal_single_runs(serial_batch, tmp_path):
    main(["run", str(SCENARIOS / "niger-us-deal.toml"), "--reps", "300", "--out", str(tmp_path), "--no-plots"])
    (run,) = (tmp_path / "niger-us-deal").iterdir()
    single = list(csv.DictReader((run / "outcomes.csv").open()))
    runs = pq.read_table(serial_batch / "runs.parquet").to_pandas()
    deal = runs[runs.scenario == "niger-us-deal"]
    assert [int(r["us_withdrawn"]) for r in single] == deal["us_withdrawn"].astype(int).tolist()


def test_one_or_two_processes_or_dask_give_identical_bytes(serial_batch, tmp_path):
    args = (SCENARIOS / "niger-2024.toml", SCENARIOS / "niger-us-deal.toml", "--reps", "300", "--chunk-size", "100")
    same_outputs(serial_batch, batch(tmp_path / "p1", *args, "--jobs", "1"))
    same_outputs(serial_batch, batch(tmp_path / "p2", *args, "--jobs", "2"))
    pytest.importorskip("dask.distributed")
    same_outputs(serial_batch, batch(tmp_path / "dask", *args, "--executor", "dask", "--jobs", "2"))


def test_killed_batch_resumes_to_the_same_result(tmp_path):
    args = [str(SCENARIOS / "niger-2024.toml"), "--reps", "2400", "--chunk-size", "100", "--jobs", "1"]
    reference = batch(tmp_path / "ref", *args, "--executor", "serial")
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "batch", *args, "--out", str(out), "--quiet"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("batch-*/chunks/*.npz"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    (folder,) = out.glob("batch-*")
    finished = len(list((folder / "chunks").glob("*.npz")))
    assert 3 <= finished < 24 and not (folder / "runs.parquet").exists()
    assert main(["batch", "--resume", str(folder), "--quiet", "--executor", "serial"]) == 0
    same_outputs(reference, folder)
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"


def test_a_failing_replication_is_recorded_and_the_batch_goes_on(tmp_path, monkeypatch, capsys):
    real = chunk_module.simulate

    def flaky(scenario, seed, replications, keep, uncertainty=None, **options):
        if 7 in list(replications):
            raise RuntimeError("replication 7 exploded")
        return real(scenario, seed, replications, keep, uncertainty, **options)

    monkeypatch.setattr(chunk_module, "simulate", flaky)
    code = main(["batch", str(DATA / "tiny.toml"), "--reps", "20", "--chunk-size", "10", "--executor", "serial",
                 "--out", str(tmp_path), "--quiet"])
    assert code == 1
    (folder,) = tmp_path.glob("batch-*")
    failures = (folder / "failures.csv").read_text()
    assert failures.startswith("scenario,point,replication,seed,traceback\ntiny,0,7,1,")
    assert "RuntimeError: replication 7 exploded" in failures
    runs = pq.read_table(folder / "runs.parquet").to_pandas()
    assert sorted(runs["replication"]) == [k for k in range(20) if k != 7]
    assert "tiny point 0 replication 7 seed 1: RuntimeError: replication 7 exploded" in capsys.readouterr().err
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete with failures"


def test_sweep_points_and_outputs(tmp_path):
    sweep = load_sweep(ROOT / "sweeps" / "balance-vs-threshold.toml")
    points = sweep_points(sweep)
    assert len(points) == 12
    assert points[0] == {"parameters.balance_rate": 0.0, "parameters.expel_threshold": -0.45}
    assert points[-1]["parameters.expel_threshold"] == pytest.approx(-0.15)
    folder = batch(tmp_path, SCENARIOS / "niger-2024.toml", "--sweep", ROOT / "sweeps" / "balance-vs-threshold.toml",
                   "--reps", "20", "--jobs", "1")
    runs = pq.read_table(folder / "runs.parquet").to_pandas()
    assert len(runs) == 240 and runs["point"].nunique() == 12
    assert sorted(runs["parameters.balance_rate"].unique()) == [0.0, 0.04, 0.08]
    series = pq.read_table(folder / "series.parquet").to_pandas()
    assert sorted(series["point"].unique()) == list(range(12))
    rows = list(csv.DictReader((folder / "series.csv").open()))
    assert {r["point"] for r in rows} == {"0"}  # the CSV keeps point 0: what reports draw
    zero = series[series.point == 0]
    assert len(zero) == len(rows) and [f"{v:.6g}" for v in zero["value"]] == [r["value"] for r in rows]


@pytest.mark.parametrize("method, points", [("lhs", 8), ("sobol", 8)])
def test_sampled_sweeps_stay_in_range(write_toml, method, points):
    path = write_toml(f'[sweep]\nmethod = "{method}"\npoints = {points}\nseed = 3\n'
                      '[[vary]]\nkey = "parameters.noise"\nlow = 0.0\nhigh = 0.1\n'
                      '[[vary]]\nkey = "meta.steps"\nlow = 10\nhigh = 20\ninteger = true\n')
    values = sweep_points(load_sweep(path))
    assert len(values) == points
    assert all(0 <= p["parameters.noise"] <= 0.1 and isinstance(p["meta.steps"], int) for p in values)
    assert values == sweep_points(load_sweep(path))


@given(n=st.integers(1, 300), d=st.integers(1, 6), seed=st.integers(0, 2**63 - 1))
@settings(max_examples=60, deadline=None)
def test_latin_hypercube_gives_scipys_numbers(n, d, seed):
    from scipy.stats import qmc

    expected = qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed)).random(n)
    assert np.array_equal(_latin_hypercube(n, d, seed), expected)  # bit for bit: old sweeps keep their points
    lows, highs = np.linspace(-1, 0, d), np.linspace(0.5, 3, d)
    assert np.array_equal(expected * (highs - lows) + lows, qmc.scale(expected, lows, highs))


def test_bad_sweeps_name_the_key(write_toml, tmp_path, capsys):
    path = write_toml('[sweep]\nmethod = "sobol"\npoints = 10\n[[vary]]\nkey = "parameters.noise"\nlow = 0.2\n'
                      'high = 0.1\n[[vary]]\nkye = "x"\n')
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}: sweep.points: found 10, expected a power of 2 for Sobol sampling",
        f"{path}: vary[0]: found low = 0.2 and high = 0.1, expected low < high",
        f"{path}: vary[1].kye: unknown key 'kye'; expected one of key, values, low, high, count, integer "
        "(did you mean 'key'?)",
        f"{path}: vary[1]: missing required key 'key'",
    ]
    bad_key = write_toml('[[vary]]\nkey = "parameters.balance_rat"\nvalues = [0.1]\n'
                         '[[vary]]\nkey = "meta.name"\nvalues = [1]\n', "bad.toml")
    code = main(["batch", str(SCENARIOS / "niger-2024.toml"), "--sweep", str(bad_key), "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{bad_key}: vary[0].key: 'parameters.balance_rat' does not name a value in {SCENARIOS / 'niger-2024.toml'} (did you mean 'balance_rate'?)" in err
    assert f"{bad_key}: vary[1].key: 'meta.name' in {SCENARIOS / 'niger-2024.toml'} is not a number" in err
    out_of_range = write_toml('[[vary]]\nkey = "parameters.inertia"\nvalues = [0.5, 1.5]\n', "range.toml")
    with pytest.raises(ScenarioError) as info:
        from sim.experiment.batch_plan import make_plan
        make_plan([SCENARIOS / "niger-2024.toml"], load_sweep(out_of_range), 10, None)
    assert [str(p) for p in info.value.problems] == [
        f"{out_of_range}: parameters.inertia: found 1.5, expected a number between 0 and 1"]


def test_sweep_keys_that_would_be_ignored_or_clash_are_errors(write_toml):
    path = write_toml('[sweep]\npoints = 4\n[[vary]]\nkey = "actors.us.capability"\nvalues = [1, 2]\n'
                      '[[vary]]\nkey = "actors.us.attributes.capability"\nvalues = [3]\n'
                      '[[vary]]\nkey = "meta.seed"\nvalues = [1, 2]\n'
                      '[[vary]]\nkey = "parameters.noise"\nvalues = [0.1]\ncount = 3\n')
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}: sweep.points: a grid has one point per combination of values; 'points' is for lhs or sobol",
        f"{path}: vary[2].key: 'meta.seed' cannot be swept: give it with --seed or --reps instead",
        f"{path}: vary[3]: 'count' is not used here: give 'values' (grid), 'low' and 'high' with 'count' (grid), "
        "or 'low' and 'high' (lhs, sobol)",
        f"{path}: vary[1].key: 'actors.us.attributes.capability' is named more than once",
    ]


def test_integer_grid_values_stay_integers(write_toml):
    path = write_toml('[[vary]]\nkey = "meta.steps"\nvalues = [10, 20]\n')
    assert sweep_points(load_sweep(path)) == [{"meta.steps": 10}, {"meta.steps": 20}]


def test_resume_refuses_options_that_would_change_the_plan(serial_batch, capsys):
    assert main(["batch", "--resume", str(serial_batch), "--reps", "5"]) == 2
    assert "--resume continues the batch as planned; --reps cannot change" in capsys.readouterr().err
    assert main(["batch", str(DATA / "tiny.toml"), "--seed", "-1"]) == 2
    assert "--seed must be between 0 and 9223372036854775807 (2^63 - 1), found -1" in capsys.readouterr().err


def test_keep_trajectories_writes_every_replications_series(tmp_path):
    folder = batch(tmp_path, DATA / "tiny.toml", "--reps", "6", "--chunk-size", "4", "--executor", "serial",
                   "--keep-trajectories")
    table = pq.read_table(folder / "trajectories.parquet").to_pandas()
    presence_b = table[(table.quantity == "presence") & (table.source == "b") & (table.replication == 5)]
    assert presence_b.sort_values("step")["value"].tolist() == [1000] * 5 + [750, 500, 250, 0, 0, 0]
    assert sorted(table.replication.unique()) == list(range(6))


def test_scenarios_with_the_same_name_are_refused(tmp_path, capsys):
    copy = tmp_path / "copy.toml"
    copy.write_text((DATA / "tiny.toml").read_text())
    assert main(["batch", str(DATA / "tiny.toml"), str(copy), "--out", str(tmp_path / "o")]) == 2
    assert "two scenarios in one batch are named tiny" in capsys.readouterr().err


def test_a_damaged_chunk_is_run_again_on_resume(tmp_path):
    folder = batch(tmp_path, DATA / "tiny.toml", "--reps", "8", "--chunk-size", "4", "--executor", "serial")
    before = (folder / "runs.parquet").read_bytes()
    (folder / "chunks" / "s000-p00000-c00001.npz").write_bytes(b"truncated")
    assert main(["batch", "--resume", str(folder), "--quiet", "--executor", "serial"]) == 0
    assert (folder / "runs.parquet").read_bytes() == before


MANY = """[sweep]
method = "lhs"
points = 12
seed = 4
""" + "".join(f'[[vary]]\nkey = "parameters.{name}"\nlow = {low}\nhigh = {high}\n' for name, low, high in (
    ("balance_rate", 0.0, 0.3), ("noise", 0.0, 0.05), ("inertia", 0.0, 0.1), ("capability_weight", 0.0, 2.0),
    ("shock_scale", 0.5, 1.5), ("expel_threshold", -0.5, 0.0), ("withdraw_delay", 2, 20),
    ("deploy_personnel", 10, 500), ("coup_partner", -0.9, 0.0), ("camp_rate", 0.0, 0.2)))


@pytest.mark.parametrize("overrides", [(), ("meta.rule=landscape",), ("parameters.balance_form=marvel",)])
def test_packed_sweep_points_give_the_same_files_as_chunks_run_alone(tmp_path, write_toml, overrides):
    from sim.experiment.batch import run_batch, start_batch
    from sim.experiment.batch_outputs import write_outputs
    from sim.experiment.batch_plan import make_plan
    from sim.experiment.executors import SerialExecutor
    from sim.experiment.packs import PackSpec, pack

    sweep = load_sweep(write_toml(MANY, "many.toml"))
    folders = []
    for packing in (False, True):
        plan = make_plan([SCENARIOS / "niger-2024.toml"], sweep, 30, None, 100, overrides=overrides)
        if packing:
            items = pack(plan.chunks(), plan)
            assert [len(i.specs) if isinstance(i, PackSpec) else 1 for i in items] == [1, 3, 3, 3, 2]  # point 0 alone
        folder = start_batch(plan, tmp_path / str(packing), "serial")
        assert run_batch(plan, folder, SerialExecutor(), packing=packing).complete
        write_outputs(plan, folder)
        folders.append(folder)
    for name in ("runs.parquet", "points.csv", "series.csv", "series.parquet", "events.parquet"):
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name


def test_sweeps_over_anything_but_parameters_are_not_packed():
    from sim.experiment.batch_plan import make_plan
    from sim.experiment.packs import pack

    plan = make_plan([SCENARIOS / "niger-2024.toml"], load_sweep(ROOT / "sweeps" / "niger-lhs.toml"), 10, None, 1000)
    assert pack(plan.chunks(), plan) == plan.chunks()  # (it sweeps actors.us.capability too)


def test_a_pack_that_raises_runs_its_chunks_alone(tmp_path, monkeypatch):
    from sim.experiment import packs
    from sim.experiment.batch_plan import make_plan

    plan = make_plan([DATA / "tiny.toml"], None, 10, None, 5)
    spec = plan.chunks()[0]
    pack_ = packs.PackSpec((spec, spec), ("noise",))

    class Broken:
        def __init__(self, *args, **kwargs):
            raise FloatingPointError("a replication went wrong")

    monkeypatch.setattr(packs, "ScenarioModel", Broken)
    alone = chunk_module.run_chunk(spec)
    results = packs.run_pack(pack_)
    assert len(results) == 2 and all(r.replications.tolist() == alone.replications.tolist() for r in results)
