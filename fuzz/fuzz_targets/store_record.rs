//! Stored record decoding: the bytes of one record as read from the store, decoded as the kind
//! of record the first byte picks (what recovery does for each key prefix). Whatever decodes
//! must re-encode to bytes that decode to the same record.
#![no_main]

use cauda::engine::move_tasks::MoveTaskInfo;
use cauda::engine::queue::{DedupRecord, MessageRecord, MessageStateRecord, QueueRecord};
use cauda::store::records;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Decode → encode → decode → encode: the two encodings must be equal.
fn round_trip<T: Serialize + DeserializeOwned>(bytes: &[u8]) {
    if let Ok(record) = records::decode::<T>(bytes) {
        let once = records::encode(&record);
        let again: T = records::decode(&once).expect("an encoded record decodes");
        assert_eq!(records::encode(&again), once);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 5 {
        0 => round_trip::<QueueRecord>(bytes),
        1 => round_trip::<MessageRecord>(bytes),
        2 => round_trip::<MessageStateRecord>(bytes),
        3 => round_trip::<DedupRecord>(bytes),
        _ => round_trip::<MoveTaskInfo>(bytes),
    }
});
