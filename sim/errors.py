"""Errors a user can act on: each says which file, which key, what was found and what was expected."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Sequence

KeyPath = tuple[str | int, ...]

# The command line's exit statuses, kept once: done; done but some replications failed (or a batch stopped);
# bad input, said in one line; a bug (internal error); interrupted (Ctrl-C, SIGTERM), resumable.
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 70, 130


def format_path(path: KeyPath) -> str:
    """Render ('events', 'coup', 'effects', 0, 'target') as events.coup.effects[0].target."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "<top level>"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix when a close match exists, else ''."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a scenario file."""

    file: str
    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}:{self.column}: {self.message}"
        if not self.path:
            return f"{self.file}: {self.message}"
        return f"{self.file}: {self.path}: {self.message}"


class SimError(Exception):
    """Base class for errors caused by the user's input (exit status 2)."""


class ScenarioError(SimError):
    """A scenario (or its overrides) is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RunFolderError(SimError):
    """A results folder is missing or does not hold what a command needs."""


def excerpt(text: str, column: int | None = None, width: int = 80) -> str:
    """At most `width` characters of a long text, around `column` (1-based) when given, marked with '...';
    unprintable characters shown escaped."""
    before = after = ""
    if len(text) > width:
        start = 0 if column is None else max(0, min(column - 1 - width // 2, len(text) - width))
        before, after = ("..." if start else ""), ("..." if start + width < len(text) else "")
        text = text[start:start + width]
    return before + (text if text.isprintable() else repr(text)[1:-1]) + after
