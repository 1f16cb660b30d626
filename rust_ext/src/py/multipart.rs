//! The Python face of [`crate::multipart`].

// Request bytes must not reach a panic here either.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::borrow::Cow;

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyString};

use crate::multipart::{Event, EventSink, MultipartError, MultipartParser, PartHeaders};

create_exception!(
    rustlette._rust,
    MultipartParseError,
    PyValueError,
    "A multipart body or boundary that the parser rejects. `events` holds the events \
     that the rejected chunk completed before the offending byte."
);

/// Event kinds, the first item of each event tuple.
const PART_BEGIN: u8 = 0;
const PART_DATA: u8 = 1;
const PART_END: u8 = 2;
const FIELD: u8 = 3;
const END: u8 = 4;

/// A push parser for one `multipart/form-data` body, fed chunk by chunk.
///
/// `feed` returns the events a chunk completes as 4-tuples `(kind, a, b, c)`:
///
/// - `(PART_BEGIN, name, filename, headers)`: a part's headers are complete. `name`
///   and `filename` are the `Content-Disposition` parameters as bytes, or `None`, and
///   `headers` is a list of `(name, value)` pairs as sent.
/// - `(PART_DATA, data, None, None)`: data of the current part.
/// - `(PART_END, None, None, None)`: the current part is complete.
/// - `(FIELD, name, value, size)`: with `fold_fields`, a whole part without
///   `filename` whose headers and end came in the same chunk, in place of the three
///   events above, without its headers. `size` is the value's length in bytes. With
///   `decode_utf8`, `name` and `value` are `str` where they are valid UTF-8.
/// - `(END, None, None, None)`: the closing boundary. Later bytes are ignored.
#[pyclass(name = "MultipartReader", module = "rustlette._rust")]
pub struct MultipartReader {
    parser: MultipartParser,
    fields: FieldOptions,
}

/// Options for the text fields that `feed` returns.
#[derive(Clone, Copy)]
struct FieldOptions {
    fold: bool,
    decode_utf8: bool,
}

#[pymethods]
impl MultipartReader {
    #[classattr]
    const PART_BEGIN: u8 = PART_BEGIN;
    #[classattr]
    const PART_DATA: u8 = PART_DATA;
    #[classattr]
    const PART_END: u8 = PART_END;
    #[classattr]
    const FIELD: u8 = FIELD;
    #[classattr]
    const END: u8 = END;

    #[new]
    #[pyo3(signature = (boundary, /, *, fold_fields = false, decode_utf8 = false))]
    fn new(
        py: Python<'_>,
        boundary: &[u8],
        fold_fields: bool,
        decode_utf8: bool,
    ) -> PyResult<Self> {
        let parser =
            MultipartParser::new(boundary).map_err(|error| to_py_error(py, &error, None))?;
        let fields = FieldOptions {
            fold: fold_fields,
            decode_utf8,
        };
        Ok(Self { parser, fields })
    }

    /// Parse the next chunk of the body, a `bytes` or `bytearray`, and return the
    /// events it completes.
    #[pyo3(signature = (chunk, /))]
    fn feed<'py>(&mut self, chunk: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let py = chunk.py();
        let copied;
        let mut whole = None;
        let bytes: &[u8] = if let Ok(bytes) = chunk.cast::<PyBytes>() {
            whole = Some(bytes);
            bytes.as_bytes()
        } else if let Ok(array) = chunk.cast::<PyByteArray>() {
            copied = array.to_vec();
            &copied
        } else {
            return Err(PyTypeError::new_err(format!(
                "chunk must be bytes or bytearray, not {}",
                chunk.get_type().name()?
            )));
        };

        let mut sink = TupleSink::new(py, self.fields, whole);
        let result = self.parser.feed(bytes, &mut sink);
        let converted = sink.finish()?;
        match result {
            Ok(()) => Ok(converted),
            Err(error) => Err(to_py_error(py, &error, Some(converted))),
        }
    }

    /// End the body, and return whether it ended after the closing boundary.
    fn close(&mut self) -> bool {
        self.parser.finish()
    }
}

/// Map a parser error to its Python exception, with the events the chunk completed
/// before it.
fn to_py_error(py: Python<'_>, error: &MultipartError, events: Option<Bound<'_, PyList>>) -> PyErr {
    if matches!(
        error,
        MultipartError::AlreadyFailed | MultipartError::AlreadyFinished
    ) {
        return PyRuntimeError::new_err(error.to_string());
    }
    let exception = MultipartParseError::new_err(error.to_string());
    let events = match events {
        Some(events) => events,
        None => PyList::empty(py),
    };
    match exception.value(py).setattr("events", events) {
        Ok(()) => exception,
        Err(error) => error,
    }
}

/// The event tuples of one chunk, built as the parser's events come: consecutive data
/// joined and, with `fold_fields`, each whole text field folded into one `FIELD` event.
struct TupleSink<'py, 'a> {
    py: Python<'py>,
    /// The chunk, when it is a `bytes` object that data covering all of it can reuse.
    chunk: Option<&'a Bound<'py, PyBytes>>,
    tuples: Bound<'py, PyList>,
    fields: FieldOptions,
    /// A text part whose headers came in this chunk, while its end may still come.
    field: Option<Box<PartHeaders>>,
    /// Data not yet turned into a tuple: of `field`, or of the current part.
    data: Vec<Cow<'a, [u8]>>,
    /// The first error from Python, which ends the conversion.
    error: Option<PyErr>,
}

impl<'py, 'a> TupleSink<'py, 'a> {
    fn new(py: Python<'py>, fields: FieldOptions, chunk: Option<&'a Bound<'py, PyBytes>>) -> Self {
        Self {
            py,
            chunk,
            tuples: PyList::empty(py),
            fields,
            field: None,
            data: Vec::new(),
            error: None,
        }
    }

    /// Add the tuples still pending at the end of the chunk and return them all.
    fn finish(mut self) -> PyResult<Bound<'py, PyList>> {
        self.release_field();
        self.release_data();
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.tuples),
        }
    }

    fn append(&mut self, tuple: impl IntoPyObject<'py>) {
        if self.error.is_none() {
            if let Err(error) = self.tuples.append(tuple) {
                self.error = Some(error);
            }
        }
    }

    /// Emit a held text part as a plain part, because its end did not come with it.
    fn release_field(&mut self) {
        if let Some(part) = self.field.take() {
            self.append_part_begin(&part);
        }
    }

    fn release_data(&mut self) {
        if self.data.is_empty() {
            return;
        }
        let data = match (self.chunk, self.data.as_slice()) {
            // Part data that is the whole chunk, as most chunks of a large file are,
            // goes out as the chunk's own object instead of a copy.
            (Some(chunk), [Cow::Borrowed(only)])
                if std::ptr::eq(only.as_ptr(), chunk.as_bytes().as_ptr())
                    && only.len() == chunk.as_bytes().len() =>
            {
                chunk.clone()
            }
            _ => PyBytes::new(self.py, &join(&self.data)),
        };
        self.data.clear();
        self.append((PART_DATA, data, self.py.None(), self.py.None()));
    }

    fn append_part_begin(&mut self, part: &PartHeaders) {
        let py = self.py;
        let headers = PyList::new(
            py,
            part.headers.iter().map(|header| {
                (
                    PyBytes::new(py, &header.name),
                    PyBytes::new(py, &header.value),
                )
            }),
        );
        match headers {
            Ok(headers) => self.append((
                PART_BEGIN,
                optional_bytes(py, &part.name),
                optional_bytes(py, &part.filename),
                headers,
            )),
            Err(error) => self.error = self.error.take().or(Some(error)),
        }
    }

    fn append_field(&mut self, part: &PartHeaders) {
        let py = self.py;
        let value = join(&self.data);
        self.data.clear();
        let decode = self.fields.decode_utf8;
        let name = part
            .name
            .as_deref()
            .map(|name| text_or_bytes(py, name, decode));
        let text = text_or_bytes(py, &value, decode);
        self.append((FIELD, name, text, value.len()));
    }
}

impl<'a> EventSink<'a> for TupleSink<'_, 'a> {
    fn push(&mut self, event: Event<'a>) {
        match event {
            Event::PartBegin(part) => {
                self.release_data();
                if self.fields.fold && part.filename.is_none() {
                    self.field = Some(part);
                } else {
                    self.append_part_begin(&part);
                }
            }
            Event::Data(data) => self.data.push(data),
            Event::PartEnd => match self.field.take() {
                Some(part) => self.append_field(&part),
                None => {
                    self.release_data();
                    let none = self.py.None();
                    self.append((
                        PART_END,
                        none.clone_ref(self.py),
                        none.clone_ref(self.py),
                        none,
                    ));
                }
            },
            Event::End => {
                self.release_data();
                let none = self.py.None();
                self.append((END, none.clone_ref(self.py), none.clone_ref(self.py), none));
            }
        }
    }
}

/// Join the pieces into one slice, copying only when there are several.
fn join<'a>(pieces: &[Cow<'a, [u8]>]) -> Cow<'a, [u8]> {
    match pieces {
        [only] => only.clone(),
        pieces => Cow::Owned(pieces.concat()),
    }
}

/// Make a `str` of valid UTF-8 when `decode_utf8` is set, and `bytes` otherwise.
fn text_or_bytes<'py>(py: Python<'py>, bytes: &[u8], decode_utf8: bool) -> Bound<'py, PyAny> {
    if decode_utf8 {
        if let Ok(text) = std::str::from_utf8(bytes) {
            return PyString::new(py, text).into_any();
        }
    }
    PyBytes::new(py, bytes).into_any()
}

fn optional_bytes<'py>(py: Python<'py>, value: &Option<Vec<u8>>) -> Option<Bound<'py, PyBytes>> {
    value.as_deref().map(|bytes| PyBytes::new(py, bytes))
}
