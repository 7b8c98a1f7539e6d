"""The event log built in bulk (event_log, event_table, event_text) against a plain pass over every firing."""

import csv
import dataclasses
import functools
import io
import math

import numpy as np
from conftest import SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.experiment.run_folder import EVENT_COLUMNS, _drawn, _EventTexts, event_log, event_rows, event_table, event_text
from sim.model.events import Firing
from sim.model.model import run_scenario
from sim.scenario.loader import load_scenario
from sim.scenario.schema import AttributeEffect, PresenceEffect, RelationEffect


@functools.cache
def niger():
    """A small run of niger-2024 (drawn and fixed sizes, presence, follow-ups), whose firings tests replace."""
    return run_scenario(load_scenario(SCENARIOS / "niger-2024.toml"), replications=2)


def reference_log(result):
    """(replication, step, key) rows and the keys (event, why, effects), by a Python pass over every firing: keys
    numbered firing by firing, event by event, then by parent (fixed sizes: its first firing's text) or firing
    by firing (drawn sizes; also a fixed event whose sizes nevertheless differ between firings)."""
    events, firings = result.scenario.events, result.firings
    texts = _EventTexts(result.scenario)

    def sizes(firing, pos):
        effects = events[firing.events[pos]].effects
        return tuple(tuple(float(np.asarray(a, dtype=np.float64)[pos]) for a in (v if isinstance(v, tuple) else (v,)))
                     for v in firing.values[:len(effects)])

    fixed = [not any(_drawn(f, result.drawn) for f in e.effects) for e in events]
    first = {}
    for firing in firings:
        for pos, e in enumerate(firing.events.tolist()):
            bits = np.array([x for col in sizes(firing, pos) for x in col], dtype=np.float64).tobytes()
            fixed[e] = fixed[e] and first.setdefault(e, bits) == bits
    keys, rows = {}, []
    for firing in firings:
        row_keys = [0] * len(firing.events)
        for e in sorted(set(firing.events.tolist())):
            at = [pos for pos, x in enumerate(firing.events.tolist()) if x == e]
            parents = sorted({firing.parents[pos] for pos in at})
            groups = ([[pos for pos in at if firing.parents[pos] == p] for p in parents] if fixed[e]
                      else [[pos] for pos in at])
            for group in groups:
                key = (e, texts.why(e, int(firing.parents[group[0]])), texts.effect_list(e, sizes(firing, group[0])))
                for pos in group:
                    row_keys[pos] = keys.setdefault(key, len(keys))
        rows += [(int(result.replications[r]), firing.step, k) for r, k in zip(firing.reps.tolist(), row_keys)]
    rows.sort(key=lambda row: row[:2])
    return rows, list(keys)


def reference_dictionaries(result, keys):
    """events.parquet's text columns as (dictionary, each key's index): each dictionary in order of first use."""
    events = result.scenario.events
    out = {}
    for c, name in enumerate(EVENT_COLUMNS[3:]):
        values = [(events[e].id, events[e].name, why, effects)[c] for e, why, effects in keys]
        unique = list(dict.fromkeys(values))
        out[name] = (unique, [unique.index(v) for v in values])
    return out


def firings_like(result, seed: int, n_firings: int, most: int, pool: list[float], wobble: bool, shuffle: bool):
    """Random firings of the result's events: each of events sharing one shape of values (as an event group's),
    sizes drawn from `pool` (few values) or uniformly (many), a fixed event's sizes the same in every firing
    unless `wobble`."""
    rng = np.random.default_rng(seed)
    events = result.scenario.events
    widths = [tuple(2 if isinstance(f, PresenceEffect) else 1 for f in e.effects) for e in events]
    shapes = sorted(set(widths))
    fixed = [not any(_drawn(f, result.drawn) for f in e.effects) for e in events]
    constant = rng.uniform(-1, 1, (len(events), 16))
    reps = len(result.replications)
    firings = []
    for step in np.sort(rng.integers(0, 30, n_firings)):
        shape = shapes[rng.integers(len(shapes))]
        members = [e for e in range(len(events)) if widths[e] == shape]
        members = rng.choice(members, size=min(len(members), rng.integers(1, 4)), replace=False)
        n = int(rng.integers(0, most + 1))
        ev = rng.choice(members, size=n).astype(np.int64)
        parents = rng.choice([-1, -1, 0, 3, int(ev[0]) if n else -1], size=n).astype(np.int64)
        many = rng.random() < 0.5
        values, slot = [], 0
        for width in shape:
            columns = []
            for c in range(width):
                if c == 1:  # a presence duration in steps
                    column = rng.integers(1, 4, n).astype(np.float64)
                elif many:
                    column = rng.uniform(-2, 2, n)
                else:
                    column = np.array(pool, dtype=np.float64)[rng.integers(0, len(pool), n)]
                keep = np.array([fixed[e] for e in ev], dtype=bool) & ~(wobble & (rng.random(n) < 0.3))
                column[keep] = constant[ev[keep], slot + c]
                columns.append(column)
            slot += width
            values.append(tuple(columns) if width == 2 else columns[0])
        firings.append(Firing(int(step), ev, rng.integers(0, reps, n), parents, tuple(values)))
    if shuffle:  # steps out of order: rows are still sorted by (replication, step)
        rng.shuffle(firings)
    return firings


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 6), st.sampled_from([3, 40, 300]),
       st.lists(st.sampled_from([0.0, -0.0, 0.1, 0.10000000000000002, 1.0, 2.5, -3e-7, 1e6, math.nan, math.inf]),
                min_size=1, max_size=5),
       st.booleans(), st.booleans(), st.sampled_from([0, 1]))
def test_event_log_is_a_pass_over_every_firing(seed, n_firings, most, pool, wobble, shuffle, spread):
    base = niger()
    ids = np.arange(7) if not spread else np.array([3, 10, 70_000, 70_001, 150_000, 150_002, 199_999])
    result = dataclasses.replace(base, replications=ids)
    result = dataclasses.replace(result, firings=firings_like(result, seed, n_firings, most, pool, wobble, shuffle))
    rows, keys = reference_log(result)
    log = event_log(result)
    assert list(zip(log.reps.tolist(), log.steps.tolist(), log.ids.tolist())) == rows
    assert log.keys == keys

    table = event_table(result, log)
    for name, (unique, index) in reference_dictionaries(result, keys).items():
        column = table.column(name).combine_chunks()
        assert column.dictionary.to_pylist() == unique
        assert column.indices.to_pylist() == [index[k] for _, _, k in rows]
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\n").writerows(event_rows(result))
    assert event_text(result, log) == expected.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=20))
def test_effect_texts_are_the_f_string_formats(amounts):
    """describe formats by %-templates; the texts are those of f"{v:+.4g}" (a delta) and f"{v:g}" (a set)."""
    change = RelationEffect(("a",), ("b",), False, 0.1, None, "a -> 50%", lasting=True)
    assert change.describe(amounts) == [f"relation a -> 50% change {v:+.4g} (lasting)" for v in amounts]
    setting = AttributeEffect("a", "stability", None, 0.5)
    assert setting.describe(amounts) == [f"a.stability set to {v:g}" for v in amounts]
    presence = PresenceEffect("a", "b", None, None, 1.0, 2)
    overs = [1 + i % 3 for i in range(len(amounts))]
    assert presence.describe(amounts, overs) == [f"presence a@b set to {v:g}" + (f" over {o} steps" if o > 1 else "")
                                                 for v, o in zip(amounts, overs)]
