"""`sim discover`: the report, CSVs and plots of a scenario discovery."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sim.analysis.discovery import Discovery, describe_limit
from sim.experiment import atomic
from sim.report.render import Report


@atomic.writes_folder
def discovery_report(result: Discovery, batch: Path, out: Path, dates=None, event_names=None,
                     fmt: str = "png") -> Path:
    from sim.plots import discovery_plots as plots

    atomic.write_csv(out / "prim_trajectory.csv", ["box", "coverage", "density", "mass", "res_dim", "restrictions"],
                     ([t["box"], f"{t['coverage']:.6g}", f"{t['density']:.6g}", f"{t['mass']:.6g}", t["res_dim"],
                       "; ".join(describe_limit(lim, result.features, dates, event_names) for lim in t["limits"])]
                      for t in result.trajectory))
    atomic.write_csv(out / "box.csv", ["feature", "low", "high", "in_words"],
                     ([lim["feature"], "" if lim["low"] is None else f"{lim['low']:.6g}",
                       "" if lim["high"] is None else f"{lim['high']:.6g}",
                       describe_limit(lim, result.features, dates, event_names)] for lim in result.limits))
    atomic.write_text(out / "tree.txt", result.tree_text)
    chosen = result.trajectory[result.chosen]
    report = Report(f"Scenario discovery: {result.target}",
                    f"{dt.datetime.now():%Y-%m-%d %H:%M}; batch {batch}; scenario {result.scenario}; {result.n:,} runs")
    report.text(f"**{result.sentence}**")
    report.text(f"Features: {sum(f.kind == 'value' for f in result.features)} swept or drawn value(s) and "
                f"{sum(f.kind != 'value' for f in result.features)} event feature(s) (the step an event first "
                "fired, 'never' counting as after the last step; the number of firings where it can fire more than "
                "once). A box describes runs, not causes: an event inside it may be a consequence of the same "
                "thing that makes the outcome.")
    report.heading("PRIM")
    report.text(f"Chosen box {chosen['box']} of {len(result.trajectory)} on the peeling trajectory: coverage "
                f"{chosen['coverage']:.0%}, density {chosen['density']:.0%}, {chosen['res_dim']} restriction(s) "
                "(the box with the largest coverage x (density - base rate) / (1 - base rate) among those of one "
                "to three restrictions; "
                "`--box N` picks another). All boxes are in `prim_trajectory.csv`.")
    report.table(["restriction", "low", "high"],
                 [[describe_limit(lim, result.features, dates, event_names),
                   "" if lim["low"] is None else f"{lim['low']:.4g}", "" if lim["high"] is None else f"{lim['high']:.4g}"]
                  for lim in result.limits])
    report.figure("Coverage against density along the peeling trajectory",
                  plots.plot_tradeoff(result.trajectory, result.chosen, result.base_rate, out / "tradeoff", fmt))
    report.heading("Classification tree")
    report.text(f"A depth-3 tree (scikit-learn) classifies {result.tree_accuracy:.0%} of held-out runs correctly "
                f"(always guessing the commoner class: {result.tree_baseline:.0%}). The rules are in `tree.txt`.")
    report.figure("Classification tree", plots.plot_tree(result.tree_model, result.x_columns, result.target, out / "tree", fmt))
    report.write(out)
    return out
