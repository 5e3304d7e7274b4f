//! Tests and intervals over the rows of Polars tables: one row per image
//! (the trial) and group.
//!
//! Every function takes a table in long format, the `by` columns that name a
//! group (e.g. `["tap"]`, `["tap", "unit"]`, `["tap", "component"]`) and the
//! `value` column; the rows of one group are its images. Out: one row per
//! group, in the order of the groups' first rows, with the `by` columns and:
//!
//! - [`intervals`]: `n`, `mean`, `sd`, `se`, `ci_low`, `ci_high`
//!   (t-interval, [`super::inference::interval`]);
//! - [`one_sample_tests`], [`paired_tests`], [`two_sample_tests`]: `n`,
//!   (`mean_a`, `mean_b` for comparisons), `effect`, `se`, `ci_low`,
//!   `ci_high`, `t`, `df`, `p_t`, `p_perm`, `exact`, `permutations`, and the
//!   Benjamini–Hochberg columns over all rows of the table: `q_t`, `q_perm`,
//!   `discovery` (`q_perm ≤ fdr`, or `q_t ≤ fdr` where no permutation p was
//!   computed). To correct within families (e.g. per tap), filter first and
//!   call once per family, or recompute with [`with_fdr`].
//!
//! Works on the tables of [`crate::tables`] (e.g. `scores` by
//! `["tap", "unit"]`), on [`super::AcrossImages`]' per-image tables, and on a
//! notebook's own aggregates.

use polars::prelude::*;

use super::columns::{column, floats, groups, key_columns};
use super::fdr::benjamini_hochberg;
use super::inference::{interval, one_sample, paired, two_sample, Test, TestOptions};
use crate::error::{Error, Result};

fn pl(e: PolarsError) -> Error {
    Error::Data(format!("statistics table: {e}"))
}

fn f64_col(name: &str, v: Vec<f64>) -> Column {
    Column::new(name.into(), v)
}

/// Mean and t-interval at `level` of `value` per group of `by` (see the module doc).
pub fn intervals(df: &DataFrame, by: &[&str], value: &str, level: f64) -> Result<DataFrame> {
    let x = floats(df, value)?;
    let (first, rows) = groups(df, by)?;
    let ivs = rows
        .iter()
        .map(|r| interval(&r.iter().map(|&i| x[i]).collect::<Vec<_>>(), level))
        .collect::<Result<Vec<_>>>()?;
    let mut cols = key_columns(df, by, &first)?;
    cols.push(Column::new("n".into(), ivs.iter().map(|i| i.n as u32).collect::<Vec<_>>()));
    cols.push(f64_col("mean", ivs.iter().map(|i| i.mean).collect()));
    cols.push(f64_col("sd", ivs.iter().map(|i| i.sd).collect()));
    cols.push(f64_col("se", ivs.iter().map(|i| i.se).collect()));
    cols.push(f64_col("ci_low", ivs.iter().map(|i| i.low).collect()));
    cols.push(f64_col("ci_high", ivs.iter().map(|i| i.high).collect()));
    DataFrame::new(first.len(), cols).map_err(pl)
}

/// The test columns (and BH columns) of `tests`, appended to `cols`.
fn test_frame(mut cols: Vec<Column>, tests: &[Test], fdr: f64) -> Result<DataFrame> {
    let p_t: Vec<f64> = tests.iter().map(|t| t.p_t).collect();
    let p_perm: Vec<f64> = tests.iter().map(|t| t.p_perm).collect();
    let (q_t, q_perm) = (benjamini_hochberg(&p_t), benjamini_hochberg(&p_perm));
    let discovery: Vec<bool> =
        q_perm.iter().zip(&q_t).map(|(qp, qt)| if qp.is_nan() { *qt <= fdr } else { *qp <= fdr }).collect();
    cols.push(Column::new("n".into(), tests.iter().map(|t| t.n as u32).collect::<Vec<_>>()));
    cols.push(f64_col("effect", tests.iter().map(|t| t.effect).collect()));
    cols.push(f64_col("se", tests.iter().map(|t| t.se).collect()));
    cols.push(f64_col("ci_low", tests.iter().map(|t| t.low).collect()));
    cols.push(f64_col("ci_high", tests.iter().map(|t| t.high).collect()));
    cols.push(f64_col("t", tests.iter().map(|t| t.t).collect()));
    cols.push(f64_col("df", tests.iter().map(|t| t.df).collect()));
    cols.push(f64_col("p_t", p_t));
    cols.push(f64_col("p_perm", p_perm));
    cols.push(Column::new("exact".into(), tests.iter().map(|t| t.exact).collect::<Vec<_>>()));
    cols.push(Column::new("permutations".into(), tests.iter().map(|t| t.permutations).collect::<Vec<_>>()));
    cols.push(f64_col("q_t", q_t));
    cols.push(f64_col("q_perm", q_perm));
    cols.push(Column::new("discovery".into(), discovery));
    let height = tests.len();
    DataFrame::new(height, cols).map_err(pl)
}

/// One-sample tests of H₀: mean of `value` = `mu0` per group of `by` (the
/// rows of a group are its images), with BH over all groups.
pub fn one_sample_tests(df: &DataFrame, by: &[&str], value: &str, mu0: f64, opts: &TestOptions) -> Result<DataFrame> {
    let x = floats(df, value)?;
    let (first, rows) = groups(df, by)?;
    let tests = rows
        .iter()
        .map(|r| one_sample(&r.iter().map(|&i| x[i]).collect::<Vec<_>>(), mu0, opts))
        .collect::<Result<Vec<_>>>()?;
    test_frame(key_columns(df, by, &first)?, &tests, opts.fdr)
}

/// Per row of `df`, the text of its `cols` values joined (a hashable key).
fn row_keys(df: &DataFrame, cols: &[&str]) -> Result<Vec<String>> {
    let keys = cols.iter().map(|c| super::columns::keys(df, c)).collect::<Result<Vec<_>>>()?;
    Ok((0..df.height()).map(|r| keys.iter().map(|k| k[r].as_str()).collect::<Vec<_>>().join("\u{1f}")).collect())
}

/// The groups of `a` (first rows, rows) and, for each, the rows of `b` in
/// the group with the same `by` values (an error names a missing group).
fn aligned_groups(a: &DataFrame, b: &DataFrame, by: &[&str], what: &str) -> Result<GroupsOfTwo> {
    let (first, rows_a) = groups(a, by)?;
    let (first_b, rows_b) = groups(b, by)?;
    let (ka, kb) = (row_keys(a, by)?, row_keys(b, by)?);
    let index: std::collections::HashMap<&str, usize> =
        first_b.iter().enumerate().map(|(g, &r)| (kb[r].as_str(), g)).collect();
    let mut pairs = Vec::with_capacity(rows_a.len());
    for rows in rows_a {
        let k = &ka[rows[0]];
        let g = index.get(k.as_str()).ok_or_else(|| {
            Error::Data(format!(
                "{what}: group ({}) of the first table is not in the second",
                k.replace('\u{1f}', ", ")
            ))
        })?;
        pairs.push((rows, rows_b[*g].clone()));
    }
    Ok((first, pairs))
}

/// First rows of `a`'s groups, and per group (rows in `a`, rows in `b`).
type GroupsOfTwo = (Vec<usize>, Vec<(Vec<usize>, Vec<usize>)>);

/// One group's values in table a and the matched values in table b.
type Pair = (Vec<f64>, Vec<f64>);

/// Values of `value` in `b` matched to the rows of `a`, group by group:
/// by the `pair_on` column when given, else by position within the group.
fn matched(
    a: &DataFrame,
    b: &DataFrame,
    by: &[&str],
    value: &str,
    pair_on: Option<&str>,
) -> Result<(Vec<usize>, Vec<Pair>)> {
    let (xa, xb) = (floats(a, value)?, floats(b, value)?);
    let (first, groups) = aligned_groups(a, b, by, "paired test")?;
    let pair_keys = match pair_on {
        Some(p) => Some((row_keys(a, &[p])?, row_keys(b, &[p])?)),
        None => None,
    };
    let mut out = Vec::with_capacity(groups.len());
    for (rows_a, rows_b) in &groups {
        let vb: Vec<f64> = match &pair_keys {
            Some((pa, pb)) => {
                let index: std::collections::HashMap<&str, usize> =
                    rows_b.iter().map(|&s| (pb[s].as_str(), s)).collect();
                rows_a
                    .iter()
                    .map(|&r| {
                        index.get(pa[r].as_str()).map(|&s| xb[s]).ok_or_else(|| {
                            Error::Data(format!(
                                "paired test: no row in the second table pairs with '{}' of the first",
                                pa[r]
                            ))
                        })
                    })
                    .collect::<Result<_>>()?
            }
            None => {
                if rows_a.len() != rows_b.len() {
                    return Err(Error::Data(format!(
                        "paired test: a group has {} rows (images) in the first table and {} in the second",
                        rows_a.len(),
                        rows_b.len()
                    )));
                }
                rows_b.iter().map(|&s| xb[s]).collect()
            }
        };
        out.push((rows_a.iter().map(|&r| xa[r]).collect(), vb));
    }
    Ok((first, out))
}

fn mean_of(v: &[f64]) -> f64 {
    crate::stats::mean_finite(v.iter().copied())
}

/// Paired tests of `value` in table `a` against table `b` over the same
/// images (e.g. aligned against misaligned faces; one design against
/// another), per group of `by`, with BH over all groups. Rows are matched
/// on the `by` columns and `pair_on` (e.g. an image index column), or, with
/// `pair_on = None`, by their order within the group (the k-th image of `a`
/// with the k-th of `b`: tables of two runs over the same image list).
/// Effect: mean of a − b; `mean_a`, `mean_b` are the conditions' means over
/// the pairs used.
pub fn paired_tests(
    a: &DataFrame,
    b: &DataFrame,
    by: &[&str],
    value: &str,
    pair_on: Option<&str>,
    opts: &TestOptions,
) -> Result<DataFrame> {
    let (first, pairs) = matched(a, b, by, value, pair_on)?;
    let tests = pairs.iter().map(|(x, y)| paired(x, y, opts)).collect::<Result<Vec<_>>>()?;
    let mut cols = key_columns(a, by, &first)?;
    let used = |x: &[f64], y: &[f64], pick_a: bool| -> f64 {
        mean_of(
            &x.iter()
                .zip(y)
                .filter(|(p, q)| p.is_finite() && q.is_finite())
                .map(|(p, q)| if pick_a { *p } else { *q })
                .collect::<Vec<_>>(),
        )
    };
    cols.push(f64_col("mean_a", pairs.iter().map(|(x, y)| used(x, y, true)).collect()));
    cols.push(f64_col("mean_b", pairs.iter().map(|(x, y)| used(x, y, false)).collect()));
    test_frame(cols, &tests, opts.fdr)
}

/// Two-sample tests (Welch's t and the exact or Monte Carlo relabelling
/// test) of `value` in table `a` against table `b` — independent sets of
/// images, e.g. faces against non-faces — per group of `by` (groups of `a`;
/// a group missing from `b` is an error), with BH over all groups.
pub fn two_sample_tests(
    a: &DataFrame,
    b: &DataFrame,
    by: &[&str],
    value: &str,
    opts: &TestOptions,
) -> Result<DataFrame> {
    let (xa, xb) = (floats(a, value)?, floats(b, value)?);
    let (first, groups) = aligned_groups(a, b, by, "two-sample test")?;
    let mut tests = Vec::with_capacity(groups.len());
    let (mut mean_a, mut mean_b) = (vec![], vec![]);
    for (rows_a, rows_b) in &groups {
        let va: Vec<f64> = rows_a.iter().map(|&r| xa[r]).collect();
        let vb: Vec<f64> = rows_b.iter().map(|&r| xb[r]).collect();
        mean_a.push(mean_of(&va));
        mean_b.push(mean_of(&vb));
        tests.push(two_sample(&va, &vb, opts)?);
    }
    let mut cols = key_columns(a, by, &first)?;
    cols.push(f64_col("mean_a", mean_a));
    cols.push(f64_col("mean_b", mean_b));
    test_frame(cols, &tests, opts.fdr)
}

/// `df` with Benjamini–Hochberg q-values of its column `p` as `q_<p>` and
/// the discoveries at `fdr` as `discovery_<p>` (for a family chosen after
/// the tests, e.g. one tap's components).
pub fn with_fdr(df: &DataFrame, p: &str, fdr: f64) -> Result<DataFrame> {
    let q = benjamini_hochberg(&floats(df, p)?);
    let disc: Vec<bool> = q.iter().map(|q| *q <= fdr).collect();
    let mut cols: Vec<Column> = df.columns().to_vec();
    cols.retain(|c| c.name().as_str() != format!("q_{p}") && c.name().as_str() != format!("discovery_{p}"));
    cols.push(f64_col(&format!("q_{p}"), q));
    cols.push(Column::new(format!("discovery_{p}").into(), disc));
    column(df, p)?;
    DataFrame::new(df.height(), cols).map_err(pl)
}
