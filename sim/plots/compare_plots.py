"""Plots comparing scenarios: one colour per scenario everywhere (Okabe-Ito, colour-blind safe)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.analysis.batch_data import ScenarioResults  # noqa: E402
from sim.experiment.stats import happened, wilson_interval  # noqa: E402
from sim.experiment.summaries import Difference  # noqa: E402
from sim.plots.layout import dates_axis  # noqa: E402

OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]


def colours(results: list[ScenarioResults]) -> dict[str, str]:
    return {r.label: OKABE_ITO[i % len(OKABE_ITO)] for i, r in enumerate(results)}


def save(fig, path: Path, fmt: str, tight: bool = True) -> Path:
    """Write the figure as `fmt` (png, svg, pdf) and return the path. `tight` trims the margins to what is
    drawn, which costs one more drawing of the figure: figures laid out in inches pass False."""
    from sim.experiment import atomic

    path = path.with_suffix(f".{fmt}")
    for kind in (fmt, "png") if fmt == "pdf" else (fmt,):  # a PNG twin lets the HTML report embed PDF plots
        buffer = io.BytesIO()
        fig.savefig(buffer, format=kind, dpi=110, bbox_inches="tight" if tight else None)
        atomic.write_bytes(path.with_suffix(f".{kind}"), buffer.getvalue())
    plt.close(fig)
    return path


def _marks(ax, marks):
    low, top = ax.get_ylim()
    for n, (day, _) in enumerate(marks, 1):
        ax.axvline(day, color="0.5", lw=0.7, ls=":")
        ax.text(day, top - (n % 3) * 0.07 * (top - low), f" {n}", fontsize=7, color="0.35", va="top")


def _marks_caption(fig, marks):
    if marks:
        fig.text(0.01, -0.02, "Events (baseline): " + "; ".join(f"{n} {d.isoformat()} {name}" for n, (d, name)
                                                                 in enumerate(marks, 1)),
                 fontsize=7, wrap=True, va="top", color="0.25")


def scheduled_marks(result: ScenarioResults) -> list:
    s = result.scenario
    return sorted((s.dates[e.step], e.name) for e in s.events
                  if e.enabled and e.mark and e.kind == "scheduled" and e.step is not None and e.step <= s.meta.steps)


def plot_probabilities(results, outcomes: list[str], colour, path: Path, fmt: str) -> Path:
    """Dot-and-whisker: each boolean outcome's probability per scenario with its 95% Wilson interval."""
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(outcomes) * max(1, len(results)) ** 0.5 + 1.6))
    step = 0.8 / max(len(results), 1)
    for k, r in enumerate(results):
        ys, xs, lows, highs = [], [], [], []
        for i, outcome in enumerate(outcomes):
            if outcome not in r.outcomes:
                continue
            values = r.outcomes[outcome]
            if r.outcome_kind(outcome) == "first":
                values = happened(values)
            p = values.mean()
            low, high = wilson_interval(int(values.sum()), len(values))
            ys.append(i - 0.4 + step * (k + 0.5))
            xs.append(p)
            lows.append(p - low)
            highs.append(high - p)
        ax.errorbar(xs, ys, xerr=[lows, highs], fmt="o", color=colour[r.label], capsize=3, ms=5, label=r.label)
    ax.set_yticks(range(len(outcomes)), outcomes)
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("probability (share of replications), with 95% Wilson interval")
    ax.set_title("Outcome probabilities by scenario")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), title="scenario", title_fontsize=8)
    return save(fig, path, fmt)


MAX_OVERLAID = 3  # more fans than this in one panel cannot be told apart: small multiples instead


def plot_fans(results, key: tuple[str, str, str], colour, marks, title: str, ylabel: str, path: Path, fmt: str):
    """Median with 50% and 90% bands per scenario: overlaid up to MAX_OVERLAID scenarios, else one panel
    per scenario (shared axes), the baseline's median repeated in grey in each."""
    drawn_results = [r for r in results if (r.series.get(key) or {}).get("q50") is not None]
    if len(drawn_results) > MAX_OVERLAID:
        return _fan_panels(drawn_results, key, colour, marks, title, ylabel, path, fmt)
    fig, ax = plt.subplots(figsize=(9.5, 4.4))
    drawn = False
    for r in results:
        stats = r.series.get(key)
        if not stats or "q50" not in stats:
            continue
        dates = list(r.scenario.dates)[: len(stats["q50"])]
        c = colour[r.label]  # 90% band as thin edges, so that overlaid scenarios stay apart
        ax.plot(dates, stats["q05"], color=c, lw=0.7, ls="--", alpha=0.8)
        ax.plot(dates, stats["q95"], color=c, lw=0.7, ls="--", alpha=0.8)
        ax.fill_between(dates, stats["q25"], stats["q75"], color=c, alpha=0.22, lw=0)
        ax.plot(dates, stats["q50"], color=c, lw=1.8, label=r.label)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    if key[0] in ("relation", "alignment"):
        ax.set_ylim(-1.05, 1.05)
        ax.axhline(0, color="0.6", lw=0.8)
    ax.set_title(title + "\nmedian (line), 50% of replications (band), 90% (dashed edges)")
    ax.set_ylabel(ylabel)
    dates_axis(ax)
    _marks(ax, marks)
    ax.legend(fontsize=8, title="scenario", title_fontsize=8, loc="best")
    _marks_caption(fig, marks)
    return save(fig, path, fmt)


def _fan_panels(results, key, colour, marks, title, ylabel, path, fmt):
    cols = 2 if len(results) <= 4 else 3
    rows = -(-len(results) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.2 * rows + 0.9), sharex=True, sharey=True,
                             squeeze=False)
    base = results[0].series[key]
    for k, r in enumerate(results):
        ax = axes[k // cols][k % cols]
        stats = r.series[key]
        dates = list(r.scenario.dates)[: len(stats["q50"])]
        c = colour[r.label]
        if k:
            ax.plot(list(results[0].scenario.dates)[: len(base["q50"])], base["q50"], color="0.55", lw=1.2,
                    label=f"{results[0].label} (median)")
        ax.fill_between(dates, stats["q05"], stats["q95"], color=c, alpha=0.12, lw=0)
        ax.fill_between(dates, stats["q25"], stats["q75"], color=c, alpha=0.3, lw=0)
        ax.plot(dates, stats["q50"], color=c, lw=1.8)
        ax.set_title(r.label, fontsize=9, color=c)
        if key[0] in ("relation", "alignment"):
            ax.set_ylim(-1.05, 1.05)
            ax.axhline(0, color="0.6", lw=0.8)
        if k:
            ax.legend(fontsize=7, loc="best")
        dates_axis(ax)
    for k in range(len(results), rows * cols):
        axes[k // cols][k % cols].set_axis_off()
    fig.supylabel(ylabel, fontsize=9)
    fig.suptitle(title + ": median (line), 50% (dark band) and 90% (light band) of replications", fontsize=10)
    fig.tight_layout()
    return save(fig, path, fmt)


def plot_distributions(results, outcome: str, colour, path: Path, fmt: str):
    """A numeric outcome's distribution over replications, one panel per scenario on shared bins: shows two
    modes where a mean and a band would hide them."""
    values = [(r, r.outcomes[outcome][np.isfinite(r.outcomes[outcome])]) for r in results if outcome in r.outcomes]
    values = [(r, v) for r, v in values if len(v)]
    if not values:
        return None
    everything = np.concatenate([v for _, v in values])
    bins = np.histogram_bin_edges(everything, bins=min(40, max(10, len(np.unique(everything)))))
    fig, axes = plt.subplots(len(values), 1, figsize=(8, 1.5 * len(values) + 1.0), sharex=True, squeeze=False)
    for ax, (r, v) in zip(axes[:, 0], values):
        ax.hist(v, bins=bins, color=colour[r.label], alpha=0.85, weights=np.full(len(v), 1.0 / len(v)))
        ax.axvline(np.median(v), color="0.2", lw=1, ls="--")
        ax.set_ylabel("share", fontsize=8)
        ax.set_title(f"{r.label} (median {np.median(v):.3g}, dashed)", fontsize=9, color=colour[r.label], loc="left")
        ax.grid(axis="y", alpha=0.3)
    axes[-1, 0].set_xlabel(outcome)
    fig.suptitle(f"Distribution of {outcome} over replications", fontsize=10)
    fig.tight_layout()
    return save(fig, path, fmt)


def plot_time_to_event(results, outcome: str, description: str, colour, path: Path, fmt: str):
    """Share of replications in which a first-hit outcome has happened by each date."""
    fig, ax = plt.subplots(figsize=(9.5, 4.2))
    for r in results:
        if outcome not in r.outcomes:
            continue
        steps = r.outcomes[outcome]
        dates = list(r.scenario.dates)
        share = [(steps <= t).sum() / len(steps) for t in range(len(dates))]  # NaN (never) is never <= t
        ax.step(dates, np.array(share) * 100, where="post", color=colour[r.label], lw=1.8, label=r.label)
    ax.set_ylim(-2, 102)
    ax.set_ylabel("% of replications in which it has happened")
    ax.set_title(f"Time to event: {outcome}\n{description}")
    dates_axis(ax)
    ax.legend(fontsize=8, title="scenario", title_fontsize=8, loc="best")
    return save(fig, path, fmt)


def plot_presence(results, colour, path: Path, fmt: str):
    """Median personnel per (actor, site), one panel per pair, scenarios overlaid."""
    keys = []
    for r in results:
        keys += [k for k in r.series if k[0] == "presence" and k not in keys]
    keys = [k for k in keys if any(np.nanmax(r.series[k]["q95"]) > 0 for r in results if k in r.series)]
    if not keys:
        return None
    cols = 2
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.6 * rows + 0.8), squeeze=False, sharex=True)
    names = {a.id: a.name for a in results[0].scenario.actors}
    sites = {s.id: s.name for s in results[0].scenario.sites}
    for ax, key in zip(axes.flat, keys):
        for r in results:
            stats = r.series.get(key)
            if stats is None:
                continue
            dates = list(r.scenario.dates)[: len(stats["q50"])]
            ax.fill_between(dates, stats["q05"], stats["q95"], color=colour[r.label], alpha=0.12, lw=0)
            ax.plot(dates, stats["q50"], color=colour[r.label], lw=1.6, label=r.label)
        ax.set_title(f"{names.get(key[1], key[1])} at {sites.get(key[2], key[2])}", fontsize=9)
        ax.set_ylabel("personnel")
        ax.set_ylim(bottom=0)
        dates_axis(ax)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=8, title="scenario (median; band: 90%)",
               title_fontsize=8)
    fig.suptitle("Presence over time by actor and site", x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 0.82, 0.96))
    return save(fig, path, fmt)


def plot_sweep(result: ScenarioResults, outcome: str, colour, path: Path, fmt: str):
    """An outcome against the swept values: a line with its interval (one key) or a heat map (two)."""
    rows = [row for row in result.point_rows if row["outcome"] == outcome]
    if not rows or not result.swept:
        return None
    value_col = "probability" if rows[0]["probability"] else "mean"
    low_col, high_col = ("ci95_low", "ci95_high") if value_col == "probability" else ("mean_ci95_low", "mean_ci95_high")
    fig, ax = plt.subplots(figsize=(8, 4.4))
    label = "probability" if value_col == "probability" else "mean"
    if len(result.swept) == 1 or len({row[result.swept[1]] for row in rows}) == 1:
        key = result.swept[0]
        order = sorted(rows, key=lambda row: float(row[key]))
        x = [float(row[key]) for row in order]
        y = [float(row[value_col]) for row in order]
        ax.fill_between(x, [float(row[low_col]) for row in order], [float(row[high_col]) for row in order],
                        color=colour[result.label], alpha=0.2, lw=0, label="95% interval")
        ax.plot(x, y, "o-", color=colour[result.label], label=result.label)
        ax.set_xlabel(key)
        ax.set_ylabel(f"{outcome} ({label})")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    else:
        kx, ky = result.swept[:2]
        xs = sorted({float(row[kx]) for row in rows})
        ys = sorted({float(row[ky]) for row in rows})
        grid = np.full((len(ys), len(xs)), np.nan)
        for row in rows:
            grid[ys.index(float(row[ky])), xs.index(float(row[kx]))] = float(row[value_col])
        if len(xs) * len(ys) > 2 * len(rows):  # scattered samples (LHS, Sobol): no grid to fill
            plt.close(fig)
            return _scatter_sweep(result, rows, kx, ky, value_col, outcome, label, path, fmt)
        fixed = label == "probability"  # probabilities on one 0-1 scale, so that plots compare
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis",
                          vmin=0.0 if fixed else None, vmax=1.0 if fixed else None)
        ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
        ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
        ax.set_xlabel(kx)
        ax.set_ylabel(ky)
        fig.colorbar(image, ax=ax, label=f"{outcome} ({label})")
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if v < np.nanmean(grid) else "black")
    ax.set_title(f"{result.label}: {outcome} across the sweep")
    return save(fig, path, fmt)


def _scatter_sweep(result, rows, kx, ky, value_col, outcome, label, path, fmt):
    fig, ax = plt.subplots(figsize=(8, 4.4))
    points = ax.scatter([float(r[kx]) for r in rows], [float(r[ky]) for r in rows],
                        c=[float(r[value_col]) for r in rows], cmap="viridis", s=60)
    fig.colorbar(points, ax=ax, label=f"{outcome} ({label})")
    ax.set_xlabel(kx)
    ax.set_ylabel(ky)
    ax.set_title(f"{result.label}: {outcome} at each sampled point")
    ax.grid(alpha=0.3)
    return save(fig, path, fmt)


def plot_differences(labels: list[str], rows: list[Difference], path: Path, fmt: str, title: str,
                     measure: str = "outcome"):
    """Horizontal bars of differences with 95% intervals (ablation ranking), one per label."""
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(rows) + 1.6))
    y = np.arange(len(rows))
    diffs = np.array([r.difference for r in rows])
    lows = diffs - np.array([r.ci95[0] for r in rows])
    highs = np.array([r.ci95[1] for r in rows]) - diffs
    ax.barh(y, diffs, color=["#D55E00" if d < 0 else "#0072B2" for d in diffs], alpha=0.8)
    ax.errorbar(diffs, y, xerr=[lows, highs], fmt="none", color="black", capsize=3, lw=1)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel(f"change in the {measure} without the event (paired difference, 95% interval)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path, fmt)
