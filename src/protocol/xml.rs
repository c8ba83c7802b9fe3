//! XML rendering of Query-protocol responses, written straight from the typed output by a
//! serde serializer (no intermediate value); the SQS-specific element names (flattened maps
//! and lists) are applied here.

use std::borrow::Cow;

use serde::ser::{self, Error as _, Impossible, Serialize};
use serde_json::Value;

use super::XML_NAMESPACE;

type Error = serde_json::Error;

/// A character XML 1.0 allows in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn escape(s: &str) -> String {
    // A character XML 1.0 does not allow (a control character, U+FFFE, U+FFFF), which only an
    // echoed input can hold, becomes U+FFFD: not even a character reference may name it, and
    // a client's parser refuses the whole document over it.
    let s: Cow<'_, str> = if s.chars().all(xml_char) {
        Cow::Borrowed(s)
    } else {
        s.chars()
            .map(|c| if xml_char(c) { c } else { '\u{FFFD}' })
            .collect()
    };
    // quick-xml escapes markup characters; a carriage return must be a character reference
    // too, or the client's XML parser normalises it away.
    quick_xml::escape::escape(s.as_ref()).replace('\r', "&#xD;")
}

/// Appends `s`, escaped. Text of printable ASCII without markup characters (a queue URL, an
/// id, a digest, most bodies) is appended as it is, without the checks and copies of
/// [`escape`], which gives the same text for it.
fn escape_into(out: &mut String, s: &str) {
    let plain = s.bytes().all(|b| {
        matches!(b, b' '..=b'~' | b'\t' | b'\n') && !matches!(b, b'<' | b'>' | b'&' | b'\'' | b'"')
    });
    if plain {
        out.push_str(s);
    } else {
        out.push_str(&escape(s));
    }
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Maps that SQS's XML flattens into repeated entries, by member: the entry element and its key
/// and value elements (`<Attribute><Name>k</Name><Value>v</Value></Attribute>`, …).
pub(super) fn flattened_map(member: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match member {
        "Attributes" => Some(("Attribute", "Name", "Value")),
        "Tags" => Some(("Tag", "Key", "Value")),
        "MessageAttributes" => Some(("MessageAttribute", "Name", "Value")),
        _ => None,
    }
}

/// `<XResponse><XResult>…</XResult><ResponseMetadata>…</ResponseMetadata></XResponse>`, the
/// result written straight from the typed output (by `Element`, the serializer below); an
/// action without output (`None`) gets no `<XResult>`.
pub fn response<T: Serialize + ?Sized>(
    action: &str,
    output: Option<&T>,
    request_id: &str,
) -> Result<String, Error> {
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\"?><");
    out.push_str(action);
    out.push_str("Response xmlns=\"");
    out.push_str(XML_NAMESPACE);
    out.push_str("\">");
    if let Some(output) = output {
        let result_at = out.len();
        out.push('<');
        out.push_str(action);
        out.push_str("Result>");
        let members_at = out.len();
        output.serialize(ResultMembers {
            out: &mut out,
            action,
        })?;
        if out.len() == members_at {
            out.truncate(result_at);
            out.push('<');
            out.push_str(action);
            out.push_str("Result/>");
        } else {
            out.push_str("</");
            out.push_str(action);
            out.push_str("Result>");
        }
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape_into(&mut out, request_id);
    out.push_str("</RequestId></ResponseMetadata></");
    out.push_str(action);
    out.push_str("Response>");
    Ok(out)
}

/// The element name of a list member's items.
fn item_name<'n>(action: &str, member: &'n str) -> Cow<'n, str> {
    match member {
        "QueueUrls" | "queueUrls" => "QueueUrl".into(),
        "Messages" => "Message".into(),
        "Successful" | "Results" => format!("{action}ResultEntry").into(),
        "Failed" => "BatchResultErrorEntry".into(),
        other => other.into(),
    }
}

/// A map key: a string, or an error.
fn key_text<K: Serialize + ?Sized>(key: &K) -> Result<String, Error> {
    match key.serialize(serde_json::value::Serializer)? {
        Value::String(k) => Ok(k),
        other => Err(Error::custom(format!("map key {other} is not a string"))),
    }
}

/// The members of the result itself (`<XResult>` is written by [`response`]); an output that
/// is not a structure or map writes none.
struct ResultMembers<'o> {
    out: &'o mut String,
    action: &'o str,
}

/// One element of the output in SQS's XML shapes, named `name`:
/// - a scalar is `<name>text</name>`, escaped; a left-out member (`None`, a skipped field) is
///   no element, a `None` list item or map value an empty one;
/// - a structure or map is `<name>` + its members + `</name>`, but the maps that SQS flattens
///   ([`flattened_map`]) are one `<Attribute><Name>k</Name><Value>v</Value></Attribute>` (…)
///   per entry, with no element of their own;
/// - a list is its items, each an element named by [`item_name`], with no element of its own.
struct Element<'o> {
    out: &'o mut String,
    action: &'o str,
    name: &'o str,
    /// A member of a structure or map (not a list item nor a flattened map's value).
    member: bool,
}

impl<'o> Element<'o> {
    fn scalar(self, text: &str) -> Result<(), Error> {
        open(self.out, self.name);
        escape_into(self.out, text);
        close(self.out, self.name);
        Ok(())
    }

    fn number(self, n: impl Into<serde_json::Number>) -> Result<(), Error> {
        let text = n.into().to_string();
        self.scalar(&text)
    }

    fn compound(self) -> Result<Compound<'o>, Error> {
        if self.member {
            if let Some((entry, key_name, value_name)) = flattened_map(self.name) {
                return Ok(Compound {
                    out: self.out,
                    action: self.action,
                    kind: Kind::Flattened {
                        entry,
                        key_name,
                        value_name,
                    },
                    key: None,
                });
            }
        }
        open(self.out, self.name);
        Ok(Compound {
            out: self.out,
            action: self.action,
            kind: Kind::Element(self.name),
            key: None,
        })
    }
}

/// Scalars as text, as `Value`'s would be rendered.
macro_rules! numbers {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<(), Error> {
            self.number(v)
        })*
    };
}

/// Serializer methods that write nothing useful for an output: refused.
macro_rules! unsupported {
    ($what:literal) => {
        Err(Error::custom(concat!($what, " have no XML rendering")))
    };
}

impl<'o> ser::Serializer for Element<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Items<'o>;
    type SerializeTuple = Items<'o>;
    type SerializeTupleStruct = Items<'o>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Compound<'o>;
    type SerializeStruct = Compound<'o>;
    type SerializeStructVariant = Impossible<(), Error>;

    numbers! {
        serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64),
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(if v { "true" } else { "false" })
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.scalar(&v.to_string())
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.scalar(&v.to_string())
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        match serde_json::Number::from_f64(v) {
            Some(n) => self.number(n),
            None => self.serialize_none(),
        }
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.scalar(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.scalar(v)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        unsupported!("byte strings")
    }

    fn serialize_none(self) -> Result<(), Error> {
        if !self.member {
            open(self.out, self.name);
            close(self.out, self.name);
        }
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.scalar(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        unsupported!("enum variants with data")
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Items<'o>, Error> {
        if !self.member {
            return unsupported!("lists of lists");
        }
        Ok(Items {
            out: self.out,
            action: self.action,
            item: item_name(self.action, self.name),
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Items<'o>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Items<'o>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        unsupported!("tuple variants")
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'o>, Error> {
        self.compound()
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'o>, Error> {
        self.compound()
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        unsupported!("struct variants")
    }
}

/// A list's items.
struct Items<'o> {
    out: &'o mut String,
    action: &'o str,
    item: Cow<'o, str>,
}

impl Items<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Element {
            out: self.out,
            action: self.action,
            name: &self.item,
            member: false,
        })
    }
}

impl ser::SerializeSeq for Items<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }

    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl ser::SerializeTuple for Items<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }

    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Items<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }

    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// What a structure or map is written as.
enum Kind<'o> {
    /// Its members, inside `<name>…</name>`.
    Element(&'o str),
    /// Its members only (the result itself).
    Members,
    /// One flattened entry per member.
    Flattened {
        entry: &'static str,
        key_name: &'static str,
        value_name: &'static str,
    },
}

/// A structure's or map's members.
struct Compound<'o> {
    out: &'o mut String,
    action: &'o str,
    kind: Kind<'o>,
    /// A map's key, until its value comes.
    key: Option<String>,
}

impl Compound<'_> {
    fn member<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        match self.kind {
            Kind::Flattened {
                entry,
                key_name,
                value_name,
            } => {
                open(self.out, entry);
                open(self.out, key_name);
                escape_into(self.out, key);
                close(self.out, key_name);
                value.serialize(Element {
                    out: self.out,
                    action: self.action,
                    name: value_name,
                    member: false,
                })?;
                close(self.out, entry);
                Ok(())
            }
            Kind::Element(_) | Kind::Members => value.serialize(Element {
                out: self.out,
                action: self.action,
                name: key,
                member: true,
            }),
        }
    }

    fn finish(self) -> Result<(), Error> {
        if let Kind::Element(name) = self.kind {
            close(self.out, name);
        }
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key_text(key)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::custom("map value without a key"))?;
        self.member(&key, value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.member(key, value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), Error> {
        // A flattened map's left-out member is an entry without a value, as its `null` was.
        if let Kind::Flattened { .. } = self.kind {
            self.member(key, &())?;
        }
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// A result that is a scalar writes no members (as the `Value` rendering did).
macro_rules! result_scalars {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, _v: $ty) -> Result<(), Error> {
            Ok(())
        })*
    };
}

impl<'o> ser::Serializer for ResultMembers<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Compound<'o>;
    type SerializeStruct = Compound<'o>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'o>, Error> {
        Ok(Compound {
            out: self.out,
            action: self.action,
            kind: Kind::Members,
            key: None,
        })
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'o>, Error> {
        self.serialize_map(Some(len))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    result_scalars! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_str(&str), serialize_bytes(&[u8]),
    }

    fn serialize_none(self) -> Result<(), Error> {
        Ok(())
    }

    fn serialize_unit(self) -> Result<(), Error> {
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        unsupported!("list results")
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        unsupported!("list results")
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        unsupported!("list results")
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        unsupported!("list results")
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        unsupported!("enum results")
    }
}

pub fn error(fault: &str, code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{XML_NAMESPACE}\"><Error><Type>{fault}</Type><Code>{}</Code><Message>{}</Message><Detail/></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(code),
        escape(message),
        escape(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// The rendering [`response`] replaced: from the output's `Value`
    /// ([`super::super::value::to_value`]). Kept as the reference the direct one must agree
    /// with.
    mod reference {
        use std::borrow::Cow;

        use serde_json::Value;

        use super::super::{close, escape_into, flattened_map, open, XML_NAMESPACE};

        fn scalar_into(out: &mut String, v: &Value) {
            match v {
                Value::String(s) => escape_into(out, s),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Number(n) => out.push_str(&n.to_string()),
                Value::Null => {}
                other => escape_into(out, &other.to_string()),
            }
        }

        /// `<name>` + the escaped scalar `v` + `</name>`.
        fn scalar_element(out: &mut String, name: &str, v: &Value) {
            open(out, name);
            scalar_into(out, v);
            close(out, name);
        }

        /// `<name>` + the members of `v` (an object) or its escaped scalar + `</name>`.
        fn value_element(out: &mut String, action: &str, name: &str, v: &Value) {
            open(out, name);
            match v {
                Value::Object(fields) => members(out, action, fields),
                other => scalar_into(out, other),
            }
            close(out, name);
        }

        /// Writes the members of an output object in SQS's XML shapes, straight into `out`. A `null`
        /// member is one the output left out: no element.
        fn members(out: &mut String, action: &str, obj: &serde_json::Map<String, Value>) {
            for (key, value) in obj {
                if value.is_null() {
                    continue;
                }
                if let (Some((entry, key_name, value_name)), Value::Object(map)) =
                    (flattened_map(key), value)
                {
                    for (k, v) in map {
                        open(out, entry);
                        open(out, key_name);
                        escape_into(out, k);
                        close(out, key_name);
                        value_element(out, action, value_name, v);
                        close(out, entry);
                    }
                    continue;
                }
                match (key.as_str(), value) {
                    ("QueueUrls" | "queueUrls", Value::Array(items)) => {
                        for item in items {
                            scalar_element(out, "QueueUrl", item);
                        }
                    }
                    (_, Value::Array(items)) => {
                        let item_name: Cow<'_, str> = match key.as_str() {
                            "Messages" => "Message".into(),
                            "Successful" | "Results" => format!("{action}ResultEntry").into(),
                            "Failed" => "BatchResultErrorEntry".into(),
                            other => other.into(),
                        };
                        for item in items {
                            value_element(out, action, &item_name, item);
                        }
                    }
                    (_, Value::Object(_)) => value_element(out, action, key, value),
                    (_, v) => scalar_element(out, key, v),
                }
            }
        }

        /// `<XResponse><XResult>…</XResult><ResponseMetadata>…</ResponseMetadata></XResponse>`; an
        /// action without output (`None`) gets no `<XResult>`.
        pub(super) fn response(action: &str, output: Option<&Value>, request_id: &str) -> String {
            let mut out = String::with_capacity(512);
            out.push_str("<?xml version=\"1.0\"?><");
            out.push_str(action);
            out.push_str("Response xmlns=\"");
            out.push_str(XML_NAMESPACE);
            out.push_str("\">");
            if let Some(output) = output {
                let result_at = out.len();
                out.push('<');
                out.push_str(action);
                out.push_str("Result>");
                let members_at = out.len();
                if let Value::Object(obj) = output {
                    members(&mut out, action, obj);
                }
                if out.len() == members_at {
                    out.truncate(result_at);
                    out.push('<');
                    out.push_str(action);
                    out.push_str("Result/>");
                } else {
                    out.push_str("</");
                    out.push_str(action);
                    out.push_str("Result>");
                }
            }
            out.push_str("<ResponseMetadata><RequestId>");
            escape_into(&mut out, request_id);
            out.push_str("</RequestId></ResponseMetadata></");
            out.push_str(action);
            out.push_str("Response>");
            out
        }
    }

    fn render(action: &str, output: Option<&Value>, request_id: &str) -> String {
        response(action, output, request_id).unwrap()
    }

    /// JSON values of the shapes outputs have: objects of members (some of the names SQS
    /// renders specially), lists of scalars or objects (not of lists), scalars and nulls.
    fn output_value() -> impl Strategy<Value = Value> {
        let name = prop::sample::select(vec![
            "Attributes",
            "Tags",
            "MessageAttributes",
            "QueueUrls",
            "Messages",
            "Successful",
            "Failed",
            "Results",
            "Body",
            "Id",
            "x",
        ]);
        let scalar = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            prop::sample::select(vec!["", "a", "<&>\"'", "x y\r\n", "\u{e9}", "1.5"])
                .prop_map(Value::from),
        ];
        let object = move |inner: BoxedStrategy<Value>| {
            prop::collection::btree_map(name.clone(), inner, 0..4).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            })
        };
        let leaf = scalar.clone().boxed();
        leaf.prop_recursive(3, 24, 4, move |inner| {
            let item = prop_oneof![scalar.clone(), object(inner.clone())];
            prop_oneof![
                object(inner.clone()),
                prop::collection::vec(item, 0..3).prop_map(Value::Array),
            ]
        })
    }

    proptest! {
        /// The direct rendering writes what the `Value` one wrote, for any output value (whose
        /// maps are sorted, so the order is the same too).
        #[test]
        fn direct_rendering_agrees_with_the_reference(value in output_value()) {
            let value = Value::Object(
                [("Result".to_string(), value.clone()), ("Other".to_string(), value)]
                    .into_iter()
                    .collect(),
            );
            let expected = reference::response("SendMessageBatch", Some(&value), "rid");
            // The `Value` rendering wrote the JSON text of a list where only a scalar or a
            // structure can be (a map's value) and of a structure in `QueueUrls`: no output has
            // either, and the direct one refuses the first.
            prop_assume!(!expected.contains(['[', '{']));
            prop_assert_eq!(render("SendMessageBatch", Some(&value), "rid"), expected);
        }
    }

    /// A typed output's members come in their declared order (AWS's), left-out ones not at
    /// all, maps flattened, and the same elements as its `Value` rendering gave.
    #[test]
    fn typed_outputs_in_declared_order() {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Sent {
            message_id: &'static str,
            #[serde(rename = "MD5OfMessageBody")]
            md5_of_message_body: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            sequence_number: Option<&'static str>,
            attributes: std::collections::BTreeMap<&'static str, &'static str>,
        }
        let sent = Sent {
            message_id: "m-1",
            md5_of_message_body: "5d41",
            sequence_number: None,
            attributes: [("b", "2"), ("a", "1")].into_iter().collect(),
        };
        let x = response("SendMessage", Some(&sent), "r").unwrap();
        assert_eq!(
            x,
            "<?xml version=\"1.0\"?><SendMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\
             <SendMessageResult><MessageId>m-1</MessageId><MD5OfMessageBody>5d41</MD5OfMessageBody>\
             <Attribute><Name>a</Name><Value>1</Value></Attribute>\
             <Attribute><Name>b</Name><Value>2</Value></Attribute></SendMessageResult>\
             <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></SendMessageResponse>"
        );
        let value = super::super::value::to_value(&sent).unwrap();
        let mut direct: Vec<char> = x.chars().collect();
        let mut by_value: Vec<char> = reference::response("SendMessage", Some(&value), "r")
            .chars()
            .collect();
        direct.sort_unstable();
        by_value.sort_unstable();
        assert_eq!(direct, by_value);
    }

    #[test]
    fn attributes_and_lists() {
        let x = render(
            "GetQueueAttributes",
            Some(&json!({"Attributes": {"VisibilityTimeout": "30"}})),
            "r",
        );
        assert!(x.contains("<GetQueueAttributesResult><Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute></GetQueueAttributesResult>"));
        let x = render("ListQueues", Some(&json!({"QueueUrls": ["a", "b"]})), "r");
        assert!(x.contains(
            "<ListQueuesResult><QueueUrl>a</QueueUrl><QueueUrl>b</QueueUrl></ListQueuesResult>"
        ));
        let x = render("ReceiveMessage", Some(&json!({})), "r");
        assert!(x.contains("<ReceiveMessageResult/>"));
        let x = render("DeleteQueue", None, "r");
        assert!(!x.contains("Result"));
        assert!(x.starts_with("<?xml version=\"1.0\"?><DeleteQueueResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">"));
    }

    #[test]
    fn messages_and_batches() {
        let x = render(
            "ReceiveMessage",
            Some(
                &json!({"Messages": [{"Body": "a<b\r", "MessageAttributes": {"n": {"DataType": "String", "StringValue": "v"}}}]}),
            ),
            "r",
        );
        assert!(x.contains("<Message><Body>a&lt;b&#xD;</Body><MessageAttribute><Name>n</Name><Value><DataType>String</DataType><StringValue>v</StringValue></Value></MessageAttribute></Message>"));
        let x = render(
            "DeleteMessageBatch",
            Some(
                &json!({"Successful": [{"Id": "1"}], "Failed": [{"Id": "2", "SenderFault": true}]}),
            ),
            "r",
        );
        assert!(
            x.contains("<DeleteMessageBatchResultEntry><Id>1</Id></DeleteMessageBatchResultEntry>")
        );
        assert!(x.contains("<BatchResultErrorEntry><Id>2</Id><SenderFault>true</SenderFault></BatchResultErrorEntry>"));
    }

    #[test]
    fn null_members_are_left_out() {
        let x = render(
            "SendMessageBatch",
            Some(&json!({"Successful": [{"Id": "1", "SequenceNumber": null}], "Failed": null})),
            "r",
        );
        assert!(x.contains("<SendMessageBatchResult><SendMessageBatchResultEntry><Id>1</Id></SendMessageBatchResultEntry></SendMessageBatchResult>"));
        let x = render("ReceiveMessage", Some(&json!({"Messages": null})), "r");
        assert!(x.contains("<ReceiveMessageResult/>"));
        let x = render(
            "ListQueueTags",
            Some(&json!({"Tags": {"a": "1"}, "NextToken": null})),
            "r",
        );
        assert!(x.contains(
            "<ListQueueTagsResult><Tag><Key>a</Key><Value>1</Value></Tag></ListQueueTagsResult>"
        ));
    }

    /// The fast path of [`escape_into`] writes what [`escape`] would.
    #[test]
    fn escaping_into_a_document_matches_escape() {
        for s in [
            "",
            "http://127.0.0.1:9324/000000000000/q",
            "plain text ~ with spaces\tand\nlines",
            "a<b>c&d'e\"f",
            "cr\r",
            "nul\0 and \u{1}",
            "\u{e9}t\u{e9} \u{10000} \u{FFFE}",
            "\u{7f}",
        ] {
            let mut out = String::from("<x>");
            escape_into(&mut out, s);
            assert_eq!(out, format!("<x>{}", escape(s)), "{s:?}");
        }
    }

    /// An action name or parameter echoed in an error may hold any character; the document
    /// must stay XML 1.0 (found by the http_request fuzz target: NULs in an action name).
    #[test]
    fn characters_xml_does_not_allow_are_replaced() {
        let doc = error(
            "Sender",
            "InvalidAction",
            "The action Set\0Queue\u{1}\u{FFFE} is not valid\r\n\t\u{10000}",
            "id",
        );
        assert!(doc.contains("Set\u{FFFD}Queue\u{FFFD}\u{FFFD} is not valid&#xD;\n\t\u{10000}"));
        assert!(doc.chars().all(xml_char));
        let mut reader = quick_xml::Reader::from_str(&doc);
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Text(t) => drop(t.unescape().unwrap()),
                _ => {}
            }
        }
    }
}
