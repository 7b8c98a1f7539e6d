"""Raw scenario documents: read TOML, resolve `extends`, apply `--set` overrides.

The result is one merged dict plus, for every key path, the file it came from, so that a
problem found later can name the file a user has to edit.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sim.errors import KeyPath, Problem, ScenarioError, did_you_mean, excerpt, format_path

OVERRIDE_ORIGIN = "--set"
ACTOR_FIELDS = ("name", "kind", "attributes", "blocs", "baseline")


@dataclass
class Document:
    data: dict
    origin: dict[KeyPath, str] = field(default_factory=dict)  # key path -> file (or "--set")
    root_file: str = ""

    def file_of(self, path: KeyPath) -> str:
        """The file that set `path` (or its nearest ancestor that was set)."""
        for cut in range(len(path), -1, -1):
            origin = self.origin.get(tuple(path[:cut]))
            if origin is not None:
                return origin
        return self.root_file


def _syntax_problem(path: Path, error: tomllib.TOMLDecodeError) -> Problem:
    match = re.search(r"\(at line (\d+), column (\d+)\)", str(error))
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
    line, column = (int(match.group(1)), int(match.group(2))) if match else (None, None)
    if line is None:
        return Problem(str(path), "", f"TOML syntax error: {message}")
    return Problem(str(path), "", f"TOML syntax error: {message}", line, column)


def _mark(data, path: KeyPath, file: str, origin: dict) -> None:
    origin[path] = file
    if isinstance(data, dict):
        for key, value in data.items():
            _mark(value, path + (key,), file, origin)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _mark(value, path + (i,), file, origin)


def copy_tree(value):
    """A deep copy of TOML-shaped data (tables, arrays, immutable scalars), 3x faster than copy.deepcopy
    (a sweep copies its document once per point); anything else is handed to deepcopy."""
    if type(value) is dict:
        return {key: copy_tree(item) for key, item in value.items()}
    if type(value) is list:
        return [copy_tree(item) for item in value]
    if isinstance(value, (str, int, float, dt.date, dt.time)):  # bool is an int, datetime a date
        return value
    return copy.deepcopy(value)


def _merge(base: dict, over: dict) -> dict:
    """Tables merge key by key; any other value (arrays included) replaces the base's."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


MAX_EXTENDS = 16  # files in one `extends` chain
MAX_NESTING = 32  # tables and lists inside one another: the shipped scenarios use 5


def _too_deep(data, limit: int = MAX_NESTING):
    """The key path of the first value nested deeper than `limit`, or None; iterative, so any depth is safe."""
    stack = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > limit:
            return path[:limit]
        if isinstance(value, dict):
            stack += [(v, path + (str(k),)) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, path + (i,)) for i, v in enumerate(value)]
    return None


def read_document(path: str | Path) -> Document:
    """Read a scenario file and everything it extends into one merged document, with the mechanisms
    it uses (sim/mechanisms/) merged in under it."""
    from sim.scenario.mechanisms import include_mechanisms

    return include_mechanisms(_read_chain(path))


def _read_chain(path: str | Path, _chain: tuple[Path, ...] = ()) -> Document:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: a UTF-8 byte-order mark is read, not refused
    except UnicodeDecodeError as error:
        raise ScenarioError([Problem(str(path), "", f"not UTF-8 text ({error.reason})")]) from None
    except (OSError, ValueError):  # missing, a folder, unreadable, a NUL in the name
        raise ScenarioError([Problem(str(path), "", "file not found" if not _exists(path)
                                     else "cannot be read as a file")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError([_syntax_problem(path, error)]) from None
    except RecursionError:
        raise ScenarioError([Problem(str(path), "", f"tables or lists nested more than {MAX_NESTING} deep; "
                                     "a scenario needs a few levels")]) from None
    deep = _too_deep(data)
    if deep is not None:
        raise ScenarioError([Problem(str(path), format_path(deep), f"tables or lists nested more than {MAX_NESTING} "
                                     "deep; a scenario needs a few levels")])
    parent_ref = data.pop("extends", None)
    own = Document({}, root_file=str(path))
    _mark(data, (), str(path), own.origin)
    if parent_ref is None:
        own.data = data
        return own
    chain = _chain + (_resolve(path, path, "extends"),)
    parent_path = _parent_file(path, parent_ref)
    resolved = _resolve(path, parent_path, "extends")
    if resolved in chain:
        cycle = " -> ".join(p.name for p in chain + (resolved,))
        raise ScenarioError([Problem(str(path), "extends", f"extends itself in a cycle: {cycle}")])
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError([Problem(str(path), "extends", f"more than {MAX_EXTENDS} files in one extends chain")])
    parent = _read_chain(parent_path, chain)
    origin = dict(parent.origin)
    origin.update({k: v for k, v in own.origin.items() if k != ()})
    return Document(_merge(parent.data, data), origin, str(path))


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _resolve(file: Path, target: Path, key: str) -> Path:
    try:
        return target.resolve(strict=False)
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte
        raise ScenarioError([Problem(str(file), key, f"cannot resolve {target} (a symlink loop?)")]) from None


def _parent_file(path: Path, ref) -> Path:
    """The file `extends` names: relative, in the same folder as `path` or below it, even through symlinks."""
    expected = "expected a file name relative to this file's folder, in that folder or below it"
    if not isinstance(ref, str) or not ref or "\0" in ref:
        raise ScenarioError([Problem(str(path), "extends", f"found {ref!r}, {expected}")])
    shown = ref if len(ref) <= 80 else ref[:80] + "..."
    if Path(ref).is_absolute() or ref.startswith(("/", "\\")) or ".." in Path(ref).parts:
        raise ScenarioError([Problem(str(path), "extends", f"found '{shown}', {expected} (no absolute path, "
                                                           "no '..')")])
    candidate = path.parent / ref
    folder = _resolve(path, path.parent, "extends")
    if not _resolve(path, candidate, "extends").is_relative_to(folder):
        raise ScenarioError([Problem(str(path), "extends", f"'{shown}' leads outside {path.parent} "
                                                           f"(through a symlink); {expected}")])
    if not candidate.is_file():
        raise ScenarioError([Problem(str(path), "extends", f"file not found: {candidate}")])
    return candidate


# --- --set overrides ------------------------------------------------------------------------
_SEGMENT = re.compile(r"([A-Za-z0-9_\-]+(?:\[(?!\d+\])[A-Za-z0-9_, ]+\])?)((?:\[\d+\])*)")


def parse_key_path(text: str) -> KeyPath:
    """'events.coup.effects[0].delta' -> ('events', 'coup', 'effects', 0, 'delta')."""
    parts: list[str | int] = []
    for piece in text.split("."):
        match = _SEGMENT.fullmatch(piece)
        if not match:
            raise ValueError(f"bad key path {text!r}: cannot read segment {piece!r}")
        parts.append(re.sub(r"\s+", "", match.group(1)))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return tuple(parts)


def parse_override(text: str) -> tuple[KeyPath, object]:
    """'actors.us.resolve=0.8' -> (path, 0.8); the value is read as a TOML value, else a string."""
    if "=" not in text:
        raise ValueError(f"--set {text!r}: expected KEY.PATH=VALUE")
    key, raw = text.split("=", 1)
    path = parse_key_path(key.strip())
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    except RecursionError:
        raise ValueError(f"--set {excerpt(text)}: the value is nested too deeply") from None
    if _too_deep(value, MAX_NESTING - len(path)) is not None:
        raise ValueError(f"--set {excerpt(text)}: the value is nested more than {MAX_NESTING} deep")
    return path, value


def apply_overrides(doc: Document, overrides: list[str] | tuple[str, ...]) -> Document:
    """Apply --set overrides to a copy of `doc`; every bad one is reported, not just the first."""
    data = copy_tree(doc.data)
    origin = dict(doc.origin)
    problems: list[Problem] = []
    for text in overrides:
        try:
            path, value = parse_override(text)
            if path[0] == "mechanisms":
                raise KeyError("the mechanisms are merged before --set applies, so this would change nothing; set "
                               "their values instead: parameters.<name>, templates.<id>.enabled, templates.<id>.for...")
            path = _expand_actor_shorthand(data, path)
            _set_path(data, path, value)
        except (ValueError, KeyError, IndexError) as error:
            problems.append(Problem(OVERRIDE_ORIGIN, text.split("=", 1)[0].strip(), error.args[0]))
            continue
        _mark(value, path, OVERRIDE_ORIGIN, origin)
        if path[:1] == ("templates",) and len(path) > 4 and path[2] == "instances":
            origin.setdefault(path[:4], OVERRIDE_ORIGIN)
    if problems:
        raise ScenarioError(problems)
    return Document(data, origin, doc.root_file)


def set_values(doc: Document, values: dict[str, object], origin_label: str) -> Document:
    """Set already-parsed values by key path (sweeps); problems name `origin_label`."""
    data = copy_tree(doc.data)
    origin = dict(doc.origin)
    problems: list[Problem] = []
    for key, value in values.items():
        try:
            path = _expand_actor_shorthand(data, parse_key_path(key))
            _set_path(data, path, value)
        except (ValueError, KeyError, IndexError) as error:
            problems.append(Problem(origin_label, key, error.args[0]))
            continue
        _mark(value, path, origin_label, origin)
    if problems:
        raise ScenarioError(problems)
    return Document(data, origin, doc.root_file)


def expand_shorthand(path: KeyPath) -> KeyPath:
    """actors.us.resolve means actors.us.attributes.resolve (the documented shorthand)."""
    if len(path) == 3 and path[0] == "actors" and path[2] not in ACTOR_FIELDS:
        return ("actors", path[1], "attributes", path[2])
    return path


def instance_path(data: dict, path: KeyPath) -> tuple[KeyPath, KeyPath] | None:
    """events.<t>[a,b].rest names one instance of template t: (where its override lives,
    templates.t.instances."a,b".rest; and where the template's own value is, templates.t.rest)."""
    from sim.scenario.templates import split_instance_id

    if len(path) < 2 or path[0] != "events" or not isinstance(path[1], str):
        return None
    parts = split_instance_id(path[1])
    events = data.get("events", {})
    if not parts or not isinstance(data.get("templates"), dict) or parts[0] not in data["templates"] or (
            isinstance(events, dict) and path[1] in events):
        return None
    return (("templates", parts[0], "instances", ",".join(parts[1])) + tuple(path[2:]),
            ("templates", parts[0]) + tuple(path[2:]))


def resolve_path(data: dict, path: KeyPath) -> KeyPath:
    """The key path a --set, sweep or tuning key stands for: the actors.<id>.<attr> shorthand expanded,
    and an instance of a template (events.expel[chad,france]...) sent to its override table."""
    instance = instance_path(data, path)
    return instance[0] if instance else expand_shorthand(path)


def read_value(data: dict, path: KeyPath):
    """The value at a key path (an instance not overridden there reads its template's value)."""
    instance = instance_path(data, path)
    for candidate in ((instance[0], instance[1]) if instance else (expand_shorthand(path),)):
        try:
            return walk(data, candidate)
        except KeyPathError:
            continue
    raise KeyError(format_path(path))


def _expand_actor_shorthand(data: dict, path: KeyPath) -> KeyPath:
    """resolve_path, creating what a value set there needs: the actor's attributes table, or the
    instance's override table (with a copy of the template's effects when an effect is set)."""
    instance = instance_path(data, path)
    if instance:
        override, _ = instance
        template = data["templates"][override[1]]
        where = f"templates.{override[1]}"
        if not isinstance(template, dict):
            raise KeyError(f"{where} is not a table, so it has no instances")
        tables = template.setdefault("instances", {})
        if not isinstance(tables, dict):
            raise KeyError(f"{where}.instances is not a table")
        table = tables.setdefault(override[3], {})
        if not isinstance(table, dict):
            raise KeyError(f'{where}.instances."{override[3]}" is not a table')
        if len(override) > 5 and override[4] == "effects" and "effects" not in table:
            table["effects"] = copy.deepcopy(template.get("effects", []))
        return override
    expanded = expand_shorthand(path)
    if expanded != path:
        actor = data.get("actors", {}).get(path[1])
        if isinstance(actor, dict):
            actor.setdefault("attributes", {})
    return expanded


def _set_path(data: dict, path: KeyPath, value) -> None:
    node = walk(data, path[:-1])
    last = path[-1]
    if path[0] == "parameters" and len(path) == 2 and isinstance(node, dict) and last not in node:
        from sim.scenario.parameters import RULE_OPTIONS, RULE_PARAMETERS

        model = list(RULE_PARAMETERS) + list(RULE_OPTIONS)
        if last not in model:  # an override must not invent a parameter nothing uses
            known = list(node) + [k for k in model if k not in node]
            raise KeyError(f"unknown parameter '{last}'; expected one of {', '.join(known)}"
                           + did_you_mean(str(last), known))
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            size = len(node) if isinstance(node, list) else 0
            raise IndexError(f"no item [{last}] here (the list has {size})")
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise KeyError(f"{format_path(path[:-1])} is not a table, so it has no key '{last}'")


class KeyPathError(KeyError):
    """A key path that stops before its end: `depth` parts of it exist; `hint` is a did-you-mean (or "")."""

    def __init__(self, message: str, depth: int, hint: str = ""):
        super().__init__(message)
        self.depth, self.hint = depth, hint


def walk(data, path: KeyPath):
    """The value at `path` in TOML-shaped data: the one walk over key paths, for reading (read_value),
    setting (--set, sweeps, calibration) and checking (sweep and tuning keys). Raises KeyPathError
    saying where the path stops."""
    node = data
    for depth, key in enumerate(path):
        node = _child(node, key, path[: depth + 1], depth)
    return node


def _child(node, key, path: KeyPath, depth: int):
    if isinstance(key, int):
        if isinstance(node, list) and key < len(node):
            return node[key]
        size = len(node) if isinstance(node, list) else 0
        raise KeyPathError(f"no item [{key}] at {format_path(path)} (the list has {size})", depth)
    if isinstance(node, dict):
        if key in node:
            return node[key]
        hint = did_you_mean(str(key), node.keys())
        raise KeyPathError(f"unknown key '{key}' at {format_path(path)}" + hint, depth, hint)
    raise KeyPathError(f"{format_path(path[:-1])} is not a table, so it has no key '{key}'", depth)
