"""Layout decided once per figure, not measured by matplotlib panel by panel.

matplotlib's AutoDateLocator and ConciseDateFormatter recompute the ticks (through dateutil's rrule)
at every draw of every panel, tight_layout draws the whole figure once more to measure it, and a
caption with wrap=True is re-measured word by word: in a nine-panel figure that was three quarters
of the drawing time. Here the ticks are computed once from the scenario's dates, the margins are set
in inches and the caption is wrapped by its characters.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import matplotlib.dates as mdates
from matplotlib.ticker import FixedFormatter, FixedLocator

_MONTH_STEPS = (1, 2, 3, 4, 6, 12, 24, 60, 120)
_CHAR_WIDTH = 0.6  # DejaVu Sans: an upper bound on the mean advance of a caption's characters, in em


def date_ticks(first: dt.date, last: dt.date, most: int = 9) -> tuple[list[float], list[str]] | None:
    """First-of-month ticks every 1, 2, 3, 4, 6 or 12 months (or 2, 5, 10 years), at most `most` of them;
    January and the first tick show the year, the others the month (as matplotlib's concise style).
    None when fewer than two would fit (a span of weeks: matplotlib's own locator does better)."""
    months = (last.year - first.year) * 12 + last.month - first.month
    step = next((s for s in _MONTH_STEPS if months // s + 1 <= most), _MONTH_STEPS[-1])
    start = first.year * 12 + first.month - 1 + (first.day > 1)
    start += -start % step  # on the calendar: each step divides a year or is whole years
    days = [dt.date(m // 12, m % 12 + 1, 1) for m in range(start, last.year * 12 + last.month, step)]
    if len(days) < 2:
        return None
    labels = [str(d.year) if d.month == 1 or step >= 12 else d.strftime("%b") for d in days]
    if days and days[0].month != 1 and step < 12:
        labels[0] = f"{days[0]:%b}\n{days[0].year}"
    return [mdates.date2num(d) for d in days], labels


def dates_axis(ax, ticks: tuple[list[float], list[str]] | None) -> None:
    if ticks is None:
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=9))
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    else:
        ax.xaxis.set_major_locator(FixedLocator(ticks[0]))
        ax.xaxis.set_major_formatter(FixedFormatter(ticks[1]))
    ax.tick_params(labelbottom=True)  # dates under every panel, not only the last row
    ax.grid(alpha=0.25)


def caption(text: str, width_inches: float, fontsize: float) -> str:
    """`text` wrapped to lines that fit `width_inches` at `fontsize` points."""
    per_line = max(20, int(width_inches * 72 / (fontsize * _CHAR_WIDTH)))
    return textwrap.fill(text, per_line, break_on_hyphens=False)


def caption_height(text: str, fontsize: float) -> float:
    """Inches a caption from `caption` takes."""
    return (text.count("\n") + 1) * fontsize * 1.25 / 72


def place_panels(fig, rows: int, cols: int, top: float, bottom: float, panel_height: float, left: float = 0.8,
                 right: float = 0.2, between_rows: float = 0.7, between_cols: float = 0.9) -> None:
    """Margins, gaps and panel heights in inches (room for titles, tick labels, axis labels and captions),
    as fractions for matplotlib: the figure's height follows from them, so a long caption of marked events
    makes the figure taller instead of squeezing its panels. Its width stays, unless long labels leave
    panels narrower than 1.6 inches."""
    width = max(fig.get_figwidth(), left + right + (cols - 1) * between_cols + cols * 1.6)
    height = top + bottom + (rows - 1) * between_rows + rows * panel_height
    fig.set_size_inches(width, height)
    panel_w = (width - left - right - (cols - 1) * between_cols) / cols
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height,
                        wspace=between_cols / panel_w, hspace=between_rows / panel_height)
