"""Nothing a scenario says can place a file outside the folder the user chose (issue 12, section 1)."""

import os
from pathlib import Path

import pytest
from conftest import DATA

from sim.cli import main
from sim.errors import ScenarioError, SimError
from sim.experiment.atomic import inside
from sim.scenario.documents import MAX_EXTENDS
from sim.scenario.loader import load_scenario

TINY = DATA / "tiny.toml"
NAME_RULE = ("expected 1 to 64 letters, digits, '-' and '_', starting with a letter or digit "
             "(it names the results folder)")


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.mark.parametrize("name", ["../x", "/tmp/abs", "..", "a/b", ".hidden", "a\\b", "x" * 300, "", "-x"])
def test_a_name_that_is_not_a_plain_name_is_refused_before_anything_runs(name, tmp_path, capsys):
    out = tmp_path / "results"
    before = files_under(tmp_path.parent)
    code = main(["run", str(TINY), "--out", str(out), "--no-plots", "--set", f'meta.name="{name}"'])
    assert code == 2
    err = capsys.readouterr().err
    assert "--set: meta.name: found '" in err and NAME_RULE in err
    assert files_under(tmp_path.parent) == before  # nothing written anywhere, not even the results root


def test_a_nul_byte_in_the_name_is_refused_by_validate(write_toml, capsys):
    text = TINY.read_text().replace('name = "tiny"', 'name = "ti\\u0000ny"')
    path = write_toml(text)
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert f"{path}: meta.name: found ''ti\\x00ny'...', {NAME_RULE}" in out


@pytest.mark.parametrize("ref, why", [
    ("/etc/passwd", "(no absolute path, no '..')"),
    ("../base.toml", "(no absolute path, no '..')"),
    ("sub/../../base.toml", "(no absolute path, no '..')"),
])
def test_extends_stays_in_the_files_folder(ref, why, tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (tmp_path / "base.toml").write_text(TINY.read_text())
    variant = folder / "v.toml"
    variant.write_text(f'extends = "{ref}"\n')
    with pytest.raises(ScenarioError) as error:
        load_scenario(variant)
    assert str(error.value) == (f"{variant}: extends: found '{ref}', expected a file name relative to this file's "
                                f"folder, in that folder or below it {why}")


def test_extends_through_a_symlink_out_of_the_folder_is_refused(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (tmp_path / "base.toml").write_text(TINY.read_text())
    os.symlink(tmp_path / "base.toml", folder / "link.toml")
    variant = folder / "v.toml"
    variant.write_text('extends = "link.toml"\n')
    with pytest.raises(ScenarioError) as error:
        load_scenario(variant)
    assert str(error.value) == (f"{variant}: extends: 'link.toml' leads outside {folder} (through a symlink); "
                                "expected a file name relative to this file's folder, in that folder or below it")


def test_a_symlink_loop_is_a_message(tmp_path):
    os.symlink(tmp_path / "a.toml", tmp_path / "b.toml")
    os.symlink(tmp_path / "b.toml", tmp_path / "a.toml")
    variant = tmp_path / "v.toml"
    variant.write_text('extends = "a.toml"\n')
    with pytest.raises(ScenarioError) as error:
        load_scenario(variant)
    assert str(error.value).startswith(f"{variant}: extends: ")


@pytest.mark.parametrize("depth", [MAX_EXTENDS + 1, 1200])
def test_long_extends_chains_stop_at_the_limit(depth, tmp_path):
    (tmp_path / "f0.toml").write_text(TINY.read_text())
    for k in range(1, depth):
        (tmp_path / f"f{k}.toml").write_text(f'extends = "f{k - 1}.toml"\n')
    with pytest.raises(ScenarioError) as error:
        load_scenario(tmp_path / f"f{depth - 1}.toml")
    assert str(error.value).endswith(f"extends: more than {MAX_EXTENDS} files in one extends chain")


def test_a_chain_within_the_limit_loads(tmp_path):
    (tmp_path / "f0.toml").write_text(TINY.read_text())
    for k in range(1, MAX_EXTENDS):
        (tmp_path / f"f{k}.toml").write_text(f'extends = "f{k - 1}.toml"\n')
    assert load_scenario(tmp_path / f"f{MAX_EXTENDS - 1}.toml").meta.name == "tiny"


def test_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TINY.read_bytes())
    assert load_scenario(path).meta.name == "tiny"


@pytest.mark.parametrize("parts", [("..",), ("a", "..", ".."), ("/etc",), ("a/b",), ("",), ("x\0y",)])
def test_inside_refuses_names_that_leave_the_root(parts, tmp_path):
    with pytest.raises(SimError):
        inside(tmp_path, *parts)


def test_inside_refuses_a_symlink_out_of_the_root(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(tmp_path, root / "escape")
    with pytest.raises(SimError):
        inside(root, "escape")
    assert inside(root, "run-1") == root / "run-1"
