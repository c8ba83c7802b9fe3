//! The value both Query renderings (XML and JSON) are made from: the typed output serialized as
//! by `serde_json::to_value`, except that a struct member its `skip_serializing_if` leaves out is
//! kept as `null` (serde reports it through `SerializeStruct::skip_field`). The XML writer skips
//! those; AWS's JSON rendering of Query responses shows them as `null`.

use serde::ser::{self, Error as _, Impossible, Serialize};
use serde_json::{Map, Value};

type Error = serde_json::Error;

/// The value of `output`, with left-out struct members as `null`.
pub fn to_value<T: Serialize + ?Sized>(output: &T) -> Result<Value, Error> {
    output.serialize(Members)
}

/// `serde_json::value::Serializer` for scalars; its own collectors for the rest, so that nested
/// structs are serialized by it too.
struct Members;

/// Scalars go to serde_json's serializer unchanged.
macro_rules! scalars {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<Value, Error> {
            serde_json::value::Serializer.$method(v)
        })*
    };
}

impl ser::Serializer for Members {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Impossible<Value, Error>;
    type SerializeMap = Object;
    type SerializeStruct = Object;
    type SerializeStructVariant = Impossible<Value, Error>;

    scalars! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_str(&str), serialize_bytes(&[u8]),
    }

    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(Value::String(variant.to_string()))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        let mut map = Map::new();
        map.insert(variant.to_string(), value.serialize(Members)?);
        Ok(Value::Object(map))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, Error> {
        Ok(Seq(Vec::with_capacity(len.unwrap_or(0))))
    }

    fn serialize_tuple(self, len: usize) -> Result<Seq, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error::custom(format!(
            "{name}::{variant}: tuple variants have no output rendering"
        )))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Object, Error> {
        Ok(Object::default())
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Object, Error> {
        Ok(Object::default())
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error::custom(format!(
            "{name}::{variant}: struct variants have no output rendering"
        )))
    }
}

struct Seq(Vec<Value>);

impl Seq {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.0.push(value.serialize(Members)?);
        Ok(())
    }
}

impl ser::SerializeSeq for Seq {
    type Ok = Value;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = Value;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = Value;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(Value::Array(self.0))
    }
}

#[derive(Default)]
struct Object {
    map: Map<String, Value>,
    key: Option<String>,
}

impl ser::SerializeMap for Object {
    type Ok = Value;
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        match key.serialize(Members)? {
            Value::String(k) => {
                self.key = Some(k);
                Ok(())
            }
            other => Err(Error::custom(format!("map key {other} is not a string"))),
        }
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::custom("map value without a key"))?;
        self.map.insert(key, value.serialize(Members)?);
        Ok(())
    }

    fn end(self) -> Result<Value, Error> {
        Ok(Value::Object(self.map))
    }
}

impl ser::SerializeStruct for Object {
    type Ok = Value;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.map.insert(key.to_string(), value.serialize(Members)?);
        Ok(())
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), Error> {
        self.map.insert(key.to_string(), Value::Null);
        Ok(())
    }

    fn end(self) -> Result<Value, Error> {
        Ok(Value::Object(self.map))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::json;

    use super::to_value;

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Inner {
        data_type: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        string_value: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        string_list_values: Vec<String>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Outer {
        id: u64,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        attributes: BTreeMap<String, Inner>,
        entries: Vec<Inner>,
    }

    fn inner(s: Option<&str>) -> Inner {
        Inner {
            data_type: "String".into(),
            string_value: s.map(str::to_string),
            string_list_values: Vec::new(),
        }
    }

    #[test]
    fn left_out_members_are_null_at_every_depth() {
        let out = Outer {
            id: u64::MAX,
            ok: true,
            token: None,
            attributes: BTreeMap::from([("a".to_string(), inner(Some("x")))]),
            entries: vec![inner(None)],
        };
        assert_eq!(
            to_value(&out).unwrap(),
            json!({
                "Id": u64::MAX,
                "Ok": true,
                "Token": null,
                "Attributes": {"a": {"DataType": "String", "StringValue": "x", "StringListValues": null}},
                "Entries": [{"DataType": "String", "StringValue": null, "StringListValues": null}],
            })
        );
        let empty = Outer {
            attributes: BTreeMap::new(),
            token: Some("t".into()),
            ..out
        };
        let v = to_value(&empty).unwrap();
        assert_eq!(v["Attributes"], json!(null));
        assert_eq!(v["Token"], json!("t"));
    }

    #[test]
    fn same_as_serde_json_once_nulls_are_dropped() {
        fn drop_nulls(v: serde_json::Value) -> serde_json::Value {
            match v {
                serde_json::Value::Object(m) => m
                    .into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k, drop_nulls(v)))
                    .collect(),
                serde_json::Value::Array(a) => a.into_iter().map(drop_nulls).collect(),
                other => other,
            }
        }
        let out = Outer {
            id: 7,
            ok: false,
            token: None,
            attributes: BTreeMap::from([("k".to_string(), inner(None))]),
            entries: vec![inner(Some("v")), inner(None)],
        };
        assert_eq!(
            drop_nulls(to_value(&out).unwrap()),
            serde_json::to_value(&out).unwrap()
        );
    }

    #[test]
    fn flattened_members_and_enums() {
        #[derive(Serialize)]
        struct Flat {
            #[serde(rename = "Id")]
            id: String,
            #[serde(flatten)]
            inner: Inner,
        }
        #[derive(Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, u8),
        }
        let v = to_value(&Flat {
            id: "1".into(),
            inner: inner(Some("s")),
        })
        .unwrap();
        assert_eq!(
            v,
            json!({"Id": "1", "DataType": "String", "StringValue": "s"})
        );
        assert_eq!(to_value(&E::Unit).unwrap(), json!("Unit"));
        assert_eq!(to_value(&E::New(3)).unwrap(), json!({"New": 3}));
        assert!(to_value(&E::Tuple(1, 2)).is_err());
        assert!(to_value(&BTreeMap::from([(1u8, 2u8)])).is_err());
    }
}
