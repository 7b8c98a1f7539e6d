"""Event effect kinds, one module each (relation.py, attribute.py, ...), found here by looking: a new kind
is a new module defining KIND (see _base.py) and its test; the loader, the engine, the event log and
`sim schema` all read it from KINDS."""

from __future__ import annotations

import importlib
import pkgutil

from sim.scenario.effect_kinds._base import EffectKind


def _found() -> dict[str, EffectKind]:
    kinds = [importlib.import_module(f"{__name__}.{module.name}").KIND
             for module in pkgutil.iter_modules(__path__) if not module.name.startswith("_")]
    return {kind.name: kind for kind in sorted(kinds, key=lambda kind: kind.order)}


KINDS: dict[str, EffectKind] = _found()
BY_DATA: dict[type, EffectKind] = {kind.data: kind for kind in KINDS.values()}
