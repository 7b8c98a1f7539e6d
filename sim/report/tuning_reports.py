"""Output folders of `sim sensitivity`, `sim calibrate` and `sim backtest`: CSV, report, plots."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import tomli_w

from sim.analysis import scores
from sim.analysis.backtest import Backtest, score
from sim.analysis.calibration import (
    BASE_FILE,
    Calibration,
    at_edges,
    calibrated_document,
    save_as_extends,
    write_plausible,
)
from sim.analysis.sensitivity import SensitivityResult
from sim.experiment import atomic
from sim.plots import tuning_plots as plots
from sim.report.render import Report
from sim.scenario.documents import read_document


def _now() -> str:
    return f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M}"


# sensitivity method (analysis/sensitivity.METHODS) -> its table's columns after rank and parameter, their
# cells from a row, and its plot
SHOWN = {
    "sobol": (["S1 [95%]", "ST [95%]", "ST, second seed"],
              lambda r: [f"{r['S1']:.3f} ± {r['S1_conf']:.3f}", f"{r['ST']:.3f} ± {r['ST_conf']:.3f}",
                         f"{r['ST_second_seed']:.3f}"], plots.plot_sobol),
    "morris": (["mu* [95%]", "sigma", "mu*, second seed"],
               lambda r: [f"{r['mu_star']:.4g} ± {r['mu_star_conf']:.3g}", f"{r['sigma']:.4g}",
                          f"{r['mu_star_second_seed']:.4g}"], plots.plot_morris),
}


@atomic.writes_folder
def sensitivity_report(result: SensitivityResult, out: Path, fmt: str = "png") -> Path:
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
        header, cells, plot = SHOWN[result.method]
        report.table(["rank", "parameter", *header], [[r["rank"], f"`{r['parameter']}`", *cells(r)] for r in mine])
        report.figure(f"{o}", plot(rows, o, cfg.replications, out / f"{result.method}-{o}", fmt))
    report.write(out)
    return out


def _files(paths) -> str:
    return ", ".join(str(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths))


def calibration_report(scenario_path: Path, observed_paths, result: Calibration, out: Path,
                       fmt: str = "png", save_as: Path | None = None) -> Path:
    _calibration_folder(scenario_path, observed_paths, result, out, fmt)
    if save_as is not None:
        atomic.write_text(save_as, _schema_line(save_as) + _calibrated_header(result, observed_paths)
                          + f"# written by --save-as; the run's report is in {out}\n"
                          + tomli_w.dumps(calibrated_document(scenario_path, result,
                                                              save_as_extends(scenario_path, save_as))))
    return out


def _schema_line(save_as: Path) -> str:
    """A variant saved beside the editor schema names it, as the shipped scenarios do (docs/scenarios.md)."""
    from sim.scenario.json_schema import SCHEMA_FILE

    return f"#:schema ./{SCHEMA_FILE}\n" if (Path(save_as).parent / SCHEMA_FILE).is_file() else ""


def _calibrated_header(result: Calibration, observed_paths) -> str:
    cut = f" up to {result.cutoff}" if result.cutoff else ""
    return (f"# {result.scenario.meta.name} calibrated by `sim calibrate` against {_files(observed_paths)}{cut} on "
            f"{_now()}\n# negative log-likelihood {result.loss_before:.3f} before, {result.loss_after:.3f} after "
            f"({result.evaluations} evaluations of {result.config.replications} replications, seed "
            f"{result.config.seed}; {len(result.observed)} observations fitted)\n")


@atomic.writes_folder
def _calibration_folder(scenario_path: Path, observed_paths, result: Calibration, out: Path, fmt: str) -> None:
    cut = f" up to {result.cutoff}" if result.cutoff else ""
    variant = calibrated_document(scenario_path, result)
    atomic.write_text(out / BASE_FILE, f"# {scenario_path} as calibrated (its extends resolved); calibrated.toml "
                                       "extends this copy\n" + tomli_w.dumps(read_document(scenario_path).data))
    atomic.write_text(out / "calibrated.toml", _calibrated_header(result, observed_paths) + tomli_w.dumps(variant))
    atomic.write_csv(out / "history.csv", ["generation", "evaluations", "best_loss", "median_loss"]
                     + list(result.config.keys),
                     ([g["generation"], n, f"{loss:.6g}", f"{g['median']:.6g}"]
                      + [f"{values[k]:.6g}" for k in result.config.keys]
                      for g, (n, loss, values) in zip(result.generations, result.history)))
    write_plausible(result, out / "plausible.csv")
    ranges = result.plausible_ranges()
    converged, why = result.converged()
    before = score(result.scenario, result.observed, result.before, result.config.replications, result.config.seed)
    after = score(result.scenario, result.observed, result.after, result.config.replications, result.config.seed)
    report = Report(f"Calibration of {result.scenario.meta.name}",
                    f"{_now()}; observed {_files(observed_paths)}; config {result.config.path}"
                    + (f"; cut-off {result.cutoff}" if result.cutoff else ""))
    report.text(f"Loss (negative log-likelihood of the {len(result.observed)} observations fitted{cut}; an event "
                f"counts when it first fires within {result.config.window} step(s) of its date): "
                f"**{result.loss_before:.3f} before, {result.loss_after:.3f} after**, {result.evaluations} evaluations "
                f"of {result.config.replications} replications each, all with seed {result.config.seed} (common random "
                f"numbers). The fitted values are in `calibrated.toml`, a variant that extends `{BASE_FILE}` (a copy of "
                "the scenario as calibrated, beside it)"
                + (f"; it records `meta.fitted_until = {result.cutoff}`, so `sim backtest` scores only what came "
                   "after." if result.cutoff else "."))
    report.table(["value", "before", "fitted", "plausible (95% likelihood-ratio set)", "search range"],
                 [[f"`{v.key}`", f"{result.start[v.key]:.4g}", f"{result.best[v.key]:.4g}",
                   f"{ranges[v.key][0]:.4g} to {ranges[v.key][1]:.4g}" if v.key in ranges else "",
                   f"{v.bounds[0]:.4g} to {v.bounds[1]:.4g}"] for v in result.config.values])
    report.text(f"How well the values are known: {len(result.plausible())} of the {len(result.evaluated)} value sets "
                f"evaluated have a loss within {result.bound:.2f} of the best (2 x the difference below the 95% "
                f"chi-squared quantile with {len(result.config.values)} degrees of freedom). They are in "
                "`plausible.csv`; `sim run calibrated.toml --uncertainty plausible.csv` draws from them, so the "
                "headline numbers carry this uncertainty. The set covers only the values the search evaluated, and "
                "each loss carries Monte Carlo noise from its "
                f"{result.config.replications} replications, so it is a rough set, not a posterior.")
    report.text(f"**{'Converged' if converged else 'Not converged'}**: {why}.")
    for note in at_edges(result):
        report.text(f"**Warning**: {note}.")
    if result.generations:
        report.figure("Loss per generation", plots.plot_convergence(result.generations, result.bound,
                                                                    out / "convergence", fmt))
    report.heading("Observations fitted, before and after")
    report.table(["observation", "date", "held", "P(holds) before", "P(holds) after", "median before", "median after"],
                 [[b["observation"], b["observed_date"], "yes" if b["value"] else "no", f"{b['probability']:.3f}",
                   f"{a['probability']:.3f}", b["simulated_median_date"], a["simulated_median_date"]]
                  for b, a in zip(before.rows, after.rows)])
    if result.left_out:
        report.heading("Observations left out of the fit")
        report.table(["observation", "date", "why"], [[o.label, o.date.isoformat(), why] for o, why in result.left_out])
    figure = plots.plot_timing(result.scenario, result.observed, [("before", result.before), ("after", result.after)],
                               out / "timing", fmt)
    if figure:
        report.figure("Observed dates against simulated timing, before and after", figure)
    report.write(out)
    return out


BACKTEST_COLUMNS = ("observation", "kind", "id", "observed_date", "value", "probability", "climatology",
                    "persistence", "brier", "brier_climatology", "brier_persistence", "simulated_median_date",
                    "ever_happens")


def _cell(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:.6g}" if isinstance(v, float) else ("" if v is None else str(v))


@atomic.writes_folder
def backtest_report(result: Backtest, observed_paths, out: Path, fmt: str = "png") -> Path:
    atomic.write_csv(out / "backtest.csv", BACKTEST_COLUMNS, ([_cell(r[c]) for c in BACKTEST_COLUMNS]
                                                             for r in result.rows))
    atomic.write_csv(out / "given.csv", ["observation", "kind", "id", "observed_date", "why"],
                     ([o.label, o.kind, o.id, o.date.isoformat(), why] for o, why in result.given))
    cut = f"after the cut-off {result.cutoff}" if result.cutoff else "(no cut-off: every observation)"
    report = Report(f"Backtest of {result.scenario.meta.name}",
                    f"{_now()}; observed {_files(observed_paths)}; {result.replications} replications, seed "
                    f"{result.seed}; scored: the observations {cut}")
    report.text(f"**{len(result.rows)} observation(s) scored**, {sum(r['value'] for r in result.rows)} of them true; "
                f"**{len(result.given)} left out as given** (a scheduled shock settles them: listed at the end and "
                f"in `given.csv`); {len(result.before)} on or before the cut-off were used only for the persistence "
                "forecast. Each observation is a proposition on its date (an event had happened by then; a state "
                "held) that came out true or false. Forecasts: the **model** (the share of runs in which it holds), "
                "**climatology** (every proposition gets the share of true ones among those scored) and "
                "**persistence** (what held at the cut-off still holds: the latest observation of it on or before "
                "the cut-off; else, for an event, that it had not happened, and for a state, its value at the "
                "start). The model's interval counts only its own runs: the parameters and starting values are "
                "fixed here (a 95% Monte Carlo interval on each probability is about ±"
                f"{1.96 * 0.5 / max(result.replications, 1) ** 0.5:.3f} at worst).")
    if result.skill:
        report.table(["forecast", "Brier (0 best)", "log score (0 best)", "model's Brier skill against it"],
                     result.skill.table())
        report.text("A Brier skill score above 0 means the model beats that reference; 1 is perfect. The log "
                    f"score clips forecasts to [{scores.LOG_CLIP}, {1 - scores.LOG_CLIP}].")
    report.heading("Every scored observation")
    report.table(["observation", "date", "held", "model", "climatology", "persistence", "simulated median date"],
                 [[r["short"] + (f" (`{r['id']}`)" if r["kind"] == "event" else ""), r["observed_date"],
                   "yes" if r["value"] else "no", f"{r['probability']:.3f}",
                   f"{r['climatology']:.3f}", f"{r['persistence']:.0f}", r["simulated_median_date"]]
                  for r in result.rows])
    if result.reliability:
        report.figure("Reliability of the model's forecasts over the scored observations",
                      plots.plot_reliability(result.reliability, result.brier, out / "reliability", fmt,
                                             "forecast: share of runs in which the proposition holds on its date",
                                             "observed frequency (it held)", "the scored observations"))
    timing = plots.plot_timing(result.scenario, result.observed, [("this scenario", result.outcomes)],
                               out / "timing", fmt)
    if timing:
        report.figure("Observed dates against simulated timing", timing)
    if result.weekly_brier == result.weekly_brier:
        report.text(f"Timing: over weekly indicators (has each scored event happened by each week?) the model's "
                    f"Brier score is **{result.weekly_brier:.3f}**.")
    if result.given:
        report.heading("Left out as given")
        report.table(["observation", "date", "why"], [[o.label, o.date.isoformat(), why] for o, why in result.given])
    report.write(out)
    return out
