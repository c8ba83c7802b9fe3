//! Query-protocol decoding: form and query-string parameters (`Attribute.1.Name=…`) are
//! deserialized into the action's input as the JSON a JSON-protocol client would send for them
//! would be, guided by the Query members of the input ([`QueryInput`], declared with
//! `query_input!` from the input's one member list).

use std::borrow::Cow;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::error::{ErrorCode, SqsError, SqsResult};

/// How an input member travels in Query parameters.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    Str,
    Int,
    Bool,
    /// `Name.1`, `Name.2`, …
    List(&'static Shape),
    /// `Name.N.<key>` / `Name.N.<value>` pairs.
    Map(&'static str, &'static str, &'static Shape),
    Struct(&'static [Field]),
}

/// One member of a structure in Query parameters.
#[derive(Clone, Copy, Debug)]
pub enum Field {
    /// Its JSON name, its Query name and its shape.
    Member(&'static str, &'static str, Shape),
    /// The members of a structure flattened into this one (`#[serde(flatten)]`).
    Flatten(&'static [Field]),
}

/// A structure declared with `query_input!`: its members as Query parameters.
pub trait QueryInput {
    const FIELDS: &'static [Field];
}

/// The Query shape a member's type implies; maps name their entries, so they state theirs.
pub trait QueryShape {
    const SHAPE: Shape;
}

impl QueryShape for String {
    const SHAPE: Shape = Shape::Str;
}

impl QueryShape for i64 {
    const SHAPE: Shape = Shape::Int;
}

impl QueryShape for bool {
    const SHAPE: Shape = Shape::Bool;
}

impl<T: QueryShape> QueryShape for Option<T> {
    const SHAPE: Shape = T::SHAPE;
}

impl<T: QueryShape> QueryShape for Vec<T> {
    const SHAPE: Shape = Shape::List(&T::SHAPE);
}

/// Declares an input structure once: the serde struct, each member read from its JSON name,
/// and its Query members ([`QueryInput`]) from the same list. A member is
/// `name: Type = "JsonName"`, then optionally `as "QueryName"` (the Query parameter's name when
/// it differs: `Attribute` for `Attributes`) and `in SHAPE` (a map's entry names, which its type
/// does not tell); `..name: Type` flattens a declared structure's members into this one.
/// Attributes before a member are the field's own (`#[serde(default)]`, …); every member ends
/// with a comma.
macro_rules! query_input {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$field_attr:meta])*
                $(.. $flat:ident : $flat_ty:ident)?
                $($field:ident : $ty:ty = $json:literal $(as $query:literal)? $(in $shape:path)?)?
                ,
            )*
        }
    ) => {
        $(#[$attr])*
        #[derive(serde::Deserialize)]
        $vis struct $name {
            $(
                $(#[$field_attr])*
                $(#[serde(flatten)] pub $flat: $flat_ty,)?
                $(#[serde(rename = $json)] pub $field: $ty,)?
            )*
        }

        impl $crate::protocol::query::QueryInput for $name {
            const FIELDS: &'static [$crate::protocol::query::Field] = &[$(
                $($crate::protocol::query::Field::Flatten(
                    <$flat_ty as $crate::protocol::query::QueryInput>::FIELDS,
                ),)?
                $($crate::protocol::query::Field::Member(
                    $json,
                    $crate::protocol::query::query_input!(@query $json $(, $query)?),
                    $crate::protocol::query::query_input!(@shape $ty $(, $shape)?),
                ),)?
            )*];
        }

        impl $crate::protocol::query::QueryShape for $name {
            const SHAPE: $crate::protocol::query::Shape = $crate::protocol::query::Shape::Struct(
                <$name as $crate::protocol::query::QueryInput>::FIELDS,
            );
        }
    };
    (@query $json:literal) => { $json };
    (@query $json:literal, $query:literal) => { $query };
    (@shape $ty:ty) => { <$ty as $crate::protocol::query::QueryShape>::SHAPE };
    (@shape $ty:ty, $shape:path) => { $shape };
}
pub(crate) use query_input;

/// The most dot-separated parts a parameter name may have. The deepest member is 7 parts
/// (`SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringListValue.1`); a name of
/// 100,000 parts once built a tree whose recursive drop overflowed the stack and aborted the
/// server.
const MAX_NAME_PARTS: usize = 16;

/// Deserializes the input of an action with the given members straight from Query parameters:
/// what a JSON-protocol client would send for them, without building that JSON. A member is
/// present when a parameter names it or anything under it (`Attribute.1.Name` makes
/// `Attribute` present); of repeated names the last one counts; list and map entries go in
/// the order of their numbers.
pub fn decode<T: DeserializeOwned>(
    params: &[(String, String)],
    fields: &'static [Field],
) -> SqsResult<T> {
    let mut sorted = Vec::with_capacity(params.len());
    for (k, v) in params {
        if k.split('.').nth(MAX_NAME_PARTS).is_some() {
            let shown: String = k.chars().take(100).collect();
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!("The parameter name {shown}... has more than {MAX_NAME_PARTS} parts."),
            ));
        }
        sorted.push((k.as_str(), v.as_str()));
    }
    // Stable: of equal names the later parameter stays later, and wins.
    sorted.sort_by(|(a, _), (b, _)| by_parts(a, b));
    let root = Member {
        node: Node {
            entries: &sorted,
            start: 0,
        },
        shape: Shape::Struct(fields),
        path: "",
    };
    T::deserialize(root).map_err(|e| e.0)
}

/// Orders names part by part (`a` < `a.b` < `a-b`): a `.` sorts before every other byte, so
/// the names under one prefix of parts are one run.
fn by_parts(a: &str, b: &str) -> std::cmp::Ordering {
    let rank = |c: u8| if c == b'.' { 0 } else { u16::from(c) + 1 };
    a.bytes().map(rank).cmp(b.bytes().map(rank))
}

/// A deserialization error: the `SqsError` the client gets.
#[derive(Debug)]
pub struct DecodeError(SqsError);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<M: std::fmt::Display>(msg: M) -> Self {
        DecodeError(SqsError::new(
            ErrorCode::InvalidParameterValue,
            format!("The request has an invalid parameter: {msg}"),
        ))
    }
}

/// The parameters whose names start with one path of parts, in [`by_parts`] order. Each name
/// either is the path itself (the node's own value; only `start - 1` bytes long) or goes on
/// below it from byte `start`.
#[derive(Clone, Copy)]
struct Node<'a, 'de> {
    entries: &'a [(&'de str, &'de str)],
    start: usize,
}

impl<'a, 'de> Node<'a, 'de> {
    const EMPTY: Node<'static, 'static> = Node {
        entries: &[],
        start: 0,
    };

    /// The node's own value: the last parameter of exactly its name.
    fn value(&self) -> Option<&'de str> {
        self.entries
            .iter()
            .take_while(|(k, _)| k.len() < self.start)
            .last()
            .map(|(_, v)| *v)
    }

    /// Its children, in [`by_parts`] order of their part.
    fn children(&self) -> impl Iterator<Item = (&'de str, Node<'a, 'de>)> {
        let start = self.start;
        let mut rest = self.entries;
        while let Some(((k, _), tail)) = rest.split_first() {
            if k.len() >= start {
                break;
            }
            rest = tail;
        }
        std::iter::from_fn(move || {
            let (first, _) = rest.first()?;
            let below = &first[start..];
            let part = &below[..below.find('.').unwrap_or(below.len())];
            let end = start + part.len();
            let run = rest
                .iter()
                .position(|(k, _)| {
                    !(k.len() >= end
                        && k.as_bytes()[start..end] == *part.as_bytes()
                        && k.as_bytes().get(end).is_none_or(|&b| b == b'.'))
                })
                .unwrap_or(rest.len());
            let (child, tail) = rest.split_at(run);
            rest = tail;
            Some((
                part,
                Node {
                    entries: child,
                    start: end + 1,
                },
            ))
        })
    }

    fn child(&self, name: &str) -> Option<Node<'a, 'de>> {
        self.children().find(|(p, _)| *p == name).map(|(_, n)| n)
    }

    /// Children with numeric indexes, in index order.
    fn indexed(&self) -> Vec<Node<'a, 'de>> {
        let mut items: Vec<(u32, Node<'a, 'de>)> = self
            .children()
            .filter_map(|(k, n)| k.parse::<u32>().ok().map(|i| (i, n)))
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, n)| n).collect()
    }
}

/// A present member (or list item, or map value) and the shape it is read as; `path` is the
/// Query name of the member it belongs to, for error messages.
struct Member<'a, 'de> {
    node: Node<'a, 'de>,
    shape: Shape,
    path: &'static str,
}

impl<'de> de::Deserializer<'de> for Member<'_, 'de> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let path = self.path;
        match self.shape {
            Shape::Str => visitor.visit_borrowed_str(self.node.value().unwrap_or("")),
            Shape::Int => {
                let raw = self.node.value().unwrap_or("");
                let n: i64 = raw.trim().parse().map_err(|_| {
                    DecodeError(SqsError::new(
                        ErrorCode::InvalidParameterValue,
                        format!(
                            "Value {raw} for parameter {path} is invalid. Reason: must be an integer."
                        ),
                    ))
                })?;
                visitor.visit_i64(n)
            }
            Shape::Bool => {
                let raw = self.node.value().unwrap_or("");
                if raw.eq_ignore_ascii_case("true") {
                    visitor.visit_bool(true)
                } else if raw.eq_ignore_ascii_case("false") {
                    visitor.visit_bool(false)
                } else {
                    Err(DecodeError(SqsError::new(
                        ErrorCode::InvalidParameterValue,
                        format!(
                            "Value {raw} for parameter {path} is invalid. Reason: must be a boolean."
                        ),
                    )))
                }
            }
            Shape::List(item) => visitor.visit_seq(Items {
                items: self.node.indexed().into_iter(),
                shape: item,
                path,
            }),
            Shape::Map(key, value, value_shape) => visitor.visit_map(Entries {
                entries: self.node.indexed().into_iter(),
                key,
                value,
                value_shape,
                path,
                next: None,
            }),
            Shape::Struct(fields) => {
                let mut present = Vec::with_capacity(fields.len());
                members(self.node, fields, &mut present);
                visitor.visit_map(Members {
                    members: present.into_iter(),
                    next: None,
                })
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.shape {
            Shape::Str => BorrowedStrDeserializer::new(self.node.value().unwrap_or(""))
                .deserialize_enum(name, variants, visitor),
            _ => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The members of `node` that `fields` name, in the order of `fields`, flattened ones inline.
fn members<'a, 'de>(
    node: Node<'a, 'de>,
    fields: &'static [Field],
    out: &mut Vec<(&'static str, Member<'a, 'de>)>,
) {
    // Split into children once; each field then looks its name up among them.
    let children: Vec<(&'de str, Node<'a, 'de>)> = node.children().collect();
    add_members(&children, fields, out);
}

fn add_members<'a, 'de>(
    children: &[(&'de str, Node<'a, 'de>)],
    fields: &'static [Field],
    out: &mut Vec<(&'static str, Member<'a, 'de>)>,
) {
    for field in fields {
        match field {
            Field::Member(json, query, shape) => {
                if let Some((_, child)) = children.iter().find(|(part, _)| part == query) {
                    let member = Member {
                        node: *child,
                        shape: *shape,
                        path: query,
                    };
                    out.push((json, member));
                }
            }
            Field::Flatten(inner) => add_members(children, inner, out),
        }
    }
}

/// A structure's present members, as a map from their JSON names.
struct Members<'a, 'de> {
    members: std::vec::IntoIter<(&'static str, Member<'a, 'de>)>,
    next: Option<Member<'a, 'de>>,
}

impl<'de> MapAccess<'de> for Members<'_, 'de> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let Some((name, member)) = self.members.next() else {
            return Ok(None);
        };
        self.next = Some(member);
        seed.deserialize(BorrowedStrDeserializer::new(name))
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        let member = self
            .next
            .take()
            .ok_or_else(|| de::Error::custom("a value without a member"))?;
        seed.deserialize(member)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

/// A list's items (`Name.1`, `Name.2`, …).
struct Items<'a, 'de> {
    items: std::vec::IntoIter<Node<'a, 'de>>,
    shape: &'static Shape,
    path: &'static str,
}

impl<'de> SeqAccess<'de> for Items<'_, 'de> {
    type Error = DecodeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DecodeError> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        let item = Member {
            node,
            shape: *self.shape,
            path: self.path,
        };
        seed.deserialize(item).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// A map's entries (`Name.N.<key>` / `Name.N.<value>`). An entry without its key is
/// `MissingParameter`; one without its value has the empty string (or structure).
struct Entries<'a, 'de> {
    entries: std::vec::IntoIter<Node<'a, 'de>>,
    key: &'static str,
    value: &'static str,
    value_shape: &'static Shape,
    path: &'static str,
    next: Option<Node<'a, 'de>>,
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        let key = entry
            .child(self.key)
            .and_then(|n| n.value())
            .ok_or_else(|| {
                DecodeError(SqsError::new(
                    ErrorCode::MissingParameter,
                    format!(
                        "The request must contain the parameter {}.N.{}.",
                        self.path, self.key
                    ),
                ))
            })?;
        self.next = Some(entry);
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        let entry = self
            .next
            .take()
            .ok_or_else(|| de::Error::custom("a value without a key"))?;
        match (entry.child(self.value), self.value_shape) {
            (Some(node), shape) => seed.deserialize(Member {
                node,
                shape: *shape,
                path: self.path,
            }),
            (None, Shape::Str) => seed.deserialize(BorrowedStrDeserializer::new("")),
            (None, _) => seed.deserialize(Member {
                node: Node::EMPTY,
                shape: Shape::Struct(&[]),
                path: self.path,
            }),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// Parses a form or query string (`application/x-www-form-urlencoded`: `&`-separated
/// `name=value` pairs, `+` for a space, `%XX` escapes), failing with `MalformedQueryString`
/// when a name or value is not UTF-8 once decoded. (Decoding it lossily, as a form parser
/// does, would store a message body other than the one sent.)
pub fn parse_params(raw: &[u8]) -> SqsResult<Vec<(String, String)>> {
    // Most parts hold no `+` and no `%`: they are copied once, not rebuilt byte by byte.
    let decode = |part: &[u8]| {
        let spaced: Cow<'_, [u8]> = if part.contains(&b'+') {
            Cow::Owned(
                part.iter()
                    .map(|&b| if b == b'+' { b' ' } else { b })
                    .collect(),
            )
        } else {
            Cow::Borrowed(part)
        };
        // `percent_decode` looks for an escape byte by byte; `contains` is a memchr.
        let bytes: Cow<'_, [u8]> = if spaced.contains(&b'%') {
            percent_encoding::percent_decode(&spaced).into()
        } else {
            spaced
        };
        String::from_utf8(bytes.into_owned()).map_err(|_| {
            SqsError::new(
                ErrorCode::MalformedQueryString,
                "The query string is malformed: a parameter is not valid UTF-8.",
            )
        })
    };
    raw.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// Query parameters that belong to presigned-URL authentication, not to the action.
pub fn is_auth_param(name: &str) -> bool {
    name.starts_with("X-Amz-")
        || name == "AWSAccessKeyId"
        || name == "Signature"
        || name == "SignatureMethod"
        || name == "SignatureVersion"
}

// The map shapes of input members.
pub const ATTRIBUTE_MAP: Shape = Shape::Map("Name", "Value", &Shape::Str);
pub const TAG_MAP: Shape = Shape::Map("Key", "Value", &Shape::Str);

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::{json, Value};

    use super::*;

    /// The parameters as the JSON a JSON-protocol client would send (what [`decode`] reads
    /// into a typed input).
    fn to_json(params: &[(String, String)], fields: &'static [Field]) -> SqsResult<Value> {
        decode::<Value>(params, fields)
    }

    /// The decoding [`decode`] replaced: a tree of the names' parts, then a `serde_json::Value`
    /// of it. Kept as the reference the direct decoding must agree with.
    mod reference {
        use std::collections::BTreeMap;

        use serde_json::{Map, Value};

        use super::super::{Field, Shape, MAX_NAME_PARTS};
        use crate::error::{ErrorCode, SqsError, SqsResult};

        #[derive(Default, Debug)]
        struct Node {
            value: Option<String>,
            children: BTreeMap<String, Node>,
        }

        impl Node {
            fn insert(&mut self, key: &str, value: String) {
                let mut node = self;
                for part in key.split('.') {
                    node = node.children.entry(part.to_string()).or_default();
                }
                node.value = Some(value);
            }

            /// Children with numeric indexes, in index order.
            fn indexed(&self) -> Vec<&Node> {
                let mut items: Vec<(u32, &Node)> = self
                    .children
                    .iter()
                    .filter_map(|(k, n)| k.parse::<u32>().ok().map(|i| (i, n)))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                items.into_iter().map(|(_, n)| n).collect()
            }
        }

        fn convert(node: &Node, shape: &Shape, path: &str) -> SqsResult<Value> {
            Ok(match shape {
                Shape::Str => Value::String(node.value.clone().unwrap_or_default()),
                Shape::Int => {
                    let raw = node.value.as_deref().unwrap_or("");
                    let n: i64 = raw.trim().parse().map_err(|_| {
                        SqsError::new(
                            ErrorCode::InvalidParameterValue,
                            format!(
                                "Value {raw} for parameter {path} is invalid. Reason: must be an integer."
                            ),
                        )
                    })?;
                    Value::from(n)
                }
                Shape::Bool => {
                    let raw = node.value.as_deref().unwrap_or("");
                    match raw.to_ascii_lowercase().as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        _ => {
                            return Err(SqsError::new(
                                ErrorCode::InvalidParameterValue,
                                format!(
                                "Value {raw} for parameter {path} is invalid. Reason: must be a boolean."
                            ),
                            ))
                        }
                    }
                }
                Shape::List(item) => Value::Array(
                    node.indexed()
                        .into_iter()
                        .map(|n| convert(n, item, path))
                        .collect::<SqsResult<Vec<_>>>()?,
                ),
                Shape::Map(key, value, value_shape) => {
                    let mut map = Map::new();
                    for entry in node.indexed() {
                        let k = entry
                            .children
                            .get(*key)
                            .and_then(|n| n.value.clone())
                            .ok_or_else(|| {
                                SqsError::new(
                                    ErrorCode::MissingParameter,
                                    format!(
                                        "The request must contain the parameter {path}.N.{key}."
                                    ),
                                )
                            })?;
                        let v = match entry.children.get(*value) {
                            Some(n) => convert(n, value_shape, path)?,
                            None => match value_shape {
                                Shape::Str => Value::String(String::new()),
                                _ => Value::Object(Map::new()),
                            },
                        };
                        map.insert(k, v);
                    }
                    Value::Object(map)
                }
                Shape::Struct(fields) => {
                    let mut map = Map::new();
                    members(node, fields, &mut map)?;
                    Value::Object(map)
                }
            })
        }

        /// Adds the members of `node` that `fields` name to `map`, in the order of `fields`.
        fn members(node: &Node, fields: &[Field], map: &mut Map<String, Value>) -> SqsResult<()> {
            for field in fields {
                match field {
                    Field::Member(json, query, shape) => {
                        if let Some(child) = node.children.get(*query) {
                            map.insert(json.to_string(), convert(child, shape, query)?);
                        }
                    }
                    Field::Flatten(inner) => members(node, inner, map)?,
                }
            }
            Ok(())
        }

        /// Turns Query parameters into the JSON input of an action with the given members.
        fn reference_to_json(
            params: &[(String, String)],
            fields: &'static [Field],
        ) -> SqsResult<Value> {
            let mut root = Node::default();
            for (k, v) in params {
                if k.split('.').nth(MAX_NAME_PARTS).is_some() {
                    let shown: String = k.chars().take(100).collect();
                    return Err(SqsError::new(
                        ErrorCode::InvalidParameterValue,
                        format!(
                            "The parameter name {shown}... has more than {MAX_NAME_PARTS} parts."
                        ),
                    ));
                }
                root.insert(k, v.clone());
            }
            convert(&root, &Shape::Struct(fields), "")
        }
        pub(super) fn to_json(
            params: &[(String, String)],
            fields: &'static [Field],
        ) -> SqsResult<Value> {
            reference_to_json(params, fields)
        }
    }

    query_input! {
        #[derive(Debug, PartialEq)]
        struct AttributeValue {
            data_type: Option<String> = "DataType",
            string_value: Option<String> = "StringValue",
        }
    }

    query_input! {
        #[derive(Debug, PartialEq)]
        struct Entry {
            id: Option<String> = "Id",
            delay: Option<i64> = "Delay",
        }
    }

    query_input! {
        #[derive(Debug, PartialEq)]
        struct Entries {
            entries: Option<Vec<Entry>> = "Entries" as "Entry",
        }
    }

    query_input! {
        #[derive(Debug, PartialEq)]
        struct Sample {
            queue_name: Option<String> = "QueueName",
            attributes: Option<BTreeMap<String, String>> = "Attributes" as "Attribute" in ATTRIBUTE_MAP,
            max_results: Option<i64> = "MaxResults",
            names: Option<Vec<String>> = "Names" as "AttributeName",
            message_attributes: Option<BTreeMap<String, AttributeValue>> =
                "MessageAttributes" as "MessageAttribute" in MESSAGE_ATTRIBUTES,
            ..entries: Entries,
        }
    }

    const MESSAGE_ATTRIBUTES: Shape = Shape::Map("Name", "Value", &AttributeValue::SHAPE);
    const FIELDS: &[Field] = Sample::FIELDS;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn flattened_members_become_json() {
        let v = to_json(
            &p(&[
                ("QueueName", "q"),
                ("Attribute.2.Name", "B"),
                ("Attribute.2.Value", "2"),
                ("Attribute.1.Name", "A"),
                ("Attribute.1.Value", "1"),
                ("MaxResults", "5"),
                ("AttributeName.10", "z"),
                ("AttributeName.2", "y"),
                ("MessageAttribute.1.Name", "n"),
                ("MessageAttribute.1.Value.DataType", "String"),
                ("MessageAttribute.1.Value.StringValue", "v"),
                ("Entry.1.Id", "a"),
                ("Entry.1.Delay", "3"),
                ("Action", "X"),
            ]),
            FIELDS,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({
                "QueueName": "q",
                "Attributes": {"A": "1", "B": "2"},
                "MaxResults": 5,
                "Names": ["y", "z"],
                "MessageAttributes": {"n": {"DataType": "String", "StringValue": "v"}},
                "Entries": [{"Id": "a", "Delay": 3}],
            })
        );
    }

    fn part() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "QueueName",
            "Attribute",
            "Name",
            "Value",
            "MaxResults",
            "AttributeName",
            "MessageAttribute",
            "DataType",
            "StringValue",
            "Entry",
            "Id",
            "Delay",
            "1",
            "2",
            "10",
            "01",
            "+3",
            "x",
            "",
        ])
    }

    /// Names of any parts, and real ones often enough to repeat and to fill lists and maps.
    fn params() -> impl Strategy<Value = Vec<(String, String)>> {
        let real = prop::sample::select(vec![
            "QueueName",
            "MaxResults",
            "Attribute.1.Name",
            "Attribute.1.Value",
            "Attribute.2.Name",
            "Attribute.2.Value",
            "AttributeName.1",
            "AttributeName.10",
            "AttributeName.2",
            "MessageAttribute.1.Name",
            "MessageAttribute.1.Value.DataType",
            "MessageAttribute.1.Value.StringValue",
            "Entry.1.Id",
            "Entry.1.Delay",
            "Entry.01.Id",
            "Entry.2.Delay",
            "Entry.10.Id",
        ])
        .prop_map(str::to_string);
        let any = prop::collection::vec(part(), 1..=5).prop_map(|p| p.join("."));
        let name = prop_oneof![3 => real, 1 => any];
        let value = prop::sample::select(vec!["", "5", " 7 ", "-2", "TRUE", "a", "b.c", "x y"]);
        prop::collection::vec((name, value.prop_map(str::to_string)), 0..12)
    }

    fn outcome<T>(r: SqsResult<T>) -> Result<T, (ErrorCode, String)> {
        r.map_err(|e| (e.code, e.message))
    }

    proptest! {
        /// Any parameters decode to what the tree-then-JSON decoding gave: the same JSON, the
        /// same typed input (flattened members included), or the same error.
        #[test]
        fn direct_decoding_agrees_with_the_reference(params in params()) {
            let expected = outcome(reference::to_json(&params, FIELDS));
            prop_assert_eq!(outcome(to_json(&params, FIELDS)), expected.clone());
            let typed = expected.and_then(|v| {
                Sample::deserialize(v).map_err(|e| (ErrorCode::InvalidParameterValue, e.to_string()))
            });
            let direct = outcome(decode::<Sample>(&params, FIELDS));
            prop_assert_eq!(direct.is_ok(), typed.is_ok(), "{:?} vs {:?}", direct, typed);
            if let (Ok(direct), Ok(typed)) = (direct, typed) {
                prop_assert_eq!(direct, typed);
            }
        }
    }

    #[test]
    fn bad_integers_are_rejected() {
        let e = to_json(&p(&[("MaxResults", "ten")]), FIELDS).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidParameterValue);
    }

    #[test]
    fn form_decoding_is_strict_about_utf8_and_lenient_about_escapes() {
        let params = parse_params(b"A=b+c&&D=%41%zz%&E&F=%C3%A9").unwrap();
        let want = [("A", "b c"), ("D", "A%zz%"), ("E", ""), ("F", "\u{e9}")];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(params, want);
        for bad in [&b"A=%FF"[..], b"A=a\xffb", b"%C3=1", b"A=%C3"] {
            let e = parse_params(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::MalformedQueryString, "{bad:?}");
        }
    }

    #[test]
    fn a_parameter_name_of_too_many_parts_is_refused_not_built() {
        const FIELDS: &[Field] = &[Field::Member("QueueName", "QueueName", Shape::Str)];
        let deep = vec![("a.".repeat(200_000), "1".to_string())];
        let e = to_json(&deep, FIELDS).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidParameterValue);
        let ok = vec![(
            "A.1.B.1.C.1.D.1.E.1.F.1.G.1.H.1".to_string(),
            "1".to_string(),
        )];
        assert!(to_json(&ok, FIELDS).is_ok());
    }
}
