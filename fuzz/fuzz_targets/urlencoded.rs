//! Checks that any body, cut into any chunks and parsed with any limits, gives the
//! same fields or the same error as the whole body fed at once, and that each input
//! byte yields at most one character of the fields. A panic fails the target too.
#![no_main]

use _rust::urlencoded::{parse_urlencoded, Limits, UrlencodedParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first three bytes pick the limits and the chunk length, the rest is the body.
    let [fields, size, chunk, body @ ..] = data else {
        return;
    };
    let limits = Limits {
        max_fields: (*fields != u8::MAX).then_some(u64::from(*fields)),
        max_field_size: (*size != u8::MAX).then_some(u64::from(*size)),
    };
    let chunk_len = usize::from(*chunk).max(1);

    let whole = parse_urlencoded(body, limits);
    let mut parser = UrlencodedParser::new(limits);
    let mut chunked = Ok(());
    for piece in body.chunks(chunk_len) {
        chunked = parser.feed(piece);
        if chunked.is_err() {
            break;
        }
    }
    let chunked = chunked.and_then(|()| parser.finish());
    assert_eq!(whole, chunked);

    if let Ok(fields) = whole {
        let characters: usize = fields
            .iter()
            .map(|(name, value)| name.chars().count() + value.chars().count())
            .sum();
        assert!(characters <= body.len());
        if let Some(max_fields) = limits.max_fields {
            assert!(fields.len() as u64 <= max_fields);
        }
    }
});
