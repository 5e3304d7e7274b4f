//! Files in and out: image lists ([`sources`]: the one grammar of image
//! specs), experiment files ([`config`]), the long-format Polars tables
//! ([`tables`]) and the files written from them ([`export`]: Parquet, `.npy`
//! + JSON sidecars, atomic writes).

pub mod config;
pub mod export;
pub mod sources;
pub mod tables;
