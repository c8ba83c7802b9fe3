//! Queue policies (the `Policy` attribute) as SQS enforces them between accounts
//! (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-basic-examples-of-sqs-policies.html>): a pure evaluator over a document parsed once,
//! when the policy is set, never per request.
//!
//! The queue's own account may do anything an explicit `Deny` does not forbid; another
//! account only what an `Allow` grants and no `Deny` forbids, and never the owner-only actions
//! ([`OWNER_ONLY_ACTIONS`]).
//!
//! # How a document is read
//!
//! [`QueuePolicy::parse`] turns the JSON into typed statements once; [`QueuePolicy::evaluate`]
//! walks them without allocating. Every part of a statement is decided as *yes*, *no* or
//! *can't tell* (three-valued, Kleene logic: the statement applies when every part does, and
//! one definite *no* makes it not apply whatever the others say). An `Allow` grants only when
//! it applies for certain; a `Deny` forbids whenever it may apply (fails closed).
//!
//! The callers are accounts: a credential maps to an account, nothing finer. Hence:
//!
//! - **Principal**: `"*"`, `{"AWS":"*"}`, `{"AWS":"<12-digit account>"}` and
//!   `{"AWS":"arn:<partition>:iam::<account>:root"}` name the whole account and are decided
//!   exactly. A user, role or session of an account (`arn:…:iam::<acct>:user/x`,
//!   `…:role/r`, `arn:…:sts::<acct>:assumed-role/…`) is a part of that account: for a caller
//!   of another account it is a definite *no*, for a caller of that account *can't tell*
//!   (so an `Allow` for `user/x` grants nothing, a `Deny` for it binds the whole account).
//!   `{"Service":…}` is never the caller (calls here come from account credentials, not
//!   from services): *no* for `Allow` and `Deny` alike. `{"CanonicalUser":…}`,
//!   `{"Federated":…}` and any other `AWS` string (unique ids such as `AIDA…`, malformed
//!   ARNs) cannot be mapped to an account: *can't tell*. Any other principal type, a bare
//!   string other than `"*"`, an empty string or an empty list is a parse error.
//!   `NotPrincipal` is supported: the statement is about every principal except those
//!   listed (the negation of the same three-valued answer; `can't tell` stays `can't tell`).
//! - **Action**: `"*"` or `<service>:<name>`; the service is compared case-insensitively and
//!   must be `sqs` to match anything (another service's action names nothing here); the name
//!   is a case-insensitive pattern with `*` and `?` anywhere. A request for a batch action
//!   (`SendMessageBatch`, `DeleteMessageBatch`, `ChangeMessageVisibilityBatch`) is covered
//!   by a pattern that matches either its own name or its single action's name; the single
//!   action is not covered by a pattern that names only the batch one. `NotAction` is
//!   supported: it covers the actions that `Action` with the same list would not (so
//!   `NotAction: sqs:SendMessage` leaves out `SendMessageBatch` too). An action without a
//!   `service:` prefix (other than `"*"`) or with an empty name is a parse error.
//! - **Resource**: case-sensitive patterns with `*` and `?` against the queue's ARN.
//!   `NotResource` is supported. A statement with neither stands for the queue the policy is
//!   attached to: the policy is only ever evaluated for that queue (SQS: "each policy must
//!   cover only a single queue"), so this is the narrowest reading for an `Allow` and the
//!   applying one for a `Deny`. A pattern holding a policy variable (`${…}`) is
//!   *can't tell*.
//! - **Condition**: every operator block and every key in it must hold (AND); the values of
//!   one key are any-of (for the negated operators: none-of, as IAM does). Keys
//!   (case-insensitive): `aws:SourceAccount` and `aws:PrincipalAccount` are the caller's
//!   account (on AWS `aws:SourceAccount` is set only for a service acting on a resource's
//!   behalf; every caller here is an account acting itself, and it is taken as its own
//!   source, so `StringEquals aws:SourceAccount <acct>` restricts to that account);
//!   `aws:SecureTransport` is `"true"`/`"false"` from
//!   [`AccessRequest::secure_transport`]; `aws:SourceArn` is absent (a direct API call has no
//!   source resource). Operators: `StringEquals`, `StringNotEquals`,
//!   `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`
//!   (String* case-sensitive, `*IgnoreCase` by Unicode lower case), `ArnEquals` = `ArnLike`,
//!   `ArnNotEquals` = `ArnNotLike` (six `:`-separated parts, each a case-sensitive pattern; a
//!   pattern without `:`, such as `"*"`, against the whole value),
//!   `Bool` (`true`/`false`, case-insensitive), each with an optional `IfExists` suffix, and
//!   `Null`. As in IAM, an absent key makes a positive operator false and a negated one true,
//!   `…IfExists` true whatever the operator, and `Null: true` true. So `aws:SourceArn` never
//!   matches `ArnEquals`/`ArnLike`/`StringEquals`/`StringLike` for a direct call, and does
//!   satisfy `ArnNotEquals`/`ArnNotLike` (a `Deny … ArnNotEquals aws:SourceArn <topic>`
//!   therefore refuses direct calls, as on AWS). Any other key or operator (including the
//!   `ForAnyValue:`/`ForAllValues:` qualifiers) and any value holding a policy variable is
//!   *can't tell*: an `Allow` with it grants nothing, a `Deny` with it applies unless another
//!   of its parts is a definite *no*.
//!
//! Parse errors: not JSON, not an object, a top-level member other than `Version`, `Id`,
//! `Statement`; a `Version` other than `"2008-10-17"`/`"2012-10-17"`; an `Id` that is not a
//! string; no `Statement` or one that is neither an object nor an array; a statement that is
//! not an object or has a member other than `Sid`, `Effect`, `Principal`, `NotPrincipal`,
//! `Action`, `NotAction`, `Resource`, `NotResource`, `Condition` (a misspelt `Condition`
//! must not silently widen an `Allow`); `Effect` other than exactly `Allow`/`Deny`; none or
//! both of `Principal`/`NotPrincipal`, of `Action`/`NotAction`, both of
//! `Resource`/`NotResource`; a member of the wrong JSON type (lists must be non-empty lists
//! of strings; condition values strings, booleans or numbers, or non-empty lists of them).
//! An empty `Statement` list is accepted and matches nothing.

mod condition;
mod json;
pub mod redrive;
#[cfg(test)]
mod tests;

use condition::{glob, Condition};
pub use json::{
    add_permission, check_policy_document, dead_letter_target_arn, decode_task_handle,
    encode_task_handle, remove_permission, InvalidPolicyDocument, PermissionError,
};
pub use redrive::{RedriveAllowPolicy, RedrivePolicy};

/// Actions that a policy never opens to another account
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-limitations-of-custom-policies.html>).
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
    /// An `Allow` matched for certain and no `Deny` may match.
    Allow,
    /// A `Deny` matched, or may match (a part of it could not be decided: fail closed).
    Deny,
    /// No statement matched.
    NotMatched,
}

/// A parsed queue policy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueuePolicy {
    statements: Vec<Statement>,
}

impl QueuePolicy {
    /// What the statements say about `req` (owner rules aside). Allocation-free.
    pub fn evaluate(&self, req: &AccessRequest<'_>) -> Decision {
        let target = Target {
            req,
            single_action: single_of_batch(req.action),
        };
        let mut allowed = false;
        for s in &self.statements {
            let applies = s.applies(&target);
            match s.effect {
                Effect::Deny if applies != Tri::No => return Decision::Deny,
                Effect::Allow if applies == Tri::Yes => allowed = true,
                _ => {}
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::NotMatched
        }
    }
}

/// The owner's calls that change the policy: no `Deny` binds them, so that a policy the owner
/// got wrong (a `Deny` of everything, or one that fails closed on a condition cauda cannot
/// evaluate) can always be repaired or removed, as AWS lets an account's root user do with
/// resource policies. Here a credential is an account, i.e. its root.
pub const OWNER_POLICY_ACTIONS: &[&str] =
    &["SetQueueAttributes", "AddPermission", "RemovePermission"];

/// Whether `req` may proceed on a queue whose policy is `policy`.
pub fn is_allowed(policy: Option<&QueuePolicy>, req: &AccessRequest<'_>) -> bool {
    let owner = req.caller_account == req.owner_account;
    if owner && OWNER_POLICY_ACTIONS.contains(&req.action) {
        return true;
    }
    let decision = policy.map_or(Decision::NotMatched, |p| p.evaluate(req));
    if decision == Decision::Deny {
        return false;
    }
    if owner {
        return true;
    }
    !OWNER_ONLY_ACTIONS.contains(&req.action) && decision == Decision::Allow
}

// ----- three-valued answers -----

/// Yes, no, or can't tell; ordered so that AND is `min` and OR is `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tri {
    No,
    Maybe,
    Yes,
}

impl Tri {
    fn from_bool(b: bool) -> Tri {
        if b {
            Tri::Yes
        } else {
            Tri::No
        }
    }

    fn negate(self) -> Tri {
        match self {
            Tri::No => Tri::Yes,
            Tri::Maybe => Tri::Maybe,
            Tri::Yes => Tri::No,
        }
    }
}

/// The request plus what is derived from it once per evaluation.
struct Target<'r, 'a> {
    req: &'r AccessRequest<'a>,
    /// For a batch action, the single action whose permission it shares.
    single_action: Option<&'static str>,
}

/// "Permission for the batch version of an action is the same as for the single".
fn single_of_batch(action: &str) -> Option<&'static str> {
    match action {
        "SendMessageBatch" => Some("SendMessage"),
        "DeleteMessageBatch" => Some("DeleteMessage"),
        "ChangeMessageVisibilityBatch" => Some("ChangeMessageVisibility"),
        _ => None,
    }
}

// ----- statements -----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Clone, Debug, PartialEq)]
struct Statement {
    effect: Effect,
    principals: Principals,
    actions: Actions,
    resources: Resources,
    conditions: Box<[Condition]>,
}

impl Statement {
    /// Whether the statement applies to the request, cheapest parts first.
    fn applies(&self, t: &Target<'_, '_>) -> Tri {
        if !self.actions.cover(t.req.action, t.single_action) {
            return Tri::No;
        }
        let mut answer = self.resources.cover(t.req.queue_arn);
        if answer == Tri::No {
            return Tri::No;
        }
        answer = answer.min(self.principals.cover(t.req.caller_account));
        for c in self.conditions.iter() {
            if answer == Tri::No {
                return Tri::No;
            }
            answer = answer.min(c.holds(t.req));
        }
        answer
    }
}

// ----- principals -----

#[derive(Clone, Debug, PartialEq)]
struct Principals {
    negated: bool,
    entries: Box<[PrincipalEntry]>,
}

#[derive(Clone, Debug, PartialEq)]
enum PrincipalEntry {
    /// `"*"`: every caller.
    Anyone,
    /// A whole account (`<12 digits>` or `arn:…:iam::<acct>:root`).
    Account(Box<str>),
    /// A user, role or session inside the account: not something an account-level caller
    /// can be shown to be or not to be.
    InAccount(Box<str>),
    /// A service principal: never the caller here.
    Service,
    /// A principal that cannot be mapped to an account.
    Unidentified,
}

impl PrincipalEntry {
    fn parse_aws(s: &str) -> Result<PrincipalEntry, String> {
        if s.is_empty() {
            return Err("an empty AWS principal".into());
        }
        if s == "*" {
            return Ok(PrincipalEntry::Anyone);
        }
        if is_account_id(s) {
            return Ok(PrincipalEntry::Account(s.into()));
        }
        let mut parts = s.splitn(6, ':');
        let parsed = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        );
        Ok(match parsed {
            (Some("arn"), Some(_), Some("iam"), Some(""), Some(acct), Some(rest))
                if is_account_id(acct) && rest == "root" =>
            {
                PrincipalEntry::Account(acct.into())
            }
            (Some("arn"), Some(_), Some("iam" | "sts"), Some(""), Some(acct), Some(rest))
                if is_account_id(acct) && !rest.is_empty() =>
            {
                PrincipalEntry::InAccount(acct.into())
            }
            _ => PrincipalEntry::Unidentified,
        })
    }

    fn cover(&self, caller: &str) -> Tri {
        match self {
            PrincipalEntry::Anyone => Tri::Yes,
            PrincipalEntry::Account(a) => Tri::from_bool(**a == *caller),
            PrincipalEntry::InAccount(a) if **a == *caller => Tri::Maybe,
            PrincipalEntry::InAccount(_) | PrincipalEntry::Service => Tri::No,
            PrincipalEntry::Unidentified => Tri::Maybe,
        }
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl Principals {
    fn cover(&self, caller: &str) -> Tri {
        let mut answer = Tri::No;
        for e in self.entries.iter() {
            answer = answer.max(e.cover(caller));
            if answer == Tri::Yes {
                break;
            }
        }
        if self.negated {
            answer.negate()
        } else {
            answer
        }
    }
}

// ----- actions -----

#[derive(Clone, Debug, PartialEq)]
struct Actions {
    negated: bool,
    patterns: Box<[ActionPattern]>,
}

#[derive(Clone, Debug, PartialEq)]
enum ActionPattern {
    /// The action-name pattern (ASCII lower case) of an `sqs:` action; `*` for `"*"`.
    Sqs(Box<str>),
    /// Another service's action: names no SQS action.
    OtherService,
}

impl ActionPattern {
    fn parse(s: &str) -> Result<ActionPattern, String> {
        if s == "*" {
            return Ok(ActionPattern::Sqs("*".into()));
        }
        match s.split_once(':') {
            Some((_, "")) => Err(format!("action {s:?} has no name")),
            Some((service, name)) if service.eq_ignore_ascii_case("sqs") => {
                Ok(ActionPattern::Sqs(name.to_ascii_lowercase().into()))
            }
            Some(_) => Ok(ActionPattern::OtherService),
            None => Err(format!("action {s:?} has no service prefix")),
        }
    }

    fn matches(&self, action: &str) -> bool {
        match self {
            ActionPattern::Sqs(p) => glob(p.as_bytes(), action.as_bytes(), true),
            ActionPattern::OtherService => false,
        }
    }
}

impl Actions {
    fn cover(&self, action: &str, single: Option<&str>) -> bool {
        let listed = self
            .patterns
            .iter()
            .any(|p| p.matches(action) || single.is_some_and(|s| p.matches(s)));
        listed != self.negated
    }
}

// ----- resources -----

#[derive(Clone, Debug, PartialEq)]
enum Resources {
    /// No `Resource`/`NotResource`: the queue the policy is attached to.
    AttachedQueue,
    Listed {
        negated: bool,
        patterns: Box<[ResourcePattern]>,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum ResourcePattern {
    Glob(Box<str>),
    /// Holds a policy variable (`${…}`), which is not substituted.
    Variable,
}

impl ResourcePattern {
    fn parse(s: &str) -> Result<ResourcePattern, String> {
        if s.is_empty() {
            Err("an empty Resource".into())
        } else if s.contains("${") {
            Ok(ResourcePattern::Variable)
        } else {
            Ok(ResourcePattern::Glob(s.into()))
        }
    }
}

impl Resources {
    fn cover(&self, arn: &str) -> Tri {
        match self {
            Resources::AttachedQueue => Tri::Yes,
            Resources::Listed { negated, patterns } => {
                let mut answer = Tri::No;
                for p in patterns.iter() {
                    answer = answer.max(match p {
                        ResourcePattern::Glob(g) => {
                            Tri::from_bool(glob(g.as_bytes(), arn.as_bytes(), false))
                        }
                        ResourcePattern::Variable => Tri::Maybe,
                    });
                    if answer == Tri::Yes {
                        break;
                    }
                }
                if *negated {
                    answer.negate()
                } else {
                    answer
                }
            }
        }
    }
}
