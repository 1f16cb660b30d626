//! The Python face of [`crate::json`]: walks the content of a `JSONResponse`
//! and checks each object as CPython 3.11's C encoder (`Modules/_json.c`) does.
//!
//! The C encoder tests `None`, `True`, `False`, `str`, `int`, `float`, `list` or
//! `tuple`, then `dict`, each with `isinstance` semantics, and calls `default`
//! for anything else, which raises `TypeError` under Starlette's options. The
//! walk below tries the exact built-in types first because they are the common
//! case and cost a pointer comparison each. Subclasses then go through the same
//! order as the C encoder, so an `IntEnum` member is written as its number and a
//! `str` enum member as its text.

use pyo3::exceptions::{PyRecursionError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use pyo3::PyTypeInfo;
use std::cell::Cell;
use std::ops::Deref;

use crate::json::{self, EncodeError, KeyCache, OpenContainers};

/// `Py_TPFLAGS_IMMUTABLETYPE`: set on types defined in C, never on `class` statements.
const IMMUTABLE_TYPE_FLAG: u64 = 1 << 8;
/// `Py_TPFLAGS_HEAPTYPE`: clear on static types, which C extensions declare.
const HEAP_TYPE_FLAG: u64 = 1 << 9;

/// Encode `content` as `json.dumps(content, ensure_ascii=False, allow_nan=False,
/// indent=None, separators=(",", ":")).encode("utf-8")` does on CPython 3.11.
///
/// Raises what that expression raises. That is `TypeError` for values and dict
/// keys JSON cannot represent, and `ValueError` for NaN, infinities, circular
/// references and integers longer than `sys.get_int_max_str_digits()`. Nesting
/// deeper than 1000 lists and dicts raises `RecursionError`, and lone surrogates
/// raise `UnicodeEncodeError` when nothing else fails first.
#[pyfunction]
#[pyo3(signature = (content, /))]
pub fn encode_json<'py>(content: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let Scratch { out, keys } = take_scratch();
    let mut encoder = Encoder {
        out,
        open: OpenContainers::default(),
        live_dicts: Vec::new(),
        keys,
        epoch: 0,
        has_surrogates: false,
    };
    let encoded = match encoder.write_value(content) {
        Ok(()) => encoder.finish(content.py()),
        Err(error) => Err(*error),
    };
    keep_scratch(Scratch {
        out: encoder.out,
        keys: encoder.keys,
    });
    encoded
}

/// Bytes reserved up front: most responses fit, and growing a vector from
/// empty to 1 KiB would take eight reallocations.
const INITIAL_CAPACITY: usize = 1024;

/// The largest output buffer a thread keeps between calls.
///
/// `malloc` maps new memory for a large buffer, and each 4 KiB page of it costs
/// a page fault on first use. With a fresh buffer per call, encoding a 1 MiB
/// string took 620 µs, against 150 µs with a kept one (x86-64 Linux, glibc
/// 2.36). The price is up to this much memory per thread that has encoded a
/// large document.
const SPARE_OUTPUT_LIMIT: usize = 1 << 20;

/// The buffers a thread keeps from one call for the next: the output buffer,
/// and the key cache, which would otherwise be zeroed on every call.
struct Scratch {
    out: Vec<u8>,
    keys: Box<KeyCache>,
}

thread_local! {
    /// The buffers of the last call on this thread, emptied.
    static SPARE: Cell<Option<Scratch>> = const { Cell::new(None) };
}

/// Take this thread's spare buffers, or allocate new ones. A call nested in a
/// hook finds none and allocates its own.
fn take_scratch() -> Scratch {
    let spare = SPARE.try_with(Cell::take).ok().flatten();
    let mut scratch = spare.unwrap_or_else(|| Scratch {
        out: Vec::new(),
        keys: Box::default(),
    });
    scratch.out.reserve(INITIAL_CAPACITY);
    scratch.keys.forget_all();
    scratch
}

/// Keep `scratch` as this thread's spare buffers, with the output buffer
/// emptied and cut to [`SPARE_OUTPUT_LIMIT`].
fn keep_scratch(mut scratch: Scratch) {
    scratch.out.clear();
    scratch.out.shrink_to(SPARE_OUTPUT_LIMIT);
    // During thread teardown the slot may be gone, and the buffers are freed.
    let _ = SPARE.try_with(|spare| spare.set(Some(scratch)));
}

/// The outcome of writing part of the output. The error is boxed so that the
/// result fits in a register, which the callers test after every value.
type Written = Result<(), Box<PyErr>>;

impl From<EncodeError> for Box<PyErr> {
    fn from(error: EncodeError) -> Self {
        Box::new(error.into())
    }
}

impl From<EncodeError> for PyErr {
    fn from(error: EncodeError) -> Self {
        let message = error.to_string();
        match error {
            EncodeError::NonFiniteFloat
            | EncodeError::CircularReference
            | EncodeError::InvalidItem => PyValueError::new_err(message),
            EncodeError::TooDeep => PyRecursionError::new_err(message),
            EncodeError::UnsupportedType { .. } | EncodeError::UnsupportedKey { .. } => {
                PyTypeError::new_err(message)
            }
        }
    }
}

/// The output so far and the state one `encode_json` call needs.
struct Encoder<'py> {
    out: Vec<u8>,
    open: OpenContainers,
    /// The exact dicts whose entries are being read from the hash table,
    /// outermost first. See [`Encoder::write_live_entries`].
    live_dicts: Vec<LiveDict<'py>>,
    /// The text of dict keys written so far, by the identity of the key.
    ///
    /// Every cached key is alive, because nothing can free it or take over its
    /// address while no Python code runs. The containers being encoded keep
    /// references to their keys, and the encoder neither drops the last
    /// reference to an object nor allocates a tracked object that could start
    /// the garbage collector. [`Encoder::forget_objects`] runs after each step
    /// that breaks this: the hooks of subclasses, the calls that allocate
    /// Python objects, and the release of the temporary lists those steps
    /// return.
    keys: Box<KeyCache>,
    /// How many steps that may have run Python code have finished, counted by
    /// [`Encoder::forget_objects`].
    epoch: u64,
    /// Whether a string with lone surrogates was written. `json.dumps` returns
    /// such text and Starlette's `.encode("utf-8")` then fails, so the error
    /// waits until the whole value has been checked.
    has_surrogates: bool,
}

/// An exact dict being encoded entry by entry, and its `items()` once Python
/// code that might change it is about to run.
struct LiveDict<'py> {
    dict: Bound<'py, PyDict>,
    snapshot: Option<Bound<'py, PyList>>,
}

/// The outcome of encoding a dict's entries from its hash table.
enum LiveEntries {
    Written,
    /// The dict changed size although no hook of ours ran, so the entries
    /// written are not a consistent view of it.
    Changed,
}

impl<'py> Encoder<'py> {
    /// Encode any value. Strings, numbers and containers are written by
    /// functions kept out of line, so that this dispatch needs no stack frame
    /// and ends in a jump to one of them.
    fn write_value(&mut self, value: &Bound<'py, PyAny>) -> Written {
        if let Some(text) = exact::<PyString>(value) {
            return self.write_string(text);
        }
        if let Some(number) = exact::<PyInt>(value) {
            return self.write_int(number);
        }
        if let Some(number) = exact::<PyFloat>(value) {
            return self.write_float(number);
        }
        if let Some(dict) = exact::<PyDict>(value) {
            return self.write_dict(dict, true);
        }
        if let Some(list) = exact::<PyList>(value) {
            return self.write_list(list);
        }
        if let Some(flag) = exact::<PyBool>(value) {
            self.write_bool(flag.is_true());
            return Ok(());
        }
        if value.is_none() {
            self.out.extend_from_slice(b"null");
            return Ok(());
        }
        if let Some(tuple) = exact::<PyTuple>(value) {
            return self.write_tuple(tuple);
        }
        self.write_subclass_value(value)
    }

    #[inline(never)]
    fn write_float(&mut self, number: &Bound<'py, PyFloat>) -> Written {
        Ok(json::write_float(&mut self.out, number.value())?)
    }

    #[inline(never)]
    fn write_tuple(&mut self, tuple: &Bound<'py, PyTuple>) -> Written {
        self.open.descend()?;
        self.write_items(identity(tuple), tuple.len(), tuple.iter_borrowed())?;
        self.open.ascend();
        Ok(())
    }

    fn write_bool(&mut self, flag: bool) {
        // Two fixed-size copies: choosing the slice first would make the length
        // variable and cost a memcpy call.
        if flag {
            self.out.extend_from_slice(b"true");
        } else {
            self.out.extend_from_slice(b"false");
        }
    }

    /// Encode an instance of a subclass of a supported type, or reject the value.
    #[inline(never)]
    fn write_subclass_value(&mut self, value: &Bound<'py, PyAny>) -> Written {
        if let Ok(text) = value.cast::<PyString>() {
            return self.write_string(text);
        }
        if let Ok(number) = value.cast::<PyInt>() {
            return self.write_int(number);
        }
        if let Ok(number) = value.cast::<PyFloat>() {
            return Ok(json::write_float(&mut self.out, number.value())?);
        }
        if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
            // Like `PySequence_Fast`, the C encoder iterates a subclass instead of
            // reading its storage, so an overridden `__iter__` decides the items.
            self.open.descend()?;
            self.snapshot_live_dicts();
            let items = collect_items(value);
            self.forget_objects();
            let items = items?;
            self.write_items(identity(value), items.len(), items.iter())?;
            drop(items);
            self.forget_objects();
            self.open.ascend();
            return Ok(());
        }
        if let Ok(dict) = value.cast::<PyDict>() {
            return self.write_dict(dict, false);
        }
        Err(unsupported_type(value)?.into())
    }

    #[inline(never)]
    fn write_string(&mut self, text: &Bound<'py, PyString>) -> Written {
        match text.to_str() {
            Ok(utf8) => {
                json::write_str(&mut self.out, utf8.as_bytes());
                Ok(())
            }
            Err(_) => self.write_surrogates(text),
        }
    }

    /// Encode a string that has no UTF-8 form because it contains lone surrogates.
    #[cold]
    #[inline(never)]
    fn write_surrogates(&mut self, text: &Bound<'py, PyString>) -> Written {
        // `surrogatepass` gives the surrogates bytes that escaping copies
        // through, and `finish` raises the error. `str.encode` is looked up on
        // the type so a subclass cannot override it.
        let py = text.py();
        let encoded = PyString::type_object(py).call_method1(
            intern!(py, "encode"),
            (text, intern!(py, "utf-8"), intern!(py, "surrogatepass")),
        )?;
        self.forget_objects();
        let encoded = encoded.cast_into::<PyBytes>().map_err(PyErr::from)?;
        json::write_str(&mut self.out, encoded.as_bytes());
        self.has_surrogates = true;
        Ok(())
    }

    #[inline(never)]
    fn write_int(&mut self, number: &Bound<'py, PyInt>) -> Written {
        if let Ok(small) = number.extract::<i64>() {
            json::write_int(&mut self.out, small);
            return Ok(());
        }
        self.write_big_int(number)
    }

    /// Encode an integer outside the `i64` range through `int.__repr__`.
    #[cold]
    #[inline(never)]
    fn write_big_int(&mut self, number: &Bound<'py, PyInt>) -> Written {
        // Allocating the exception of the failed conversion and the text can
        // start the garbage collector, which runs finalizers.
        let text = int_repr(number);
        self.forget_objects();
        self.out.extend_from_slice(text?.to_str()?.as_bytes());
        Ok(())
    }

    /// Encode an exact list by index. Like the C encoder, this reads the length
    /// again at the end, so items appended meanwhile are encoded and a list that
    /// shrinks ends early.
    #[inline(never)]
    fn write_list(&mut self, list: &Bound<'py, PyList>) -> Written {
        self.open.descend()?;
        let mut len = list.len();
        if len == 0 {
            self.out.extend_from_slice(b"[]");
            self.open.ascend();
            return Ok(());
        }

        self.open.open(identity(list))?;
        self.out.push(b'[');
        let mut index = 0;
        loop {
            if index >= len {
                len = list.len();
                if index >= len {
                    break;
                }
            }
            // Only an index past the end fails, after the list shrank.
            let Ok(item) = list.get_item(index) else {
                break;
            };
            if index > 0 {
                self.out.push(b',');
            }
            self.write_value(&item)?;
            index += 1;
        }
        self.out.push(b']');
        self.open.close();
        self.open.ascend();
        Ok(())
    }

    /// Encode the `len` items of a tuple or of a list subclass, `[]` when empty.
    /// `id` is the sequence's [`identity`].
    fn write_items<T>(&mut self, id: usize, len: usize, items: impl Iterator<Item = T>) -> Written
    where
        T: Deref<Target = Bound<'py, PyAny>>,
    {
        if len == 0 {
            self.out.extend_from_slice(b"[]");
            return Ok(());
        }
        self.open.open(id)?;
        self.out.push(b'[');
        for (index, item) in items.enumerate() {
            if index > 0 {
                self.out.push(b',');
            }
            self.write_value(&item)?;
        }
        self.out.push(b']');
        self.open.close();
        Ok(())
    }

    /// Encode a dict or dict subclass, in the order of its `items()`.
    ///
    /// The C encoder takes a list of the items from `PyMapping_Items`, so an
    /// `OrderedDict` follows its own order, and values that change the dict do
    /// not disturb the walk. An exact dict yields the same entries in the same
    /// order from its hash table, without a tuple per entry.
    fn write_dict(&mut self, dict: &Bound<'py, PyDict>, is_exact: bool) -> Written {
        self.open.descend()?;
        // The stored size, as the C encoder reads it, even when a subclass
        // overrides `__len__`.
        let len = dict.len();
        if len == 0 {
            self.out.extend_from_slice(b"{}");
            self.open.ascend();
            return Ok(());
        }

        self.open.open(identity(dict))?;
        self.out.push(b'{');
        let start = self.out.len();
        let written =
            is_exact && matches!(self.write_live_entries(dict, len)?, LiveEntries::Written);
        if !written {
            self.out.truncate(start);
            let items = if is_exact {
                Ok(dict.items())
            } else {
                self.snapshot_live_dicts();
                dict.as_mapping().items()
            };
            self.forget_objects();
            let items = items?;
            self.write_item_tuples(&items)?;
            drop(items);
            self.forget_objects();
        }
        self.out.push(b'}');
        self.open.close();
        self.open.ascend();
        Ok(())
    }

    /// Encode the entries of an exact dict as they come from its hash table.
    ///
    /// Before a subclass hook runs Python code, which could change the dict,
    /// [`Self::snapshot_live_dicts`] copies its `items()`, and the remaining
    /// entries come from that copy, as they would from the C encoder's list.
    /// If the size changes all the same (a finalizer or another thread), the
    /// caller starts the dict again from a fresh `items()`.
    // NOTE: a change that keeps the size, made by a finalizer or another thread
    // while no hook of ours runs, can show in the output, where the C encoder
    // would print the entries from before it.
    fn write_live_entries(
        &mut self,
        dict: &Bound<'py, PyDict>,
        len: usize,
    ) -> Result<LiveEntries, Box<PyErr>> {
        let slot = self.live_dicts.len();
        self.live_dicts.push(LiveDict {
            dict: dict.clone(),
            snapshot: None,
        });
        let mut entries = dict.iter();
        let mut checked_epoch = self.epoch;
        let mut outcome = LiveEntries::Written;
        for index in 0..len {
            let snapshot = self
                .live_dicts
                .get(slot)
                .and_then(|live| live.snapshot.as_ref());
            let entry = match snapshot {
                None => {
                    // PyO3's iterator panics when the size differs from the
                    // start, so check first. Only Python code can change the
                    // dict, and every step that may run it advances the epoch.
                    if self.epoch != checked_epoch {
                        checked_epoch = self.epoch;
                        if dict.len() != len {
                            outcome = LiveEntries::Changed;
                            break;
                        }
                    }
                    entries.next()
                }
                Some(items) if items.len() == len => Some(item_pair(&items.get_item(index)?)?),
                Some(_) => {
                    outcome = LiveEntries::Changed;
                    break;
                }
            };
            let Some((key, value)) = entry else {
                break;
            };
            if index > 0 {
                self.out.push(b',');
            }
            self.write_key(&key)?;
            self.write_value(&value)?;
        }

        // Dropping a snapshot can free keys that a hook removed from the dict.
        let had_snapshot = self
            .live_dicts
            .get(slot)
            .is_some_and(|live| live.snapshot.is_some());
        self.live_dicts.truncate(slot);
        if had_snapshot {
            self.forget_objects();
        }
        Ok(outcome)
    }

    /// Copy the items of every dict being read from its hash table, so that
    /// Python code about to run cannot change what gets encoded.
    fn snapshot_live_dicts(&mut self) {
        for live in &mut self.live_dicts {
            if live.snapshot.is_none() {
                live.snapshot = Some(live.dict.items());
            }
        }
        self.forget_objects();
    }

    /// Invalidate the cached keys and advance the epoch, after a step that may
    /// have run Python code, freed objects or allocated new ones at the
    /// addresses of freed ones.
    fn forget_objects(&mut self) {
        self.keys.forget_all();
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Encode the `(key, value)` tuples of a mapping's `items()`.
    fn write_item_tuples(&mut self, items: &Bound<'py, PyList>) -> Written {
        for (index, item) in items.iter().enumerate() {
            let (key, value) = item_pair(&item)?;
            if index > 0 {
                self.out.push(b',');
            }
            self.write_key(&key)?;
            self.write_value(&value)?;
        }
        Ok(())
    }

    /// Encode a dict key and the colon after it. JSON keys are strings, so
    /// numbers, booleans and `None` are quoted: `{1.5: 0, None: 0}` gives
    /// `{"1.5":0,"null":0}`.
    #[inline(always)]
    fn write_key(&mut self, key: &Bound<'py, PyAny>) -> Written {
        // The exact check is a pointer comparison. With the stable ABI, the
        // subclass check behind `cast` is a call into the interpreter.
        if let Some(text) = exact::<PyString>(key) {
            if self.keys.copy_cached(identity(text), &mut self.out) {
                return Ok(());
            }
        }
        self.write_uncached_key(key)
    }

    #[inline(never)]
    fn write_uncached_key(&mut self, key: &Bound<'py, PyAny>) -> Written {
        if let Some(text) = exact::<PyString>(key) {
            let start = self.out.len();
            self.write_string(text)?;
            self.out.push(b':');
            self.keys.insert(identity(text), &self.out, start);
            return Ok(());
        }
        self.write_other_key(key)?;
        self.out.push(b':');
        Ok(())
    }

    /// Encode a key that is not an exact `str`, without the colon.
    #[inline(never)]
    fn write_other_key(&mut self, key: &Bound<'py, PyAny>) -> Written {
        if let Ok(text) = key.cast::<PyString>() {
            return self.write_string(text);
        }

        self.out.push(b'"');
        if let Ok(number) = key.cast::<PyFloat>() {
            json::write_float(&mut self.out, number.value())?;
        } else if let Some(flag) = exact::<PyBool>(key) {
            self.write_bool(flag.is_true());
        } else if key.is_none() {
            self.out.extend_from_slice(b"null");
        } else if let Ok(number) = key.cast::<PyInt>() {
            self.write_int(number)?;
        } else {
            let type_name = c_type_name(&key.get_type())?;
            return Err(EncodeError::UnsupportedKey { type_name }.into());
        }
        self.out.push(b'"');
        Ok(())
    }

    /// Return the output as `bytes`, or raise the `UnicodeEncodeError` that
    /// Starlette's `.encode("utf-8")` raises for lone surrogates.
    fn finish(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let output = PyBytes::new(py, &self.out);
        if !self.has_surrogates {
            return Ok(output);
        }

        // Rebuild the text `json.dumps` would return and encode it strictly, so
        // the error carries the same object, positions and message.
        let text = output.call_method1(
            intern!(py, "decode"),
            (intern!(py, "utf-8"), intern!(py, "surrogatepass")),
        )?;
        let encoded = PyString::type_object(py)
            .call_method1(intern!(py, "encode"), (text, intern!(py, "utf-8")))?;
        Ok(encoded.cast_into::<PyBytes>()?)
    }
}

/// The key and value of one element of a mapping's `items()`, which must be a
/// 2-tuple (a `tuple` subclass too, as the C encoder accepts).
fn item_pair<'py>(item: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let pair = item
        .cast::<PyTuple>()
        .map_err(|_| EncodeError::InvalidItem)?;
    if pair.len() != 2 {
        return Err(EncodeError::InvalidItem.into());
    }
    Ok((pair.get_item(0)?, pair.get_item(1)?))
}

/// `value` as a `T` when its type is exactly `T`, not a subclass.
fn exact<'a, 'py, T: PyTypeInfo>(value: &'a Bound<'py, PyAny>) -> Option<&'a Bound<'py, T>> {
    if value.is_exact_instance_of::<T>() {
        value.cast_exact::<T>().ok()
    } else {
        None
    }
}

/// The identity the C encoder's circular-reference check uses: the address.
fn identity<T>(value: &Bound<'_, T>) -> usize {
    value.as_ptr() as usize
}

/// Collect the items of a list or tuple subclass through its `__iter__`.
fn collect_items<'py>(sequence: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let py = sequence.py();
    let iterator = sequence.try_iter().map_err(|error| {
        if error.is_instance_of::<PyTypeError>(py) {
            // `PySequence_Fast` replaces the message of a failed `iter()`.
            PyTypeError::new_err("_iterencode_list needs a sequence")
        } else {
            error
        }
    })?;
    iterator.collect()
}

/// `int.__repr__(number)`, which also enforces `sys.get_int_max_str_digits()`
/// with the interpreter's own `ValueError`.
fn int_repr<'py>(number: &Bound<'py, PyInt>) -> PyResult<Bound<'py, PyString>> {
    let py = number.py();
    let text = PyInt::type_object(py).call_method1(intern!(py, "__repr__"), (number,))?;
    Ok(text.cast_into::<PyString>()?)
}

/// The error `json.dumps` raises for a value it cannot encode. Its message uses
/// `value.__class__.__name__`, which a proxy object may override.
fn unsupported_type(value: &Bound<'_, PyAny>) -> PyResult<EncodeError> {
    let py = value.py();
    let name = value
        .getattr(intern!(py, "__class__"))?
        .getattr(intern!(py, "__name__"))?
        .str()?;
    Ok(EncodeError::UnsupportedType {
        type_name: name.to_string_lossy().into_owned(),
    })
}

/// The name CPython stores in the type's `tp_name`, which the C encoder's key
/// error prints: `decimal.Decimal` for a type defined in C outside `builtins`,
/// the bare `__name__` for a class statement.
// NOTE: a mutable heap type built by a C extension (a PyO3 class, for example)
// has a dotted `tp_name` too, but only `__name__` is printed for it here.
fn c_type_name(ty: &Bound<'_, PyType>) -> PyResult<String> {
    let py = ty.py();
    let name = ty.name()?.to_string_lossy().into_owned();
    let flags: u64 = ty.getattr(intern!(py, "__flags__"))?.extract()?;
    let is_class_statement = flags & HEAP_TYPE_FLAG != 0 && flags & IMMUTABLE_TYPE_FLAG == 0;
    if is_class_statement {
        return Ok(name);
    }
    match ty.module() {
        Ok(module) if module.to_str().is_ok_and(|module| module != "builtins") => {
            Ok(format!("{}.{name}", module.to_string_lossy()))
        }
        _ => Ok(name),
    }
}
