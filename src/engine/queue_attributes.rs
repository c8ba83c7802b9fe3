//! GetQueueAttributes, SetQueueAttributes and queue tags.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::attributes::{self, AttributeContext};
use super::queue::{Queue, QueueRecord};
use super::{Engine, EngineError, EngineResult, Param};

impl Engine {
    /// GetQueueAttributes: `names` may hold `All`; unknown names are rejected.
    /// GetQueueAttributes: the counts come from the backend, the rest from the record in
    /// force (read one after the other: the counts are approximate anyway).
    pub async fn queue_attributes(
        &self,
        q: &Queue,
        names: &[String],
    ) -> EngineResult<Vec<(String, String)>> {
        for n in names {
            if n != "All" && !attributes::ALL_ATTRIBUTE_NAMES.contains(&n.as_str()) {
                return Err(EngineError::UnknownAttribute(n.clone()));
            }
        }
        let all = names.iter().any(|n| n == "All");
        let counts = self.state.counts(q, self.now()).await?;
        Ok(self.record_of(q, |record| {
            let mut out = Vec::new();
            for &name in attributes::ALL_ATTRIBUTE_NAMES {
                if !all && !names.iter().any(|n| n == name) {
                    continue;
                }
                let value = match name {
                    "ApproximateNumberOfMessages" => Some(counts.visible.to_string()),
                    "ApproximateNumberOfMessagesNotVisible" => Some(counts.in_flight.to_string()),
                    "ApproximateNumberOfMessagesDelayed" => Some(counts.delayed.to_string()),
                    "CreatedTimestamp" => Some(record.created_at.to_string()),
                    "LastModifiedTimestamp" => Some(record.last_modified_at.to_string()),
                    "QueueArn" => Some(q.arn.clone()),
                    other => record.attributes.get(other),
                };
                if let Some(v) = value {
                    out.push((name.to_string(), v));
                }
            }
            out
        }))
    }

    pub async fn set_queue_attributes(
        &self,
        q: &Arc<Queue>,
        attrs: &[(String, String)],
    ) -> EngineResult<()> {
        if attrs.is_empty() {
            return Err(EngineError::MissingParameter(Param::Attributes));
        }
        let targets = self.resolve_dead_letter_targets(attrs).await;
        let now = self.now();
        let mut change = |next: &mut QueueRecord| {
            let ctx = AttributeContext {
                creating: false,
                queue_arn: &q.arn,
                lookup: &targets,
            };
            next.attributes.apply(attrs, &ctx)?;
            next.last_modified_at = now / 1000;
            Ok(())
        };
        self.state.update_queue(q, &mut change).await?;
        // A lower retention period or a shorter delay may change what is receivable now.
        self.expire(q).await?;
        q.notify.notify_waiters();
        Ok(())
    }

    /// Changes the stored record of a queue (tags, policy) through `change`.
    pub(super) async fn update_record<F>(&self, q: &Arc<Queue>, change: F) -> EngineResult<()>
    where
        F: FnOnce(&mut QueueRecord) -> EngineResult<()> + Send,
    {
        let mut change = Some(change);
        let mut once = |next: &mut QueueRecord| match change.take() {
            Some(change) => change(next),
            None => Ok(()),
        };
        self.state.update_queue(q, &mut once).await
    }

    pub async fn tag_queue(&self, q: &Arc<Queue>, tags: &[(String, String)]) -> EngineResult<()> {
        if tags.is_empty() {
            return Err(EngineError::MissingParameter(Param::Tags));
        }
        validate_tags(tags)?;
        self.update_record(q, |r| {
            for (k, v) in tags {
                r.tags.insert(k.clone(), v.clone());
            }
            if r.tags.len() > 50 {
                return Err(EngineError::InvalidRequest(
                    "Too many tags added for queue. A queue can have at most 50 tags.".into(),
                ));
            }
            Ok(())
        })
        .await
    }

    pub async fn untag_queue(&self, q: &Arc<Queue>, keys_to_remove: &[String]) -> EngineResult<()> {
        if keys_to_remove.is_empty() {
            return Err(EngineError::MissingParameter(Param::TagKeys));
        }
        self.update_record(q, |r| {
            for k in keys_to_remove {
                r.tags.remove(k);
            }
            Ok(())
        })
        .await
    }

    pub fn queue_tags(&self, q: &Queue) -> BTreeMap<String, String> {
        self.record_of(q, |r| r.tags.clone())
    }

    /// FIFO: whether a send without MessageDeduplicationId is deduplicated by its body.
    pub fn content_based_deduplication(&self, q: &Queue) -> bool {
        self.record_of(q, |r| r.attributes.content_based_deduplication)
    }

    /// What `read` makes of `q`'s record in force
    /// ([`MessageState::with_record`](super::state::MessageState::with_record)).
    pub(crate) fn record_of<T>(&self, q: &Queue, read: impl FnOnce(&QueueRecord) -> T) -> T {
        let mut read = Some(read);
        let mut out = None;
        self.state
            .with_record(q, &mut |r| out = read.take().map(|f| f(r)));
        out.expect("with_record calls back once")
    }
}

/// Tag rules: keys 1–128, values 0–256, no `aws:` prefix, letters, digits, whitespace and
/// `_ . : / = + - @`; at most 50 on a queue.
pub(super) fn validate_tags(tags: &[(String, String)]) -> EngineResult<()> {
    let allowed = |s: &str| {
        s.chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
    };
    for (k, v) in tags {
        if k.is_empty()
            || k.chars().count() > 128
            || !allowed(k)
            || k.to_ascii_lowercase().starts_with("aws:")
        {
            return Err(EngineError::InvalidRequest(
                format!("Tag key {k} is invalid.").into(),
            ));
        }
        if v.chars().count() > 256 || !allowed(v) {
            return Err(EngineError::InvalidRequest(
                format!("Tag value {v} is invalid.").into(),
            ));
        }
    }
    if tags.len() > 50 {
        return Err(EngineError::InvalidRequest(
            "Too many tags added for queue. A queue can have at most 50 tags.".into(),
        ));
    }
    Ok(())
}
