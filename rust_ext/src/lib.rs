//! The compiled half of rustlette: hot paths of a Starlette-compatible framework.
//!
//! Each module holds a plain-Rust core that `cargo test` covers without Python,
//! and a thin PyO3 wrapper in [`bindings`]. Python code imports
//! `rustlette._rust`; users import `rustlette.*` and never this module directly.

pub mod query;

mod bindings;

use pyo3::prelude::*;

/// The `rustlette._rust` extension module.
#[pymodule]
fn _rust(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_function(wrap_pyfunction!(bindings::parse_query_string, module)?)?;
    Ok(())
}
