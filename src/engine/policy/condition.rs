//! `Condition` blocks of a queue policy, and the wildcard matching patterns share.

use super::{AccessRequest, Tri};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    ArnLike,
    Bool,
    Null,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    /// The caller's account (`aws:SourceAccount`, `aws:PrincipalAccount`).
    CallerAccount,
    /// `aws:SourceArn`: absent for a direct API call.
    SourceArn,
    SecureTransport,
}

impl Key {
    fn parse(name: &str) -> Option<Key> {
        let is = |k: &str| name.eq_ignore_ascii_case(k);
        if is("aws:SourceAccount") || is("aws:PrincipalAccount") {
            Some(Key::CallerAccount)
        } else if is("aws:SourceArn") {
            Some(Key::SourceArn)
        } else if is("aws:SecureTransport") {
            Some(Key::SecureTransport)
        } else {
            None
        }
    }

    fn value<'a>(self, req: &AccessRequest<'a>) -> Option<&'a str> {
        match self {
            Key::CallerAccount => Some(req.caller_account),
            Key::SourceArn => None,
            Key::SecureTransport => Some(if req.secure_transport {
                "true"
            } else {
                "false"
            }),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Condition {
    /// `None` for an operator this evaluator does not know.
    op: Option<Op>,
    /// `StringNot…`, `ArnNot…`: true when no value matches (or the key is absent).
    negated: bool,
    if_exists: bool,
    /// `None` for a key this evaluator does not know.
    key: Option<Key>,
    values: Box<[Box<str>]>,
    /// A value holds a policy variable (`${…}`), which is not substituted.
    has_variable: bool,
}

impl Condition {
    /// The condition `operator` (e.g. `StringNotEqualsIfExists`) puts on `key`.
    pub(super) fn new(operator: &str, key: &str, values: Box<[Box<str>]>) -> Condition {
        let parsed = parse_operator(operator);
        Condition {
            op: parsed.map(|p| p.0),
            negated: parsed.is_some_and(|p| p.1),
            if_exists: parsed.is_some_and(|p| p.2),
            key: Key::parse(key),
            has_variable: values.iter().any(|v| v.contains("${")),
            values,
        }
    }
}

/// The operator of a name, whether it is a negated one, whether it ends in `IfExists`.
fn parse_operator(name: &str) -> Option<(Op, bool, bool)> {
    let (base, if_exists) = match name.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (name, false),
    };
    let (op, negated) = match base {
        "StringEquals" => (Op::StringEquals, false),
        "StringNotEquals" => (Op::StringEquals, true),
        "StringEqualsIgnoreCase" => (Op::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Op::StringEqualsIgnoreCase, true),
        "StringLike" => (Op::StringLike, false),
        "StringNotLike" => (Op::StringLike, true),
        "ArnEquals" | "ArnLike" => (Op::ArnLike, false),
        "ArnNotEquals" | "ArnNotLike" => (Op::ArnLike, true),
        "Bool" => (Op::Bool, false),
        "Null" if !if_exists => (Op::Null, false),
        _ => return None,
    };
    Some((op, negated, if_exists))
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

impl Op {
    /// Whether the request's `actual` value matches the policy's `value`.
    fn matches(self, value: &str, actual: &str) -> bool {
        match self {
            Op::StringEquals => value == actual,
            Op::StringEqualsIgnoreCase => value
                .chars()
                .flat_map(char::to_lowercase)
                .eq(actual.chars().flat_map(char::to_lowercase)),
            Op::StringLike => glob(value.as_bytes(), actual.as_bytes(), false),
            Op::ArnLike => arn_like(value, actual),
            Op::Bool => parse_bool(value).is_some_and(|v| parse_bool(actual) == Some(v)),
            // Decided on presence in `Condition::holds`.
            Op::Null => false,
        }
    }
}

impl Condition {
    pub(super) fn holds(&self, req: &AccessRequest<'_>) -> Tri {
        let (Some(op), Some(key)) = (self.op, self.key) else {
            return Tri::Maybe;
        };
        if self.has_variable {
            return Tri::Maybe;
        }
        let actual = key.value(req);
        if op == Op::Null {
            let absent = actual.is_none();
            return Tri::from_bool(self.values.iter().any(|v| parse_bool(v) == Some(absent)));
        }
        let Some(actual) = actual else {
            return Tri::from_bool(self.if_exists || self.negated);
        };
        let any = self.values.iter().any(|v| op.matches(v, actual));
        Tri::from_bool(any != self.negated)
    }
}

/// `ArnLike`: the six `:`-separated parts of each, every part a case-sensitive pattern. A
/// pattern without any `:` (e.g. `"*"`) is matched against the whole value.
pub(super) fn arn_like(pattern: &str, arn: &str) -> bool {
    if !pattern.contains(':') {
        return glob(pattern.as_bytes(), arn.as_bytes(), false);
    }
    let mut p = pattern.splitn(6, ':');
    let mut a = arn.splitn(6, ':');
    for _ in 0..6 {
        match (p.next(), a.next()) {
            (Some(pp), Some(ap)) if glob(pp.as_bytes(), ap.as_bytes(), false) => {}
            _ => return false,
        }
    }
    true
}

// ----- wildcard matching -----

/// The length of the UTF-8 character starting at `text[i]`.
fn char_len(text: &[u8], i: usize) -> usize {
    let n = match text[i] {
        b if b < 0x80 => 1,
        b if b >= 0xF0 => 4,
        b if b >= 0xE0 => 3,
        _ => 2,
    };
    n.min(text.len() - i)
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` one
/// character. With `fold`, the pattern is ASCII lower case and `text` is compared in ASCII
/// lower case. Linear backtracking over the last `*`; no allocation.
pub(super) fn glob(pattern: &[u8], text: &[u8], fold: bool) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: the pattern after it, the text it reached.
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        if let Some(&c) = pattern.get(p) {
            match c {
                b'*' => {
                    p += 1;
                    resume = Some((p, t));
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += char_len(text, t);
                    continue;
                }
                _ => {
                    let x = if fold {
                        text[t].to_ascii_lowercase()
                    } else {
                        text[t]
                    };
                    if c == x {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
        }
        match resume {
            Some((rp, rt)) => {
                let next = rt + char_len(text, rt);
                resume = Some((rp, next));
                p = rp;
                t = next;
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}
