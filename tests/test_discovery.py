"""Scenario discovery on a batch whose answer is known."""

import re

import pytest
from conftest import DATA, made

from sim.cli import main


@pytest.fixture(scope="module")
def known_batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("discovery")
    tune = tmp / "tune.toml"
    tune.write_text('[[parameters]]\nkey = "parameters.lever"\nlow = 0.0\nhigh = 1.0\n'
                    '[[parameters]]\nkey = "parameters.decoy"\nlow = 0.0\nhigh = 1.0\n')
    assert main(["batch", str(DATA / "discovery.toml"), "--reps", "3000", "--uncertainty", str(tune), "--per-draw",
                 "1", "--executor", "serial", "--out", str(tmp), "--quiet"]) == 0
    (folder,) = tmp.glob("batch-*")
    return folder


def test_prim_finds_the_known_box_and_says_it_in_words(known_batch, tmp_path, capsys):
    out = tmp_path / "found"
    assert main(["discover", str(known_batch), "--outcome", "hit", "--out", str(out)]) == 0
    out = made(out)
    printed = capsys.readouterr().out
    rows = {line.split(",")[0]: line.split(",") for line in (out / "box.csv").read_text().splitlines()[1:]}
    assert set(rows) == {"parameters.lever", "spark first"}          # the decoy is left alone
    assert abs(float(rows["parameters.lever"][1]) - 0.6) < 0.05       # lever > 0.6
    # spark by step 7 (hit sees the state at the start of a step: a spark in step 8 comes too late)
    assert 7 <= float(rows["spark first"][2]) < 8
    assert re.search(r"lever > 0\.(59|6)", printed) and "spark happens by 2024-02-19 (step 7)" in printed
    density = int(re.search(r"hit is true in (\d+)% of the runs where", printed).group(1))
    assert density >= 95
    tree = (out / "tree.txt").read_text()
    assert "parameters.lever" in tree and "spark first" in tree and "decoy" not in tree
    for name in ("report.html", "report.md", "tradeoff.png", "tree.png", "prim_trajectory.csv"):
        assert (out / name).is_file()


def test_values_only_and_the_other_side(known_batch, tmp_path, capsys):
    assert main(["discover", str(known_batch), "--outcome", "hit", "--features", "values", "--value", "false",
                 "--out", str(tmp_path / "v")]) == 0
    printed = capsys.readouterr().out
    assert "hit is false in" in printed and re.search(r"lever < 0\.(59|6)", printed) and "spark" not in printed


@pytest.mark.parametrize("args, message", [
    (["--outcome", "nope"], "--outcome nope: not an outcome of discovery (it has hit)"),
    (["--outcome", "hit", "--scenario", "other"], "--scenario other: not in"),
    (["--outcome", "hit", "--box", "9999"], "--box 9999: the peeling trajectory has boxes 0 to"),
])
def test_bad_requests_get_a_clear_message(known_batch, tmp_path, capsys, args, message):
    assert main(["discover", str(known_batch), *args, "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err


def test_a_folder_that_is_not_a_batch_is_refused(tmp_path, capsys):
    assert main(["discover", str(tmp_path), "--outcome", "hit"]) == 2
    assert "not a batch folder" in capsys.readouterr().err
