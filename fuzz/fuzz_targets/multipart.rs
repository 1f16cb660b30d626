//! Any boundary and body, cut into any chunks, parse without a panic.
//!
//! The input is one byte for the boundary length (0 to 79), the boundary, one byte
//! that seeds the chunk sizes, and the body. A body that does not start with CR or LF
//! gives the same events and the same error whatever the chunks, because only the
//! skipped preamble depends on where a chunk ends. Data never adds up to more than
//! the body.
#![no_main]

use _rust::multipart::{Event, MultipartError, MultipartParser};
use libfuzzer_sys::fuzz_target;

/// An event with owned data, for comparing two runs.
#[derive(Debug, PartialEq)]
enum Seen {
    Begin(Box<_rust::multipart::PartHeaders>),
    Data(Vec<u8>),
    PartEnd,
    End,
}

/// Feed `chunks` in order and return the events, consecutive data joined, and the error.
fn parse<'a>(
    boundary: &[u8],
    chunks: impl Iterator<Item = &'a [u8]>,
) -> (Vec<Seen>, Option<MultipartError>, usize) {
    let mut parser = MultipartParser::new(boundary).expect("the boundary is at most 79 bytes");
    let mut seen = Vec::new();
    let mut data_length = 0;
    for chunk in chunks {
        let mut events = Vec::new();
        let result = parser.feed(chunk, &mut events);
        for event in events {
            match event {
                Event::PartBegin(part) => seen.push(Seen::Begin(part)),
                Event::Data(data) => {
                    assert!(!data.is_empty(), "data events are never empty");
                    data_length += data.len();
                    if let Some(Seen::Data(previous)) = seen.last_mut() {
                        previous.extend_from_slice(&data);
                    } else {
                        seen.push(Seen::Data(data.into_owned()));
                    }
                }
                Event::PartEnd => seen.push(Seen::PartEnd),
                Event::End => seen.push(Seen::End),
            }
        }
        if let Err(error) = result {
            assert_eq!(
                parser.feed(b"more", &mut Vec::new()),
                Err(MultipartError::AlreadyFailed)
            );
            return (seen, Some(error), data_length);
        }
    }
    parser.finish();
    (seen, None, data_length)
}

/// Cut `body` into chunks of 1 to 64 bytes, their sizes drawn from `seed`.
fn cut(body: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut state = u32::from(seed) | 0x100;
    let mut chunks = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        // xorshift32
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = (state % 64 + 1) as usize;
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

fuzz_target!(|data: &[u8]| {
    let Some((&length, rest)) = data.split_first() else {
        return;
    };
    let length = usize::from(length % 80).min(rest.len());
    let (boundary, rest) = rest.split_at(length);
    let Some((&seed, body)) = rest.split_first() else {
        return;
    };

    let (whole_events, whole_error, whole_data) = parse(boundary, std::iter::once(body));
    let (cut_events, cut_error, cut_data) = parse(boundary, cut(body, seed).into_iter());
    assert!(whole_data <= body.len());
    assert!(cut_data <= body.len());
    if !matches!(body.first(), Some(b'\r' | b'\n')) {
        assert_eq!(whole_events, cut_events);
        assert_eq!(whole_error, cut_error);
    }
});
