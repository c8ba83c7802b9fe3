//! The sled store's tests: unit tests and property tests of the journal.

use super::open::open_db;
use super::*;

mod unit {
    use super::*;

    fn put(store: &SledStore, key: &[u8], value: &[u8]) {
        let mut b = WriteBatch::new();
        b.put(key.to_vec(), value.to_vec());
        store.apply(b).unwrap();
    }

    fn journal_len(store: &SledStore) -> usize {
        store.inner.sled().unwrap().journal.len()
    }

    #[test]
    fn a_directory_reopens_at_once_but_not_while_held() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..10u8 {
            let store = SledStore::open(dir.path()).unwrap();
            put(&store, &[b'k', i], b"v");
            drop(store);
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.scan_prefix(b"k").unwrap().len(), 10);
        #[allow(
            clippy::disallowed_methods,
            reason = "measures the open's real retry time"
        )]
        let started = std::time::Instant::now();
        let second = SledStore::open(dir.path());
        assert!(
            second
                .as_ref()
                .err()
                .is_some_and(|e| e.to_string().contains("could not acquire lock")),
            "a held directory must not open twice"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn dead_head_entries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, b"keep", b"1");
        store.flush().unwrap();
        for i in 0..20u8 {
            put(&store, &[b'm', i], b"body");
            store.flush().unwrap();
            let mut b = WriteBatch::new();
            b.delete(vec![b'm', i]);
            store.apply(b).unwrap();
            store.flush().unwrap();
        }
        // The first entry holds a live record, so every later entry stays (head-only reclaim).
        assert!(journal_len(&store) > 20);
        let mut b = WriteBatch::new();
        b.delete(b"keep".to_vec());
        store.apply(b).unwrap();
        store.flush().unwrap();
        // A background round removes the dead entries, oldest first (the store's own
        // background thread may get there first).
        store.inner.background_round(1).unwrap();
        assert!(journal_len(&store) <= 1, "{}", journal_len(&store));
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert!(store.scan_prefix(b"").unwrap().is_empty());
    }

    #[test]
    fn compaction_keeps_live_records_and_bounds_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, b"q-long-lived", b"queue record");
        let body = vec![7u8; 64 * 1024];
        // 64 MiB written through one short-lived key, overwritten again and again.
        for i in 0..1024u32 {
            put(&store, b"s-hot", &body);
            put(&store, format!("m{i:05}").as_bytes(), b"small");
            if i % 2 == 0 {
                let mut b = WriteBatch::new();
                b.delete(format!("m{i:05}").into_bytes());
                store.apply(b).unwrap();
            }
            store.inner.background_round(i).unwrap();
        }
        store.flush().unwrap();
        let journal_bytes = store.inner.state().journal_bytes;
        assert!(
            journal_bytes < 2 * 1024 * 1024 + COMPACTION_SLACK + COMPACTION_STEP + 128 * 1024,
            "journal not compacted: {journal_bytes} bytes"
        );
        let expect = store.scan_prefix(b"").unwrap();
        assert_eq!(expect.len(), 2 + 512);
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.scan_prefix(b"").unwrap(), expect);
        assert_eq!(
            store.get(b"q-long-lived").unwrap().as_deref(),
            Some(&b"queue record"[..])
        );
    }

    #[test]
    fn compaction_beside_concurrent_writers_keeps_the_latest_values() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                let big = vec![3u8; 64 * 1024];
                for i in 0..1200u32 {
                    // Hot keys rewritten with large values push the journal over its bound;
                    // small keys are overwritten and deleted while compaction copies them.
                    put(&store, format!("h{}", i % 4).as_bytes(), &big);
                    put(
                        &store,
                        format!("k{:03}", i % 300).as_bytes(),
                        &i.to_be_bytes(),
                    );
                    if i % 7 == 0 {
                        let mut b = WriteBatch::new();
                        b.delete(format!("k{:03}", (i * 13) % 300).into_bytes());
                        store.apply(b).unwrap();
                    }
                    if i % 3 == 0 {
                        store.flush().unwrap();
                    }
                }
            })
        };
        let mut round = 0;
        while !writer.is_finished() {
            round += 1;
            store.inner.background_round(round).unwrap();
            store.inner.compact().unwrap();
        }
        writer.join().unwrap();
        store.flush().unwrap();
        let expect = store.scan_prefix(b"").unwrap();
        let journal_bytes = store.inner.state().journal_bytes;
        assert!(
            journal_bytes < 2 * 1024 * 1024 + COMPACTION_SLACK + 4 * COMPACTION_STEP,
            "journal not compacted: {journal_bytes} bytes"
        );
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.scan_prefix(b"").unwrap(), expect);
    }

    #[test]
    fn records_of_the_one_key_per_record_layout_are_migrated() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            db.insert(b"q1", b"queue".to_vec()).unwrap();
            db.insert(b"m1", b"message".to_vec()).unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(b"m1").unwrap().as_deref(), Some(&b"message"[..]));
        assert!(store.inner.sled().unwrap().db.is_empty());
        let mut b = WriteBatch::new();
        b.delete(b"m1".to_vec());
        store.apply(b).unwrap();
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(b"m1").unwrap(), None);
        assert_eq!(store.get(b"q1").unwrap().as_deref(), Some(&b"queue"[..]));
    }

    /// A failed store (any failed sled call) recovers in place at its next flush: sled is
    /// reopened and the journal rewritten from memory as one entry; nothing is lost, and the
    /// store goes on working.
    #[test]
    fn a_failed_store_reopens_sled_and_rewrites_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        for i in 0..50u8 {
            put(&store, &[b'k', i], &[i; 100]);
            store.flush().unwrap();
        }
        let mut b = WriteBatch::new();
        b.delete(vec![b'k', 7]);
        store.apply(b).unwrap();
        store.inner.state().failed = Some("a test failure".into());
        put(&store, b"while-failed", b"x");
        store.flush().unwrap();
        assert!(store.inner.state().failed.is_none());
        assert_eq!(journal_len(&store), 1, "the journal is one entry");
        put(&store, b"after", b"y");
        store.flush().unwrap();
        let expect = store.scan_prefix(b"").unwrap();
        assert_eq!(expect.len(), 49 + 2);
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.scan_prefix(b"").unwrap(), expect);
    }

    /// Cold records (message bodies) are in the segments and out of memory once
    /// checkpointed; read before their flush, after it, and after a reopen alike; removed from the
    /// segments by a flushed delete; never in the journal, nor in sled.
    #[test]
    fn cold_records_live_in_their_segments_not_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (body, index) = (keys::message(3, 9), keys::message_index(3, 9));
        // No background move of cold writes until the checkpoint below.
        let no_move = store.inner.checkpoint.lock().unwrap();
        let mut b = WriteBatch::new();
        b.put(body.clone(), b"the body".to_vec());
        b.put(index.clone(), b"idx".to_vec());
        store.apply(b).unwrap();
        assert_eq!(store.get(&body).unwrap().as_deref(), Some(&b"the body"[..]));
        store.flush().unwrap();
        assert_eq!(
            store.inner.state().cold.len(),
            1,
            "in memory until checkpointed"
        );
        assert_eq!(
            store.inner.bodies().len(),
            0,
            "a flush makes a cold write durable in the log only: the segments get it at a \
             checkpoint"
        );
        drop(no_move);
        store.inner.checkpoint().unwrap();
        {
            let state = store.inner.state();
            assert_eq!(state.cold.len(), 0, "checkpointed cold writes leave memory");
            assert!(!state.map.contains_key(&body) && state.lean.contains(&index));
        }
        assert_eq!(store.inner.bodies().len(), 1);
        assert!(store.inner.sled().unwrap().messages.is_empty());
        assert_eq!(store.get(&body).unwrap().as_deref(), Some(&b"the body"[..]));
        assert_eq!(
            store
                .keys_with_prefix(&keys::queue_prefix(keys::MESSAGE, 3), 10)
                .unwrap(),
            vec![body.clone()]
        );
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(&body).unwrap().as_deref(), Some(&b"the body"[..]));
        assert!(!store.inner.state().map.contains_key(&body));
        let mut b = WriteBatch::new();
        b.delete(body.clone());
        b.delete(index.clone());
        store.apply(b).unwrap();
        assert_eq!(
            store.get(&body).unwrap(),
            None,
            "an unflushed delete is read"
        );
        assert!(store.scan_prefix(&[keys::MESSAGE]).unwrap().is_empty());
        store.flush().unwrap();
        store.inner.checkpoint().unwrap();
        assert_eq!(store.inner.bodies().len(), 0);
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(&body).unwrap(), None);
        assert!(store.scan_prefix(b"").unwrap().is_empty());
    }

    /// A format 1 directory (message records in the journal) is migrated on open: each
    /// message record moves to the `messages` tree with the index record the engine's hook
    /// gives it, and the format record says 2; the stale copies left in old journal entries
    /// are ignored on later opens, even after the message changed or went.
    #[test]
    fn a_format_1_directory_moves_its_bodies_out_of_the_journal() {
        fn index_of(key: &[u8], value: &[u8]) -> StoreResult<Option<Record>> {
            let (q, seq) = keys::split_id_key(key).unwrap();
            Ok(Some((keys::message_index(q, seq), value[..1].to_vec())))
        }
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (keys::message(1, 1), keys::message(1, 2));
        {
            let db = open_db(dir.path()).unwrap();
            let journal = db.open_tree("journal").unwrap();
            let mut entry = vec![ENTRY_V1];
            encode_op(&mut entry, b"q1", Some(b"queue"));
            encode_op(&mut entry, &a, Some(b"A-body"));
            encode_op(&mut entry, &b, Some(b"B-body"));
            journal.insert(entry_key(1), entry).unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open_with_index(dir.path(), Some(index_of)).unwrap();
        assert_eq!(store.get(&a).unwrap().as_deref(), Some(&b"A-body"[..]));
        assert_eq!(
            store.get(&keys::message_index(1, 2)).unwrap().as_deref(),
            Some(&b"B"[..])
        );
        assert!(!store.inner.state().map.contains_key(&a));
        assert_eq!(store.inner.bodies().len(), 2);
        let mut batch = WriteBatch::new();
        batch.delete(a.clone());
        batch.put(b.clone(), b"B-changed".to_vec());
        store.apply(batch).unwrap();
        store.flush().unwrap();
        drop(store);
        {
            let db = open_db(dir.path()).unwrap();
            let meta = db.open_tree("meta").unwrap();
            assert_eq!(
                meta.get(FORMAT_KEY).unwrap().as_deref(),
                Some(&STORE_FORMAT.to_be_bytes()[..])
            );
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(&a).unwrap(), None);
        assert_eq!(store.get(&b).unwrap().as_deref(), Some(&b"B-changed"[..]));
        assert_eq!(store.get(b"q1").unwrap().as_deref(), Some(&b"queue"[..]));
        assert_eq!(store.scan_prefix(&[keys::MESSAGE_INDEX]).unwrap().len(), 2);
    }

    /// A failed store rewrites its unflushed cold writes too: sled may have lost them.
    #[test]
    fn a_failed_store_rewrites_its_unflushed_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, &keys::message(1, 1), b"flushed");
        store.flush().unwrap();
        store.inner.state().failed = Some("a test failure".into());
        put(&store, &keys::message(1, 2), b"pending");
        let mut b = WriteBatch::new();
        b.delete(keys::message(1, 1));
        store.apply(b).unwrap();
        store.flush().unwrap();
        assert!(store.inner.state().failed.is_none());
        assert_eq!(store.inner.state().cold.len(), 0);
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.get(&keys::message(1, 1)).unwrap(), None);
        assert_eq!(
            store.get(&keys::message(1, 2)).unwrap().as_deref(),
            Some(&b"pending"[..])
        );
    }

    /// Lean records (message index records): once the opener has recovered and their puts
    /// are flushed, memory keeps their keys only; `get`, scans and key listings read the
    /// values back from the journal, before and after a compaction, a rewrite of a failed
    /// store and a reopen, and overwrites and deletes apply to them as to any record.
    #[test]
    fn lean_records_leave_memory_once_recovered_and_are_read_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let index = |seq: u64| keys::message_index(4, seq);
        let value = |seq: u64| format!("index {seq}").into_bytes();
        let prefix = keys::queue_prefix(keys::MESSAGE_INDEX, 4);
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, b"q-queue", b"queue record");
        for seq in 1..=300u64 {
            put(&store, &index(seq), &value(seq));
            if seq % 100 == 0 {
                flush_and_checkpoint(&store);
            }
        }
        assert_eq!(store.inner.state().lean.values_in_memory(), 300);
        // A strict flush makes them durable in the write-ahead log; they leave memory once
        // sled has them too (the checkpoint).
        store.inner.checkpoint().unwrap();
        store.recovered();
        assert_eq!(
            store.inner.state().lean.values_in_memory(),
            0,
            "all flushed"
        );
        put(&store, &index(301), &value(301));
        assert_eq!(
            store.inner.state().lean.values_in_memory(),
            1,
            "an unflushed value stays"
        );
        flush_and_checkpoint(&store);
        assert_eq!(store.inner.state().lean.values_in_memory(), 0);
        assert!(store.inner.state().map.len() == 1, "only the queue record");
        assert_eq!(store.get(&index(7)).unwrap(), Some(value(7)));
        assert_eq!(store.get(&index(999)).unwrap(), None);
        let mut b = WriteBatch::new();
        b.delete(index(1));
        b.put(index(2), b"overwritten".to_vec());
        store.apply(b).unwrap();
        flush_and_checkpoint(&store);
        let expect: Vec<(Vec<u8>, Vec<u8>)> = std::iter::once((index(2), b"overwritten".to_vec()))
            .chain((3..=301).map(|seq| (index(seq), value(seq))))
            .collect();
        assert_eq!(store.scan_prefix(&prefix).unwrap(), expect);
        assert_eq!(
            store.keys_with_prefix(&prefix, 2).unwrap(),
            vec![index(2), index(3)]
        );
        let mut everything = expect.clone();
        everything.push((b"q-queue".to_vec(), b"queue record".to_vec()));
        assert_eq!(store.scan_prefix(b"").unwrap(), everything);

        // Compaction copies the live lean records it reads from the old entries.
        let before = store.inner.state().lean.entry_of(&index(3)).unwrap();
        let hot = vec![1u8; 64 * 1024];
        for i in 0..1024u32 {
            put(&store, b"s-hot", &hot);
            store.inner.background_round(i).unwrap();
        }
        flush_and_checkpoint(&store);
        let after = store.inner.state().lean.entry_of(&index(3)).unwrap();
        assert!(after > before, "copied forward");
        assert!(store.inner.state().entries.contains_key(&after));
        assert!(!store.inner.state().entries.contains_key(&before));
        assert!(store.inner.state().journal_bytes < 40 * 1024 * 1024);
        everything.push((b"s-hot".to_vec(), hot.clone()));
        everything.sort();
        assert_eq!(store.scan_prefix(b"").unwrap(), everything);
        assert_eq!(store.inner.state().lean.values_in_memory(), 0);

        // A failed store rewrites its journal with the values read back from sled.
        store.inner.state().failed = Some("a test failure".into());
        put(&store, &index(302), &value(302));
        flush_and_checkpoint(&store);
        assert!(store.inner.state().failed.is_none());
        assert_eq!(journal_len(&store), 1, "the journal is one entry");
        assert_eq!(store.inner.state().lean.values_in_memory(), 0);
        everything.push((index(302), value(302)));
        everything.sort();
        assert_eq!(store.scan_prefix(b"").unwrap(), everything);
        drop(store);

        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.inner.state().lean.values_in_memory(), 301);
        assert_eq!(store.scan_prefix(b"").unwrap(), everything);
        put(&store, &index(303), &value(303));
        let mut visited = Vec::new();
        store
            .for_each_with_prefix(&[keys::MESSAGE_INDEX], &mut |k, v| {
                visited.push((k.to_vec(), v.to_vec()));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            visited,
            store.scan_prefix(&[keys::MESSAGE_INDEX]).unwrap(),
            "replayed values and one put since the open"
        );
        assert_eq!(visited.len(), 302);
        flush_and_checkpoint(&store);
        everything.push((index(303), value(303)));
        everything.sort();
        store.recovered();
        assert_eq!(store.inner.state().lean.values_in_memory(), 0);
        assert_eq!(store.scan_prefix(b"").unwrap(), everything);
    }

    /// A strict flush (the write-ahead log), then the checkpoint that puts the writes in sled,
    /// after which flushed values may leave memory.
    fn flush_and_checkpoint(store: &SledStore) {
        store.flush().unwrap();
        store.inner.checkpoint().unwrap();
    }

    /// A format record above [`STORE_FORMAT`] refuses the open, naming both versions; a
    /// directory without one opens as the current format and gets it.
    #[test]
    fn a_newer_format_is_refused_and_a_missing_one_is_the_current() {
        let dir = tempfile::tempdir().unwrap();
        drop(SledStore::open(dir.path()).unwrap());
        {
            let db = open_db(dir.path()).unwrap();
            let meta = db.open_tree("meta").unwrap();
            assert_eq!(
                meta.get(FORMAT_KEY).unwrap().as_deref(),
                Some(&STORE_FORMAT.to_be_bytes()[..])
            );
            meta.remove(FORMAT_KEY).unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, b"k", b"v");
        drop(store);
        {
            let db = open_db(dir.path()).unwrap();
            let meta = db.open_tree("meta").unwrap();
            assert!(meta.get(FORMAT_KEY).unwrap().is_some());
            meta.insert(FORMAT_KEY, &(STORE_FORMAT + 1).to_be_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        let refused = SledStore::open(dir.path())
            .err()
            .expect("a newer format opened");
        let message = refused.to_string();
        assert!(
            message.contains(&format!("format version {}", STORE_FORMAT + 1))
                && message.contains("newer cauda")
                && message.contains(&dir.path().display().to_string()),
            "{message}"
        );
    }

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let (entry, target) = {
                let entry = entry.unwrap();
                let target = to.join(entry.file_name());
                (entry.path(), target)
            };
            if entry.is_dir() {
                copy_tree(&entry, &target);
            } else {
                std::fs::copy(&entry, &target).unwrap();
            }
        }
    }

    /// A format 4 directory keeps its bodies in sled's `messages` tree: the open moves them to
    /// the segments (the tree is left empty), and a body the write-ahead log removed after
    /// its last checkpoint stays removed, since the log's replay follows the move.
    #[test]
    fn a_format_4_directory_moves_its_bodies_to_the_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, removed) = (keys::message(5, 1), keys::message(5, 2));
        {
            let store = SledStore::open(dir.path()).unwrap();
            put(&store, b"q", b"queue");
            store.flush().unwrap();
            store.inner.checkpoint().unwrap();
        }
        {
            let db = open_db(dir.path()).unwrap();
            let messages = db.open_tree("messages").unwrap();
            messages.insert(&kept, &b"kept body"[..]).unwrap();
            messages.insert(&removed, &b"removed body"[..]).unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert(FORMAT_KEY, &4u32.to_be_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(
            store.get(&kept).unwrap().as_deref(),
            Some(&b"kept body"[..])
        );
        assert_eq!(store.inner.bodies().len(), 2);
        assert!(store.inner.sled().unwrap().messages.is_empty());
        let mut b = WriteBatch::new();
        b.delete(removed.clone());
        store.apply(b).unwrap();
        store.flush().unwrap();
        // A crash now (a copy of the files; no checkpoint meanwhile, which could move the
        // record the log's replay starts from past what the copy of the segments holds).
        let crashed = tempfile::tempdir().unwrap();
        {
            let _no_checkpoint = store.inner.checkpoint.lock().unwrap();
            copy_tree(dir.path(), crashed.path());
        }
        drop(store);
        let store = SledStore::open(crashed.path()).unwrap();
        assert_eq!(
            store.get(&kept).unwrap().as_deref(),
            Some(&b"kept body"[..])
        );
        assert_eq!(store.get(&removed).unwrap(), None);
        assert_eq!(store.inner.bodies().len(), 1);
        assert_eq!(store.get(b"q").unwrap().as_deref(), Some(&b"queue"[..]));
    }

    /// A format 2 directory (before the write-ahead log), a format 3 one (cold writes with
    /// their write-out) and a format 4 one (bodies in sled's `messages` tree) open with their
    /// records and become format 5, so that a cauda that would ignore the log or the
    /// segments, or replay the log the format 3 way, refuses them from then on.
    #[test]
    fn format_2_3_and_4_directories_open_and_become_format_5() {
        assert_eq!(STORE_FORMAT, 5);
        for old in [2u32, 3, 4] {
            let dir = tempfile::tempdir().unwrap();
            {
                let store = SledStore::open(dir.path()).unwrap();
                put(&store, b"k", b"v");
                store.flush().unwrap();
                store.inner.checkpoint().unwrap();
            }
            {
                let db = open_db(dir.path()).unwrap();
                let meta = db.open_tree("meta").unwrap();
                meta.insert(FORMAT_KEY, &old.to_be_bytes()).unwrap();
                meta.remove(COLD_UPTO_KEY).unwrap();
                db.flush().unwrap();
            }
            let store = SledStore::open(dir.path()).unwrap();
            assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
            drop(store);
            let db = open_db(dir.path()).unwrap();
            let meta = db.open_tree("meta").unwrap();
            assert_eq!(
                meta.get(FORMAT_KEY).unwrap().as_deref(),
                Some(&5u32.to_be_bytes()[..]),
                "from format {old}"
            );
        }
    }

    /// A journal entry that does not decode (bad bytes, or a value cut short) refuses the
    /// open, saying which entry and what the operator can do; nothing is half-loaded.
    #[test]
    fn a_corrupted_journal_refuses_the_open() {
        for damage in ["garbage", "truncated"] {
            let dir = tempfile::tempdir().unwrap();
            {
                let store = SledStore::open(dir.path()).unwrap();
                put(&store, b"first", b"one");
                store.flush().unwrap();
                put(&store, b"second-key", &[9u8; 300]);
                store.flush().unwrap();
            }
            {
                let db = open_db(dir.path()).unwrap();
                let journal = db.open_tree("journal").unwrap();
                let (k, v) = journal.last().unwrap().unwrap();
                let bad = match damage {
                    "garbage" => vec![ENTRY_V1, 0xff, 0xff, 0xff, 0xff, 0xff],
                    _ => v[..v.len() / 2].to_vec(),
                };
                journal.insert(k, bad).unwrap();
                db.flush().unwrap();
            }
            let refused = SledStore::open(dir.path())
                .err()
                .expect("a damaged journal opened");
            let message = refused.to_string();
            assert!(
                message.contains("is damaged")
                    && message.contains("journal entry")
                    && message.contains("restore a backup")
                    && message.contains(".damaged"),
                "{damage}: {message}"
            );
        }
    }

    /// A tmpfs of `size` mounted on a temporary directory (we run as root in CI), unmounted
    /// on drop; `None` (and a message) where mounting is not permitted.
    pub(crate) struct SmallDisk {
        dir: tempfile::TempDir,
    }

    impl SmallDisk {
        #[allow(
            clippy::print_stderr,
            reason = "a skipped test says why, where the test runner shows it"
        )]
        pub(crate) fn mount(size: &str) -> Option<SmallDisk> {
            let dir = tempfile::tempdir().ok()?;
            let mounted = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(dir.path())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !mounted {
                eprintln!("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
                return None;
            }
            Some(SmallDisk { dir })
        }

        pub(crate) fn path(&self) -> &Path {
            self.dir.path()
        }

        /// Fills the disk with a ballast file until no space is left.
        pub(crate) fn fill(&self) {
            use std::io::Write;
            let mut f = std::fs::File::create(self.path().join("ballast")).unwrap();
            let chunk = vec![1u8; 64 * 1024];
            while f.write_all(&chunk).is_ok() {}
            let _ = f.sync_all();
        }

        /// Frees the space the ballast took.
        pub(crate) fn free(&self) {
            std::fs::remove_file(self.path().join("ballast")).unwrap();
        }
    }

    impl Drop for SmallDisk {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                // Lazily: sled may close its files a moment after the store dropped.
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }

    /// A real full disk: flushes fail with a message saying so and where, reads and writes to
    /// memory go on, and once space is freed the store recovers by itself (sled reopened, the
    /// journal rewritten); everything applied before, during and after is there after a
    /// restart.
    #[test]
    fn a_full_disk_fails_flushes_then_the_store_recovers_by_itself() {
        let Some(disk) = SmallDisk::mount("40m") else {
            return;
        };
        let data = disk.path().join("data");
        let store = SledStore::open(&data).unwrap();
        put(&store, b"before", b"1");
        store.flush().unwrap();
        disk.fill();
        let value = vec![5u8; 256 * 1024];
        let mut failure = None;
        for i in 0..64u32 {
            put(&store, format!("full-{i:02}").as_bytes(), &value);
            if let Err(e) = store.flush() {
                failure = Some(e);
                break;
            }
        }
        let failure = failure.expect("no flush failed on a full disk");
        assert!(
            failure.0.contains("the disk is full")
                && failure.0.contains(&data.display().to_string()),
            "{failure}"
        );
        // Still failed: reads and applies are served from memory; flushes keep failing.
        put(&store, b"during", b"2");
        assert_eq!(store.get(b"during").unwrap().as_deref(), Some(&b"2"[..]));
        assert!(store.flush().is_err());
        disk.free();
        #[allow(clippy::disallowed_methods, reason = "a bounded wait in a test")]
        let started = std::time::Instant::now();
        while let Err(e) = store.flush() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the store did not recover: {e}"
            );
            #[allow(clippy::disallowed_methods, reason = "polling in a test")]
            std::thread::sleep(Duration::from_millis(100));
        }
        put(&store, b"after", b"3");
        store.flush().unwrap();
        let expect = store.scan_prefix(b"").unwrap();
        assert!(expect.len() >= 4, "{}", expect.len());
        drop(store);
        let store = SledStore::open(&data).unwrap();
        assert_eq!(store.scan_prefix(b"").unwrap(), expect);
    }
}

mod proptests {
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;

    use super::*;

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        vec(
            (
                vec(any::<u8>(), 0..40),
                option::of(vec(any::<u8>(), 0..300)),
            ),
            0..20,
        )
    }

    /// Ops on hot keys and on a few cold ones (message records), mixed.
    fn mixed_ops() -> impl Strategy<Value = Vec<Op>> {
        let key = prop_oneof![
            vec(any::<u8>(), 0..40),
            (0u64..2, 0u64..4).prop_map(|(q, seq)| keys::message(q, seq)),
        ];
        vec((key, option::of(vec(any::<u8>(), 0..300))), 0..20)
    }

    fn entry(ops: &[Op]) -> Vec<u8> {
        let mut out = vec![ENTRY_V1];
        for (key, value) in ops {
            encode_op(&mut out, key, value.as_deref());
        }
        out
    }

    proptest! {
        /// A journal entry decodes to exactly the ops written, in order.
        #[test]
        fn journal_entries_round_trip(ops in ops()) {
            prop_assert_eq!(decode_entry(&entry(&ops)).unwrap(), ops);
        }

        /// A cut entry (a crash mid-write that sled did not catch) decodes to an error or to
        /// a prefix of the ops written, never to anything else; a changed byte never panics.
        #[test]
        fn damaged_journal_entries_are_refused_or_a_prefix(
            ops in ops(),
            cut in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let bytes = entry(&ops);
            let cut = cut.index(bytes.len());
            if let Ok(decoded) = decode_entry(&bytes[..cut]) {
                prop_assert!(decoded.len() <= ops.len());
                prop_assert_eq!(&ops[..decoded.len()], &decoded[..]);
            }
            let mut changed = bytes;
            let at = at.index(changed.len());
            changed[at] ^= flip;
            let _ = decode_entry(&changed);
        }
    }

    proptest! {
        // Each case opens sled twice.
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// A journal written by the store and opened again holds the same records.
        #[test]
        fn journal_replays_to_the_same_records(batches in vec(mixed_ops(), 1..4)) {
            let dir = tempfile::tempdir().unwrap();
            let mut want = BTreeMap::new();
            {
                let store = SledStore::open(dir.path()).unwrap();
                for ops in &batches {
                    let mut batch = WriteBatch::new();
                    for (k, v) in ops {
                        match v {
                            Some(v) => {
                                want.insert(k.clone(), v.clone());
                                batch.put(k.clone(), v.clone());
                            }
                            None => {
                                want.remove(k);
                                batch.delete(k.clone());
                            }
                        }
                    }
                    store.apply(batch).unwrap();
                    store.flush().unwrap();
                }
            }
            let store = SledStore::open(dir.path()).unwrap();
            let got: BTreeMap<Vec<u8>, Vec<u8>> = store.scan_prefix(&[]).unwrap().into_iter().collect();
            prop_assert_eq!(got, want);
        }
    }
}
