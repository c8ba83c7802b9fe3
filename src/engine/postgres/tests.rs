//! The postgres backend against a real cluster (`CAUDA_TEST_DATABASE_URL`; skipped without).

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
        let (pool, _) = super::open_pool(&url, sync_writes).unwrap();
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
            std::sync::Arc::new(crate::clock::SystemClock),
        )
    };
    let a = node(super::open_pool(&url, true).unwrap().0);
    let b = node(super::open_pool(&url, true).unwrap().0);
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

#[tokio::test]
async fn a_url_that_does_not_parse_stops_the_open_and_no_answer_is_waited_for() {
    let e = super::open_pool("postgres://nobody@127.0.0.1:notaport/none", true).unwrap_err();
    assert!(!e.is_transient(), "{e}");
    assert!(e.to_string().contains("does not parse"), "{e}");
    // Nothing listens on port 1: the node is to start and wait, the cause named.
    let (pool, _) = super::open_pool("postgres://nobody@127.0.0.1:1/none", true).unwrap();
    let pg = super::Postgres::new(
        pool,
        "us-east-1".into(),
        1000,
        std::sync::Arc::new(crate::clock::SystemClock),
    );
    let e = pg.open().await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    let text = super::describe(&e);
    assert!(text.contains("Connection refused"), "{text}");
    assert!(pg.health.unavailable().is_some());
}
