"""Plots of one run, read from its RunResult: alignment fans, presence by site, camps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.experiment import atomic  # noqa: E402
from sim.model.model import RunResult, firing_counts  # noqa: E402
from sim.model.recorder import STATISTICS  # noqa: E402
from sim.plots.layout import caption, caption_height, date_ticks, dates_axis, place_panels  # noqa: E402
from sim.scenario.schema import Scenario  # noqa: E402

COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
_Q = {name: k for k, name in enumerate(STATISTICS)}


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


def _fan(ax, dates, stats, c, colour, label):
    ax.fill_between(dates, stats[:, _Q["q05"], c], stats[:, _Q["q95"], c], color=colour, alpha=0.15, lw=0)
    ax.fill_between(dates, stats[:, _Q["q25"], c], stats[:, _Q["q75"], c], color=colour, alpha=0.3, lw=0)
    ax.plot(dates, stats[:, _Q["q50"], c], color=colour, lw=1.8, label=label)


def _mark(ax, marks, label: bool):
    if not marks:
        return
    low, top = ax.get_ylim()
    ax.vlines([day for day, _ in marks], 0, 1, transform=ax.get_xaxis_transform(), colors="0.45", lw=0.8,
              linestyles=":")  # one collection, not a line per event
    if label:  # staggered so that events close in time stay readable
        for n, (day, _) in enumerate(marks, 1):
            ax.text(day, top - (n % 3) * 0.07 * (top - low), f" {n}", fontsize=7, color="0.3", va="top", ha="left")


def _ticks(scenario: Scenario):
    return date_ticks(scenario.dates[0], scenario.dates[-1])


def _legend_for_marks(fig, marks) -> float:
    """The numbered events as a caption under the panels; returns the inches it takes."""
    if not marks:
        return 0.0
    text = "Marked events: " + "; ".join(f"{n} {day.isoformat()} {name}" for n, (day, name) in enumerate(marks, 1))
    text = caption(text, fig.get_figwidth() - 0.3, 7)
    fig.text(0.1, 0.05, text, fontsize=7, va="bottom", color="0.25",
             transform=fig.dpi_scale_trans)  # in inches from the corner: it stays put if the figure grows
    return caption_height(text, 7) + 0.1


def _save(fig, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic.write_bytes(path, buffer.getvalue())


def plot_alignment(path: Path, scenario: Scenario, result: RunResult, marks) -> None:
    wanted = [c for c, s in enumerate(result.series) if s.quantity in ("relation", "alignment")]
    if not wanted:
        return
    dates = list(scenario.dates)
    names = {a.id: a.name for a in scenario.actors} | {b.id: b.name for b in scenario.blocs}
    cols = 2 if len(wanted) > 1 else 1
    rows = -(-len(wanted) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 2.9 * rows + 1.2), sharex=True, squeeze=False)
    ticks = _ticks(scenario)
    for n, c in enumerate(wanted):
        ax = axes.flat[n]
        ser = result.series[c]
        _fan(ax, dates, result.stats, c, COLOURS[0], "median")
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(f"{names[ser.source]} toward {names[ser.target]}", fontsize=10)
        ax.set_ylabel("alignment (-1 hostile, +1 allied)", fontsize=8)
        dates_axis(ax, ticks)
        _mark(ax, marks, label=True)
    for ax in list(axes.flat)[len(wanted):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=COLOURS[0], lw=1.8),
               plt.Rectangle((0, 0), 1, 1, color=COLOURS[0], alpha=0.45),
               plt.Rectangle((0, 0), 1, 1, color=COLOURS[0], alpha=0.15),
               plt.Line2D([], [], color="0.45", lw=0.8, ls=":")]
    fig.legend(handles, ["median", "50% of runs", "90% of runs", "event (numbered below)"],
               loc="upper right", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f"{scenario.meta.name}: tracked alignments over time ({len(result.replications)} runs, "
                 f"{scenario.meta.step_unit}ly steps)", x=0.01, ha="left", fontsize=11)
    place_panels(fig, rows, cols, top=0.85, bottom=_legend_for_marks(fig, marks) + 0.45, panel_height=2.2)
    _save(fig, path)


def plot_presence(path: Path, scenario: Scenario, result: RunResult, marks) -> None:
    wanted = [c for c, s in enumerate(result.series) if s.quantity == "presence"]
    if not wanted:
        return
    sites = list(dict.fromkeys(result.series[c].target for c in wanted))
    actor_names = {a.id: a.name for a in scenario.actors}
    actors = list(dict.fromkeys(result.series[c].source for c in wanted))
    colour = {a: COLOURS[k % len(COLOURS)] for k, a in enumerate(actors)}
    dates = list(scenario.dates)
    cols = 2 if len(sites) > 1 else 1
    rows = -(-len(sites) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 2.9 * rows + 1.2), sharex=True, squeeze=False)
    ticks = _ticks(scenario)
    for n, site in enumerate(sites):
        ax = axes.flat[n]
        for c in wanted:
            ser = result.series[c]
            if ser.target == site:
                _fan(ax, dates, result.stats, c, colour[ser.source], actor_names[ser.source])
        host = scenario.site(site)
        ax.set_title(f"{host.name}, in {actor_names[host.host]}", fontsize=10)
        ax.set_ylabel("personnel", fontsize=8)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, loc="best", title="median, 50% and 90% bands", title_fontsize=7)
        dates_axis(ax, ticks)
        _mark(ax, marks, label=True)
    for ax in list(axes.flat)[len(sites):]:
        ax.axis("off")
    fig.suptitle(f"{scenario.meta.name}: personnel by site ({len(result.replications)} runs)",
                 x=0.01, ha="left", fontsize=11)
    place_panels(fig, rows, cols, top=0.75, bottom=_legend_for_marks(fig, marks) + 0.45, panel_height=2.2)
    _save(fig, path)


def plot_camps(path: Path, scenario: Scenario, result: RunResult, marks) -> None:
    wanted = [c for c, s in enumerate(result.series) if s.quantity == "same_camp"]
    if not wanted:
        return
    names = {a.id: a.name for a in scenario.actors}
    dates = list(scenario.dates)
    fig, ax = plt.subplots(figsize=(9, 4.8))
    styles = ["-", "--", ":", "-."]
    for k, c in enumerate(wanted):
        ser = result.series[c]
        ax.plot(dates, result.stats[:, _Q["mean"], c] * 100, color=COLOURS[k % len(COLOURS)], lw=2.2 - 0.3 * (k % 4),
                ls=styles[k % 4], label=f"{names[ser.source]} with {names[ser.target]}")
    ax.set_ylim(-3, 103)
    ax.set_ylabel("% of runs in the same camp")
    ax.set_title(f"{scenario.meta.name}: camp membership (two camps minimising frustration)", fontsize=11)
    ax.legend(fontsize=8, loc="center right")
    dates_axis(ax, _ticks(scenario))
    _mark(ax, marks, label=True)
    place_panels(fig, 1, 1, top=0.4, bottom=_legend_for_marks(fig, marks) + 0.45, panel_height=3.3, left=0.7)
    _save(fig, path)


def plot_run(folder: Path, scenario: Scenario, result: RunResult) -> None:
    marks = event_marks(scenario, result)
    plot_alignment(Path(folder) / "alignment.png", scenario, result, marks)
    plot_presence(Path(folder) / "presence.png", scenario, result, marks)
    plot_camps(Path(folder) / "camps.png", scenario, result, marks)
    if result.network is not None:
        from sim.plots.network_plots import plot_camp_membership, plot_network

        names = [a.id for a in scenario.actors]
        plot_network(result.network, names, scenario.dates, scenario.meta.name, Path(folder) / "network")
        plot_camp_membership(result.network, names, scenario.dates, scenario.meta.name,
                             Path(folder) / "camp_membership")
