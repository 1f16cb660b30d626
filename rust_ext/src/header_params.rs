//! Header values with parameters, such as `Content-Type: multipart/form-data;
//! boundary=x` and `Content-Disposition: form-data; name="a"; filename="b.txt"`,
//! split by the rules of python-multipart 0.0.34's `parse_options_header`, which
//! Starlette 1.10 uses for forms:
//!
//! - the value is split at each `;` that is outside double quotes. A `"` right after
//!   a `\` does not open or close quotes, even when that `\` is itself escaped;
//! - the first segment is the main value, stripped of spaces and tabs and
//!   lowercased. Without any `;` that is the whole result;
//! - every other segment is split at its first `=`. The name is stripped and
//!   lowercased and the value stripped, and a segment without `=` is a name with an
//!   empty value, kept as it is apart from stripping;
//! - names that contain `*` are dropped, so the RFC 2231 form `filename*=UTF-8''a`
//!   never reaches the result. RFC 7578 section 4.2 forbids it in form data;
//! - a value in double quotes loses them. Inside, `\\` becomes `\` and then `\"`
//!   becomes `"`, in two passes;
//! - a `filename` that looks like a Windows path (`C:\dir\a.txt` or
//!   `\\server\a.txt`) keeps only its last component, because old browsers send the
//!   full path.
//!
//! Lowercasing is Unicode lowercasing, as Python's `str.lower()` does it. The input is
//! UTF-8, or the surrogate-preserving form of it that Python's
//! `str.encode("utf-8", "surrogatepass")` produces, and so is every piece of the
//! result. The parser returns no error, because every input has a result.

use memchr::{memchr, memmem, memrchr};

/// A header value split into its main value and its parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderParams {
    /// The main value, lowercased: `multipart/form-data` or `form-data`.
    pub value: Vec<u8>,
    /// The parameters in order, repeats included. A name that repeats keeps its
    /// first position and its last value once the pairs go into a dict.
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Split a header value into its main value and its parameters.
///
/// `b"Form-Data; Name=\"a\"; filename*=UTF-8''b"` gives the value `form-data` and
/// the one parameter `("name", "a")`.
pub fn parse_header_params(header: &[u8]) -> HeaderParams {
    if memchr(b';', header).is_none() {
        return HeaderParams {
            value: strip_blanks(&lowercase(header)).to_vec(),
            params: Vec::new(),
        };
    }

    let mut segments = split_segments(header).into_iter();
    let value = segments
        .next()
        .map(|first| lowercase(&join_first_segment(first)))
        .unwrap_or_default();
    let mut params = Vec::new();
    for segment in segments {
        let (name, value) = match memchr(b'=', segment) {
            Some(equals) => {
                let (name, rest) = segment.split_at(equals);
                let name = strip_blanks(&lowercase(name)).to_vec();
                (name, strip_blanks(rest.get(1..).unwrap_or_default()))
            }
            None => (strip_blanks(segment).to_vec(), &[][..]),
        };
        if memchr(b'*', &name).is_some() {
            continue;
        }
        let mut value = unquote_param(value);
        if name == b"filename" && is_windows_path(&value) {
            value = last_path_component(&value).to_vec();
        }
        params.push((name, value));
    }
    HeaderParams { value, params }
}

/// Split at each `;` outside double quotes.
///
/// `a; b="x;y"; c` gives `a`, ` b="x;y"` and ` c`.
fn split_segments(header: &[u8]) -> Vec<&[u8]> {
    let mut segments = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut previous = 0_u8;
    for (index, &byte) in header.iter().enumerate() {
        match byte {
            b'"' if previous != b'\\' => in_quotes = !in_quotes,
            b';' if !in_quotes => {
                segments.push(header.get(start..index).unwrap_or_default());
                start = index.saturating_add(1);
            }
            _ => {}
        }
        previous = byte;
    }
    segments.push(header.get(start..).unwrap_or_default());
    segments
}

/// Rebuild the first segment the way the later ones are read, with the part before
/// its first `=` stripped and lowercased, so that lowercasing the result gives the
/// main value.
fn join_first_segment(segment: &[u8]) -> Vec<u8> {
    let Some(equals) = memchr(b'=', segment) else {
        return strip_blanks(segment).to_vec();
    };
    let (name, rest) = segment.split_at(equals);
    let mut joined = lowercase(strip_blanks_end(name));
    joined.push(b'=');
    joined.extend_from_slice(strip_blanks_start(rest.get(1..).unwrap_or_default()));
    strip_blanks(&joined).to_vec()
}

/// Remove the double quotes around a value and undo its backslash escapes.
fn unquote_param(value: &[u8]) -> Vec<u8> {
    match value {
        [b'"', inner @ .., b'"'] => {
            replace_all(&replace_all(inner, b"\\\\", b"\\"), b"\\\"", b"\"")
        }
        _ => value.to_vec(),
    }
}

/// Replace every non-overlapping `needle`, scanning from the left, as Python's
/// `str.replace` does.
fn replace_all(haystack: &[u8], needle: &[u8], replacement: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut start = 0;
    for found in memmem::find_iter(haystack, needle) {
        out.extend_from_slice(haystack.get(start..found).unwrap_or_default());
        out.extend_from_slice(replacement);
        start = found.saturating_add(needle.len());
    }
    out.extend_from_slice(haystack.get(start..).unwrap_or_default());
    out
}

/// Return whether the second and third characters are `:\`, or the first two are `\\`.
fn is_windows_path(value: &[u8]) -> bool {
    let Some(&first) = value.first() else {
        return false;
    };
    let drive = sequence_len(first);
    value.get(drive..drive.saturating_add(2)) == Some(b":\\") || value.starts_with(b"\\\\")
}

fn last_path_component(value: &[u8]) -> &[u8] {
    match memrchr(b'\\', value) {
        Some(backslash) => value.get(backslash.saturating_add(1)..).unwrap_or_default(),
        None => value,
    }
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

/// Lowercase each run of valid UTF-8 as a whole, so that a final sigma becomes `ς`
/// as in Python, and copy encoded surrogates unchanged.
fn lowercase(text: &[u8]) -> Vec<u8> {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.extend_from_slice(valid.to_lowercase().as_bytes());
                return out;
            }
            Err(error) => {
                let (valid, invalid) = rest.split_at(error.valid_up_to());
                if let Ok(valid) = std::str::from_utf8(valid) {
                    out.extend_from_slice(valid.to_lowercase().as_bytes());
                }
                let invalid_len = error.error_len().unwrap_or(invalid.len());
                let (invalid, tail) = invalid.split_at(invalid_len.min(invalid.len()));
                out.extend_from_slice(invalid);
                rest = tail;
            }
        }
    }
}

fn is_blank(byte: &u8) -> bool {
    matches!(byte, b' ' | b'\t')
}

fn strip_blanks(text: &[u8]) -> &[u8] {
    strip_blanks_end(strip_blanks_start(text))
}

fn strip_blanks_start(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|byte| !is_blank(byte))
        .unwrap_or(text.len());
    text.get(start..).unwrap_or_default()
}

fn strip_blanks_end(text: &[u8]) -> &[u8] {
    let end = text
        .iter()
        .rposition(|byte| !is_blank(byte))
        .map_or(0, |last| last.saturating_add(1));
    text.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header, its expected main value and its expected parameters.
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    );

    fn parse(header: &str) -> (String, Vec<(String, String)>) {
        let parsed = parse_header_params(header.as_bytes());
        let text =
            |bytes: Vec<u8>| String::from_utf8(bytes).expect("pieces of UTF-8 input are UTF-8");
        let params = parsed
            .params
            .into_iter()
            .map(|(name, value)| (text(name), text(value)))
            .collect();
        (text(parsed.value), params)
    }

    fn expect(value: &str, params: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
        let params = params
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        (value.to_string(), params)
    }

    #[test]
    fn parses_table_of_content_types() {
        let cases: &[Case] = &[
            ("", "", &[]),
            ("text/plain", "text/plain", &[]),
            (" \tText/HTML\t ", "text/html", &[]),
            (
                "text/html; charset=UTF-8",
                "text/html",
                &[("charset", "UTF-8")],
            ),
            (
                "text/html ;charset = utf-8 ",
                "text/html",
                &[("charset", "utf-8")],
            ),
            (
                "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
                "multipart/form-data",
                &[("boundary", "----WebKitFormBoundary7MA4YWxkTrZu0gW")],
            ),
            (
                "multipart/form-data; boundary=\"a;b\"",
                "multipart/form-data",
                &[("boundary", "a;b")],
            ),
            (
                "a; Charset=x; CHARSET=y",
                "a",
                &[("charset", "x"), ("charset", "y")],
            ),
            ("a;", "a", &[("", "")]),
            ("a;;b", "a", &[("", ""), ("b", "")]),
            ("a; Flag", "a", &[("Flag", "")]),
            ("a; =x", "a", &[("", "x")]),
            ("a; b==c", "a", &[("b", "=c")]),
            (";b=c", "", &[("b", "c")]),
            ("A=B; c=d", "a=b", &[("c", "d")]),
            (" A = B ; c=d", "a=b", &[("c", "d")]),
            ("a; b=\"\"", "a", &[("b", "")]),
            ("a; b=\"", "a", &[("b", "\"")]),
            ("a; b=\"x\" y", "a", &[("b", "\"x\" y")]),
            ("a; b= \"x y\" ", "a", &[("b", "x y")]),
            ("a; b\n=c", "a", &[("b\n", "c")]),
        ];
        for (header, value, params) in cases {
            assert_eq!(parse(header), expect(value, params), "header {:?}", header);
        }
    }

    #[test]
    fn parses_table_of_content_dispositions() {
        let cases: &[Case] = &[
            (
                "form-data; name=\"field\"",
                "form-data",
                &[("name", "field")],
            ),
            (
                "form-data; name=\"file\"; filename=\"a.txt\"",
                "form-data",
                &[("name", "file"), ("filename", "a.txt")],
            ),
            (
                "form-data; name=\"a\"; filename*=UTF-8''%C3%A9.txt",
                "form-data",
                &[("name", "a")],
            ),
            ("form-data; name*0=a; name=b", "form-data", &[("name", "b")]),
            (
                "form-data; filename=\"C:\\dir\\a.txt\"",
                "form-data",
                &[("filename", "a.txt")],
            ),
            // The quotes come off first, so `\\server` is `\server` when the path is checked.
            (
                "form-data; filename=\"\\\\server\\share\\a.txt\"",
                "form-data",
                &[("filename", "\\server\\share\\a.txt")],
            ),
            (
                "form-data; filename=\\\\server\\a.txt",
                "form-data",
                &[("filename", "a.txt")],
            ),
            (
                "form-data; filename=\"dir\\a.txt\"",
                "form-data",
                &[("filename", "dir\\a.txt")],
            ),
            ("form-data; filename=C:\\", "form-data", &[("filename", "")]),
            (
                "form-data; name=\"C:\\dir\\a\"",
                "form-data",
                &[("name", "C:\\dir\\a")],
            ),
            (
                "form-data; filename=\"é:\\x\\b\"",
                "form-data",
                &[("filename", "b")],
            ),
            (
                "form-data; name=\"a\\\"b\"",
                "form-data",
                &[("name", "a\"b")],
            ),
            (
                "form-data; name=\"a\\\\b\"",
                "form-data",
                &[("name", "a\\b")],
            ),
            (
                "form-data; name=\"a\\\\\\\"b\"",
                "form-data",
                &[("name", "a\\\"b")],
            ),
            ("form-data; name=\"a\\\\\"", "form-data", &[("name", "a\\")]),
            (
                "form-data; name=\"a;b\"; filename=\"c;d\"",
                "form-data",
                &[("name", "a;b"), ("filename", "c;d")],
            ),
            (
                "form-data; name=\"a\\\";b\"",
                "form-data",
                &[("name", "a\";b")],
            ),
            (
                "form-data; name=\"a\\\\\";b",
                "form-data",
                &[("name", "\"a\\\\\";b")],
            ),
        ];
        for (header, value, params) in cases {
            assert_eq!(parse(header), expect(value, params), "header {:?}", header);
        }
    }

    #[test]
    fn lowercases_unicode_like_python() {
        assert_eq!(parse("ÀÉ; ÞX=Y"), expect("àé", &[("þx", "Y")]));
        assert_eq!(
            parse("\u{212A}; \u{178}=1"),
            expect("k", &[("\u{ff}", "1")])
        );
        assert_eq!(parse("ΟΔΟΣ"), expect("οδος", &[]));
        assert_eq!(parse("İ"), expect("i\u{307}", &[]));
    }

    #[test]
    fn encoded_surrogates_pass_through() {
        // U+D800 as `surrogatepass` encodes it, in the main value and a parameter.
        let parsed = parse_header_params(b"A\xed\xa0\x80B; N\xed\xa0\x80=x");
        assert_eq!(parsed.value, b"a\xed\xa0\x80b");
        assert_eq!(
            parsed.params,
            vec![(b"n\xed\xa0\x80".to_vec(), b"x".to_vec())]
        );
    }

    #[test]
    fn malformed_bytes_do_not_panic() {
        for header in [
            &b"\xff; \xe2=\xf0"[..],
            b"\xc3; filename=\xc3",
            b";;\"\\",
            b"a; filename=\xf0:\\",
        ] {
            let _ = parse_header_params(header);
        }
    }
}
