//! Receipt-handle decoding: any string a client sends back. Whatever decodes must be exactly
//! what encoding that handle gives (no second spelling of a handle), and a handle built from
//! the bytes must round-trip and reject a changed character.
#![no_main]

use cauda::engine::receipt::ReceiptHandle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(h) = ReceiptHandle::decode(text) {
            assert_eq!(h.encode(), text, "a second spelling of {h:?}");
            assert_eq!(ReceiptHandle::for_queue(text, h.queue_id).ok(), Some(h));
            assert!(ReceiptHandle::for_queue(text, h.queue_id.wrapping_add(1)).is_err());
        }
    }
    if data.len() >= 22 {
        let h = ReceiptHandle {
            queue_id: u64::from_le_bytes(data[0..8].try_into().unwrap()),
            seq: u64::from_le_bytes(data[8..16].try_into().unwrap()),
            generation: u32::from_le_bytes(data[16..20].try_into().unwrap()),
        };
        let encoded = h.encode();
        assert_eq!(ReceiptHandle::decode(&encoded), Some(h));
        let mut changed = encoded.into_bytes();
        let at = usize::from(data[20]) % changed.len();
        let new = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            [usize::from(data[21]) % 64];
        if changed[at] != new {
            changed[at] = new;
            let changed = String::from_utf8(changed).unwrap();
            assert_ne!(ReceiptHandle::decode(&changed), Some(h), "{changed}");
        }
    }
});
