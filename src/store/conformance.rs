//! One conformance suite, run against every [`Store`] backend.

use super::*;

fn suite(store: &dyn Store) {
    assert_eq!(store.get(b"a1").unwrap(), None);
    let mut b = WriteBatch::new();
    b.put(b"a1".to_vec(), b"one".to_vec());
    b.put(b"a2".to_vec(), b"two".to_vec());
    b.put(b"b1".to_vec(), b"three".to_vec());
    store.apply(b).unwrap();
    assert_eq!(store.get(b"a1").unwrap().as_deref(), Some(&b"one"[..]));
    let scanned = store.scan_prefix(b"a").unwrap();
    assert_eq!(
        scanned,
        vec![
            (b"a1".to_vec(), b"one".to_vec()),
            (b"a2".to_vec(), b"two".to_vec())
        ]
    );

    // A batch mixing puts and deletes applies in order.
    let mut b = WriteBatch::new();
    b.delete(b"a1".to_vec());
    b.put(b"a2".to_vec(), b"TWO".to_vec());
    b.put(b"a3".to_vec(), b"x".to_vec());
    b.delete(b"a3".to_vec());
    store.apply(b).unwrap();
    assert_eq!(store.get(b"a1").unwrap(), None);
    assert_eq!(store.get(b"a2").unwrap().as_deref(), Some(&b"TWO"[..]));
    assert_eq!(store.get(b"a3").unwrap(), None);
    assert_eq!(store.scan_prefix(b"b").unwrap().len(), 1);
    assert_eq!(store.scan_prefix(b"c").unwrap().len(), 0);
    store.apply(WriteBatch::new()).unwrap();
    store.flush().unwrap();

    // Binary keys with big-endian ids scan in numeric order.
    let mut b = WriteBatch::new();
    for seq in [300u64, 2, 70_000] {
        b.put(keys::message(5, seq), records::encode(&seq));
    }
    store.apply(b).unwrap();
    let seqs: Vec<u64> = store
        .scan_prefix(&keys::queue_prefix(keys::MESSAGE, 5))
        .unwrap()
        .iter()
        .map(|(_, v)| records::decode(v).unwrap())
        .collect();
    assert_eq!(seqs, vec![2, 300, 70_000]);
    let prefix = keys::queue_prefix(keys::MESSAGE, 5);
    assert_eq!(
        store.keys_with_prefix(&prefix, 2).unwrap(),
        vec![keys::message(5, 2), keys::message(5, 300)]
    );
    assert_eq!(store.keys_with_prefix(&prefix, 10).unwrap().len(), 3);
    assert!(store.keys_with_prefix(b"zz", 10).unwrap().is_empty());
    visits(store);
}

/// Visiting in place sees what a scan copies, index records included, and stops at an error;
/// after the recovery too.
fn visits(store: &dyn Store) {
    let mut b = WriteBatch::new();
    for seq in 1..=5_000u64 {
        b.put(keys::message_index(6, seq), records::encode(&seq));
    }
    store.apply(b).unwrap();
    for prefix in [
        &[keys::MESSAGE_INDEX][..],
        &keys::queue_prefix(keys::MESSAGE, 5),
        b"",
    ] {
        let mut visited = Vec::new();
        store
            .for_each_with_prefix(prefix, &mut |k, v| {
                visited.push((k.to_vec(), v.to_vec()));
                Ok(())
            })
            .unwrap();
        assert_eq!(visited, store.scan_prefix(prefix).unwrap());
    }
    let mut calls = 0;
    let stopped = store.for_each_with_prefix(&[keys::MESSAGE_INDEX], &mut |_, _| {
        calls += 1;
        Err(StoreError("stop".into()))
    });
    assert!(stopped.is_err() && calls == 1);
    store.recovered();
    let mut visited = 0;
    store
        .for_each_with_prefix(&[keys::MESSAGE_INDEX], &mut |_, _| {
            visited += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(visited, 5_000, "after the recovery too");
}

#[test]
fn memory_store_conforms() {
    suite(&MemoryStore::new());
}

#[test]
fn sled_store_conforms_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        suite(&store);
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.get(b"a2").unwrap().as_deref(), Some(&b"TWO"[..]));
    assert_eq!(store.get(b"a1").unwrap(), None);
}

#[test]
fn records_reject_unknown_versions() {
    assert!(records::decode::<u64>(&[9, b'1']).is_err());
    assert!(records::decode::<u64>(&[]).is_err());
    assert_eq!(
        records::decode::<u64>(&records::encode(&42u64)).unwrap(),
        42
    );
}
