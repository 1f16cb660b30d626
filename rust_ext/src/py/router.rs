//! The Python face of [`crate::router`].

use std::borrow::Cow;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFrozenSet, PyList, PySet, PyString, PyTuple};

use crate::router::{self, Entry, Scope};

/// `(full, partial, values)`, as `RouteTable.lookup_params` returns it.
type LookupWithValues<'py> = (Option<usize>, Option<usize>, Option<Bound<'py, PyTuple>>);

/// An index of a router's routes that finds the first full and the first partial
/// match for a path in one call, as Starlette's in-order loop would.
///
/// Each entry is `None` for a route the table must not match (Python calls its
/// `matches()` instead), `("http", pattern, methods)` for a `Route`,
/// `("websocket", pattern)` for a `WebSocketRoute` or `("mount", pattern)` for a
/// `Mount`. A pattern is the route's `path_regex` or its `pattern` string. An entry
/// the table cannot match exactly becomes opaque and is listed in `opaque`.
#[pyclass(name = "RouteTable", module = "rustlette._rust", frozen)]
pub struct RouteTable {
    table: router::RouteTable,
}

#[pymethods]
impl RouteTable {
    #[new]
    #[pyo3(signature = (entries, /))]
    fn new(entries: &Bound<'_, PyAny>) -> PyResult<Self> {
        let re = entries.py().import("re")?;
        let context = PatternContext {
            pattern_type: re.getattr("Pattern")?,
            default_flags: re.getattr("UNICODE")?.extract()?,
        };

        let mut table = router::RouteTable::new();
        for (index, item) in entries.try_iter()?.enumerate() {
            let spec = EntrySpec::extract(&item?, index, &context)?;
            let inserted = match &spec {
                Some(spec) => table.insert(spec.entry()),
                None => table.insert(Entry::Opaque),
            };
            // The reason is not kept: the caller only needs to know which routes
            // it must match itself, and `opaque` lists them.
            if inserted.is_err() {
                table.insert(Entry::Opaque).ok();
            }
        }
        Ok(Self { table })
    }

    /// The indices of the entries that the table never matches, ascending.
    #[getter]
    fn opaque<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.table.opaque())
    }

    /// Return `(full, partial)`: the index of the first entry that gives
    /// `Match.FULL` for `route_path`, and of the first that gives `Match.PARTIAL`
    /// before it, each `None` when there is none. Opaque entries are skipped.
    ///
    /// `method` is `scope["method"]` and is required for `"http"`. A `scope_type`
    /// other than `"http"` and `"websocket"` matches nothing.
    #[pyo3(signature = (route_path, scope_type, method, /))]
    fn lookup(
        &self,
        route_path: &Bound<'_, PyString>,
        scope_type: &str,
        method: Option<&Bound<'_, PyString>>,
    ) -> PyResult<(Option<usize>, Option<usize>)> {
        let path = utf8_bytes(route_path)?;
        let found = self.search(&path, scope_type, method)?;
        Ok((found.full, found.partial))
    }

    /// Return `(full, partial, values)`: what `lookup` returns, with the raw
    /// parameter values of the full match in the order of its regex groups, as
    /// `path_regex.match(route_path).groupdict().values()` gives them.
    ///
    /// `values` is `None` when there is no full match, and also when `route_path`
    /// contains lone surrogates, which the values could not be sliced from.
    #[pyo3(signature = (route_path, scope_type, method, /))]
    fn lookup_params<'py>(
        &self,
        route_path: &Bound<'py, PyString>,
        scope_type: &str,
        method: Option<&Bound<'py, PyString>>,
    ) -> PyResult<LookupWithValues<'py>> {
        let path = utf8_bytes(route_path)?;
        let found = self.search(&path, scope_type, method)?;
        let values = match (found.full, &path) {
            (Some(full), Cow::Borrowed(text)) => self.values(route_path.py(), full, text)?,
            _ => None,
        };
        Ok((found.full, found.partial, values))
    }

    fn __len__(&self) -> usize {
        self.table.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "<RouteTable: {} entries, {} opaque>",
            self.table.len(),
            self.table.opaque().len()
        )
    }
}

impl RouteTable {
    /// Returns the parameter values of entry `index` in `path` as `str` objects.
    fn values<'py>(
        &self,
        py: Python<'py>,
        index: usize,
        path: &[u8],
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        if !self.table.has_params(index) {
            return Ok(Some(PyTuple::empty(py)));
        }
        let Some(ranges) = self.table.captures(index, path) else {
            return Ok(None);
        };
        let mut values = Vec::with_capacity(ranges.len());
        for range in ranges {
            // Every range starts and ends next to a `/`, literal text or an end
            // of the path, so it never splits a character. `None` if it did.
            let Some(value) = path
                .get(range)
                .and_then(|value| std::str::from_utf8(value).ok())
            else {
                return Ok(None);
            };
            values.push(PyString::new(py, value));
        }
        PyTuple::new(py, values).map(Some)
    }

    /// Runs one lookup for a path already converted with [`utf8_bytes`].
    fn search(
        &self,
        path: &[u8],
        scope_type: &str,
        method: Option<&Bound<'_, PyString>>,
    ) -> PyResult<router::Lookup> {
        Ok(match (scope_type, method) {
            ("http", Some(method)) => {
                let method = utf8_bytes(method)?;
                self.table.lookup(path, Scope::Http { method: &method })
            }
            ("http", None) => {
                return Err(PyValueError::new_err(
                    "method is required when scope_type is 'http'",
                ))
            }
            ("websocket", _) => self.table.lookup(path, Scope::WebSocket),
            _ => router::Lookup::default(),
        })
    }
}

/// The `re` objects that decide whether a pattern object is a plain `re.Pattern`.
struct PatternContext<'py> {
    pattern_type: Bound<'py, PyAny>,
    /// `re.UNICODE`, the flags of a `str` pattern compiled without flags.
    default_flags: i64,
}

/// The route class that an entry describes.
enum SpecKind {
    Http,
    WebSocket,
    Mount,
}

/// An entry converted from Python, owning its bytes until the table copies them.
struct EntrySpec {
    kind: SpecKind,
    pattern: Vec<u8>,
    methods: Option<Vec<Vec<u8>>>,
}

impl EntrySpec {
    /// Converts entry `index`, returning `None` for an entry that must be opaque.
    fn extract(
        item: &Bound<'_, PyAny>,
        index: usize,
        context: &PatternContext<'_>,
    ) -> PyResult<Option<Self>> {
        if item.is_none() {
            return Ok(None);
        }
        let invalid = || {
            let description = item
                .repr()
                .map(|repr| repr.to_string())
                .unwrap_or_else(|_| "<unprintable object>".to_owned());
            PyTypeError::new_err(format!(
                "route table entry {index} must be None, ('http', pattern, methods), \
                 ('websocket', pattern) or ('mount', pattern), not {description}"
            ))
        };
        let tuple = item.cast::<PyTuple>().map_err(|_| invalid())?;
        let kind_item = tuple.get_item(0).map_err(|_| invalid())?;
        let kind = kind_item.cast::<PyString>().map_err(|_| invalid())?;
        let (kind, arity) = match kind.to_str()? {
            "http" => (SpecKind::Http, 3),
            "websocket" => (SpecKind::WebSocket, 2),
            "mount" => (SpecKind::Mount, 2),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "route table entry {index} has unknown kind {}: expected 'http', \
                     'websocket' or 'mount'",
                    kind.repr()?
                )))
            }
        };
        if tuple.len() != arity {
            return Err(invalid());
        }

        let Some(pattern) = extract_pattern(&tuple.get_item(1)?, index, context)? else {
            return Ok(None);
        };
        let methods = match kind {
            SpecKind::Http => match extract_methods(&tuple.get_item(2)?)? {
                MethodSet::Any => None,
                MethodSet::Listed(methods) => Some(methods),
                MethodSet::Unsupported => return Ok(None),
            },
            SpecKind::WebSocket | SpecKind::Mount => None,
        };
        Ok(Some(Self {
            kind,
            pattern,
            methods,
        }))
    }

    fn entry(&self) -> Entry<'_> {
        let pattern = self.pattern.as_slice();
        match self.kind {
            SpecKind::Http => Entry::Http {
                pattern,
                methods: self
                    .methods
                    .as_ref()
                    .map(|methods| methods.iter().map(Vec::as_slice).collect()),
            },
            SpecKind::WebSocket => Entry::WebSocket { pattern },
            SpecKind::Mount => Entry::Mount { pattern },
        }
    }
}

/// Returns the pattern's bytes, or `None` for a compiled pattern the table must
/// not interpret: one with flags such as `re.IGNORECASE`, or a `bytes` pattern.
fn extract_pattern(
    pattern: &Bound<'_, PyAny>,
    index: usize,
    context: &PatternContext<'_>,
) -> PyResult<Option<Vec<u8>>> {
    if let Ok(text) = pattern.cast::<PyString>() {
        return Ok(Some(utf8_bytes(text)?.into_owned()));
    }
    if !pattern.is_instance(&context.pattern_type)? {
        return Err(PyTypeError::new_err(format!(
            "pattern of route table entry {index} must be str or re.Pattern, not {}",
            pattern.get_type().name()?
        )));
    }
    let flags: i64 = pattern.getattr("flags")?.extract()?;
    if flags != context.default_flags {
        return Ok(None);
    }
    let source = pattern.getattr("pattern")?;
    match source.cast::<PyString>() {
        Ok(text) => Ok(Some(utf8_bytes(text)?.into_owned())),
        Err(_) => Ok(None),
    }
}

/// A route's `methods` attribute as the table can use it.
enum MethodSet {
    /// `None`: every method gives a full match.
    Any,
    /// The method names, possibly none, which also accepts every method.
    Listed(Vec<Vec<u8>>),
    /// A container or an item whose `in` test the table cannot reproduce.
    Unsupported,
}

fn extract_methods(methods: &Bound<'_, PyAny>) -> PyResult<MethodSet> {
    if methods.is_none() {
        return Ok(MethodSet::Any);
    }
    let is_container = methods.is_instance_of::<PySet>()
        || methods.is_instance_of::<PyFrozenSet>()
        || methods.is_instance_of::<PyList>()
        || methods.is_instance_of::<PyTuple>();
    if !is_container {
        return Ok(MethodSet::Unsupported);
    }
    let mut names = Vec::new();
    for method in methods.try_iter()? {
        let method = method?;
        // A non-str item never equals `scope["method"]` but still makes the set
        // truthy, which the table has no way to express.
        let Ok(text) = method.cast::<PyString>() else {
            return Ok(MethodSet::Unsupported);
        };
        names.push(utf8_bytes(text)?.into_owned());
    }
    Ok(MethodSet::Listed(names))
}

/// Returns the UTF-8 bytes of `text`. A `str` may hold lone surrogates, which
/// UTF-8 cannot encode, so those are encoded as the `"surrogatepass"` handler
/// does. Equal strings still give equal bytes, and `/`, `"\n"` and ASCII digits
/// keep their single bytes.
fn utf8_bytes<'a>(text: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, [u8]>> {
    match text.to_str() {
        Ok(text) => Ok(Cow::Borrowed(text.as_bytes())),
        Err(_) => {
            let encoded = text.call_method1("encode", ("utf-8", "surrogatepass"))?;
            let encoded = encoded.cast::<PyBytes>()?;
            Ok(Cow::Owned(encoded.as_bytes().to_vec()))
        }
    }
}
