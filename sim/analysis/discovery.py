"""Scenario discovery over a batch: which swept or uncertain values, and which events on the way, go
with an outcome. PRIM (EMA Workbench's implementation) finds boxes, with the coverage/density trade-off;
a shallow classification tree (scikit-learn) gives a second, rule-shaped view.

Features: every swept value and every parameter drawn per replication (runs.parquet), and for each
event whose timing differs between runs, the step it first fired (events.parquet; a run where it
never fired gets steps + 1, "not by the end") and, when it can fire more than once, its count.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import RunFolderError, SimError
from sim.experiment.stats import happened

MAX_EVENT_FEATURES = 30   # the events most associated with the outcome, of those whose timing varies
MAX_DIMS = 3              # a box read in words restricts at most this many features (unless asked)
TREE_DEPTH = 3


@dataclass(frozen=True)
class Feature:
    column: str
    kind: str          # "value" (swept or drawn), "first" (an event's first step), "count"
    label: str         # for people: the key path, or the event's id and name


@dataclass
class Discovery:
    scenario: str
    outcome: str
    target: str                      # in words: what counts as a case of interest
    n: int
    base_rate: float
    features: list[Feature]
    trajectory: list[dict]           # PRIM's peeling trajectory: coverage, density, mass, res_dim, box
    chosen: int                      # index into trajectory
    limits: list[dict]               # the chosen box: feature, low, high (restricted features only)
    sentence: str
    tree_text: str
    tree_accuracy: float             # on a held-out quarter of the runs
    tree_baseline: float             # accuracy of always guessing the majority
    tree_model: object = None
    x_columns: list | None = None


def outcome_events(outcome) -> frozenset:
    """The events an outcome's expression names (fired, since, times_fired): explaining the outcome by them
    would be circular."""
    from sim.model.compile import walk
    from sim.scenario import expressions as x

    return frozenset(node.name for node in walk(outcome.expr) if isinstance(node, x.Ref) and node.kind == "event")


def _events_wide(folder: Path, scenario: str, runs, steps: int, y: np.ndarray, exclude: frozenset = frozenset()):
    """Per run, the first step and count of the events whose timing varies, most associated first."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = folder / "events.parquet"
    if not path.is_file():
        return {}, []
    table = pq.read_table(path, filters=[("scenario", "=", scenario)])
    table = table.filter(pc.equal(table["point"], 0)) if runs["point"].nunique() == 1 else table
    position = {(p, r): i for i, (p, r) in enumerate(zip(runs["point"].to_numpy(), runs["replication"].to_numpy()))}
    rows = np.array([position.get((p, r), -1) for p, r in zip(table["point"].to_numpy(),
                                                              table["replication"].to_numpy())], dtype=np.int64)
    keep = rows >= 0
    events = np.asarray(table["event"].to_pylist(), dtype=object)[keep]
    firsts, counts, rows = table["first_step"].to_numpy()[keep], table["count"].to_numpy()[keep], rows[keep]
    n = len(runs)
    columns, features = {}, []
    scored = []
    for event in np.unique(events) if len(events) else []:
        if event in exclude:
            continue
        mine = events == event
        first = np.full(n, steps + 1.0)
        first[rows[mine]] = firsts[mine]
        count = np.zeros(n)
        count[rows[mine]] = counts[mine]
        if first.min() == first.max():
            continue
        association = abs(np.corrcoef(first, y)[0, 1]) if y.std() > 0 else 0.0
        scored.append((0.0 if np.isnan(association) else association, event, first, count))
    scored.sort(key=lambda item: -item[0])
    for _, event, first, count in scored[:MAX_EVENT_FEATURES]:
        columns[f"{event} first"] = first
        features.append(Feature(f"{event} first", "first", event))
        if count.max() > 1:
            columns[f"{event} count"] = count
            features.append(Feature(f"{event} count", "count", event))
    return columns, features


def load_cases(folder: Path, outcome: str, scenario: str | None, value: str, above: float | None):
    """(the batch's scenario name, the runs table, y, the target in words, the outcome's spec)."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file() or not (folder / "runs.parquet").is_file():
        raise RunFolderError(f"{folder}: not a finished batch folder (no manifest.json or runs.parquet); "
                             "sim discover reads what sim batch wrote")
    manifest = json.loads(manifest_path.read_text())
    names = [s["name"] for s in manifest.get("scenarios", [])]
    if scenario is None:
        scenario = names[0]
    elif scenario not in names:
        raise SimError(f"--scenario {scenario}: not in {folder} (it holds {', '.join(names)})")
    runs = pq.read_table(folder / "runs.parquet", filters=[("scenario", "=", scenario)]).to_pandas()
    if outcome not in runs.columns:
        outcomes = [c for c in runs.columns if c not in ("scenario", "point", "replication", "draw")
                    and not c.startswith("parameters.") and "." not in c]
        raise SimError(f"--outcome {outcome}: not an outcome of {scenario} (it has {', '.join(outcomes)})")
    column = runs[outcome]
    if column.dtype == bool:
        values = column.to_numpy()
        target = f"{outcome} is {value}"
        y = values if value == "true" else ~values
    elif above is not None:
        data = column.to_numpy(dtype=float)
        y = data > above if value == "true" else ~(data > above)
        target = f"{outcome} {'>' if value == 'true' else '<='} {above:g}"
    else:
        data = column.to_numpy(dtype=float)
        if column.isna().any() and np.all(np.isnan(data) | (data == np.round(data))):
            y = happened(data) if value == "true" else ~happened(data)   # a first-hit outcome: it happened
            target = f"{outcome} happens" if value == "true" else f"{outcome} never happens"
        else:
            raise SimError(f"--outcome {outcome} is a number: give --above X to say which runs are of interest")
    runs = runs.reset_index(drop=True)
    return scenario, runs, np.asarray(y, dtype=bool), target, manifest


def discover(folder: Path, outcome: str, scenario: str | None = None, value: str = "true",
             above: float | None = None, box: int | None = None, max_dims: int = MAX_DIMS, seed: int = 0,
             dates=None, event_names: dict | None = None, steps: int | None = None, use: str = "all",
             exclude: frozenset = frozenset()) -> Discovery:
    """`use`: explain with the swept and drawn values and the events ("all"), or with either alone.
    `exclude`: events left out (those the outcome's own expression names: they are the outcome)."""
    import pandas as pd

    folder = Path(folder)
    scenario, runs, y, target, manifest = load_cases(folder, outcome, scenario, value, above)
    n = len(runs)
    if n < 20:
        raise SimError(f"{folder}: {n} runs of {scenario}; discovery needs at least 20")
    if y.all() or not y.any():
        raise SimError(f"{target} in {'every' if y.all() else 'no'} run of {scenario}: nothing to explain")
    swept = list(manifest["points"][0]) if manifest.get("points") and manifest["points"][0] else []
    drawn = [c for c in runs.columns if c.startswith("parameters.")]
    columns: dict[str, np.ndarray] = {}
    features: list[Feature] = []
    for key in dict.fromkeys(swept + drawn) if use != "events" else ():
        if key in runs.columns and runs[key].nunique() > 1:
            columns[key] = runs[key].to_numpy(dtype=float)
            features.append(Feature(key, "value", key))
    steps = steps if steps is not None else int(manifest.get("steps") or 0)
    event_columns, event_features = (_events_wide(folder, scenario, runs, steps, y.astype(float), exclude)
                                     if use != "values" else ({}, []))
    columns.update(event_columns)
    features += event_features
    if not features:
        what = {"all": "no sweep, no --uncertainty, no event whose timing differs",
                "values": "no sweep and no --uncertainty", "events": "no event whose timing differs"}[use]
        raise SimError(f"{folder}: nothing varies between the runs but the random numbers ({what}): nothing to "
                       "explain the outcome with")
    x = pd.DataFrame(columns)
    trajectory, chosen = _prim(x, y, box, max_dims)
    limits = trajectory[chosen]["limits"]
    sentence = _sentence(target, trajectory[chosen], limits, features, y.mean(), dates, event_names)
    tree, text, accuracy, baseline = _tree(x, y, seed, features, event_names)
    return Discovery(scenario, outcome, target, n, float(y.mean()), features, trajectory, chosen, limits, sentence,
                     text, accuracy, baseline, tree, list(x.columns))


def _prim(x, y, box: int | None, max_dims: int) -> tuple[list[dict], int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import logging

        from ema_workbench.analysis import prim

        logging.getLogger("EMA").setLevel(logging.ERROR)
        logging.getLogger("EMA.analysis.prim").setLevel(logging.ERROR)
        found = prim.Prim(x, y, peel_alpha=0.05, mass_min=0.02).find_box()
    if found is None:
        raise SimError("PRIM found no box (the outcome is not concentrated anywhere in these features)")
    trajectory = []
    initial = found.box_lims[0]
    for i, row in found.peeling_trajectory.iterrows():
        lims = found.box_lims[int(i)]
        limits = []
        for column in x.columns:
            low, high = float(lims[column].iloc[0]), float(lims[column].iloc[1])
            full_low, full_high = float(initial[column].iloc[0]), float(initial[column].iloc[1])
            if low > full_low or high < full_high:
                limits.append({"feature": column, "low": low if low > full_low else None,
                               "high": high if high < full_high else None})
        trajectory.append({"box": int(i), "coverage": float(row["coverage"]), "density": float(row["density"]),
                           "mass": float(row["mass"]), "res_dim": int(row["res_dim"]), "limits": limits})
    if box is not None:
        if not 0 <= box < len(trajectory):
            raise SimError(f"--box {box}: the peeling trajectory has boxes 0 to {len(trajectory) - 1}")
        return trajectory, box
    # among the boxes a reader can hold in mind (1 to max_dims restrictions), the one that best balances
    # coverage against how far density rises above the base rate: coverage x (density - base) / (1 - base)
    base = trajectory[0]["density"]
    readable = [t for t in trajectory if 1 <= t["res_dim"] <= max_dims] or trajectory[1:] or trajectory
    best = max(readable, key=lambda t: t["coverage"] * (t["density"] - base) / max(1.0 - base, 1e-12))
    return trajectory, trajectory.index(best)


def _when(step: float, dates) -> str:
    k = int(round(step))
    if dates is not None and 0 <= k < len(dates):
        return f"{dates[k]} (step {k})"
    return f"step {k}"


def describe_limit(limit: dict, features: list[Feature], dates=None, event_names: dict | None = None) -> str:
    """One restriction of a box in words."""
    feature = next(f for f in features if f.column == limit["feature"])
    low, high = limit["low"], limit["high"]
    if feature.kind == "value":
        name = feature.label.removeprefix("parameters.")
        if low is not None and high is not None:
            return f"{low:.3g} <= {name} <= {high:.3g}"
        return f"{name} < {high:.3g}" if high is not None else f"{name} > {low:.3g}"
    event = feature.label + (f" ({event_names[feature.label]})" if event_names and feature.label in event_names
                             and event_names[feature.label] != feature.label else "")
    last = len(dates) - 1 if dates is not None else None
    # steps and counts are whole numbers and PRIM's limits are inclusive: the box holds ceil(low) .. floor(high)
    low = None if low is None else float(np.ceil(low - 1e-9))
    high = None if high is None else float(np.floor(high + 1e-9))
    if feature.kind == "count":
        if low is not None and high is not None:
            return f"{event} fires {low:.0f} to {high:.0f} times"
        return f"{event} fires at most {high:.0f} times" if high is not None else f"{event} fires more than {low:.0f} times"
    never = last is not None and low is not None and low > last
    if never:
        return f"{event} never happens"
    if low is not None and high is not None:
        ending = "" if last is None or high <= last else " or never"
        return f"{event} first happens between {_when(low, dates)} and {_when(min(high, last or high), dates)}{ending}"
    if high is not None:
        return f"{event} happens" if last is not None and high >= last else f"{event} happens by {_when(high, dates)}"
    return f"{event} does not happen before {_when(low, dates)}"


def _sentence(target, box, limits, features, base_rate, dates, event_names) -> str:
    conditions = " and ".join(describe_limit(limit, features, dates, event_names) for limit in limits) or "always"
    return (f"{target} in {box['density']:.0%} of the runs where {conditions} (against {base_rate:.0%} of all runs); "
            f"those runs are {box['mass']:.0%} of all and hold {box['coverage']:.0%} of the runs where {target}.")


def _tree(x, y, seed: int, features, event_names):
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier, export_text

    train_x, test_x, train_y, test_y = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    tree = DecisionTreeClassifier(max_depth=TREE_DEPTH, min_samples_leaf=max(5, len(y) // 100), random_state=seed)
    tree.fit(train_x, train_y)
    accuracy = float(tree.score(test_x, test_y))
    baseline = float(max(test_y.mean(), 1 - test_y.mean()))
    tree.fit(x, y)  # the tree shown is fitted on every run; its accuracy was measured on held-out runs
    text = export_text(tree, feature_names=list(x.columns), class_names=["no", "yes"], show_weights=True,
                       decimals=3)
    return tree, text, accuracy, baseline
