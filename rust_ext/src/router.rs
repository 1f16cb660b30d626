//! A route table that finds, in one pass over the request path, the routes a
//! Starlette `Router` would pick by trying each route's regex in declaration order.
//!
//! The table is built from the regex patterns that Starlette's `compile_path`
//! produces, such as `^/users/(?P<id>[0-9]+)$`, so it matches exactly what
//! `route.path_regex.match(route_path)` matches. It understands literal text
//! (escaped as `re.escape` does) and groups with one of the built-in convertor
//! regexes. A pattern outside that grammar, or one whose shape the table cannot
//! split into path segments, is rejected with a [`PatternError`]. The caller then
//! inserts [`Entry::Opaque`] in its place and tests that route itself.
//!
//! # Why a segment trie
//!
//! A non-`path` convertor (`[^/]+`, `[0-9]+`, ...) never matches a `/`, so every
//! `/` of the path lines up with a literal `/` of the pattern. Splitting both at
//! `/` turns one regex into a list of segment tests: a literal segment, or one
//! parameter with fixed text before and after it. A trailing `path` parameter
//! (`.*`, as in every `Mount`) instead takes the whole rest of the path. The table
//! stores those lists in a trie: each node is one segment position, with its
//! literal children in a hash map and its parameter children in a list, one child
//! per distinct segment test.
//!
//! matchit 0.9 is not used because it prefers literal segments over parameters and
//! rejects overlapping routes, while Starlette lets the first declared route win.
//!
//! # Why the result follows declaration order
//!
//! A lookup walks every trie branch whose segment test accepts the path, not only
//! the most specific one, so it finds every route whose regex matches. Each node
//! stores the smallest declaration index below it, and the walk skips a subtree
//! whose smallest index is not below the best full match found so far, because
//! nothing in it can come earlier. The result is the minimum index over all
//! matching routes, which is the route Starlette's first-to-last loop stops at.
//! So `/users/{name}` declared before `/users/me` wins for `/users/me`, and
//! `/{slug}` after `/{id:int}` still gets `/abc`.
//!
//! # Python's `$`
//!
//! Without `re.MULTILINE`, `$` matches at the end of the string and also just
//! before a final `"\n"`. The lookup therefore searches the path and, when it ends
//! in `"\n"`, the path without that byte, and keeps the smaller index of each kind.
//! `.` in the `path` convertor never matches `"\n"`, while `[^/]+` does.
//!
//! # Cost
//!
//! Each trie node is visited at most once per search and reads one segment, so a
//! lookup is linear in the path length. Its cost depends on how many branches the
//! path satisfies, not on how many routes the table holds. Paths are bytes: the
//! UTF-8 encoding of the Python string, with lone surrogates encoded as
//! `"surrogatepass"` does, which keeps code point comparisons intact because no
//! convertor counts characters beyond "at least one".

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use memchr::{memchr, memrchr};

/// The kind of connection a lookup is for, with the HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// An `"http"` scope and its `scope["method"]`, compared case-sensitively.
    Http {
        /// The request method, such as `b"GET"`.
        method: &'a [u8],
    },
    /// A `"websocket"` scope.
    WebSocket,
}

/// One route of the table, in declaration order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    /// A `Route`: HTTP only. `None` or an empty set accepts every method, as
    /// Starlette's `if self.methods and ...` does. Starlette has already added
    /// `HEAD` to any set with `GET`, so the table does not add it.
    Http {
        /// The route's `path_regex` pattern.
        pattern: &'a [u8],
        /// The route's `methods`.
        methods: Option<Vec<&'a [u8]>>,
    },
    /// A `WebSocketRoute`: websocket only.
    WebSocket {
        /// The route's `path_regex` pattern.
        pattern: &'a [u8],
    },
    /// A `Mount`: both scope types and every method. Its pattern ends in the
    /// `path` group that `Mount` appends, `/(?P<path>.*)$`.
    Mount {
        /// The mount's `path_regex` pattern.
        pattern: &'a [u8],
    },
    /// A route the table never matches. The caller calls its `matches()` itself.
    Opaque,
}

/// The routes a lookup found, as declaration indices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    /// The first route that gives `Match.FULL`.
    pub full: Option<usize>,
    /// The first route that gives `Match.PARTIAL` (its path matches but its
    /// methods exclude the request method), when it comes before `full`.
    ///
    /// NOTE: Starlette calls `matches()` on every partial route before the full
    /// one, and an `int` value longer than Python's integer string limit (4300
    /// digits by default) raises `ValueError` there. Later partials are not reported.
    pub partial: Option<usize>,
}

/// The reason a pattern is outside what the table matches exactly. Positions are
/// byte offsets into the pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// The pattern does not start with `^` and end with `$`.
    MissingAnchor,
    /// A regex construct other than literal text or a convertor group.
    UnsupportedSyntax {
        /// The byte offset of the construct.
        position: usize,
    },
    /// A named group whose regex is none of the built-in convertors' regexes.
    UnknownConvertor {
        /// The byte offset of the group.
        position: usize,
    },
    /// A second parameter in one path segment, such as `{a}-{b}`, whose split
    /// point depends on backtracking.
    SeveralParamsInSegment {
        /// The byte offset of the second group.
        position: usize,
    },
    /// A `path` parameter followed by more pattern text.
    PathNotLast {
        /// The byte offset of the `path` group.
        position: usize,
    },
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingAnchor => f.write_str("pattern must start with '^' and end with '$'"),
            Self::UnsupportedSyntax { position } => write!(
                f,
                "unsupported regex syntax at byte {position}: expected escaped literal text \
                 or a convertor group"
            ),
            Self::UnknownConvertor { position } => write!(
                f,
                "group at byte {position} uses a regex that is not one of the built-in \
                 convertors str, path, int, float or uuid"
            ),
            Self::SeveralParamsInSegment { position } => write!(
                f,
                "second parameter in one path segment at byte {position}: at most one is \
                 supported"
            ),
            Self::PathNotLast { position } => {
                write!(f, "path parameter at byte {position} must end the pattern")
            }
        }
    }
}

impl std::error::Error for PatternError {}

/// A route table built entry by entry, in declaration order.
#[derive(Clone, Debug)]
pub struct RouteTable {
    /// The trie, with the root at index 0.
    nodes: Vec<Node>,
    /// The number of entries inserted so far, opaque ones included.
    len: usize,
    /// The indices of the opaque entries, ascending.
    opaque: Vec<usize>,
    /// The segments of each entry by declaration index, `None` for an opaque one,
    /// kept to read a winning route's parameter values without another search.
    patterns: Vec<Option<Box<[Segment]>>>,
}

impl Default for RouteTable {
    fn default() -> Self {
        Self::new()
    }
}

impl RouteTable {
    /// Creates an empty table.
    pub fn new() -> Self {
        Self {
            nodes: vec![Node::default()],
            len: 0,
            opaque: Vec::new(),
            patterns: Vec::new(),
        }
    }

    /// Appends `entry` as the route with the next declaration index.
    ///
    /// A pattern the table cannot match exactly leaves the table unchanged and
    /// returns the reason, so that the caller can insert [`Entry::Opaque`] instead
    /// and keep the indices aligned with its route list.
    pub fn insert(&mut self, entry: Entry<'_>) -> Result<(), PatternError> {
        let index = self.len;
        let (pattern, kind) = match entry {
            Entry::Opaque => {
                self.opaque.push(index);
                self.patterns.push(None);
                self.len += 1;
                return Ok(());
            }
            Entry::Http { pattern, methods } => (pattern, Kind::Http(methods)),
            Entry::WebSocket { pattern } => (pattern, Kind::WebSocket),
            Entry::Mount { pattern } => (pattern, Kind::Mount),
        };
        let segments = parse_pattern(pattern)?;

        let mut node_id = ROOT;
        let mut tail = None;
        for segment in &segments {
            self.lower_min_index(node_id, index);
            node_id = match segment {
                Segment::Literal(text) => self.literal_child(node_id, text.clone()),
                Segment::Param(matcher) => self.param_child(node_id, matcher.clone()),
                Segment::Rest { prefix } => {
                    tail = Some(prefix.clone());
                    break;
                }
            };
        }
        self.lower_min_index(node_id, index);

        let leaf = self.leaf_mut(node_id, tail);
        leaf.insert(index, kind);
        self.patterns.push(Some(segments.into_boxed_slice()));
        self.len += 1;
        Ok(())
    }

    /// Returns the number of entries, opaque ones included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the indices of the opaque entries, ascending.
    pub fn opaque(&self) -> &[usize] {
        &self.opaque
    }

    /// Finds the first full and the first partial match for `path`, ignoring
    /// opaque entries.
    ///
    /// `path` is the route path (`get_route_path(scope)`), already percent-decoded,
    /// so `%2F` in it is literal text and not a separator.
    pub fn lookup(&self, path: &[u8], scope: Scope<'_>) -> Lookup {
        let mut found = Lookup::default();
        self.search(path, scope, &mut found);
        if let Some(before_newline) = path.strip_suffix(b"\n") {
            self.search(before_newline, scope, &mut found);
        }
        if let (Some(full), Some(partial)) = (found.full, found.partial) {
            if partial > full {
                found.partial = None;
            }
        }
        found
    }

    /// Returns the byte ranges in `path` of the parameter values of entry `index`,
    /// in pattern order, or `None` when its pattern does not match `path` or the
    /// entry is opaque.
    ///
    /// The values are those of Python's `path_regex.match(path).groupdict()`. When
    /// `path` ends in `"\n"` and matches both with and without it, the greedy
    /// regex keeps the `"\n"` in the last value, and so does this.
    pub fn captures(&self, index: usize, path: &[u8]) -> Option<Vec<Range<usize>>> {
        let segments = self.patterns.get(index)?.as_deref()?;
        capture_values(segments, path).or_else(|| {
            let before_newline = path.strip_suffix(b"\n")?;
            capture_values(segments, before_newline)
        })
    }

    /// Returns whether entry `index` has parameters, so that a caller can skip
    /// [`RouteTable::captures`] for a route that has no values to give.
    pub fn has_params(&self, index: usize) -> bool {
        self.patterns
            .get(index)
            .and_then(Option::as_deref)
            .is_some_and(|segments| {
                segments
                    .iter()
                    .any(|segment| !matches!(segment, Segment::Literal(_)))
            })
    }

    /// Walks every trie branch that matches `path` exactly, lowering `found`.
    fn search(&self, path: &[u8], scope: Scope<'_>, found: &mut Lookup) {
        // A `path` parameter takes the rest of the path and `.` stops at "\n", so a
        // rest can match only when it lies after the path's last "\n". Every rest is
        // a suffix of `path`, which turns that into a length comparison.
        let newline_free_len = match memrchr(b'\n', path) {
            Some(at) => path.len().saturating_sub(at.saturating_add(1)),
            None => path.len(),
        };

        // Each stack item is a node and the path after the segments it consumed.
        // `None` means the path ended with the node's own segment. The stack
        // replaces recursion so that a deep table cannot overflow the call stack.
        let mut stack: Vec<(usize, Option<&[u8]>)> = Vec::with_capacity(8);
        stack.push((ROOT, Some(path)));
        while let Some((node_id, rest)) = stack.pop() {
            let Some(node) = self.nodes.get(node_id) else {
                continue;
            };
            if !can_improve(node.min_index, found.full) {
                continue;
            }

            let Some(rest) = rest else {
                found.merge(node.end.resolve(scope));
                continue;
            };

            for (prefix, leaf) in &node.rests {
                if let Some(value) = rest.strip_prefix(&**prefix) {
                    if value.len() <= newline_free_len {
                        found.merge(leaf.resolve(scope));
                    }
                }
            }

            let (segment, after) = split_segment(rest);
            if let Some(&child) = node.literals.get(segment) {
                stack.push((child, after));
            }
            for (matcher, child) in &node.params {
                if matcher.matches(segment) {
                    stack.push((*child, after));
                }
            }
        }
    }

    /// Lowers the smallest index stored at `node_id` to `index` if it is larger.
    fn lower_min_index(&mut self, node_id: usize, index: usize) {
        if let Some(node) = self.nodes.get_mut(node_id) {
            node.min_index = node.min_index.min(index);
        }
    }

    /// Returns the child of `node_id` for the literal segment `text`, creating it.
    fn literal_child(&mut self, node_id: usize, text: Vec<u8>) -> usize {
        let next_id = self.nodes.len();
        let node = &mut self.nodes[node_id];
        let child = *node
            .literals
            .entry(text.into_boxed_slice())
            .or_insert(next_id);
        if child == next_id {
            self.nodes.push(Node::default());
        }
        child
    }

    /// Returns the child of `node_id` for the parameter segment `matcher`,
    /// creating it.
    fn param_child(&mut self, node_id: usize, matcher: Matcher) -> usize {
        let next_id = self.nodes.len();
        let node = &mut self.nodes[node_id];
        if let Some((_, child)) = node.params.iter().find(|(known, _)| *known == matcher) {
            return *child;
        }
        node.params.push((matcher, next_id));
        self.nodes.push(Node::default());
        next_id
    }

    /// Returns the leaf of `node_id` for routes ending there (`rest` is `None`) or
    /// for routes whose `path` parameter starts there after the literal `rest`.
    fn leaf_mut(&mut self, node_id: usize, rest: Option<Vec<u8>>) -> &mut Leaf {
        let node = &mut self.nodes[node_id];
        let Some(prefix) = rest else {
            return &mut node.end;
        };
        let at = match node.rests.iter().position(|(known, _)| **known == *prefix) {
            Some(at) => at,
            None => {
                node.rests
                    .push((prefix.into_boxed_slice(), Leaf::default()));
                node.rests.len() - 1
            }
        };
        &mut node.rests[at].1
    }
}

const ROOT: usize = 0;

/// Returns whether a subtree whose smallest index is `min_index` can hold a route
/// declared before the best full match `full`.
fn can_improve(min_index: usize, full: Option<usize>) -> bool {
    full.is_none_or(|full| min_index < full)
}

/// Matches `segments` against the whole of `path` as the trie walk does, returning
/// the byte range of each parameter value.
fn capture_values(segments: &[Segment], path: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut values = Vec::new();
    // `rest` starts at byte `start` of `path`. `None` means the path ended with
    // the previous segment.
    let mut rest = Some(path);
    let mut start = 0;
    for segment in segments {
        let text = rest?;
        if let Segment::Rest { prefix } = segment {
            let value = text.strip_prefix(&**prefix)?;
            if memchr(b'\n', value).is_some() {
                return None;
            }
            values.push(start + prefix.len()..path.len());
            return Some(values);
        }
        let (part, after) = split_segment(text);
        match segment {
            Segment::Literal(literal) if literal.as_slice() == part => {}
            Segment::Param(matcher) if matcher.matches(part) => {
                values
                    .push(start + matcher.prefix.len()..start + part.len() - matcher.suffix.len());
            }
            _ => return None,
        }
        rest = after;
        start += part.len() + 1;
    }
    rest.is_none().then_some(values)
}

/// Splits off the first segment of `rest`, returning it and what follows its `/`.
fn split_segment(rest: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr(b'/', rest).and_then(|at| rest.split_at_checked(at)) {
        Some((segment, slash_and_after)) => (segment, slash_and_after.get(1..)),
        None => (rest, None),
    }
}

impl Lookup {
    /// Keeps the smaller index of each kind.
    fn merge(&mut self, other: Lookup) {
        self.full = min_index(self.full, other.full);
        self.partial = min_index(self.partial, other.partial);
    }
}

fn min_index(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// One position in the trie: the segments seen so far are the path from the root.
#[derive(Clone, Debug)]
struct Node {
    /// The smallest declaration index in this subtree, `usize::MAX` when empty.
    min_index: usize,
    /// Routes whose pattern ends with the segment that led here.
    end: Leaf,
    /// Routes whose `path` parameter takes the rest of the path from here, keyed
    /// by the literal text between the last `/` and the parameter.
    rests: Vec<(Box<[u8]>, Leaf)>,
    /// Children for literal segments.
    literals: HashMap<Box<[u8]>, usize>,
    /// Children for parameter segments, one per distinct segment test.
    params: Vec<(Matcher, usize)>,
}

impl Default for Node {
    fn default() -> Self {
        Self {
            min_index: usize::MAX,
            end: Leaf::default(),
            rests: Vec::new(),
            literals: HashMap::new(),
            params: Vec::new(),
        }
    }
}

/// The scope types and methods that an entry accepts.
enum Kind<'a> {
    Http(Option<Vec<&'a [u8]>>),
    WebSocket,
    Mount,
}

/// The routes that share one pattern shape, reduced to what a lookup needs:
/// the first index of each outcome, so a leaf returns its result in constant time
/// however many routes share it.
#[derive(Clone, Debug, Default)]
struct Leaf {
    /// The first `Mount` or `Route` without a method set.
    any_method: Option<usize>,
    /// The first `WebSocketRoute` or `Mount`.
    websocket: Option<usize>,
    /// The first `Route` with a method set.
    first_restricted: Option<usize>,
    /// For each method, the first `Route` whose set lists it, sorted by method.
    by_method: Vec<(Box<[u8]>, usize)>,
}

impl Leaf {
    /// Records route `index`, which is larger than every index recorded before.
    fn insert(&mut self, index: usize, kind: Kind<'_>) {
        match kind {
            Kind::Mount => {
                self.any_method.get_or_insert(index);
                self.websocket.get_or_insert(index);
            }
            Kind::WebSocket => {
                self.websocket.get_or_insert(index);
            }
            Kind::Http(methods) => match methods.filter(|methods| !methods.is_empty()) {
                None => {
                    self.any_method.get_or_insert(index);
                }
                Some(methods) => {
                    self.first_restricted.get_or_insert(index);
                    for method in methods {
                        if let Err(at) = self.method_position(method) {
                            self.by_method.insert(at, (method.into(), index));
                        }
                    }
                }
            },
        }
    }

    fn method_position(&self, method: &[u8]) -> Result<usize, usize> {
        self.by_method
            .binary_search_by(|(known, _)| (**known).cmp(method))
    }

    /// Returns the first full and partial match among this leaf's routes.
    fn resolve(&self, scope: Scope<'_>) -> Lookup {
        match scope {
            Scope::WebSocket => Lookup {
                full: self.websocket,
                partial: None,
            },
            Scope::Http { method } => {
                let listed = self
                    .method_position(method)
                    .ok()
                    .and_then(|at| self.by_method.get(at))
                    .map(|(_, index)| *index);
                // The first restricted route is the only partial candidate worth
                // reporting: if it lists the method it is a full match, and every
                // later partial in this leaf comes after it.
                let partial = self.first_restricted.filter(|first| listed != Some(*first));
                Lookup {
                    full: min_index(self.any_method, listed),
                    partial,
                }
            }
        }
    }
}

/// One pattern segment, between two `/` of the pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// Literal text only.
    Literal(Vec<u8>),
    /// One non-`path` parameter with literal text around it.
    Param(Matcher),
    /// A `path` parameter after the literal `prefix`: the rest of the path.
    Rest { prefix: Vec<u8> },
}

/// The test for a segment with one parameter: `prefix`, a convertor match, `suffix`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Matcher {
    prefix: Box<[u8]>,
    convertor: Convertor,
    suffix: Box<[u8]>,
}

impl Matcher {
    /// Returns whether the whole `segment` matches. The parameter's text is fixed
    /// once the prefix and suffix are removed, so no backtracking is needed.
    fn matches(&self, segment: &[u8]) -> bool {
        segment
            .strip_prefix(&*self.prefix)
            .and_then(|value| value.strip_suffix(&*self.suffix))
            .is_some_and(|value| self.convertor.matches(value))
    }
}

/// The built-in convertors that stay within one segment, by their regex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Convertor {
    /// `[^/]+`
    Str,
    /// `[0-9]+`
    Int,
    /// `[0-9]+(\.[0-9]+)?`
    Float,
    /// Starlette 1.10's uuid regex, whose hyphens are optional.
    Uuid,
    /// The uuid regex of earlier Starlette releases, with required hyphens.
    UuidHyphenated,
}

/// A group body that the table recognizes, with the regex text that spells it.
enum Group {
    Segment(Convertor),
    Path,
}

const GROUP_REGEXES: [(&[u8], Group); 6] = [
    (b"[^/]+)", Group::Segment(Convertor::Str)),
    (b".*)", Group::Path),
    (b"[0-9]+)", Group::Segment(Convertor::Int)),
    (b"[0-9]+(\\.[0-9]+)?)", Group::Segment(Convertor::Float)),
    (
        b"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})",
        Group::Segment(Convertor::Uuid),
    ),
    (
        b"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})",
        Group::Segment(Convertor::UuidHyphenated),
    ),
];

impl Convertor {
    /// Returns whether the whole `value` matches the convertor's regex. `value`
    /// never contains `/`, because it comes from one segment.
    fn matches(self, value: &[u8]) -> bool {
        match self {
            Self::Str => !value.is_empty(),
            Self::Int => is_digits(value),
            Self::Float => match memchr(b'.', value) {
                None => is_digits(value),
                Some(at) => match value.split_at_checked(at) {
                    Some((whole, dot_and_fraction)) => {
                        is_digits(whole) && dot_and_fraction.get(1..).is_some_and(is_digits)
                    }
                    None => false,
                },
            },
            Self::Uuid => matches_uuid(value, false),
            Self::UuidHyphenated => matches_uuid(value, true),
        }
    }
}

/// Returns whether `value` is one or more ASCII digits, as `[0-9]+` requires.
fn is_digits(value: &[u8]) -> bool {
    !value.is_empty() && value.iter().all(u8::is_ascii_digit)
}

/// Returns whether `value` is 8-4-4-4-12 hex digits with a hyphen between groups,
/// each hyphen optional unless `hyphens_required`. Hex digits and `-` are disjoint,
/// so taking a hyphen whenever one is present is the only way to match.
fn matches_uuid(value: &[u8], hyphens_required: bool) -> bool {
    let mut rest = value;
    for (group, width) in [8usize, 4, 4, 4, 12].into_iter().enumerate() {
        if group > 0 {
            match rest.strip_prefix(b"-") {
                Some(after) => rest = after,
                None if hyphens_required => return false,
                None => {}
            }
        }
        let Some((digits, after)) = rest.split_at_checked(width) else {
            return false;
        };
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return false;
        }
        rest = after;
    }
    rest.is_empty()
}

/// Characters with a meaning in a Python regex outside a character class. An
/// unescaped one anywhere but in a recognized group makes the pattern opaque.
const REGEX_SPECIAL: &[u8] = b".^$*+?{}[]|()\\";

/// Parses a `compile_path` pattern into its segments.
///
/// `^/users/(?P<id>[0-9]+)\.json$` becomes
/// `[Literal(""), Literal("users"), Param("" int ".json")]`.
fn parse_pattern(pattern: &[u8]) -> Result<Vec<Segment>, PatternError> {
    let body = pattern
        .strip_prefix(b"^")
        .and_then(|body| body.strip_suffix(b"$"))
        .ok_or(PatternError::MissingAnchor)?;
    // Offsets in errors count from the start of the whole pattern.
    let offset = 1;

    let mut segments = Vec::new();
    let mut builder = SegmentBuilder::default();
    let mut at = 0;
    while let Some(&byte) = body.get(at) {
        let position = at + offset;
        match byte {
            b'\\' => {
                // A backslash before an ASCII letter or digit is a class or a
                // back reference, and a trailing one escaped the closing `$`.
                let escaped = body
                    .get(at + 1)
                    .copied()
                    .filter(|escaped| !escaped.is_ascii_alphanumeric())
                    .ok_or(PatternError::UnsupportedSyntax { position })?;
                builder.push_literal(escaped, &mut segments);
                at += 2;
            }
            b'(' => {
                let (group, group_len) = parse_group(body.get(at..).unwrap_or_default())
                    .map_err(|error| error.at(position))?;
                at += group_len;
                match group {
                    Group::Segment(convertor) => builder.push_param(convertor, position)?,
                    Group::Path => {
                        if at != body.len() {
                            return Err(PatternError::PathNotLast { position });
                        }
                        builder.finish_rest(position, &mut segments)?;
                        return Ok(segments);
                    }
                }
            }
            _ if REGEX_SPECIAL.contains(&byte) => {
                return Err(PatternError::UnsupportedSyntax { position });
            }
            _ => {
                builder.push_literal(byte, &mut segments);
                at += 1;
            }
        }
    }
    segments.push(builder.finish());
    Ok(segments)
}

/// A group error before its position is known.
enum GroupError {
    Syntax,
    Convertor,
}

impl GroupError {
    fn at(self, position: usize) -> PatternError {
        match self {
            Self::Syntax => PatternError::UnsupportedSyntax { position },
            Self::Convertor => PatternError::UnknownConvertor { position },
        }
    }
}

/// Parses `(?P<name>regex)` at the start of `text`, returning the convertor and
/// the group's length in bytes.
fn parse_group(text: &[u8]) -> Result<(Group, usize), GroupError> {
    let after_open = text.strip_prefix(b"(?P<").ok_or(GroupError::Syntax)?;
    let name_len = memchr(b'>', after_open).ok_or(GroupError::Syntax)?;
    let (name, after_name) = after_open
        .split_at_checked(name_len)
        .ok_or(GroupError::Syntax)?;
    if !is_identifier(name) {
        return Err(GroupError::Syntax);
    }
    let body = after_name.get(1..).unwrap_or_default();
    for (regex, group) in GROUP_REGEXES {
        if body.starts_with(regex) {
            let len = text.len() - body.len() + regex.len();
            return Ok((group, len));
        }
    }
    Err(GroupError::Convertor)
}

/// Returns whether `name` is a group name that `compile_path` can produce.
fn is_identifier(name: &[u8]) -> bool {
    match name.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest
                    .iter()
                    .all(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
        }
        None => false,
    }
}

/// The segment being parsed: literal text, then at most one parameter and more
/// literal text.
#[derive(Default)]
struct SegmentBuilder {
    prefix: Vec<u8>,
    param: Option<Convertor>,
    suffix: Vec<u8>,
}

impl SegmentBuilder {
    /// Appends a literal byte, closing the segment at `/`.
    fn push_literal(&mut self, byte: u8, segments: &mut Vec<Segment>) {
        if byte == b'/' {
            segments.push(std::mem::take(self).finish());
        } else if self.param.is_some() {
            self.suffix.push(byte);
        } else {
            self.prefix.push(byte);
        }
    }

    fn push_param(&mut self, convertor: Convertor, position: usize) -> Result<(), PatternError> {
        if self.param.is_some() {
            return Err(PatternError::SeveralParamsInSegment { position });
        }
        self.param = Some(convertor);
        Ok(())
    }

    /// Closes the pattern with a `path` parameter that starts in this segment.
    fn finish_rest(self, position: usize, segments: &mut Vec<Segment>) -> Result<(), PatternError> {
        if self.param.is_some() {
            return Err(PatternError::SeveralParamsInSegment { position });
        }
        segments.push(Segment::Rest {
            prefix: self.prefix,
        });
        Ok(())
    }

    fn finish(self) -> Segment {
        match self.param {
            None => Segment::Literal(self.prefix),
            Some(convertor) => Segment::Param(Matcher {
                prefix: self.prefix.into_boxed_slice(),
                convertor,
                suffix: self.suffix.into_boxed_slice(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the regex pattern that Starlette's `compile_path` builds for a path
    /// template, with the convertor regexes of Starlette 1.10.
    fn compile(template: &str) -> String {
        let mut pattern = String::from("^");
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let close = open
                + rest[open..]
                    .find('}')
                    .expect("test template closes its brace");
            escape_into(&rest[..open], &mut pattern);
            let param = &rest[open + 1..close];
            let (name, convertor) = param.split_once(':').unwrap_or((param, "str"));
            let regex = match convertor {
                "str" => "[^/]+",
                "path" => ".*",
                "int" => "[0-9]+",
                "float" => r"[0-9]+(\.[0-9]+)?",
                "uuid" => {
                    "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
                }
                other => panic!("test template uses unknown convertor {other}"),
            };
            pattern.push_str(&format!("(?P<{name}>{regex})"));
            rest = &rest[close + 1..];
        }
        escape_into(rest, &mut pattern);
        pattern.push('$');
        pattern
    }

    /// Escapes `text` as Python's `re.escape` does.
    fn escape_into(text: &str, pattern: &mut String) {
        for ch in text.chars() {
            if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(ch) {
                pattern.push('\\');
            }
            pattern.push(ch);
        }
    }

    enum Route {
        Http(&'static str, Option<&'static [&'static str]>),
        WebSocket(&'static str),
        Mount(&'static str),
        Opaque,
    }

    use Route::{Http, Mount, Opaque, WebSocket};

    const GET: Option<&[&str]> = Some(&["GET", "HEAD"]);
    const POST: Option<&[&str]> = Some(&["POST"]);
    const ANY: Option<&[&str]> = None;

    fn build(routes: &[Route]) -> RouteTable {
        let mut table = RouteTable::new();
        for route in routes {
            let pattern = match route {
                Http(template, _) | WebSocket(template) => compile(template),
                Mount(prefix) => {
                    compile(&format!("{}/{{path:path}}", prefix.trim_end_matches('/')))
                }
                Opaque => String::new(),
            };
            let entry = match route {
                Http(_, methods) => Entry::Http {
                    pattern: pattern.as_bytes(),
                    methods: methods.map(|methods| methods.iter().map(|m| m.as_bytes()).collect()),
                },
                WebSocket(_) => Entry::WebSocket {
                    pattern: pattern.as_bytes(),
                },
                Mount(_) => Entry::Mount {
                    pattern: pattern.as_bytes(),
                },
                Opaque => Entry::Opaque,
            };
            table.insert(entry).expect("test route is expressible");
        }
        table
    }

    const HTTP_GET: Scope<'static> = Scope::Http { method: b"GET" };
    const HTTP_HEAD: Scope<'static> = Scope::Http { method: b"HEAD" };
    const HTTP_POST: Scope<'static> = Scope::Http { method: b"POST" };
    const HTTP_DELETE: Scope<'static> = Scope::Http { method: b"DELETE" };
    const WS: Scope<'static> = Scope::WebSocket;

    struct MatchTest {
        routes: &'static [Route],
        /// Path, scope, expected full index, expected partial index.
        requests: &'static [(&'static str, Scope<'static>, Option<usize>, Option<usize>)],
    }

    impl MatchTest {
        fn run(&self) {
            let table = build(self.routes);
            for (path, scope, full, partial) in self.requests {
                let found = table.lookup(path.as_bytes(), *scope);
                assert_eq!(
                    found,
                    Lookup {
                        full: *full,
                        partial: *partial
                    },
                    "path {path:?} with {scope:?}"
                );
            }
        }
    }

    #[test]
    fn static_and_parameter_segments() {
        MatchTest {
            routes: &[
                Http("/", GET),
                Http("/users", GET),
                Http("/users/{name}", GET),
                Http("/users/{name}/posts/{post:int}", GET),
            ],
            requests: &[
                ("/", HTTP_GET, Some(0), None),
                ("/users", HTTP_GET, Some(1), None),
                ("/users/", HTTP_GET, None, None),
                ("/users/ada", HTTP_GET, Some(2), None),
                ("/users/ada/", HTTP_GET, None, None),
                ("/users/ada/posts/12", HTTP_GET, Some(3), None),
                ("/users/ada/posts/x", HTTP_GET, None, None),
                ("/users/ada/posts/", HTTP_GET, None, None),
                ("/Users", HTTP_GET, None, None),
                ("", HTTP_GET, None, None),
                ("users", HTTP_GET, None, None),
            ],
        }
        .run();
    }

    #[test]
    fn earlier_parameter_shadows_later_literal() {
        MatchTest {
            routes: &[Http("/users/{name}", GET), Http("/users/me", GET)],
            requests: &[
                ("/users/me", HTTP_GET, Some(0), None),
                ("/users/you", HTTP_GET, Some(0), None),
            ],
        }
        .run();
        MatchTest {
            routes: &[Http("/users/me", GET), Http("/users/{name}", GET)],
            requests: &[
                ("/users/me", HTTP_GET, Some(0), None),
                ("/users/you", HTTP_GET, Some(1), None),
            ],
        }
        .run();
    }

    #[test]
    fn rejected_convertor_falls_through() {
        MatchTest {
            routes: &[
                Http("/{id:int}", GET),
                Http("/{value:float}", GET),
                Http("/{key:uuid}", GET),
                Http("/{slug}", GET),
            ],
            requests: &[
                ("/42", HTTP_GET, Some(0), None),
                ("/4.2", HTTP_GET, Some(1), None),
                ("/4.", HTTP_GET, Some(3), None),
                ("/.2", HTTP_GET, Some(3), None),
                ("/4.2.1", HTTP_GET, Some(3), None),
                ("/-1", HTTP_GET, Some(3), None),
                (
                    "/12345678-1234-1234-1234-123456789abc",
                    HTTP_GET,
                    Some(2),
                    None,
                ),
                ("/12345678123412341234123456789ABC", HTTP_GET, Some(2), None),
                (
                    "/12345678-12341234-1234123456789abc",
                    HTTP_GET,
                    Some(2),
                    None,
                ),
                (
                    "/12345678--1234-1234-1234-123456789abc",
                    HTTP_GET,
                    Some(3),
                    None,
                ),
                (
                    "/12345678-1234-1234-1234-123456789abg",
                    HTTP_GET,
                    Some(3),
                    None,
                ),
                (
                    "/12345678-1234-1234-1234-123456789abcd",
                    HTTP_GET,
                    Some(3),
                    None,
                ),
                ("/abc", HTTP_GET, Some(3), None),
                ("/\u{0661}", HTTP_GET, Some(3), None),
                ("/", HTTP_GET, None, None),
            ],
        }
        .run();
    }

    #[test]
    fn text_around_parameter_in_segment() {
        MatchTest {
            routes: &[
                Http("/files/{name}.json", GET),
                Http("/files/v{version:int}", GET),
                Http("/files/{name}", GET),
            ],
            requests: &[
                ("/files/a.json", HTTP_GET, Some(0), None),
                ("/files/.json", HTTP_GET, Some(2), None),
                ("/files/a.json.json", HTTP_GET, Some(0), None),
                ("/files/v2", HTTP_GET, Some(1), None),
                ("/files/v", HTTP_GET, Some(2), None),
                ("/files/v2x", HTTP_GET, Some(2), None),
            ],
        }
        .run();
    }

    #[test]
    fn method_mismatch_gives_partial() {
        MatchTest {
            routes: &[
                Http("/items", GET),
                Http("/items", POST),
                Http("/items/{id:int}", Some(&["PUT"])),
                Http("/items/{id:int}", Some(&[])),
                Http("/other", POST),
                Http("/other", POST),
            ],
            requests: &[
                ("/items", HTTP_GET, Some(0), None),
                ("/items", HTTP_HEAD, Some(0), None),
                ("/items", HTTP_POST, Some(1), Some(0)),
                ("/items", HTTP_DELETE, None, Some(0)),
                ("/items", Scope::Http { method: b"get" }, None, Some(0)),
                // An empty method set accepts every method, as a falsy set does.
                ("/items/3", HTTP_GET, Some(3), Some(2)),
                ("/other", HTTP_GET, None, Some(4)),
                ("/items", WS, None, None),
            ],
        }
        .run();
    }

    #[test]
    fn head_needs_explicit_method() {
        // The table compares methods as given: the caller passes Starlette's set,
        // where HEAD was added next to GET.
        MatchTest {
            routes: &[Http("/a", Some(&["GET"])), Http("/a", GET)],
            requests: &[
                ("/a", HTTP_HEAD, Some(1), Some(0)),
                ("/a", HTTP_GET, Some(0), None),
            ],
        }
        .run();
    }

    #[test]
    fn partial_after_full_is_dropped() {
        MatchTest {
            routes: &[Http("/a", ANY), Http("/a", POST)],
            requests: &[("/a", HTTP_GET, Some(0), None)],
        }
        .run();
    }

    #[test]
    fn scope_types_pick_route_kinds() {
        MatchTest {
            routes: &[
                WebSocket("/ws"),
                Http("/ws", GET),
                Mount("/ws"),
                Http("/ws/{x}", GET),
            ],
            requests: &[
                ("/ws", WS, Some(0), None),
                ("/ws", HTTP_GET, Some(1), None),
                ("/ws/a", WS, Some(2), None),
                ("/ws/a", HTTP_POST, Some(2), None),
            ],
        }
        .run();
    }

    #[test]
    fn mounts_take_rest_of_path() {
        MatchTest {
            routes: &[Mount("/static"), Mount("/users/{id:int}"), Mount("")],
            requests: &[
                ("/static", HTTP_GET, Some(2), None),
                ("/static/", HTTP_GET, Some(0), None),
                ("/static/css/site.css", HTTP_GET, Some(0), None),
                ("/static//x", HTTP_GET, Some(0), None),
                ("/staticx", HTTP_GET, Some(2), None),
                ("/users/7/posts", WS, Some(1), None),
                ("/users/x/posts", WS, Some(2), None),
                ("/", HTTP_GET, Some(2), None),
                ("", HTTP_GET, None, None),
                ("x", HTTP_GET, None, None),
            ],
        }
        .run();
    }

    #[test]
    fn path_parameter_with_literal_prefix() {
        MatchTest {
            routes: &[Http("/files{rest:path}", GET), Http("/{rest:path}", GET)],
            requests: &[
                ("/files", HTTP_GET, Some(0), None),
                ("/filesystem/a/b", HTTP_GET, Some(0), None),
                ("/file", HTTP_GET, Some(1), None),
                ("/", HTTP_GET, Some(1), None),
                ("//", HTTP_GET, Some(1), None),
            ],
        }
        .run();
    }

    #[test]
    fn final_newline_before_dollar() {
        MatchTest {
            routes: &[
                Http("/health", GET),
                Http("/n/{id:int}", GET),
                Mount("/m"),
                Http("/s/{name}", GET),
                Http("/nl\n", GET),
            ],
            requests: &[
                ("/health\n", HTTP_GET, Some(0), None),
                ("/health\n\n", HTTP_GET, None, None),
                ("/health\r", HTTP_GET, None, None),
                ("/n/12\n", HTTP_GET, Some(1), None),
                ("/n/\n", HTTP_GET, None, None),
                // `.` never matches "\n", except that `$` may skip a final one.
                ("/m/a\n", HTTP_GET, Some(2), None),
                ("/m/a\nb", HTTP_GET, None, None),
                ("/m/a\n\n", HTTP_GET, None, None),
                // `[^/]+` takes "\n" like any other character.
                ("/s/a\nb", HTTP_GET, Some(3), None),
                ("/s/\n", HTTP_GET, Some(3), None),
                ("/nl\n", HTTP_GET, Some(4), None),
                ("/nl\n\n", HTTP_GET, Some(4), None),
                ("/nl", HTTP_GET, None, None),
            ],
        }
        .run();
    }

    #[test]
    fn empty_segments_and_double_slashes() {
        MatchTest {
            routes: &[
                Http("/a/{x}", GET),
                Http("/a//b", GET),
                Http("//", GET),
                Http("/a/", GET),
            ],
            requests: &[
                ("/a//b", HTTP_GET, Some(1), None),
                ("/a/", HTTP_GET, Some(3), None),
                ("//", HTTP_GET, Some(2), None),
                ("/a//", HTTP_GET, None, None),
                ("///", HTTP_GET, None, None),
            ],
        }
        .run();
    }

    #[test]
    fn decoded_path_text_is_literal() {
        MatchTest {
            routes: &[
                Http("/a%2Fb", GET),
                Http("/{x}", GET),
                Http("/nul\0/{y}", GET),
                Http("/caf\u{e9}", GET),
                Http("/a.b", GET),
                Http("/{x}/{y}", GET),
            ],
            requests: &[
                ("/a%2Fb", HTTP_GET, Some(0), None),
                ("/a%2fb", HTTP_GET, Some(1), None),
                ("/a/b", HTTP_GET, Some(5), None),
                ("/nul\0/\0", HTTP_GET, Some(2), None),
                ("/caf\u{e9}", HTTP_GET, Some(1), None),
                ("/axb", HTTP_GET, Some(1), None),
            ],
        }
        .run();
        MatchTest {
            routes: &[Http("/caf\u{e9}", GET), Http("/a.b", GET)],
            requests: &[
                ("/caf\u{e9}", HTTP_GET, Some(0), None),
                ("/cafe", HTTP_GET, None, None),
                ("/axb", HTTP_GET, None, None),
                ("/a.b", HTTP_GET, Some(1), None),
            ],
        }
        .run();
    }

    #[test]
    fn opaque_entries_keep_indices() {
        MatchTest {
            routes: &[Opaque, Http("/a", GET), Opaque, Http("/{x}", GET)],
            requests: &[
                ("/a", HTTP_GET, Some(1), None),
                ("/b", HTTP_GET, Some(3), None),
            ],
        }
        .run();
        let table = build(&[Opaque, Http("/a", GET), Opaque]);
        assert_eq!(table.opaque(), &[0, 2]);
        assert_eq!(table.len(), 3);
    }

    #[test]
    fn long_paths_stay_linear() {
        let table = build(&[
            Http("/{a}/{b}/{c}", GET),
            Http("/n/{n:int}", GET),
            Http("/f/{f:float}", GET),
            Mount("/m"),
            Http("/{rest:path}", GET),
        ]);

        let many_segments = "/x".repeat(10_000);
        assert_eq!(
            table.lookup(many_segments.as_bytes(), HTTP_GET).full,
            Some(4)
        );

        let mut megabyte = "/m/".to_string();
        megabyte.push_str(&"y".repeat(1 << 20));
        assert_eq!(table.lookup(megabyte.as_bytes(), HTTP_GET).full, Some(3));
        megabyte.push('\n');
        assert_eq!(table.lookup(megabyte.as_bytes(), HTTP_GET).full, Some(3));
        megabyte.push('x');
        assert_eq!(table.lookup(megabyte.as_bytes(), HTTP_GET).full, None);

        let digits = format!("/n/{}", "9".repeat(1000));
        assert_eq!(table.lookup(digits.as_bytes(), HTTP_GET).full, Some(1));
        let float = format!("/f/{}.{}", "1".repeat(1000), "2".repeat(1000));
        assert_eq!(table.lookup(float.as_bytes(), HTTP_GET).full, Some(2));

        let slashes = "/".repeat(1 << 20);
        assert_eq!(table.lookup(slashes.as_bytes(), HTTP_GET).full, Some(4));
    }

    #[test]
    fn deep_table_does_not_recurse() {
        let template = "/x".repeat(100_000);
        let pattern = compile(&template);
        let mut table = RouteTable::new();
        let entry = Entry::Http {
            pattern: pattern.as_bytes(),
            methods: None,
        };
        table.insert(entry).expect("deep template is expressible");
        assert_eq!(table.lookup(template.as_bytes(), HTTP_GET).full, Some(0));
    }

    #[test]
    fn captures_give_regex_group_values() {
        let table = build(&[
            Http("/users/{id:int}/files/{name}.json", GET),
            Http("/s/{name}", GET),
            Http("/n/{id:int}", GET),
            Mount("/m/{key}"),
            Http("/plain", GET),
            Opaque,
        ]);
        let cases: &[(usize, &str, Option<&[&str]>)] = &[
            (0, "/users/12/files/a.b.json", Some(&["12", "a.b"])),
            (0, "/users/12/files/a.b.json\n", Some(&["12", "a.b"])),
            (0, "/users/x/files/a.json", None),
            (0, "/users/12/files/a.json/", None),
            // Greedy `[^/]+` keeps a final "\n" that `$` could also skip.
            (1, "/s/a\n", Some(&["a\n"])),
            (1, "/s/\n", Some(&["\n"])),
            (2, "/n/12\n", Some(&["12"])),
            (3, "/m/k/", Some(&["k", ""])),
            (3, "/m/k/a/b\n", Some(&["k", "a/b"])),
            (3, "/m/k/a\nb", None),
            (3, "/m/k", None),
            (4, "/plain", Some(&[])),
            (5, "/plain", None),
            (4, "/other", None),
            (6, "/plain", None),
        ];
        for (index, path, expected) in cases {
            let found = table.captures(*index, path.as_bytes()).map(|ranges| {
                ranges
                    .into_iter()
                    .map(|range| &path[range])
                    .collect::<Vec<_>>()
            });
            assert_eq!(found.as_deref(), *expected, "entry {index}, path {path:?}");
        }
        let with_params: Vec<bool> = (0..7).map(|index| table.has_params(index)).collect();
        assert_eq!(with_params, [true, true, true, true, false, false, false]);
    }

    #[test]
    fn empty_table_finds_nothing() {
        let table = RouteTable::new();
        assert!(table.is_empty());
        assert_eq!(table.lookup(b"/", HTTP_GET), Lookup::default());
    }

    #[test]
    fn hyphenated_uuid_regex_of_older_releases() {
        let pattern = "^/(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$";
        let mut table = RouteTable::new();
        let entry = Entry::WebSocket {
            pattern: pattern.as_bytes(),
        };
        table.insert(entry).expect("old uuid regex is expressible");
        let cases: &[(&str, Option<usize>)] = &[
            ("/12345678-1234-1234-1234-123456789abc", Some(0)),
            ("/12345678123412341234123456789abc", None),
            ("/12345678-1234-1234-1234123456789abc", None),
        ];
        for (path, full) in cases {
            assert_eq!(
                table.lookup(path.as_bytes(), WS).full,
                *full,
                "path {path:?}"
            );
        }
    }

    #[test]
    fn inexpressible_patterns_are_rejected() {
        let cases: &[(&str, PatternError)] = &[
            ("/a$", PatternError::MissingAnchor),
            ("^/a", PatternError::MissingAnchor),
            ("^/a\\$", PatternError::UnsupportedSyntax { position: 3 }),
            ("^/a.b$", PatternError::UnsupportedSyntax { position: 3 }),
            ("^/a\\d$", PatternError::UnsupportedSyntax { position: 3 }),
            ("^/a|b$", PatternError::UnsupportedSyntax { position: 3 }),
            ("^/(a)$", PatternError::UnsupportedSyntax { position: 2 }),
            (
                "^/(?P<1x>[^/]+)$",
                PatternError::UnsupportedSyntax { position: 2 },
            ),
            (
                "^/(?P<x>[a-z]+)$",
                PatternError::UnknownConvertor { position: 2 },
            ),
            (
                "^/(?P<x>[^/]+)?$",
                PatternError::UnsupportedSyntax { position: 14 },
            ),
            (
                "^/(?P<a>[^/]+)\\-(?P<b>[^/]+)$",
                PatternError::SeveralParamsInSegment { position: 16 },
            ),
            (
                "^/(?P<p>.*)/edit$",
                PatternError::PathNotLast { position: 2 },
            ),
            (
                "^/(?P<a>[^/]+)(?P<p>.*)$",
                PatternError::SeveralParamsInSegment { position: 14 },
            ),
        ];
        for (pattern, expected) in cases {
            let mut table = RouteTable::new();
            let entry = Entry::Http {
                pattern: pattern.as_bytes(),
                methods: None,
            };
            assert_eq!(
                table.insert(entry).as_ref(),
                Err(expected),
                "pattern {pattern:?}"
            );
            assert!(table.is_empty(), "pattern {pattern:?} left an entry");
        }
    }

    #[test]
    fn escaped_literals_are_unescaped() {
        let cases: &[(&str, &str)] = &[
            ("/a.b", "/a.b"),
            ("/a b", "/a b"),
            ("/a-b~c&d#e", "/a-b~c&d#e"),
            ("/(x)[y]{z}", "/(x)[y]{z}"),
            ("/$price^", "/$price^"),
            ("/back\\slash", "/back\\slash"),
            ("/tab\there", "/tab\there"),
            ("/caf\u{e9}", "/caf\u{e9}"),
        ];
        for (template, path) in cases {
            let table = build(&[Http(template, ANY)]);
            assert_eq!(
                table.lookup(path.as_bytes(), HTTP_GET).full,
                Some(0),
                "template {template:?}"
            );
        }
    }

    #[test]
    fn error_messages_name_position() {
        let error = PatternError::UnknownConvertor { position: 2 };
        assert_eq!(
            error.to_string(),
            "group at byte 2 uses a regex that is not one of the built-in convertors str, \
             path, int, float or uuid"
        );
    }
}
