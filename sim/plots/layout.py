"""Layout of the matplotlib figures (comparisons, tuning, the report's network figures): margins set in
inches rather than by tight_layout, which draws the whole figure once more to measure it."""

from __future__ import annotations

import matplotlib.dates as mdates


def dates_axis(ax) -> None:
    """Concise date ticks under every panel, not only the last row, and a light grid."""
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=9))
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.tick_params(labelbottom=True)
    ax.grid(alpha=0.25)


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
