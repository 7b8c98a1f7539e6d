"""`sim compare`: which variant changes which outcome, by how much, beyond Monte Carlo noise.

All numbers come from the batches' runs.parquet (outcomes) and series.csv (bands); the report
(report.md, and report.html with every image embedded) and comparison.json hold the same numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sim.analysis.batch_data import ScenarioResults, aligned, is_paired, load_batches, scenario_changes
from sim.errors import SimError
from sim.experiment import atomic
from sim.experiment.stats import (
    compare_means,
    compare_proportions,
    compare_timing,
    format_p,
    happened,
    mean_interval,
    wilson_interval,
)
from sim.experiment.summaries import Compared, Comparison, Difference, Estimate
from sim.report.render import Report


@dataclass(frozen=True)
class CompareOptions:
    baseline: str | None = None
    outcomes: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    fmt: str = "png"


def outcome_estimate(result: ScenarioResults, outcome: str) -> Estimate:
    values = result.outcomes[outcome]
    kind = result.outcome_kind(outcome)
    n = len(values)
    if kind in ("bool", "first"):
        hits = happened(values) if kind == "first" else values
        k = int(np.sum(hits))
        median = (result.scenario.dates[int(np.median(values[hits]))].isoformat() if kind == "first" and k else None)
        return Estimate(kind, n, k / n, wilson_interval(k, n), "probability", median)
    sd = float(values.std(ddof=1)) if n > 1 else 0.0
    mean = float(values.mean())
    return Estimate(kind, n, mean, mean_interval(mean, sd, n), "mean")


def outcome_difference(base: ScenarioResults, other: ScenarioResults, outcome: str) -> Difference:
    paired = is_paired(base, other)
    a, b = aligned(base, other, outcome, paired)
    kind = base.outcome_kind(outcome)
    if kind == "first":  # compare whether it happens at all
        a, b = happened(a), happened(b)
    if kind in ("bool", "first"):
        return replace(compare_proportions(a, b, paired), measure="probability", paired=paired)
    return replace(compare_means(a, b, paired), measure="mean", paired=paired)


def _choose(results: list[ScenarioResults], options: CompareOptions):
    """The baseline and the scenarios compared with it: sweep batches only feed the sweep plots
    (their points are settings, not scenarios)."""
    single = [r for r in results if not r.is_sweep]
    if not single:
        return None, [], list(options.outcomes), []
    results = single
    if options.baseline:
        matches = [r for r in results if options.baseline in (r.label, r.name)]
        if not matches:
            raise SimError(f"--baseline {options.baseline}: no such scenario; found "
                           + ", ".join(r.label for r in results))
        baseline = matches[0]
    else:
        baseline = results[0]
    ordered = [baseline] + [r for r in results if r is not baseline]
    known = list(dict.fromkeys(o.id for r in ordered for o in r.scenario.outcomes))  # a variant's own ones too
    outcomes = list(options.outcomes) or known
    for o in outcomes:
        if o not in known:
            from sim.errors import did_you_mean

            raise SimError(f"--outcomes: '{o}' is not an outcome of {baseline.label} or any other scenario compared"
                           f"{did_you_mean(o, known)}")
    tracked = [k for k in baseline.series if k[0] in ("relation", "alignment")]
    if options.series:
        chosen = []
        for text in options.series:
            source, _, target = text.partition(":")
            match = [k for k in baseline.series if k[1:] == (source, target) and k[0] in ("relation", "alignment")]
            if not match:
                names = ", ".join(f"{k[1]}:{k[2]}" for k in tracked)
                raise SimError(f"--series: '{text}' is not a tracked series of {baseline.label}; tracked: {names}")
            chosen += match
        tracked = chosen
    return baseline, ordered, outcomes, tracked


@dataclass(frozen=True)
class Built:
    """A comparison's numbers and what its plots need: the loaded results, the baseline, the series."""
    numbers: Comparison
    results: list[ScenarioResults]
    baseline: ScenarioResults | None
    tracked: list
    sweeps: list[ScenarioResults]


def build_comparison(folders: list[Path], options: CompareOptions) -> Built:
    """Every number of the report."""
    loaded = load_batches(folders)
    sweeps = [r for r in loaded if r.is_sweep]
    baseline, ordered, outcomes, tracked = _choose(loaded, options)
    if baseline is None:  # sweeps only
        outcomes = outcomes or [o.id for o in sweeps[0].scenario.outcomes]
        return Built(Comparison(None, (), tuple(outcomes), tuple(s.label for s in sweeps)), [], None, [], sweeps)
    entries = []
    for r in ordered:
        estimates = {o: outcome_estimate(r, o) for o in outcomes if o in r.outcomes}
        if r is baseline:
            entries.append(Compared(r.label, str(r.batch), r.seed, len(r.replications), estimates))
            continue
        paired = is_paired(baseline, r)
        both = [o for o in outcomes if o in r.outcomes and o in baseline.outcomes]
        entries.append(Compared(
            r.label, str(r.batch), r.seed, len(r.replications), estimates, paired,
            tuple((k, str(a), str(b)) for k, a, b in scenario_changes(baseline.document, r.document)),
            {o: outcome_difference(baseline, r, o) for o in both},
            {o: compare_timing(*aligned(baseline, r, o, paired), paired) for o in both
             if baseline.outcome_kind(o) == "first"}))
    numbers = Comparison(baseline.label, tuple(entries), tuple(outcomes), tuple(s.label for s in sweeps),
                         {o.id: o.description for r in reversed(ordered) for o in r.scenario.outcomes},
                         {r.label: r.scenario.meta.description for r in ordered})
    return Built(numbers, ordered, baseline, tracked, sweeps)


@atomic.writes_folder
def compare(folders: list[Path], out: Path, options: CompareOptions) -> Path:
    from sim.plots import compare_plots as plots

    built = build_comparison(folders, options)
    numbers, results, baseline = built.numbers, built.results, built.baseline
    colour = plots.colours(results + built.sweeps)
    figures: list[tuple[str, Path]] = []
    if baseline is not None:
        figures += _scenario_figures(built, colour, out, options)
    for r in built.sweeps:
        for o in numbers.outcomes:
            path = plots.plot_sweep(r, o, colour, atomic.inside(out, f"sweep-{r.name}-{o}"), options.fmt)
            if path:
                figures.append((f"Sweep of {r.label}: {o}", path))
    atomic.write_json(out / "comparison.json", numbers.to_json())
    title = f"Scenario comparison against {baseline.label}" if baseline else "Sweep results"
    report = Report(title, f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M}; batches: "
                    + ", ".join(sorted({str(r.batch) for r in results + built.sweeps})))
    if baseline is not None:
        _write_sections(report, numbers)
    if built.sweeps:
        report.heading("Sweeps")
        report.text("Sweep batches are shown point by point in the plots below (each outcome against the swept "
                    "values); their points are settings of one scenario, so they are not in the tables above. "
                    "Every point's numbers are in the batch's points.csv.")
    for caption, path in figures:
        report.figure(caption, path)
    report.write(out)
    return out


def _scenario_figures(built: Built, colour, out: Path, options: CompareOptions) -> list[tuple[str, Path]]:
    from sim.plots import compare_plots as plots

    numbers, results, baseline = built.numbers, built.results, built.baseline
    marks = plots.scheduled_marks(baseline)
    figures: list[tuple[str, Path]] = []
    kind = {o: next((r.outcome_kind(o) for r in results if r.outcome_kind(o)), "") for o in numbers.outcomes}
    binary = [o for o in numbers.outcomes if kind[o] in ("bool", "first")]
    if binary:
        figures.append(("Outcome probabilities", plots.plot_probabilities(
            results, binary, colour, out / "probabilities", options.fmt)))
    names = {a.id: a.name for a in baseline.scenario.actors} | {b.id: b.name for b in baseline.scenario.blocs}
    for key in built.tracked:
        title = f"{names.get(key[1], key[1])} toward {names.get(key[2], key[2])}"
        path = plots.plot_fans(results, key, colour, marks, title, "alignment (-1 hostile, +1 allied)",
                               out / f"fan-{key[1]}-{key[2]}", options.fmt)
        if path:
            figures.append((f"Alignment: {title}", path))
    for o in numbers.outcomes:
        if kind[o] not in ("bool", "first", ""):
            path = plots.plot_distributions(results, o, colour, atomic.inside(out, f"distribution-{o}"), options.fmt)
            if path:
                figures.append((f"Distribution: {o}", path))
        if baseline.outcome_kind(o) == "first":
            description = next(x.description for x in baseline.scenario.outcomes if x.id == o)
            figures.append((f"Time to event: {o}", plots.plot_time_to_event(
                results, o, description, colour, out / f"time-to-{o}", options.fmt)))
    presence = plots.plot_presence(results, colour, out / "presence", options.fmt)
    if presence:
        figures.append(("Presence by actor and site", presence))
    from sim.plots.network_plots import plot_camp_membership, plot_network

    for i, r in enumerate(results):
        if r.network is None:
            continue
        names = [a.id for a in r.scenario.actors]
        figures.append((f"Alignment network: {r.label}", plot_network(
            r.network, names, r.scenario.dates, r.label, atomic.inside(out, f"network-{i}-{r.name}"), options.fmt)))
        membership = plot_camp_membership(r.network, names, r.scenario.dates, r.label,
                                          atomic.inside(out, f"camps-{i}-{r.name}"), options.fmt)
        if membership:
            figures.append((f"Camp membership over time: {r.label}", membership))
    return figures


def _fmt_estimate(e: Estimate) -> str:
    text = f"{e.estimate:.3f} [{e.ci95[0]:.3f}, {e.ci95[1]:.3f}]"
    return text + (f", median {e.median_date}" if e.median_date else "")


def _write_sections(report: Report, numbers: Comparison) -> None:
    base = numbers.baseline
    others = numbers.scenarios[1:]
    report.heading("What each variant changes")
    if not others:
        report.text("Only the baseline was given.")
    for s in others:
        rows = s.changes or [("(nothing)", "", "")]
        about = numbers.scenario_descriptions.get(s.label)
        report.text(f"**{s.label}** against {base} ({len(s.changes)} value(s) differ)"
                    + (f": {about}" if about else ":"))
        report.table(["key path", base, s.label], [[f"`{k}`", a, b] for k, a, b in rows[:40]])
        if len(rows) > 40:
            report.text(f"... and {len(rows) - 40} more (see comparison.json).")
    report.heading("Outcomes by scenario")
    report.text("Probability (booleans; first-hit outcomes: that it happens at all, with the median date when it "
                "does) or mean (values), each with its 95% interval (Wilson for probabilities).")
    header = ["outcome"] + [s.label for s in numbers.scenarios]
    described = (lambda o: f"{o}: {numbers.descriptions[o]}" if numbers.descriptions.get(o) else o)
    report.table(header, [[described(o)] + [_fmt_estimate(s.estimates[o]) if o in s.estimates else "-"
                                            for s in numbers.scenarios] for o in numbers.outcomes])
    report.heading(f"Differences from the baseline ({base})")
    for s in others:
        if s.paired:
            how = (f"**Paired comparison**: {s.label} and {base} share seed {s.seed} and replication ids "
                   "(common random numbers), so replication k is compared with replication k "
                   "(paired t interval; McNemar's exact test for probabilities).")
        else:
            how = (f"Unpaired comparison: {s.label} and {base} do not share seeds and replications "
                   "(Newcombe interval and two-proportion z test for probabilities, Welch t for means).")
        report.text(how)
        rows = []
        for o, d in s.differences.items():
            significant = "yes" if d.p_value < 0.05 else "no"
            rows.append([o, d.measure, f"{d.difference:+.3f}", f"[{d.ci95[0]:+.3f}, {d.ci95[1]:+.3f}]",
                         format_p(d.p_value), significant])
        report.table(["outcome", "measure", f"{s.label} - {base}", "95% interval", "p-value",
                      "beyond MC noise (p < 0.05)"], rows)
        if s.timing:
            report.text("When first-hit outcomes happen (steps; negative = sooner in "
                        f"{s.label}), with a 95% bootstrap interval:")
            report.table(["outcome", "median difference (steps)", "95% interval", "runs", "how"],
                         [[o, f"{t.difference:+.1f}", f"[{t.ci95[0]:+.1f}, {t.ci95[1]:+.1f}]", t.n, t.test]
                          for o, t in s.timing.items()])
