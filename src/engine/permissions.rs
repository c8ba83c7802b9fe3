//! AddPermission and RemovePermission: statements of the queue's `Policy` document.

use std::sync::Arc;

use super::policy::{self, PermissionError};
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
            let policy = policy::add_permission(
                r.attributes.policy.as_deref(),
                &arn,
                label,
                accounts,
                actions,
            )
            .map_err(|e| permission_error(e, label))?;
            r.attributes.policy = Some(policy);
            Ok(())
        })
        .await
    }

    pub async fn remove_permission(&self, q: &Arc<Queue>, label: &str) -> EngineResult<()> {
        if label.is_empty() {
            return Err(EngineError::MissingParameter(Param::Label));
        }
        self.update_record(q, |r| {
            r.attributes.policy = policy::remove_permission(r.attributes.policy.as_deref(), label)
                .map_err(|e| permission_error(e, label))?;
            Ok(())
        })
        .await
    }
}

/// What a refused Policy edit means for AddPermission / RemovePermission.
fn permission_error(e: PermissionError, label: &str) -> EngineError {
    match e {
        PermissionError::LabelExists => {
            EngineError::invalid(Param::Label, label, "Already exists.")
        }
        PermissionError::TooManyStatements => {
            EngineError::OverLimit("A queue policy can have at most 20 statements.".into())
        }
        PermissionError::LabelNotFound => {
            EngineError::invalid(Param::Label, label, "can't find label.")
        }
    }
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
