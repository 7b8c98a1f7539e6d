"""Where things go on a figure, decided once from the data: date ticks, round-number ticks, panel grids.

Pure arithmetic, no drawing library: the run's figures (`canvas.py`) and the matplotlib figures of
comparisons (`layout.py`) both read it.
"""

from __future__ import annotations

import datetime as dt
import math

_MONTH_STEPS = (1, 2, 3, 4, 6, 12, 24, 60, 120)
_NICE = (1.0, 2.0, 2.5, 5.0)


def date_ticks(first: dt.date, last: dt.date, most: int = 9) -> tuple[list[dt.date], list[str]] | None:
    """First-of-month ticks every 1, 2, 3, 4, 6 or 12 months (or 2, 5, 10 years), at most `most` of them;
    January and the first tick show the year, the others the month (as matplotlib's concise style).
    None when fewer than two would fit (a span of weeks)."""
    months = (last.year - first.year) * 12 + last.month - first.month
    step = next((s for s in _MONTH_STEPS if months // s + 1 <= most), _MONTH_STEPS[-1])
    start = first.year * 12 + first.month - 1 + (first.day > 1)
    start += -start % step  # on the calendar: each step divides a year or is whole years
    days = [dt.date(m // 12, m % 12 + 1, 1) for m in range(start, last.year * 12 + last.month, step)]
    if len(days) < 2:
        return None
    labels = [str(d.year) if d.month == 1 or step >= 12 else d.strftime("%b") for d in days]
    if days[0].month != 1 and step < 12:
        labels[0] = f"{days[0]:%b}\n{days[0].year}"
    return days, labels


def day_ticks(first: dt.date, last: dt.date, most: int = 7) -> tuple[list[dt.date], list[str]]:
    """For spans too short for month ticks: every 1, 2, 7, 14 or 28 days from the first date."""
    span = max((last - first).days, 1)
    step = next((s for s in (1, 2, 7, 14, 28) if span // s + 1 <= most), 28)
    days = [first + dt.timedelta(days=d) for d in range(0, span + 1, step)]
    return days, [d.strftime("%d %b") for d in days]


def nice_ticks(low: float, high: float, most: int = 7) -> list[float]:
    """Round-number ticks (steps of 1, 2, 2.5 or 5 times a power of ten) inside [low, high]: the smallest
    step that gives at most `most` of them."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    power = 10.0 ** math.floor(math.log10((high - low) / most))
    for step in (nice * power * 10 ** k for k in range(3) for nice in _NICE):
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        if last - first + 1 <= most:
            return [k * step for k in range(first, last + 1)]
    return [low, high]


def tick_label(value: float, step: float) -> str:
    """As matplotlib writes them: as many decimals as the step needs, a true minus sign."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    if step > 0 and abs(step * 10 ** decimals - round(step * 10 ** decimals)) > 1e-9:
        decimals += 1  # 2.5, 0.25
    text = f"{value:.{decimals}f}"
    return text.replace("-", "\u2212") if value < 0 else text


def tick_labels(ticks: list[float]) -> tuple[list[str], str]:
    """Labels for evenly spaced ticks, and the factor they are written in ('' or '1e9'): from a million up, in
    units of the largest tick's power of ten, as matplotlib writes them, so that labels stay short."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    largest = max((abs(t) for t in ticks), default=0.0)
    power = math.floor(math.log10(largest)) if largest >= 1e6 and math.isfinite(largest) else 0
    scale = 10.0 ** power
    return [tick_label(v / scale, step / scale) for v in ticks], f"1e{power}" if power else ""


def panel_grid(width: float, rows: int, cols: int, top: float, bottom: float, panel_height: float,
               left: float = 0.8, right: float = 0.2, between_rows: float = 0.7, between_cols: float = 0.9,
               min_panel_width: float = 1.6) -> tuple[float, float, list[tuple[float, float, float, float]]]:
    """Margins, gaps and panel heights in inches: the figure's height follows from them, so a long caption
    makes the figure taller instead of squeezing its panels; its width stays unless panels would be
    narrower than `min_panel_width`. Returns (width, height, boxes), boxes as (left, top, right, bottom)
    in inches from the top-left corner, row by row."""
    width = max(width, left + right + (cols - 1) * between_cols + cols * min_panel_width)
    height = top + bottom + (rows - 1) * between_rows + rows * panel_height
    panel_w = (width - left - right - (cols - 1) * between_cols) / cols
    boxes = []
    for r in range(rows):
        for c in range(cols):
            x0 = left + c * (panel_w + between_cols)
            y0 = top + r * (panel_height + between_rows)
            boxes.append((x0, y0, x0 + panel_w, y0 + panel_height))
    return width, height, boxes
