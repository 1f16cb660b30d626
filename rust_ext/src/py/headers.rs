//! Header lookup in the raw header list of `Headers`, for `Headers.__getitem__`.
//!
//! There is no plain-Rust core: the work is walking a Python list, and the gain over
//! the Python loop is the interpreter overhead of that loop.

use std::borrow::Cow;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

/// Return the first value in `raw` whose name is `key`, decoded as Latin-1, or `None`.
///
/// The result is that of this Python loop, errors included:
///
/// ```python
/// name = key.lower().encode("latin-1")
/// for item_name, value in raw:
///     if item_name == name:
///         return value.decode("latin-1")
/// return None
/// ```
///
/// Pairs that are tuples of two `bytes`, as ASGI servers send them, are compared in
/// Rust. Other pairs go through the same Python operations as the loop.
#[pyfunction]
#[pyo3(signature = (raw, key, /))]
pub fn find_header<'py>(
    raw: &Bound<'py, PyAny>,
    key: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyString>>> {
    let py = raw.py();
    let ascii_name = ascii_header_name(key);
    let name = match &ascii_name {
        Some(ascii) => Cow::Borrowed(ascii.as_slice()),
        None => Cow::Owned(python_header_name(key)?),
    };
    // Only pairs that are not two-tuples of `bytes` need the name as a Python object.
    let mut python_name: Option<Bound<'py, PyBytes>> = None;

    for item in raw.try_iter()? {
        let item = item?;
        if let Ok(pair) = item.cast_exact::<PyTuple>() {
            if pair.len() == 2 {
                let item_name = pair.get_item(0)?;
                if let Ok(item_name) = item_name.cast_exact::<PyBytes>() {
                    if item_name.as_bytes() == name.as_ref() {
                        return decode_latin1(&pair.get_item(1)?).map(Some);
                    }
                    continue;
                }
            }
        }
        let (item_name, value) = unpack_pair(&item)?;
        let python_name = python_name.get_or_insert_with(|| PyBytes::new(py, &name));
        if item_name.eq(&*python_name)? {
            return decode_latin1(&value).map(Some);
        }
    }
    Ok(None)
}

/// Return the lowercased name of an ASCII `str` key, without calling into Python.
fn ascii_header_name(key: &Bound<'_, PyAny>) -> Option<Vec<u8>> {
    let text = key.cast_exact::<PyString>().ok()?.to_str().ok()?;
    text.is_ascii()
        .then(|| text.as_bytes().to_ascii_lowercase())
}

/// `key.lower().encode("latin-1")`, with the errors Python raises for other keys.
fn python_header_name(key: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let py = key.py();
    let lowered = key.call_method0(intern!(py, "lower"))?;
    let encoded = lowered.call_method1(intern!(py, "encode"), (intern!(py, "latin-1"),))?;
    Ok(encoded.cast_into::<PyBytes>()?.as_bytes().to_vec())
}

/// Unpack `item` into two values as `a, b = item` does, with its `ValueError`s.
fn unpack_pair<'py>(item: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let Ok(mut values) = item.try_iter() else {
        return Err(PyTypeError::new_err(format!(
            "cannot unpack non-iterable {} object",
            item.get_type().name()?
        )));
    };
    let first = values.next().transpose()?;
    let second = values.next().transpose()?;
    match (first, second) {
        (Some(first), Some(second)) => {
            if values.next().transpose()?.is_some() {
                return Err(PyValueError::new_err(
                    "too many values to unpack (expected 2)",
                ));
            }
            Ok((first, second))
        }
        (first, _) => Err(PyValueError::new_err(format!(
            "not enough values to unpack (expected 2, got {})",
            usize::from(first.is_some())
        ))),
    }
}

/// `value.decode("latin-1")`, computed in Rust for `bytes`.
fn decode_latin1<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
    let py = value.py();
    if let Ok(bytes) = value.cast_exact::<PyBytes>() {
        let bytes = bytes.as_bytes();
        if let Ok(ascii) = std::str::from_utf8(bytes) {
            if bytes.is_ascii() {
                return Ok(PyString::new(py, ascii));
            }
        }
        let text: String = bytes.iter().map(|&byte| char::from(byte)).collect();
        return Ok(PyString::new(py, &text));
    }
    Ok(value
        .call_method1(intern!(py, "decode"), (intern!(py, "latin-1"),))?
        .cast_into::<PyString>()?)
}
