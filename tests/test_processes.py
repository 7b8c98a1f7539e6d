"""Batches under hostile conditions: killed parents, killing replications, damaged or swapped chunks, edited
manifests, two processes on one folder. Each test runs the real `sim` in a subprocess where it must."""

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
from test_batch import batch, same_outputs

from sim.cli import main
from sim.experiment import chunks as chunk_module

HOOK = """
import os
if os.environ.get("SIM_TEST_KILL"):
    from sim.experiment import chunks
    real, bad = chunks.simulate, int(os.environ["SIM_TEST_KILL"])
    def simulate(scenario, seed, replications, keep, uncertainty=None, **options):
        if bad in list(replications):
            os._exit(9)  # as a segfault or the OOM killer would: no exception, no clean-up
        return real(scenario, seed, replications, keep, uncertainty, **options)
    chunks.simulate = simulate
"""


def session_processes(sid: int) -> list[int]:
    """Live processes of a session (the main `sim` and everything it started)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def start(args, out: Path, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", "batch", *map(str, args), "--out", str(out), "--quiet"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                            env=env)


def wait_for_chunks(out: Path, count: int) -> None:
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("batch-*/chunks/*.npz"))) < count:
        time.sleep(0.05)


def gone(sid: int, seconds: float = 10) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not session_processes(sid):
            return True
        time.sleep(0.1)
    return False


ARGS = [SCENARIOS / "niger-2024.toml", "--reps", "3000", "--chunk-size", "100"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return batch(tmp_path_factory.mktemp("ref"), *ARGS, "--executor", "serial")


def test_sigterm_stops_every_worker_and_leaves_a_resumable_batch(reference, tmp_path):
    proc = start([*ARGS, "--jobs", "2"], tmp_path)
    wait_for_chunks(tmp_path, 3)
    os.kill(proc.pid, signal.SIGTERM)  # the main process only, as `kill PID` or a scheduler does
    assert proc.wait(timeout=30) == 130
    assert "finish it with: sim batch --resume" in proc.stderr.read().decode()
    assert gone(proc.pid), "a worker or the resource tracker outlived the batch"
    (folder,) = tmp_path.glob("batch-*")
    assert json.loads((folder / "manifest.json").read_text())["status"] == "interrupted"
    assert not list((folder / "chunks").glob("*.started"))
    assert main(["batch", "--resume", str(folder), "--quiet", "--jobs", "2"]) == 0
    same_outputs(reference, folder)


def test_sigkill_of_the_parent_takes_the_workers_with_it(tmp_path):
    proc = start([*ARGS, "--jobs", "2"], tmp_path)
    wait_for_chunks(tmp_path, 2)
    os.kill(proc.pid, signal.SIGKILL)  # as the OOM killer does: no handler runs
    proc.wait(timeout=10)
    assert gone(proc.pid), "workers outlived a killed parent"


@pytest.mark.parametrize("jobs", ["2", "1"])
def test_a_replication_that_kills_its_process_is_isolated(tmp_path, jobs):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    env = dict(os.environ, PYTHONPATH=str(hook), SIM_TEST_KILL="7")
    args = [DATA / "tiny.toml", "--reps", "40", "--chunk-size", "10", "--jobs", jobs]
    out = tmp_path / "out"
    proc = start(args, out, env)
    code = proc.wait(timeout=300)
    if jobs == "1":  # serial: the batch process itself died in the chunk; the resume isolates it
        assert code == 9
        (folder,) = out.glob("batch-*")
        assert [p.name for p in (folder / "chunks").glob("*.started")] == ["s000-p00000-c00000.started"]
        resume = subprocess.run([sys.executable, "-m", "sim", "batch", "--resume", str(folder), "--quiet"],
                                cwd=ROOT, env=env, capture_output=True, timeout=300)
        code = resume.returncode
    assert code == 1  # finished, with a failure recorded
    (folder,) = out.glob("batch-*")
    failures = (folder / "failures.csv").read_text().splitlines()
    assert len(failures) == 2 and failures[1].startswith("tiny,0,7,1,")
    assert "worker process died" in failures[1]
    runs = pq.read_table(folder / "runs.parquet").to_pandas()
    assert sorted(runs["replication"]) == [k for k in range(40) if k != 7]
    clean = batch(tmp_path / "clean", DATA / "tiny.toml", "--reps", "40", "--chunk-size", "10", "--executor", "serial")
    full = pq.read_table(clean / "runs.parquet").to_pandas()
    assert runs.drop(columns=[]).reset_index(drop=True).equals(full[full.replication != 7].reset_index(drop=True))


def test_a_failing_replication_is_found_by_halving(tmp_path, monkeypatch):
    real, sizes = chunk_module.simulate, []

    def flaky(scenario, seed, replications, keep, uncertainty=None, **options):
        sizes.append(len(replications))
        if 700 in list(replications):
            raise RuntimeError("700 exploded")
        return real(scenario, seed, replications, keep, uncertainty, **options)

    monkeypatch.setattr(chunk_module, "simulate", flaky)
    assert main(["batch", str(DATA / "tiny.toml"), "--reps", "1000", "--executor", "serial", "--out", str(tmp_path),
                 "--quiet"]) == 1
    assert len(sizes) <= 2 * 10 + 2 and sum(sizes) <= 4 * 1000  # one by one: 1,001 runs, 10-15x the time


def test_damaged_or_swapped_chunks_are_run_again(reference, tmp_path, capsys):
    folder = batch(tmp_path, *ARGS, "--executor", "serial")
    chunks = folder / "chunks"
    damaged = chunks / "s000-p00000-c00003.npz"
    data = bytearray(damaged.read_bytes())
    for i in range(16):
        data[len(data) // 2 + 97 * i] ^= 0xFF
    damaged.write_bytes(bytes(data))
    (chunks / "s000-p00000-c00005.npz").write_bytes((chunks / "s000-p00000-c00006.npz").read_bytes())
    (folder / "runs.parquet").unlink()
    capsys.readouterr()
    assert main(["batch", "--resume", str(folder), "--quiet", "--executor", "serial"]) == 0
    err = capsys.readouterr().err
    assert "warning: chunks/s000-p00000-c00003.npz: damaged" in err and "; running it again" in err
    assert ("warning: chunks/s000-p00000-c00005.npz: holds another chunk's replications (its identity differs "
            "from the plan's); running it again") in err
    same_outputs(reference, folder)


def test_an_edited_or_damaged_manifest_is_refused(tmp_path, capsys):
    folder = batch(tmp_path, DATA / "tiny.toml", "--reps", "20", "--chunk-size", "10", "--executor", "serial")
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["scenarios"][0]["seed"] += 1
    path.write_text(json.dumps(manifest))
    capsys.readouterr()
    assert main(["batch", "--resume", str(folder)]) == 2
    assert "disagree with the plan it was written with" in capsys.readouterr().err
    path.write_text(path.read_text()[:100])
    assert main(["batch", "--resume", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: damaged, not readable JSON") and err.count("\n") == 1
    manifest["scenarios"][0]["seed"] -= 1
    manifest["chunk_size"] = "ten"
    path.write_text(json.dumps(manifest))
    assert main(["batch", "--resume", str(folder)]) == 2
    assert "damaged or edited" in capsys.readouterr().err


def test_resume_on_a_run_folder_says_so(tmp_path, capsys):
    assert main(["run", str(DATA / "tiny.toml"), "--reps", "5", "--out", str(tmp_path), "--no-plots",
                 "--quiet"]) == 0
    (run,) = (tmp_path / "tiny").iterdir()
    assert main(["batch", "--resume", str(run)]) == 2
    assert "it is a `sim run` folder: only batches resume" in capsys.readouterr().err


def test_a_second_resume_on_the_same_folder_is_refused(tmp_path):
    proc = start([*ARGS, "--jobs", "1", "--executor", "serial"], tmp_path)
    wait_for_chunks(tmp_path, 1)
    (folder,) = tmp_path.glob("batch-*")
    second = subprocess.run([sys.executable, "-m", "sim", "batch", "--resume", str(folder)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    assert second.returncode == 2
    assert f"another `sim batch` (pid {proc.pid}) is running this batch" in second.stderr


def test_a_chunk_file_is_trusted_only_whole_and_for_its_own_chunk(tmp_path):
    from sim.experiment.chunks import BadChunk, check_chunk, run_chunk, save_chunk
    from sim.scenario.documents import read_document

    doc = read_document(DATA / "tiny.toml")
    spec = chunk_module.ChunkSpec(0, 0, 1, 10, 20, 1, False, str(DATA / "tiny.toml"), doc.data, None, "abc")
    path = save_chunk(tmp_path, spec, run_chunk(spec))
    check_chunk(path, spec)
    import dataclasses

    for change in ({"seed": 2}, {"first": 11}, {"stop": 21}, {"point": 1}, {"scenario_hash": "abd"},
                   {"keep_trajectories": True}):
        with pytest.raises(BadChunk, match="holds another chunk's replications"):
            check_chunk(path, dataclasses.replace(spec, **change))
    with np.load(path) as data:
        arrays = dict(data)
    arrays["outcome:b_gone"] = ~arrays["outcome:b_gone"]  # a well-formed file whose numbers were changed
    np.savez(path, **arrays)
    with pytest.raises(BadChunk, match="checksum does not match"):
        check_chunk(path, spec)


def _dies_on_one(item):
    if item == 1:
        os._exit(9)
    return item * 10


def test_the_pool_loses_no_item_when_a_worker_dies():
    from sim.experiment.executors import ProcessExecutor, WorkerDied

    submitted = []
    with ProcessExecutor(1) as executor:
        got = dict(executor.run(_dies_on_one, range(6), on_submit=submitted.append))
    assert sorted(got) == list(range(6))
    assert isinstance(got[1], WorkerDied) and all(got[k] == 10 * k for k in (0, 2, 3, 4, 5))


def test_workers_that_cannot_start_are_an_error_not_an_endless_isolation():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from sim.errors import SimError
    from sim.experiment.executors import ProcessExecutor

    class Dying(ProcessExecutor):
        def _start(self):
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=os._exit,
                                            initargs=(3,))

    with pytest.raises(SimError, match="worker processes die as they start"):
        with Dying(1) as executor:
            list(executor.run(_dies_on_one, range(3)))
