"""The mechanism library: shared decision rules, written as templates in sim/mechanisms/<name>.toml.

A scenario says `[mechanisms.expulsion]` (optionally with `for` selectors, `with` roles and
`enabled`) and the mechanism's templates, attributes and parameters are merged *under* the
scenario's own: the scenario's values win, so `--set parameters.expel_rate=...`, sweeps, sensitivity
and calibration reach the mechanism's shared parameters like any other value.
"""

from __future__ import annotations

import copy
import tomllib
from functools import lru_cache
from importlib import resources

from sim.errors import Problem, ScenarioError, did_you_mean, format_path
from sim.scenario.documents import Document, _mark, _merge

MECHANISM_KEYS = ("for", "with", "enabled")


def available() -> tuple[str, ...]:
    return tuple(sorted(p.name[:-5] for p in resources.files("sim.mechanisms").iterdir()
                        if p.name.endswith(".toml")))


@lru_cache(maxsize=None)
def library(name: str) -> dict:
    """The parsed library file of a mechanism (read once per process)."""
    return tomllib.loads(resources.files("sim.mechanisms").joinpath(f"{name}.toml").read_text(encoding="utf-8"))


def label(name: str) -> str:
    return f"<mechanism {name}>"


def _order(names: list[str], problems: list[Problem], file: str) -> list[str]:
    """The mechanisms with what they require first, each once."""
    known, out = available(), []

    def visit(name: str, path: str) -> None:
        if name in out:
            return
        if name not in known:
            problems.append(Problem(file, path, f"unknown mechanism '{name}'; expected one of {', '.join(known)}"
                                    + did_you_mean(name, known)))
            return
        for needed in library(name).get("mechanism", {}).get("requires", []):
            visit(needed, path)
        out.append(name)

    for name in names:
        visit(name, format_path(("mechanisms", name)))
    return out


def include_mechanisms(doc: Document) -> Document:
    raw = doc.data.get("mechanisms")
    if raw is None:
        return doc
    file = doc.file_of(("mechanisms",))
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(file, "mechanisms", "expected a table of [mechanisms.<name>] tables")])
    problems: list[Problem] = []
    data = copy.deepcopy(doc.data)
    origin = dict(doc.origin)
    for name in _order(list(raw), problems, file):
        spec = raw.get(name, {})
        here = ("mechanisms", name)
        if not isinstance(spec, dict):
            problems.append(Problem(doc.file_of(here), format_path(here), "expected a table (it may be empty)"))
            continue
        for key, value in spec.items():
            where = (doc.file_of(here + (key,)), format_path(here + (key,)))
            if key not in MECHANISM_KEYS:
                problems.append(Problem(*where, f"unknown key '{key}'; expected one of {', '.join(MECHANISM_KEYS)}"
                                        + did_you_mean(key, MECHANISM_KEYS)))
            elif key in ("for", "with") and not isinstance(value, dict):
                problems.append(Problem(*where, "expected a table of placeholder = " +
                                        ("selector" if key == "for" else "id")))
            elif key == "enabled" and not isinstance(value, bool):
                problems.append(Problem(*where, "expected true or false"))
        lib = library(name)
        for key in ("for", "with"):
            names = {p for t in lib.get("templates", {}).values() for p in t.get(key, {})}
            for given in spec.get(key, {}) if isinstance(spec.get(key), dict) else ():
                if given not in names:
                    problems.append(Problem(doc.file_of(here + (key, given)), format_path(here + (key, given)),
                                            f"the {name} mechanism has no placeholder '{given}' under '{key}'; "
                                            f"expected one of {', '.join(sorted(names)) or '(none)'}"))
        for role, meaning in lib.get("mechanism", {}).get("roles", {}).items():
            if not isinstance(spec.get("with", {}), dict) or role not in spec.get("with", {}):
                problems.append(Problem(doc.file_of(here), format_path(here + ("with", role)),
                                        f"missing; the {name} mechanism needs '{role}': {meaning}"))
        for section in ("attributes", "parameters"):
            given = data.get(section, {})
            if isinstance(given, dict):
                for key, value in lib.get(section, {}).items():
                    if key not in given:
                        given[key] = value
                        origin.setdefault((section, key), label(name))
                data[section] = given
        templates = data.get("templates", {})
        if not isinstance(templates, dict):
            continue
        merged = {}
        for tid, template in lib.get("templates", {}).items():
            template = _bind(copy.deepcopy(template), spec)
            library_origin: dict = {}
            _mark(template, ("templates", tid), label(name), library_origin)
            for key, where in library_origin.items():  # the library's keys, unless the scenario set them
                origin.setdefault(key, where)
            merged[tid] = _merge(template, templates.get(tid, {}))
        data["templates"] = templates | merged  # the scenario's templates first, then the library's in order
    if problems:
        raise ScenarioError(problems)
    return Document(data, origin, doc.root_file)


def _bind(template: dict, spec: dict) -> dict:
    """Apply a scenario's `for` selectors, `with` roles and `enabled` to one library template."""
    selectors = spec.get("for", {})
    if isinstance(selectors, dict):
        for name, selector in selectors.items():
            if name in template.get("for", {}):
                template["for"][name] = selector
    roles = spec.get("with", {})
    if isinstance(roles, dict):
        for name, value in roles.items():
            if name in template.get("with", {}):
                template["with"][name] = value
    if spec.get("enabled") is False:
        template["enabled"] = False
    return template
