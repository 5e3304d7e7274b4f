//! Reading columns of Polars tables by name, without the table's hashed
//! schema (safe on frames made in an earlier evcxr notebook cell, whose
//! schema was hashed with another copy of Polars' seed; see
//! [`crate::notebook::fresh`]).

use polars::prelude::*;

use crate::error::{Error, Result};

/// The column `name` of `df`, found by comparing names.
pub fn column<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Column> {
    df.columns().iter().find(|c| c.name().as_str() == name).ok_or_else(|| {
        let names: Vec<&str> = df.columns().iter().map(|c| c.name().as_str()).collect();
        Error::Data(format!("no column '{name}' in a table with columns {}", names.join(", ")))
    })
}

/// A numeric column as `f64` values, nulls as NaN (see [`column`]).
pub fn floats(df: &DataFrame, name: &str) -> Result<Vec<f64>> {
    let c = column(df, name)?.cast(&DataType::Float64).map_err(|e| Error::Data(format!("column '{name}': {e}")))?;
    let ca = c.f64().map_err(|e| Error::Data(format!("column '{name}': {e}")))?;
    Ok(ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// A text column (string or categorical) as owned strings, nulls as ""
/// (see [`column`]).
pub fn strings(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    keys(df, name)
}

/// The numeric column `name` of the rows whose column `key` holds `value`
/// (as text), in row order, nulls as NaN (see [`floats`]).
pub fn floats_where(df: &DataFrame, key: &str, value: &str, name: &str) -> Result<Vec<f64>> {
    let keys = keys(df, key)?;
    Ok(floats(df, name)?.into_iter().zip(keys).filter(|(_, k)| k == value).map(|(v, _)| v).collect())
}

/// The mean of the float column `name` over its non-NaN values, named
/// `name`, as a Polars expression for `agg`/`select`: a unit with no AC
/// response has no IM share or integration index (NaN), which a plain
/// `mean` would spread to the whole group.
pub fn nan_mean(name: &str) -> Expr {
    col(name).filter(col(name).is_not_nan()).mean().alias(name)
}

/// Any column as text (numbers formatted, nulls as ""), for grouping keys.
pub(crate) fn keys(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let c = column(df, name)?;
    let text = c.cast(&DataType::String).map_err(|e| Error::Data(format!("column '{name}' as text: {e}")))?;
    let ca = text.str().map_err(|e| Error::Data(format!("column '{name}': {e}")))?;
    Ok(ca.iter().map(|v| v.unwrap_or("").to_string()).collect())
}

/// Rows of `df` grouped by the values of the `by` columns, groups in the
/// order of their first row: (first row of each group, rows of each group).
pub(crate) fn groups(df: &DataFrame, by: &[&str]) -> Result<(Vec<usize>, Vec<Vec<usize>>)> {
    let cols = by.iter().map(|b| keys(df, b)).collect::<Result<Vec<_>>>()?;
    let mut index: std::collections::HashMap<Vec<&str>, usize> = std::collections::HashMap::new();
    let (mut first, mut rows): (Vec<usize>, Vec<Vec<usize>>) = (vec![], vec![]);
    for r in 0..df.height() {
        let key: Vec<&str> = cols.iter().map(|c| c[r].as_str()).collect();
        let g = *index.entry(key).or_insert_with(|| {
            first.push(r);
            rows.push(vec![]);
            rows.len() - 1
        });
        rows[g].push(r);
    }
    Ok((first, rows))
}

/// The `by` columns of `df` at `rows` (one row per group), keeping their types.
pub(crate) fn key_columns(df: &DataFrame, by: &[&str], rows: &[usize]) -> Result<Vec<Column>> {
    let idx = IdxCa::from_vec("idx".into(), rows.iter().map(|&r| r as IdxSize).collect());
    by.iter().map(|b| column(df, b)?.take(&idx).map_err(|e| Error::Data(format!("column '{b}': {e}")))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        df!(
            "set" => ["a", "b", "a", "a", "b"],
            "x" => [1.0, 10.0, f64::NAN, 3.0, 20.0],
        )
        .unwrap()
    }

    #[test]
    fn floats_where_keeps_the_rows_of_one_key_in_order() {
        let v = floats_where(&frame(), "set", "b", "x").unwrap();
        assert_eq!(v, vec![10.0, 20.0]);
        assert_eq!(floats_where(&frame(), "set", "c", "x").unwrap(), Vec::<f64>::new());
        assert!(floats_where(&frame(), "nope", "a", "x").unwrap_err().to_string().contains("no column 'nope'"));
    }

    #[test]
    fn nan_mean_leaves_nans_out_of_each_group() {
        let out = frame().lazy().group_by_stable([col("set")]).agg([nan_mean("x")]).collect().unwrap();
        // group a: (1 + 3) / 2, the NaN left out (a plain mean gives NaN)
        assert_eq!(floats(&out, "x").unwrap(), vec![2.0, 15.0]);
    }
}
