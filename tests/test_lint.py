"""`sim new` and `sim lint` (issue 15): the starters are clean, each smell is found where it is and only
there, accepted warnings stay accepted, exit statuses, and every shipped scenario lints clean."""

import pytest
from conftest import SCENARIOS

from sim.analysis.lint import SMELLS, lint
from sim.cli import main
from sim.scenario.loader import load_scenario
from sim.scenario.schema import LINT_SMELLS
from sim.starters import starter


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_smells_the_loader_accepts_are_the_ones_lint_checks():
    assert LINT_SMELLS == tuple(SMELLS)


@pytest.mark.parametrize("rule", ["balance", "landscape"])
def test_sim_new_writes_a_starter_that_validates_runs_and_lints_clean(tmp_path, capsys, rule, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "new", "island", "--rule", rule)
    assert code == 0 and out.startswith("wrote island.toml: island, 4 actors")
    text = (tmp_path / "island.toml").read_text()
    assert f'rule = "{rule}"' in text and 'name = "island"' in text
    code, out, _ = run(capsys, "lint", "island.toml", "--strict")
    assert code == 0 and out.endswith("\nno smells found\n")
    assert out.startswith("island: 0 smell(s) in 4,400 runs (200 at the scenario's values and 4,200 with one of 22 "
                          "parameters at half or 1.5 times its value); ")
    assert run(capsys, "run", "island.toml", "--reps", "50", "--no-plots", "--quiet", "--out", tmp_path / "r")[0] == 0


def test_sim_new_refuses_to_overwrite_and_to_misname(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text("# my work\n")
    code, _, err = run(capsys, "new", path)
    assert code == 2 and err == f"error: {path} exists; sim new never overwrites a file (choose another name, or " \
                                "delete it)\n"
    assert path.read_text() == "# my work\n"
    code, _, err = run(capsys, "new", tmp_path / "two words")
    assert code == 2 and "'two words' cannot name a scenario (the file name becomes its meta.name)" in err
    assert not (tmp_path / "two words.toml").exists()
    assert run(capsys, "new", tmp_path / "nowhere" / "x")[0] == 2


SMELLY = """
[events.impossible]
kind = "triggered"
condition = "relation(host, partner) > 2"
effects = [{ type = "relation", source = "host", target = "ally", delta = 0.1 }]

[events.always]
kind = "stochastic"
condition = "relation(host, partner) > -2"
probability = 0.05
effects = [{ type = "relation", source = "host", target = "ally", delta = 0.01 }]

[events.partner_recalled]
kind = "scheduled"
date = 2025-01-01
effects = [{ type = "presence", actor = "partner", site = "base", delta = -100, over = 2 }]

[templates.withdraw.instances."host,partner"]
effects = [{ type = "presence", actor = "partner", host = "host", set = 0, over = 6 }]

[outcomes.ally_present]
expr = "presence(ally) > 0"
"""


def smelly(tmp_path):
    """The balance starter with one of each smell (but an inert actor) added."""
    lines = starter("balance", "smelly").splitlines()
    lines.insert(lines.index("[parameters]") + 1, "spare = 0.5")
    at = next(i for i, line in enumerate(lines) if line.startswith("[attributes]"))
    lines.insert(at + 1, "morale = 0.5")
    path = tmp_path / "smelly.toml"
    path.write_text("\n".join(lines) + "\n" + SMELLY)
    return path


def test_each_smell_is_found_where_it_is_and_nowhere_else(tmp_path):
    report = lint(load_scenario(smelly(tmp_path)), reps=100)
    found = {(f.smell, f.subject): f.message for f in report.findings}
    assert found == {
        ("never-fires", "events.impossible"): "never fired in any run; its condition was never true",
        ("constant-condition", "events.always"): "its condition `relation(host, partner) > -2` held at every step it "
                                                 "was checked, in every run",
        ("unmoved-outcome", "outcomes.ally_present"): "is 0 in every run",
        ("scheduled-decision", "events.partner_recalled"): "is scheduled on 2025-01-01 and moves partner's personnel "
                                                           "at base",
        ("point-mass", "events.withdraw[host,partner]"): "effects[0].over is fixed at 6 where the template withdraw "
                                                         "draws it from its shared distribution",
        ("unread-parameter", "parameters.spare"): "= 0.5 is read by no event, amount or outcome",
        ("unread-attribute", "attributes.morale"): "is read by no condition, probability, outcome or tracked series",
    }
    assert all(f.why and f.fix for f in report.findings)


def test_an_actor_nothing_moves_is_inert(write_toml):
    path = write_toml('[meta]\nname = "still"\nstart = 2024-01-01\nsteps = 5\n[parameters]\nnoise = 0.0\n'
                      'inertia = 0.0\nbalance_rate = 0.0\n[actors.a]\n[actors.b]\n[actors.c]\n'
                      '[relations.mutual]\na = { b = 0.5 }\n'
                      '[events.push]\nkind = "stochastic"\nprobability = 0.5\n'
                      'effects = [{ type = "relation", source = "a", target = "b", delta = -0.1 }]\n'
                      '[outcomes.ab]\nexpr = "relation(a, b)"\n')
    found = [(f.smell, f.subject) for f in lint(load_scenario(path), reps=20).findings]
    assert found == [("inert-actor", "actors.c")]


def test_accepted_warnings_stale_accepts_and_exit_statuses(tmp_path, capsys):
    path = smelly(tmp_path)
    assert run(capsys, "lint", path)[0] == 0
    code, out, _ = run(capsys, "lint", path, "--strict", "--reps", "100")
    assert code == 1 and out.count("warning[") == 7 and "\n  why: " in out and "\n  fix: " in out
    text = path.read_text()
    path.write_text(text + '\n[[lint.accept]]\nsmell = "unread-parameter"\nsubject = "parameters.spare"\n'
                           'reason = "kept for the next version"\n')
    code, out, _ = run(capsys, "lint", path, "--reps", "100")
    assert "accepted[unread-parameter] parameters.spare: = 0.5 is read by no event, amount or outcome\n" \
           "  accepted: kept for the next version\n" in out and out.endswith("6 open, 1 accepted in the scenario "
                                                                            "([[lint.accept]])\n")
    clean = tmp_path / "clean.toml"
    clean.write_text(starter("balance", "clean") + '\n[[lint.accept]]\nsmell = "never-fires"\nsubject = '
                                                   '"events.coup"\nreason = "was once"\n')
    code, out, _ = run(capsys, "lint", clean, "--strict")
    assert code == 1 and out.startswith("clean: 1 smell(s) in ")
    assert ("warning[stale-accept] events.coup: the [[lint.accept]] of never-fires matches no smell found (the smell "
            "is gone, or its smell or subject is mistyped): remove or correct it") in out


def test_bad_accepts_are_input_errors(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(starter("balance", "bad") + '\n[[lint.accept]]\nsmell = "never_fires"\nsubject = "events.coup"\n'
                                                'reason = " "\n')
    code, _, err = run(capsys, "lint", path)
    assert code == 2
    assert "lint.accept[0].smell: found 'never_fires', expected one of never-fires" in err
    assert "lint.accept[0].reason: empty: say why this warning is not a flaw in this scenario" in err


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_lints_clean(path, capsys):
    code, out, _ = run(capsys, "lint", path, "--strict")
    assert code == 0, out


def test_what_the_first_review_found_is_found(tmp_path, capsys):
    """An instance whose effects are in another order than its template's, a decision scheduled two follow-ups
    away, a number outcome that is constant where it gives a number, duplicate accepts, names of no file."""
    lines = starter("balance", "hidden").splitlines()
    path = tmp_path / "hidden.toml"
    path.write_text("\n".join(lines) + '''
[templates.expel.instances."host,partner"]
effects = [
  { type = "follow_up", event = "withdraw[host,partner]", delay = 3 },
  { type = "relation", source = "host", target = "partner", mutual = true, delta = "expel_shock" },
]

[events.plan]
kind = "scheduled"
date = 2024-06-01
effects = [{ type = "follow_up", event = "relay", delay = 2 }]

[events.relay]
kind = "follow_up"
effects = [{ type = "follow_up", event = "pull", delay = 2 }]

[events.pull]
kind = "follow_up"
effects = [{ type = "presence", actor = "partner", site = "base", delta = -100 }]

[outcomes.ratio]
expr = "presence(rival, host) / presence(rival, host)"
''')
    found = {(f.smell, f.subject): f.message for f in lint(load_scenario(path), reps=100).findings}
    assert found[("point-mass", "events.expel[host,partner]")] == ("effects[0].delay is fixed at 3 where the template "
                                                                   "expel draws it from its shared distribution")
    assert found[("scheduled-decision", "events.plan")] == ("is scheduled on 2024-06-01 and sets off events that "
                                                            "move personnel")
    assert found[("unmoved-outcome", "outcomes.ratio")].startswith("is 1 in every run that gives a number (")
    twice = '[[lint.accept]]\nsmell = "inert-actor"\nsubject = "actors.ally"\nreason = "r"\n'
    path.write_text(path.read_text() + twice + twice)
    code, _, err = run(capsys, "lint", path)
    assert code == 2 and "lint.accept[1]: accepts inert-actor of actors.ally a second time" in err
    for name in ("", ".", tmp_path / ".."):
        code, _, err = run(capsys, "new", name)
        assert code == 2 and "names no file; give one, e.g. sim new my-scenario" in err


def test_sim_new_where_the_filesystem_has_no_hard_links(tmp_path, capsys, monkeypatch):
    import errno
    import os

    def no_links(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)  # as on FAT or some network shares
    assert run(capsys, "new", tmp_path / "fat")[0] == 0
    assert load_scenario(tmp_path / "fat.toml").meta.name == "fat"
    assert [p.name for p in tmp_path.iterdir()] == ["fat.toml"]  # no temporary file left
    code, _, err = run(capsys, "new", tmp_path / "fat")
    assert code == 2 and "exists; sim new never overwrites a file" in err
