//! Files in and out: experiment files and image lists ([`config`]), the
//! long-format Polars tables ([`tables`]) and the files written from them
//! ([`export`]: Parquet, `.npy` + JSON sidecars, atomic writes).

pub mod config;
pub mod export;
pub mod tables;
