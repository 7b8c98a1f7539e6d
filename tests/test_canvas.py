"""The run's own drawing layer (sim/plots/canvas.py, axes.py, geometry.py): exact pixels, PNG bytes, ticks."""

import datetime as dt
import io
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from sim.plots.axes import Panel
from sim.plots.canvas import Canvas, Glyphs, dashes, png_bytes, rgb
from sim.plots.geometry import date_ticks, nice_ticks, panel_grid, tick_label, tick_labels
from sim.plots.network_figures import RDBU, colour_map


def test_png_bytes_decode_to_the_same_pixels_and_carry_the_resolution():
    pixels = np.random.default_rng(1).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    decoded = Image.open(io.BytesIO(png_bytes(image, 110)))
    assert decoded.mode == "RGB" and decoded.size == (53, 37)
    assert np.array_equal(np.asarray(decoded), pixels)
    assert [round(v) for v in decoded.info["dpi"]] == [110, 110]


def test_a_layer_draws_only_inside_its_box_and_anti_aliases_edges():
    canvas = Canvas(2, 1, Glyphs())
    with canvas.layer((20, 10, 120, 90)) as layer:
        layer.polyline([0, 500], [0, 200], "#0072B2", 3)  # runs far outside the box
    pixels = np.asarray(canvas.image)
    outside = np.ones(pixels.shape[:2], bool)
    outside[10:90, 20:120] = False
    assert (pixels[outside] == 255).all()
    inside = pixels[10:90, 20:120]
    assert (inside != 255).any()
    levels = {tuple(p) for p in inside.reshape(-1, 3)}
    assert len(levels) > 3  # partial coverage at the edges: blends between the colour and white


def test_rules_are_crisp_on_whole_pixels_in_layers_and_on_the_canvas():
    canvas = Canvas(1, 1, Glyphs())
    canvas.rule(10, 5, 10, 50, "black")
    with canvas.layer((30, 0, 80, 60)) as layer:
        layer.rules(xs=[40.4], ys=[20.0], colour="0.6")
    pixels = np.asarray(canvas.image)
    assert (pixels[5:51, 10] == 0).all() and (pixels[5:51, 9] == 255).all() and (pixels[5:51, 11] == 255).all()
    assert (pixels[0:60, 40] == 153).all() and (pixels[60:, 40] == 255).all()
    beside = np.delete(pixels[0:60, [39, 41]], 20, axis=0)  # all but the horizontal rule's row
    assert (beside == 255).all()
    assert (pixels[20, 30:80] == 153).all()
    assert (np.delete(pixels[[19, 21], 30:80], 10, axis=1) == 255).all()  # (column 40 is the vertical rule)


def test_text_is_anchored_as_matplotlib_anchors_it():
    canvas = Canvas(3, 1, Glyphs())
    canvas.text(150, 50, "2024", 10, ha="right", va="top")
    ink = np.argwhere(np.asarray(canvas.image).min(axis=2) < 128)
    (top, left), (bottom, right) = ink.min(axis=0), ink.max(axis=0)
    assert 145 <= right <= 150 and 50 <= top <= 54 and 8 <= bottom - top <= 14  # digits: no descenders
    assert right - left == pytest.approx(canvas.glyphs.width("2024", 10), abs=3)
    centred = Canvas(3, 1, Glyphs())
    centred.text(150, 50, "Oct\n2023", 10, ha="center", va="top")
    ink = np.argwhere(np.asarray(centred.image).min(axis=2) < 128)
    assert abs((ink[:, 1].min() + ink[:, 1].max()) / 2 - 150) <= 2
    assert ink[:, 0].max() - ink[:, 0].min() > 25  # two lines


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abc defghij", min_size=1, max_size=200), st.floats(60, 400))
def test_wrapped_lines_fit_and_keep_every_word(text, width):
    glyphs = Glyphs()
    wrapped = glyphs.wrap(text, width, 7)
    for line in wrapped.split("\n"):
        assert glyphs.width(line, 7) <= width + 1 or len(line) == 1  # a line of one character may overflow
    assert wrapped.replace("\n", "").replace(" ", "") == text.replace(" ", "")  # every character, in order
    if all(glyphs.width(word, 7) <= width for word in text.split(" ")):
        assert wrapped.replace("\n", " ") == text  # no word cut when each fits


def test_a_word_wider_than_the_line_is_cut_not_left_running_off_the_figure():
    glyphs = Glyphs()
    wrapped = glyphs.wrap("Marked events: 1 2024-01-08 " + "X" * 300 + "0; 2 2024-02-05 next", 400, 7)
    lines = wrapped.split("\n")
    assert len(lines) > 3 and all(glyphs.width(line, 7) <= 400 for line in lines)
    assert lines[0] == "Marked events: 1 2024-01-08" and lines[1].startswith("XXX") and lines[-1].endswith("next")


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 500), st.floats(0, 500)), min_size=2, max_size=8),
       st.lists(st.floats(0.5, 20), min_size=2, max_size=4).filter(lambda p: len(p) % 2 == 0))
def test_dashes_keep_exactly_the_on_lengths_of_the_pattern(points, pattern):
    def length(line):
        return sum(math.dist(a, b) for a, b in zip(line, line[1:]))

    total = length(points)
    kept = sum(length(piece) for piece in dashes(points, pattern))
    period = sum(pattern)
    on, t = 0.0, 0.0  # the on-length a pattern leaves over `total`, walked dash by dash
    k = 0
    while t < total:
        if k % 2 == 0:
            on += min(pattern[k % len(pattern)], total - t)
        t += pattern[k % len(pattern)]
        k += 1
    assert math.isclose(kept, on, rel_tol=1e-6, abs_tol=1e-6)
    assert kept <= total + 1e-9 and (total < period or kept > 0)


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6), st.integers(3, 9))
def test_nice_ticks_are_round_evenly_spaced_and_few(low, span, most):
    high = low + span
    ticks = nice_ticks(low, high, most)
    assert 1 <= len(ticks) <= most
    assert all(low - 1e-9 * span <= t <= high + 1e-9 * span for t in ticks)
    if len(ticks) > 1:
        step = ticks[1] - ticks[0]
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))
        assert np.allclose(np.diff(ticks), step, rtol=1e-6)


def test_ticks_and_labels_as_the_old_matplotlib_figures_had_them():
    assert nice_ticks(0, 1575) == [0, 250, 500, 750, 1000, 1250, 1500]
    assert nice_ticks(0, 630) == [0, 100, 200, 300, 400, 500, 600]
    assert nice_ticks(0, 1050) == [0, 200, 400, 600, 800, 1000]
    assert [tick_label(v, 0.5) for v in (-1.0, -0.5, 0.0, 0.5)] == ["\u22121.0", "\u22120.5", "0.0", "0.5"]
    assert [tick_label(v, 250) for v in (0, 1250)] == ["0", "1250"]
    assert tick_label(0.75, 0.25) == "0.75"
    days, labels = date_ticks(dt.date(2023, 7, 25), dt.date(2025, 7, 22))
    assert days[0] == dt.date(2023, 10, 1) and labels[:3] == ["Oct\n2023", "2024", "Apr"]
    assert date_ticks(dt.date(2024, 1, 1), dt.date(2024, 1, 20)) is None


def test_tick_labels_of_a_million_and_more_are_written_in_units_of_a_power_of_ten():
    assert tick_labels([0.0, 250.0, 500.0]) == (["0", "250", "500"], "")
    assert tick_labels([0.0, 200e6, 400e6, 1000e6]) == (["0.0", "0.2", "0.4", "1.0"], "1e9")
    assert tick_labels([0.0, 2.5e6, 5e6]) == (["0.0", "2.5", "5.0"], "1e6")
    assert tick_labels([0.0]) == (["0"], "")


def test_panel_grid_grows_taller_not_narrower():
    width, height, boxes = panel_grid(12.4, 2, 2, top=0.85, bottom=1.0, panel_height=2.2)
    assert width == 12.4 and math.isclose(height, 0.85 + 1.0 + 0.7 + 2 * 2.2)
    (l0, t0, r0, b0), (l1, t1, r1, b1) = boxes[:2]
    assert math.isclose(l1 - r0, 0.9) and math.isclose(b0 - t0, 2.2) and math.isclose(l0, 0.8)
    assert math.isclose(12.4 - boxes[-1][2], 0.2)


def test_panel_maps_data_to_pixels():
    panel = Panel(Canvas(2, 2, Glyphs()), (10, 20, 110, 220), (0.0, 10.0), (-1.0, 1.0))
    assert np.allclose(panel.x([0, 5, 10]), [10, 60, 110])
    assert np.allclose(panel.y([-1, 0, 1]), [220, 120, 20])


def test_colour_map_is_matplotlibs_rdbu_at_its_anchors():
    values = np.array([0.0, 0.5, 1.0, np.nan])
    assert [tuple(c) for c in colour_map(values)] == [rgb(RDBU[0]), rgb(RDBU[5]), rgb(RDBU[-1]), (255, 255, 255)]


def test_a_run_with_plots_does_not_import_matplotlib(tmp_path):
    code = ("import sys; from sim.cli import main; "
            f"main(['run', 'scenarios/niger-2024.toml', '--reps', '20', '--out', {str(tmp_path)!r}, '--quiet']); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
    folder = next(p for p in (tmp_path / "niger-2024").iterdir() if p.is_dir())
    for name in ("alignment.png", "presence.png", "camps.png", "network.png", "camp_membership.png"):
        with Image.open(folder / name) as image:
            assert image.size[0] > 600 and np.asarray(image.convert("RGB")).std() > 10


def test_names_with_line_breaks_and_control_characters_are_drawn_not_fatal():
    glyphs = Glyphs()  # Pillow's layout fails on '\n', '\r', '\x1c'-'\x1e', '\x85' and '\u2029' in a line
    canvas = Canvas(3, 1, glyphs)
    for text in ("Coup\nin Niger", "Coup\r\nin Niger", "Coup\x1ein\x85Niger\u2029", "tab\there"):
        canvas.text(10, 50, text, 10)
        canvas.text(150, 50, text, 10, rotation=90)
        assert glyphs.width(text, 10) > 0
    assert glyphs.wrap("Coup in\nNiger and Mali", 1000, 7) == "Coup in Niger and Mali"
    assert (np.asarray(canvas.image) < 128).any()


def test_camp_membership_over_a_span_of_days_labels_days_not_one_month_repeated(tmp_path, monkeypatch):
    from sim.model.network import NetworkRecord
    from sim.plots import network_figures

    seen = []
    monkeypatch.setattr(Panel, "frame", lambda self, xticks=(), xlabels=(), *a, **k: seen.append(list(xlabels)) or 0.0)
    record = NetworkRecord.__new__(NetworkRecord)
    record.with_first, record.count = np.ones((5, 2)), 1
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=d) for d in range(5)]
    network_figures.plot_camp_membership(record, ["a", "b"], dates, "t", tmp_path / "m.png")
    assert len(set(seen[0])) == len(seen[0]) > 1
