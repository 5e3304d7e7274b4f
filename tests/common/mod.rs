//! Shared helpers for the integration tests.
//!
//! Each integration test crate that needs them declares `mod common;`.

pub mod onnx_models;
