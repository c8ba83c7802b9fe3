//! Query-protocol decoding: form and query-string parameters (`Attribute.1.Name=…`) become the
//! same JSON value a JSON-protocol client would send, guided by each action's [`Shape`].

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

/// One member: its JSON name, its Query name and its shape.
#[derive(Clone, Copy, Debug)]
pub struct Field(pub &'static str, pub &'static str, pub Shape);

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
            for Field(json, query, shape) in fields.iter() {
                if let Some(child) = node.children.get(*query) {
                    map.insert(json.to_string(), convert(child, shape, query)?);
                }
            }
            Value::Object(map)
        }
    })
}

/// Turns Query parameters into the JSON input of an action with the given members.
pub fn to_json(params: &[(String, String)], fields: &'static [Field]) -> SqsResult<Value> {
    let mut root = Node::default();
    for (k, v) in params {
        root.insert(k, v.clone());
    }
    convert(&root, &Shape::Struct(fields), "")
}

/// Parses a form or query string, failing with `MalformedQueryString` on bad encoding.
pub fn parse_params(raw: &[u8]) -> SqsResult<Vec<(String, String)>> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw).map_err(|e| {
        SqsError::new(
            ErrorCode::MalformedQueryString,
            format!("The query string is malformed: {e}"),
        )
    })
}

/// Query parameters that belong to presigned-URL authentication, not to the action.
pub fn is_auth_param(name: &str) -> bool {
    name.starts_with("X-Amz-")
        || name == "AWSAccessKeyId"
        || name == "Signature"
        || name == "SignatureMethod"
        || name == "SignatureVersion"
}

// Shapes shared by several actions.
pub const ATTRIBUTE_MAP: Shape = Shape::Map("Name", "Value", &Shape::Str);
pub const TAG_MAP: Shape = Shape::Map("Key", "Value", &Shape::Str);
pub const STRING_LIST: Shape = Shape::List(&Shape::Str);
pub const MESSAGE_ATTRIBUTE_VALUE: Shape = Shape::Struct(&[
    Field("DataType", "DataType", Shape::Str),
    Field("StringValue", "StringValue", Shape::Str),
    Field("BinaryValue", "BinaryValue", Shape::Str),
    Field(
        "StringListValues",
        "StringListValue",
        Shape::List(&Shape::Str),
    ),
    Field(
        "BinaryListValues",
        "BinaryListValue",
        Shape::List(&Shape::Str),
    ),
]);
pub const MESSAGE_ATTRIBUTE_MAP: Shape = Shape::Map("Name", "Value", &MESSAGE_ATTRIBUTE_VALUE);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[Field] = &[
        Field("QueueName", "QueueName", Shape::Str),
        Field("Attributes", "Attribute", ATTRIBUTE_MAP),
        Field("MaxResults", "MaxResults", Shape::Int),
        Field("Names", "AttributeName", STRING_LIST),
        Field(
            "MessageAttributes",
            "MessageAttribute",
            MESSAGE_ATTRIBUTE_MAP,
        ),
        Field(
            "Entries",
            "Entry",
            Shape::List(&Shape::Struct(&[
                Field("Id", "Id", Shape::Str),
                Field("Delay", "Delay", Shape::Int),
            ])),
        ),
    ];

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
}
