//! Declared queues (the config file's `[[queue]]` tables and `--queue`), applied at every start
//! after recovery and before the server answers: a missing queue is created, an existing one
//! gets the declared attributes that differ (SetQueueAttributes) and the declared tags it lacks
//! (TagQueue); nothing is deleted, purged or untagged. The whole set is first applied to a
//! scratch in-memory engine, so a value the engine refuses stops start-up before anything real
//! is changed.

use std::collections::HashMap;
use std::sync::Arc;

use tracing::instrument::WithSubscriber;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::config_file::{Attribute, DeclaredQueue};
use crate::engine::{Engine, EngineError, EngineSettings, Queue};
use crate::error::SqsError;
use crate::store::MemoryStore;

/// What [`apply`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub created: usize,
    pub updated: usize,
}

/// Checks `config.declared` on a scratch engine, then applies it to `engine`.
pub async fn apply(engine: &Engine, config: &Config) -> std::io::Result<()> {
    if config.declared.is_empty() {
        return Ok(());
    }
    check(config).await.map_err(std::io::Error::other)?;
    let done = apply_to(engine, &config.declared)
        .await
        .map_err(std::io::Error::other)?;
    tracing::info!(
        created = done.created,
        updated = done.updated,
        "declared queues applied"
    );
    Ok(())
}

/// Applies `config.declared` to an empty in-memory engine: every error the real start would
/// meet on a fresh store, as `PLACE: queue "NAME": problem`.
pub async fn check(config: &Config) -> Result<(), String> {
    if config.declared.is_empty() {
        return Ok(());
    }
    let settings = EngineSettings {
        region: config.region.clone(),
        sync_writes: false,
        ..EngineSettings::default()
    };
    // The scratch engine's own log lines (recovery) would read as the real store's.
    let quiet = tracing::subscriber::NoSubscriber::default();
    let scratch = tracing::subscriber::with_default(quiet, || {
        Engine::open(
            Arc::new(MemoryStore::new()),
            Arc::new(SystemClock),
            settings,
        )
    })
    .map_err(|e| format!("checking the declared queues: {e}"))?;
    apply_to(&scratch, &config.declared)
        .with_subscriber(quiet)
        .await
        .map(|_| ())
}

/// A queue's declared attributes split in two: those set when it is created (or first, when it
/// exists), and its RedrivePolicy, set once every declared queue exists.
struct Plan<'a> {
    queue: &'a DeclaredQueue,
    first: Vec<&'a Attribute>,
    redrive: Option<Attribute>,
}

fn plan<'a>(engine: &Engine, queues: &'a [DeclaredQueue]) -> Result<Vec<Plan<'a>>, String> {
    let arns: Vec<String> = queues
        .iter()
        .map(|q| engine.arn(&q.account, &q.region, &q.name))
        .collect();
    queues
        .iter()
        .map(|q| {
            let mut redrive = None;
            let mut first = Vec::new();
            for a in &q.attributes {
                if a.name == "RedrivePolicy" {
                    check_target(q, a, &arns)?;
                    redrive = Some(a.clone());
                } else {
                    first.push(a);
                }
            }
            if let Some(d) = &q.dead_letter {
                let arn = engine.arn(&q.account, &q.region, &d.queue);
                redrive = Some(Attribute {
                    name: "RedrivePolicy".into(),
                    value: serde_json::json!({
                        "deadLetterTargetArn": arn,
                        "maxReceiveCount": d.max_receive_count,
                    })
                    .to_string(),
                    at: d.at.clone(),
                });
            }
            Ok(Plan {
                queue: q,
                first,
                redrive,
            })
        })
        .collect()
}

/// A raw RedrivePolicy must name a declared queue (unreadable JSON is the engine's to refuse).
fn check_target(q: &DeclaredQueue, a: &Attribute, arns: &[String]) -> Result<(), String> {
    match crate::engine::policy::dead_letter_target_arn(&a.value).as_deref() {
        Some(arn) if !arns.iter().any(|x| x == arn) => Err(format!(
            "{}: queue \"{}\": RedrivePolicy names {arn}, which is not a declared queue (declare the dead-letter queue too)",
            a.at, q.name
        )),
        _ => Ok(()),
    }
}

/// `PLACE: queue "NAME": error`, the place being the line of the attribute the error names.
fn failure(q: &DeclaredQueue, sent: &[&Attribute], e: EngineError) -> String {
    let text = SqsError::from(e).to_string();
    let named = sent
        .iter()
        .filter(|a| text.contains(a.name.as_str()))
        .max_by_key(|a| a.name.len());
    match named {
        Some(a) => format!(
            "{}: queue \"{}\": {} = {:?}: {text}",
            a.at, q.name, a.name, a.value
        ),
        None => format!("{}: queue \"{}\": {text}", q.at, q.name),
    }
}

/// The attributes among `wanted` whose current value differs (JSON values compared as JSON), so
/// that a start over an unchanged file changes nothing, not even LastModifiedTimestamp.
async fn differing<'a>(engine: &Engine, q: &Queue, wanted: &[&'a Attribute]) -> Vec<&'a Attribute> {
    let names: Vec<String> = wanted.iter().map(|a| a.name.clone()).collect();
    let current: HashMap<String, String> = engine
        .queue_attributes(q, &names)
        .await
        .map(|v| v.into_iter().collect())
        .unwrap_or_default();
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    wanted
        .iter()
        .copied()
        .filter(|a| match current.get(&a.name) {
            Some(v) if *v == a.value => false,
            Some(v) => json(v).is_none() || json(v) != json(&a.value),
            None => true,
        })
        .collect()
}

fn pairs(attrs: &[&Attribute]) -> Vec<(String, String)> {
    attrs
        .iter()
        .map(|a| (a.name.clone(), a.value.clone()))
        .collect()
}

/// Creates the missing queues (without RedrivePolicy), updates what differs in the existing
/// ones, then sets every RedrivePolicy: dead-letter queues exist before anything names them, whatever the
/// order of declaration, and two queues may name each other.
async fn apply_to(engine: &Engine, queues: &[DeclaredQueue]) -> Result<Applied, String> {
    let plans = plan(engine, queues)?;
    let mut done = Applied::default();
    let mut existed = Vec::with_capacity(plans.len());
    for p in &plans {
        let q = p.queue;
        let exists = engine.queue(&q.account, &q.region, &q.name).is_ok();
        existed.push(exists);
        if exists {
            continue;
        }
        let mut attrs = pairs(&p.first);
        if q.fifo {
            attrs.push(("FifoQueue".into(), "true".into()));
        }
        engine
            .create_queue(&q.account, &q.region, &q.name, &attrs, &q.tags)
            .await
            .map_err(|e| failure(q, &p.first, e))?;
        done.created += 1;
    }
    let mut changed = vec![false; plans.len()];
    for (i, p) in plans.iter().enumerate() {
        let q = p.queue;
        if !existed[i] {
            continue;
        }
        let handle = engine
            .queue(&q.account, &q.region, &q.name)
            .map_err(|e| failure(q, &[], e))?;
        let stale = differing(engine, &handle, &p.first).await;
        if !stale.is_empty() {
            engine
                .set_queue_attributes(&handle, &pairs(&stale))
                .await
                .map_err(|e| failure(q, &stale, e))?;
            changed[i] = true;
        }
        let tags = engine.queue_tags(&handle);
        if q.tags.iter().any(|(k, v)| tags.get(k) != Some(v)) {
            engine
                .tag_queue(&handle, &q.tags)
                .await
                .map_err(|e| failure(q, &[], e))?;
            changed[i] = true;
        }
    }
    for (i, p) in plans.iter().enumerate() {
        let (q, Some(redrive)) = (p.queue, &p.redrive) else {
            continue;
        };
        let handle = engine
            .queue(&q.account, &q.region, &q.name)
            .map_err(|e| failure(q, &[], e))?;
        if existed[i] && differing(engine, &handle, &[redrive]).await.is_empty() {
            continue;
        }
        engine
            .set_queue_attributes(&handle, &pairs(&[redrive]))
            .await
            .map_err(|e| match &q.dead_letter {
                Some(d) => format!(
                    "{}: queue \"{}\": dead-letter: {}",
                    d.at,
                    q.name,
                    SqsError::from(e)
                ),
                None => failure(q, &[redrive], e),
            })?;
        changed[i] |= existed[i];
    }
    done.updated = changed.into_iter().filter(|&c| c).count();
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cauda.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(["cauda", "--in-memory", "--config", path.to_str().unwrap()]).unwrap()
    }

    async fn engine() -> Arc<Engine> {
        let settings = EngineSettings {
            sync_writes: false,
            ..EngineSettings::default()
        };
        Engine::open(
            Arc::new(MemoryStore::new()),
            Arc::new(SystemClock),
            settings,
        )
        .unwrap()
    }

    async fn attribute(engine: &Engine, name: &str, attribute: &str) -> Option<String> {
        let q = engine.queue("000000000000", "us-east-1", name).unwrap();
        engine
            .queue_attributes(&q, &[attribute.to_string()])
            .await
            .unwrap()
            .into_iter()
            .next()
            .map(|(_, v)| v)
    }

    #[tokio::test]
    async fn the_readme_example_is_valid() {
        let readme = include_str!("../README.md");
        let start = readme.find("```toml\n").unwrap() + "```toml\n".len();
        let len = readme[start..].find("```").unwrap();
        let c = config(&readme[start..start + len]);
        assert_eq!(c.declared.len(), 4);
        let e = engine().await;
        apply(&e, &c).await.unwrap();
        assert_eq!(
            attribute(&e, "orders.fifo", "VisibilityTimeout")
                .await
                .as_deref(),
            Some("60")
        );
    }

    #[tokio::test]
    async fn a_cycle_of_dead_letter_queues_is_applied() {
        let c = config(
            "[[queue]]\nname = \"a\"\ndead-letter = { queue = \"b\", max-receive-count = 2 }\n\
             [[queue]]\nname = \"b\"\ndead-letter = { queue = \"a\", max-receive-count = 3 }\n",
        );
        let e = engine().await;
        apply(&e, &c).await.unwrap();
        let policy = attribute(&e, "a", "RedrivePolicy").await.unwrap();
        assert!(
            policy.contains(&e.arn("000000000000", "us-east-1", "b")),
            "{policy}"
        );
        let policy = attribute(&e, "b", "RedrivePolicy").await.unwrap();
        assert!(
            policy.contains(&e.arn("000000000000", "us-east-1", "a")),
            "{policy}"
        );
        assert_eq!(apply(&e, &c).await.ok(), Some(()));
        assert_eq!(apply_to(&e, &c.declared).await.unwrap(), Applied::default());
    }

    #[tokio::test]
    async fn a_second_apply_updates_and_keeps() {
        let e = engine().await;
        let c = config("[[queue]]\nname = \"q\"\nattributes = { VisibilityTimeout = 60 }\ntags = { a = \"1\" }\n");
        assert_eq!(
            apply_to(&e, &c.declared).await.unwrap(),
            Applied {
                created: 1,
                updated: 0
            }
        );
        let c = config("[[queue]]\nname = \"q\"\nattributes = { VisibilityTimeout = 90 }\ntags = { b = \"2\" }\n");
        assert_eq!(
            apply_to(&e, &c.declared).await.unwrap(),
            Applied {
                created: 0,
                updated: 1
            }
        );
        assert_eq!(
            attribute(&e, "q", "VisibilityTimeout").await.as_deref(),
            Some("90")
        );
        // The same declaration again finds nothing to change.
        assert_eq!(apply_to(&e, &c.declared).await.unwrap(), Applied::default());
        let q = e.queue("000000000000", "us-east-1", "q").unwrap();
        let tags: Vec<_> = e.queue_tags(&q).into_iter().collect();
        assert_eq!(tags, [("a".into(), "1".into()), ("b".into(), "2".into())]);
    }

    #[tokio::test]
    async fn engine_errors_name_the_attribute_line_and_change_nothing() {
        let c = config(
            "[[queue]]\nname = \"ok\"\n\n[[queue]]\nname = \"bad\"\nattributes = { DelaySeconds = 0, VisibilityTimeout = 99999 }\n",
        );
        let e = engine().await;
        let err = apply(&e, &c).await.unwrap_err().to_string();
        assert!(err.contains("cauda.toml:6: queue \"bad\": "), "{err}");
        assert!(err.contains("VisibilityTimeout"), "{err}");
        assert!(e.queue("000000000000", "us-east-1", "ok").is_err());
        let c = config("[[queue]]\nname = \"a\"\nattributes = { RedrivePolicy = '{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:x\",\"maxReceiveCount\":1}' }\n");
        let err = check(&c).await.unwrap_err();
        assert!(
            err.contains("cauda.toml:3: queue \"a\": RedrivePolicy names"),
            "{err}"
        );
        let c = config("[[queue]]\nname = \"a b\"\n");
        let err = check(&c).await.unwrap_err();
        assert!(err.contains("cauda.toml:2: queue \"a b\": "), "{err}");
    }
}
