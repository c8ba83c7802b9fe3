//! A real server process stopped and restarted over its data directory: message move tasks
//! resume after SIGTERM and SIGKILL, SIGTERM releases long polls at once and exits 0, and the
//! relaxed durability mode keeps its documented window (periodic flush, flush at SIGTERM, at
//! most ~100 ms lost to SIGKILL).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::ListMessageMoveTasksResultEntry;

use crate::crash::{dirs, drain, no_retry, queue_url, receive_all_visible, Proc};
use crate::harness::{unique, TestServer};
use crate::messages::{counts, create_queue, queue_arn};

const RELAXED: &[&str] = &["--durability", "relaxed"];

/// The move tasks of `source_arn` as ListMessageMoveTasks on `s` answers (10 at most).
pub(crate) async fn move_tasks(
    s: &TestServer,
    source_arn: &str,
) -> Vec<ListMessageMoveTasksResultEntry> {
    s.sdk()
        .list_message_move_tasks()
        .source_arn(source_arn)
        .max_results(10)
        .send()
        .await
        .expect("list move tasks")
        .results
        .unwrap_or_default()
}

/// The one task of `source_arn`, once it is no longer RUNNING.
async fn wait_task_done(s: &TestServer, source_arn: &str) -> ListMessageMoveTasksResultEntry {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let t = move_tasks(s, source_arn).await;
        assert_eq!(t.len(), 1, "{t:?}");
        if t[0].status() != Some("RUNNING") {
            return t[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "task still RUNNING after the restart: {:?}",
            t[0]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A move task of `N` messages out of a DLQ at 100 messages/s is stopped (SIGTERM or SIGKILL)
/// mid-way; after the restart it resumes and completes, and every message is in the
/// destination exactly once.
///
/// Each move is one atomic store batch (delete from the source + put in the destination,
/// `move_tasks::move_one`), so even SIGKILL leaves every message in exactly one of the two
/// queues: exactly once, not merely at least once. The task's `moved` counter is a separate
/// write after each move, so after SIGKILL it may trail the messages moved by one (the move
/// written, its count not); after SIGTERM it is exact.
async fn move_task_resumes_after_restart(sigkill: bool) {
    const N: usize = 200;
    let started = Instant::now();
    let d = dirs();
    let mut proc = Proc::start(&d.data, &d.log).await;
    let s = proc.client();
    let (src_name, dlq_name, dest_name) = (unique("mv-src"), unique("mv-dlq"), unique("mv-dest"));
    let src = create_queue(&s, &src_name, &[]).await;
    let dlq = create_queue(&s, &dlq_name, &[]).await;
    let dest = create_queue(&s, &dest_name, &[]).await;
    let (dlq_arn, dest_arn) = (queue_arn(&s, &dlq).await, queue_arn(&s, &dest).await);
    crate::messages::set_attrs(
        &s,
        &src,
        &[(
            "RedrivePolicy",
            &format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}"#),
        )],
    )
    .await;
    let bodies: Vec<String> = (0..N).map(|i| format!("moved-{i}")).collect();
    let items: Vec<(String, Option<String>)> = bodies.iter().map(|b| (b.clone(), None)).collect();
    crate::concurrency::send_batches(&s.sdk(), &dlq, &items).await;
    assert_eq!(counts(&s, &dlq).await, (N as u64, 0, 0));

    s.sdk()
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .destination_arn(&dest_arn)
        .max_number_of_messages_per_second(100)
        .send()
        .await
        .expect("start move task");
    // Stop it early (at 100/s the 200 take 2 s): 20 moved.
    let deadline = Instant::now() + Duration::from_secs(10);
    let before = loop {
        let t = move_tasks(&s, &dlq_arn).await.remove(0);
        assert_eq!(t.status(), Some("RUNNING"), "{t:?}");
        if t.approximate_number_of_messages_moved() >= 20 {
            break t.approximate_number_of_messages_moved();
        }
        assert!(Instant::now() < deadline, "the task does not move: {t:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    if sigkill {
        proc.kill();
    } else {
        proc.terminate();
        proc.wait_clean_exit(Duration::from_secs(5)).await;
    }

    let proc = Proc::start(&d.data, &d.log).await;
    let s = proc.client();
    let (dlq, dest) = (
        queue_url(&s, &dlq_name).await,
        queue_url(&s, &dest_name).await,
    );
    let resumed = move_tasks(&s, &dlq_arn).await;
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    let moved_at_restart = resumed[0].approximate_number_of_messages_moved();
    // A move and the task's progress are one store batch that nobody waits for: after SIGTERM
    // (final flush) it is all there; a SIGKILL may lose the last moves, progress included,
    // and the resumed task redoes them, so the count always matches the messages moved.
    let floor = if sigkill { 0 } else { before };
    assert!(
        (floor..N as i64).contains(&moved_at_restart),
        "moved {moved_at_restart} at the restart ({before} reported before the stop, {N} in all)"
    );
    let done = wait_task_done(&s, &dlq_arn).await;
    assert_eq!(done.status(), Some("COMPLETED"), "{done:?}");
    assert_eq!(
        done.approximate_number_of_messages_to_move(),
        Some(N as i64)
    );
    let moved = done.approximate_number_of_messages_moved();
    assert_eq!(moved, N as i64, "ApproximateNumberOfMessagesMoved");
    assert_eq!(counts(&s, &dlq).await, (0, 0, 0), "left in the DLQ");
    let mut got = receive_all_visible(&s, &dest).await;
    assert_eq!(counts(&s, &dest).await, (0, got.len() as u64, 0));
    got.sort();
    let mut want = bodies;
    want.sort();
    assert!(
        got == want,
        "destination holds {} of {N} (sorted: {got:?})",
        got.len()
    );
    eprintln!(
        "move task ({}): {before}+ moved before the stop, {moved_at_restart} recorded at the restart, {moved} at the end; {:?}",
        if sigkill { "SIGKILL" } else { "SIGTERM" },
        started.elapsed()
    );
    proc.stop_gracefully().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_task_resumes_after_sigterm() {
    move_task_resumes_after_restart(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_task_resumes_after_sigkill_and_moves_each_message_exactly_once() {
    move_task_resumes_after_restart(true).await;
}

/// Long polls in flight at SIGTERM are answered at once (200, no messages) and the process
/// exits 0 soon after, instead of holding the shutdown for the polls' 20 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_releases_long_polls_at_once_and_exits_zero() {
    const POLLS: usize = 6;
    let d = dirs();
    let proc = Proc::start(&d.data, &d.log).await;
    let s = proc.client();
    let url = create_queue(&s, &unique("longpoll-term"), &[]).await;
    let answered: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let mut polls = Vec::new();
    for _ in 0..POLLS {
        let (sdk, url, answered) = (no_retry(&s), url.clone(), answered.clone());
        polls.push(tokio::spawn(async move {
            let out = sdk
                .receive_message()
                .queue_url(&url)
                .wait_time_seconds(20)
                .send()
                .await
                .expect("a long poll cut by SIGTERM is answered, not dropped");
            answered.lock().unwrap().push(Instant::now());
            out.messages().len()
        }));
    }
    // Let the polls reach the server and wait there.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(answered.lock().unwrap().is_empty(), "a poll returned early");
    let sigterm = Instant::now();
    proc.terminate();
    for p in polls {
        let n = tokio::time::timeout(Duration::from_secs(5), p)
            .await
            .expect("long poll still waiting 5 s after SIGTERM")
            .unwrap();
        assert_eq!(n, 0);
    }
    let polls_done = sigterm.elapsed();
    proc.wait_clean_exit(Duration::from_secs(5)).await;
    let exited = sigterm.elapsed();
    let slowest = answered
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.duration_since(sigterm))
        .max()
        .unwrap();
    eprintln!("SIGTERM: polls answered within {slowest:?}, exit after {exited:?}");
    assert!(
        polls_done < Duration::from_secs(1),
        "polls answered after {polls_done:?}"
    );
    assert!(exited < Duration::from_secs(2), "exit after {exited:?}");
}

/// Relaxed durability: the periodic flush (every 100 ms) puts a write on disk without any
/// SIGTERM; a SIGKILL more than a second later loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relaxed_durability_flushes_periodically() {
    let d = dirs();
    let mut proc = Proc::start_with(&d.data, &d.log, RELAXED).await;
    let s = proc.client();
    let name = unique("relaxed-periodic");
    let url = create_queue(&s, &name, &[]).await;
    crate::messages::send(&s, &url, "flushed by the timer").await;
    crate::messages::set_attrs(&s, &url, &[("VisibilityTimeout", "77")]).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    proc.kill();

    let proc = Proc::start_with(&d.data, &d.log, RELAXED).await;
    let s = proc.client();
    let url = queue_url(&s, &name).await;
    assert_eq!(
        crate::messages::queue_attrs(&s, &url).await["VisibilityTimeout"],
        "77"
    );
    let got = drain(&s, &url, Duration::from_secs(10)).await;
    assert_eq!(got, ["flushed by the timer"]);
    proc.stop_gracefully().await;
}

/// Relaxed durability: SIGTERM right after many acknowledged sends flushes them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relaxed_durability_sigterm_flushes_everything() {
    const WORKERS: usize = 4;
    const PER_WORKER: usize = 150;
    let d = dirs();
    let proc = Proc::start_with(&d.data, &d.log, RELAXED).await;
    let s = proc.client();
    let name = unique("relaxed-term");
    // The queue itself is written in the relaxed mode too: SIGTERM must flush it as well.
    let url = create_queue(&s, &name, &[]).await;
    let mut want = Vec::new();
    let mut senders = Vec::new();
    for w in 0..WORKERS {
        let (sdk, url) = (s.sdk(), url.clone());
        let items: Vec<(String, Option<String>)> = (0..PER_WORKER)
            .map(|i| (format!("w{w}-{i}"), None))
            .collect();
        want.extend(items.iter().map(|(b, _)| b.clone()));
        senders.push(tokio::spawn(async move {
            crate::concurrency::send_batches(&sdk, &url, &items).await;
        }));
    }
    for t in senders {
        t.await.unwrap();
    }
    // Some deletes too: they must not come back.
    let gone = crate::messages::receive(&s, &url, 10, 0, Some(300)).await;
    assert_eq!(gone.len(), 10);
    for m in &gone {
        crate::messages::delete(&s, &url, m).await;
    }
    proc.terminate();
    proc.wait_clean_exit(Duration::from_secs(5)).await;

    let proc = Proc::start_with(&d.data, &d.log, RELAXED).await;
    let s = proc.client();
    let url = queue_url(&s, &name).await;
    want.retain(|b| !gone.iter().any(|m| m.body() == Some(b.as_str())));
    // Deleted ones stay deleted: nothing in flight, every other message visible.
    assert_eq!(
        counts(&s, &url).await,
        (want.len() as u64, 0, 0),
        "counts after SIGTERM and restart"
    );
    let mut got = receive_all_visible(&s, &url).await;
    assert_eq!(counts(&s, &url).await, (0, got.len() as u64, 0));
    got.sort();
    want.sort();
    assert!(
        got == want,
        "after SIGTERM: {} of {} messages",
        got.len(),
        want.len()
    );
    proc.stop_gracefully().await;
}

/// Relaxed durability: SIGKILL under continuous sends loses at most the documented window
/// (~100 ms): every send acknowledged more than a second before the kill is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relaxed_durability_sigkill_loses_at_most_the_window() {
    const WORKERS: usize = 2;
    const WINDOW: Duration = Duration::from_secs(1);
    let d = dirs();
    let mut proc = Proc::start_with(&d.data, &d.log, RELAXED).await;
    let s = proc.client();
    let name = unique("relaxed-kill");
    let url = create_queue(&s, &name, &[]).await;
    // Let the queue itself reach the disk.
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    // (body, when its send was acknowledged)
    let acked: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let attempted: Arc<Mutex<std::collections::HashSet<String>>> = Arc::default();
    let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for w in 0..WORKERS {
        let (sdk, url, acked, killed, attempted) = (
            no_retry(&s),
            url.clone(),
            acked.clone(),
            killed.clone(),
            attempted.clone(),
        );
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                let body = format!("w{w}-{i}");
                attempted.lock().unwrap().insert(body.clone());
                match sdk
                    .send_message()
                    .queue_url(&url)
                    .message_body(&body)
                    .send()
                    .await
                {
                    Ok(_) => acked.lock().unwrap().push((body, Instant::now())),
                    Err(e) => {
                        assert!(
                            killed.load(std::sync::atomic::Ordering::SeqCst),
                            "send failed before the kill: {e:?}"
                        );
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    killed.store(true, std::sync::atomic::Ordering::SeqCst);
    let kill_at = Instant::now();
    proc.kill();
    for t in senders {
        t.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let old: Vec<&String> = acked
        .iter()
        .filter(|(_, t)| kill_at.duration_since(*t) > WINDOW)
        .map(|(b, _)| b)
        .collect();
    assert!(old.len() > 20, "only {} sends before the window", old.len());

    let proc = Proc::start_with(&d.data, &d.log, RELAXED).await;
    let s = proc.client();
    let url = queue_url(&s, &name).await;
    let got = receive_all_visible(&s, &url).await;
    assert_eq!(counts(&s, &url).await, (0, got.len() as u64, 0));
    let mut seen = std::collections::HashSet::new();
    for b in &got {
        assert!(seen.insert(b.as_str()), "{b} received twice");
        assert!(attempted.lock().unwrap().contains(b), "{b} never sent");
    }
    let lost: Vec<&&String> = old.iter().filter(|b| !seen.contains(b.as_str())).collect();
    eprintln!(
        "relaxed SIGKILL: {} acknowledged, {} of them more than {WINDOW:?} before the kill; {} there after the restart",
        acked.len(),
        old.len(),
        got.len()
    );
    assert!(
        lost.is_empty(),
        "{} sends acknowledged more than {WINDOW:?} before the kill were lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    proc.stop_gracefully().await;
}
