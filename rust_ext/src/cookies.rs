//! `Cookie` header parsing with the rules of Starlette 1.10's `cookie_parser`, which
//! reads cookies as browsers send them rather than by RFC 6265:
//!
//! - pairs are split on `;`, and each pair at its first `=`. A pair without `=` is a
//!   value with an empty name;
//! - names and values are stripped of whitespace as Python's `str.strip()` strips
//!   it, which also removes U+001C to U+001F and the Unicode spaces;
//! - a pair whose name and value are both empty is dropped. The value is checked
//!   before unquoting, so `""` counts as not empty;
//! - a value in double quotes is unquoted as `http.cookies._unquote` does it. A `\`
//!   with three octal digits (`\012`, at most `\377`) is the character with that
//!   code. A `\` before any other character except a line feed is that character.
//!   Any other backslash stays;
//! - a name that repeats keeps its first position and its last value, as a Python
//!   dict does. [`parse_cookie_header`] returns every pair, repeats included.
//!
//! The input is UTF-8, or the surrogate-preserving form of it that Python's
//! `str.encode("utf-8", "surrogatepass")` produces, and so is every name and value
//! returned. The parser returns no error, because every input has a result.

use std::borrow::Cow;

use memchr::memchr;

/// Parse a `Cookie` header into its `(name, value)` pairs, in order.
///
/// `b"a=1; b=\"x\\\"y\"; a=2"` gives `[("a", "1"), ("b", "x\"y"), ("a", "2")]`.
pub fn parse_cookie_header(header: &[u8]) -> Vec<(&[u8], Cow<'_, [u8]>)> {
    let mut pairs = Vec::new();
    for pair in header.split(|&byte| byte == b';') {
        let (name, value) = match memchr(b'=', pair) {
            Some(equals) => {
                let (name, rest) = pair.split_at(equals);
                (name, rest.get(1..).unwrap_or_default())
            }
            None => (&[][..], pair),
        };
        let name = strip_whitespace(name);
        let value = strip_whitespace(value);
        if name.is_empty() && value.is_empty() {
            continue;
        }
        pairs.push((name, unquote_value(value)));
    }
    pairs
}

/// Return whether Python's `str.isspace()` is true for `character`. That is Rust's
/// White_Space set plus the four information separators U+001C to U+001F.
pub fn is_python_whitespace(character: char) -> bool {
    character.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&character)
}

/// Remove leading and trailing whitespace as Python's `str.strip()` does.
fn strip_whitespace(mut text: &[u8]) -> &[u8] {
    while let Some(length) = leading_whitespace_len(text) {
        text = text.get(length..).unwrap_or_default();
    }
    while let Some(length) = trailing_whitespace_len(text) {
        text = text
            .get(..text.len().saturating_sub(length))
            .unwrap_or_default();
    }
    text
}

/// Return the byte length of the first character if it is whitespace.
fn leading_whitespace_len(text: &[u8]) -> Option<usize> {
    let first = *text.first()?;
    if first.is_ascii() {
        return is_python_whitespace(char::from(first)).then_some(1);
    }
    let length = sequence_len(first);
    let character = decode_one(text.get(..length)?)?;
    is_python_whitespace(character).then_some(length)
}

/// Return the byte length of the last character if it is whitespace.
fn trailing_whitespace_len(text: &[u8]) -> Option<usize> {
    let last = *text.last()?;
    if last.is_ascii() {
        return is_python_whitespace(char::from(last)).then_some(1);
    }
    // A character has at most three continuation bytes after its first byte.
    let start = text
        .iter()
        .rev()
        .take(4)
        .position(|&byte| !is_continuation(byte))?;
    let length = start.saturating_add(1);
    let character = decode_one(text.get(text.len().saturating_sub(length)..)?)?;
    is_python_whitespace(character).then_some(length)
}

/// Decode `bytes` if they are exactly one UTF-8 character. An encoded surrogate is
/// not one, and is never whitespace.
fn decode_one(bytes: &[u8]) -> Option<char> {
    let mut characters = std::str::from_utf8(bytes).ok()?.chars();
    let character = characters.next()?;
    characters.next().is_none().then_some(character)
}

fn is_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

/// Return the length of the UTF-8 sequence that starts with `first`, or 1 for a byte
/// that cannot start one.
fn sequence_len(first: u8) -> usize {
    match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// Unquote a cookie value the way `http.cookies._unquote` does.
///
/// `"\"a\\\"b\\012\""` becomes `a"b` followed by a line feed. A value that does not
/// both start and end with `"` is returned as it is.
pub fn unquote_value(value: &[u8]) -> Cow<'_, [u8]> {
    let inner = match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => return Cow::Borrowed(value),
    };
    if memchr(b'\\', inner).is_none() {
        return Cow::Borrowed(inner);
    }

    let mut out = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(backslash) = memchr(b'\\', rest) {
        let (before, escape) = rest.split_at(backslash);
        out.extend_from_slice(before);
        let after = escape.get(1..).unwrap_or_default();
        if let Some(code) = octal_escape(after) {
            push_latin1(&mut out, code);
            rest = after.get(3..).unwrap_or_default();
            continue;
        }
        match after.first() {
            // `\` before a line feed or at the end is not an escape.
            None | Some(b'\n') => {
                out.push(b'\\');
                rest = after;
            }
            Some(&first) => {
                // The escaped character is kept whole, whatever its length.
                let length = sequence_len(first).min(after.len());
                let (character, tail) = after.split_at(length);
                out.extend_from_slice(character);
                rest = tail;
            }
        }
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

/// Return the character code of `[0-3][0-7][0-7]` at the start of `text`.
fn octal_escape(text: &[u8]) -> Option<u8> {
    match text {
        [high @ b'0'..=b'3', middle @ b'0'..=b'7', low @ b'0'..=b'7', ..] => {
            Some(((high - b'0') << 6) | ((middle - b'0') << 3) | (low - b'0'))
        }
        _ => None,
    }
}

/// Append the UTF-8 encoding of the character U+0000 to U+00FF numbered `code`.
fn push_latin1(out: &mut Vec<u8>, code: u8) {
    let mut buffer = [0; 2];
    out.extend_from_slice(char::from(code).encode_utf8(&mut buffer).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(header: &str) -> Vec<(String, String)> {
        parse_cookie_header(header.as_bytes())
            .into_iter()
            .map(|(name, value)| {
                (
                    String::from_utf8(name.to_vec()).expect("names of UTF-8 input are UTF-8"),
                    String::from_utf8(value.into_owned()).expect("values of UTF-8 input are UTF-8"),
                )
            })
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn parses_table_of_headers() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("", &[]),
            (";", &[]),
            (" ; ;; ", &[]),
            ("a=1", &[("a", "1")]),
            ("a=1; b=2", &[("a", "1"), ("b", "2")]),
            ("a=1;b=2;", &[("a", "1"), ("b", "2")]),
            ("a=1; a=2", &[("a", "1"), ("a", "2")]),
            ("a", &[("", "a")]),
            ("a=", &[("a", "")]),
            ("=a", &[("", "a")]),
            ("=", &[]),
            (" = ", &[]),
            // The value is checked before unquoting, so `""` keeps an empty pair.
            ("\"\"", &[("", "")]),
            ("a=b=c", &[("a", "b=c")]),
            ("  name  =  value  ", &[("name", "value")]),
            ("a=1 2", &[("a", "1 2")]),
            ("a=\t1\t", &[("a", "1")]),
            ("a=\u{1c}1\u{1f}", &[("a", "1")]),
            ("a=\u{a0}1\u{3000}", &[("a", "1")]),
            ("a=\u{85}1\u{2029}", &[("a", "1")]),
            ("a=\u{200b}1", &[("a", "\u{200b}1")]),
            ("a=é", &[("a", "é")]),
            (
                "\u{2003}ключ\u{2003}=\u{2003}значение",
                &[("ключ", "значение")],
            ),
            ("a=%20", &[("a", "%20")]),
            ("a=+", &[("a", "+")]),
        ];
        for (header, expected) in cases {
            assert_eq!(parse(header), pairs(expected), "header {:?}", header);
        }
    }

    #[test]
    fn unquotes_table_of_values() {
        let cases: &[(&str, &str)] = &[
            ("\"\"", ""),
            ("\"", "\""),
            ("\"a", "\"a"),
            ("a\"", "a\""),
            ("\"a\"", "a"),
            ("\" a \"", " a "),
            ("\"a;b\"", "a;b"),
            ("\"\\\"\"", "\""),
            ("\"\\\\\"", "\\"),
            ("\"\\a\"", "a"),
            ("\"\\é\"", "é"),
            ("\"\\\u{1F600}x\"", "\u{1F600}x"),
            ("\"\\012\"", "\n"),
            ("\"\\101\\102\"", "AB"),
            ("\"\\377\"", "\u{ff}"),
            ("\"\\351\"", "é"),
            ("\"a\\073b\"", "a;b"),
            ("\"\\400\"", "400"),
            ("\"\\08\"", "08"),
            ("\"\\01\"", "01"),
            ("\"\\\\012\"", "\\012"),
            ("\"a\\\"", "a\\"),
            ("\"\\\n\"", "\\\n"),
            ("\"\\\nx\\y\"", "\\\nxy"),
            ("\"\\\n\\101\"", "\\\nA"),
            ("a\\\"b", "a\\\"b"),
        ];
        for (value, expected) in cases {
            let unquoted = unquote_value(value.as_bytes());
            assert_eq!(
                String::from_utf8(unquoted.into_owned()).as_deref(),
                Ok(*expected),
                "value {:?}",
                value
            );
        }
    }

    #[test]
    fn quoted_values_are_unquoted_after_stripping() {
        assert_eq!(parse("a= \"1 2\" "), pairs(&[("a", "1 2")]));
        assert_eq!(parse("\"x\""), pairs(&[("", "x")]));
        assert_eq!(parse("a=\"b;c\""), pairs(&[("a", "\"b"), ("", "c\"")]));
    }

    #[test]
    fn strip_matches_python_isspace_table() {
        // Every character for which CPython 3.11's `str.isspace()` is true.
        let python_whitespace = [
            0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000,
            0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028,
            0x2029, 0x202F, 0x205F, 0x3000,
        ];
        for code in 0..=0x10FFFF_u32 {
            let Some(character) = char::from_u32(code) else {
                continue;
            };
            assert_eq!(
                is_python_whitespace(character),
                python_whitespace.contains(&code),
                "U+{code:04X}"
            );
        }
    }

    #[test]
    fn encoded_surrogates_are_kept_and_never_stripped() {
        // U+D800 as `surrogatepass` encodes it.
        let header = b"\xed\xa0\x80=\"\\\xed\xa0\x80\"";
        let parsed = parse_cookie_header(header);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].0, b"\xed\xa0\x80");
        assert_eq!(parsed[0].1.as_ref(), b"\xed\xa0\x80");
    }

    #[test]
    fn unquoting_borrows_when_nothing_changes() {
        assert!(matches!(unquote_value(b"plain"), Cow::Borrowed(_)));
        assert!(matches!(unquote_value(b"\"quoted\""), Cow::Borrowed(_)));
        assert!(matches!(unquote_value(b"\"a\\\"b\""), Cow::Owned(_)));
    }

    #[test]
    fn truncated_sequences_do_not_panic() {
        for header in [
            &b"\"\\\xf0\""[..],
            b"\xe2\x80",
            b"\x80=\xc2",
            b"a=\"\\\xe2\"",
        ] {
            let _ = parse_cookie_header(header);
        }
    }
}
