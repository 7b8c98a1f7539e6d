"""Typed reading of raw TOML values that collects every problem with its file and key path."""

from __future__ import annotations

import datetime as dt
import re

from sim.errors import KeyPath, Problem, did_you_mean, excerpt, format_path
from sim.scenario.documents import Document

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # meta.name: it names folders and files, so no '/', '.' or NUL
NAME_RULE = "1 to 64 letters, digits, '-' and '_', starting with a letter or digit (it names the results folder)"
RESERVED = {"and", "or", "not", "true", "false", "step", "default", "mutual", "directed", "all"}


def describe(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{excerpt(value)}'"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


class Checker:
    """Reads values out of a Document, recording a Problem (and returning None) for each bad one."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.context = ""  # appended to messages, e.g. " (in expel[chad,france])" while reading a template instance

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(self.doc.file_of(path), format_path(path), message + self.context))

    def warn(self, path: KeyPath, message: str) -> None:
        self.warnings.append(f"{self.doc.file_of(path)}: {format_path(path)}: {message}")

    def table(self, value, path: KeyPath, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict | None:
        if not isinstance(value, dict):
            self.problem(path, f"found {describe(value)}, expected a table")
            return None
        for key in value:
            if key not in allowed:
                self.problem(path + (key,), f"unknown key '{key}'; expected one of {', '.join(allowed)}"
                             + did_you_mean(key, allowed))
        for key in required:
            if key not in value:
                self.problem(path, f"missing required key '{key}'")
        return value

    def mapping(self, value, path: KeyPath) -> dict:
        """A table whose keys are user-chosen ids."""
        table = self.mapping_any(value, path)
        for key in table:
            self.ident(key, path + (key,))
        return table

    def mapping_any(self, value, path: KeyPath) -> dict:
        """A table whose keys are free text (e.g. template instances 'chad,france')."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"found {describe(value)}, expected a table")
            return {}
        return value

    def ident(self, value, path: KeyPath) -> str | None:
        if not isinstance(value, str) or not IDENT.fullmatch(value):
            self.problem(path, f"found {describe(value)}, expected an id made of letters, digits and '_', "
                               "not starting with a digit")
            return None
        if value in RESERVED:
            self.problem(path, f"'{value}' is a reserved word; choose another id")
            return None
        return value

    def name(self, value, path: KeyPath) -> str | None:
        """A scenario name: it becomes a folder under the results root, so it must be a plain file name."""
        text = self.string(value, path)
        if text is not None and not NAME.fullmatch(text):
            shown = text if len(text) <= 40 and text.isprintable() else repr(text[:40]) + "..."
            self.problem(path, f"found '{shown}', expected {NAME_RULE}")
            return None
        return text

    def number(self, value, path: KeyPath, lo: float | None = None, hi: float | None = None,
               integer: bool = False, default=None):
        if value is None:
            if default is None:
                self.problem(path, "missing value, expected " + ("an integer" if integer else "a number"))
            return default
        kind = "an integer" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            self.problem(path, f"found {describe(value)}, expected {kind}")
            return None
        if value != value or value in (float("inf"), float("-inf")):
            self.problem(path, f"found {value}, expected a finite number")
            return None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            show = (lambda x: f"{x:,}" if integer and isinstance(x, int) else f"{x:g}")  # noqa: E731
            bounds = f"between {show(lo)} and {show(hi)}" if lo is not None and hi is not None else (
                f">= {show(lo)}" if lo is not None else f"<= {show(hi)}")
            self.problem(path, f"found {excerpt(show(value), width=30)}, expected {kind} {bounds}")
            return None
        return int(value) if integer else float(value)

    def string(self, value, path: KeyPath, default: str | None = None, choices: tuple[str, ...] | None = None):
        if value is None:
            if default is None:
                self.problem(path, "missing value, expected a string")
            return default
        if not isinstance(value, str):
            self.problem(path, f"found {describe(value)}, expected a string")
            return None
        if choices is not None and value not in choices:
            self.problem(path, f"found '{value}', expected one of {', '.join(choices)}" + did_you_mean(value, choices))
            return None
        return value

    def boolean(self, value, path: KeyPath, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(path, f"found {describe(value)}, expected true or false")
            return default
        return value

    def date(self, value, path: KeyPath) -> dt.date | None:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.problem(path, f"found {describe(value)}, expected a date like 2024-03-16")
        return None

    def ref(self, value, path: KeyPath, what: str, choices) -> str | None:
        """A reference to an existing id (actor, bloc, site, event...)."""
        choices = tuple(choices)
        if not isinstance(value, str):
            self.problem(path, f"found {describe(value)}, expected {what} id")
            return None
        if value not in choices:
            self.problem(path, f"unknown {what} '{value}'; expected one of {', '.join(choices) or '(none defined)'}"
                         + did_you_mean(value, choices))
            return None
        return value

    def string_list(self, value, path: KeyPath) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(path, f"found {describe(value)}, expected a list of strings")
            return []
        return value
