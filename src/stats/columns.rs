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

/// A string column as owned strings, nulls as "" (see [`column`]).
pub fn strings(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let c = column(df, name)?;
    let ca = c.str().map_err(|e| Error::Data(format!("column '{name}': {e}")))?;
    Ok(ca.iter().map(|v| v.unwrap_or("").to_string()).collect())
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
