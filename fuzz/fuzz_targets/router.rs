//! Random route tables and paths: building a table and looking a path up never
//! panic, and every index found is a non-opaque entry, with a partial match only
//! before the full one.
#![no_main]

use _rust::router::{Entry, Lookup, RouteTable, Scope};
use libfuzzer_sys::fuzz_target;

/// Pattern pieces that `compile_path` produces, so that random bytes build
/// patterns the table accepts as often as ones it rejects.
const PATTERN_TOKENS: [&[u8]; 16] = [
    b"/",
    b"a",
    b"1",
    b"\\.",
    b"\\\n",
    b"\\-",
    b"(?P<x>[^/]+)",
    b"(?P<x>.*)",
    b"(?P<x>[0-9]+)",
    b"(?P<x>[0-9]+(\\.[0-9]+)?)",
    b"(?P<x>[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})",
    b"\\",
    b"(",
    b"$",
    b"\0",
    b"\xc3\xa9",
];

/// Path pieces that the convertors and the pattern tokens care about.
const PATH_TOKENS: [&[u8]; 16] = [
    b"/",
    b"a",
    b"1",
    b".",
    b"\n",
    b"-",
    b"12",
    b"1.5",
    b"//",
    b"",
    b"0123abcd",
    b"ABCD",
    b"\0",
    b"\xc3\xa9",
    b"\\",
    b"%2F",
];

const METHODS: [&[u8]; 4] = [b"GET", b"HEAD", b"POST", b"get"];

/// Maps each byte to a token, or to itself when its high bit is set.
fn expand(bytes: &[u8], tokens: &[&[u8]; 16]) -> Vec<u8> {
    let mut out = Vec::new();
    for &byte in bytes {
        if byte & 0x80 == 0 {
            out.extend_from_slice(tokens[usize::from(byte & 0x0f)]);
        } else {
            out.push(byte & 0x7f);
        }
    }
    out
}

fn check(table: &RouteTable, found: Lookup) {
    for index in [found.full, found.partial].into_iter().flatten() {
        assert!(index < table.len());
        assert!(!table.opaque().contains(&index));
    }
    if let (Some(full), Some(partial)) = (found.full, found.partial) {
        assert!(partial < full);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut chunks: Vec<&[u8]> = data.split(|&byte| byte == 0xff).collect();
    let path = chunks.pop().unwrap_or_default();

    // Each chunk before the last is an entry: a kind byte, a methods byte, then
    // the pattern, raw when the kind byte's high bit is set.
    let mut table = RouteTable::new();
    for chunk in chunks {
        let (kind, methods, body) = match chunk {
            [kind, methods, body @ ..] => (*kind, *methods, body),
            _ => (0, 0, chunk),
        };
        let pattern = if kind & 0x80 != 0 {
            body.to_vec()
        } else {
            let mut pattern = b"^".to_vec();
            pattern.extend(expand(body, &PATTERN_TOKENS));
            pattern.push(b'$');
            pattern
        };
        let methods = (methods & 0x10 == 0).then(|| {
            METHODS
                .iter()
                .enumerate()
                .filter(|(bit, _)| methods & (1 << bit) != 0)
                .map(|(_, method)| *method)
                .collect()
        });
        let entry = match kind & 0x03 {
            0 => Entry::Http {
                pattern: &pattern,
                methods,
            },
            1 => Entry::WebSocket { pattern: &pattern },
            2 => Entry::Mount { pattern: &pattern },
            _ => Entry::Opaque,
        };
        let before = table.len();
        if table.insert(entry).is_err() {
            assert_eq!(table.len(), before);
            table
                .insert(Entry::Opaque)
                .expect("opaque entries always insert");
        }
    }

    let expanded = expand(path, &PATH_TOKENS);
    for path in [path, expanded.as_slice()] {
        for method in METHODS {
            check(&table, table.lookup(path, Scope::Http { method }));
        }
        check(&table, table.lookup(path, Scope::WebSocket));
    }
});
