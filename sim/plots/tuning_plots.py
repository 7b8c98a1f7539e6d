"""Plots for sensitivity, calibration and backtests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.experiment.stats import happened  # noqa: E402
from sim.plots.compare_plots import OKABE_ITO, save  # noqa: E402


def plot_sobol(rows: list[dict], outcome: str, replications: int, path: Path, fmt: str = "png") -> Path:
    """First-order and total indices with 95% intervals; the second seed's total index as a dot."""
    rows = [r for r in rows if r["outcome"] == outcome]
    names = [r["parameter"] for r in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.8))
    for offset, key, colour, label in ((-0.18, "S1", OKABE_ITO[0], "first-order S1"),
                                       (0.18, "ST", OKABE_ITO[1], "total ST")):
        values = np.array([r[key] for r in rows])
        ax.barh(y + offset, values, height=0.34, color=colour, alpha=0.85, label=label,
                xerr=[r[f"{key}_conf"] for r in rows], error_kw={"capsize": 3, "lw": 1})
    ax.plot([r["ST_second_seed"] for r in rows], y + 0.18, "k|", ms=14, mew=2, label="total ST, second seed")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_xlabel("Sobol index (share of the outcome's variance), with 95% interval")
    ax.set_title(f"Sensitivity of {outcome} ({replications} replications per point)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path, fmt)


def plot_morris(rows: list[dict], outcome: str, replications: int, path: Path, fmt: str = "png") -> Path:
    """mu* (overall influence) against sigma (interactions, non-linearity)."""
    rows = [r for r in rows if r["outcome"] == outcome]
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, r in enumerate(rows):
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        ax.errorbar(r["mu_star"], r["sigma"], xerr=r["mu_star_conf"], fmt="o", color=colour, capsize=3,
                    label=r["parameter"])
        ax.annotate(r["parameter"], (r["mu_star"], r["sigma"]), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")
    ax.set_xlabel("mu* (mean absolute elementary effect), with 95% interval")
    ax.set_ylabel("sigma (spread of elementary effects)")
    ax.set_title(f"Morris screening of {outcome} ({replications} replications per point)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return save(fig, path, fmt)


def plot_timing(scenario, observed, runs: list[tuple[str, dict]], path: Path, fmt: str = "png") -> Path | None:
    """Observed dates (diamonds) against the simulated first dates of each observed event."""
    events = [o for o in observed if o.kind == "event"]
    if not events:
        return None
    dates = scenario.dates
    fig, ax = plt.subplots(figsize=(10, 0.75 * len(events) * len(runs) ** 0.5 + 1.8))
    height = 0.7 / len(runs)
    for k, (label, outcomes) in enumerate(runs):
        for i, o in enumerate(events):
            steps = outcomes[o.outcome_id]
            hit = steps[happened(steps)].astype(int)
            if len(hit) == 0:
                continue
            pos = i - 0.35 + height * (k + 0.5)
            numbers = mdates.date2num([dates[s] for s in hit])
            ax.boxplot([numbers], positions=[pos], widths=height * 0.8, orientation="horizontal", whis=(5, 95), showfliers=False,
                       patch_artist=True, boxprops={"facecolor": OKABE_ITO[k], "alpha": 0.5},
                       medianprops={"color": "black"})
        ax.plot([], [], "s", color=OKABE_ITO[k], alpha=0.5, label=f"simulated, {label} (box 25-75%, whiskers 5-95%)")
    ax.plot(mdates.date2num([o.date for o in events]), range(len(events)), "D", color="black", label="observed")
    shares = lambda o: " / ".join(f"{np.mean(happened(r[o.outcome_id])):.0%}" for _, r in runs)  # noqa: E731
    ax.set_yticks(range(len(events)), [f"{o.id}: {o.short}\n(fires in {shares(o)} of runs)" for o in events], fontsize=7)
    ax.invert_yaxis()
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    first = min(o.date for o in events) - dt.timedelta(days=120)
    ax.set_xlim(mdates.date2num(max(dates[0], first)), mdates.date2num(dates[-1]))
    states = sum(o.kind == "state" for o in observed)
    ax.set_xlabel("date of the first firing (runs in which it never fires are left out)"
                  + (f"; the {states} state observation(s) are in the report's table" if states else ""))
    order = " / ".join(label for label, _ in runs)
    ax.set_title(f"{scenario.meta.name}: observed dates against simulated timing ({order})")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08 - 0.4 / len(events)), ncol=3)
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path, fmt)


def plot_reliability(reliability: list[dict], brier: float, path: Path, fmt: str = "png",
                     xlabel: str = "forecast: share of runs in which the event has happened by that week",
                     ylabel: str = "observed frequency (it had happened)", over: str = "weekly indicators") -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 5.2))
    ax.plot([0, 1], [0, 1], color="0.5", ls="--", lw=1, label="perfect calibration")
    counts = np.array([r["count"] for r in reliability])
    ax.scatter([r["forecast"] for r in reliability], [r["observed"] for r in reliability],
               s=20 + 200 * counts / counts.max(), color=OKABE_ITO[0], zorder=3, label="forecast bins (size: count)")
    ax.plot([r["forecast"] for r in reliability], [r["observed"] for r in reliability], color=OKABE_ITO[0], lw=1)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"Reliability over {over} (Brier {brier:.3f})", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return save(fig, path, fmt)



def plot_convergence(generations: list[dict], bound: float, path: Path, fmt: str = "png") -> Path:
    """Calibration: the best loss so far and each generation's median loss, per generation, with the band
    of losses within the likelihood-ratio bound of the best (the plausible values)."""
    g = np.array([x["generation"] for x in generations])
    best = np.array([x["best"] for x in generations])
    median = np.array([x["median"] for x in generations])
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.axhspan(best[-1], best[-1] + bound, color=OKABE_ITO[2], alpha=0.15,
               label=f"within the 95% likelihood-ratio bound (+{bound:.2f})")
    ax.plot(g, median, "o-", color=OKABE_ITO[1], ms=4, label="median loss of the generation")
    ax.plot(g, best, "o-", color=OKABE_ITO[0], ms=4, label="best loss so far")
    ax.set_xlabel("generation (0 = the initial population)")
    ax.set_ylabel("negative log-likelihood")
    ax.set_title("Calibration: loss per generation")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path, fmt)
