"""Starter scenarios for `sim new`: commented files that validate, run and lint clean as they are."""

from __future__ import annotations

from pathlib import Path

RULES = ("balance", "landscape")


def starter(rule: str, name: str) -> str:
    """The starter for `rule`, named `name` (its meta.name)."""
    text = (Path(__file__).parent / f"{rule}.toml").read_text(encoding="utf-8")
    return text.replace("__NAME__", name)
