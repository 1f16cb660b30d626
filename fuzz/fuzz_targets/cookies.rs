//! Any bytes parse as a `Cookie` header without a panic. For UTF-8 input every name
//! and value is UTF-8 and never longer than the input, and no name contains `;`. A
//! value can, from the octal escape `\073`.
#![no_main]

use _rust::cookies::{is_python_whitespace, parse_cookie_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pairs = parse_cookie_header(data);
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    for (name, value) in &pairs {
        assert!(!name.contains(&b';'));
        assert!(name.len() <= header.len());
        assert!(value.len() <= header.len());
        let name = std::str::from_utf8(name).expect("a name is a slice of the UTF-8 input");
        std::str::from_utf8(value).expect("unquoting writes whole UTF-8 characters");
        assert_eq!(name, name.trim_matches(is_python_whitespace));
    }
});
