"""Panels with data coordinates, their frames, ticks and titles, and legends, on a `Canvas`.

Sizes follow matplotlib's defaults (10-point tick labels, 3.5-point ticks and pads, a 6-point title pad,
legends' handle length and spacings in ems), so these figures sit beside matplotlib's comparison figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.plots.canvas import DASHES, Canvas, Colour, Layer, dashes, rgb

FRAME = "black"
GRID = (236, 236, 236)  # matplotlib's grid (#b0b0b0) at alpha 0.25 over white
TICK = 3.5  # points: tick length and the pad between tick and label


@dataclass(frozen=True)
class Panel:
    """A box on the canvas (pixels: left, top, right, bottom) showing `xlim` x `ylim` of the data."""

    canvas: Canvas
    box: tuple[float, float, float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def x(self, values):
        x0, _, x1, _ = self.box
        return x0 + (np.asarray(values, float) - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * (x1 - x0)

    def y(self, values):
        _, y0, _, y1 = self.box
        return y1 - (np.asarray(values, float) - self.ylim[0]) / (self.ylim[1] - self.ylim[0]) * (y1 - y0)

    def data(self) -> Layer:
        """Where the data is drawn: clipped to the panel, anti-aliased."""
        x0, y0, x1, y1 = self.box
        return self.canvas.layer((x0 + 1, y0 + 1, x1, y1))

    def grid(self, layer: Layer, xticks, yticks) -> None:
        """Light lines at the ticks, drawn into the data's layer: over the bands, under the lines, as
        matplotlib's default (axes.axisbelow = 'line')."""
        layer.rules(self.x(xticks), self.y(yticks), GRID)

    def frame(self, xticks=(), xlabels=(), yticks=(), ylabels=(), size: float = 10) -> float:
        """The box, ticks outside it and their labels; returns the width the y labels take (pixels)."""
        c = self.canvas
        x0, y0, x1, y1 = self.box
        tick, pad = c.px(TICK), c.px(TICK)
        for v, label in zip(self.x(xticks), xlabels):
            if x0 - 0.5 <= v <= x1 + 0.5:
                c.rule(v, y1, v, y1 + tick, FRAME)
                c.text(v, y1 + tick + pad, label, size, ha="center", va="top")
        widest = 0.0
        for v, label in zip(self.y(yticks), ylabels):
            if y0 - 0.5 <= v <= y1 + 0.5:
                c.rule(x0 - tick, v, x0, v, FRAME)
                c.text(x0 - tick - pad, v, label, size, ha="right", va="center")
                widest = max(widest, c.glyphs.width(label, size))
        for edge in ((x0, y0, x1, y0), (x0, y1, x1, y1), (x0, y0, x0, y1), (x1, y0, x1, y1)):
            c.rule(*edge, FRAME)
        return widest + tick + pad

    def title(self, text: str, size: float = 10) -> None:
        x0, y0, x1, _ = self.box
        self.canvas.text((x0 + x1) / 2, y0 - self.canvas.px(6), text, size, ha="center", va="bottom")

    def ylabel(self, text: str, size: float, offset: float) -> None:
        """A one-line label reading upwards left of the tick labels, which take `offset` pixels."""
        x0, y0, _, y1 = self.box
        height = self.canvas.text_height(text, size)
        self.canvas.text(x0 - offset - self.canvas.px(4) - height / 2, (y0 + y1) / 2, text, size, rotation=90)

    def hline(self, layer: Layer, value: float, colour: str | Colour, width: float = 0.8) -> None:
        layer.rules(ys=[float(self.y(value))], colour=colour, width=max(1, round(self.canvas.px(width))))

    def marks(self, days: list[float], label: bool, colour: str = "0.45") -> None:
        """Dotted vertical lines at `days`; numbered, staggered over three heights so that events close in
        time stay readable. Marks outside the panel's dates are left out, as matplotlib clips them."""
        x0, y0, x1, y1 = self.box
        for n, v in enumerate(self.x(days), 1):
            if not x0 < v < x1:
                continue
            self.canvas.dotted(v, y0 + 1, y1 - 1, colour)  # inside the frame
            if label:
                top = y0 + (n % 3) * 0.07 * (y1 - y0)
                self.canvas.text(v, top + 2, f" {n}", 7, colour="0.3", va="top")


@dataclass(frozen=True)
class Entry:
    """A legend entry: a line (width and dash), a patch (alpha) or a disc, in `colour`."""

    label: str
    colour: str | Colour
    kind: str = "line"
    width: float = 1.8
    alpha: float = 1.0
    dash: str = "-"


def _columns(canvas: Canvas, entries: list[Entry], size: float, ncol: int) -> list[float]:
    """Pixels each column takes: handle, pad and its widest label."""
    em = canvas.px(size)
    return [max(canvas.glyphs.width(e.label, size) for e in entries[c::ncol]) + 2.8 * em for c in range(ncol)]


def legend_size(canvas: Canvas, entries: list[Entry], size: float, ncol: int = 1, title: str = "") -> tuple[float, float]:
    """Width and height in pixels of the legend `legend` draws."""
    em = canvas.px(size)
    rows = -(-len(entries) // ncol)
    width = sum(_columns(canvas, entries, size, ncol)) + (ncol - 1) * 2.0 * em
    height = rows * em * 1.5 - 0.5 * em
    if title:
        width = max(width, canvas.glyphs.width(title, size * 0.875))
        height += 1.5 * em
    return width + 0.8 * em, height + 0.8 * em


def legend(canvas: Canvas, x: float, y: float, entries: list[Entry], size: float, ncol: int = 1, title: str = "",
           frame: bool = False) -> None:
    """Entries in `ncol` columns, row by row, from the top-left corner (x, y); labels of one line."""
    em = canvas.px(size)
    width, height = legend_size(canvas, entries, size, ncol, title)
    if frame:
        canvas.rectangle((x, y, x + width, y + height), fill="white", edge=(204, 204, 204), alpha=0.8)
    top = y + 0.4 * em
    if title:
        canvas.text(x + width / 2, top, title, size * 0.875, ha="center", va="top")
        top += 1.5 * em
    widths = _columns(canvas, entries, size, ncol)
    for k, entry in enumerate(entries):
        row, col = divmod(k, ncol)
        left = x + 0.4 * em + sum(widths[:col]) + col * 2.0 * em
        middle = top + row * 1.5 * em + 0.5 * em
        _handle(canvas, left, middle, 2.0 * em, entry)
        canvas.text(left + 2.8 * em, middle, entry.label, size, va="center")


def _handle(canvas: Canvas, left: float, middle: float, length: float, e: Entry) -> None:
    if e.kind == "patch":
        canvas.rectangle((left, middle - 0.25 * length, left + length, middle + 0.15 * length), fill=e.colour,
                         alpha=e.alpha)
    elif e.kind == "disc":
        radius = canvas.px(4.5)
        with canvas.layer((left, middle - radius - 1, left + length, middle + radius + 1)) as layer:
            layer.disc(left + length / 2, middle, radius, e.colour)
    else:  # horizontal: whole pixels need no anti-aliasing
        width = max(1, round(canvas.px(e.width)))
        pattern = DASHES[e.dash]
        pieces = [[(left, middle), (left + length, middle)]]
        if pattern is not None:
            pieces = dashes(pieces[0], [p * canvas.px(e.width) for p in pattern])
        colour = colour_mix(e.colour, e.alpha)
        for piece in pieces:
            canvas.rule(piece[0][0], middle, piece[-1][0], middle, colour, width=width)


def best_corner(panel: Panel, size: tuple[float, float], xs, ys) -> tuple[float, float]:
    """Top-left corner of a legend of `size` pixels, in the corner of `panel` covering fewest of the
    points (xs, ys in data units), as matplotlib's loc='best'; upper right when all are equal."""
    x0, y0, x1, y1 = panel.box
    pad = panel.canvas.px(5)
    w, h = size
    corners = [(x1 - w - pad, y0 + pad), (x0 + pad, y0 + pad), (x0 + pad, y1 - h - pad), (x1 - w - pad, y1 - h - pad),
               (x1 - w - pad, (y0 + y1 - h) / 2), (x0 + pad, (y0 + y1 - h) / 2)]
    px, py = panel.x(xs).ravel(), panel.y(ys).ravel()

    def covered(corner):  # points under the legend or in the margin between it and the frame
        cx, cy = corner
        return int(np.count_nonzero((px >= cx - pad) & (px <= cx + w + pad) & (py >= cy - pad) & (py <= cy + h + pad)))

    return min(corners, key=covered)


def colour_mix(colour: str | Colour, alpha: float) -> Colour:
    """`colour` at `alpha` over white, as an opaque colour."""
    return tuple(round(255 - (255 - v) * alpha) for v in rgb(colour))
