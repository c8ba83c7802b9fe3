//! Query-protocol decoding: form and query-string parameters (`Attribute.1.Name=…`) become the
//! same JSON value a JSON-protocol client would send, guided by the Query members of the
//! action's input ([`QueryInput`], declared with `query_input!` from the input's one member
//! list).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

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
                            format!("The request must contain the parameter {path}.N.{key}."),
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

/// The most dot-separated parts a parameter name may have. The deepest member is 7 parts
/// (`SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringListValue.1`); a name of
/// 100,000 parts once built a tree whose recursive drop overflowed the stack and aborted the
/// server.
const MAX_NAME_PARTS: usize = 16;

/// Turns Query parameters into the JSON input of an action with the given members.
pub fn to_json(params: &[(String, String)], fields: &'static [Field]) -> SqsResult<Value> {
    let mut root = Node::default();
    for (k, v) in params {
        if k.split('.').nth(MAX_NAME_PARTS).is_some() {
            let shown: String = k.chars().take(100).collect();
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!("The parameter name {shown}... has more than {MAX_NAME_PARTS} parts."),
            ));
        }
        root.insert(k, v.clone());
    }
    convert(&root, &Shape::Struct(fields), "")
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
        let bytes: Cow<'_, [u8]> = percent_encoding::percent_decode(&spaced).into();
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
    use super::*;
    use serde_json::json;

    query_input! {
        #[allow(dead_code)]
        struct AttributeValue {
            data_type: Option<String> = "DataType",
            string_value: Option<String> = "StringValue",
        }
    }

    query_input! {
        #[allow(dead_code)]
        struct Entry {
            id: Option<String> = "Id",
            delay: Option<i64> = "Delay",
        }
    }

    query_input! {
        #[allow(dead_code)]
        struct Entries {
            entries: Option<Vec<Entry>> = "Entries" as "Entry",
        }
    }

    query_input! {
        #[allow(dead_code)]
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
