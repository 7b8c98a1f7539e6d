"""A drawing layer of our own for the figures of every run, written as PNG without matplotlib.

matplotlib took 1.8 s to draw the five figures of a default run of 1,000 replications, four times the
run itself, nearly all of it in its artists, tick machinery and text layout (issue 13). Here a figure is
a Pillow image: lines, bands and discs are drawn at twice the resolution inside their panel and reduced
(anti-aliasing), axis rules are drawn on whole pixels, each text is rendered by FreeType once per
string and size and pasted as a mask (a figure repeats its tick labels in every panel), and the PNG is
written by zlib directly. The fonts are matplotlib's DejaVu Sans, so these figures look like the
comparison figures, which matplotlib still draws.
"""

from __future__ import annotations

import importlib.util
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SCALE = 2  # geometry is drawn at twice the resolution, then reduced: anti-aliased edges
DPI = 110
Colour = tuple[int, int, int]
# matplotlib's dash patterns, in line widths (lines.dashed_pattern and friends, scaled by the width)
DASHES = {"-": None, "--": (3.7, 1.6), ":": (1.0, 1.65), "-.": (6.4, 1.6, 1.0, 1.6)}
# control characters and line or paragraph separators (a name may hold them): Pillow's text layout (raqm) fails
# on several, so a line of text shows each as a space
_BLANKS = str.maketrans(dict.fromkeys([*range(32), *range(127, 160), 0x2028, 0x2029], " "))


def rgb(colour: str | Colour) -> Colour:
    """'#RRGGBB', a grey level as matplotlib writes it ('0.45'), or an RGB tuple."""
    if isinstance(colour, tuple):
        return colour
    if colour.startswith("#"):
        return tuple(int(colour[k:k + 2], 16) for k in (1, 3, 5))
    if colour in ("black", "white"):
        return (0, 0, 0) if colour == "black" else (255, 255, 255)
    level = round(float(colour) * 255)
    return level, level, level


def _font_file() -> str | None:
    """matplotlib's DejaVu Sans, found without importing matplotlib (0.25 s)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    return str(path) if path.is_file() else None


class Glyphs:
    """Text rendered once per (text, size, angle) and kept as a mask; one per figure set, never global."""

    def __init__(self, dpi: int = DPI) -> None:
        self.dpi = dpi
        self._file = _font_file()
        self._fonts: dict[float, ImageFont.FreeTypeFont] = {}
        self._masks: dict[tuple[str, float, int], tuple[Image.Image, int, int]] = {}
        self._widths: dict[tuple[str, float], float] = {}

    def font(self, size: float) -> ImageFont.FreeTypeFont:
        font = self._fonts.get(size)
        if font is None:
            pixels = size * self.dpi / 72
            font = (ImageFont.truetype(self._file, pixels) if self._file else ImageFont.load_default(pixels))
            self._fonts[size] = font
        return font

    def width(self, text: str, size: float) -> float:
        """Pixels the widest line of `text` takes."""
        return max(self._width(line, size) for line in text.split("\n"))

    def _width(self, line: str, size: float) -> float:
        width = self._widths.get((line, size))
        if width is None:
            width = self._widths[line, size] = self.font(size).getlength(line.translate(_BLANKS))
        return width

    def wrap(self, text: str, width: float, size: float) -> str:
        """`text` with newlines where a line would grow wider than `width` pixels (greedy, by words, whose
        widths are added: kerning across a space is left out); the newlines it had count as spaces and a word
        wider than a line is cut, as textwrap does."""
        space = self._width(" ", size)
        lines: list[list[str]] = []
        used = 0.0
        for word in text.replace("\n", " ").split(" "):
            w = self._width(word, size)
            if lines and used + space + w <= width:
                lines[-1].append(word)
                used += space + w
                continue
            while w > width and len(word) > 1:  # the longest head that fits (one character at least) on a line
                cut = next((k for k in range(len(word) - 1, 1, -1) if self._width(word[:k], size) <= width), 1)
                lines.append([word[:cut]])
                word = word[cut:]
                w = self._width(word, size)
            lines.append([word])
            used = w
        return "\n".join(" ".join(line) for line in lines)

    def metrics(self, size: float) -> tuple[int, int, float]:
        """Ascent, descent and line height in pixels."""
        ascent, descent = self.font(size).getmetrics()
        return ascent, descent, 1.2 * size * self.dpi / 72

    def mask(self, text: str, size: float, rotation: int = 0) -> tuple[Image.Image, int, int]:
        """One line's ink as an 'L' image (with a margin) and, unrotated, the image's top-left corner from the
        left end of the baseline; rotated text is placed by its centre and the corner is the unrotated one."""
        key = (text, size, rotation)
        hit = self._masks.get(key)
        if hit is None:  # drawn on a box from the advance and the font's ascent, with room for overhangs:
            font = self.font(size)  # one FreeType layout less than asking for the ink's box first
            ascent, descent = font.getmetrics()
            pad = 2 + round(size * self.dpi / 72 / 4)
            image = Image.new("L", (round(self._width(text, size)) + 2 * pad, ascent + descent + 2 * pad))
            ImageDraw.Draw(image).text((pad, ascent + pad), text.translate(_BLANKS), font=font, fill=255, anchor="ls")
            left, top = -pad, -ascent - pad
            if rotation:
                image = image.rotate(rotation, expand=True)
            hit = self._masks[key] = (image, left, top)
        return hit


class Canvas:
    """A white figure of `width` x `height` inches; coordinates are pixels from the top-left corner."""

    def __init__(self, width: float, height: float, glyphs: Glyphs) -> None:
        self.glyphs = glyphs
        self.dpi = glyphs.dpi
        self.image = Image.new("RGB", (round(width * self.dpi), round(height * self.dpi)), "white")
        self.draw = ImageDraw.Draw(self.image, "RGBA")

    def px(self, points: float) -> float:
        """Pixels in `points` (1/72 inch)."""
        return points * self.dpi / 72

    def text(self, x: float, y: float, text: str, size: float, colour: str | Colour = "black", ha: str = "left",
             va: str = "baseline", rotation: int = 0) -> None:
        """`text` (lines split at newlines) anchored at (x, y) by ha and va, as matplotlib names them, with
        va measured on the font (top: its ascent; bottom: its descent), not on each text's ink. Rotated text
        (90 degrees, reading upwards, one line) is centred on (x, y)."""
        fill = rgb(colour)
        if rotation:
            mask, _, _ = self.glyphs.mask(text, size, rotation)
            self.image.paste(fill, (round(x - mask.width / 2), round(y - mask.height / 2)), mask)
            return
        ascent, descent, line = self.glyphs.metrics(size)
        lines = text.split("\n")
        below = (len(lines) - 1) * line
        baseline = {"top": y + ascent, "bottom": y - descent - below, "baseline": y,
                    "center": y - below / 2 + (ascent - descent) / 2}[va]
        for k, part in enumerate(lines):
            if not part:
                continue
            mask, left, top = self.glyphs.mask(part, size)
            width = self.glyphs.width(part, size)
            start = {"left": x, "center": x - width / 2, "right": x - width}[ha]
            self.image.paste(fill, (round(start + left), round(baseline + k * line + top)), mask)

    def text_height(self, text: str, size: float) -> float:
        ascent, descent, line = self.glyphs.metrics(size)
        return ascent + descent + text.count("\n") * line

    def rule(self, x0: float, y0: float, x1: float, y1: float, colour: str | Colour, width: int = 1) -> None:
        """An axis-aligned line on whole pixels (frames, ticks, grid): crisp, no anti-aliasing needed."""
        x0, y0, x1, y1 = (round(v) for v in (x0, y0, x1, y1))
        if x0 == x1:
            self.draw.rectangle((x0 - (width - 1) // 2, min(y0, y1), x0 + width // 2, max(y0, y1)), fill=rgb(colour))
        else:
            self.draw.rectangle((min(x0, x1), y0 - (width - 1) // 2, max(x0, x1), y0 + width // 2), fill=rgb(colour))

    def dotted(self, x: float, y0: float, y1: float, colour: str | Colour, gap: int = 3) -> None:
        """A dotted vertical line: one pixel every `gap`."""
        xi = round(x)
        ys = range(round(min(y0, y1)), round(max(y0, y1)) + 1, gap)
        self.draw.point([(xi, y) for y in ys], fill=rgb(colour))

    def rectangle(self, box: tuple[float, float, float, float], fill: str | Colour | None = None,
                  edge: str | Colour | None = None, alpha: float = 1.0) -> None:
        colour = None if fill is None else (*rgb(fill), round(255 * alpha))
        self.draw.rectangle(tuple(round(v) for v in box), fill=colour, outline=None if edge is None else rgb(edge))

    def layer(self, box: tuple[float, float, float, float]) -> Layer:
        return Layer(self, tuple(round(v) for v in box))

    def png(self) -> bytes:
        return png_bytes(self.image, self.dpi)


@dataclass
class Layer:
    """A region of the canvas drawn at SCALE times its resolution on white and reduced back over it when
    closed: what is drawn is clipped to the region and its edges are anti-aliased. It replaces what the
    canvas had there, so a panel's grid is drawn into its layer. Coordinates are the canvas's pixels."""

    canvas: Canvas
    box: tuple[int, int, int, int]
    image: Image.Image = field(init=False)
    draw: ImageDraw.ImageDraw = field(init=False)

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.box
        self.image = Image.new("RGB", ((x1 - x0) * SCALE, (y1 - y0) * SCALE), "white")
        self.draw = ImageDraw.Draw(self.image, "RGBA")

    def __enter__(self) -> Layer:
        return self

    def __exit__(self, *exc) -> None:
        self.canvas.image.paste(self.image.reduce(SCALE), self.box[:2])

    def rules(self, xs=(), ys=(), colour: str | Colour = "black", width: int = 1) -> None:
        """Vertical lines at `xs` and horizontal ones at `ys` (canvas pixels), on whole canvas pixels as the
        canvas's own rules: crisp after the reduction."""
        fill = rgb(colour)
        x0, y0, x1, y1 = self.box
        w, h = self.image.size
        for v in xs:
            left = (round(v) - (width - 1) // 2 - x0) * SCALE
            self.draw.rectangle((left, 0, left + width * SCALE - 1, h), fill=fill)
        for v in ys:
            top = (round(v) - (width - 1) // 2 - y0) * SCALE
            self.draw.rectangle((0, top, w, top + width * SCALE - 1), fill=fill)

    def _points(self, xs, ys) -> list[tuple[float, float]]:
        x = (np.asarray(xs, float) - self.box[0]) * SCALE
        y = (np.asarray(ys, float) - self.box[1]) * SCALE
        return list(zip(x.tolist(), y.tolist()))

    def _width(self, points: float) -> int:
        return max(1, round(self.canvas.px(points) * SCALE))

    def polyline(self, xs, ys, colour: str | Colour, width: float, alpha: float = 1.0, dash: str = "-") -> None:
        """A line through the points (NaN breaks it), `width` in points, dashed as matplotlib's styles."""
        fill = (*rgb(colour), round(255 * alpha))
        pixels = self._width(width)
        xs, ys = np.asarray(xs, float), np.asarray(ys, float)
        for part in _runs(np.isfinite(xs) & np.isfinite(ys)):
            points = self._points(xs[part], ys[part])
            pattern = DASHES[dash]
            pieces = [points] if pattern is None else dashes(points, [p * pixels for p in pattern])
            for piece in pieces:
                if len(piece) == 1:
                    piece = piece * 2
                self.draw.line(piece, fill=fill, width=pixels, joint="curve")

    def band(self, xs, low, high, colour: str | Colour, alpha: float) -> None:
        """The area between two lines (NaN breaks it), as matplotlib's fill_between without an edge."""
        fill = (*rgb(colour), round(255 * alpha))
        xs, low, high = (np.asarray(v, float) for v in (xs, low, high))
        for part in _runs(np.isfinite(xs) & np.isfinite(low) & np.isfinite(high)):
            if part.stop - part.start < 2:
                continue
            top = self._points(xs[part], high[part])
            bottom = self._points(xs[part][::-1], low[part][::-1])
            self.draw.polygon(top + bottom, fill=fill)

    def segment(self, a: tuple[float, float], b: tuple[float, float], colour: str | Colour, width: float,
                alpha: float = 1.0) -> None:
        """A straight line with butt ends (the network's edges end under their nodes' discs)."""
        self.draw.line(self._points([a[0], b[0]], [a[1], b[1]]), fill=(*rgb(colour), round(255 * alpha)),
                       width=self._width(width))

    def disc(self, x: float, y: float, radius: float, fill: str | Colour, edge: str | Colour | None = None,
             edge_width: float = 0.0, alpha: float = 1.0) -> None:
        """A filled circle, `radius` in canvas pixels, `edge_width` in points."""
        (cx, cy), = self._points([x], [y])
        r = radius * SCALE
        self.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*rgb(fill), round(255 * alpha)),
                          outline=None if edge is None else rgb(edge),
                          width=self._width(edge_width) if edge is not None else 0)


def _runs(finite: np.ndarray) -> list[slice]:
    """Slices of consecutive True values."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
    return [slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def dashes(points: list[tuple[float, float]], pattern: list[float]) -> list[list[tuple[float, float]]]:
    """The pieces of a polyline that a dash pattern (on, off, on, off... lengths) keeps."""
    pieces, current = [], [points[0]]
    k, left, on = 0, pattern[0], True
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        length = ((xb - xa) ** 2 + (yb - ya) ** 2) ** 0.5
        done = 0.0
        while length - done > left:
            done += left
            t = done / length
            point = (xa + (xb - xa) * t, ya + (yb - ya) * t)
            if on:
                current.append(point)
                pieces.append(current)
            else:
                current = [point]
            k = (k + 1) % len(pattern)
            left, on = pattern[k], not on
        left -= length - done
        if on:
            current.append((xb, yb))
    if on and len(current) > 1:
        pieces.append(current)
    return pieces


def png_bytes(image: Image.Image, dpi: int) -> bytes:
    """The image as a PNG, rows unfiltered and deflated at zlib's level 3. Deflating runs at the same speed
    whatever the bytes (zero runs too), so PNG's row filters gain nothing here: the unfiltered file is as
    small as the 'up'-filtered one. Level 6 takes twice as long for files 10% smaller; Pillow's encoder,
    which tries several filters per row, took three times as long."""
    pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    height, width, _ = pixels.shape
    rows = np.zeros((height, width * 3 + 1), np.uint8)  # each row led by its filter byte: 0, none
    rows[:, 1:] = pixels.reshape(height, width * 3)
    per_metre = round(dpi / 0.0254)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"".join([b"\x89PNG\r\n\x1a\n",
                     chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
                     chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
                     chunk(b"tEXt", b"Software\x00sim"),
                     chunk(b"IDAT", zlib.compress(rows, 3)),
                     chunk(b"IEND", b"")])
