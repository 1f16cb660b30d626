//! JSON text as Starlette's `JSONResponse` renders it: CPython 3.11's
//! `json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
//! separators=(",", ":"))`, encoded as UTF-8.
//!
//! This module contains the parts that need no Python objects: string escaping,
//! numbers in the form `int.__repr__` and `float.__repr__` give them, the
//! bookkeeping that rejects circular and overly deep containers, and the error
//! enum. [`crate::py::json`] walks the Python objects and calls these.
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
/// on x86-64 with nested tuples, the largest case. So the deepest value needs
/// about a quarter of a 2 MiB thread stack.
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
pub fn write_str(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut rest = text;
    while let Some(at) = find_escape(rest) {
        let (clean, tail) = rest.split_at_checked(at).unwrap_or((rest, &[]));
        out.extend_from_slice(clean);
        let Some((&byte, tail)) = tail.split_first() else {
            break;
        };
        rest = tail;
        let escape = ESCAPES[usize::from(byte)];
        if escape == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX_DIGITS[usize::from(byte >> 4)],
                HEX_DIGITS[usize::from(byte & 0x0F)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
    }
    out.extend_from_slice(rest);
    out.push(b'"');
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
#[derive(Debug, Default)]
pub struct OpenContainers {
    depth: usize,
    ids: Vec<usize>,
    deep_ids: HashSet<usize>,
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
        let shallow = self.ids.get(..LINEAR_SCAN_DEPTH).unwrap_or(&self.ids);
        if shallow.contains(&id) || self.deep_ids.contains(&id) {
            return Err(EncodeError::CircularReference);
        }
        if self.ids.len() >= LINEAR_SCAN_DEPTH {
            self.deep_ids.insert(id);
        }
        self.ids.push(id);
        Ok(())
    }

    /// Close the container opened last.
    pub fn close(&mut self) {
        if self.ids.len() > LINEAR_SCAN_DEPTH {
            if let Some(id) = self.ids.last() {
                self.deep_ids.remove(id);
            }
        }
        self.ids.pop();
    }
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
        for len in 0..40 {
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
        for len in 0..64 {
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
