//! Query-string parsing with the rules of Python's `urllib.parse.parse_qsl`
//! (`keep_blank_values=True`, UTF-8 with `errors="replace"`), which Starlette's
//! `QueryParams` applies to `scope["query_string"]` decoded as Latin-1.
//!
//! Those rules, as CPython 3.11 implements them:
//!
//! - pairs are split on `&` only, and empty pairs are dropped;
//! - a pair is split at its first `=`; a pair without `=` gets an empty value;
//! - `+` becomes a space before any percent-decoding, so `%2B` stays a `+`;
//! - every maximal run of ASCII characters is percent-decoded, and the bytes are
//!   decoded as UTF-8 with each invalid sequence becoming U+FFFD. An escape is `%`
//!   and exactly two hex digits, and any other `%` is kept;
//! - characters outside ASCII are copied unchanged. From a byte string decoded as
//!   Latin-1, that means a raw byte `0xE9` becomes `é` (U+00E9), not part of a
//!   UTF-8 sequence, while `%C3%A9` becomes `é` through UTF-8.
//!
//! Every input has a result, so parsing cannot fail. Time and memory are linear in
//! the input length.

use memchr::{memchr, memchr2};
use percent_encoding::percent_decode;

/// The character set that query-string bytes outside ASCII are read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Raw bytes from the ASGI scope: each byte is one Latin-1 character.
    Latin1,
    /// The UTF-8 encoding of a Python `str`: its non-ASCII characters are copied.
    Utf8,
}

/// Parse a whole query string into its `(name, value)` pairs, in order.
///
/// `b"a=1&b=%C3%A9&c"` becomes `[("a", "1"), ("b", "é"), ("c", "")]`.
///
/// With [`Encoding::Utf8`] the input must be valid UTF-8; bytes that are not are
/// replaced with U+FFFD rather than copied.
pub fn parse_query_string(input: &[u8], encoding: Encoding) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut scratch = Vec::new();
    for field in input.split(|&byte| byte == b'&') {
        if field.is_empty() {
            continue;
        }
        let (name, value) = match memchr(b'=', field) {
            Some(at) => (&field[..at], &field[at + 1..]),
            None => (field, &field[field.len()..]),
        };
        let name = decode_component(name, encoding, &mut scratch);
        let value = decode_component(value, encoding, &mut scratch);
        pairs.push((name, value));
    }
    pairs
}

/// Decode one name or value: `+` to space, then the ASCII runs percent-decoded as
/// UTF-8 and the other characters copied as `encoding` reads them.
pub fn decode_component(component: &[u8], encoding: Encoding, scratch: &mut Vec<u8>) -> String {
    let mut out = String::with_capacity(component.len());
    let mut rest = component;
    while !rest.is_empty() {
        let ascii_len = rest
            .iter()
            .position(|&byte| !byte.is_ascii())
            .unwrap_or(rest.len());
        let (ascii, tail) = rest.split_at(ascii_len);
        push_ascii_run(ascii, &mut out, scratch);

        let other_len = tail
            .iter()
            .position(|&byte| byte.is_ascii())
            .unwrap_or(tail.len());
        let (other, tail) = tail.split_at(other_len);
        push_non_ascii_run(other, encoding, &mut out);
        rest = tail;
    }
    out
}

/// Append an ASCII run with `+` as space and percent-escapes decoded as UTF-8.
fn push_ascii_run(run: &[u8], out: &mut String, scratch: &mut Vec<u8>) {
    if memchr2(b'%', b'+', run).is_none() {
        // Plain ASCII is already valid UTF-8.
        out.push_str(&String::from_utf8_lossy(run));
        return;
    }
    scratch.clear();
    scratch.extend(run.iter().map(|&byte| if byte == b'+' { b' ' } else { byte }));
    let decoded: Vec<u8> = percent_decode(scratch).collect();
    out.push_str(&String::from_utf8_lossy(&decoded));
}

/// Append a run of bytes that are all outside ASCII.
fn push_non_ascii_run(run: &[u8], encoding: Encoding, out: &mut String) {
    match encoding {
        Encoding::Latin1 => out.extend(run.iter().map(|&byte| char::from(byte))),
        Encoding::Utf8 => out.push_str(&String::from_utf8_lossy(run)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Vec<(String, String)> {
        parse_query_string(input, Encoding::Latin1)
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn parses_table_of_query_strings() {
        let cases: &[(&[u8], &[(&str, &str)])] = &[
            (b"", &[]),
            (b"a=1", &[("a", "1")]),
            (b"a=1&b=2&a=3", &[("a", "1"), ("b", "2"), ("a", "3")]),
            (b"a", &[("a", "")]),
            (b"a=", &[("a", "")]),
            (b"=1", &[("", "1")]),
            (b"=", &[("", "")]),
            (b"&&a=1&&", &[("a", "1")]),
            (b"&", &[]),
            (b"a=1=2", &[("a", "1=2")]),
            (b"a=1;b=2", &[("a", "1;b=2")]),
            (b"a+b=c+d", &[("a b", "c d")]),
            (b"a=%2B", &[("a", "+")]),
            (b"a=%20%41", &[("a", " A")]),
            (b"a=%c3%a9", &[("a", "é")]),
            (b"a=%", &[("a", "%")]),
            (b"a=%4", &[("a", "%4")]),
            (b"a=%zz", &[("a", "%zz")]),
            (b"a=%%41", &[("a", "%A")]),
            (b"a=%2+", &[("a", "%2 ")]),
            (b"a=%00", &[("a", "\0")]),
            (b"%26=%3D", &[("&", "=")]),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input), pairs(expected), "input {:?}", input);
        }
    }

    #[test]
    fn invalid_utf8_escapes_become_replacement_characters() {
        assert_eq!(parse(b"a=%FF"), pairs(&[("a", "\u{FFFD}")]));
        assert_eq!(parse(b"a=%C3"), pairs(&[("a", "\u{FFFD}")]));
        assert_eq!(parse(b"a=%C3x"), pairs(&[("a", "\u{FFFD}x")]));
        assert_eq!(
            parse(b"a=%ED%A0%80"),
            pairs(&[("a", "\u{FFFD}\u{FFFD}\u{FFFD}")])
        );
        assert_eq!(
            parse(b"a=%F0%80%80"),
            pairs(&[("a", "\u{FFFD}\u{FFFD}\u{FFFD}")])
        );
    }

    #[test]
    fn raw_high_bytes_are_latin1_characters() {
        assert_eq!(parse(b"a=\xc3\xa9"), pairs(&[("a", "\u{c3}\u{a9}")]));
        assert_eq!(parse(b"\xff=\x80"), pairs(&[("\u{ff}", "\u{80}")]));
    }

    #[test]
    fn escapes_split_by_a_raw_byte_decode_separately() {
        // Each ASCII run is decoded on its own, so a UTF-8 sequence cut by a raw
        // byte is invalid on both sides.
        assert_eq!(
            parse(b"a=%C3\xe9%A9"),
            pairs(&[("a", "\u{FFFD}\u{e9}\u{FFFD}")])
        );
    }

    #[test]
    fn utf8_input_copies_non_ascii_characters() {
        let input = "ключ=значение&x=%E2%9C%93+ok";
        assert_eq!(
            parse_query_string(input.as_bytes(), Encoding::Utf8),
            pairs(&[("ключ", "значение"), ("x", "✓ ok")])
        );
    }

    #[test]
    fn large_input_parses_in_one_pass() {
        let input = "k=v&".repeat(100_000);
        let parsed = parse(input.as_bytes());
        assert_eq!(parsed.len(), 100_000);
        assert_eq!(parsed[99_999], ("k".to_string(), "v".to_string()));
    }
}
