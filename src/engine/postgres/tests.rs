//! The postgres backend against a real cluster (`CAUDA_TEST_DATABASE_URL`; skipped without).

use std::sync::Arc;

use super::schema::{self, SchemaError, VERSION};
use super::testdb::TestDb;
use super::Postgres;
use crate::engine::move_tasks::{MoveTaskInfo, MoveTaskStatus, TaskEnd};
use crate::engine::state::{EndOutcome, MoveTaskRecords};

#[tokio::test]
async fn the_schema_is_created_then_left_as_it_is() {
    let Some(db) = TestDb::create("the_schema_is_created_then_left_as_it_is").await else {
        return;
    };
    let mut client = db.client().await;
    assert_eq!(schema::migrate(&mut client).await.unwrap(), 0);
    assert_eq!(schema::current_version(&client).await.unwrap(), VERSION);
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'cauda'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // queues, messages, dedup, fifo_groups, receive_attempts, move_tasks, deleted_queues,
    // schema_version
    assert_eq!(tables, 8);
    assert_eq!(schema::migrate(&mut client).await.unwrap(), VERSION);
    let rows: i64 = client
        .query_one("SELECT count(*) FROM cauda.schema_version", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        rows,
        i64::from(VERSION),
        "one row per migration, applied once"
    );
    drop(client);
    db.drop_db().await;
}

#[tokio::test]
async fn a_schema_newer_than_this_cauda_is_refused() {
    let Some(db) = TestDb::create("a_schema_newer_than_this_cauda_is_refused").await else {
        return;
    };
    let mut client = db.client().await;
    schema::migrate(&mut client).await.unwrap();
    client
        .execute(
            "INSERT INTO cauda.schema_version (version, cauda_version) VALUES ($1, 'future')",
            &[&(VERSION + 1)],
        )
        .await
        .unwrap();
    let e = schema::migrate(&mut client).await.unwrap_err();
    assert!(
        matches!(e, SchemaError::Newer { found } if found == VERSION + 1),
        "{e}"
    );
    assert!(e.to_string().contains("newer than this cauda knows"), "{e}");
    drop(client);
    db.drop_db().await;
}

#[tokio::test]
async fn nodes_starting_together_migrate_once() {
    let Some(db) = TestDb::create("nodes_starting_together_migrate_once").await else {
        return;
    };
    let (mut a, mut b) = (db.client().await, db.client().await);
    let (ra, rb) = tokio::join!(schema::migrate(&mut a), schema::migrate(&mut b));
    let mut found = [ra.unwrap(), rb.unwrap()];
    found.sort_unstable();
    assert_eq!(found, [0, VERSION], "one migrated, the other found it done");
    let rows: i64 = a
        .query_one("SELECT count(*) FROM cauda.schema_version", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, i64::from(VERSION));
    drop((a, b));
    db.drop_db().await;
}

#[tokio::test]
async fn relaxed_durability_commits_asynchronously_strict_keeps_the_database_setting() {
    let test = "relaxed_durability_commits_asynchronously_strict_keeps_the_database_setting";
    let Some(db) = TestDb::create(test).await else {
        return;
    };
    let client = db.client().await;
    // The test cluster runs with synchronous_commit=off: this database says on.
    client
        .batch_execute(&format!(
            "ALTER DATABASE {} SET synchronous_commit = on",
            db.name
        ))
        .await
        .unwrap();
    drop(client);
    let url = db.url();
    for (sync_writes, expected) in [(true, "on"), (false, "off")] {
        let (pool, _) = super::open_pool(&url, sync_writes, None).unwrap();
        let client = pool.get().await.unwrap();
        let setting: String = client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(setting, expected, "sync_writes {sync_writes}");
    }
    db.drop_db().await;
}

/// A task record as StartMessageMoveTask makes it, started at `at`.
fn running_task(source: &str, at: u64) -> MoveTaskInfo {
    MoveTaskInfo {
        task_id: uuid::Uuid::new_v4().to_string(),
        source_arn: source.into(),
        destination_arn: None,
        max_per_second: Some(1),
        status: MoveTaskStatus::Running,
        moved: 0,
        to_move: 3,
        failure_reason: None,
        started_at: at,
    }
}

/// Two nodes over one database: one RUNNING task per source; the lease is held, renewed,
/// taken over once expired by exactly one node, after which the old holder can neither renew
/// nor end it; a cancel from any node ends it; the list is most recent first.
#[tokio::test]
async fn a_move_task_lease_is_renewed_and_taken_over_once_expired() {
    let test = "a_move_task_lease_is_renewed_and_taken_over_once_expired";
    let Some(db) = TestDb::create(test).await else {
        return;
    };
    let url = db.url();
    let node = |pool| {
        Postgres::new(
            pool,
            "us-east-1".into(),
            1000,
            None,
            std::sync::Arc::new(crate::clock::SystemClock),
        )
    };
    let a = node(super::open_pool(&url, true, None).unwrap().0);
    let b = node(super::open_pool(&url, true, None).unwrap().0);
    // The schema, made current by the first open.
    a.open().await.unwrap();
    b.open().await.unwrap();
    let source = "arn:aws:sqs:us-east-1:000000000000:dlq";
    let t0 = 1_000_000;
    let task = running_task(source, t0);
    let handle = task.handle();
    assert!(MoveTaskRecords::insert_task(&a, &task, t0).await.unwrap());
    let second = running_task(source, t0 + 1);
    assert!(
        !MoveTaskRecords::insert_task(&b, &second, t0 + 1)
            .await
            .unwrap(),
        "one running task per source, across nodes"
    );
    let seen = MoveTaskRecords::task(&b, &handle).await.unwrap();
    assert_eq!(seen.as_ref(), Some(&task), "node B reads node A's task");

    // Held until t0 + 1000; renewed at t0 + 600 until t0 + 1600.
    assert!(MoveTaskRecords::take_over_tasks(&b, t0 + 500)
        .await
        .unwrap()
        .is_empty());
    assert!(MoveTaskRecords::renew_task_lease(&a, &handle, t0 + 600)
        .await
        .unwrap());
    assert!(MoveTaskRecords::take_over_tasks(&b, t0 + 1200)
        .await
        .unwrap()
        .is_empty());
    // Expired: both nodes look at once, one takes it.
    let at = t0 + 1700;
    let (by_a, by_b) = tokio::join!(
        MoveTaskRecords::take_over_tasks(&a, at),
        MoveTaskRecords::take_over_tasks(&b, at)
    );
    let (by_a, by_b) = (by_a.unwrap(), by_b.unwrap());
    assert_eq!(by_a.len() + by_b.len(), 1, "{by_a:?} {by_b:?}");
    let (holder, other) = if by_b.is_empty() { (&a, &b) } else { (&b, &a) };
    assert!(!MoveTaskRecords::renew_task_lease(other, &handle, at + 1)
        .await
        .unwrap());
    let end = TaskEnd::runner(MoveTaskStatus::Completed, None);
    assert!(matches!(
        MoveTaskRecords::end_task(other, &handle, end).await.unwrap(),
        EndOutcome::NotRunning(t) if t.status == MoveTaskStatus::Running
    ));
    assert!(MoveTaskRecords::renew_task_lease(holder, &handle, at + 1)
        .await
        .unwrap());

    // A cancel ends it from the node that does not run it.
    let cancelled = MoveTaskRecords::end_task(other, &handle, TaskEnd::cancel())
        .await
        .unwrap();
    assert!(
        matches!(&cancelled, EndOutcome::Ended(t) if t.status == MoveTaskStatus::Cancelled),
        "{cancelled:?}"
    );
    assert!(!MoveTaskRecords::renew_task_lease(holder, &handle, at + 2)
        .await
        .unwrap());
    assert!(MoveTaskRecords::take_over_tasks(&a, at + 100_000)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        MoveTaskRecords::end_task(holder, &handle, TaskEnd::cancel())
            .await
            .unwrap(),
        EndOutcome::NotRunning(_)
    ));

    // Another may start now; the list is most recent first.
    let third = running_task(source, at + 3);
    assert!(MoveTaskRecords::insert_task(&b, &third, at + 3)
        .await
        .unwrap());
    let listed = MoveTaskRecords::list_tasks(&a, source, 10).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(ids, [third.task_id.as_str(), task.task_id.as_str()]);
    assert_eq!(listed[1].status, MoveTaskStatus::Cancelled);
    assert_eq!(
        MoveTaskRecords::list_tasks(&a, source, 1)
            .await
            .unwrap()
            .len(),
        1
    );
    drop((a, b));
    db.drop_db().await;
}

/// Rows of `table` (messages, dedup, receive_attempts) of queue `id`.
async fn rows(client: &tokio_postgres::Client, table: &str, id: u64) -> i64 {
    client
        .query_one(
            &format!("SELECT count(*) FROM cauda.{table} WHERE queue_id = $1"),
            &[&i64::try_from(id).unwrap()],
        )
        .await
        .unwrap()
        .get(0)
}

/// Waits (10 s at most) until queue `id` holds `expected` rows of `table`.
async fn wait_rows(client: &tokio_postgres::Client, table: &str, id: u64, expected: i64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = rows(client, table, id).await;
        if found == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{table} of queue {id}: {found} rows, expected {expected}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// An engine over `db` whose clock stands at `now` and moves only when told to.
async fn engine_at(
    db: &TestDb,
    now: u64,
) -> (Arc<crate::engine::Engine>, Arc<crate::clock::ManualClock>) {
    let clock = Arc::new(crate::clock::ManualClock::new(now));
    let engine = crate::engine::Engine::open_postgres(
        &db.url(),
        clock.clone(),
        crate::engine::EngineSettings::default(),
    )
    .await
    .unwrap();
    (engine, clock)
}

use crate::engine::tests::attrs;

/// The janitor deletes an idle queue's messages past their retention, then its expired
/// deduplication rows and receive attempts, on its own (no receive, no request), and not
/// before they are due; `Engine::expire` leaves a queue another session holds the lock of.
#[tokio::test]
async fn the_janitor_deletes_expired_rows_of_an_idle_queue() {
    use crate::engine::{ReceiveRequest, SendEntry};

    let Some(db) = TestDb::create("the_janitor_deletes_expired_rows_of_an_idle_queue").await else {
        return;
    };
    let (engine, clock) = engine_at(&db, 1_800_000_000_000).await;
    engine.start();
    let retention = ("MessageRetentionPeriod", "60");
    let std_q = engine
        .create_queue(
            "000000000000",
            "us-east-1",
            "idle",
            &attrs(&[retention]),
            &[],
        )
        .await
        .unwrap();
    let fifo_q = engine
        .create_queue(
            "000000000000",
            "us-east-1",
            "idle.fifo",
            &attrs(&[
                ("FifoQueue", "true"),
                ("ContentBasedDeduplication", "true"),
                retention,
            ]),
            &[],
        )
        .await
        .unwrap();
    let entry = |body: &str, group: Option<&str>| SendEntry {
        body: body.into(),
        group_id: group.map(str::to_string),
        ..Default::default()
    };
    for body in ["a", "b", "c"] {
        engine
            .send_messages(&std_q, vec![entry(body, None)], "tester", false)
            .await
            .unwrap();
    }
    engine
        .send_messages(&fifo_q, vec![entry("f", Some("g"))], "tester", false)
        .await
        .unwrap();
    let received = engine
        .receive(
            &fifo_q,
            &ReceiveRequest {
                max_messages: 1,
                wait_time_seconds: Some(0),
                visibility_timeout: Some(1),
                attempt_id: Some("attempt-1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    let client = db.client().await;
    assert_eq!(rows(&client, "messages", std_q.id).await, 3);
    assert_eq!(rows(&client, "dedup", fifo_q.id).await, 1);
    assert_eq!(rows(&client, "receive_attempts", fifo_q.id).await, 1);

    // Nothing is due 59 s after the sends: the janitor's rounds (every 10 s) delete nothing.
    for _ in 0..6 {
        clock.advance_ms(9_900);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(rows(&client, "messages", std_q.id).await, 3);
    assert_eq!(rows(&client, "messages", fifo_q.id).await, 1);

    // Past the retention, at the janitor's next round (59.4 s + 10 s): the messages go, the
    // dedup row and attempt (5 minutes) stay.
    clock.advance_ms(10_000);
    wait_rows(&client, "messages", std_q.id, 0).await;
    wait_rows(&client, "messages", fifo_q.id, 0).await;
    assert_eq!(rows(&client, "dedup", fifo_q.id).await, 1);
    assert_eq!(rows(&client, "receive_attempts", fifo_q.id).await, 1);

    // Another session holds the queue's lock (another node expiring it): neither the
    // janitor's round nor `Engine::expire` touches the queue meanwhile.
    let mut holder = db.client().await;
    let tx = holder.transaction().await.unwrap();
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&i64::try_from(fifo_q.id).unwrap()],
    )
    .await
    .unwrap();
    clock.advance_ms(300_000);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    engine.expire(&fifo_q).await.unwrap();
    assert_eq!(rows(&client, "receive_attempts", fifo_q.id).await, 1);
    assert_eq!(rows(&client, "dedup", fifo_q.id).await, 1);
    tx.rollback().await.unwrap();
    // The lock released, the janitor's next round deletes them.
    clock.advance_ms(10_000);
    wait_rows(&client, "dedup", fifo_q.id, 0).await;
    wait_rows(&client, "receive_attempts", fifo_q.id, 0).await;

    engine.shutdown();
    drop((client, holder));
    db.drop_db().await;
}

/// The janitor forgets a FIFO queue's empty message groups (their `fifo_groups` rows), and
/// only those: a group with a message keeps its row, and a send to a forgotten group makes
/// it again and is received.
#[tokio::test]
async fn the_janitor_forgets_empty_message_groups() {
    use crate::engine::{ReceiveRequest, SendEntry};

    let Some(db) = TestDb::create("the_janitor_forgets_empty_message_groups").await else {
        return;
    };
    let (engine, clock) = engine_at(&db, 1_800_000_000_000).await;
    engine.start();
    let attrs = attrs(&[
        ("FifoQueue", "true"),
        ("ContentBasedDeduplication", "true"),
        ("MessageRetentionPeriod", "60"),
    ]);
    let q = engine
        .create_queue("000000000000", "us-east-1", "groups.fifo", &attrs, &[])
        .await
        .unwrap();
    let send = |body: &str, group: &str| {
        let entry = SendEntry {
            body: body.into(),
            group_id: Some(group.into()),
            ..Default::default()
        };
        let (engine, q) = (engine.clone(), q.clone());
        async move {
            engine
                .send_messages(&q, vec![entry], "tester", false)
                .await
                .unwrap();
        }
    };
    for g in ["g1", "g2", "g3"] {
        send(&format!("{g}-a"), g).await;
    }
    let client = db.client().await;
    assert_eq!(rows(&client, "fifo_groups", q.id).await, 3);
    // g3 gets a later message; g1's and g2's only messages pass their retention first.
    clock.advance_ms(50_000);
    send("g3-b", "g3").await;
    clock.advance_ms(11_000);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    clock.advance_ms(10_000);
    wait_rows(&client, "fifo_groups", q.id, 1).await;
    let left: String = client
        .query_one(
            "SELECT group_id FROM cauda.fifo_groups WHERE queue_id = $1",
            &[&i64::try_from(q.id).unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, "g3");
    // A send to a forgotten group makes its row again; its message is received.
    send("g1-b", "g1").await;
    assert_eq!(rows(&client, "fifo_groups", q.id).await, 2);
    let got = engine
        .receive(
            &q,
            &ReceiveRequest {
                max_messages: 10,
                wait_time_seconds: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut bodies: Vec<String> = got.iter().map(|m| m.body.clone()).collect();
    bodies.sort();
    assert_eq!(bodies, ["g1-b", "g3-b"]);
    engine.shutdown();
    drop(client);
    db.drop_db().await;
}

/// Counts are exact up to `EXACT_COUNT_LIMIT` messages and estimated above (in flight and
/// delayed still counted, the total from the planner), in well under a second either way.
/// `CAUDA_TEST_COUNT_ROWS` sets the large queue's depth (default 30,000; 1,000,000 for the
/// measurement the module doc reports).
#[tokio::test]
async fn counts_are_exact_for_small_queues_and_estimated_above() {
    use super::backend::EXACT_COUNT_LIMIT;
    use crate::engine::Counts;

    let Some(db) = TestDb::create("counts_are_exact_for_small_queues_and_estimated_above").await
    else {
        return;
    };
    let now: i64 = 1_800_000_000_000;
    let (engine, _clock) = engine_at(&db, u64::try_from(now).unwrap()).await;
    let q = engine
        .create_queue("000000000000", "us-east-1", "deep", &[], &[])
        .await
        .unwrap();
    let client = db.client().await;
    // Rows `from..to` of the queue: visible since their send, then 100 in flight and 50
    // delayed at the end of the first batch.
    let insert = |from: i64, to: i64| {
        format!(
            "INSERT INTO cauda.messages (queue_id, seq, message_id, record, sent_at, visible_at, \
               receive_count, received_at) \
             SELECT {id}, i, 'm' || i, '\\x00', {now} - 1000, \
               CASE WHEN i < {from} + 100 THEN {now} + 30000 \
                    WHEN i < {from} + 150 THEN {now} + 60000 ELSE {now} - 1000 END, \
               CASE WHEN i < {from} + 100 THEN 1 ELSE 0 END, 0 \
             FROM generate_series({from}, {to} - 1) i",
            id = q.id
        )
    };
    client.batch_execute(&insert(1, 5_001)).await.unwrap();
    let timed = || async {
        let started = tokio::time::Instant::now();
        let stats = engine.queue_stats(&q).await.unwrap();
        (stats, started.elapsed())
    };
    let (small, _) = timed().await;
    assert_eq!(
        small.counts,
        Counts {
            visible: 4_850,
            in_flight: 100,
            delayed: 50
        }
    );
    let depth: i64 = std::env::var("CAUDA_TEST_COUNT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    assert!(depth > EXACT_COUNT_LIMIT);
    // Visible since their send, from seq 10,000 on (no more in flight or delayed).
    client
        .batch_execute(&format!(
            "INSERT INTO cauda.messages (queue_id, seq, message_id, record, sent_at, visible_at) \
             SELECT {id}, i, 'm' || i, '\\x00', {now} - 1000, {now} - 1000 \
             FROM generate_series(10000, 10000 + {depth} - 5000 - 1) i",
            id = q.id
        ))
        .await
        .unwrap();
    let truth = usize::try_from(depth).unwrap() - 150;
    // Statistics older than the growth (unless autovacuum analyzed meanwhile): counted;
    // analyzed: estimated.
    for analyze in [false, true] {
        if analyze {
            client
                .batch_execute("ANALYZE cauda.messages")
                .await
                .unwrap();
        }
        let (large, took) = timed().await;
        assert_eq!((large.counts.in_flight, large.counts.delayed), (100, 50));
        let visible = large.counts.visible;
        assert!(
            visible.abs_diff(truth) <= truth / 5,
            "analyzed {analyze}: {visible} visible, {truth} in truth"
        );
        assert_eq!(
            large.oldest_sent_at,
            Some(u64::try_from(now - 1000).unwrap())
        );
        if analyze {
            assert!(took < std::time::Duration::from_secs(1), "{took:?}");
        }
    }
    engine.shutdown();
    drop(client);
    db.drop_db().await;
}

/// A standard claim reads a bounded range of `messages_ready` in seq order, whatever the
/// queue's depth: no scan of the table, no sort of the visible messages (generic plan, as
/// a prepared statement runs after its first executions).
#[tokio::test]
async fn a_standard_claim_reads_the_ready_index_in_order() {
    use super::backend::READY;

    let Some(db) = TestDb::create("a_standard_claim_reads_the_ready_index_in_order").await else {
        return;
    };
    let mut client = db.client().await;
    schema::migrate(&mut client).await.unwrap();
    // 20,000 messages: the first 2,000 in flight, the next 1,000 delayed, the rest visible
    // since their send; a second queue beside it.
    client
        .batch_execute(
            "INSERT INTO cauda.queues (id, account, region, name, record) VALUES \
               (1, 'a', 'r', 'deep', '\\x00'), (2, 'a', 'r', 'other', '\\x00'); \
             INSERT INTO cauda.messages (queue_id, seq, message_id, record, sent_at, \
               visible_at, receive_count) \
             SELECT 1 + i % 2, i, 'm' || i, '\\x00', 1000 + i, \
               CASE WHEN i <= 2000 THEN 900000 WHEN i <= 3000 THEN 800000 ELSE 1000 + i END, \
               CASE WHEN i <= 2000 THEN 1 ELSE 0 END \
             FROM generate_series(1, 40000) i; \
             ANALYZE cauda.messages; \
             SET plan_cache_mode = force_generic_plan;",
        )
        .await
        .unwrap();
    client
        .batch_execute(&format!(
            "PREPARE claim(bigint, bigint, bigint, bigint) AS \
             SELECT seq {READY} ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED"
        ))
        .await
        .unwrap();
    let plan: Vec<String> = client
        .simple_query("EXPLAIN (ANALYZE, COSTS OFF) EXECUTE claim(1, 500000, 0, 10)")
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("Index Scan using messages_ready"), "{plan}");
    assert!(
        !plan.contains("Seq Scan") && !plan.contains("Sort"),
        "{plan}"
    );
    // It found ten visible messages of queue 1 after reading about ten index entries.
    assert!(plan.contains("rows=10 loops=1"), "{plan}");
    let seqs: Vec<i64> = client
        .query("EXECUTE claim(1, 500000, 0, 3)", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        seqs,
        [3002, 3004, 3006],
        "the oldest visible of queue 1, in order"
    );
    drop(client);
    db.drop_db().await;
}

#[tokio::test]
async fn a_url_that_does_not_parse_stops_the_open_and_no_answer_is_waited_for() {
    let e = super::open_pool("postgres://nobody@127.0.0.1:notaport/none", true, None)
        .err()
        .expect("a URL that does not parse");
    assert!(!e.is_transient(), "{e}");
    assert!(e.to_string().contains("does not parse"), "{e}");
    // Nothing listens on port 1: the node is to start and wait, the cause named.
    let (pool, _) = super::open_pool("postgres://nobody@127.0.0.1:1/none", true, None).unwrap();
    let pg = super::Postgres::new(
        pool,
        "us-east-1".into(),
        1000,
        None,
        std::sync::Arc::new(crate::clock::SystemClock),
    );
    let e = pg.open().await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    let text = super::describe(&e);
    assert!(text.contains("Connection refused"), "{text}");
    assert!(pg.health.unavailable().is_some());
}
