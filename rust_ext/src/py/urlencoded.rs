//! The Python face of [`crate::urlencoded`].

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyFloat, PyInt, PyList};

use crate::urlencoded::{self, Limits, UrlencodedError};

/// A streaming parser for one `application/x-www-form-urlencoded` body, fed chunk
/// by chunk as Starlette's `FormParser` feeds its body to python-multipart.
///
/// `max_fields` and `max_part_size` are `FormParser`'s limits, an `int` or a
/// `float` such as `math.inf`. Exceeding one raises
/// `rustlette.formparsers.MultiPartException` with Starlette's message.
#[pyclass(name = "UrlencodedParser", module = "rustlette._rust")]
pub struct UrlencodedParser {
    /// `None` once `finish` has returned.
    parser: Option<urlencoded::UrlencodedParser>,
    max_fields: Py<PyAny>,
    max_part_size: Py<PyAny>,
}

#[pymethods]
impl UrlencodedParser {
    #[new]
    #[pyo3(signature = (max_fields, max_part_size, /))]
    fn new(max_fields: &Bound<'_, PyAny>, max_part_size: &Bound<'_, PyAny>) -> PyResult<Self> {
        let limits = Limits {
            max_fields: count_threshold(max_fields, "max_fields")?,
            max_field_size: count_threshold(max_part_size, "max_part_size")?,
        };
        Ok(Self {
            parser: Some(urlencoded::UrlencodedParser::new(limits)),
            max_fields: max_fields.clone().unbind(),
            max_part_size: max_part_size.clone().unbind(),
        })
    }

    /// Parse the next chunk of the body, a `bytes` or `bytearray`.
    #[pyo3(signature = (chunk, /))]
    fn feed(&mut self, chunk: &Bound<'_, PyAny>) -> PyResult<()> {
        let parser = self.parser.as_mut().ok_or_else(finished_error)?;
        let result = if let Ok(bytes) = chunk.cast::<PyBytes>() {
            parser.feed(bytes.as_bytes())
        } else if let Ok(array) = chunk.cast::<PyByteArray>() {
            parser.feed(&array.to_vec())
        } else {
            return Err(PyTypeError::new_err(format!(
                "chunk must be bytes or bytearray, not {}",
                chunk.get_type().name()?
            )));
        };
        result.map_err(|error| self.limit_error(chunk.py(), error))
    }

    /// End the body and return its fields as `(name, value)` pairs, in order.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let parser = self.parser.take().ok_or_else(finished_error)?;
        let fields = parser
            .finish()
            .map_err(|error| self.limit_error(py, error))?;
        PyList::new(py, fields)
    }
}

impl UrlencodedParser {
    /// Build the `MultiPartException` that Starlette raises for `error`, with the
    /// limit formatted from the Python object the caller passed.
    fn limit_error(&self, py: Python<'_>, error: UrlencodedError) -> PyErr {
        let exception = self
            .limit_message(py, error)
            .and_then(|message| multipart_exception(py, message));
        match exception {
            Ok(exception) | Err(exception) => exception,
        }
    }

    fn limit_message(&self, py: Python<'_>, error: UrlencodedError) -> PyResult<String> {
        Ok(match error {
            UrlencodedError::TooManyFields { .. } => format!(
                "Too many fields. Maximum number of fields is {}.",
                self.max_fields.bind(py).str()?
            ),
            UrlencodedError::FieldTooLarge { .. } => {
                let kilobytes = self.max_part_size.bind(py).div(1024)?;
                let kilobytes = py.get_type::<PyInt>().call1((kilobytes,))?;
                format!("Field exceeded maximum size of {kilobytes}KB.")
            }
        })
    }
}

/// `rustlette.formparsers.MultiPartException(message)`, looked up when raised so
/// that the class is the module's current one.
fn multipart_exception(py: Python<'_>, message: String) -> PyResult<PyErr> {
    let class = py
        .import(intern!(py, "rustlette.formparsers"))?
        .getattr(intern!(py, "MultiPartException"))?;
    Ok(PyErr::from_value(class.call1((message,))?))
}

fn finished_error() -> PyErr {
    PyRuntimeError::new_err("the parser cannot be used after finish() has returned")
}

/// Turn a limit into the largest count that does not exceed it, or `None` when no
/// count can.
///
/// Starlette fails when a count `n` satisfies `n > limit`. The counts are whole and
/// at least 1, so that is true exactly when `n > floor(limit)`, and for every count
/// when the limit is negative. NaN is exceeded by nothing.
fn count_threshold(limit: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<u64>> {
    if let Ok(number) = limit.cast::<PyFloat>() {
        return Ok(float_threshold(number.value()));
    }
    if let Ok(number) = limit.extract::<u64>() {
        return Ok(Some(number));
    }
    if limit.cast::<PyInt>().is_ok() {
        // An int below zero or above 2**64 - 1.
        return Ok(if limit.lt(0)? { Some(0) } else { None });
    }
    if let Ok(number) = limit.extract::<f64>() {
        return Ok(float_threshold(number));
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be an int or a float, not {}",
        limit.get_type().name()?
    )))
}

fn float_threshold(limit: f64) -> Option<u64> {
    // 2**64: every u64 is below it, so no count can exceed a limit this large.
    const TWO_TO_THE_64: f64 = 18_446_744_073_709_551_616.0;
    if limit.is_nan() || limit >= TWO_TO_THE_64 {
        None
    } else if limit < 0.0 {
        Some(0)
    } else {
        // In range, so the cast is exact after `floor`.
        Some(limit.floor() as u64)
    }
}
