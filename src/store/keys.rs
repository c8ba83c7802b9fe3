//! Key layout of the single store keyspace: a one-byte prefix, then big-endian ids, so one
//! `apply` batch is atomic across record kinds and a prefix scan returns one queue's records.

/// `q` + account + 0x00 + region + 0x00 + name → `QueueRecord`. Records
/// written before queues had regions sit at `q` + account + 0x00 + name and keep that key.
pub const QUEUE: u8 = b'q';
/// `m` + queue id + seq → `MessageRecord` (immutable part: body, attributes, ids). A *cold*
/// record (see [`is_cold`]): the sled store keeps it on disk only (in segment files of its
/// own), and recovery never reads it.
pub const MESSAGE: u8 = b'm';
/// `i` + queue id + seq → `MessageIndexRecord`: what recovery needs of a message (when it was
/// sent and first visible, its group), written and removed with its `m` record. A *lean*
/// record (see [`is_lean`]): the sled store keeps only its key in memory once recovered.
pub const MESSAGE_INDEX: u8 = b'i';
/// `s` + queue id + seq → `MessageStateRecord` (what a receive changes).
pub const MESSAGE_STATE: u8 = b's';
/// `d` + queue id + dedup key → `DedupRecord`.
pub const DEDUP: u8 = b'd';
/// `t` + task id → `MoveTaskRecord`.
pub const MOVE_TASK: u8 = b't';

/// The key of a queue record; `region` is `None` for a record stored before regions (whose
/// key has no region part). Names and regions never hold a 0x00, so the two forms never meet.
pub fn queue(account: &str, region: Option<&str>, name: &str) -> Vec<u8> {
    let region_len = region.map_or(0, |r| r.len() + 1);
    let mut k = Vec::with_capacity(2 + account.len() + region_len + name.len());
    k.push(QUEUE);
    k.extend_from_slice(account.as_bytes());
    k.push(0);
    if let Some(region) = region {
        k.extend_from_slice(region.as_bytes());
        k.push(0);
    }
    k.extend_from_slice(name.as_bytes());
    k
}

fn id_key(prefix: u8, queue_id: u64, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(prefix);
    k.extend_from_slice(&queue_id.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn message(queue_id: u64, seq: u64) -> Vec<u8> {
    id_key(MESSAGE, queue_id, seq)
}

pub fn message_index(queue_id: u64, seq: u64) -> Vec<u8> {
    id_key(MESSAGE_INDEX, queue_id, seq)
}

/// Whether `key` is a cold record: a message record (`m` + queue id + seq). A store may keep
/// cold records out of memory and read them back on demand; other records are few or small.
pub fn is_cold(key: &[u8]) -> bool {
    key.len() == 17 && key[0] == MESSAGE
}

/// Whether a key starting with `prefix` may be cold.
pub fn may_be_cold(prefix: &[u8]) -> bool {
    prefix.first().is_none_or(|&p| p == MESSAGE) && prefix.len() <= 17
}

/// Whether `key` is a lean record: a message index record (`i` + queue id + seq), one per
/// queued message and read only by recovery. A store may keep its value on disk only, reading
/// it back on demand; recovery reads them all right after the open
/// ([`Store::recovered`](super::Store::recovered) says when it is done).
pub fn is_lean(key: &[u8]) -> bool {
    key.len() == 17 && key[0] == MESSAGE_INDEX
}

/// Whether a key starting with `prefix` may be lean.
pub fn may_be_lean(prefix: &[u8]) -> bool {
    prefix.first().is_none_or(|&p| p == MESSAGE_INDEX) && prefix.len() <= 17
}

pub fn message_state(queue_id: u64, seq: u64) -> Vec<u8> {
    id_key(MESSAGE_STATE, queue_id, seq)
}

pub fn queue_prefix(prefix: u8, queue_id: u64) -> Vec<u8> {
    let mut k = vec![prefix];
    k.extend_from_slice(&queue_id.to_be_bytes());
    k
}

pub fn dedup(queue_id: u64, dedup_key: &str) -> Vec<u8> {
    let mut k = queue_prefix(DEDUP, queue_id);
    k.extend_from_slice(dedup_key.as_bytes());
    k
}

pub fn move_task(task_id: &str) -> Vec<u8> {
    let mut k = vec![MOVE_TASK];
    k.extend_from_slice(task_id.as_bytes());
    k
}

/// The (queue id, seq) of a `m`/`s` key.
pub fn split_id_key(key: &[u8]) -> Option<(u64, u64)> {
    if key.len() != 17 {
        return None;
    }
    let q = u64::from_be_bytes(key[1..9].try_into().ok()?);
    let s = u64::from_be_bytes(key[9..17].try_into().ok()?);
    Some((q, s))
}

/// The queue id of a `d` key.
pub fn split_queue_id(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_keys_sort_by_queue_then_seq() {
        assert!(message(1, 2) < message(1, 3));
        assert!(message(1, u64::MAX) < message(2, 0));
        assert_eq!(split_id_key(&message(7, 9)), Some((7, 9)));
    }

    #[test]
    fn queue_keys_name_their_region_except_legacy_ones() {
        assert_eq!(queue("000000000000", None, "q"), b"q000000000000\0q");
        assert_eq!(
            queue("000000000000", Some("eu-west-1"), "q"),
            b"q000000000000\0eu-west-1\0q"
        );
        assert_ne!(
            queue("000000000000", Some("us-east-1"), "q"),
            queue("000000000000", Some("eu-west-1"), "q")
        );
    }
}
