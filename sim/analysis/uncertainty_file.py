"""Read what is uncertain about a scenario's parameters: a tuning config's ranges (independent draws)
or a joint sample in CSV (the plausible set a calibration writes), checked against the scenario."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from sim.analysis.tuning_config import load_tuning
from sim.errors import Problem, ScenarioError, SimError
from sim.experiment.evaluate import refused_end
from sim.scenario.distributions import Distribution
from sim.scenario.documents import read_document
from sim.scenario.loader import build_scenario
from sim.scenario.uncertainty import Uncertainty

IGNORED_COLUMNS = ("loss",)  # plausible.csv carries each set's loss beside its values
MAX_SAMPLE_ROWS = 1_000_000


def load_uncertainty(path: Path, scenario_path: Path, per_draw: int, overrides=()) -> Uncertainty:
    path = Path(path)
    if per_draw < 1:
        raise SimError(f"--per-draw must be at least 1, found {per_draw}")
    if not path.is_file():
        raise SimError(f"--uncertainty {path}: no such file (a tuning config .toml or a sample .csv)")
    if path.suffix.lower() == ".csv":
        keys, rows = _read_sample(path)
        bounds = tuple((min(r[c] for r in rows), max(r[c] for r in rows)) for c in range(len(keys)))
        uncertainty = Uncertainty(str(path), _names(path, keys, "column"), bounds, sample=tuple(rows),
                                  per_draw=per_draw)
    else:
        config = load_tuning(path)
        dists = []
        for v in config.values:
            if v.dist == "uniform":
                dists.append(Distribution("uniform", (("low", v.low), ("high", v.high))))
            elif v.dist == "triangular":
                dists.append(Distribution("triangular", (("low", v.low), ("mode", v.mode), ("high", v.high))))
            else:
                dists.append(Distribution("normal", (("mean", v.mean), ("sd", v.sd))))
        uncertainty = Uncertainty(str(path), _names(path, config.keys, "parameters[{i}].key"),
                                  tuple(v.bounds for v in config.values), distributions=tuple(dists),
                                  per_draw=per_draw)
    _check_against(uncertainty, scenario_path, overrides)
    return uncertainty


def _names(path: Path, keys, where: str) -> tuple[str, ...]:
    names, problems = [], []
    for i, key in enumerate(keys):
        parts = key.split(".")
        if len(parts) != 2 or parts[0] != "parameters":
            problems.append(Problem(str(path), where.format(i=i) if "{" in where else f"{where} '{key}'",
                                    f"'{key}': parameter uncertainty draws the scenario's parameters only "
                                    "(parameters.<name>); to make another value uncertain, give it a parameter "
                                    "and name the parameter where the value is used"))
        names.append(parts[-1])
    if problems:
        raise ScenarioError(problems)
    return tuple(names)


def _read_sample(path: Path) -> tuple[list[str], list[tuple[float, ...]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header:
                raise SimError(f"{path}: empty; expected a header of key paths (parameters.<name>) and rows of values")
            keep = [c for c, name in enumerate(header) if name.strip() not in IGNORED_COLUMNS]
            keys = [header[c].strip() for c in keep]
            rows = []
            for line in reader:
                if not line:
                    continue
                if len(line) != len(header):
                    raise SimError(f"{path}:{reader.line_num}: {len(line)} fields, expected {len(header)}")
                try:
                    row = tuple(float(line[c]) for c in keep)
                except ValueError:
                    raise SimError(f"{path}:{reader.line_num}: expected numbers, found {line}") from None
                if not all(math.isfinite(v) for v in row):
                    raise SimError(f"{path}:{reader.line_num}: expected finite numbers, found {line}")
                rows.append(row)
                if len(rows) > MAX_SAMPLE_ROWS:
                    raise SimError(f"{path}: more than {MAX_SAMPLE_ROWS:,} rows")
    except UnicodeDecodeError as error:
        raise SimError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    if not rows:
        raise SimError(f"{path}: no rows; expected at least one set of values")
    if not keys:
        raise SimError(f"{path}: no value columns; expected key paths such as parameters.balance_rate")
    return keys, rows


def _check_against(uncertainty: Uncertainty, scenario_path: Path, overrides) -> None:
    """Every name is a parameter of the scenario, and each end of each range gives a valid scenario."""
    from sim.scenario.documents import apply_overrides

    doc = read_document(scenario_path)
    if overrides:
        doc = apply_overrides(doc, list(overrides))
    scenario = build_scenario(doc)
    known = dict(scenario.parameters)
    problems = [Problem(uncertainty.source, f"parameters.{name}",
                        f"'{name}' is not a parameter of {scenario_path}") for name in uncertainty.names
                if name not in known]
    if problems:
        raise ScenarioError(problems)
    for name, ends in zip(uncertainty.names, uncertainty.bounds):
        refused = refused_end(doc, f"parameters.{name}", ends, uncertainty.source)
        if refused:
            problems.append(Problem(uncertainty.source, f"parameters.{name}",
                                    f"its values reach {refused[0]:g}, which the scenario refuses: {refused[1]}"))
    if problems:
        raise ScenarioError(problems)
