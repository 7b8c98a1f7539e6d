"""Plots of scenario discovery: PRIM's coverage/density trade-off and the classification tree."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.plots.compare_plots import save  # noqa: E402


def plot_tradeoff(trajectory: list[dict], chosen: int, base_rate: float, path: Path, fmt: str = "png") -> Path:
    """Each box of the peeling trajectory by coverage and density, coloured by how many features it
    restricts; the chosen box circled."""
    coverage = np.array([t["coverage"] for t in trajectory])
    density = np.array([t["density"] for t in trajectory])
    dims = np.array([t["res_dim"] for t in trajectory])
    fig, ax = plt.subplots(figsize=(7, 5))
    top = max(int(dims.max()), 1)
    cmap = plt.get_cmap("viridis", top + 1)
    points = ax.scatter(coverage, density, c=dims, cmap=cmap, vmin=-0.5, vmax=top + 0.5, s=28, zorder=3)
    ax.plot(coverage, density, color="0.7", lw=0.8, zorder=2)
    ax.scatter([coverage[chosen]], [density[chosen]], s=220, facecolors="none", edgecolors="#D55E00", lw=2,
               zorder=4, label=f"chosen box {trajectory[chosen]['box']}")
    ax.axhline(base_rate, color="0.4", ls="--", lw=0.8, label=f"share of all runs ({base_rate:.0%})")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("coverage (share of the cases of interest inside the box)")
    ax.set_ylabel("density (share of the box's runs that are cases of interest)")
    ax.set_title("PRIM peeling trajectory: coverage against density")
    bar = fig.colorbar(points, ax=ax, ticks=range(top + 1))
    bar.set_label("features restricted")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return save(fig, path, fmt)


def plot_tree(tree, columns: list[str], target: str, path: Path, fmt: str = "png") -> Path:
    from sklearn.tree import plot_tree as draw

    fig, ax = plt.subplots(figsize=(14, 6.5))
    draw(tree, feature_names=columns, class_names=["no", "yes"], filled=True, impurity=False, proportion=True,
         rounded=True, fontsize=7, ax=ax)
    ax.set_title(f"Classification tree (depth 3): share of runs and class at each node; yes = {target}")
    return save(fig, path, fmt)
