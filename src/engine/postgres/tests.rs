//! The postgres backend against a real cluster (`CAUDA_TEST_DATABASE_URL`; skipped without).

use super::schema::{self, SchemaError, VERSION};
use super::testdb::TestDb;

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
        std::sync::Arc::new(crate::clock::SystemClock),
    );
    let e = pg.open().await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    let text = super::describe(&e);
    assert!(text.contains("Connection refused"), "{text}");
    assert!(pg.health.unavailable().is_some());
}
