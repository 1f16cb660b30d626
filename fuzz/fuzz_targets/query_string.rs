//! Any bytes parse without a panic, and the pairs never hold more text than the
//! input could decode to (each input byte yields at most one character).
#![no_main]

use libfuzzer_sys::fuzz_target;
use _rust::query::{parse_query_string, Encoding};

fuzz_target!(|data: &[u8]| {
    for encoding in [Encoding::Latin1, Encoding::Utf8] {
        let pairs = parse_query_string(data, encoding);
        let chars: usize = pairs
            .iter()
            .map(|(name, value)| name.chars().count() + value.chars().count())
            .sum();
        assert!(chars <= data.len());
    }
});
