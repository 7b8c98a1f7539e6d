"""The alignment network of a run as small multiples (one panel per chosen date) and camp membership over
time, drawn on our own canvas (`canvas.py`). The comparison report draws the same figures with
matplotlib (`network_plots.py`), which also writes SVG and PDF; both read the layout and colours here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.experiment import atomic
from sim.model.network import NetworkRecord
from sim.plots.axes import Entry, Panel, legend, legend_size
from sim.plots.canvas import Canvas, Glyphs, rgb
from sim.plots.geometry import date_ticks, day_ticks, panel_grid

POSITIVE, NEGATIVE = "#0072B2", "#D55E00"
CAMP_COLOURS = ("#009E73", "#CC79A7")  # not the edge colours
MIN_EDGE = 0.1  # weaker mean relations are left out of the drawing
# ColorBrewer's RdBu, as matplotlib's "RdBu" colour map interpolates it: red 0, blue 1
RDBU = ("#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3",
        "#2166ac", "#053061")


def network_layout(split: str) -> np.ndarray:
    """Camp + on the left, camp - on the right, each camp's actors on a half circle."""
    pos = np.zeros((len(split), 2))
    for side, sign in ((-1.0, "+"), (1.0, "-")):
        members = [i for i, s in enumerate(split) if s == sign]
        for k, i in enumerate(members):
            angle = np.pi * (k + 1) / (len(members) + 1) - np.pi / 2
            pos[i] = (side * (1.0 + 0.7 * np.cos(angle)), 1.4 * np.sin(angle))
    return pos


def node_sizes(capability: np.ndarray) -> np.ndarray:
    """Disc areas in square points (matplotlib's scatter sizes): 120 to 1,020 by capability."""
    return 120 + 900 * capability / max(capability.max(), 1e-9)


def plot_network(record: NetworkRecord, names: list[str], dates, title: str, path: Path,
                 glyphs: Glyphs | None = None) -> Path:
    glyphs = glyphs or Glyphs()
    k = len(record.steps)
    cols = 2 if k == 4 else min(k, 3)
    rows = -(-k // cols)
    width, height, boxes = panel_grid(5.2 * cols, rows, cols, top=0.9, bottom=0.4, panel_height=4.2, left=0.1,
                                      right=0.1, between_rows=0.6, between_cols=0.2)
    canvas = Canvas(width, height, glyphs)
    count = max(record.count, 1)
    for panel_no, (box, step) in enumerate(zip(boxes, record.steps)):
        panel = Panel(canvas, tuple(v * canvas.dpi for v in box), (-2.1, 2.1), (-1.9, 1.7))
        split, share = record.modal_split(panel_no)
        split = split or "+" * len(names)
        pos = network_layout(split)
        x, y = panel.x(pos[:, 0]), panel.y(pos[:, 1])
        mean = record.relations[panel_no] / count
        sym = (mean + mean.T) / 2
        capability = record.capability[panel_no] / count
        radius = canvas.px(np.sqrt(node_sizes(capability)) / 2)
        with canvas.layer(panel.box) as layer:
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    if abs(sym[i, j]) >= MIN_EDGE:
                        layer.segment((x[i], y[i]), (x[j], y[j]), POSITIVE if sym[i, j] > 0 else NEGATIVE,
                                      0.5 + 4.5 * abs(sym[i, j]), alpha=0.35 + 0.5 * abs(sym[i, j]))
            for i, s in enumerate(split):
                layer.disc(x[i], y[i], radius[i], CAMP_COLOURS[0] if s == "+" else CAMP_COLOURS[1], edge="0.2",
                           edge_width=0.8)
        for i, name in enumerate(names):
            canvas.text(x[i], y[i] + radius[i] + canvas.px(7), name, 7.5, ha="center", va="top")
        panel.title(f"{dates[step]} (step {step})\ncamps as drawn in {share:.0%} of runs", 9)
    entries = [Entry("friendly (mean relation > 0)", POSITIVE, width=3),
               Entry("hostile (mean relation < 0)", NEGATIVE, width=3),
               Entry("camp of " + names[0], CAMP_COLOURS[0], "disc"),
               Entry("the other camp", CAMP_COLOURS[1], "disc")]
    w, h = legend_size(canvas, entries, 8, ncol=4)
    legend(canvas, (canvas.image.width - w) / 2, canvas.image.height - h - 2, entries, 8, ncol=4)
    canvas.text(canvas.image.width / 2, 0.3 * canvas.dpi,
                f"{title}: alignment network (edge width = |mean relation| >= {MIN_EDGE}; node size = capability; "
                f"{record.count:,} runs)", 10, ha="center", va="center")
    atomic.write_bytes(path, canvas.png())
    return path


def colour_map(values: np.ndarray, anchors=RDBU) -> np.ndarray:
    """RGB bytes for values in [0, 1], linearly between evenly spaced anchor colours; NaN is white."""
    table = np.array([rgb(a) for a in anchors], float)
    clipped = np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0) * (len(anchors) - 1)
    low = np.minimum(clipped.astype(int), len(anchors) - 2)
    t = (clipped - low)[..., None]
    out = table[low] * (1 - t) + table[low + 1] * t
    out[np.isnan(values)] = 255.0
    return np.round(out).astype(np.uint8)


def plot_camp_membership(record: NetworkRecord, names: list[str], dates, title: str, path: Path,
                         glyphs: Glyphs | None = None) -> Path | None:
    """Per actor and step, the share of runs in which the actor is in the same camp as the first actor."""
    from PIL import Image

    shares = record.with_first / max(record.count, 1)
    known = ~np.isnan(shares).all(axis=1)
    if not known.any():
        return None
    glyphs = glyphs or Glyphs()
    steps = np.flatnonzero(known)
    order = np.argsort(-shares[steps[-1]], kind="stable")
    height = 0.32 * len(names) + 1.8
    labels = max(glyphs.width(name, 8) for name in names) / glyphs.dpi + 0.25  # inches the actor names take
    # the heat map keeps its 8.4 inches: long names widen the figure
    width, height, boxes = panel_grid(labels + 1.3 + 8.4, 1, 1, top=0.4, bottom=0.45, panel_height=height - 0.85,
                                      left=labels, right=1.3)
    canvas = Canvas(width, height, glyphs)
    x0, y0, x1, y1 = (v * canvas.dpi for v in boxes[0])
    days = [dates[s].toordinal() for s in steps]
    panel = Panel(canvas, (x0, y0, x1, y1), (days[0], days[-1]), (len(names) - 0.5, -0.5))
    pixels = colour_map(shares[steps][:, order].T)
    image = Image.fromarray(pixels, "RGB").resize((round(x1 - x0), round(y1 - y0)), Image.Resampling.NEAREST)
    canvas.image.paste(image, (round(x0), round(y0)))
    first, last = dates[steps[0]], dates[steps[-1]]
    months = date_ticks(first, last)  # months as 2024-07; a span of weeks by its days (not one month repeated)
    days, labels = (months[0], [d.strftime("%Y-%m") for d in months[0]]) if months else day_ticks(first, last)
    tick_days = [d.toordinal() for d in days]
    panel.frame(tick_days, labels,
                list(range(len(names))), [names[i] for i in order], size=8)
    panel.title(f"{title}: camp membership over time (two camps minimising frustration)")
    _colour_bar(canvas, (x1 + 0.25 * canvas.dpi, y0, x1 + 0.45 * canvas.dpi, y1),
                f"share of runs in {names[0]}'s camp")
    atomic.write_bytes(path, canvas.png())
    return path


def _colour_bar(canvas: Canvas, box, label: str) -> None:
    from PIL import Image

    x0, y0, x1, y1 = box
    strip = colour_map(np.linspace(1.0, 0.0, round(y1 - y0))[:, None])
    canvas.image.paste(Image.fromarray(np.repeat(strip, round(x1 - x0), axis=1), "RGB"), (round(x0), round(y0)))
    bar = Panel(canvas, (x0, y0, x1, y1), (0.0, 1.0), (0.0, 1.0))
    ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    for v in bar.y(ticks):
        canvas.rule(x1, v, x1 + canvas.px(3.5), v, "black")
    for v, t in zip(bar.y(ticks), ticks):
        canvas.text(x1 + canvas.px(7), v, f"{t:.1f}", 10, ha="left", va="center")
    for edge in ((x0, y0, x1, y0), (x0, y1, x1, y1), (x0, y0, x0, y1), (x1, y0, x1, y1)):
        canvas.rule(*edge, "black")
    canvas.text(x1 + canvas.px(7) + canvas.glyphs.width("0.0", 10) + canvas.px(12), (y0 + y1) / 2, label, 10,
                rotation=90)
