//! A streaming parser for `multipart/form-data` bodies, fed chunk by chunk as the
//! body arrives, with the syntax that python-multipart 0.0.34 accepts, which is
//! what Starlette 1.10 parses forms with.
//!
//! A body is framed by the delimiter `CRLF--boundary` (RFC 2046 section 5.1.1):
//!
//! ```text
//! --boundary CRLF                          first boundary line
//! Content-Disposition: form-data; name="a" CRLF
//! CRLF                                     end of the part headers
//! value                                    part data
//! CRLF--boundary CRLF                      next part
//! ...
//! CRLF--boundary--                         closing boundary, then an ignored epilogue
//! ```
//!
//! The rules that go beyond that grammar, all taken from python-multipart:
//!
//! - Before the first boundary, a body that starts with CR or LF skips everything up
//!   to the next `-` in the same chunk. Any other preamble is an error.
//! - After the first boundary comes CRLF, or `--` for a body without parts.
//! - A header line is a non-empty token name, `:`, spaces that are dropped and a value
//!   up to CR, which must be followed by LF. LF alone ends nothing.
//! - In part data, the delimiter counts only when CRLF, `--`, or spaces and tabs
//!   follow it. After the blanks, only CRLF may come. A delimiter followed by
//!   anything else is data.
//! - A body that stops early is not an error. [`MultipartParser::finish`]
//!   returns whether the closing boundary came.
//!
//! Two limits bound the memory a part's headers take: [`MAX_PART_HEADERS`] header
//! lines and [`MAX_HEADER_LINE_LENGTH`] bytes per line. python-multipart has the same
//! two. Once a header block is complete, `httparse` checks it as an HTTP header block
//! (RFC 9110 section 5.5), which rejects control characters in values that
//! python-multipart would keep.
//!
//! # Cost
//!
//! Part data is searched with `memchr::memmem`, and a chunk is never copied: data
//! events borrow it. Only bytes at the end of a chunk that may begin a delimiter are
//! kept, at most the delimiter's length plus one, and the header block of the current
//! part, which the limits bound. Every byte is looked at a bounded number of times,
//! so time is linear in the body length however the body is cut into chunks.

// Request bytes must not reach a panic: every access goes through `get`.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use memchr::{memchr, memmem, memrchr};

use crate::header_params;

/// The maximum length of a boundary, in bytes. RFC 2046 allows 70, and python-multipart
/// accepts up to 256.
pub const MAX_BOUNDARY_LENGTH: usize = 256;
/// The maximum number of header lines in a part.
pub const MAX_PART_HEADERS: usize = 8;
/// The maximum length of a header line, in bytes: the name, the colon, the spaces after
/// it and the value, without the CRLF.
pub const MAX_HEADER_LINE_LENGTH: usize = 4096 + 128;

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const HYPHEN: u8 = b'-';

/// One step of the body, in order. Data borrows the chunk it came from where it can.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A part's header block is complete and its data follows.
    PartBegin(Box<PartHeaders>),
    /// A piece of the current part's data. Pieces are never empty.
    Data(Cow<'a, [u8]>),
    /// The current part's data is complete.
    PartEnd,
    /// The closing boundary: the rest of the body is ignored.
    End,
}

/// A receiver of the events that [`MultipartParser::feed`] produces, in order.
///
/// A `Vec` collects them. A caller that converts each event as it comes avoids
/// growing one vector per chunk.
pub trait EventSink<'a> {
    /// Take the next event.
    fn push(&mut self, event: Event<'a>);
}

impl<'a> EventSink<'a> for Vec<Event<'a>> {
    fn push(&mut self, event: Event<'a>) {
        Vec::push(self, event);
    }
}

/// One header line of a part, with its bytes as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The name, in the case the client used.
    pub name: Vec<u8>,
    /// The value after the spaces that follow the colon. Tabs and trailing blanks stay.
    pub value: Vec<u8>,
}

/// A part's headers, and the values a form reads from them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartHeaders {
    /// Every header line, in order.
    pub headers: Vec<Header>,
    /// The `name` parameter of the last `Content-Disposition` header, as Latin-1 bytes.
    pub name: Option<Vec<u8>>,
    /// The `filename` parameter of the same header. A Windows path keeps only its last
    /// component, as python-multipart does.
    pub filename: Option<Vec<u8>>,
    /// The `filename*` parameter of the same header (RFC 8187), decoded.
    ///
    /// RFC 7578 section 4.2 forbids it in form data, and Starlette ignores it.
    pub filename_star: Option<ExtendedValue>,
    /// The value of the first `Content-Type` header, which is the one Starlette's
    /// `UploadFile.content_type` reads.
    pub content_type: Option<Vec<u8>>,
}

/// A parameter value in the extended syntax of RFC 8187: `UTF-8'en'na%C3%AFve.txt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtendedValue {
    /// The charset name as sent, such as `UTF-8` or `ISO-8859-1`.
    pub charset: Vec<u8>,
    /// The language tag, often empty.
    pub language: Vec<u8>,
    /// The value with its percent-escapes decoded, in `charset`.
    pub value: Vec<u8>,
}

/// The reasons to reject a body or a boundary. Offsets count bytes from the start of the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultipartError {
    /// The boundary is longer than [`MAX_BOUNDARY_LENGTH`].
    BoundaryTooLong {
        /// The boundary's length in bytes.
        length: usize,
    },
    /// The body does not start with `--` and the boundary.
    InvalidFirstBoundary {
        /// The offset of the first differing byte.
        offset: u64,
        /// That byte.
        found: u8,
    },
    /// The first boundary is followed by something other than CRLF or `--`.
    InvalidFirstBoundaryEnd {
        /// The offset of the unexpected byte.
        offset: u64,
        /// That byte.
        found: u8,
    },
    /// A part has more than [`MAX_PART_HEADERS`] header lines.
    TooManyHeaders {
        /// The offset where the extra line starts.
        offset: u64,
    },
    /// A header line is longer than [`MAX_HEADER_LINE_LENGTH`].
    HeaderLineTooLong {
        /// The offset of the first byte past the limit.
        offset: u64,
    },
    /// A header name contains a byte that is not a token character (RFC 9110 section 5.6.2).
    InvalidHeaderName {
        /// The offset of the byte.
        offset: u64,
        /// The byte.
        found: u8,
    },
    /// A header line starts with `:`.
    EmptyHeaderName {
        /// The offset of the colon.
        offset: u64,
    },
    /// A CR in a part's headers is not followed by LF.
    MissingLineFeed {
        /// The offset of the byte after the CR.
        offset: u64,
        /// That byte.
        found: u8,
    },
    /// A header value contains a byte that RFC 9110 section 5.5 forbids, such as a
    /// control character other than tab.
    InvalidHeaderValue {
        /// The name of the header, with bytes that are not UTF-8 replaced.
        name: String,
        /// The forbidden byte.
        found: u8,
    },
    /// `httparse` rejected a header block for another reason.
    InvalidHeaderBlock {
        /// `httparse`'s description of the error.
        reason: String,
    },
    /// The blanks after a delimiter are followed by something other than CRLF.
    InvalidBoundaryPadding {
        /// The offset of the unexpected byte.
        offset: u64,
        /// That byte.
        found: u8,
    },
    /// The parser was fed after it had rejected the body.
    AlreadyFailed,
    /// The parser was fed after [`MultipartParser::finish`].
    AlreadyFinished,
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BoundaryTooLong { length } => write!(
                f,
                "the boundary is {length} bytes long, the maximum is {MAX_BOUNDARY_LENGTH}"
            ),
            Self::InvalidFirstBoundary { offset, found } => write!(
                f,
                "expected the boundary at the start of the body, found {} at byte {offset}",
                describe_byte(*found)
            ),
            Self::InvalidFirstBoundaryEnd { offset, found } => write!(
                f,
                "expected CRLF or '--' after the first boundary, found {} at byte {offset}",
                describe_byte(*found)
            ),
            Self::TooManyHeaders { offset } => write!(
                f,
                "a part has more than {MAX_PART_HEADERS} header lines, the extra one starts at byte {offset}"
            ),
            Self::HeaderLineTooLong { offset } => write!(
                f,
                "a part header line is longer than {MAX_HEADER_LINE_LENGTH} bytes at byte {offset}"
            ),
            Self::InvalidHeaderName { offset, found } => write!(
                f,
                "invalid character {} in a part header name at byte {offset}",
                describe_byte(*found)
            ),
            Self::EmptyHeaderName { offset } => {
                write!(f, "a part header line starts with ':' at byte {offset}")
            }
            Self::MissingLineFeed { offset, found } => write!(
                f,
                "expected LF after CR in the part headers, found {} at byte {offset}",
                describe_byte(*found)
            ),
            Self::InvalidHeaderValue { name, found } => write!(
                f,
                "invalid character {} in the value of the part header {name:?}",
                describe_byte(*found)
            ),
            Self::InvalidHeaderBlock { reason } => {
                write!(f, "invalid part header block: {reason}")
            }
            Self::InvalidBoundaryPadding { offset, found } => write!(
                f,
                "expected only spaces or tabs and then CRLF after a boundary, found {} at byte {offset}",
                describe_byte(*found)
            ),
            Self::AlreadyFailed => f.write_str("the parser cannot be fed after an error"),
            Self::AlreadyFinished => f.write_str("the parser cannot be fed after finish()"),
        }
    }
}

impl std::error::Error for MultipartError {}

/// Show a byte as a quoted printable character, or in hex.
fn describe_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() || byte == b' ' {
        format!("'{}'", char::from(byte))
    } else {
        format!("byte 0x{byte:02x}")
    }
}

/// The parser's position in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first boundary: nothing has been read, or a preamble that started with
    /// CR or LF was skipped.
    Preamble,
    /// `matched` bytes of `--boundary` have been read.
    FirstBoundary { matched: usize },
    /// `--boundary` has been read: CR or `-` must follow.
    AfterFirstBoundary,
    /// `--boundary` CR has been read: LF must follow.
    FirstBoundaryCr,
    /// `--boundary-` has been read: a second `-` ends a body without parts.
    FirstBoundaryHyphen,
    /// Inside a part's header block.
    Headers,
    /// Inside a part's data.
    Body,
    /// After a delimiter and one space or tab: more blanks, then CRLF.
    Padding { cr_seen: bool },
    /// After the closing boundary.
    Epilogue,
    /// A body was rejected.
    Failed,
    /// `finish` was called.
    Finished,
}

/// The header scanner's position in the current line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineState {
    /// At the start of a line: CR ends the block, anything else starts a header.
    Start,
    /// Reading the name.
    Name,
    /// After the colon, dropping spaces.
    BeforeValue,
    /// Reading the value up to CR.
    Value,
    /// After the CR that ends a header line.
    LineCr,
    /// After the CR of the blank line that ends the block.
    BlankCr,
}

/// The header block of the current part, kept until it is complete.
#[derive(Debug, Default)]
struct HeaderBlock {
    /// The lines read so far, each with its CRLF, and the current partial line.
    raw: Vec<u8>,
    /// Name and value of each complete line, as ranges of `raw`.
    lines: Vec<(Range<usize>, Range<usize>)>,
    /// The offset of the current line in `raw`.
    line_start: usize,
    /// The offsets in `raw` where the current line's name ends and its value starts.
    name_end: usize,
    value_start: usize,
}

/// A push parser for one `multipart/form-data` body.
///
/// Call [`feed`](Self::feed) with each chunk in order and then
/// [`finish`](Self::finish).
#[derive(Debug)]
pub struct MultipartParser {
    /// `CRLF--boundary`, which ends every part's data.
    delimiter: Vec<u8>,
    // Boxed because the finder contains AVX2 vectors aligned to 32 bytes, more than a
    // Python object guarantees to the pyclass that embeds this parser.
    finder: Box<memmem::Finder<'static>>,
    state: State,
    line: LineState,
    block: HeaderBlock,
    /// Bytes at the end of the last chunk that may start a delimiter: a prefix of it,
    /// the whole delimiter, or the delimiter and a CR or `-`.
    held: Vec<u8>,
    /// Bytes fed before the current chunk, for error offsets.
    offset: u64,
}

impl MultipartParser {
    /// Create a parser for the boundary from the `Content-Type` header, which may be
    /// empty.
    pub fn new(boundary: &[u8]) -> Result<Self, MultipartError> {
        if boundary.len() > MAX_BOUNDARY_LENGTH {
            return Err(MultipartError::BoundaryTooLong {
                length: boundary.len(),
            });
        }
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary);
        let finder = Box::new(memmem::Finder::new(&delimiter).into_owned());
        Ok(Self {
            delimiter,
            finder,
            state: State::Preamble,
            line: LineState::Start,
            block: HeaderBlock::default(),
            held: Vec::new(),
            offset: 0,
        })
    }

    /// Parse the next chunk of the body and pass the events it completes to `events`.
    ///
    /// On error the events before the offending byte have been passed, and every
    /// later call fails with [`MultipartError::AlreadyFailed`].
    pub fn feed<'a>(
        &mut self,
        chunk: &'a [u8],
        events: &mut impl EventSink<'a>,
    ) -> Result<(), MultipartError> {
        match self.state {
            State::Failed => return Err(MultipartError::AlreadyFailed),
            State::Finished => return Err(MultipartError::AlreadyFinished),
            _ => {}
        }
        match self.parse_chunk(chunk, events) {
            Ok(()) => {
                let length = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
                self.offset = self.offset.saturating_add(length);
                Ok(())
            }
            Err(error) => {
                self.state = State::Failed;
                self.release_buffers();
                Err(error)
            }
        }
    }

    /// End the body, and return whether it ended after the closing boundary.
    ///
    /// A body that stops early is not rejected, because python-multipart accepts it:
    /// the parts that ended are kept and the unfinished one is dropped.
    pub fn finish(&mut self) -> bool {
        let complete = self.state == State::Epilogue;
        self.state = State::Finished;
        self.release_buffers();
        complete
    }

    fn release_buffers(&mut self) {
        self.held = Vec::new();
        self.block = HeaderBlock::default();
    }

    /// Convert `position` in the current chunk to an offset in the body.
    fn offset_of(&self, position: usize) -> u64 {
        self.offset
            .saturating_add(u64::try_from(position).unwrap_or(u64::MAX))
    }

    fn parse_chunk<'a>(
        &mut self,
        chunk: &'a [u8],
        events: &mut impl EventSink<'a>,
    ) -> Result<(), MultipartError> {
        let mut position = 0;
        if self.state == State::Body && !self.held.is_empty() && !chunk.is_empty() {
            position = self.resume_held(chunk, events);
        }
        while let Some(&byte) = chunk.get(position) {
            position = match self.state {
                State::Preamble => self.skip_preamble(chunk, position),
                State::FirstBoundary { matched } => {
                    self.match_first_boundary(chunk, position, matched)?
                }
                State::AfterFirstBoundary => {
                    self.state = match byte {
                        CR => State::FirstBoundaryCr,
                        HYPHEN => State::FirstBoundaryHyphen,
                        found => {
                            return Err(MultipartError::InvalidFirstBoundaryEnd {
                                offset: self.offset_of(position),
                                found,
                            })
                        }
                    };
                    position.saturating_add(1)
                }
                State::FirstBoundaryCr | State::FirstBoundaryHyphen => {
                    self.end_first_boundary(byte, position, events)?
                }
                State::Headers => self.read_headers(chunk, position, events)?,
                State::Body => self.read_body(chunk, position, position, events),
                State::Padding { cr_seen } => self.read_padding(byte, cr_seen, position, events)?,
                State::Epilogue | State::Failed | State::Finished => chunk.len(),
            };
        }
        Ok(())
    }

    // The first boundary.

    fn skip_preamble(&mut self, chunk: &[u8], position: usize) -> usize {
        let rest = chunk.get(position..).unwrap_or_default();
        match rest.first() {
            Some(&(CR | LF)) => match memchr(HYPHEN, rest) {
                // The bytes up to the `-` are skipped, blank or not.
                Some(hyphen) => {
                    self.state = State::FirstBoundary { matched: 0 };
                    position.saturating_add(hyphen)
                }
                None => chunk.len(),
            },
            _ => {
                self.state = State::FirstBoundary { matched: 0 };
                position
            }
        }
    }

    fn match_first_boundary(
        &mut self,
        chunk: &[u8],
        position: usize,
        matched: usize,
    ) -> Result<usize, MultipartError> {
        // The delimiter without its leading CRLF is `--boundary`.
        let expected = self
            .delimiter
            .get(matched.saturating_add(2)..)
            .unwrap_or_default();
        let received = chunk.get(position..).unwrap_or_default();
        let common = common_prefix_length(expected, received);
        if common < expected.len() {
            if let Some(&found) = received.get(common) {
                return Err(MultipartError::InvalidFirstBoundary {
                    offset: self.offset_of(position.saturating_add(common)),
                    found,
                });
            }
            self.state = State::FirstBoundary {
                matched: matched.saturating_add(common),
            };
        } else {
            self.state = State::AfterFirstBoundary;
        }
        Ok(position.saturating_add(common))
    }

    fn end_first_boundary<'a>(
        &mut self,
        byte: u8,
        position: usize,
        events: &mut impl EventSink<'a>,
    ) -> Result<usize, MultipartError> {
        match (self.state, byte) {
            (State::FirstBoundaryCr, LF) => self.start_part(),
            (State::FirstBoundaryHyphen, HYPHEN) => {
                events.push(Event::End);
                self.state = State::Epilogue;
            }
            (_, found) => {
                return Err(MultipartError::InvalidFirstBoundaryEnd {
                    offset: self.offset_of(position),
                    found,
                })
            }
        }
        Ok(position.saturating_add(1))
    }

    // Part headers.

    fn start_part(&mut self) {
        self.state = State::Headers;
        self.line = LineState::Start;
        self.block.raw.clear();
        self.block.lines.clear();
    }

    /// Read header lines from `position`, and return where the chunk goes on.
    ///
    /// Each byte is checked when it arrives, so a bad or oversized header fails even
    /// in a body that stops before the line ends, as it does in python-multipart.
    fn read_headers<'a>(
        &mut self,
        chunk: &'a [u8],
        mut position: usize,
        events: &mut impl EventSink<'a>,
    ) -> Result<usize, MultipartError> {
        while let Some(&byte) = chunk.get(position) {
            match self.line {
                LineState::Start => {
                    if byte == CR {
                        self.line = LineState::BlankCr;
                        position = position.saturating_add(1);
                        continue;
                    }
                    if self.block.lines.len() >= MAX_PART_HEADERS {
                        return Err(MultipartError::TooManyHeaders {
                            offset: self.offset_of(position),
                        });
                    }
                    self.block.line_start = self.block.raw.len();
                    self.line = LineState::Name;
                }
                LineState::Name => {
                    let rest = chunk.get(position..).unwrap_or_default();
                    let name_length = rest
                        .iter()
                        .position(|&byte| !is_token_byte(byte))
                        .unwrap_or(rest.len());
                    self.push_line_bytes(rest.get(..name_length).unwrap_or_default(), position)?;
                    position = position.saturating_add(name_length);
                    match chunk.get(position) {
                        None => break,
                        Some(b':') if self.block.raw.len() == self.block.line_start => {
                            return Err(MultipartError::EmptyHeaderName {
                                offset: self.offset_of(position),
                            })
                        }
                        Some(b':') => {
                            self.block.name_end = self.block.raw.len();
                            self.push_line_bytes(b":", position)?;
                            self.line = LineState::BeforeValue;
                            position = position.saturating_add(1);
                        }
                        Some(&found) => {
                            return Err(MultipartError::InvalidHeaderName {
                                offset: self.offset_of(position),
                                found,
                            })
                        }
                    }
                }
                LineState::BeforeValue => {
                    // Spaces are dropped and tabs kept, as python-multipart does.
                    if byte == b' ' {
                        self.push_line_bytes(b" ", position)?;
                        position = position.saturating_add(1);
                    } else {
                        self.block.value_start = self.block.raw.len();
                        self.line = LineState::Value;
                    }
                }
                LineState::Value => {
                    let rest = chunk.get(position..).unwrap_or_default();
                    let Some(cr) = memchr(CR, rest) else {
                        self.push_line_bytes(rest, position)?;
                        break;
                    };
                    self.push_line_bytes(rest.get(..cr).unwrap_or_default(), position)?;
                    self.block.raw.push(CR);
                    self.line = LineState::LineCr;
                    position = position.saturating_add(cr).saturating_add(1);
                }
                LineState::LineCr | LineState::BlankCr => {
                    if byte != LF {
                        return Err(MultipartError::MissingLineFeed {
                            offset: self.offset_of(position),
                            found: byte,
                        });
                    }
                    position = position.saturating_add(1);
                    if self.line == LineState::BlankCr {
                        let headers = self.finish_header_block()?;
                        events.push(Event::PartBegin(Box::new(headers)));
                        self.state = State::Body;
                        return Ok(position);
                    }
                    self.block.raw.push(LF);
                    let block = &mut self.block;
                    let value_end = block.raw.len().saturating_sub(2);
                    block.lines.push((
                        block.line_start..block.name_end,
                        block.value_start..value_end,
                    ));
                    self.line = LineState::Start;
                }
            }
        }
        Ok(chunk.len())
    }

    /// Add bytes of the current header line, which arrived at `position` of the chunk,
    /// rejecting a line that grows past [`MAX_HEADER_LINE_LENGTH`].
    fn push_line_bytes(&mut self, bytes: &[u8], position: usize) -> Result<(), MultipartError> {
        let line_length = self.block.raw.len().saturating_sub(self.block.line_start);
        let room = MAX_HEADER_LINE_LENGTH.saturating_sub(line_length);
        if bytes.len() > room {
            return Err(MultipartError::HeaderLineTooLong {
                offset: self.offset_of(position.saturating_add(room)),
            });
        }
        self.block.raw.extend_from_slice(bytes);
        Ok(())
    }

    /// Check the complete block with `httparse` and collect its headers.
    fn finish_header_block(&mut self) -> Result<PartHeaders, MultipartError> {
        let block = &mut self.block;
        block.raw.extend_from_slice(b"\r\n");
        let mut parsed = [httparse::EMPTY_HEADER; MAX_PART_HEADERS];
        let accepted = match httparse::parse_headers(&block.raw, &mut parsed) {
            // Every line must come out as one header. A LF inside a value would make
            // httparse see more lines, or an early end.
            Ok(httparse::Status::Complete((length, headers))) => {
                length == block.raw.len() && headers.len() == block.lines.len()
            }
            Ok(httparse::Status::Partial) => false,
            Err(error) => {
                return Err(self.describe_rejected_block(Some(error)));
            }
        };
        if !accepted {
            return Err(self.describe_rejected_block(None));
        }

        let block = &self.block;
        let headers = block
            .lines
            .iter()
            .map(|(name, value)| Header {
                name: block.raw.get(name.clone()).unwrap_or_default().to_vec(),
                value: block.raw.get(value.clone()).unwrap_or_default().to_vec(),
            })
            .collect();
        Ok(read_part_headers(headers))
    }

    /// Name the forbidden byte of a block that httparse rejected.
    fn describe_rejected_block(&self, error: Option<httparse::Error>) -> MultipartError {
        let block = &self.block;
        for (name, value) in &block.lines {
            let value = block.raw.get(value.clone()).unwrap_or_default();
            if let Some(&found) = value.iter().find(|&&byte| !is_header_value_byte(byte)) {
                let name = block.raw.get(name.clone()).unwrap_or_default();
                return MultipartError::InvalidHeaderValue {
                    name: String::from_utf8_lossy(name).into_owned(),
                    found,
                };
            }
        }
        let reason = match error {
            Some(error) => error.to_string(),
            None => "httparse read a different number of header lines".to_owned(),
        };
        MultipartError::InvalidHeaderBlock { reason }
    }

    // Part data.

    /// Emit the data of `chunk` from `data_start`, searching for the delimiter from
    /// `search_from`, and return where the chunk goes on.
    fn read_body<'a>(
        &mut self,
        chunk: &'a [u8],
        data_start: usize,
        mut search_from: usize,
        events: &mut impl EventSink<'a>,
    ) -> usize {
        loop {
            let rest = chunk.get(search_from..).unwrap_or_default();
            let Some(found) = self.finder.find(rest) else {
                return self.hold_tail(chunk, data_start, search_from, events);
            };
            let delimiter_start = search_from.saturating_add(found);
            let delimiter_end = delimiter_start.saturating_add(self.delimiter.len());
            match self.end_delimiter(chunk, data_start, delimiter_start, delimiter_end, events) {
                Ok(next) => return next,
                // Not a delimiter after all: the data goes on.
                Err(next_search) => search_from = next_search,
            }
        }
    }

    /// Act on the bytes after a delimiter that ends at `delimiter_end` of the chunk,
    /// or that ended in an earlier chunk if `held` is not empty.
    ///
    /// Returns `Ok(position)` when the delimiter counts or is held for the next chunk,
    /// and `Err(position)` where to search again when it is data. In that case the held
    /// bytes have been emitted as data, and `chunk[data_start..]` has not.
    fn end_delimiter<'a>(
        &mut self,
        chunk: &'a [u8],
        data_start: usize,
        delimiter_start: usize,
        delimiter_end: usize,
        events: &mut impl EventSink<'a>,
    ) -> Result<usize, usize> {
        // The byte after the delimiter may have come with the earlier chunk.
        let carried = self.held.get(self.delimiter.len()).copied();
        let (first, second_at) = match carried {
            Some(byte) => (Some(byte), delimiter_end),
            None => (
                chunk.get(delimiter_end).copied(),
                delimiter_end.saturating_add(1),
            ),
        };
        let second = chunk.get(second_at).copied();
        let next = match (first, second) {
            (Some(CR), Some(LF)) => {
                self.held.clear();
                push_data(chunk, data_start, delimiter_start, events);
                events.push(Event::PartEnd);
                self.start_part();
                second_at.saturating_add(1)
            }
            (Some(HYPHEN), Some(HYPHEN)) => {
                self.held.clear();
                push_data(chunk, data_start, delimiter_start, events);
                events.push(Event::PartEnd);
                events.push(Event::End);
                self.state = State::Epilogue;
                chunk.len()
            }
            (None, _) | (Some(CR | HYPHEN), None) => {
                push_data(chunk, data_start, delimiter_start, events);
                self.held.clear();
                self.held.extend_from_slice(&self.delimiter);
                self.held.extend(first);
                chunk.len()
            }
            (Some(b' ' | b'\t'), _) => {
                self.held.clear();
                push_data(chunk, data_start, delimiter_start, events);
                self.state = State::Padding { cr_seen: false };
                delimiter_end.saturating_add(1)
            }
            (Some(CR | HYPHEN), Some(_)) => return Err(self.release_held(second_at, events)),
            (Some(_), _) => return Err(self.release_held(delimiter_end, events)),
        };
        Ok(next)
    }

    /// Emit the held bytes as data, because they did not start a delimiter, and
    /// return `search_from`.
    fn release_held<'a>(&mut self, search_from: usize, events: &mut impl EventSink<'a>) -> usize {
        if !self.held.is_empty() {
            events.push(Event::Data(Cow::Owned(std::mem::take(&mut self.held))));
        }
        search_from
    }

    /// Continue a delimiter that the last chunk ended inside of.
    fn resume_held<'a>(&mut self, chunk: &'a [u8], events: &mut impl EventSink<'a>) -> usize {
        let matched = self.held.len().min(self.delimiter.len());
        let expected = self.delimiter.get(matched..).unwrap_or_default();
        let common = common_prefix_length(expected, chunk);
        if common < expected.len() {
            if common == chunk.len() {
                self.held.extend_from_slice(chunk);
                return chunk.len();
            }
            // The byte at `common` breaks the match, and may itself start a delimiter.
            let search_from = self.release_held(common, events);
            return self.read_body(chunk, 0, search_from, events);
        }
        match self.end_delimiter(chunk, 0, 0, common, events) {
            Ok(next) => next,
            Err(search_from) => self.read_body(chunk, 0, search_from, events),
        }
    }

    /// Emit the data up to the end of a chunk that has no delimiter, keeping a tail
    /// that may start one.
    fn hold_tail<'a>(
        &mut self,
        chunk: &'a [u8],
        data_start: usize,
        search_from: usize,
        events: &mut impl EventSink<'a>,
    ) -> usize {
        // The delimiter's only CR is its first byte for any boundary without CR, so a
        // held tail starts at the last CR. python-multipart checks the same one.
        let window_start = search_from.max(
            chunk
                .len()
                .saturating_sub(self.delimiter.len().saturating_sub(1)),
        );
        let window = chunk.get(window_start..).unwrap_or_default();
        let hold_from = memrchr(CR, window)
            .map(|cr| window_start.saturating_add(cr))
            .filter(|&cr| {
                self.delimiter
                    .starts_with(chunk.get(cr..).unwrap_or_default())
            })
            .unwrap_or(chunk.len());
        push_data(chunk, data_start, hold_from, events);
        self.held
            .extend_from_slice(chunk.get(hold_from..).unwrap_or_default());
        chunk.len()
    }

    fn read_padding<'a>(
        &mut self,
        byte: u8,
        cr_seen: bool,
        position: usize,
        events: &mut impl EventSink<'a>,
    ) -> Result<usize, MultipartError> {
        match (cr_seen, byte) {
            (false, b' ' | b'\t') => {}
            (false, CR) => self.state = State::Padding { cr_seen: true },
            (true, LF) => {
                events.push(Event::PartEnd);
                self.start_part();
            }
            (_, found) => {
                return Err(MultipartError::InvalidBoundaryPadding {
                    offset: self.offset_of(position),
                    found,
                })
            }
        }
        Ok(position.saturating_add(1))
    }
}

fn push_data<'a>(chunk: &'a [u8], start: usize, end: usize, events: &mut impl EventSink<'a>) {
    match chunk.get(start..end) {
        Some(data) if !data.is_empty() => events.push(Event::Data(Cow::Borrowed(data))),
        _ => {}
    }
}

fn common_prefix_length(left: &[u8], right: &[u8]) -> usize {
    left.iter()
        .zip(right)
        .take_while(|(left, right)| left == right)
        .count()
}

/// Return whether a byte is a token character (RFC 9110 section 5.6.2), as header names are.
fn is_token_byte(byte: u8) -> bool {
    matches!(
        byte,
        b'0'..=b'9'
            | b'a'..=b'z'
            | b'A'..=b'Z'
            | b'!'
            | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'\''
            | b'*'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~'
    )
}

/// Return whether RFC 9110 section 5.5 allows a byte in a header value, as httparse does.
fn is_header_value_byte(byte: u8) -> bool {
    matches!(byte, b'\t' | b' '..=0x7e | 0x80..=0xff)
}

/// Collect the values a form reads from a part's headers.
fn read_part_headers(headers: Vec<Header>) -> PartHeaders {
    let mut part = PartHeaders::default();
    let disposition = headers
        .iter()
        .rev()
        .find(|header| header.name.eq_ignore_ascii_case(b"content-disposition"));
    if let Some(disposition) = disposition {
        read_disposition(&disposition.value, &mut part);
    }
    part.content_type = headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case(b"content-type"))
        .map(|header| header.value.clone());
    part.headers = headers;
    part
}

/// Read `name`, `filename` and `filename*` from a `Content-Disposition` value.
fn read_disposition(value: &[u8], part: &mut PartHeaders) {
    if let Some((name, filename)) = read_plain_disposition(value) {
        part.name = name.map(<[u8]>::to_vec);
        part.filename = filename.map(<[u8]>::to_vec);
    } else {
        // `header_params` splits parameters as python-multipart does, on text. Header
        // bytes are Latin-1, so each byte goes in as one character and comes back as one.
        let text: String = value.iter().map(|&byte| char::from(byte)).collect();
        let parsed = header_params::parse_header_params(text.as_bytes());
        for (name, param) in parsed.params {
            match name.as_slice() {
                b"name" => part.name = Some(latin1_from_utf8(param)),
                b"filename" => part.filename = Some(latin1_from_utf8(param)),
                _ => {}
            }
        }
    }
    if memchr(b'*', value).is_some() {
        part.filename_star = find_extended_filename(value);
    }
}

/// The `name` and `filename` parameters of a `Content-Disposition` value.
type NameAndFilename<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// Read `name` and `filename` without allocating from an ASCII value without `\`, the
/// usual shape, or return `None` for any other value.
///
/// Without escapes and without characters beyond ASCII, the rules of `header_params`
/// come down to splitting at `;` outside quotes, stripping, and dropping one pair of
/// quotes. A test compares the two on generated values.
fn read_plain_disposition(value: &[u8]) -> Option<NameAndFilename<'_>> {
    if !value.is_ascii() || memchr(b'\\', value).is_some() {
        return None;
    }
    let mut name = None;
    let mut filename = None;
    if memchr(b';', value).is_none() {
        return Some((name, filename));
    }
    for segment in split_outside_quotes(value).skip(1) {
        // A name before `=` is compared without case, a bare name as it is.
        let (key, param, case_sensitive) = match memchr(b'=', segment) {
            Some(equals) => {
                let (key, rest) = segment.split_at(equals);
                (
                    trim_blanks(key),
                    trim_blanks(rest.get(1..).unwrap_or_default()),
                    false,
                )
            }
            None => (trim_blanks(segment), &b""[..], true),
        };
        if memchr(b'*', key).is_some() {
            continue;
        }
        let param = match param {
            [b'"', inner @ .., b'"'] => inner,
            _ => param,
        };
        let is_key = |expected: &[u8]| {
            if case_sensitive {
                key == expected
            } else {
                key.eq_ignore_ascii_case(expected)
            }
        };
        if is_key(b"name") {
            name = Some(param);
        } else if is_key(b"filename") {
            filename = Some(param);
        }
    }
    Some((name, filename))
}

/// Encode text whose characters all come from Latin-1 input back into Latin-1.
///
/// `header_params` returns pieces of its input, so every character fits one byte.
/// Bytes that are not UTF-8 are copied as they are.
fn latin1_from_utf8(text: Vec<u8>) -> Vec<u8> {
    if text.is_ascii() {
        return text;
    }
    match std::str::from_utf8(&text) {
        Ok(characters) => characters
            .chars()
            .map(|character| u8::try_from(character).unwrap_or(b'?'))
            .collect(),
        Err(_) => text,
    }
}

/// Find and decode the last `filename*` parameter (RFC 8187 section 3.2):
/// `filename*=UTF-8''na%C3%AFve.txt`.
///
/// A value without the two `'` separators is ignored. A `%` without two hex digits
/// stays as it is.
fn find_extended_filename(value: &[u8]) -> Option<ExtendedValue> {
    let mut found = None;
    for segment in split_outside_quotes(value).skip(1) {
        let Some(equals) = memchr(b'=', segment) else {
            continue;
        };
        let (name, raw) = segment.split_at(equals);
        if !trim_blanks(name).eq_ignore_ascii_case(b"filename*") {
            continue;
        }
        let raw = trim_blanks(raw.get(1..).unwrap_or_default());
        let mut pieces = raw.splitn(3, |&byte| byte == b'\'');
        if let (Some(charset), Some(language), Some(encoded)) =
            (pieces.next(), pieces.next(), pieces.next())
        {
            found = Some(ExtendedValue {
                charset: charset.to_vec(),
                language: language.to_vec(),
                value: percent_encoding::percent_decode(encoded).collect(),
            });
        }
    }
    found
}

/// Split at each `;` outside double quotes, where `\"` neither opens nor closes.
fn split_outside_quotes(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut in_quotes = false;
    let mut previous = 0_u8;
    value.split(move |&byte| {
        let is_separator = byte == b';' && !in_quotes;
        if byte == b'"' && previous != b'\\' {
            in_quotes = !in_quotes;
        }
        previous = byte;
        is_separator
    })
}

fn trim_blanks(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&byte| byte != b' ' && byte != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&byte| byte != b' ' && byte != b'\t')
        .map_or(start, |last| last.saturating_add(1));
    bytes.get(start..end).unwrap_or_default()
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;

    /// An event with owned data, and consecutive data pieces joined.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Seen {
        Begin {
            name: Option<Vec<u8>>,
            filename: Option<Vec<u8>>,
            headers: Vec<(Vec<u8>, Vec<u8>)>,
        },
        Data(Vec<u8>),
        PartEnd,
        End,
    }

    /// The result of parsing a body: the events, the error if any, and what `finish()` returned.
    #[derive(Debug, PartialEq, Eq)]
    struct Outcome {
        events: Vec<Seen>,
        error: Option<MultipartError>,
        complete: bool,
    }

    fn collect(events: Vec<Event<'_>>, seen: &mut Vec<Seen>) {
        for event in events {
            let next = match event {
                Event::PartBegin(part) => Seen::Begin {
                    name: part.name,
                    filename: part.filename,
                    headers: part
                        .headers
                        .into_iter()
                        .map(|header| (header.name, header.value))
                        .collect(),
                },
                Event::Data(data) => {
                    assert!(!data.is_empty(), "data events are never empty");
                    if let Some(Seen::Data(previous)) = seen.last_mut() {
                        previous.extend_from_slice(&data);
                        continue;
                    }
                    Seen::Data(data.into_owned())
                }
                Event::PartEnd => Seen::PartEnd,
                Event::End => Seen::End,
            };
            seen.push(next);
        }
    }

    fn parse_chunks(boundary: &[u8], chunks: &[&[u8]]) -> Outcome {
        let mut parser = MultipartParser::new(boundary).unwrap();
        let mut seen = Vec::new();
        for chunk in chunks {
            let mut events = Vec::new();
            let result = parser.feed(chunk, &mut events);
            collect(events, &mut seen);
            if let Err(error) = result {
                return Outcome {
                    events: seen,
                    error: Some(error),
                    complete: false,
                };
            }
        }
        Outcome {
            events: seen,
            error: None,
            complete: parser.finish(),
        }
    }

    fn parse(body: &[u8]) -> Outcome {
        parse_chunks(b"xyz", &[body])
    }

    /// Parse in chunks of `size` bytes.
    fn parse_in_pieces(boundary: &[u8], body: &[u8], size: usize) -> Outcome {
        let chunks: Vec<&[u8]> = body.chunks(size).collect();
        parse_chunks(boundary, &chunks)
    }

    fn field(name: &str) -> Seen {
        let disposition = format!("form-data; name=\"{name}\"").into_bytes();
        Seen::Begin {
            name: Some(name.as_bytes().to_vec()),
            filename: None,
            headers: vec![(b"Content-Disposition".to_vec(), disposition)],
        }
    }

    fn data(bytes: &[u8]) -> Seen {
        Seen::Data(bytes.to_vec())
    }

    fn complete(events: Vec<Seen>) -> Outcome {
        Outcome {
            events,
            error: None,
            complete: true,
        }
    }

    const TWO_FIELDS: &[u8] = b"--xyz\r\n\
        Content-Disposition: form-data; name=\"a\"\r\n\r\n\
        one\r\n\
        --xyz\r\n\
        Content-Disposition: form-data; name=\"b\"\r\n\r\n\
        two\r\nlines\r\n\
        --xyz--\r\n";

    fn two_fields_events() -> Vec<Seen> {
        vec![
            field("a"),
            data(b"one"),
            Seen::PartEnd,
            field("b"),
            data(b"two\r\nlines"),
            Seen::PartEnd,
            Seen::End,
        ]
    }

    #[test]
    fn parser_reads_two_fields() {
        assert_eq!(parse(TWO_FIELDS), complete(two_fields_events()));
    }

    #[test]
    fn parser_gives_same_events_for_every_chunking() {
        let expected = parse(TWO_FIELDS);
        for size in 1..=TWO_FIELDS.len() {
            assert_eq!(
                parse_in_pieces(b"xyz", TWO_FIELDS, size),
                expected,
                "size {size}"
            );
        }
        for split in 0..=TWO_FIELDS.len() {
            let (left, right) = TWO_FIELDS.split_at(split);
            assert_eq!(
                parse_chunks(b"xyz", &[left, right]),
                expected,
                "split {split}"
            );
        }
    }

    #[test]
    fn parser_splits_near_delimiters_the_same_way() {
        // Data full of delimiter prefixes and delimiters followed by the wrong byte.
        let body: &[u8] = b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\
            \r\n--xy\r\r\n--xyz-\r\n--xyzq\r\n--xyz\rx\r\n-\r\n--x\r\n--xyz--";
        let expected = complete(vec![
            field("a"),
            data(b"\r\n--xy\r\r\n--xyz-\r\n--xyzq\r\n--xyz\rx\r\n-\r\n--x"),
            Seen::PartEnd,
            Seen::End,
        ]);
        assert_eq!(parse(body), expected);
        for size in 1..=body.len() {
            assert_eq!(parse_in_pieces(b"xyz", body, size), expected, "size {size}");
        }
    }

    #[test]
    fn parser_reads_file_part_headers() {
        let body = b"--xyz\r\n\
            content-disposition: form-data; name=\"upload\"; filename=\"C:\\\\docs\\\\a.txt\"\r\n\
            Content-Type:  text/plain \r\n\
            X-Tab:\tkept\r\n\r\n\
            file data\r\n--xyz--";
        let mut parser = MultipartParser::new(b"xyz").unwrap();
        let mut events = Vec::new();
        parser.feed(body, &mut events).unwrap();
        let Some(Event::PartBegin(part)) = events.first() else {
            panic!("expected a part, got {events:?}");
        };
        assert_eq!(part.name.as_deref(), Some(&b"upload"[..]));
        assert_eq!(part.filename.as_deref(), Some(&b"a.txt"[..]));
        assert_eq!(part.content_type.as_deref(), Some(&b"text/plain "[..]));
        assert_eq!(part.headers.len(), 3);
        assert_eq!(part.headers[1].name, b"Content-Type");
        assert_eq!(part.headers[2].value, b"\tkept");
        assert_eq!(events[1], Event::Data(Cow::Borrowed(b"file data")));
        assert!(parser.finish());
    }

    #[test]
    fn disposition_parameters_follow_python_multipart() {
        /// A Content-Disposition value, and the name and filename read from it.
        type Case = (&'static [u8], Option<&'static [u8]>, Option<&'static [u8]>);
        let cases: &[Case] = &[
            (b"form-data; name=\"a\"", Some(b"a"), None),
            (b"form-data; NAME=a; name=b", Some(b"b"), None),
            (b"form-data; name", Some(b""), None),
            (b"form-data; NAME", None, None),
            (b"name=\"a\"", None, None),
            (
                b"form-data; name=\"a;b\"; filename=\"c.txt\"",
                Some(b"a;b"),
                Some(b"c.txt"),
            ),
            (b"form-data; name=\"q\\\"x\"", Some(b"q\"x"), None),
            (b"form-data; name=\"a\\\\\\\\b\"", Some(b"a\\\\b"), None),
            (
                b"form-data; name=a; filename=\"\\\\\\\\srv\\\\share\\\\f.txt\"",
                Some(b"a"),
                Some(b"f.txt"),
            ),
            (
                b"form-data; name=a; filename*=UTF-8''b.txt",
                Some(b"a"),
                None,
            ),
            (b"form-data; name = \"sp aced\" ", Some(b"sp aced"), None),
            (b"form-data; name=\"caf\xe9\"", Some(b"caf\xe9"), None),
            (b"form-data; filename=\"\xc3:\\\\x\\\\y\"", None, Some(b"y")),
        ];
        for &(value, name, filename) in cases {
            let mut part = PartHeaders::default();
            read_disposition(value, &mut part);
            let shown = String::from_utf8_lossy(value);
            assert_eq!(part.name.as_deref(), name, "name of {shown}");
            assert_eq!(part.filename.as_deref(), filename, "filename of {shown}");
        }
    }

    #[test]
    fn plain_disposition_reading_agrees_with_header_params() {
        // Generated ASCII values without `\\`, built from the characters that matter.
        let alphabet = b" \t;=\"nNaAmMeEfilFIL*x";
        let mut state = 0x2545_f491_u32;
        for _ in 0..200_000 {
            let mut value = b"form-data".to_vec();
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            for _ in 0..state % 24 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                value.push(alphabet[state as usize % alphabet.len()]);
            }
            let (name, filename) = read_plain_disposition(&value).unwrap();
            let mut expected = (None, None);
            for (key, param) in header_params::parse_header_params(&value).params {
                match key.as_slice() {
                    b"name" => expected.0 = Some(param),
                    b"filename" => expected.1 = Some(param),
                    _ => {}
                }
            }
            let actual = (name.map(<[u8]>::to_vec), filename.map(<[u8]>::to_vec));
            assert_eq!(actual, expected, "{:?}", String::from_utf8_lossy(&value));
        }
    }

    #[test]
    fn extended_filename_is_decoded() {
        let mut part = PartHeaders::default();
        read_disposition(
            b"form-data; name=a; filename=\"x;filename*=no\"; FILENAME*=UTF-8'en'na%C3%AFve.txt",
            &mut part,
        );
        let expected = ExtendedValue {
            charset: b"UTF-8".to_vec(),
            language: b"en".to_vec(),
            value: "naïve.txt".as_bytes().to_vec(),
        };
        assert_eq!(part.filename_star, Some(expected));
        assert_eq!(part.filename.as_deref(), Some(&b"x;filename*=no"[..]));

        let mut part = PartHeaders::default();
        read_disposition(b"form-data; filename*=no-quotes.txt", &mut part);
        assert_eq!(part.filename_star, None);
    }

    #[test]
    fn preamble_of_line_breaks_is_skipped() {
        let mut body = b"\r\n\r\n".to_vec();
        body.extend_from_slice(TWO_FIELDS);
        assert_eq!(parse(&body), complete(two_fields_events()));

        // Anything up to the first `-` of the chunk goes too.
        let mut body = b"\nnot a boundary ".to_vec();
        body.extend_from_slice(TWO_FIELDS);
        assert_eq!(parse(&body), complete(two_fields_events()));

        // A chunk of line breaks without `-` is skipped whole.
        assert_eq!(
            parse_chunks(b"xyz", &[b"\r\n\r\n", TWO_FIELDS]),
            complete(two_fields_events())
        );
    }

    #[test]
    fn other_preamble_is_rejected() {
        let mut body = b"preamble\r\n".to_vec();
        body.extend_from_slice(TWO_FIELDS);
        let outcome = parse(&body);
        assert_eq!(
            outcome.error,
            Some(MultipartError::InvalidFirstBoundary {
                offset: 0,
                found: b'p'
            })
        );

        // The skip stops at the end of a chunk, so the next chunk must start the boundary.
        let outcome = parse_chunks(b"xyz", &[b"\r\nab", b"c--xyz\r\n"]);
        assert_eq!(
            outcome.error,
            Some(MultipartError::InvalidFirstBoundary {
                offset: 4,
                found: b'c'
            })
        );
    }

    #[test]
    fn wrong_first_boundary_is_rejected() {
        let cases: &[(&[u8], MultipartError)] = &[
            (
                b"--xya\r\n",
                MultipartError::InvalidFirstBoundary {
                    offset: 4,
                    found: b'a',
                },
            ),
            (
                b"--xyz\n\r\n",
                MultipartError::InvalidFirstBoundaryEnd {
                    offset: 5,
                    found: b'\n',
                },
            ),
            (
                b"--xyz \r\n",
                MultipartError::InvalidFirstBoundaryEnd {
                    offset: 5,
                    found: b' ',
                },
            ),
            (
                b"--xyz\rx",
                MultipartError::InvalidFirstBoundaryEnd {
                    offset: 6,
                    found: b'x',
                },
            ),
            (
                b"--xyz-x",
                MultipartError::InvalidFirstBoundaryEnd {
                    offset: 6,
                    found: b'x',
                },
            ),
        ];
        for (body, error) in cases {
            for size in 1..=body.len() {
                let outcome = parse_in_pieces(b"xyz", body, size);
                assert_eq!(
                    outcome.error.as_ref(),
                    Some(error),
                    "{body:?} in pieces of {size}"
                );
                assert_eq!(outcome.events, vec![]);
            }
        }
    }

    #[test]
    fn body_without_parts() {
        assert_eq!(parse(b"--xyz--"), complete(vec![Seen::End]));
        assert_eq!(parse(b"--xyz--\r\nepilogue"), complete(vec![Seen::End]));
    }

    #[test]
    fn epilogue_after_closing_boundary_is_ignored() {
        let mut body = TWO_FIELDS.to_vec();
        body.extend_from_slice(b"garbage\r\n--xyz\r\nContent-Disposition: x\r\n\r\n\x00");
        assert_eq!(parse(&body), complete(two_fields_events()));
        assert_eq!(
            parse_chunks(b"xyz", &[TWO_FIELDS, b"more", b"\r\n--xyz--"]),
            complete(two_fields_events())
        );
    }

    #[test]
    fn closing_boundary_needs_no_final_line_break() {
        let body = &TWO_FIELDS[..TWO_FIELDS.len() - 2];
        assert!(body.ends_with(b"--xyz--"));
        assert_eq!(parse(body), complete(two_fields_events()));
    }

    #[test]
    fn body_ending_inside_a_part_keeps_finished_parts() {
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--xyz\r\n\
            Content-Disposition: form-data; name=\"b\"\r\n\r\ncut short\r\n--x";
        let outcome = parse(body);
        // The bytes that may start a delimiter are never emitted.
        let expected = vec![
            field("a"),
            data(b"one"),
            Seen::PartEnd,
            field("b"),
            data(b"cut short"),
        ];
        assert_eq!(
            outcome,
            Outcome {
                events: expected,
                error: None,
                complete: false
            }
        );

        // Inside a header block, and right after the first boundary.
        assert!(!parse(b"--xyz\r\nContent-Dispo").complete);
        assert_eq!(parse(b"--xyz\r\nContent-Dispo").events, vec![]);
        assert!(!parse(b"--xyz\r\n").complete);
        assert!(!parse(b"").complete);
    }

    #[test]
    fn part_without_name_has_no_name() {
        let body = b"--xyz\r\nContent-Disposition: form-data\r\n\r\nv\r\n--xyz\r\n\r\nw\r\n--xyz--";
        let events = parse(body).events;
        let Seen::Begin { name, headers, .. } = &events[0] else {
            panic!("expected a part, got {events:?}");
        };
        assert_eq!(name, &None);
        assert_eq!(headers.len(), 1);
        assert_eq!(
            events[3],
            Seen::Begin {
                name: None,
                filename: None,
                headers: vec![]
            }
        );
    }

    #[test]
    fn empty_parts_have_no_data() {
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n--xyz\r\n\
            Content-Disposition: form-data; name=\"b\"\r\n\r\n\r\n--xyz--";
        let expected = complete(vec![
            field("a"),
            Seen::PartEnd,
            field("b"),
            Seen::PartEnd,
            Seen::End,
        ]);
        for size in 1..=body.len() {
            assert_eq!(parse_in_pieces(b"xyz", body, size), expected, "size {size}");
        }
    }

    #[test]
    fn line_feed_alone_ends_nothing() {
        let cases: &[(&[u8], MultipartError)] = &[
            (
                b"--xyz\nContent-Disposition: form-data; name=a\n\nv\n--xyz--\n",
                MultipartError::InvalidFirstBoundaryEnd {
                    offset: 5,
                    found: b'\n',
                },
            ),
            (
                b"--xyz\r\nContent-Disposition: form-data; name=a\n\r\n\r\nv\r\n--xyz--",
                MultipartError::InvalidHeaderValue {
                    name: "Content-Disposition".to_owned(),
                    found: b'\n',
                },
            ),
            (
                b"--xyz\r\n\nv\r\n--xyz--",
                MultipartError::InvalidHeaderName {
                    offset: 7,
                    found: b'\n',
                },
            ),
            (
                b"--xyz\r\nA: b\r\r\n",
                MultipartError::MissingLineFeed {
                    offset: 12,
                    found: b'\r',
                },
            ),
            (
                b"--xyz\r\nA: b\r\n\rx",
                MultipartError::MissingLineFeed {
                    offset: 14,
                    found: b'x',
                },
            ),
        ];
        for (body, error) in cases {
            assert_eq!(
                parse(body).error.as_ref(),
                Some(error),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }

        // In part data, a delimiter after LF alone is data.
        let body =
            b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\n--xyz\n\r\n--xyz--";
        assert_eq!(
            parse(body),
            complete(vec![
                field("a"),
                data(b"v\n--xyz\n"),
                Seen::PartEnd,
                Seen::End
            ])
        );
    }

    #[test]
    fn header_names_must_be_tokens() {
        let cases: &[(&[u8], MultipartError)] = &[
            (
                b"--xyz\r\nA B: c\r\n",
                MultipartError::InvalidHeaderName {
                    offset: 8,
                    found: b' ',
                },
            ),
            (
                b"--xyz\r\nA : c\r\n",
                MultipartError::InvalidHeaderName {
                    offset: 8,
                    found: b' ',
                },
            ),
            (
                b"--xyz\r\n: c\r\n",
                MultipartError::EmptyHeaderName { offset: 7 },
            ),
            (
                b"--xyz\r\n cont: c\r\n",
                MultipartError::InvalidHeaderName {
                    offset: 7,
                    found: b' ',
                },
            ),
            (
                b"--xyz\r\nA\xff: c\r\n",
                MultipartError::InvalidHeaderName {
                    offset: 8,
                    found: 0xff,
                },
            ),
        ];
        for (body, error) in cases {
            for size in 1..=body.len() {
                let outcome = parse_in_pieces(b"xyz", body, size);
                assert_eq!(
                    outcome.error.as_ref(),
                    Some(error),
                    "{body:?} in pieces of {size}"
                );
            }
        }
    }

    #[test]
    fn header_values_keep_tabs_and_trailing_blanks() {
        let body = b"--xyz\r\nContent-Disposition:   form-data; name=a\r\nX:\t a \t\r\nEmpty:\r\n\r\n\r\n--xyz--";
        let events = parse(body).events;
        let Seen::Begin { headers, .. } = &events[0] else {
            panic!("expected a part, got {events:?}");
        };
        assert_eq!(
            headers,
            &vec![
                (
                    b"Content-Disposition".to_vec(),
                    b"form-data; name=a".to_vec()
                ),
                (b"X".to_vec(), b"\t a \t".to_vec()),
                (b"Empty".to_vec(), b"".to_vec()),
            ]
        );
    }

    #[test]
    fn control_characters_in_header_values_are_rejected() {
        for byte in (0_u8..0x20).chain([0x7f]) {
            if byte == b'\t' || byte == b'\r' {
                continue;
            }
            let mut body = b"--xyz\r\nContent-Disposition: form-data; name=\"a".to_vec();
            body.push(byte);
            body.extend_from_slice(b"\"\r\n\r\nv\r\n--xyz--");
            let expected = MultipartError::InvalidHeaderValue {
                name: "Content-Disposition".to_owned(),
                found: byte,
            };
            assert_eq!(parse(&body).error, Some(expected), "byte {byte:#x}");
        }
        // Bytes above 0x7f are allowed, as obs-text.
        let body =
            b"--xyz\r\nContent-Disposition: form-data; name=\"\xe9\xff\"\r\n\r\nv\r\n--xyz--";
        assert_eq!(parse(body).error, None);
    }

    #[test]
    fn header_count_is_limited() {
        let header_lines = |count: usize| {
            let mut body = b"--xyz\r\nContent-Disposition: form-data; name=a\r\n".to_vec();
            for index in 1..count {
                body.extend_from_slice(format!("X-{index}: v\r\n").as_bytes());
            }
            body
        };
        let mut body = header_lines(MAX_PART_HEADERS);
        body.extend_from_slice(b"\r\nv\r\n--xyz--");
        assert_eq!(parse(&body).error, None);

        // The extra line is rejected as soon as it starts, even in a body cut short there.
        let mut body = header_lines(MAX_PART_HEADERS);
        let offset = u64::try_from(body.len()).unwrap();
        body.push(b'X');
        for size in [1, 7, body.len()] {
            assert_eq!(
                parse_in_pieces(b"xyz", &body, size).error,
                Some(MultipartError::TooManyHeaders { offset }),
                "pieces of {size}"
            );
        }
    }

    #[test]
    fn header_line_length_is_limited() {
        let line = |length: usize| {
            let mut body = b"--xyz\r\nX: ".to_vec();
            body.resize(7 + length, b'v');
            body
        };
        let mut body = line(MAX_HEADER_LINE_LENGTH);
        body.extend_from_slice(b"\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--xyz--");
        assert_eq!(parse(&body).error, None);

        // One byte more fails when it arrives, whichever part of the line it is in.
        let limit = u64::try_from(7 + MAX_HEADER_LINE_LENGTH).unwrap();
        let mut name_only = b"--xyz\r\n".to_vec();
        name_only.resize(7 + MAX_HEADER_LINE_LENGTH, b'N');
        let mut spaces = b"--xyz\r\nX:".to_vec();
        spaces.resize(7 + MAX_HEADER_LINE_LENGTH, b' ');
        for mut body in [line(MAX_HEADER_LINE_LENGTH), name_only, spaces] {
            body.push(b':');
            for size in [1, 1000, body.len()] {
                assert_eq!(
                    parse_in_pieces(b"xyz", &body, size).error,
                    Some(MultipartError::HeaderLineTooLong { offset: limit }),
                    "pieces of {size}"
                );
            }
        }
    }

    #[test]
    fn blanks_after_a_delimiter() {
        let body =
            b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--xyz \t \r\n\
            Content-Disposition: form-data; name=\"b\"\r\n\r\ntwo\r\n--xyz--";
        let expected = complete(vec![
            field("a"),
            data(b"one"),
            Seen::PartEnd,
            field("b"),
            data(b"two"),
            Seen::PartEnd,
            Seen::End,
        ]);
        for size in 1..=body.len() {
            assert_eq!(parse_in_pieces(b"xyz", body, size), expected, "size {size}");
        }

        let cases: &[(&[u8], u64, u8)] = &[
            (b"--xyz\r\n\r\none\r\n--xyz x", 20, b'x'),
            (b"--xyz\r\n\r\none\r\n--xyz \rx", 21, b'x'),
            (b"--xyz\r\n\r\none\r\n--xyz\t\n", 20, b'\n'),
            (b"--xyz\r\n\r\none\r\n--xyz \r\r\n", 21, b'\r'),
        ];
        for &(body, offset, found) in cases {
            let outcome = parse(body);
            assert_eq!(
                outcome.error,
                Some(MultipartError::InvalidBoundaryPadding { offset, found }),
                "{body:?}"
            );
            // The data before the delimiter was emitted, but the part never ended.
            assert_eq!(outcome.events.last(), Some(&data(b"one")));
        }
    }

    #[test]
    fn empty_boundary_is_accepted() {
        let body =
            b"--\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--\r\n\r\nw\r\n----";
        let outcome = parse_chunks(b"", &[body]);
        assert_eq!(outcome.error, None);
        assert!(outcome.complete);
        assert_eq!(outcome.events[1], data(b"v"));
        assert_eq!(outcome.events[4], data(b"w"));
    }

    #[test]
    fn boundary_length_is_limited() {
        let boundary = vec![b'b'; MAX_BOUNDARY_LENGTH];
        assert!(MultipartParser::new(&boundary).is_ok());
        let boundary = vec![b'b'; MAX_BOUNDARY_LENGTH + 1];
        assert_eq!(
            MultipartParser::new(&boundary).err(),
            Some(MultipartError::BoundaryTooLong {
                length: MAX_BOUNDARY_LENGTH + 1
            })
        );
    }

    #[test]
    fn long_boundary_split_across_chunks() {
        let boundary = vec![b'-'; MAX_BOUNDARY_LENGTH];
        let mut body = b"--".to_vec();
        body.extend_from_slice(&boundary);
        body.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n");
        body.extend_from_slice(b"\r\n----\r\n---");
        body.extend_from_slice(b"\r\n--");
        body.extend_from_slice(&boundary);
        body.extend_from_slice(b"--");
        let expected = complete(vec![
            field("a"),
            data(b"\r\n----\r\n---"),
            Seen::PartEnd,
            Seen::End,
        ]);
        for size in [1, 2, 3, 100, 255, 256, 257, 258, body.len()] {
            assert_eq!(
                parse_in_pieces(&boundary, &body, size),
                expected,
                "size {size}"
            );
        }
    }

    #[test]
    fn events_before_an_error_are_kept() {
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--xyz\r\n\
            Content-Disposition: form-data; name=\"b\"\r\nBad Header: x\r\n";
        let outcome = parse(body);
        assert_eq!(
            outcome.events,
            vec![field("a"), data(b"one"), Seen::PartEnd]
        );
        assert!(matches!(
            outcome.error,
            Some(MultipartError::InvalidHeaderName { found: b' ', .. })
        ));
    }

    #[test]
    fn feeding_after_error_or_finish_fails() {
        let mut parser = MultipartParser::new(b"xyz").unwrap();
        let mut events = Vec::new();
        assert!(parser.feed(b"oops", &mut events).is_err());
        assert_eq!(
            parser.feed(TWO_FIELDS, &mut events),
            Err(MultipartError::AlreadyFailed)
        );
        assert!(!parser.finish());
        assert_eq!(
            parser.feed(TWO_FIELDS, &mut events),
            Err(MultipartError::AlreadyFinished)
        );
        assert_eq!(events, vec![]);
    }

    #[test]
    fn parser_alignment_fits_a_python_object() {
        // CPython aligns objects to 16 bytes, and PyO3 embeds the parser in one.
        assert!(std::mem::align_of::<MultipartParser>() <= 16);
    }

    #[test]
    fn data_borrows_the_chunk() {
        let mut parser = MultipartParser::new(b"xyz").unwrap();
        let mut events = Vec::new();
        parser.feed(TWO_FIELDS, &mut events).unwrap();
        assert!(events
            .iter()
            .all(|event| !matches!(event, Event::Data(Cow::Owned(_)))));
    }

    #[test]
    fn error_messages_name_the_problem() {
        let cases: &[(MultipartError, &str)] = &[
            (
                MultipartError::BoundaryTooLong { length: 300 },
                "the boundary is 300 bytes long, the maximum is 256",
            ),
            (
                MultipartError::InvalidFirstBoundary {
                    offset: 0,
                    found: b'p',
                },
                "expected the boundary at the start of the body, found 'p' at byte 0",
            ),
            (
                MultipartError::InvalidFirstBoundaryEnd {
                    offset: 5,
                    found: b'\n',
                },
                "expected CRLF or '--' after the first boundary, found byte 0x0a at byte 5",
            ),
            (
                MultipartError::TooManyHeaders { offset: 99 },
                "a part has more than 8 header lines, the extra one starts at byte 99",
            ),
            (
                MultipartError::HeaderLineTooLong { offset: 4300 },
                "a part header line is longer than 4224 bytes at byte 4300",
            ),
            (
                MultipartError::InvalidHeaderName {
                    offset: 8,
                    found: b' ',
                },
                "invalid character ' ' in a part header name at byte 8",
            ),
            (
                MultipartError::EmptyHeaderName { offset: 7 },
                "a part header line starts with ':' at byte 7",
            ),
            (
                MultipartError::MissingLineFeed {
                    offset: 13,
                    found: b'x',
                },
                "expected LF after CR in the part headers, found 'x' at byte 13",
            ),
            (
                MultipartError::InvalidHeaderValue {
                    name: "X".to_owned(),
                    found: 0,
                },
                "invalid character byte 0x00 in the value of the part header \"X\"",
            ),
            (
                MultipartError::InvalidBoundaryPadding {
                    offset: 20,
                    found: b'x',
                },
                "expected only spaces or tabs and then CRLF after a boundary, found 'x' at byte 20",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), *message);
        }
    }

    /// Parse `copies` repetitions of a part full of near-delimiters, one byte per feed.
    fn parse_byte_by_byte(copies: usize) -> std::time::Duration {
        let boundary = vec![b'q'; MAX_BOUNDARY_LENGTH];
        let mut near = b"\r\n--".to_vec();
        near.extend_from_slice(&boundary[1..]);
        near.push(b'x');
        let mut body = b"--".to_vec();
        body.extend_from_slice(&boundary);
        body.extend_from_slice(b"\r\n\r\n");
        for _ in 0..copies {
            body.extend_from_slice(&near);
        }
        let mut parser = MultipartParser::new(&boundary).unwrap();
        let started = std::time::Instant::now();
        let mut data = 0;
        for byte in body.chunks(1) {
            let mut events = Vec::new();
            parser.feed(byte, &mut events).unwrap();
            data += events
                .iter()
                .map(|event| match event {
                    Event::Data(bytes) => bytes.len(),
                    _ => 0,
                })
                .sum::<usize>();
        }
        // Everything but the held tail (at most the whole delimiter) came out as data.
        assert!(data + near.len() >= copies * near.len());
        started.elapsed()
    }

    #[test]
    fn time_is_linear_with_one_byte_chunks() {
        // A body 8 times longer takes about 8 times as long when time is linear, and
        // about 64 times as long for a parser that rescans what it holds on every
        // feed. The best of three runs keeps a busy machine from failing the test.
        let best = |copies| (0..3).map(|_| parse_byte_by_byte(copies)).min().unwrap();
        let small = best(200);
        let large = best(1600);
        assert!(
            large < small * 24,
            "8 times the input took {large:?}, against {small:?}"
        );
    }
}
