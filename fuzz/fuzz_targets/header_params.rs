//! Any bytes split as a header value without a panic. For UTF-8 input every piece
//! of the result is UTF-8, and no parameter name contains `*`.
#![no_main]

use _rust::header_params::parse_header_params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_header_params(data);
    if std::str::from_utf8(data).is_err() {
        return;
    }
    std::str::from_utf8(&parsed.value).expect("lowercasing UTF-8 gives UTF-8");
    for (name, value) in &parsed.params {
        assert!(!name.contains(&b'*'));
        std::str::from_utf8(name).expect("a name comes from UTF-8 input");
        std::str::from_utf8(value).expect("a value comes from UTF-8 input");
    }
});
