//! The Python face of [`crate::cookies`].

use std::borrow::Cow;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::cookies;

/// Parse a `Cookie` header into a dict as Starlette's `cookie_parser` does.
///
/// A name that repeats keeps its first position and its last value. Text with lone
/// surrogates parses too, and they come through unchanged.
#[pyfunction]
#[pyo3(signature = (cookie_string, /))]
pub fn parse_cookie_header<'py>(
    cookie_string: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyDict>> {
    let py = cookie_string.py();
    let header = utf8_with_surrogates(cookie_string)?;
    let parsed = PyDict::new(py);
    for (name, value) in cookies::parse_cookie_header(&header) {
        parsed.set_item(text_from_utf8(py, name)?, text_from_utf8(py, &value)?)?;
    }
    Ok(parsed)
}

/// The UTF-8 encoding of `text`, with lone surrogates encoded as Python's
/// `surrogatepass` error handler encodes them.
pub(crate) fn utf8_with_surrogates<'a>(text: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(valid) = text.to_str() {
        return Ok(Cow::Borrowed(valid.as_bytes()));
    }
    let py = text.py();
    let encoded = text.call_method1(
        intern!(py, "encode"),
        (intern!(py, "utf-8"), intern!(py, "surrogatepass")),
    )?;
    Ok(Cow::Owned(encoded.cast::<PyBytes>()?.as_bytes().to_vec()))
}

/// Build a `str` from the output of [`utf8_with_surrogates`] or of a core parser that
/// keeps its encoding.
pub(crate) fn text_from_utf8<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    if let Ok(valid) = std::str::from_utf8(bytes) {
        return Ok(PyString::new(py, valid));
    }
    let decoded = PyBytes::new(py, bytes).call_method1(
        intern!(py, "decode"),
        (intern!(py, "utf-8"), intern!(py, "surrogatepass")),
    )?;
    Ok(decoded.cast_into::<PyString>()?)
}
