//! The Python face of [`crate::header_params`].

use std::borrow::Cow;

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use super::cookies::{text_from_utf8, utf8_with_surrogates};
use crate::header_params;

/// Parse a header value such as `Content-Type` into its lowercased main value and
/// its parameters, as python-multipart's `parse_options_header` does.
///
/// `bytes` is read as Latin-1. A false value, such as `None` or `""`, gives
/// `(b"", {})`. The results are Latin-1 bytes, so a `str` whose result keeps a
/// character beyond U+00FF raises the `UnicodeEncodeError` of `str.encode("latin-1")`.
#[pyfunction]
#[pyo3(signature = (value, /))]
pub fn parse_header_params<'py>(
    value: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyDict>)> {
    let py = value.py();
    if !value.is_truthy()? {
        return Ok((PyBytes::new(py, b""), PyDict::new(py)));
    }
    let header: Cow<'_, [u8]> = if let Ok(bytes) = value.cast::<PyBytes>() {
        latin1_to_utf8(bytes.as_bytes())
    } else if let Ok(text) = value.cast::<PyString>() {
        utf8_with_surrogates(text)?
    } else {
        return Err(PyTypeError::new_err(format!(
            "header value must be str, bytes or None, not {}",
            value.get_type().name()?
        )));
    };

    let parsed = header_params::parse_header_params(&header);
    // Encoded in the order Python encodes them, so that the same piece fails first:
    // `options[key.encode()] = value.encode()` evaluates the value before the key.
    let params = PyDict::new(py);
    for (name, param) in &parsed.params {
        let param = latin1_bytes(py, param)?;
        params.set_item(latin1_bytes(py, name)?, param)?;
    }
    Ok((latin1_bytes(py, &parsed.value)?, params))
}

fn latin1_to_utf8(bytes: &[u8]) -> Cow<'_, [u8]> {
    if bytes.is_ascii() {
        return Cow::Borrowed(bytes);
    }
    let text: String = bytes.iter().map(|&byte| char::from(byte)).collect();
    Cow::Owned(text.into_bytes())
}

/// Encode a piece of the result as Latin-1.
fn latin1_bytes<'py>(py: Python<'py>, piece: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    if piece.is_ascii() {
        return Ok(PyBytes::new(py, piece));
    }
    if let Ok(text) = std::str::from_utf8(piece) {
        let latin1: Option<Vec<u8>> = text
            .chars()
            .map(|character| u8::try_from(character).ok())
            .collect();
        if let Some(latin1) = latin1 {
            return Ok(PyBytes::new(py, &latin1));
        }
    }
    // A character beyond U+00FF or a surrogate: Python's codec raises its own error.
    let text = text_from_utf8(py, piece)?;
    Ok(text
        .call_method1(intern!(py, "encode"), (intern!(py, "latin-1"),))?
        .cast_into::<PyBytes>()?)
}
