//! A streaming parser for `application/x-www-form-urlencoded` bodies, with the rules
//! that Starlette 1.10's `FormParser` gets from python-multipart 0.0.34's
//! `QuerystringParser` (non-strict) and `urllib.parse.unquote_plus`:
//!
//! - fields are split on `&` only, so `;` is ordinary data, and a run of `&`
//!   separates nothing: `&&a=1&` has one field;
//! - a field is split at its first `=`. A field without `=` has an empty value, and
//!   a field that is only `=` is `("", "")`;
//! - the name and the value are read as Latin-1 and decoded like a query string
//!   (see [`crate::query::decode_component`]): `+` is a space, percent-escapes are
//!   UTF-8 with U+FFFD for invalid sequences, and a raw byte `0xE9` is `é`;
//! - the encoded name and value of one field, without the `=`, may have at most
//!   [`Limits::max_field_size`] bytes together, and at most [`Limits::max_fields`]
//!   fields may end. A field that breaks both limits reports its size, because its
//!   bytes arrive before its end.
//!
//! Chunk boundaries never change the result: a field, or an escape inside it, may be
//! split anywhere. A limit fails in the chunk that crosses it, before later chunks
//! are read.

use std::fmt;

use memchr::{memchr, memchr2};

use crate::query::{decode_component, Encoding};

/// Limits on one body. `None` is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// The number of fields the body may have.
    pub max_fields: Option<u64>,
    /// The number of bytes that the encoded name and value of one field may have
    /// together, not counting the `=`.
    pub max_field_size: Option<u64>,
}

/// A body that exceeds one of its [`Limits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlencodedError {
    /// A field ended after `max_fields` fields had ended.
    TooManyFields {
        /// The limit that was exceeded.
        max_fields: u64,
    },
    /// The name and value of one field have more than `max_field_size` bytes.
    FieldTooLarge {
        /// The limit that was exceeded.
        max_field_size: u64,
    },
}

impl fmt::Display for UrlencodedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyFields { max_fields } => {
                write!(f, "the body has more than {max_fields} fields")
            }
            Self::FieldTooLarge { max_field_size } => write!(
                f,
                "a field's name and value have more than {max_field_size} bytes"
            ),
        }
    }
}

impl std::error::Error for UrlencodedError {}

/// The parser's position between two chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// After a `&`, or at the start: no field is open.
    BetweenFields,
    /// Inside the name of an open field.
    Name,
    /// After the `=` of an open field.
    Value,
}

/// A push parser that takes a body chunk by chunk and returns its fields at the end.
///
/// The fields are decoded as soon as they end, so the parser buffers only the field
/// that is open when a chunk ends.
#[derive(Debug)]
pub struct UrlencodedParser {
    limits: Limits,
    state: State,
    /// The part of the open field's name that earlier chunks delivered.
    name: Vec<u8>,
    /// The part of the open field's value that earlier chunks delivered.
    value: Vec<u8>,
    field_size: u64,
    field_count: u64,
    fields: Vec<(String, String)>,
    scratch: Vec<u8>,
    error: Option<UrlencodedError>,
}

impl UrlencodedParser {
    /// Create a parser for one body.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: State::BetweenFields,
            name: Vec::new(),
            value: Vec::new(),
            field_size: 0,
            field_count: 0,
            fields: Vec::new(),
            scratch: Vec::new(),
            error: None,
        }
    }

    /// Parse the next chunk of the body.
    ///
    /// Once a limit has failed, this call and every later one return that error.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), UrlencodedError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let result = self.feed_chunk(chunk);
        if let Err(error) = result {
            self.error = Some(error);
        }
        result
    }

    /// End the body and return its fields in order.
    ///
    /// `b"a=1&b=%C3%A9&c"` fed in any chunks gives `[("a", "1"), ("b", "é"), ("c", "")]`.
    pub fn finish(mut self) -> Result<Vec<(String, String)>, UrlencodedError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.state != State::BetweenFields {
            self.end_open_field()?;
        }
        Ok(self.fields)
    }

    fn feed_chunk(&mut self, chunk: &[u8]) -> Result<(), UrlencodedError> {
        let mut rest = chunk;

        // Continue the field that the previous chunk left open.
        if self.state != State::BetweenFields {
            match memchr(b'&', rest) {
                None => return self.extend_open_field(rest),
                Some(end) => {
                    let (piece, tail) = rest.split_at(end);
                    self.extend_open_field(piece)?;
                    self.end_open_field()?;
                    rest = tail;
                }
            }
        }

        // Fields that start in this chunk. Those that also end in it are decoded
        // straight from the chunk, without copying.
        loop {
            let start = rest
                .iter()
                .position(|&byte| byte != b'&')
                .unwrap_or(rest.len());
            rest = rest.get(start..).unwrap_or_default();
            if rest.is_empty() {
                return Ok(());
            }
            match memchr(b'&', rest) {
                Some(end) => {
                    let (field, tail) = rest.split_at(end);
                    self.add_complete_field(field)?;
                    rest = tail;
                }
                None => {
                    self.field_size = 0;
                    self.name.clear();
                    self.value.clear();
                    self.state = State::Name;
                    return self.extend_open_field(rest);
                }
            }
        }
    }

    /// Add a field that lies whole in one chunk.
    fn add_complete_field(&mut self, field: &[u8]) -> Result<(), UrlencodedError> {
        let (name, value) = split_field(field);
        self.field_size = 0;
        self.count_field_bytes(name.len().saturating_add(value.len()))?;
        self.push_field(name, value)
    }

    /// Append a piece of the open field, which contains no `&`.
    fn extend_open_field(&mut self, piece: &[u8]) -> Result<(), UrlencodedError> {
        if self.state == State::Name {
            if memchr(b'=', piece).is_some() {
                let (name, value) = split_field(piece);
                self.count_field_bytes(name.len())?;
                self.name.extend_from_slice(name);
                self.state = State::Value;
                self.count_field_bytes(value.len())?;
                self.value.extend_from_slice(value);
                return Ok(());
            }
            self.count_field_bytes(piece.len())?;
            self.name.extend_from_slice(piece);
            return Ok(());
        }
        self.count_field_bytes(piece.len())?;
        self.value.extend_from_slice(piece);
        Ok(())
    }

    fn end_open_field(&mut self) -> Result<(), UrlencodedError> {
        let name = std::mem::take(&mut self.name);
        let value = std::mem::take(&mut self.value);
        self.state = State::BetweenFields;
        let result = self.push_field(&name, &value);
        // The buffers go back so that the next open field reuses their capacity.
        self.name = name;
        self.value = value;
        result
    }

    /// Add `size` bytes to the open field, checked before they are buffered so that
    /// an oversized chunk is never copied.
    fn count_field_bytes(&mut self, size: usize) -> Result<(), UrlencodedError> {
        // python-multipart reports no empty pieces, so they never fail a limit.
        if size == 0 {
            return Ok(());
        }
        let size = u64::try_from(size).unwrap_or(u64::MAX);
        self.field_size = self.field_size.saturating_add(size);
        match self.limits.max_field_size {
            Some(max_field_size) if self.field_size > max_field_size => {
                Err(UrlencodedError::FieldTooLarge { max_field_size })
            }
            _ => Ok(()),
        }
    }

    fn push_field(&mut self, name: &[u8], value: &[u8]) -> Result<(), UrlencodedError> {
        self.field_count = self.field_count.saturating_add(1);
        if let Some(max_fields) = self.limits.max_fields {
            if self.field_count > max_fields {
                return Err(UrlencodedError::TooManyFields { max_fields });
            }
        }
        let name = decode(name, &mut self.scratch);
        let value = decode(value, &mut self.scratch);
        self.fields.push((name, value));
        Ok(())
    }
}

/// Decode a name or value, copying plain ASCII in one step because most form fields
/// are plain ASCII.
fn decode(component: &[u8], scratch: &mut Vec<u8>) -> String {
    if component.is_ascii() && memchr2(b'%', b'+', component).is_none() {
        return String::from_utf8_lossy(component).into_owned();
    }
    decode_component(component, Encoding::Latin1, scratch)
}

/// Split a field at its first `=`. A field without `=` has an empty value.
fn split_field(field: &[u8]) -> (&[u8], &[u8]) {
    match memchr(b'=', field) {
        Some(equals) => {
            let (name, rest) = field.split_at(equals);
            (name, rest.get(1..).unwrap_or_default())
        }
        None => (field, &[]),
    }
}

/// Parse a whole body at once with `limits`.
pub fn parse_urlencoded(
    body: &[u8],
    limits: Limits,
) -> Result<Vec<(String, String)>, UrlencodedError> {
    let mut parser = UrlencodedParser::new(limits);
    parser.feed(body)?;
    parser.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body and the fields it parses to.
    type Case = (&'static [u8], &'static [(&'static str, &'static str)]);

    const UNLIMITED: Limits = Limits {
        max_fields: None,
        max_field_size: None,
    };

    fn parse(body: &[u8]) -> Vec<(String, String)> {
        parse_urlencoded(body, UNLIMITED).expect("no limits are set")
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn parse_in_chunks(
        chunks: &[&[u8]],
        limits: Limits,
    ) -> Result<Vec<(String, String)>, UrlencodedError> {
        let mut parser = UrlencodedParser::new(limits);
        for chunk in chunks {
            parser.feed(chunk)?;
        }
        parser.finish()
    }

    #[test]
    fn parses_table_of_bodies() {
        let cases: &[Case] = &[
            (b"", &[]),
            (b"&", &[]),
            (b"&&&", &[]),
            (b"a=1", &[("a", "1")]),
            (b"a=1&b=2&a=3", &[("a", "1"), ("b", "2"), ("a", "3")]),
            (b"&&a=1&&b=2&&", &[("a", "1"), ("b", "2")]),
            (b"a", &[("a", "")]),
            (b"a&b", &[("a", ""), ("b", "")]),
            (b"a=", &[("a", "")]),
            (b"=1", &[("", "1")]),
            (b"=", &[("", "")]),
            (b"=&=", &[("", ""), ("", "")]),
            (b"a==1", &[("a", "=1")]),
            (b"a=1=2", &[("a", "1=2")]),
            (b"a=1;b=2", &[("a", "1;b=2")]),
            (b";", &[(";", "")]),
            (b"a+b=c+d", &[("a b", "c d")]),
            (b"a=%2B", &[("a", "+")]),
            (b"a=%2b%20", &[("a", "+ ")]),
            (b"a=%c3%a9", &[("a", "é")]),
            (b"a=%", &[("a", "%")]),
            (b"a=%4", &[("a", "%4")]),
            (b"a=%zz", &[("a", "%zz")]),
            (b"a=%%41", &[("a", "%A")]),
            (b"a=%2+", &[("a", "%2 ")]),
            (b"a=%00", &[("a", "\0")]),
            (b"%26=%3D", &[("&", "=")]),
            (b"a=%FF", &[("a", "\u{FFFD}")]),
            (b"a=%C3", &[("a", "\u{FFFD}")]),
            (b"a=\xe9", &[("a", "é")]),
            (b"\xff=\x80", &[("\u{ff}", "\u{80}")]),
            (b"a=%C3\xe9%A9", &[("a", "\u{FFFD}é\u{FFFD}")]),
            (b"a=1\r\n", &[("a", "1\r\n")]),
            (b" a = 1 ", &[(" a ", " 1 ")]),
        ];
        for (body, expected) in cases {
            assert_eq!(parse(body), pairs(expected), "body {:?}", body);
        }
    }

    #[test]
    fn every_split_gives_the_same_fields() {
        let body: &[u8] = b"&first=%C3%A9t%C3%A9+x&&no_value&=&%zz=%2&last=a%3Db\xe9";
        let whole = parse(body);
        for cut in 0..=body.len() {
            let (left, right) = body.split_at(cut);
            assert_eq!(
                parse_in_chunks(&[left, right], UNLIMITED),
                Ok(whole.clone()),
                "cut at {cut}"
            );
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(parse_in_chunks(&bytes, UNLIMITED), Ok(whole));
    }

    #[test]
    fn escape_split_across_chunks_decodes_whole() {
        assert_eq!(
            parse_in_chunks(&[b"a=%C", b"3%", b"A9"], UNLIMITED),
            Ok(pairs(&[("a", "é")]))
        );
    }

    #[test]
    fn empty_chunks_change_nothing() {
        assert_eq!(
            parse_in_chunks(&[b"", b"a", b"", b"=", b"", b"1", b""], UNLIMITED),
            Ok(pairs(&[("a", "1")]))
        );
    }

    #[test]
    fn field_count_limit_counts_ended_fields() {
        let limits = Limits {
            max_fields: Some(2),
            max_field_size: None,
        };
        assert_eq!(
            parse_urlencoded(b"a=1&b=2&&", limits),
            Ok(pairs(&[("a", "1"), ("b", "2")]))
        );
        assert_eq!(
            parse_urlencoded(b"a=1&b=2&c", limits),
            Err(UrlencodedError::TooManyFields { max_fields: 2 })
        );
        let none = Limits {
            max_fields: Some(0),
            max_field_size: None,
        };
        assert_eq!(parse_urlencoded(b"&&", none), Ok(Vec::new()));
        assert_eq!(
            parse_urlencoded(b"=", none),
            Err(UrlencodedError::TooManyFields { max_fields: 0 })
        );
    }

    #[test]
    fn field_count_fails_in_ending_chunk() {
        let limits = Limits {
            max_fields: Some(1),
            max_field_size: None,
        };
        let mut parser = UrlencodedParser::new(limits);
        assert_eq!(parser.feed(b"a=1&b=2"), Ok(()));
        assert_eq!(
            parser.feed(b"&"),
            Err(UrlencodedError::TooManyFields { max_fields: 1 })
        );
        assert_eq!(
            parser.feed(b"c=3"),
            Err(UrlencodedError::TooManyFields { max_fields: 1 })
        );
    }

    #[test]
    fn open_field_counts_at_finish() {
        let limits = Limits {
            max_fields: Some(1),
            max_field_size: None,
        };
        let mut parser = UrlencodedParser::new(limits);
        assert_eq!(parser.feed(b"a=1&b"), Ok(()));
        assert_eq!(
            parser.finish(),
            Err(UrlencodedError::TooManyFields { max_fields: 1 })
        );
    }

    #[test]
    fn field_size_counts_name_and_value_without_equals() {
        let limits = Limits {
            max_fields: None,
            max_field_size: Some(4),
        };
        let too_large = Err(UrlencodedError::FieldTooLarge { max_field_size: 4 });
        assert_eq!(
            parse_urlencoded(b"ab=cd&abcd&====", limits),
            Ok(pairs(&[("ab", "cd"), ("abcd", ""), ("", "===")]))
        );
        assert_eq!(parse_urlencoded(b"ab=cde", limits), too_large);
        assert_eq!(parse_urlencoded(b"abcde", limits), too_large);
        assert_eq!(parse_urlencoded(b"======", limits), too_large);
        assert_eq!(
            parse_in_chunks(&[b"ab", b"=", b"cd", b"e"], limits),
            too_large
        );
        // Each field starts from zero, and `&` is not counted.
        assert_eq!(
            parse_in_chunks(&[b"ab=cd&", b"&ab=cd"], limits),
            Ok(pairs(&[("ab", "cd"), ("ab", "cd")]))
        );
    }

    #[test]
    fn zero_field_size_allows_only_bare_equals() {
        let limits = Limits {
            max_fields: None,
            max_field_size: Some(0),
        };
        assert_eq!(
            parse_urlencoded(b"=&=", limits),
            Ok(pairs(&[("", ""), ("", "")]))
        );
        assert_eq!(
            parse_urlencoded(b"=&a", limits),
            Err(UrlencodedError::FieldTooLarge { max_field_size: 0 })
        );
    }

    #[test]
    fn size_error_precedes_count_error() {
        let limits = Limits {
            max_fields: Some(0),
            max_field_size: Some(1),
        };
        assert_eq!(
            parse_urlencoded(b"abc", limits),
            Err(UrlencodedError::FieldTooLarge { max_field_size: 1 })
        );
        assert_eq!(
            parse_urlencoded(b"a", limits),
            Err(UrlencodedError::TooManyFields { max_fields: 0 })
        );
    }

    #[test]
    fn finish_after_error_returns_the_error() {
        let limits = Limits {
            max_fields: None,
            max_field_size: Some(1),
        };
        let mut parser = UrlencodedParser::new(limits);
        assert!(parser.feed(b"abc").is_err());
        assert_eq!(
            parser.finish(),
            Err(UrlencodedError::FieldTooLarge { max_field_size: 1 })
        );
    }

    #[test]
    fn errors_describe_the_limit() {
        assert_eq!(
            UrlencodedError::TooManyFields { max_fields: 3 }.to_string(),
            "the body has more than 3 fields"
        );
        assert_eq!(
            UrlencodedError::FieldTooLarge { max_field_size: 10 }.to_string(),
            "a field's name and value have more than 10 bytes"
        );
    }

    #[test]
    fn large_body_parses_in_small_chunks() {
        let body = "key=value+%C3%A9&".repeat(10_000);
        let chunks: Vec<&[u8]> = body.as_bytes().chunks(7).collect();
        let fields = parse_in_chunks(&chunks, UNLIMITED).expect("no limits are set");
        assert_eq!(fields.len(), 10_000);
        assert!(fields
            .iter()
            .all(|field| field == &("key".to_string(), "value é".to_string())));
    }
}
