//! The compiled half of rustlette: hot paths of a Starlette-compatible framework.
//!
//! Each top-level module is a plain-Rust core that `cargo test` covers without
//! Python; [`py`] contains the thin PyO3 wrappers. Python code imports
//! `rustlette._rust`; users import `rustlette.*` and never this module directly.

pub mod cookies;
pub mod header_params;
pub mod json;
pub mod multipart;
pub mod query;
pub mod router;
pub mod urlencoded;

mod py;

use pyo3::prelude::*;

/// The `rustlette._rust` extension module.
#[pymodule]
fn _rust(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_function(wrap_pyfunction!(py::cookies::parse_cookie_header, module)?)?;
    module.add_function(wrap_pyfunction!(py::header_params::parse_header_params, module)?)?;
    module.add_function(wrap_pyfunction!(py::headers::find_header, module)?)?;
    module.add_function(wrap_pyfunction!(py::json::encode_json, module)?)?;
    module.add_function(wrap_pyfunction!(py::query::parse_query_string, module)?)?;
    module.add_class::<py::multipart::MultipartReader>()?;
    module.add(
        "MultipartParseError",
        module.py().get_type::<py::multipart::MultipartParseError>(),
    )?;
    module.add_class::<py::router::RouteTable>()?;
    module.add_class::<py::urlencoded::UrlencodedParser>()?;
    Ok(())
}
