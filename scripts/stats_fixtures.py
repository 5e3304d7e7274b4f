#!/usr/bin/env python3
"""Record SciPy's numbers for freqtag's statistics (tests/stats.rs).

Run once, when the tests or SciPy change:

    python3 -m venv /tmp/scipyenv && /tmp/scipyenv/bin/pip install scipy numpy
    /tmp/scipyenv/bin/python scripts/stats_fixtures.py > tests/fixtures/stats_scipy.json

CI does not need SciPy: the JSON is committed. The inputs are written out in
full so that the Rust test reads them from the fixture, not from a copy.
"""

import json
import math
import sys

import numpy as np
import scipy
from scipy import stats


def clean(v):
    v = float(v)
    return None if math.isnan(v) else v


def abs_mean(x, axis=-1):
    return np.abs(np.mean(x, axis=axis))


def abs_mean_diff(a, b, axis=-1):
    return np.abs(np.mean(a, axis=axis) - np.mean(b, axis=axis))


def one_sample_case(name, x, mu0):
    x = np.asarray(x, dtype=float)
    r = stats.ttest_1samp(x, mu0)
    ci = r.confidence_interval(0.95)
    # sign flips of x − μ0, every pattern (n_resamples=inf), two-sided as
    # P(|Σ ±y| ≥ |Σ y|) = the 'greater' tail of |mean|
    perm = stats.permutation_test(
        (x - mu0,), abs_mean, permutation_type="samples", n_resamples=np.inf, alternative="greater"
    )
    return {
        "name": name,
        "x": x.tolist(),
        "mu0": mu0,
        "t": clean(r.statistic),
        "df": clean(r.df),
        "p_t": clean(r.pvalue),
        "ci_low": clean(ci.low + 0.0) - mu0,
        "ci_high": clean(ci.high + 0.0) - mu0,
        "p_perm": clean(perm.pvalue),
    }


def one_sided_case(name, x, mu0, alternative):
    """ttest_1samp and the sign-flip test of the signed mean, one-sided."""
    x = np.asarray(x, dtype=float)
    r = stats.ttest_1samp(x, mu0, alternative=alternative)
    perm = stats.permutation_test(
        (x - mu0,),
        lambda y, axis=-1: np.mean(y, axis=axis),
        permutation_type="samples",
        n_resamples=np.inf,
        alternative=alternative,
    )
    return {
        "name": name,
        "x": x.tolist(),
        "mu0": mu0,
        "alternative": alternative,
        "t": clean(r.statistic),
        "df": clean(r.df),
        "p_t": clean(r.pvalue),
        "p_perm": clean(perm.pvalue),
    }


def two_sample_case(name, a, b, paired):
    """ttest_rel (paired) or Welch's ttest_ind, with the exact permutation test
    of |mean difference|: sign flips within pairs, or relabelling of the sets."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    r = stats.ttest_rel(a, b) if paired else stats.ttest_ind(a, b, equal_var=False)
    ci = r.confidence_interval(0.95)
    perm = stats.permutation_test(
        (a, b),
        abs_mean_diff,
        permutation_type="samples" if paired else "independent",
        n_resamples=np.inf,
        alternative="greater",
    )
    return {
        "name": name,
        "a": a.tolist(),
        "b": b.tolist(),
        "t": clean(r.statistic),
        "df": clean(r.df),
        "p_t": clean(r.pvalue),
        "ci_low": clean(ci.low),
        "ci_high": clean(ci.high),
        "p_perm": clean(perm.pvalue),
    }


def main():
    rng = np.random.default_rng(20261201)
    out = {
        "generator": "scripts/stats_fixtures.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "t_distribution": [],
        "one_sample": [],
        "paired": [],
        "welch": [],
        "bh": [],
        "one_sided": [],
    }
    for df in [1.0, 2.0, 3.5, 9.0, 29.0, 200.0]:
        for t in [-4.0, -1.3, 0.0, 0.7, 2.1, 6.0]:
            out["t_distribution"].append({"t": t, "df": df, "cdf": float(stats.t.cdf(t, df))})
        for p in [0.001, 0.025, 0.3, 0.975, 0.999]:
            out["t_distribution"].append({"p": p, "df": df, "quantile": float(stats.t.ppf(p, df))})
    out["one_sample"].append(one_sample_case("hand", [1, 2, 3, 4, 5], 2.0))
    out["one_sample"].append(one_sample_case("bca n=10", rng.normal(0.3, 1.0, 10).round(6), 0.0))
    out["one_sample"].append(one_sample_case("snr n=12 vs 1", rng.gamma(4.0, 0.3, 12).round(6), 1.0))
    out["one_sample"].append(one_sample_case("null n=15", rng.normal(0.0, 2.0, 15).round(6), 0.0))
    out["paired"].append(two_sample_case("aligned vs misaligned n=10", rng.normal(0.6, 0.03, 10).round(6), rng.normal(0.57, 0.03, 10).round(6), True))
    out["paired"].append(two_sample_case("n=8", rng.normal(1.0, 1.0, 8).round(6), rng.normal(0.9, 1.0, 8).round(6), True))
    out["welch"].append(two_sample_case("faces vs non-faces 10/10", rng.normal(0.6, 0.04, 10).round(6), rng.normal(0.55, 0.06, 10).round(6), False))
    out["welch"].append(two_sample_case("unequal 6/9", rng.normal(2.0, 1.0, 6).round(6), rng.normal(1.0, 2.0, 9).round(6), False))
    out["one_sided"].append(one_sided_case("bca greater n=10", rng.normal(0.2, 1.0, 10).round(6), 0.0, "greater"))
    out["one_sided"].append(one_sided_case("snr greater n=9 vs 1", rng.gamma(5.0, 0.25, 9).round(6), 1.0, "greater"))
    out["one_sided"].append(one_sided_case("less n=11", rng.normal(-0.3, 1.0, 11).round(6), 0.0, "less"))
    for m in [5, 40]:
        p = np.concatenate([rng.uniform(0, 0.01, m // 5), rng.uniform(0, 1, m - m // 5)]).round(8)
        q = stats.false_discovery_control(p, method="bh")
        out["bh"].append({"p": p.tolist(), "q": q.tolist()})
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
