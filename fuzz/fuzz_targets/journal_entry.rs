//! The sled journal as read from disk when the store opens: entries (a format byte, then
//! postcard-encoded ops) decoded, their ops applied to a store, and the engine recovered from
//! that store, the way a server starts over its data directory. The input is one or more
//! entries, each preceded by its length (two bytes, big-endian). Decoding must round-trip; recovery may
//! refuse a corrupt record with an error but must not panic.
#![no_main]

use std::sync::Arc;

use cauda::engine::{Engine, EngineSettings};
use cauda::fuzzing::{decode_journal_entry, encode_journal_entry};
use cauda::store::{MemoryStore, Store, WriteBatch};
use cauda::ManualClock;
use libfuzzer_sys::fuzz_target;

/// 2026-11-28T00:00:00Z.
const NOW_MS: u64 = 1_795_824_000_000;

fn recover(entries: &[Vec<cauda::store::Op>]) {
    let store = Arc::new(MemoryStore::new());
    for ops in entries {
        let batch = WriteBatch { ops: ops.clone() };
        store
            .apply(batch)
            .expect("the memory store applies any batch");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let _guard = runtime.enter();
    let clock = Arc::new(ManualClock::new(NOW_MS));
    if let Ok(engine) = Engine::open(store, clock, EngineSettings::default()) {
        engine.shutdown();
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let mut entries = Vec::new();
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (entry, tail) = tail.split_at(len);
        rest = tail;
        let Ok(ops) = decode_journal_entry(entry) else {
            continue;
        };
        let encoded = encode_journal_entry(&ops);
        assert_eq!(decode_journal_entry(&encoded).ok(), Some(ops.clone()));
        entries.push(ops);
    }
    // The whole input as one entry, too.
    if let Ok(ops) = decode_journal_entry(data) {
        entries.push(ops);
    }
    recover(&entries);
});
