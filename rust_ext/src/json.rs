//! JSON text as Starlette's `JSONResponse` renders it: CPython 3.11's
//! `json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
//! separators=(",", ":"))`, encoded as UTF-8.
//!
//! This module contains the parts that need no Python objects: string escaping,
//! numbers in the form `int.__repr__` and `float.__repr__` give them, and the
//! bookkeeping that rejects circular and overly deep containers. It also has a
//! cache of the text of dict keys and the error enum. [`crate::py::json`] walks
//! the Python objects and calls these.
//!
//! Strings arrive as bytes, not `&str`, because a Python string with lone
//! surrogates reaches us encoded with `surrogatepass`. Its three-byte surrogate
//! sequences are not valid UTF-8, but they pass through escaping unchanged, just
//! as the surrogates pass through `json.dumps` before Starlette's
//! `.encode("utf-8")` rejects them.

use std::collections::HashSet;
use std::fmt;

/// The deepest nesting of lists and dicts that the encoder accepts.
///
/// `json.dumps` counts each nested container against the interpreter's recursion
/// limit (1000 by default, shared with the caller's frames), so it fails somewhat
/// below this depth unless the limit was raised. The walk in [`crate::py::json`]
/// takes up to about 500 bytes of stack per level in a release build, measured
/// on x86-64 with nested dicts and list subclasses, the largest cases (nested
/// lists take about 280 and tuples about 160). So the deepest value needs about
/// a quarter of a 2 MiB thread stack.
// NOTE: a program that raises `sys.setrecursionlimit` can encode deeper values
// with `json.dumps` than with this encoder.
pub const MAX_DEPTH: usize = 1000;

/// A failure to encode a value. Each message is the one `json.dumps` uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A float is NaN or infinite, which JSON cannot represent (`ValueError`).
    NonFiniteFloat,
    /// A list or dict contains itself (`ValueError`).
    CircularReference,
    /// Lists and dicts nest deeper than [`MAX_DEPTH`] (`RecursionError`).
    TooDeep,
    /// A value of a type that JSON has no form for (`TypeError`).
    UnsupportedType {
        /// The name of the value's class, `value.__class__.__name__`.
        type_name: String,
    },
    /// A dict key that is not a `str`, `int`, `float`, `bool` or `None` (`TypeError`).
    UnsupportedKey {
        /// The C-level name of the key's type: `decimal.Decimal` for types
        /// written in C outside `builtins`, the plain class name otherwise.
        type_name: String,
    },
    /// A mapping's `items()` produced something other than a 2-tuple (`ValueError`).
    InvalidItem,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NonFiniteFloat => f.write_str("Out of range float values are not JSON compliant"),
            Self::CircularReference => f.write_str("Circular reference detected"),
            Self::TooDeep => {
                f.write_str("maximum recursion depth exceeded while encoding a JSON object")
            }
            Self::UnsupportedType { type_name } => {
                write!(f, "Object of type {type_name} is not JSON serializable")
            }
            Self::UnsupportedKey { type_name } => write!(
                f,
                "keys must be str, int, float, bool or None, not {}",
                truncate_type_name(type_name)
            ),
            Self::InvalidItem => f.write_str("items must return 2-tuples"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Cut a type name to the 100 bytes that CPython's `%.100s` keeps, replacing a
/// character split by the cut with U+FFFD as CPython's decoder does.
fn truncate_type_name(name: &str) -> std::borrow::Cow<'_, str> {
    match name.as_bytes().get(..100) {
        Some(head) if name.len() > 100 => String::from_utf8_lossy(head),
        _ => std::borrow::Cow::Borrowed(name),
    }
}

/// The byte after the backslash that escapes each byte, or 0 for bytes copied
/// as they are. With `ensure_ascii=False` only `"`, `\` and the C0 control
/// characters are escaped. DEL (0x7F) and everything outside ASCII pass through.
static ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0A] = b'n';
    table[0x0C] = b'f';
    table[0x0D] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Append `text` as a quoted JSON string.
///
/// `"a\tb"` becomes `"a\tb"` with the tab written as backslash and `t`, and
/// U+001F becomes `\u001f` (lower-case hex, as Python writes it).
#[inline]
pub fn write_str(out: &mut Vec<u8>, text: &[u8]) {
    match quote_short(text) {
        Some(quoted) => {
            out.extend_from_slice(&quoted);
            out.truncate(out.len().saturating_sub(BLOCK - 2 - text.len()));
        }
        None => write_long_str(out, text),
    }
}

/// The bytes tested and copied together. Sixteen bytes fill one SSE2
/// register, which every x86-64 processor has, and LLVM compiles
/// [`needs_escape`] to vector instructions on that baseline.
const BLOCK: usize = 16;

/// The maximum length of a text that [`quote_short`] takes. With its quotes it
/// fills a block.
const SHORT_TEXT: usize = BLOCK - 2;

/// `text` between quotes at the start of a block, or `None` when `text` is
/// longer than [`SHORT_TEXT`] or needs escaping.
///
/// The caller copies the whole block and cuts off the bytes after the closing
/// quote, so the common short string costs one fixed-size copy.
#[inline]
fn quote_short(text: &[u8]) -> Option<[u8; BLOCK]> {
    let len = text.len();
    if len > SHORT_TEXT {
        return None;
    }
    let (low, high) = load_short(text);
    // Bytes past the text are zero, which would count as control characters.
    let (low_padding, high_padding) = if len < 8 {
        (shift_up(PADDING, len), PADDING)
    } else {
        (0, shift_up(PADDING, len - 8))
    };
    if escape_mask(low | low_padding) | escape_mask(high | high_padding) != 0 {
        return None;
    }

    // Move the text up one byte for the opening quote, and add the closing one.
    let mut quoted_low = (low << 8) | u64::from(b'"');
    let mut quoted_high = (high << 8) | (low >> 56);
    if len + 1 < 8 {
        quoted_low |= shift_up(u64::from(b'"'), len + 1);
    } else {
        quoted_high |= shift_up(u64::from(b'"'), len + 1 - 8);
    }
    Some((u128::from(quoted_high) << 64 | u128::from(quoted_low)).to_le_bytes())
}

/// Read a text of at most [`BLOCK`] bytes as two little-endian words, the
/// first eight bytes and the rest, with zeros past the end of the text.
///
/// Eight bytes or more are two eight-byte reads that overlap, four to seven
/// are two four-byte reads, and one to three are the first, middle and last
/// byte, so no length needs a loop.
#[inline]
fn load_short(text: &[u8]) -> (u64, u64) {
    let len = text.len();
    if let (Some(head), Some(tail)) = (text.first_chunk::<8>(), text.last_chunk::<8>()) {
        // The last eight bytes end with the bytes past the eighth.
        let rest = shift_down(u64::from_le_bytes(*tail), BLOCK.saturating_sub(len));
        return (u64::from_le_bytes(*head), rest);
    }
    if let (Some(head), Some(tail)) = (text.first_chunk::<4>(), text.last_chunk::<4>()) {
        let tail = u64::from(u32::from_le_bytes(*tail));
        return (
            u64::from(u32::from_le_bytes(*head)) | shift_up(tail, len - 4),
            0,
        );
    }
    let low = match (text.first(), text.get(len / 2), text.last()) {
        (Some(&first), Some(&middle), Some(&last)) => {
            u64::from(first)
                | shift_up(u64::from(middle), len / 2)
                | shift_up(u64::from(last), len - 1)
        }
        _ => 0,
    };
    (low, 0)
}

/// `word` moved up by `bytes` bytes, and zero once every byte has left.
#[inline]
fn shift_up(word: u64, bytes: usize) -> u64 {
    u32::try_from(8 * bytes)
        .ok()
        .and_then(|bits| word.checked_shl(bits))
        .unwrap_or(0)
}

/// `word` moved down by `bytes` bytes, and zero once every byte has left.
#[inline]
fn shift_down(word: u64, bytes: usize) -> u64 {
    u32::try_from(8 * bytes)
        .ok()
        .and_then(|bits| word.checked_shr(bits))
        .unwrap_or(0)
}

/// [`write_str`] for a text that is long or needs escaping.
#[inline(never)]
fn write_long_str(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    // A short text comes here only when it needs escaping.
    let copied = if text.len() > SHORT_TEXT {
        copy_clean_prefix(out, text)
    } else {
        0
    };
    if copied < text.len() {
        write_escaped(out, text.get(copied..).unwrap_or_default());
    }
    out.push(b'"');
}

/// Copy the longest prefix of `text` that needs no escaping and that this
/// function can find without a loop over single bytes, and return its length:
/// `text.len()` when no byte needs escaping.
///
/// Every copy has a fixed size, so none becomes a call to `memcpy`. The tail
/// after the last whole block is copied as the last block of the text, and the
/// copy of the bytes that block repeats is cut off first.
fn copy_clean_prefix(out: &mut Vec<u8>, text: &[u8]) -> usize {
    if text.len() < BLOCK {
        // Eight to fifteen bytes: two words that overlap in the middle.
        let (Some(head), Some(tail)) = (text.first_chunk::<8>(), text.last_chunk::<8>()) else {
            return 0;
        };
        let (head, tail) = (u64::from_le_bytes(*head), u64::from_le_bytes(*tail));
        if escape_mask(head) | escape_mask(tail) != 0 {
            return 0;
        }
        out.extend_from_slice(&head.to_le_bytes());
        out.truncate(out.len().saturating_sub(2 * 8 - text.len()));
        out.extend_from_slice(&tail.to_le_bytes());
        return text.len();
    }

    let mut rest = text;
    // Four blocks at a time while nothing needs escaping, for long texts.
    while let Some((chunk, after)) = rest.split_first_chunk::<{ 4 * BLOCK }>() {
        if needs_escape(chunk) {
            break;
        }
        out.extend_from_slice(chunk);
        rest = after;
    }
    while let Some((block, after)) = rest.split_first_chunk::<BLOCK>() {
        if needs_escape(block) {
            return text.len() - rest.len();
        }
        out.extend_from_slice(block);
        rest = after;
    }
    if rest.is_empty() {
        return text.len();
    }
    match text.last_chunk::<BLOCK>() {
        Some(last) if !needs_escape(last) => {
            out.truncate(out.len().saturating_sub(BLOCK - rest.len()));
            out.extend_from_slice(last);
            text.len()
        }
        _ => text.len() - rest.len(),
    }
}

/// Return whether any byte of `bytes` is `"`, `\\` or below 0x20.
#[inline]
fn needs_escape<const N: usize>(bytes: &[u8; N]) -> bool {
    // OR-ing every result without an early exit lets LLVM vectorize the loop.
    let mut found = 0u8;
    for &byte in bytes {
        found |= u8::from(byte < 0x20) | u8::from(byte == b'"') | u8::from(byte == b'\\');
    }
    found != 0
}

/// Append `text` with its escapes, without the quotes.
#[cold]
#[inline(never)]
fn write_escaped(out: &mut Vec<u8>, text: &[u8]) {
    if text.len() < BLOCK {
        for &byte in text {
            write_byte(out, byte);
        }
        return;
    }
    let mut rest = text;
    while let Some(at) = find_escape(rest) {
        let (clean, tail) = rest.split_at_checked(at).unwrap_or((rest, &[]));
        out.extend_from_slice(clean);
        let Some((&byte, tail)) = tail.split_first() else {
            break;
        };
        rest = tail;
        write_byte(out, byte);
    }
    out.extend_from_slice(rest);
}

/// Append one byte of a string, escaped when it needs to be.
#[inline]
fn write_byte(out: &mut Vec<u8>, byte: u8) {
    match ESCAPES[usize::from(byte)] {
        0 => out.push(byte),
        b'u' => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX_DIGITS[usize::from(byte >> 4)],
            HEX_DIGITS[usize::from(byte & 0x0F)],
        ]),
        escape => out.extend_from_slice(&[b'\\', escape]),
    }
}

/// Find the position of the first byte in `text` that needs escaping.
fn find_escape(text: &[u8]) -> Option<usize> {
    let mut words = text.chunks_exact(8);
    let mut offset = 0;
    // Most strings need no escapes, so test eight bytes at a time.
    for word in &mut words {
        let mask = escape_mask(u64::from_le_bytes(word.try_into().unwrap_or([0; 8])));
        if mask != 0 {
            return Some(offset + first_flagged_byte(mask));
        }
        offset += 8;
    }

    let tail = words.remainder();
    if tail.is_empty() {
        return None;
    }
    let word = match text.last_chunk::<8>() {
        // Re-read the last eight bytes and shift out those tested already,
        // because copying the tail into a stack buffer and loading that as a
        // word stalled on store forwarding in profiles. The freed high bytes
        // get a byte that needs no escape.
        Some(last) => {
            (u64::from_le_bytes(*last) >> (8 * (8 - tail.len()))) | (PADDING << (8 * tail.len()))
        }
        None => tail
            .iter()
            .rev()
            .fold(PADDING, |word, &byte| (word << 8) | u64::from(byte)),
    };
    let mask = escape_mask(word);
    (mask != 0).then(|| offset + first_flagged_byte(mask))
}

/// Return the index of the lowest byte whose high bit `mask` sets. Words are
/// read little-endian, so that is the first flagged byte in memory order.
fn first_flagged_byte(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// Eight `a` bytes, which need no escape, to fill a word past the end of a text.
const PADDING: u64 = u64::from_le_bytes([b'a'; 8]);

/// Flag each byte of `word` that is `"`, `\\` or below 0x20 by setting its high
/// bit, and clear all other bits.
///
/// Subtracting `n` from every byte sets the high bit of each byte below `n`,
/// and `& !word` drops bytes whose high bit was set already. That finds the
/// control characters with `n` = 0x20, and `"` and `\\` with `n` = 1 after an
/// XOR turns them into zero bytes. A borrow can flag a byte after a true match
/// but never before one, so the lowest flagged byte is always a true match.
fn escape_mask(word: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH_BITS: u64 = u64::from_le_bytes([0x80; 8]);
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let is_quote = quote.wrapping_sub(ONES) & !quote;
    let is_backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | is_quote | is_backslash) & HIGH_BITS
}

/// Append an integer in decimal, as `int.__repr__` writes it.
pub fn write_int(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Append a finite float as `float.__repr__` writes it, or reject NaN and the
/// infinities as `json.dumps` does with `allow_nan=False`.
///
/// Python prints the shortest digits that round-trip, in positional notation
/// when the decimal exponent is from -4 to 15 and in scientific notation
/// otherwise: `0.0001`, `1e-05`, `1000000000000000.0`, `1e+16`, `-0.0`.
pub fn write_float(out: &mut Vec<u8>, value: f64) -> Result<(), EncodeError> {
    if !value.is_finite() {
        return Err(EncodeError::NonFiniteFloat);
    }
    let mut buffer = zmij::Buffer::new();
    let text = buffer.format_finite(value).as_bytes();
    // zmij 1.0 already writes Python's notation from 1e-4 up, and zero as
    // `0.0`, which the test against `Digits` below pins. Smaller magnitudes
    // differ (`0.00001` and `1e-7` where Python writes `1e-05` and `1e-07`).
    if value.abs() >= 1e-4 || value == 0.0 {
        out.extend_from_slice(text);
    } else {
        Digits::parse(text).write_python_repr(out);
    }
    Ok(())
}

/// A finite float as its shortest round-trip digits: the value is
/// `0.DIGITS × 10^point`, with no leading or trailing zeros in the digits
/// (zero is the single digit `0` with `point` 1).
struct Digits {
    negative: bool,
    digits: [u8; 24],
    len: usize,
    point: i32,
}

impl Digits {
    /// Read a decimal number such as `-1.25`, `0.001`, `5e-324` or `1e+16`.
    ///
    /// Any text the shortest-digits formatter produces parses, and the parse
    /// reads the digits themselves, so it does not depend on which notation
    /// the formatter picked for a given exponent.
    fn parse(text: &[u8]) -> Self {
        let (negative, text) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        let (mantissa, exponent) = match text.iter().position(|&byte| byte == b'e') {
            Some(at) => (
                text.get(..at).unwrap_or_default(),
                parse_exponent(text.get(at + 1..).unwrap_or_default()),
            ),
            None => (text, 0),
        };

        let mut parsed = Self {
            negative,
            digits: [0; 24],
            len: 0,
            point: 0,
        };
        let mut digits_before_point: i32 = 0;
        let mut seen_point = false;
        let mut leading_zeros: i32 = 0;
        for &byte in mantissa {
            if byte == b'.' {
                seen_point = true;
                continue;
            }
            if !seen_point {
                digits_before_point += 1;
            }
            if parsed.len == 0 && byte == b'0' {
                leading_zeros += 1;
            } else if let Some(slot) = parsed.digits.get_mut(parsed.len) {
                *slot = byte;
                parsed.len += 1;
            }
        }
        while parsed.len > 0 && parsed.digits.get(parsed.len - 1) == Some(&b'0') {
            parsed.len -= 1;
        }

        if parsed.len == 0 {
            parsed.digits[0] = b'0';
            parsed.len = 1;
            parsed.point = 1;
        } else {
            parsed.point = digits_before_point - leading_zeros + exponent;
        }
        parsed
    }

    fn write_python_repr(&self, out: &mut Vec<u8>) {
        let digits = self.digits.get(..self.len).unwrap_or_default();
        let len = i32::try_from(self.len).unwrap_or(i32::MAX);
        if self.negative {
            out.push(b'-');
        }

        if self.point < -3 || self.point > 16 {
            // Scientific: one digit, the rest after a point, and an exponent
            // with a sign and at least two digits.
            let (first, rest) = digits.split_first().unwrap_or((&b'0', &[]));
            out.push(*first);
            if !rest.is_empty() {
                out.push(b'.');
                out.extend_from_slice(rest);
            }
            let exponent = self.point - 1;
            out.extend_from_slice(if exponent < 0 { b"e-" } else { b"e+" });
            if exponent.unsigned_abs() < 10 {
                out.push(b'0');
            }
            out.extend_from_slice(
                itoa::Buffer::new()
                    .format(exponent.unsigned_abs())
                    .as_bytes(),
            );
        } else if self.point <= 0 {
            out.extend_from_slice(b"0.");
            push_zeros(out, self.point.unsigned_abs());
            out.extend_from_slice(digits);
        } else if self.point >= len {
            out.extend_from_slice(digits);
            push_zeros(out, (self.point - len).unsigned_abs());
            out.extend_from_slice(b".0");
        } else {
            let (whole, fraction) = digits
                .split_at_checked(self.point.unsigned_abs() as usize)
                .unwrap_or((digits, &[]));
            out.extend_from_slice(whole);
            out.push(b'.');
            out.extend_from_slice(fraction);
        }
    }
}

/// Parse an exponent such as `-324`, `+16` or `5`. Exponents of finite floats
/// have at most three digits, and the arithmetic saturates in any case.
fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let magnitude = digits.iter().fold(0i32, |total, &byte| {
        total
            .saturating_mul(10)
            .saturating_add(i32::from(byte.wrapping_sub(b'0')))
    });
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

fn push_zeros(out: &mut Vec<u8>, count: u32) {
    out.extend(std::iter::repeat_n(b'0', count as usize));
}

/// Once this many containers are open, the circular-reference check switches
/// from scanning the open containers to a hash set.
const LINEAR_SCAN_DEPTH: usize = 32;

/// The lists and dicts being encoded, from the outermost to the current one.
///
/// `json.dumps` raises `RecursionError` for nesting that is too deep and
/// `ValueError` when a container appears inside itself. A container met again
/// elsewhere (`[x, x]`) is fine because only the open ones are tracked.
#[derive(Debug)]
pub struct OpenContainers {
    depth: usize,
    /// How many containers are open.
    open: usize,
    /// The identities of the outermost open containers. A fixed array, so
    /// that a document nested less deeply allocates nothing here.
    shallow: [usize; LINEAR_SCAN_DEPTH],
    /// The identities of the open containers past the shallow ones, in order.
    deep: Vec<usize>,
    deep_ids: HashSet<usize>,
}

impl Default for OpenContainers {
    fn default() -> Self {
        Self {
            depth: 0,
            open: 0,
            shallow: [0; LINEAR_SCAN_DEPTH],
            deep: Vec::new(),
            deep_ids: HashSet::new(),
        }
    }
}

impl OpenContainers {
    /// Count one more level of nesting.
    ///
    /// `json.dumps` counts empty containers too, so this is separate from
    /// [`Self::open`].
    pub fn descend(&mut self) -> Result<(), EncodeError> {
        if self.depth >= MAX_DEPTH {
            return Err(EncodeError::TooDeep);
        }
        self.depth += 1;
        Ok(())
    }

    /// Undo one [`Self::descend`].
    pub fn ascend(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Record that the non-empty container with identity `id` is being encoded,
    /// or reject it when it is already open.
    pub fn open(&mut self, id: usize) -> Result<(), EncodeError> {
        let shallow = self.shallow.get(..self.open).unwrap_or(&self.shallow);
        if shallow.contains(&id) || (!self.deep.is_empty() && self.deep_ids.contains(&id)) {
            return Err(EncodeError::CircularReference);
        }
        match self.shallow.get_mut(self.open) {
            Some(slot) => *slot = id,
            None => {
                self.deep.push(id);
                self.deep_ids.insert(id);
            }
        }
        self.open += 1;
        Ok(())
    }

    /// Close the container opened last.
    pub fn close(&mut self) {
        self.open = self.open.saturating_sub(1);
        if self.open >= LINEAR_SCAN_DEPTH {
            if let Some(id) = self.deep.pop() {
                self.deep_ids.remove(&id);
            }
        }
    }
}

/// How many sets of two slots a [`KeyCache`] has, a power of two.
const KEY_SETS: usize = 128;

/// Dict keys written earlier in the output, found by the identity of the key
/// object.
///
/// The records in a list usually share their key objects, because they come
/// from the same literal or the same class. So a key met again is copied from
/// the cache, which costs a comparison and a short copy, in place of reading
/// and escaping the string again. Each key maps to a set of two slots, so that
/// two keys of a record that map to the same set do not push each other out on
/// every record. A third key replaces the one of the two inserted first. A slot
/// stores the text of a short key itself, because the first occurrence of a
/// key in the output is soon far away and out of the processor's cache, and it
/// stores where a longer key sits in the output.
///
/// An identity is an address, which a new object can take over once the old
/// one is freed. So the caller must call [`KeyCache::forget_all`] whenever a
/// cached key may have been freed, and must not truncate the output below a
/// cached key without doing so.
#[derive(Debug)]
pub struct KeyCache {
    /// The sets of slots, each with the slot inserted last first.
    sets: [[KeySlot; 2]; KEY_SETS],
    /// Only slots written in this generation are valid.
    generation: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct KeySlot {
    id: usize,
    generation: u32,
    len: u32,
    /// The text of a key of at most [`BLOCK`] bytes, followed by zeros.
    text: [u8; BLOCK],
    /// The start of the text of a longer key in the output.
    start: usize,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            sets: [[KeySlot::default(); 2]; KEY_SETS],
            generation: 1,
        }
    }
}

impl KeyCache {
    /// Append the text cached for the key with identity `id` to `out` and
    /// return true, or return false when that key is not cached.
    #[inline]
    pub fn copy_cached(&self, id: usize, out: &mut Vec<u8>) -> bool {
        let Some(set) = self.sets.get(set_index(id)) else {
            return false;
        };
        let Some(slot) = set
            .iter()
            .find(|slot| slot.id == id && slot.generation == self.generation)
        else {
            return false;
        };
        let len = slot.len as usize;
        if len <= BLOCK {
            out.extend_from_slice(&slot.text);
            out.truncate(out.len().saturating_sub(BLOCK - len));
            return true;
        }
        match slot.start.checked_add(len) {
            Some(end) if end <= out.len() => {
                out.extend_from_within(slot.start..end);
                true
            }
            _ => false,
        }
    }

    /// Remember that `out[start..]` is the text written for the key with
    /// identity `id`.
    pub fn insert(&mut self, id: usize, out: &[u8], start: usize) {
        let Some(key) = out.get(start..) else {
            return;
        };
        let Ok(len) = u32::try_from(key.len()) else {
            return;
        };
        let mut text = [0; BLOCK];
        if let Some(prefix) = text.get_mut(..key.len()) {
            prefix.copy_from_slice(key);
        }
        if let Some([first, second]) = self.sets.get_mut(set_index(id)) {
            *second = *first;
            *first = KeySlot {
                id,
                generation: self.generation,
                len,
                text,
                start,
            };
        }
    }

    /// Invalidate every entry, in constant time except once per 2^32 calls.
    pub fn forget_all(&mut self) {
        if self.generation == u32::MAX {
            self.sets = [[KeySlot::default(); 2]; KEY_SETS];
            self.generation = 0;
        }
        self.generation += 1;
    }
}

/// Return the set of slots for identity `id`. The multiplication by 2^64
/// divided by the golden ratio (Fibonacci hashing) moves the address bits that
/// differ between objects into the top bits, which pick the set.
fn set_index(id: usize) -> usize {
    let mixed = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> (64 - KEY_SETS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_str(&mut out, text);
        out
    }

    fn float(value: f64) -> String {
        let mut out = Vec::new();
        write_float(&mut out, value).expect("the float cases are finite");
        String::from_utf8(out).expect("float text is ASCII")
    }

    #[test]
    fn escapes_table_of_strings() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b"\"\""),
            (b"plain", b"\"plain\""),
            (b"a\"b", b"\"a\\\"b\""),
            (b"a\\b", b"\"a\\\\b\""),
            (b"\n\r\t\x08\x0c", b"\"\\n\\r\\t\\b\\f\""),
            (b"\x00\x01\x1f", b"\"\\u0000\\u0001\\u001f\""),
            (b"\x0b\x1b", b"\"\\u000b\\u001b\""),
            (b"\x7f", b"\"\x7f\""),
            (b"/", b"\"/\""),
            ("é\u{2028}😀".as_bytes(), "\"é\u{2028}😀\"".as_bytes()),
            // A lone surrogate encoded with `surrogatepass` passes through.
            (b"a\xed\xa0\x80b", b"\"a\xed\xa0\x80b\""),
        ];
        for (input, expected) in cases {
            assert_eq!(escaped(input), *expected, "input {:?}", input);
        }
    }

    #[test]
    fn escapes_every_control_character() {
        for byte in 0u8..0x20 {
            let out = escaped(&[byte]);
            assert_eq!(out.first(), Some(&b'"'));
            assert_eq!(out.get(1), Some(&b'\\'), "byte {byte:#04x}");
        }
        for byte in 0x20u8..=0xFF {
            if byte != b'"' && byte != b'\\' {
                assert_eq!(escaped(&[byte]), [b'"', byte, b'"'], "byte {byte:#04x}");
            }
        }
    }

    #[test]
    fn finds_escapes_at_every_offset() {
        // Lengths past two chunks of four blocks, so that every path of
        // `copy_clean_prefix` meets an escape at every offset.
        for len in 0..140 {
            for at in 0..len {
                for special in [b'"', b'\\', b'\n', 0x00, 0x1f] {
                    let mut text = vec![b'a'; len];
                    text[at] = special;
                    let out = escaped(&text);
                    let expected_len = len
                        + 2
                        + if special < 0x20 && special != b'\n' {
                            5
                        } else {
                            1
                        };
                    assert_eq!(out.len(), expected_len, "len {len}, escape at {at}");
                    assert_eq!(find_escape(&text), Some(at));
                }
            }
            assert_eq!(find_escape(&vec![b'a'; len]), None);
        }
    }

    #[test]
    fn escapes_match_byte_by_byte_reference() {
        fn reference(text: &[u8]) -> Vec<u8> {
            let mut out = vec![b'"'];
            for &byte in text {
                match ESCAPES[usize::from(byte)] {
                    0 => out.push(byte),
                    b'u' => out.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
                    escape => out.extend_from_slice(&[b'\\', escape]),
                }
            }
            out.push(b'"');
            out
        }

        // Runs of bytes next to the escaped ones, where a borrow in the word
        // test could flag a neighbour.
        let alphabet = [
            0x00, 0x01, 0x1f, 0x20, 0x21, b'"', 0x23, b'[', b'\\', b']', b'a', 0x7f, 0x80, 0xe9,
        ];
        let mut state: u32 = 12345;
        for len in 0..160 {
            for _ in 0..50 {
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        alphabet[(state >> 16) as usize % alphabet.len()]
                    })
                    .collect();
                assert_eq!(escaped(&text), reference(&text), "input {text:?}");
            }
        }
    }

    #[test]
    fn quotes_clean_text_of_every_length() {
        for len in 0..100 {
            // Neighbouring bytes differ, so a copy to the wrong place shows.
            let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz ~!#$%&'()*+,-./:;<=>?@[]^_`{|}";
            let text: Vec<u8> = (0..len).map(|i| alphabet[i * 7 % alphabet.len()]).collect();
            let mut out = b"prefix".to_vec();
            write_str(&mut out, &text);
            assert_eq!(
                out,
                [b"prefix\"", text.as_slice(), b"\""].concat(),
                "len {len}"
            );
        }
    }

    #[test]
    fn block_test_matches_escape_table() {
        for byte in 0u8..=0xFF {
            for position in 0..4 * BLOCK {
                let mut chunk = [b'x'; 4 * BLOCK];
                chunk[position] = byte;
                let expected = ESCAPES[usize::from(byte)] != 0;
                assert_eq!(
                    needs_escape(&chunk),
                    expected,
                    "byte {byte:#04x} at {position}"
                );
                if let Some(block) = chunk.first_chunk::<BLOCK>() {
                    let in_block = position < BLOCK && expected;
                    assert_eq!(
                        needs_escape(block),
                        in_block,
                        "byte {byte:#04x} at {position}"
                    );
                }
            }
        }
    }

    #[test]
    fn word_test_matches_escape_table() {
        for byte in 0u8..=0xFF {
            for position in 0..8 {
                let mut word = [b'x'; 8];
                word[position] = byte;
                assert_eq!(
                    escape_mask(u64::from_le_bytes(word)) != 0,
                    ESCAPES[usize::from(byte)] != 0,
                    "byte {byte:#04x} at {position}"
                );
            }
        }
    }

    #[test]
    fn zmij_notation_matches_python_from_1e_minus_4() {
        // The fast path in `write_float` copies zmij's text. For every value it
        // covers, that text must equal the `Digits` reformatting.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut checked = 0;
        while checked < 200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Bias half the samples toward exponents near the notation switches.
            let bits = if checked % 2 == 0 {
                state
            } else {
                (state & 0x800F_FFFF_FFFF_FFFF) | ((0x3F0 + (state >> 52) % 0x50) << 52)
            };
            let value = f64::from_bits(bits);
            if !value.is_finite() || value.abs() < 1e-4 {
                continue;
            }
            let mut buffer = zmij::Buffer::new();
            let text = buffer.format_finite(value).as_bytes();
            let mut reformatted = Vec::new();
            Digits::parse(text).write_python_repr(&mut reformatted);
            assert_eq!(text, reformatted, "value {value:e}");
            checked += 1;
        }
    }

    #[test]
    fn formats_table_of_floats_as_python_repr() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (0.3, "0.3"),
            (0.1 + 0.2, "0.30000000000000004"),
            (100.0, "100.0"),
            (123.456, "123.456"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000123, "0.000123"),
            (0.0000123, "1.23e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (9007199254740993.0, "9007199254740992.0"),
            (1e22, "1e+22"),
            (1e100, "1e+100"),
            (1e-100, "1e-100"),
            (5e-324, "5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-1.7976931348623157e308, "-1.7976931348623157e+308"),
            (std::f64::consts::PI, "3.141592653589793"),
            (1.0 / 3.0, "0.3333333333333333"),
            (9.999999999999999e-5, "9.999999999999999e-05"),
            (1.5e-5, "1.5e-05"),
            (1e-7, "1e-07"),
            (-2.5e-10, "-2.5e-10"),
            (1.23e-300, "1.23e-300"),
            (9999999999999998.0, "9999999999999998.0"),
            (2.0f64.powi(60), "1.152921504606847e+18"),
        ];
        for (value, expected) in cases {
            assert_eq!(float(*value), *expected, "value {value:e}");
        }
    }

    #[test]
    fn rejects_nan_and_infinities() {
        for value in [f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut out = Vec::new();
            assert_eq!(
                write_float(&mut out, value),
                Err(EncodeError::NonFiniteFloat)
            );
            assert!(out.is_empty());
        }
    }

    #[test]
    fn parses_digits_in_both_notations() {
        let cases: &[(&str, &str, i32)] = &[
            ("1", "1", 1),
            ("0", "0", 1),
            ("0.0", "0", 1),
            ("12.5", "125", 2),
            ("0.00125", "125", -2),
            ("125000.0", "125", 6),
            ("1e16", "1", 17),
            ("1.25e+16", "125", 17),
            ("5e-324", "5", -323),
            ("1.5e-7", "15", -6),
        ];
        for (text, digits, point) in cases {
            let parsed = Digits::parse(text.as_bytes());
            assert_eq!(
                &parsed.digits[..parsed.len],
                digits.as_bytes(),
                "text {text}"
            );
            assert_eq!(parsed.point, *point, "text {text}");
        }
    }

    #[test]
    fn formats_integers_as_python_repr() {
        let cases: &[(i64, &str)] = &[
            (0, "0"),
            (-1, "-1"),
            (42, "42"),
            (i64::MAX, "9223372036854775807"),
            (i64::MIN, "-9223372036854775808"),
        ];
        for (value, expected) in cases {
            let mut out = Vec::new();
            write_int(&mut out, *value);
            assert_eq!(out, expected.as_bytes());
        }
    }

    #[test]
    fn messages_match_json_dumps() {
        let cases = [
            (
                EncodeError::NonFiniteFloat,
                "Out of range float values are not JSON compliant",
            ),
            (
                EncodeError::CircularReference,
                "Circular reference detected",
            ),
            (
                EncodeError::TooDeep,
                "maximum recursion depth exceeded while encoding a JSON object",
            ),
            (
                EncodeError::UnsupportedType {
                    type_name: "set".to_string(),
                },
                "Object of type set is not JSON serializable",
            ),
            (
                EncodeError::UnsupportedKey {
                    type_name: "decimal.Decimal".to_string(),
                },
                "keys must be str, int, float, bool or None, not decimal.Decimal",
            ),
            (EncodeError::InvalidItem, "items must return 2-tuples"),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn key_type_names_are_cut_at_100_bytes() {
        let long = "K".repeat(150);
        let message = EncodeError::UnsupportedKey { type_name: long }.to_string();
        assert!(message.ends_with(&format!("not {}", "K".repeat(100))));

        // A two-byte character split by the cut becomes U+FFFD.
        let split = format!("{}é", "K".repeat(99));
        let message = EncodeError::UnsupportedKey { type_name: split }.to_string();
        assert!(message.ends_with(&format!("not {}\u{FFFD}", "K".repeat(99))));
    }

    #[test]
    fn key_cache_copies_a_cached_key() {
        let mut cache = KeyCache::default();
        let mut out = b"{\"name\":".to_vec();
        cache.insert(0x7f00_1230, &out, 1);
        out.extend_from_slice(b"1,");
        assert!(cache.copy_cached(0x7f00_1230, &mut out));
        assert_eq!(out, b"{\"name\":1,\"name\":");
        assert!(!cache.copy_cached(0x7f00_1240, &mut out));
    }

    #[test]
    fn key_cache_copies_keys_of_every_length() {
        for len in 0..40 {
            let key: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut out = key.clone();
            let mut cache = KeyCache::default();
            cache.insert(16, &out, 0);
            assert!(cache.copy_cached(16, &mut out), "len {len}");
            assert_eq!(out, [key.as_slice(), key.as_slice()].concat(), "len {len}");
        }
    }

    #[test]
    fn key_cache_forgets_everything() {
        let mut cache = KeyCache::default();
        let mut out = b"\"id\":".to_vec();
        cache.insert(0x1000, &out, 0);
        cache.forget_all();
        assert!(!cache.copy_cached(0x1000, &mut out));
        assert_eq!(out, b"\"id\":");

        // When the generation wraps around to an old value, the slots of that
        // value must not match again.
        let mut cache = KeyCache::default();
        cache.insert(0x2000, &out, 0);
        cache.generation = u32::MAX;
        cache.forget_all();
        assert_eq!(cache.generation, 1);
        assert!(!cache.copy_cached(0x2000, &mut out));
        assert_eq!(out, b"\"id\":");
    }

    #[test]
    fn key_cache_rejects_long_key_outside_output() {
        let mut cache = KeyCache::default();
        let mut out = vec![b'k'; 40];
        cache.insert(0x1000, &out, 0);
        out.truncate(20);
        assert!(!cache.copy_cached(0x1000, &mut out));
        assert_eq!(out, vec![b'k'; 20]);
        // A start past the output stores nothing.
        cache.insert(0x2000, &out, 30);
        assert!(!cache.copy_cached(0x2000, &mut out));
    }

    #[test]
    fn key_cache_keeps_two_colliding_keys() {
        let mut cache = KeyCache::default();
        let mut out = b"\"a\":\"b\":\"c\":".to_vec();
        let mut colliding = (0..).map(|step| 0x1000 + 16 * step);
        let first = colliding.next().expect("an address");
        let mut colliding = colliding.filter(|&id| set_index(id) == set_index(first));
        let second = colliding.next().expect("some address maps to the same set");
        let third = colliding
            .next()
            .expect("another address maps to the same set");
        cache.insert(first, out.get(..4).expect("four bytes"), 0);
        cache.insert(second, out.get(..8).expect("eight bytes"), 4);
        assert!(cache.copy_cached(first, &mut out));
        assert!(cache.copy_cached(second, &mut out));
        assert_eq!(out, b"\"a\":\"b\":\"c\":\"a\":\"b\":");

        // A third key replaces the one inserted first.
        cache.insert(third, out.get(..12).expect("twelve bytes"), 8);
        assert!(!cache.copy_cached(first, &mut out));
        assert!(cache.copy_cached(second, &mut out));
        assert!(cache.copy_cached(third, &mut out));
        assert_eq!(out, b"\"a\":\"b\":\"c\":\"a\":\"b\":\"b\":\"c\":");
    }

    #[test]
    fn open_containers_reject_a_cycle() {
        let mut open = OpenContainers::default();
        open.open(1).expect("first container");
        open.open(2).expect("second container");
        assert_eq!(open.open(1), Err(EncodeError::CircularReference));
        open.close();
        open.open(2).expect("a closed container may appear again");
    }

    #[test]
    fn open_containers_reject_a_deep_cycle() {
        let mut open = OpenContainers::default();
        for id in 0..100 {
            open.open(id).expect("distinct ids");
        }
        assert_eq!(open.open(5), Err(EncodeError::CircularReference));
        assert_eq!(open.open(80), Err(EncodeError::CircularReference));
        for _ in 0..60 {
            open.close();
        }
        open.open(80).expect("id 80 was closed");
        assert_eq!(open.open(39), Err(EncodeError::CircularReference));
    }

    #[test]
    fn open_containers_limit_depth() {
        let mut open = OpenContainers::default();
        for _ in 0..MAX_DEPTH {
            open.descend().expect("within the limit");
        }
        assert_eq!(open.descend(), Err(EncodeError::TooDeep));
        open.ascend();
        open.descend().expect("back within the limit");
    }
}
