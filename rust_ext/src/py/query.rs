//! The Python face of [`crate::query`].

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::query::{self, Encoding};

/// Parse a query string the way Starlette's `QueryParams` does.
///
/// `bytes` is read as Latin-1, as ASGI servers deliver `scope["query_string"]`;
/// `str` keeps its non-ASCII characters. A `str` with lone surrogates cannot be
/// encoded as UTF-8 and raises `UnicodeEncodeError`.
#[pyfunction]
#[pyo3(signature = (query, /))]
pub fn parse_query_string(query: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    if let Ok(bytes) = query.cast::<PyBytes>() {
        return Ok(query::parse_query_string(bytes.as_bytes(), Encoding::Latin1));
    }
    if let Ok(text) = query.cast::<PyString>() {
        let text = text.to_str()?;
        return Ok(query::parse_query_string(text.as_bytes(), Encoding::Utf8));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "query string must be str or bytes, not {}",
        query.get_type().name()?
    )))
}
