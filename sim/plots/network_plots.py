"""The alignment network and camp membership for the comparison report, drawn with matplotlib so that they
can be SVG or PDF too; a run's own folder gets them from `network_figures.py`, which is faster."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from sim.model.network import NetworkRecord  # noqa: E402
from sim.plots.compare_plots import save  # noqa: E402
from sim.plots.layout import place_panels  # noqa: E402
from sim.plots.network_figures import CAMP_COLOURS, MIN_EDGE, NEGATIVE, POSITIVE, network_layout, node_sizes  # noqa: E402


def plot_network(record: NetworkRecord, names: list[str], dates, title: str, path: Path, fmt: str = "png") -> Path:
    k = len(record.steps)
    cols = 2 if k == 4 else min(k, 3)
    rows = -(-k // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.8 * rows + 0.8), squeeze=False)
    count = max(record.count, 1)
    for panel, step in enumerate(record.steps):
        ax = axes[panel // cols][panel % cols]
        split, share = record.modal_split(panel)
        split = split or "+" * len(names)
        pos = network_layout(split)
        mean = record.relations[panel] / count
        sym = (mean + mean.T) / 2
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if abs(sym[i, j]) >= MIN_EDGE:
                    ax.plot(*zip(pos[i], pos[j]), color=POSITIVE if sym[i, j] > 0 else NEGATIVE,
                            lw=0.5 + 4.5 * abs(sym[i, j]), alpha=0.35 + 0.5 * abs(sym[i, j]), zorder=1,
                            solid_capstyle="round")
        capability = record.capability[panel] / count
        sizes = node_sizes(capability)
        colours = [CAMP_COLOURS[0] if s == "+" else CAMP_COLOURS[1] for s in split]
        ax.scatter(pos[:, 0], pos[:, 1], s=sizes, c=colours, edgecolors="0.2", linewidths=0.8, zorder=2)
        for i, name in enumerate(names):
            ax.annotate(name, pos[i], xytext=(0, -np.sqrt(sizes[i]) / 2 - 7), textcoords="offset points",
                        ha="center", va="top", fontsize=7.5, zorder=3)
        ax.set_title(f"{dates[step]} (step {step})\ncamps as drawn in {share:.0%} of runs", fontsize=9)
        ax.set_xlim(-2.1, 2.1)
        ax.set_ylim(-1.9, 1.7)
        ax.set_axis_off()
    for panel in range(k, rows * cols):
        axes[panel // cols][panel % cols].set_axis_off()
    legend = [Line2D([], [], color=POSITIVE, lw=3, label="friendly (mean relation > 0)"),
              Line2D([], [], color=NEGATIVE, lw=3, label="hostile (mean relation < 0)"),
              Line2D([], [], marker="o", ls="", color=CAMP_COLOURS[0], ms=9, label="camp of " + names[0]),
              Line2D([], [], marker="o", ls="", color=CAMP_COLOURS[1], ms=9, label="the other camp")]
    fig.legend(handles=legend, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f"{title}: alignment network (edge width = |mean relation| >= {MIN_EDGE}; node size = capability; "
                 f"{record.count:,} runs)", fontsize=10)
    place_panels(fig, rows, cols, top=0.9, bottom=0.4, panel_height=4.2, left=0.1, right=0.1, between_rows=0.6,
                 between_cols=0.2)
    return save(fig, path, fmt, tight=False)


def plot_camp_membership(record: NetworkRecord, names: list[str], dates, title: str, path: Path,
                         fmt: str = "png") -> Path | None:
    """Per actor and step, the share of runs in which the actor is in the same camp as the first actor."""
    shares = record.with_first / max(record.count, 1)
    known = ~np.isnan(shares).all(axis=1)
    if not known.any():
        return None
    steps = np.flatnonzero(known)
    order = np.argsort(-shares[steps[-1]], kind="stable")
    height = 0.32 * len(names) + 1.8
    fig, ax = plt.subplots(figsize=(10, height))
    labels = max(len(name) for name in names) * 8 * 0.6 / 72 + 0.25  # inches the actor names take
    place_panels(fig, 1, 1, top=0.4, bottom=0.45, panel_height=height - 0.85, left=labels, right=0.2)  # (the colour
    # bar takes its room from the panel)
    x = mdates.date2num([dates[s] for s in steps])
    image = ax.imshow(shares[steps][:, order].T, aspect="auto", cmap="RdBu", vmin=0, vmax=1,
                      extent=(x[0], x[-1], len(names) - 0.5, -0.5), interpolation="nearest")
    ax.set_yticks(range(len(names)), [names[i] for i in order], fontsize=8)
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(f"share of runs in {names[0]}'s camp")
    ax.set_title(f"{title}: camp membership over time (two camps minimising frustration)", fontsize=10)
    return save(fig, path, fmt, tight=False)
