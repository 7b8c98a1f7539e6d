"""Output folders of `sim sensitivity`, `sim calibrate` and `sim backtest`: CSV, report, plots."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import tomli_w

from sim.analysis.backtest import Backtest, score
from sim.analysis.calibration import BASE_FILE, Calibration, at_edges, calibrated_document
from sim.analysis.sensitivity import SensitivityResult
from sim.experiment import atomic
from sim.plots import tuning_plots as plots
from sim.report.render import Report
from sim.scenario.documents import read_document


def _now() -> str:
    return f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M}"


def sensitivity_report(result: SensitivityResult, out: Path, fmt: str = "png") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    rows = result.rows()
    atomic.write_csv(out / "sensitivity.csv", list(rows[0]), ([f"{v:.6g}" if isinstance(v, float) else v
                                                             for v in row.values()] for row in rows))
    keys = result.config.keys
    outcomes = result.outcomes
    atomic.write_csv(out / "samples.csv", ["point"] + list(keys) + [f"{o} (seed {s})" for s in result.seeds
                                                                    for o in outcomes],
                     ([i] + [f"{x:.6g}" for x in result.samples[i]] + [f"{result.values[s][o][i]:.6g}"
                                                                        for s in result.seeds for o in outcomes]
                      for i in range(len(result.samples))))
    cfg = result.config
    report = Report(f"Sensitivity of {result.scenario.meta.name} ({result.method})",
                    f"{_now()}; {len(result.samples)} sample points x {cfg.replications} replications per point x "
                    f"2 seeds ({result.seeds[0]} and {result.seeds[1]}); config {cfg.path}")
    noise = ("Each point's outcome is the mean over its replications (a probability, a mean, or for first-hit "
             "outcomes the mean step with 'never' counted as the step after the last). The whole analysis is run "
             "again with a second seed; **the largest change of the ranking index between the two seeds, as a share of "
             "the largest index**, is shown per outcome: when it is small, the ranking is not Monte Carlo noise.")
    report.text(noise)
    stability = result.stability()
    for o in outcomes:
        mine = [r for r in rows if r["outcome"] == o]
        report.heading(f"{o} (largest change between seeds: {stability[o]:.0%} of the largest index)")
        if result.method == "sobol":
            report.table(["rank", "parameter", "S1 [95%]", "ST [95%]", "ST, second seed"],
                         [[r["rank"], f"`{r['parameter']}`", f"{r['S1']:.3f} ± {r['S1_conf']:.3f}",
                           f"{r['ST']:.3f} ± {r['ST_conf']:.3f}", f"{r['ST_second_seed']:.3f}"] for r in mine])
            figure = plots.plot_sobol(rows, o, cfg.replications, out / f"sobol-{o}", fmt)
        else:
            report.table(["rank", "parameter", "mu* [95%]", "sigma", "mu*, second seed"],
                         [[r["rank"], f"`{r['parameter']}`", f"{r['mu_star']:.4g} ± {r['mu_star_conf']:.3g}",
                           f"{r['sigma']:.4g}", f"{r['mu_star_second_seed']:.4g}"] for r in mine])
            figure = plots.plot_morris(rows, o, cfg.replications, out / f"morris-{o}", fmt)
        report.figure(f"{o}", figure)
    report.write(out)
    return out


def calibration_report(scenario_path: Path, observed_path: Path, result: Calibration, out: Path,
                       fmt: str = "png") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    variant = calibrated_document(scenario_path, result)
    atomic.write_text(out / BASE_FILE, f"# {scenario_path} as calibrated (its extends resolved); calibrated.toml "
                                       "extends this copy\n" + tomli_w.dumps(read_document(scenario_path).data))
    header = (f"# {result.scenario.meta.name} calibrated by `sim calibrate` against {observed_path} on {_now()}\n"
              f"# negative log-likelihood {result.loss_before:.3f} before, {result.loss_after:.3f} after "
              f"({result.evaluations} evaluations of {result.config.replications} replications, seed "
              f"{result.config.seed})\n")
    atomic.write_text(out / "calibrated.toml", header + tomli_w.dumps(variant))
    atomic.write_csv(out / "history.csv", ["evaluations", "best_loss"] + list(result.config.keys),
                     ([n, f"{loss:.6g}"] + [f"{values[k]:.6g}" for k in result.config.keys]
                      for n, loss, values in result.history))
    before = score(result.scenario, result.observed, result.before, result.config.replications, result.config.seed)
    after = score(result.scenario, result.observed, result.after, result.config.replications, result.config.seed)
    report = Report(f"Calibration of {result.scenario.meta.name}",
                    f"{_now()}; observed {observed_path}; config {result.config.path}")
    report.text(f"Loss (negative log-likelihood of the observations; an event counts when it first fires within "
                f"{result.config.window} step(s) of its date): **{result.loss_before:.3f} before, "
                f"{result.loss_after:.3f} after**, {result.evaluations} evaluations of {result.config.replications} "
                f"replications each, all with seed {result.config.seed} (common random numbers). "
                f"The fitted values are in `calibrated.toml`, a variant that extends `{BASE_FILE}` (a copy of "
                "the scenario as calibrated, beside it).")
    report.table(["value", "before", "fitted", "search range"],
                 [[f"`{v.key}`", f"{result.start[v.key]:.4g}", f"{result.best[v.key]:.4g}",
                   f"{v.bounds[0]:.4g} to {v.bounds[1]:.4g}"] for v in result.config.values])
    for note in at_edges(result):
        report.text(f"**Note**: {note}.")
    report.heading("Observations before and after")
    report.table(["observation", "date", "P(by date) before", "P(by date) after", "median before", "median after"],
                 [[b["observation"], b["observed_date"], f"{b['probability_by_date']:.3f}",
                   f"{a['probability_by_date']:.3f}", b["simulated_median_date"], a["simulated_median_date"]]
                  for b, a in zip(before.rows, after.rows)])
    figure = plots.plot_timing(result.scenario, result.observed, [("before", result.before), ("after", result.after)],
                               out / "timing", fmt)
    if figure:
        report.figure("Observed dates against simulated timing, before and after", figure)
    report.write(out)
    return out


def backtest_report(result: Backtest, observed_path: Path, out: Path, fmt: str = "png") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_csv(out / "backtest.csv", list(result.rows[0]),
                     ([f"{v:.6g}" if isinstance(v, float) else ("" if v is None else v) for v in r.values()]
                      for r in result.rows))
    report = Report(f"Backtest of {result.scenario.meta.name}",
                    f"{_now()}; observed {observed_path}; {result.replications} replications, seed {result.seed}")
    report.text(f"Mean Brier score over the observations: **{result.brier:.3f}**; over weekly indicators "
                f"(has each observed event happened by each week?): **{result.weekly_brier:.3f}** "
                "(0 is perfect; always forecasting 50% scores 0.25). With steps of one "
                f"{result.scenario.meta.step_unit}, an observation counts as happened by its date when it happens in "
                "or before the step whose date is the first on or after it (so within one step after the date).")
    report.table(["observation", "kind", "observed date", "P(happened by then)", "simulated median date", "Brier"],
                 [[r["observation"], r["kind"], r["observed_date"], f"{r['probability_by_date']:.3f}",
                   r["simulated_median_date"], f"{r['brier']:.3f}"] for r in result.rows])
    timing = plots.plot_timing(result.scenario, result.observed, [("this scenario", result.outcomes)],
                               out / "timing", fmt)
    if timing:
        report.figure("Observed dates against simulated timing", timing)
    report.figure("Calibration (reliability) over weekly indicators",
                  plots.plot_reliability(result.reliability, result.weekly_brier, out / "reliability", fmt))
    report.write(out)
    return out
