//! The segments alone: reads, reopens, torn tails, reclaim and compaction.

use super::*;

fn key(queue: u64, seq: u64) -> Vec<u8> {
    crate::store::keys::message(queue, seq)
}

fn get(bodies: &Bodies, k: &[u8]) -> Option<Vec<u8>> {
    bodies.find(k).map(|at| at.read().unwrap())
}

fn sync(bodies: &mut Bodies) {
    let ticket = bodies.start_sync().unwrap();
    ticket.sync().unwrap();
    bodies.synced(ticket);
}

fn segment_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "seg")
        .count()
}

/// Puts, overwrites and removals read back before and after a reopen, whether a value is
/// still buffered, written out, or in a sealed segment read through its hint file.
#[test]
fn values_read_back_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut bodies = Bodies::open_with(dir.path(), 1 << 20).unwrap();
    let big = vec![7u8; 3_000];
    for seq in 0..400 {
        bodies.put(&key(1, seq), &big).unwrap();
    }
    bodies.put(&key(2, 5), b"five").unwrap();
    bodies.put(&key(2, 5), b"FIVE").unwrap();
    bodies.put(&key(2, 6), b"six").unwrap();
    bodies.remove(&key(1, 3)).unwrap();
    bodies.remove(&key(9, 9)).unwrap();
    assert!(
        segment_files(dir.path()) > 1,
        "400 × 3 kB fill more than one 1 MiB segment"
    );
    assert_eq!(
        get(&bodies, &key(2, 5)).unwrap(),
        b"FIVE",
        "from the buffer"
    );
    assert_eq!(
        get(&bodies, &key(1, 0)).unwrap(),
        big,
        "from a sealed segment"
    );
    assert_eq!(get(&bodies, &key(1, 3)), None);
    assert_eq!(bodies.len(), 401);
    sync(&mut bodies);
    drop(bodies);
    let bodies = Bodies::open_with(dir.path(), 1 << 20).unwrap();
    assert_eq!(get(&bodies, &key(2, 5)).unwrap(), b"FIVE");
    assert_eq!(get(&bodies, &key(2, 6)).unwrap(), b"six");
    assert_eq!(get(&bodies, &key(1, 399)).unwrap(), big);
    assert_eq!(
        get(&bodies, &key(1, 3)),
        None,
        "the removal is replayed too"
    );
    assert_eq!(bodies.len(), 401);
    let (bytes, live) = bodies.sizes();
    assert!(live < bytes && live > 400 * 3_000);
}

/// A torn last record (a crash in the middle of a write) is cut off at the open; what
/// came before it stays, and new writes follow it.
#[test]
fn a_torn_tail_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut bodies = Bodies::open(dir.path()).unwrap();
    bodies.put(&key(1, 1), b"one").unwrap();
    bodies.put(&key(1, 2), b"two").unwrap();
    sync(&mut bodies);
    drop(bodies);
    let path = segment_path(dir.path(), 1);
    let len = std::fs::metadata(&path).unwrap().len();
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 1).unwrap();
    let mut bodies = Bodies::open(dir.path()).unwrap();
    assert_eq!(get(&bodies, &key(1, 1)).unwrap(), b"one");
    assert_eq!(get(&bodies, &key(1, 2)), None, "the torn record is gone");
    bodies.put(&key(1, 3), b"three").unwrap();
    sync(&mut bodies);
    drop(bodies);
    let bodies = Bodies::open(dir.path()).unwrap();
    assert_eq!(get(&bodies, &key(1, 3)).unwrap(), b"three");
    assert_eq!(bodies.len(), 2);
}

/// A segment sealed after the last sync gets its hint file only from the next sync (which
/// syncs its data first); without one, a torn tail there is cut off at the open like the
/// active segment's.
#[test]
fn a_segment_sealed_since_the_last_sync_may_be_torn() {
    let dir = tempfile::tempdir().unwrap();
    let mut bodies = Bodies::open_with(dir.path(), 4096).unwrap();
    for seq in 0..5 {
        bodies.put(&key(1, seq), &[seq as u8; 1000]).unwrap();
    }
    assert_eq!(
        segment_files(dir.path()),
        2,
        "three records fill a 4 kB segment"
    );
    assert!(!hint_path(dir.path(), 1).exists(), "not synced yet");
    bodies.write_out().unwrap();
    drop(bodies);
    let first = segment_path(dir.path(), 1);
    let len = std::fs::metadata(&first).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&first)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let mut bodies = Bodies::open_with(dir.path(), 4096).unwrap();
    assert_eq!(get(&bodies, &key(1, 1)).unwrap(), vec![1u8; 1000]);
    assert_eq!(get(&bodies, &key(1, 2)), None, "torn");
    assert_eq!(get(&bodies, &key(1, 3)).unwrap(), vec![3u8; 1000]);
    bodies.put(&key(1, 9), b"nine").unwrap();
    sync(&mut bodies);
    for seq in 10..20 {
        bodies.put(&key(1, seq), &[0; 1000]).unwrap();
    }
    sync(&mut bodies);
    assert!(hint_path(dir.path(), 2).exists(), "sealed, then synced");
    drop(bodies);
    let bodies = Bodies::open_with(dir.path(), 4096).unwrap();
    assert_eq!(get(&bodies, &key(1, 9)).unwrap(), b"nine");
    assert_eq!(bodies.len(), 15, "0, 1, 3, 4, 9 and 10 to 19");
}

/// Dead segments go oldest first, only once their deaths are synced; compaction copies the
/// oldest segment's live records forward so that it can go too; space follows the live
/// bytes, and everything live reads back after a reopen.
#[test]
fn dead_segments_go_and_compaction_frees_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let mut bodies = Bodies::open_with(dir.path(), 64 << 10).unwrap();
    let value = vec![1u8; 1 << 10];
    // 62 records a segment: four full ones, and two records in the fifth (active) one.
    for seq in 0..250 {
        bodies.put(&key(1, seq), &value).unwrap();
    }
    let segments = segment_files(dir.path());
    assert_eq!(segments, 5);
    // Everything but one record in the first segment and one in the last dies.
    for seq in 1..249 {
        bodies.remove(&key(1, seq)).unwrap();
    }
    sync(&mut bodies);
    assert_eq!(
        bodies.reclaim().delete(),
        0,
        "the oldest still has a live record"
    );
    assert!(bodies.needs_compaction());
    bodies.compact_step().unwrap();
    assert!(bodies.compaction.is_none(), "one record: one step");
    let head = bodies.slots[bodies.order[0]].as_ref().unwrap();
    assert_eq!(head.live, 0, "its record was copied forward");
    assert_eq!(bodies.reclaim().delete(), 0, "the copy is not synced yet");
    sync(&mut bodies);
    assert_eq!(bodies.reclaim().delete(), segments - 1);
    assert_eq!(segment_files(dir.path()), 1);
    let (bytes, live) = bodies.sizes();
    assert!(bytes < 2 * live + (64 << 10), "{bytes} {live}");
    assert!(!bodies.needs_compaction());
    drop(bodies);
    let bodies = Bodies::open_with(dir.path(), 64 << 10).unwrap();
    assert_eq!(get(&bodies, &key(1, 0)).unwrap(), value);
    assert_eq!(get(&bodies, &key(1, 249)).unwrap(), value);
    assert_eq!(get(&bodies, &key(1, 1)), None);
    assert_eq!(bodies.len(), 2);
}

/// Key scans follow key order across queues and honour prefixes and limits.
#[test]
fn keys_with_prefix_are_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut bodies = Bodies::open(dir.path()).unwrap();
    for (q, s) in [(2, 1), (1, 300), (1, 2), (256, 0), (1, 1 << 40)] {
        bodies.put(&key(q, s), b"v").unwrap();
    }
    let all = bodies.keys_with_prefix(&[crate::store::keys::MESSAGE], usize::MAX);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
    assert_eq!(all.len(), 5);
    let q1 = crate::store::keys::queue_prefix(crate::store::keys::MESSAGE, 1);
    assert_eq!(
        bodies.keys_with_prefix(&q1, 2),
        vec![key(1, 2), key(1, 300)]
    );
    assert_eq!(bodies.keys_with_prefix(&key(256, 0), 9), vec![key(256, 0)]);
    assert!(bodies
        .keys_with_prefix(&[crate::store::keys::MESSAGE_INDEX], 9)
        .is_empty());
}

/// A roll that fails (here the next segment's file is in the way) changes nothing: the put
/// fails, every earlier record still reads and survives a reopen, and once the way is clear
/// the put succeeds.
#[test]
fn a_failed_roll_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut bodies = Bodies::open_with(dir.path(), 4096).unwrap();
    for seq in 0..3 {
        bodies.put(&key(1, seq), &[seq as u8; 1000]).unwrap();
    }
    let blocker = segment_path(dir.path(), 2);
    std::fs::write(&blocker, b"").unwrap();
    assert!(
        bodies.put(&key(1, 3), &[3; 1000]).is_err(),
        "no room for a fourth"
    );
    assert_eq!(bodies.len(), 3);
    assert_eq!(get(&bodies, &key(1, 2)).unwrap(), vec![2u8; 1000]);
    std::fs::remove_file(&blocker).unwrap();
    bodies.put(&key(1, 3), &[3; 1000]).unwrap();
    sync(&mut bodies);
    drop(bodies);
    let bodies = Bodies::open_with(dir.path(), 4096).unwrap();
    assert!(hint_path(dir.path(), 1).exists());
    for seq in 0..4 {
        assert_eq!(get(&bodies, &key(1, seq)).unwrap(), vec![seq as u8; 1000]);
    }
    assert_eq!(bodies.len(), 4);
}
