//! Stored record formats: a format-version byte, then the record. Version 2 (written) is
//! MessagePack with field names, so optional fields may be absent, as in version 1 (JSON, still
//! read). Readers reject unknown versions.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

const FORMAT_V1_JSON: u8 = 1;
/// MessagePack with field names (what [`encode`] writes).
pub(crate) const FORMAT_V2_MSGPACK: u8 = 2;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(FORMAT_V2_MSGPACK);
    value
        .serialize(&mut rmp_serde::Serializer::new(&mut out).with_struct_map())
        .expect("records serialize to MessagePack");
    out
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError(format!("corrupt record: {e}"));
    match bytes.split_first() {
        Some((&FORMAT_V2_MSGPACK, rest)) => rmp_serde::from_slice(rest).map_err(|e| corrupt(&e)),
        Some((&FORMAT_V1_JSON, rest)) => serde_json::from_slice(rest).map_err(|e| corrupt(&e)),
        Some((v, _)) => Err(StoreError(format!("unknown record format version {v}"))),
        None => Err(StoreError("empty record".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Rec {
        a: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        b: Option<u64>,
    }

    #[test]
    fn round_trip_with_absent_optional_fields() {
        for r in [
            Rec {
                a: "x\ry".into(),
                b: None,
            },
            Rec {
                a: String::new(),
                b: Some(u64::MAX),
            },
        ] {
            assert_eq!(decode::<Rec>(&encode(&r)).unwrap(), r);
        }
    }

    #[test]
    fn version_1_json_records_are_still_read() {
        let v1 = [&[FORMAT_V1_JSON][..], br#"{"a":"old"}"#].concat();
        assert_eq!(
            decode::<Rec>(&v1).unwrap(),
            Rec {
                a: "old".into(),
                b: None
            }
        );
    }
}
