//! AddPermission and RemovePermission: statements of the queue's `Policy` document.

use std::sync::Arc;

use super::queue::Queue;
use super::{Engine, EngineError, EngineResult, Param};

impl Engine {
    pub async fn add_permission(
        &self,
        q: &Arc<Queue>,
        label: &str,
        accounts: &[String],
        actions: &[String],
    ) -> EngineResult<()> {
        validate_label(label)?;
        if accounts.is_empty() {
            return Err(EngineError::MissingParameter(Param::AccountIds));
        }
        if actions.is_empty() {
            return Err(EngineError::MissingParameter(Param::Actions));
        }
        if actions.len() > 7 {
            return Err(EngineError::OverLimit(
                format!(
                    "{} Actions were found, maximum allowed is 7.",
                    actions.len()
                )
                .into(),
            ));
        }
        for a in actions {
            if !PERMISSION_ACTIONS.contains(&a.as_str()) {
                return Err(EngineError::invalid(
                    Param::Action,
                    a,
                    "Only the queue owner is allowed to invoke this action.",
                ));
            }
        }
        for a in accounts {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(EngineError::invalid(
                    Param::AccountId,
                    a,
                    "An AWS account id must have 12 digits.",
                ));
            }
        }
        let arn = q.arn.clone();
        self.update_record(q, |r| {
            let mut policy: serde_json::Value = match &r.attributes.policy {
                Some(p) => serde_json::from_str(p).unwrap_or_else(|_| serde_json::json!({})),
                None => serde_json::json!({"Version": "2008-10-17", "Id": format!("{arn}/SQSDefaultPolicy"), "Statement": []}),
            };
            let statements = statements_mut(&mut policy);
            if statements.iter().any(|s| s.get("Sid").and_then(|v| v.as_str()) == Some(label)) {
                return Err(EngineError::invalid(Param::Label, label, "Already exists."));
            }
            if statements.len() >= 20 {
                return Err(EngineError::OverLimit("A queue policy can have at most 20 statements.".into()));
            }
            let one_or_many = |v: Vec<String>| {
                if v.len() == 1 {
                    serde_json::Value::String(v.into_iter().next().unwrap_or_default())
                } else {
                    serde_json::Value::from(v)
                }
            };
            let principals = one_or_many(accounts.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect());
            let actions = one_or_many(actions.iter().map(|a| format!("SQS:{a}")).collect());
            statements.push(serde_json::json!({
                "Sid": label, "Effect": "Allow", "Principal": {"AWS": principals}, "Action": actions, "Resource": arn,
            }));
            r.attributes.policy = Some(policy.to_string());
            Ok(())
        })
        .await
    }

    pub async fn remove_permission(&self, q: &Arc<Queue>, label: &str) -> EngineResult<()> {
        if label.is_empty() {
            return Err(EngineError::MissingParameter(Param::Label));
        }
        self.update_record(q, |r| {
            let not_found = || EngineError::invalid(Param::Label, label, "can't find label.");
            let mut policy: serde_json::Value =
                serde_json::from_str(r.attributes.policy.as_deref().ok_or_else(not_found)?)
                    .map_err(|_| not_found())?;
            let statements = statements_mut(&mut policy);
            let before = statements.len();
            statements.retain(|s| s.get("Sid").and_then(|v| v.as_str()) != Some(label));
            if statements.len() == before {
                return Err(not_found());
            }
            r.attributes.policy = if statements.is_empty() {
                None
            } else {
                Some(policy.to_string())
            };
            Ok(())
        })
        .await
    }
}

fn statements_mut(policy: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    if !policy.is_object() {
        *policy = serde_json::json!({});
    }
    let obj = policy.as_object_mut().expect("object");
    let entry = obj
        .entry("Statement")
        .or_insert_with(|| serde_json::json!([]));
    if !entry.is_array() {
        let single = entry.take();
        *entry = serde_json::Value::Array(if single.is_null() {
            vec![]
        } else {
            vec![single]
        });
    }
    entry.as_array_mut().expect("array")
}

const PERMISSION_ACTIONS: &[&str] = &[
    "*",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "ListQueueTags",
];

fn validate_label(label: &str) -> EngineResult<()> {
    if label.is_empty() {
        return Err(EngineError::MissingParameter(Param::Label));
    }
    if label.len() > 80
        || !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(EngineError::invalid(
            Param::Label,
            label,
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.",
        ));
    }
    Ok(())
}
