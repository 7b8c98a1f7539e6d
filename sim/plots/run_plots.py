"""Plots of one run, read from its RunResult: alignment fans, presence by site, camps, the network.

Drawn on our own canvas (`canvas.py`), not matplotlib: a default run's five figures cost what the run
costs, not four times it (issue 13).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from sim.experiment import atomic
from sim.model.model import RunResult, firing_counts
from sim.model.recorder import STATISTICS
from sim.plots.axes import Entry, Panel, best_corner, legend, legend_size
from sim.plots.canvas import Canvas, Glyphs
from sim.plots.geometry import date_ticks, day_ticks, nice_ticks, panel_grid, tick_labels
from sim.scenario.schema import Scenario

COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
_Q = {name: k for k, name in enumerate(STATISTICS)}
CAPTION = 7  # points


def event_marks(scenario: Scenario, result: RunResult) -> list[tuple[dt.date, str]]:
    """Dates to mark: scheduled events on their date; other marked events at their median firing step."""
    counts = result.step_counts if result.step_counts is not None else firing_counts(result)
    marks = []
    for e, event in enumerate(scenario.events):
        if not event.mark or not event.enabled:
            continue
        total = int(counts[e].sum())
        if event.kind == "scheduled" and event.step is not None and event.step <= scenario.meta.steps:
            marks.append((scenario.dates[event.step], event.name))
        elif total:
            share = total / len(result.replications)
            cumulative = np.cumsum(counts[e])  # the median of the firing steps, read off their counts
            low, high = (int(np.searchsorted(cumulative, i, side="right")) for i in ((total - 1) // 2, total // 2))
            median = int((low + high) / 2)
            marks.append((scenario.dates[median], f"{event.name} (median; {share:.0%} of runs)"))
    return sorted(marks)


def _one_line(name: str) -> str:
    """A name as titles and legend rows take it: line breaks and runs of spaces read as one space."""
    return " ".join(name.split())


class _Timeline:
    """The x axis every panel of a run shares: days, limits with matplotlib's 5% margins, ticks."""

    def __init__(self, scenario: Scenario) -> None:
        self.days = np.array([d.toordinal() for d in scenario.dates], float)
        first, last = scenario.dates[0], scenario.dates[-1]
        margin = 0.05 * max(self.days[-1] - self.days[0], 1.0)
        self.xlim = (self.days[0] - margin, self.days[-1] + margin)
        ticks = date_ticks(first, last) or day_ticks(first, last)
        self.ticks = [d.toordinal() for d in ticks[0]]
        self.labels = ticks[1]


def _marks_caption(canvas_width: float, glyphs: Glyphs, marks) -> tuple[str, float]:
    """The numbered events as a caption under the panels, and the inches it takes."""
    if not marks:
        return "", 0.0
    text = "Marked events: " + "; ".join(f"{n} {day.isoformat()} {name}" for n, (day, name) in enumerate(marks, 1))
    text = glyphs.wrap(text, (canvas_width - 0.3) * glyphs.dpi, CAPTION)
    _, _, line = glyphs.metrics(CAPTION)
    return text, (text.count("\n") + 1) * line / glyphs.dpi + 0.1


def _write_caption(canvas: Canvas, text: str) -> None:
    if text:
        canvas.text(0.1 * canvas.dpi, canvas.image.height - 0.05 * canvas.dpi, text, CAPTION, colour="0.25",
                    va="bottom")


def _fans(layer, panel: Panel, days, stats, series: list[int], colours: list[str], xticks, yticks) -> None:
    """Median lines in 50% and 90% bands, with the grid between bands and lines as matplotlib has it."""
    x = panel.x(days)
    for c, colour in zip(series, colours):
        layer.band(x, panel.y(stats[:, _Q["q05"], c]), panel.y(stats[:, _Q["q95"], c]), colour, 0.15)
        layer.band(x, panel.y(stats[:, _Q["q25"], c]), panel.y(stats[:, _Q["q75"], c]), colour, 0.3)
    panel.grid(layer, xticks, yticks)
    for c, colour in zip(series, colours):
        layer.polyline(x, panel.y(stats[:, _Q["q50"], c]), colour, 1.8)


def _panels(canvas: Canvas, boxes, xlim, ylim) -> list[Panel]:
    dpi = canvas.dpi
    return [Panel(canvas, tuple(v * dpi for v in box), xlim, ylim) for box in boxes]


def _time_frame(panel: Panel, timeline: _Timeline, yticks: list[float], ylabel: str, marks,
                ylabel_size: float = 8) -> None:
    """Grid, frame, dates below, values left, the axis label and the numbered event marks."""
    labels, factor = tick_labels(yticks)
    offset = panel.frame(timeline.ticks, timeline.labels, yticks, labels)
    if factor:  # above the axis's top left corner, as matplotlib's offset text
        panel.canvas.text(panel.box[0], panel.box[1] - panel.canvas.px(3), factor, 10, va="bottom")
    panel.ylabel(ylabel, ylabel_size, offset)
    panel.marks([day.toordinal() for day, _ in marks], label=True)


def _save(canvas: Canvas, path: Path) -> None:
    atomic.write_bytes(path, canvas.png())


def plot_alignment(path: Path, scenario: Scenario, result: RunResult, marks, glyphs: Glyphs | None = None) -> None:
    wanted = [c for c, s in enumerate(result.series) if s.quantity in ("relation", "alignment")]
    if not wanted:
        return
    glyphs = glyphs or Glyphs()
    names = {a.id: _one_line(a.name) for a in scenario.actors} | {b.id: _one_line(b.name) for b in scenario.blocs}
    cols = 2 if len(wanted) > 1 else 1
    rows = -(-len(wanted) // cols)
    caption, caption_inches = _marks_caption(6.2 * cols, glyphs, marks)
    width, height, boxes = panel_grid(6.2 * cols, rows, cols, top=0.85, bottom=caption_inches + 0.45,
                                      panel_height=2.2)
    canvas = Canvas(width, height, glyphs)
    timeline = _Timeline(scenario)
    yticks = [-1.0, -0.5, 0.0, 0.5, 1.0]
    for panel, c in zip(_panels(canvas, boxes, timeline.xlim, (-1.05, 1.05)), wanted):
        ser = result.series[c]
        with panel.data() as layer:
            _fans(layer, panel, timeline.days, result.stats, [c], COLOURS[:1], timeline.ticks, yticks)
            panel.hline(layer, 0.0, "0.6")
        panel.title(f"{names[ser.source]} toward {names[ser.target]}")
        _time_frame(panel, timeline, yticks, "alignment (\u22121 hostile, +1 allied)", marks)
    entries = [Entry("median", COLOURS[0]), Entry("50% of runs", COLOURS[0], "patch", alpha=0.45),
               Entry("90% of runs", COLOURS[0], "patch", alpha=0.15),
               Entry("event (numbered below)", "0.45", width=0.8, dash=":")]
    size = legend_size(canvas, entries, 8, ncol=4)
    legend(canvas, canvas.image.width - size[0] - 2, 2, entries, 8, ncol=4)
    canvas.text(0.01 * canvas.image.width, 0.3 * canvas.dpi,
                f"{scenario.meta.name}: tracked alignments over time ({len(result.replications)} runs, "
                f"{scenario.meta.step_unit}ly steps)", 11, va="center")
    _write_caption(canvas, caption)
    _save(canvas, path)


def plot_presence(path: Path, scenario: Scenario, result: RunResult, marks, glyphs: Glyphs | None = None) -> None:
    wanted = [c for c, s in enumerate(result.series) if s.quantity == "presence"]
    if not wanted:
        return
    glyphs = glyphs or Glyphs()
    sites = list(dict.fromkeys(result.series[c].target for c in wanted))
    actor_names = {a.id: _one_line(a.name) for a in scenario.actors}
    actors = list(dict.fromkeys(result.series[c].source for c in wanted))
    colour = {a: COLOURS[k % len(COLOURS)] for k, a in enumerate(actors)}
    cols = 2 if len(sites) > 1 else 1
    rows = -(-len(sites) // cols)
    caption, caption_inches = _marks_caption(6.2 * cols, glyphs, marks)
    width, height, boxes = panel_grid(6.2 * cols, rows, cols, top=0.75, bottom=caption_inches + 0.45,
                                      panel_height=2.2)
    canvas = Canvas(width, height, glyphs)
    timeline = _Timeline(scenario)
    for box, site in zip(boxes, sites):
        series = [c for c in wanted if result.series[c].target == site]
        top = np.nanmax(result.stats[:, [_Q["q05"], _Q["q50"], _Q["q95"]]][:, :, series], initial=0.0)
        top = float(top) * 1.05 if np.isfinite(top) and top > 0 else 1.0
        panel = _panels(canvas, [box], timeline.xlim, (0.0, top))[0]
        yticks = nice_ticks(0.0, top)
        with panel.data() as layer:
            _fans(layer, panel, timeline.days, result.stats, series, [colour[result.series[c].source] for c in series],
                  timeline.ticks, yticks)
        host = scenario.site(site)
        panel.title(f"{_one_line(host.name)}, in {actor_names[host.host]}")
        _time_frame(panel, timeline, yticks, "personnel", marks)
        entries = [Entry(actor_names[result.series[c].source], colour[result.series[c].source]) for c in series]
        size = legend_size(canvas, entries, 8, title="median, 50% and 90% bands")
        medians = result.stats[:, _Q["q50"], series]
        corner = best_corner(panel, size, np.repeat(timeline.days, len(series)), medians.ravel())
        legend(canvas, *corner, entries, 8, title="median, 50% and 90% bands", frame=True)
    canvas.text(0.01 * canvas.image.width, 0.3 * canvas.dpi,
                f"{scenario.meta.name}: personnel by site ({len(result.replications)} runs)", 11, va="center")
    _write_caption(canvas, caption)
    _save(canvas, path)


def plot_camps(path: Path, scenario: Scenario, result: RunResult, marks, glyphs: Glyphs | None = None) -> None:
    wanted = [c for c, s in enumerate(result.series) if s.quantity == "same_camp"]
    if not wanted:
        return
    glyphs = glyphs or Glyphs()
    names = {a.id: _one_line(a.name) for a in scenario.actors}
    caption, caption_inches = _marks_caption(9, glyphs, marks)
    width, height, boxes = panel_grid(9, 1, 1, top=0.4, bottom=caption_inches + 0.45, panel_height=3.3, left=0.7)
    canvas = Canvas(width, height, glyphs)
    timeline = _Timeline(scenario)
    panel = _panels(canvas, boxes, timeline.xlim, (-3.0, 103.0))[0]
    yticks = [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    styles = ["-", "--", ":", "-."]
    entries = []
    with panel.data() as layer:
        panel.grid(layer, timeline.ticks, yticks)
        for k, c in enumerate(wanted):
            ser = result.series[c]
            entry = Entry(f"{names[ser.source]} with {names[ser.target]}", COLOURS[k % len(COLOURS)],
                          width=2.2 - 0.3 * (k % 4), dash=styles[k % 4])
            layer.polyline(panel.x(timeline.days), panel.y(result.stats[:, _Q["mean"], c] * 100), entry.colour,
                           entry.width, dash=entry.dash)
            entries.append(entry)
    panel.title(f"{scenario.meta.name}: camp membership (two camps minimising frustration)", 11)
    _time_frame(panel, timeline, yticks, "% of runs in the same camp", marks, ylabel_size=10)
    w, h = legend_size(canvas, entries, 8)
    x0, y0, x1, y1 = panel.box
    legend(canvas, x1 - w - canvas.px(5), (y0 + y1 - h) / 2, entries, 8, frame=True)
    _write_caption(canvas, caption)
    _save(canvas, path)


def plot_run(folder: Path, scenario: Scenario, result: RunResult) -> None:
    from sim.plots.network_figures import plot_camp_membership, plot_network

    glyphs = Glyphs()  # the figures share their rendered texts
    marks = event_marks(scenario, result)
    plot_alignment(Path(folder) / "alignment.png", scenario, result, marks, glyphs)
    plot_presence(Path(folder) / "presence.png", scenario, result, marks, glyphs)
    plot_camps(Path(folder) / "camps.png", scenario, result, marks, glyphs)
    if result.network is not None:
        names = [a.id for a in scenario.actors]
        plot_network(result.network, names, scenario.dates, scenario.meta.name, Path(folder) / "network.png",
                     glyphs)
        plot_camp_membership(result.network, names, scenario.dates, scenario.meta.name,
                             Path(folder) / "camp_membership.png", glyphs)
