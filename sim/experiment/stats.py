"""Summaries of outcomes over replications: probabilities with Wilson intervals, quantiles."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np

from sim.experiment.summaries import Difference, OutcomeSummary, Spread
from sim.scenario.schema import Outcome

Z95 = 1.959963984540054
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def happened(values: np.ndarray) -> np.ndarray:
    """A first-hit outcome's values (the step it first held, NaN for never) as whether it happened at all:
    the one place that reads them so (summaries, comparisons, ablation, backtests, discovery, plots)."""
    return ~np.isnan(values)


def mean_interval(mean: float, sd: float, n: int) -> tuple[float, float]:
    """95% normal interval for the mean of n runs with standard deviation sd: the one used for every mean
    of runs (summaries, comparisons); no interval (NaN) from fewer than two runs."""
    half = Z95 * sd / math.sqrt(n) if n > 1 else float("nan")
    return (mean - half, mean + half)


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion: sensible at p near 0 or 1 and small n."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)


def _quantiles(values: np.ndarray) -> dict[str, float]:
    return {f"q{round(q * 100):02d}": float(v) for q, v in zip(QUANTILES, np.quantile(values, QUANTILES))}


def over_draws(x: np.ndarray, draws: np.ndarray, bounded: bool) -> Spread:
    """How a per-replication quantity `x` (an indicator, or a value) varies over parameter draws, the
    replications being grouped by the draw they share: the range of the per-draw means that holds 90%
    of the draws, the share of the variance that the parameters explain (one-way random effects, the
    within-draw noise removed), and a 95% interval for the overall mean that counts the Monte Carlo
    error of both the draws and the runs (draws as clusters)."""
    ids, inverse, counts = np.unique(draws, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=x) / counts
    within = np.bincount(inverse, weights=(x - means[inverse]) ** 2) / counts
    mean, j = float(x.mean()), len(ids)
    m = float(counts.mean())
    between = max(float(means.var(ddof=1)) - float(within.mean()) / m, 0.0) if j > 1 else 0.0
    total = between + float(within.mean())
    weights = counts / counts.sum()
    se = math.sqrt(float(np.sum(weights ** 2 * (means - mean) ** 2)) * j / (j - 1)) if j > 1 else float("nan")
    low, high = _t_interval(mean, se, j - 1) if j > 1 else (float("nan"), float("nan"))
    if bounded:
        low, high = max(low, 0.0), min(high, 1.0)
    q05, q95 = np.quantile(means, [0.05, 0.95])
    return Spread(j, int(counts.max()), (float(q05), float(q95)), between / total if total > 0 else 0.0, (low, high))


def summarise_outcome(outcome: Outcome, values: np.ndarray, dates: tuple[dt.date, ...],
                      draws: np.ndarray | None = None) -> OutcomeSummary:
    """What summary.json says of one outcome; with `draws` (the parameter draw of each replication), also
    how it varies over the uncertain parameters, and its interval counts the draws' Monte Carlo error."""
    out = _summary(outcome, values, dates)
    if out.is_value and out.missing:  # runs without a number are left out, draws and all
        keep = ~np.isnan(values)
        values, draws = values[keep], (draws[keep] if draws is not None else None)
    if draws is None or not len(values):
        return replace(out, interval_covers="Monte Carlo error of the runs only (parameters fixed at the scenario's "
                                            "values)")
    x = (values.astype(np.float64) if outcome.is_boolean else happened(values).astype(np.float64)
         if outcome.kind == "first" else values.astype(np.float64))
    spread = over_draws(x, draws, not out.is_value)
    key = "mean_ci95" if out.is_value else "ci95"
    if spread.draws < 2:  # one draw: nothing to say about the spread between draws
        return replace(out, over_parameters=replace(spread, mean_ci95=getattr(out, key)),
                       interval_covers="Monte Carlo error of the runs only (a single parameter draw)")
    if not out.is_value:  # no narrower than the runs alone allow (all draws alike gives width 0)
        spread = replace(spread, mean_ci95=(min(spread.mean_ci95[0], out.ci95[0]),
                                            max(spread.mean_ci95[1], out.ci95[1])))
    return replace(out, **{key: spread.mean_ci95}, over_parameters=spread,
                   interval_covers="Monte Carlo error of the runs and of the parameter draws")


def _summary(outcome: Outcome, values: np.ndarray, dates: tuple[dt.date, ...]) -> OutcomeSummary:
    n = len(values)
    base = {"kind": outcome.kind, "description": outcome.description, "expr": outcome.expr.text, "n": n}
    if outcome.is_boolean:
        k = int(np.count_nonzero(values))
        return OutcomeSummary("probability", **base, probability=k / n if n else float("nan"),
                              ci95=wilson_interval(k, n))
    if outcome.kind == "first":
        hit = values[happened(values)]
        steps = _quantiles(hit) if len(hit) else None
        return OutcomeSummary("first_hit", **base, probability=len(hit) / n if n else float("nan"),
                              ci95=wilson_interval(len(hit), n), step_quantiles=steps,
                              date_quantiles={k: dates[int(round(v))].isoformat() for k, v in steps.items()}
                              if steps else None)
    finite = values[np.isfinite(values)]  # the model leaves NaN where a run gave no number (0 / 0, inf)
    base |= {"n": len(finite), "missing": len(values) - len(finite)}
    n = len(finite)
    if not n:
        return OutcomeSummary("value", **base, mean_ci95=(None, None))
    largest = float(np.abs(finite).max())  # values whose squares or sums would overflow: scale by a power of two
    exponent = math.frexp(largest)[1] if largest > 2.0 ** 500 else 0  # (exact: the same bits as unscaled)
    scaled = np.ldexp(finite, -exponent)
    mean = float(np.ldexp(scaled.mean(), exponent))
    sd = float(np.ldexp(scaled.std(ddof=1), exponent)) if n > 1 else 0.0
    return OutcomeSummary("value", **base, mean=mean, sd=sd, mean_ci95=mean_interval(mean, sd, n),
                          quantiles={k: math.ldexp(v, exponent) for k, v in _quantiles(scaled).items()})


def missing_warnings(summary: dict[str, OutcomeSummary], label: str = "") -> list[str]:
    """One line per numeric outcome that some runs gave no finite number for (they are empty in the outputs)."""
    return [f"warning: {label}outcome '{name}': {s.missing:,} of {s.missing + s.n:,} runs gave no finite "
            "number (a division by zero, an overflow, or a time since an event that never fired); they are empty "
            "in the outputs and left out of its statistics"
            for name, s in summary.items() if s.missing]


def _spread_cell(s: OutcomeSummary) -> str:
    if s.over_parameters is None:
        return ""
    low, high = s.over_parameters.range90
    fmt = ".3g" if s.is_value else ".2f"
    return f"{low:{fmt}} to {high:{fmt}} ({s.over_parameters.parameter_share:.0%} of variance)"


def _number(x: float) -> str:
    """Three decimals, or significant digits where decimals would run to many digits."""
    return f"{x:.3f}" if abs(x) < 1e6 else f"{x:.4g}"


def outcome_table(summary: dict[str, OutcomeSummary]) -> str:
    """A short plain-text table of the outcomes for the terminal: the estimate, its Monte Carlo interval
    and, with parameter uncertainty, the range over parameter draws."""
    uncertain = any(s.over_parameters is not None for s in summary.values())
    rows = [("outcome", "estimate", "95% interval (Monte Carlo)")
            + (("90% of parameter draws",) if uncertain else ()) + ("",)]
    for name, s in summary.items():
        if not s.is_value:
            interval = f"[{s.ci95[0]:.3f}, {s.ci95[1]:.3f}]"
            estimate = f"P = {s.probability:.3f}"
            note = ""
            if s.type == "first_hit":
                note = (f"median {s.date_quantiles['q50']} (step {s.step_quantiles['q50']:g})"
                        if s.date_quantiles is not None else "never happens")
        else:
            q = s.quantiles
            low, high = s.mean_ci95
            interval = ("n/a" if s.mean is None else "n/a (one run)" if low is None or low != low
                        else f"[{_number(low)}, {_number(high)}]")
            estimate = "no finite value" if s.mean is None else f"mean {_number(s.mean)}"
            note = "" if q is None else f"90% of runs in [{q['q05']:.3g}, {q['q95']:.3g}]"
            if s.missing:
                note += f" ({s.missing:,} runs without a number)"
        rows.append((name, estimate, interval) + ((_spread_cell(s),) if uncertain else ()) + (note,))
    columns = len(rows[0])
    widths = [max(len(r[c]) for r in rows) for c in range(columns)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths[:-1]))
    return "\n".join(lines)


def _cell(s: OutcomeSummary | None) -> str:
    if s is None:
        return "-"
    if not s.is_value:
        text = f"{s.probability:.3f} [{s.ci95[0]:.3f}, {s.ci95[1]:.3f}]"
    elif s.mean is None:
        text = "no finite value"
    else:
        low, high = s.mean_ci95
        text = f"{s.mean:.3g}" + ("" if low is None or low != low else f" [{low:.3g}, {high:.3g}]")
    spread = s.over_parameters
    return text + (f" draws {spread.range90[0]:.2g}..{spread.range90[1]:.2g}" if spread else "")


def side_by_side(summaries: dict[str, dict[str, OutcomeSummary]]) -> str:
    """One table for several scenarios: an outcome per row, a scenario per column (P or mean, and its 95%
    Monte Carlo interval; with parameter uncertainty, the range over 90% of the draws)."""
    names = list(summaries)
    outcomes = list(dict.fromkeys(o for s in summaries.values() for o in s))
    rows = [["outcome"] + names] + [[o] + [_cell(summaries[n].get(o)) for n in names] for o in outcomes]
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_p(p: float) -> str:
    """A p-value as people read it: "< 0.001" below that, else three significant digits."""
    if p != p:
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3g}"


def compare_timing(base: np.ndarray, other: np.ndarray, paired: bool, seed: int = 0,
                   resamples: int = 2000) -> Difference:
    """When a first-hit outcome happens, other against base: the difference of median steps (other - base)
    with a 95% percentile-bootstrap interval. Paired (common random numbers): the median of the per-run
    differences over the runs where it happens in both; unpaired: the difference of the two medians."""
    rng = np.random.default_rng(seed)
    if paired:
        both = happened(base) & happened(other)
        d = other[both] - base[both]
        if len(d) < 2:
            return Difference(float("nan"), (float("nan"),) * 2, "too few", n=int(len(d)))
        boot = np.median(d[rng.integers(0, len(d), (resamples, len(d)))], axis=1)
        low, high = (float(x) for x in np.quantile(boot, [0.025, 0.975]))
        return Difference(float(np.median(d)), (low, high), "median of paired differences (runs where it happens in "
                          "both)", n=int(len(d)))
    a, b = base[happened(base)], other[happened(other)]
    if min(len(a), len(b)) < 2:
        return Difference(float("nan"), (float("nan"),) * 2, "too few", n=int(min(len(a), len(b))))
    boot = (np.median(b[rng.integers(0, len(b), (resamples, len(b)))], axis=1)
            - np.median(a[rng.integers(0, len(a), (resamples, len(a)))], axis=1))
    low, high = (float(x) for x in np.quantile(boot, [0.025, 0.975]))
    return Difference(float(np.median(b) - np.median(a)), (low, high), "difference of medians (runs where it happens)",
                      n=int(min(len(a), len(b))))


def _t_interval(mean: float, se: float, df: float) -> tuple[float, float]:
    from scipy import stats

    if not np.isfinite(se) or se == 0 or df <= 0:
        return (mean, mean)
    half = stats.t.ppf(0.975, df) * se
    return (mean - half, mean + half)


def compare_proportions(base: np.ndarray, other: np.ndarray, paired: bool) -> Difference:
    """Difference other - base of two proportions (boolean arrays) with a 95% interval and p-value.

    Paired (common random numbers, replication k against replication k): the mean of the
    per-replication differences with a t interval, and McNemar's exact test on discordant pairs.
    Unpaired: Newcombe's hybrid score interval and a pooled two-proportion z-test.
    """
    from scipy import stats

    base, other = base.astype(bool), other.astype(bool)
    if len(base) == 0 or len(other) == 0:
        return Difference(float("nan"), (float("nan"),) * 2, "no replications", float("nan"))
    p1, p2 = base.mean(), other.mean()
    diff = float(p2 - p1)
    if paired:
        d = other.astype(float) - base.astype(float)
        low, high = _t_interval(diff, d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else float("nan"), len(d) - 1)
        low, high = max(low, -1.0), min(high, 1.0)  # a difference of proportions stays in [-1, 1]
        up, down = int(np.sum(d > 0)), int(np.sum(d < 0))
        p = stats.binomtest(up, up + down, 0.5).pvalue if up + down else 1.0
        return Difference(diff, (low, high), "paired (McNemar exact)", float(p))
    n1, n2 = len(base), len(other)
    l1, u1 = wilson_interval(int(base.sum()), n1)
    l2, u2 = wilson_interval(int(other.sum()), n2)
    low = diff - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = diff + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    pooled = (base.sum() + other.sum()) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = 2 * stats.norm.sf(abs(diff) / se) if se > 0 else 1.0
    return Difference(diff, (low, high), "unpaired (two-proportion z)", float(p))


def _t_p_value(diff: float, se: float, df: float) -> float:
    """Two-sided p-value of a t statistic diff / se (from the statistic itself: scipy's ttest functions warn
    about precision when the runs are nearly identical, which common random numbers make common)."""
    from scipy import stats

    if not se > 0:
        return 1.0 if diff == 0 else 0.0
    return float(2 * stats.t.sf(abs(diff / se), df))


def compare_means(base: np.ndarray, other: np.ndarray, paired: bool) -> Difference:
    """Difference other - base of two means: paired t (common random numbers) or Welch's t."""
    if min(len(base), len(other)) < 2:  # no variance to estimate: no interval, no test
        diff = float(other.mean() - base.mean()) if len(base) and len(other) else float("nan")
        return Difference(diff, (float("nan"),) * 2, "too few replications", float("nan"))
    diff = float(other.mean() - base.mean())
    if paired:
        d = other - base
        se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
        low, high = _t_interval(diff, se, len(d) - 1)
        p = _t_p_value(diff, se, len(d) - 1)
        return Difference(diff, (low, high), "paired t", p)
    v1, v2 = base.var(ddof=1) / len(base), other.var(ddof=1) / len(other)
    se = math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 ** 2 / (len(base) - 1) + v2 ** 2 / (len(other) - 1)) if se > 0 else 0
    low, high = _t_interval(diff, se, df)
    p = _t_p_value(diff, se, df)
    return Difference(diff, (low, high), "Welch t", p)
