//! Receipt handles: opaque, versioned, carrying the queue, the message and the receive
//! generation (its receive count), plus a check so a mangled handle is rejected.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use md5::{Digest, Md5};

use super::queue::MessageMeta;
use super::{EngineError, EngineResult};

const VERSION: u8 = 1;
const LEN: usize = 1 + 8 + 8 + 4 + 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptHandle {
    pub queue_id: u64,
    pub seq: u64,
    /// The receive count the message had right after the receive that issued this handle.
    pub generation: u32,
}

fn check(bytes: &[u8]) -> [u8; 4] {
    let d = Md5::digest(bytes);
    [d[0], d[1], d[2], d[3]]
}

impl ReceiptHandle {
    pub fn encode(&self) -> String {
        let mut b = Vec::with_capacity(LEN);
        b.push(VERSION);
        b.extend_from_slice(&self.queue_id.to_be_bytes());
        b.extend_from_slice(&self.seq.to_be_bytes());
        b.extend_from_slice(&self.generation.to_be_bytes());
        let c = check(&b);
        b.extend_from_slice(&c);
        URL_SAFE_NO_PAD.encode(b)
    }

    pub fn decode(s: &str) -> Option<ReceiptHandle> {
        if s.len() > 64 {
            return None;
        }
        let b = URL_SAFE_NO_PAD.decode(s).ok()?;
        if b.len() != LEN || b[0] != VERSION || check(&b[..LEN - 4]) != b[LEN - 4..] {
            return None;
        }
        Some(ReceiptHandle {
            queue_id: u64::from_be_bytes(b[1..9].try_into().ok()?),
            seq: u64::from_be_bytes(b[9..17].try_into().ok()?),
            generation: u32::from_be_bytes(b[17..21].try_into().ok()?),
        })
    }

    /// Decodes `handle`, which must be a receipt handle issued by queue `queue_id`.
    pub fn for_queue(handle: &str, queue_id: u64) -> EngineResult<ReceiptHandle> {
        ReceiptHandle::decode(handle)
            .filter(|h| h.queue_id == queue_id)
            .ok_or_else(|| EngineError::ReceiptHandleInvalid {
                handle: handle.to_string(),
            })
    }

    /// FIFO: a handle acts only while its receive is the message's latest and the message is
    /// still in flight; otherwise it has expired.
    pub fn check_current(
        &self,
        fifo: bool,
        meta: &MessageMeta,
        now: u64,
        handle: &str,
    ) -> EngineResult<()> {
        if fifo && (meta.state.receive_count != self.generation || !meta.in_flight(now)) {
            return Err(EngineError::ReceiptHandleExpired {
                handle: handle.to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let h = ReceiptHandle {
            queue_id: 7,
            seq: 1_700_000_000_000_000_123,
            generation: 3,
        };
        let s = h.encode();
        assert_eq!(ReceiptHandle::decode(&s), Some(h));
        assert_eq!(ReceiptHandle::decode("garbage"), None);
        assert_eq!(ReceiptHandle::decode(""), None);
        let mut tampered = s.clone().into_bytes();
        tampered[5] = if tampered[5] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            ReceiptHandle::decode(std::str::from_utf8(&tampered).unwrap()),
            None
        );
        let other = ReceiptHandle { generation: 4, ..h }.encode();
        assert_ne!(other, s);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    fn handle() -> impl Strategy<Value = ReceiptHandle> {
        (any::<u64>(), any::<u64>(), any::<u32>()).prop_map(|(queue_id, seq, generation)| {
            ReceiptHandle {
                queue_id,
                seq,
                generation,
            }
        })
    }

    proptest! {
        #[test]
        fn round_trip(h in handle()) {
            let s = h.encode();
            prop_assert_eq!(ReceiptHandle::decode(&s), Some(h));
            prop_assert_eq!(ReceiptHandle::for_queue(&s, h.queue_id), Ok(h));
            prop_assert!(ReceiptHandle::for_queue(&s, h.queue_id ^ 1).is_err());
        }

        /// Any one character replaced, by another of the alphabet or by anything else: the
        /// handle is refused (the check bytes, the version or base64's own rules catch it).
        #[test]
        fn any_changed_character_is_rejected(h in handle(), at in any::<prop::sample::Index>(), by in any::<char>(), pick in any::<prop::sample::Index>(), from_alphabet in any::<bool>()) {
            let s = h.encode();
            let mut chars: Vec<char> = s.chars().collect();
            let at = at.index(chars.len());
            let by = if from_alphabet { char::from(*pick.get(ALPHABET)) } else { by };
            prop_assume!(chars[at] != by);
            chars[at] = by;
            let changed: String = chars.into_iter().collect();
            prop_assert_eq!(ReceiptHandle::decode(&changed), None, "{}", changed);
        }

        /// Any one byte of the decoded handle changed, re-encoded as valid base64: refused.
        #[test]
        fn any_changed_byte_is_rejected(h in handle(), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let mut bytes = URL_SAFE_NO_PAD.decode(h.encode()).unwrap();
            let at = at.index(bytes.len());
            bytes[at] ^= flip;
            let changed = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert_eq!(ReceiptHandle::decode(&changed), None, "{}", changed);
        }

        /// Characters added or removed anywhere, or padding appended: refused.
        #[test]
        fn inserted_or_removed_characters_are_rejected(h in handle(), at in any::<prop::sample::Index>(), c in any::<prop::sample::Index>(), remove in any::<bool>()) {
            let mut s = h.encode();
            let at = at.index(s.len());
            if remove {
                s.remove(at);
            } else {
                s.insert(at, char::from(*c.get(ALPHABET)));
            }
            prop_assert_eq!(ReceiptHandle::decode(&s), None);
            prop_assert_eq!(ReceiptHandle::decode(&format!("{}=", h.encode())), None);
        }

        /// Whatever string decodes is the one encoding of its handle.
        #[test]
        fn arbitrary_strings_decode_only_to_their_own_encoding(s in "[A-Za-z0-9_=-]{0,40}|\\PC{0,40}") {
            if let Some(h) = ReceiptHandle::decode(&s) {
                prop_assert_eq!(h.encode(), s);
            }
        }
    }
}
