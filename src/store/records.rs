//! Stored record formats: a format-version byte, then JSON. Readers reject unknown versions.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

const FORMAT_V1: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![FORMAT_V1];
    serde_json::to_writer(&mut out, value).expect("records serialize to JSON");
    out
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&FORMAT_V1, rest)) => {
            serde_json::from_slice(rest).map_err(|e| StoreError(format!("corrupt record: {e}")))
        }
        Some((v, _)) => Err(StoreError(format!("unknown record format version {v}"))),
        None => Err(StoreError("empty record".into())),
    }
}
