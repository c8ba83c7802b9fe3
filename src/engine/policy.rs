//! Queue policies (the `Policy` attribute) as SQS enforces them between accounts
//! (SQS-REFERENCE §9 "Cross-account access"): a pure evaluator over a document parsed once,
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

use serde_json::{Map, Value};

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
    /// Parses a policy document; `Err` with the reason when it is not valid JSON or not a
    /// policy document (see the module documentation for what is refused).
    pub fn parse(document: &str) -> Result<QueuePolicy, String> {
        let doc: Value = serde_json::from_str(document).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(doc) = doc else {
            return Err("the policy is not a JSON object".into());
        };
        for (name, value) in &doc {
            match name.as_str() {
                "Version" => match value.as_str() {
                    Some("2008-10-17" | "2012-10-17") => {}
                    _ => return Err("Version must be \"2008-10-17\" or \"2012-10-17\"".into()),
                },
                "Id" => {
                    if !value.is_string() {
                        return Err("Id must be a string".into());
                    }
                }
                "Statement" => {}
                other => return Err(format!("unknown policy member {other:?}")),
            }
        }
        let statements = match doc.get("Statement") {
            Some(Value::Array(list)) => list
                .iter()
                .map(|s| match s {
                    Value::Object(s) => Statement::parse(s),
                    _ => Err("a statement is not a JSON object".into()),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(Value::Object(s)) => vec![Statement::parse(s)?],
            Some(_) => return Err("Statement must be an object or an array".into()),
            None => return Err("no Statement".into()),
        };
        Ok(QueuePolicy { statements })
    }

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
    fn parse(s: &Map<String, Value>) -> Result<Statement, String> {
        for name in s.keys() {
            if !matches!(
                name.as_str(),
                "Sid"
                    | "Effect"
                    | "Principal"
                    | "NotPrincipal"
                    | "Action"
                    | "NotAction"
                    | "Resource"
                    | "NotResource"
                    | "Condition"
            ) {
                return Err(format!("unknown statement member {name:?}"));
            }
        }
        if s.get("Sid").is_some_and(|v| !v.is_string()) {
            return Err("Sid must be a string".into());
        }
        let effect = match s.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            _ => return Err("Effect must be \"Allow\" or \"Deny\"".into()),
        };
        let (principal, negated) = one_of(s, "Principal", "NotPrincipal")?
            .ok_or("a statement needs Principal or NotPrincipal")?;
        let principals = Principals {
            negated,
            entries: parse_principals(principal)?,
        };
        let (action, negated) =
            one_of(s, "Action", "NotAction")?.ok_or("a statement needs Action or NotAction")?;
        let actions = Actions {
            negated,
            patterns: strings(action, "Action")?
                .into_iter()
                .map(ActionPattern::parse)
                .collect::<Result<_, _>>()?,
        };
        let resources = match one_of(s, "Resource", "NotResource")? {
            None => Resources::AttachedQueue,
            Some((resource, negated)) => Resources::Listed {
                negated,
                patterns: strings(resource, "Resource")?
                    .into_iter()
                    .map(ResourcePattern::parse)
                    .collect::<Result<_, _>>()?,
            },
        };
        let conditions = match s.get("Condition") {
            None => Box::default(),
            Some(c) => parse_conditions(c)?,
        };
        Ok(Statement {
            effect,
            principals,
            actions,
            resources,
            conditions,
        })
    }

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

/// The member named `positive` or `negative` (not both); `true` with the negative one.
fn one_of<'v>(
    s: &'v Map<String, Value>,
    positive: &str,
    negative: &str,
) -> Result<Option<(&'v Value, bool)>, String> {
    match (s.get(positive), s.get(negative)) {
        (Some(_), Some(_)) => Err(format!("a statement has both {positive} and {negative}")),
        (Some(v), None) => Ok(Some((v, false))),
        (None, Some(v)) => Ok(Some((v, true))),
        (None, None) => Ok(None),
    }
}

/// A string or a non-empty array of strings.
fn strings<'v>(v: &'v Value, what: &str) -> Result<Vec<&'v str>, String> {
    match v {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(list) if !list.is_empty() => list
            .iter()
            .map(|e| {
                e.as_str()
                    .ok_or_else(|| format!("{what} must hold strings only"))
            })
            .collect(),
        _ => Err(format!(
            "{what} must be a string or a non-empty array of strings"
        )),
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

fn parse_principals(v: &Value) -> Result<Box<[PrincipalEntry]>, String> {
    match v {
        Value::String(s) if s == "*" => Ok(Box::new([PrincipalEntry::Anyone])),
        Value::Object(m) if !m.is_empty() => {
            let mut entries = Vec::new();
            for (kind, value) in m {
                let list = strings(value, "Principal")?;
                for s in list {
                    entries.push(match kind.as_str() {
                        "AWS" => PrincipalEntry::parse_aws(s)?,
                        "Service" => PrincipalEntry::Service,
                        "CanonicalUser" | "Federated" => PrincipalEntry::Unidentified,
                        other => return Err(format!("unknown principal type {other:?}")),
                    });
                }
            }
            Ok(entries.into_boxed_slice())
        }
        _ => Err("Principal must be \"*\" or a non-empty object".into()),
    }
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

// ----- conditions -----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    ArnLike,
    Bool,
    Null,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    /// The caller's account (`aws:SourceAccount`, `aws:PrincipalAccount`).
    CallerAccount,
    /// `aws:SourceArn`: absent for a direct API call.
    SourceArn,
    SecureTransport,
}

impl Key {
    fn parse(name: &str) -> Option<Key> {
        let is = |k: &str| name.eq_ignore_ascii_case(k);
        if is("aws:SourceAccount") || is("aws:PrincipalAccount") {
            Some(Key::CallerAccount)
        } else if is("aws:SourceArn") {
            Some(Key::SourceArn)
        } else if is("aws:SecureTransport") {
            Some(Key::SecureTransport)
        } else {
            None
        }
    }

    fn value<'a>(self, req: &AccessRequest<'a>) -> Option<&'a str> {
        match self {
            Key::CallerAccount => Some(req.caller_account),
            Key::SourceArn => None,
            Key::SecureTransport => Some(if req.secure_transport {
                "true"
            } else {
                "false"
            }),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Condition {
    /// `None` for an operator this evaluator does not know.
    op: Option<Op>,
    /// `StringNot…`, `ArnNot…`: true when no value matches (or the key is absent).
    negated: bool,
    if_exists: bool,
    /// `None` for a key this evaluator does not know.
    key: Option<Key>,
    values: Box<[Box<str>]>,
    /// A value holds a policy variable (`${…}`), which is not substituted.
    has_variable: bool,
}

/// The operator of a name, whether it is a negated one, whether it ends in `IfExists`.
fn parse_operator(name: &str) -> Option<(Op, bool, bool)> {
    let (base, if_exists) = match name.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (name, false),
    };
    let (op, negated) = match base {
        "StringEquals" => (Op::StringEquals, false),
        "StringNotEquals" => (Op::StringEquals, true),
        "StringEqualsIgnoreCase" => (Op::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Op::StringEqualsIgnoreCase, true),
        "StringLike" => (Op::StringLike, false),
        "StringNotLike" => (Op::StringLike, true),
        "ArnEquals" | "ArnLike" => (Op::ArnLike, false),
        "ArnNotEquals" | "ArnNotLike" => (Op::ArnLike, true),
        "Bool" => (Op::Bool, false),
        "Null" if !if_exists => (Op::Null, false),
        _ => return None,
    };
    Some((op, negated, if_exists))
}

fn parse_conditions(v: &Value) -> Result<Box<[Condition]>, String> {
    let Value::Object(blocks) = v else {
        return Err("Condition must be an object".into());
    };
    let mut conditions = Vec::new();
    for (operator, block) in blocks {
        let Value::Object(keys) = block else {
            return Err(format!("Condition {operator:?} must map keys to values"));
        };
        let parsed = parse_operator(operator);
        for (key, values) in keys {
            let values = condition_values(values)?;
            conditions.push(Condition {
                op: parsed.map(|p| p.0),
                negated: parsed.is_some_and(|p| p.1),
                if_exists: parsed.is_some_and(|p| p.2),
                key: Key::parse(key),
                has_variable: values.iter().any(|v| v.contains("${")),
                values,
            });
        }
    }
    Ok(conditions.into_boxed_slice())
}

fn condition_values(v: &Value) -> Result<Box<[Box<str>]>, String> {
    fn scalar(v: &Value) -> Result<Box<str>, String> {
        match v {
            Value::String(s) => Ok(s.as_str().into()),
            Value::Bool(b) => Ok(b.to_string().into()),
            Value::Number(n) => Ok(n.to_string().into()),
            _ => Err("a condition value must be a string, a boolean or a number".into()),
        }
    }
    match v {
        Value::Array(list) if !list.is_empty() => list.iter().map(scalar).collect(),
        Value::Array(_) => Err("an empty list of condition values".into()),
        _ => Ok(Box::new([scalar(v)?])),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

impl Op {
    /// Whether the request's `actual` value matches the policy's `value`.
    fn matches(self, value: &str, actual: &str) -> bool {
        match self {
            Op::StringEquals => value == actual,
            Op::StringEqualsIgnoreCase => value
                .chars()
                .flat_map(char::to_lowercase)
                .eq(actual.chars().flat_map(char::to_lowercase)),
            Op::StringLike => glob(value.as_bytes(), actual.as_bytes(), false),
            Op::ArnLike => arn_like(value, actual),
            Op::Bool => parse_bool(value).is_some_and(|v| parse_bool(actual) == Some(v)),
            // Decided on presence in `Condition::holds`.
            Op::Null => false,
        }
    }
}

impl Condition {
    fn holds(&self, req: &AccessRequest<'_>) -> Tri {
        let (Some(op), Some(key)) = (self.op, self.key) else {
            return Tri::Maybe;
        };
        if self.has_variable {
            return Tri::Maybe;
        }
        let actual = key.value(req);
        if op == Op::Null {
            let absent = actual.is_none();
            return Tri::from_bool(self.values.iter().any(|v| parse_bool(v) == Some(absent)));
        }
        let Some(actual) = actual else {
            return Tri::from_bool(self.if_exists || self.negated);
        };
        let any = self.values.iter().any(|v| op.matches(v, actual));
        Tri::from_bool(any != self.negated)
    }
}

/// `ArnLike`: the six `:`-separated parts of each, every part a case-sensitive pattern. A
/// pattern without any `:` (e.g. `"*"`) is matched against the whole value.
fn arn_like(pattern: &str, arn: &str) -> bool {
    if !pattern.contains(':') {
        return glob(pattern.as_bytes(), arn.as_bytes(), false);
    }
    let mut p = pattern.splitn(6, ':');
    let mut a = arn.splitn(6, ':');
    for _ in 0..6 {
        match (p.next(), a.next()) {
            (Some(pp), Some(ap)) if glob(pp.as_bytes(), ap.as_bytes(), false) => {}
            _ => return false,
        }
    }
    true
}

// ----- wildcard matching -----

/// The length of the UTF-8 character starting at `text[i]`.
fn char_len(text: &[u8], i: usize) -> usize {
    let n = match text[i] {
        b if b < 0x80 => 1,
        b if b >= 0xF0 => 4,
        b if b >= 0xE0 => 3,
        _ => 2,
    };
    n.min(text.len() - i)
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` one
/// character. With `fold`, the pattern is ASCII lower case and `text` is compared in ASCII
/// lower case. Linear backtracking over the last `*`; no allocation.
fn glob(pattern: &[u8], text: &[u8], fold: bool) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: the pattern after it, the text it reached.
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        if let Some(&c) = pattern.get(p) {
            match c {
                b'*' => {
                    p += 1;
                    resume = Some((p, t));
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += char_len(text, t);
                    continue;
                }
                _ => {
                    let x = if fold {
                        text[t].to_ascii_lowercase()
                    } else {
                        text[t]
                    };
                    if c == x {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
        }
        match resume {
            Some((rp, rt)) => {
                let next = rt + char_len(text, rt);
                resume = Some((rp, next));
                p = rp;
                t = next;
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:sqs:us-east-1:111111111111:q";
    const OWNER: &str = "111111111111";
    const CALLER: &str = "222222222222";

    /// Every SQS operation (SQS-REFERENCE §1).
    const ALL_ACTIONS: &[&str] = &[
        "AddPermission",
        "CancelMessageMoveTask",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
        "CreateQueue",
        "DeleteMessage",
        "DeleteMessageBatch",
        "DeleteQueue",
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListDeadLetterSourceQueues",
        "ListMessageMoveTasks",
        "ListQueueTags",
        "ListQueues",
        "PurgeQueue",
        "ReceiveMessage",
        "RemovePermission",
        "SendMessage",
        "SendMessageBatch",
        "SetQueueAttributes",
        "StartMessageMoveTask",
        "TagQueue",
        "UntagQueue",
    ];

    fn request<'a>(caller: &'a str, action: &'a str, arn: &'a str, tls: bool) -> AccessRequest<'a> {
        AccessRequest {
            caller_account: caller,
            action,
            queue_arn: arn,
            owner_account: OWNER,
            secure_transport: tls,
        }
    }

    /// Statements (the inside of the `Statement` array; `""` for no policy at all), caller,
    /// action, TLS, expected `is_allowed`.
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        bool,
        bool,
    );

    // Short statements reused by the rows.
    const ALLOW_ALL: &str = r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#;

    #[rustfmt::skip]
    const ROWS: &[Row] = &[
        // --- principal forms ---
        ("principal \"*\"",
         r#"{"Effect":"Allow","Principal":"*","Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, true),
        ("principal AWS *",
         r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, true),
        ("principal AWS [*]",
         r#"{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, true),
        ("principal bare account id",
         r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, true),
        ("principal account root ARN",
         r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, true),
        ("principal array, caller second",
         r#"{"Effect":"Allow","Principal":{"AWS":["333333333333","arn:aws:iam::222222222222:root"]},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, true),
        ("principal other account id",
         r#"{"Effect":"Allow","Principal":{"AWS":"333333333333"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("principal other account root",
         r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("Allow to a user of the caller's account grants the account nothing",
         r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:user/x"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("Allow to an assumed-role session grants nothing",
         r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::222222222222:assumed-role/r/s"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("Allow to a service grants an account nothing",
         r#"{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("Allow to a canonical user grants nothing",
         r#"{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("Allow to an AWS unique id grants nothing",
         r#"{"Effect":"Allow","Principal":{"AWS":"AIDAJQABLZS4A3QDU576Q"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("Deny to a user of the caller's account binds the account (fail closed)",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::222222222222:user/x"},"Action":"SQS:SendMessage","Resource":"*"}"#,
         CALLER, "SendMessage", true, false),
        ("Deny to a user of another account does not bind the caller",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::333333333333:user/x"},"Action":"SQS:SendMessage","Resource":"*"}"#,
         CALLER, "SendMessage", true, true),
        ("Deny to a service never binds an account",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:*","Resource":"*"}"#,
         CALLER, "SendMessage", true, true),
        ("Deny to a federated principal binds everyone (fail closed)",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sqs:*","Resource":"*"}"#,
         CALLER, "SendMessage", true, false),
        ("Allow NotPrincipal other account grants the caller",
         r#"{"Effect":"Allow","NotPrincipal":{"AWS":"333333333333"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, true),
        ("Allow NotPrincipal caller excludes the caller",
         r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("Allow NotPrincipal user of the caller's account: can't tell, grants nothing",
         r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::222222222222:user/x"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("Deny NotPrincipal caller leaves the caller out",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","NotPrincipal":{"AWS":"222222222222"},"Action":"sqs:*","Resource":"*"}"#,
         CALLER, "SendMessage", true, true),
        ("Deny NotPrincipal other account binds the caller",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","NotPrincipal":{"AWS":"333333333333"},"Action":"sqs:*","Resource":"*"}"#,
         CALLER, "SendMessage", true, false),
        // --- actions: case, wildcards, lists, other services ---
        ("action lower case",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:sendmessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, true),
        ("action upper case",
         r#"{"Effect":"Allow","Principal":"*","Action":"SQS:SENDMESSAGE","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, true),
        ("action sqs:*", ALLOW_ALL, CALLER, "ReceiveMessage", true, true),
        ("action *",
         r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "GetQueueAttributes", true, true),
        ("action prefix wildcard matches",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:Send*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, true),
        ("action prefix wildcard does not match another action",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:Send*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "ReceiveMessage", true, false),
        ("action leading wildcard",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*message","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "DeleteMessage", true, true),
        ("action leading wildcard, other suffix",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*Message","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "GetQueueAttributes", true, false),
        ("action ? wildcard",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:?eceiveMessag?","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "ReceiveMessage", true, true),
        ("action ? is exactly one character",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:?ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "ReceiveMessage", true, false),
        ("action array",
         r#"{"Effect":"Allow","Principal":"*","Action":["sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "DeleteMessage", true, true),
        ("action of another service",
         r#"{"Effect":"Allow","Principal":"*","Action":"sns:*","Resource":"*"}"#,
         CALLER, "SendMessage", true, false),
        ("action GetQueueUrl",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:GetQueueUrl","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "GetQueueUrl", true, true),
        // --- batch coverage ---
        ("SendMessage grant covers SendMessageBatch",
         r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessageBatch", true, true),
        ("DeleteMessage grant covers DeleteMessageBatch",
         r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:DeleteMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "DeleteMessageBatch", true, true),
        ("ChangeMessageVisibility grant covers its batch",
         r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sqs:changemessagevisibility","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "ChangeMessageVisibilityBatch", true, true),
        ("ReceiveMessage grant does not give SendMessage",
         r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("ReceiveMessage grant does not give SendMessageBatch",
         r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessageBatch", true, false),
        ("a batch-only grant does not give the single action",
         r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessageBatch","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("Deny of SendMessage also denies SendMessageBatch",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}"#,
         CALLER, "SendMessageBatch", true, false),
        // --- NotAction ---
        ("NotAction grants what is not listed",
         r#"{"Effect":"Allow","Principal":"*","NotAction":"sqs:ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, true),
        ("NotAction does not grant what is listed",
         r#"{"Effect":"Allow","Principal":"*","NotAction":"sqs:ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "ReceiveMessage", true, false),
        ("NotAction SendMessage leaves out its batch too",
         r#"{"Effect":"Allow","Principal":"*","NotAction":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessageBatch", true, false),
        // --- resources ---
        ("resource exact ARN", ALLOW_ALL, CALLER, "SendMessage", true, true),
        ("resource *",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}"#,
         CALLER, "SendMessage", true, true),
        ("resource region and name wildcards",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:*:111111111111:*"}"#,
         CALLER, "SendMessage", true, true),
        ("resource ? wildcard",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-?:111111111111:?"}"#,
         CALLER, "SendMessage", true, true),
        ("resource another queue",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:other"}"#,
         CALLER, "SendMessage", true, false),
        ("resource is case-sensitive",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:Q"}"#,
         CALLER, "SendMessage", true, false),
        ("resource wildcard of another account",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:*:333333333333:*"}"#,
         CALLER, "SendMessage", true, false),
        ("resource array",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":["arn:aws:sqs:us-east-1:111111111111:other","arn:aws:sqs:us-east-1:111111111111:q"]}"#,
         CALLER, "SendMessage", true, true),
        ("no Resource stands for the attached queue",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage"}"#,
         CALLER, "SendMessage", true, true),
        ("NotResource another queue",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","NotResource":"arn:aws:sqs:us-east-1:111111111111:other"}"#,
         CALLER, "SendMessage", true, true),
        ("NotResource this queue",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","NotResource":"arn:aws:sqs:*:*:q"}"#,
         CALLER, "SendMessage", true, false),
        ("resource with a policy variable grants nothing",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:*:${aws:PrincipalAccount}:q"}"#,
         CALLER, "SendMessage", true, false),
        // --- Deny over Allow ---
        ("Deny of the same grant",
         r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"},
            {"Effect":"Deny","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         CALLER, "SendMessage", true, false),
        ("Deny written differently (everyone, wildcard action)",
         r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"},
            {"Effect":"Deny","Principal":"*","Action":"sqs:Send*","Resource":"*"}"#,
         CALLER, "SendMessage", true, false),
        ("Deny of other actions leaves the grant",
         r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"},
            {"Effect":"Deny","Principal":"*","Action":"sqs:Send*","Resource":"*"}"#,
         CALLER, "ReceiveMessage", true, true),
        ("Deny before Allow",
         r#"{"Effect":"Deny","Principal":"*","Action":"sqs:ReceiveMessage","Resource":"*"},
            {"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"}"#,
         CALLER, "ReceiveMessage", true, false),
        ("Deny on another queue does not apply",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:111111111111:other"}"#,
         CALLER, "ReceiveMessage", true, true),
        // --- the owner ---
        ("owner without policy", "", OWNER, "SendMessage", true, true),
        ("owner without policy, owner-only action", "", OWNER, "DeleteQueue", true, true),
        ("other account without policy", "", CALLER, "SendMessage", true, false),
        ("owner needs no Allow",
         r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         OWNER, "ReceiveMessage", true, true),
        ("Deny to everyone binds the owner",
         r#"{"Effect":"Deny","Principal":"*","Action":"sqs:DeleteMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
         OWNER, "DeleteMessage", true, false),
        ("Deny naming the owner binds it, owner-only action too",
         r#"{"Effect":"Deny","Principal":{"AWS":"111111111111"},"Action":"sqs:SetQueueAttributes","Resource":"*"}"#,
         OWNER, "SetQueueAttributes", true, false),
        ("Deny of another account leaves the owner",
         r#"{"Effect":"Deny","Principal":{"AWS":"222222222222"},"Action":"sqs:*","Resource":"*"}"#,
         OWNER, "PurgeQueue", true, true),
        // --- owner-only actions, cross-account, even under sqs:* to everyone ---
        ("owner-only AddPermission", ALLOW_ALL, CALLER, "AddPermission", true, false),
        ("owner-only CancelMessageMoveTask", ALLOW_ALL, CALLER, "CancelMessageMoveTask", true, false),
        ("owner-only CreateQueue", ALLOW_ALL, CALLER, "CreateQueue", true, false),
        ("owner-only DeleteQueue", ALLOW_ALL, CALLER, "DeleteQueue", true, false),
        ("owner-only ListMessageMoveTasks", ALLOW_ALL, CALLER, "ListMessageMoveTasks", true, false),
        ("owner-only ListQueues", ALLOW_ALL, CALLER, "ListQueues", true, false),
        ("owner-only ListQueueTags", ALLOW_ALL, CALLER, "ListQueueTags", true, false),
        ("owner-only RemovePermission", ALLOW_ALL, CALLER, "RemovePermission", true, false),
        ("owner-only SetQueueAttributes", ALLOW_ALL, CALLER, "SetQueueAttributes", true, false),
        ("owner-only StartMessageMoveTask", ALLOW_ALL, CALLER, "StartMessageMoveTask", true, false),
        ("owner-only TagQueue", ALLOW_ALL, CALLER, "TagQueue", true, false),
        ("owner-only UntagQueue", ALLOW_ALL, CALLER, "UntagQueue", true, false),
        ("sqs:* does give PurgeQueue", ALLOW_ALL, CALLER, "PurgeQueue", true, true),
        ("sqs:* does give ListDeadLetterSourceQueues", ALLOW_ALL, CALLER, "ListDeadLetterSourceQueues", true, true),
        // --- conditions ---
        ("SourceAccount matches",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringEquals":{"aws:SourceAccount":"222222222222"}}}"#,
         CALLER, "SendMessage", true, true),
        ("SourceAccount mismatches",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringEquals":{"aws:SourceAccount":"333333333333"}}}"#,
         CALLER, "SendMessage", true, false),
        ("SourceAccount any of a list, key name in another case",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringEquals":{"AWS:SOURCEACCOUNT":["333333333333","222222222222"]}}}"#,
         CALLER, "SendMessage", true, true),
        ("StringNotEquals SourceAccount other",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringNotEquals":{"aws:SourceAccount":"333333333333"}}}"#,
         CALLER, "SendMessage", true, true),
        ("StringNotEquals SourceAccount list holding the caller",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringNotEquals":{"aws:SourceAccount":["333333333333","222222222222"]}}}"#,
         CALLER, "SendMessage", true, false),
        ("StringLike SourceAccount",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringLike":{"aws:SourceAccount":"2222*"}}}"#,
         CALLER, "SendMessage", true, true),
        ("PrincipalAccount matches",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringEquals":{"aws:PrincipalAccount":"222222222222"}}}"#,
         CALLER, "SendMessage", true, true),
        ("SecureTransport true over TLS",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
         CALLER, "SendMessage", true, true),
        ("SecureTransport true over plain HTTP",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
         CALLER, "SendMessage", false, false),
        ("Deny SecureTransport false (JSON boolean) over plain HTTP",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}"#,
         CALLER, "SendMessage", false, false),
        ("Deny SecureTransport false over TLS",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"False"}}}"#,
         CALLER, "SendMessage", true, true),
        ("Deny SecureTransport false binds the owner over plain HTTP",
         r#"{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
         OWNER, "ReceiveMessage", false, false),
        ("Allow with an unsupported key grants nothing",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
         CALLER, "SendMessage", true, false),
        ("Allow with an unsupported operator on a known key grants nothing",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"NumericEquals":{"aws:SourceAccount":"222222222222"}}}"#,
         CALLER, "SendMessage", true, false),
        ("Allow with a set qualifier grants nothing",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"ForAnyValue:StringEquals":{"aws:SourceAccount":"222222222222"}}}"#,
         CALLER, "SendMessage", true, false),
        ("Allow with a policy variable in a value grants nothing",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringEquals":{"aws:SourceAccount":"${aws:PrincipalAccount}"}}}"#,
         CALLER, "SendMessage", true, false),
        ("Deny with an unsupported key applies (fail closed)",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
         CALLER, "SendMessage", true, false),
        ("Deny with an unsupported key binds the owner too",
         r#"{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"StringEquals":{"aws:username":"x"}}}"#,
         OWNER, "SendMessage", true, false),
        ("Deny with an unsupported key and a false condition does not apply",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringEquals":{"aws:SourceAccount":"333333333333"}}}"#,
         CALLER, "SendMessage", true, true),
        ("every condition must hold",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"222222222222"},"Bool":{"aws:SecureTransport":"true"}}}"#,
         CALLER, "SendMessage", false, false),
        ("ArnEquals SourceArn never holds for a direct call",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:222222222222:topic"}}}"#,
         CALLER, "SendMessage", true, false),
        ("ArnLike SourceArn never holds for a direct call",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"ArnLike":{"aws:SourceArn":"*"}}}"#,
         CALLER, "SendMessage", true, false),
        ("Deny ArnNotEquals SourceArn refuses a direct call (absent key, negated operator)",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":"*","Condition":{"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:222222222222:topic"}}}"#,
         CALLER, "SendMessage", true, false),
        ("ArnEqualsIfExists SourceArn holds for a direct call",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"ArnEqualsIfExists":{"aws:SourceArn":"arn:aws:sns:us-east-1:222222222222:topic"}}}"#,
         CALLER, "SendMessage", true, true),
        ("Null SourceArn true holds for a direct call",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"Null":{"aws:SourceArn":"true"}}}"#,
         CALLER, "SendMessage", true, true),
        ("Null SourceAccount true does not hold",
         r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"Null":{"aws:SourceAccount":"true"}}}"#,
         CALLER, "SendMessage", true, false),
    ];

    fn document(statements: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
    }

    #[test]
    fn table() {
        assert!(ROWS.len() >= 40, "{} rows", ROWS.len());
        let mut failures = Vec::new();
        for &(name, statements, caller, action, tls, expected) in ROWS {
            let policy = if statements.is_empty() {
                None
            } else {
                let doc = document(statements);
                match QueuePolicy::parse(&doc) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        failures.push(format!("{name}: does not parse: {e}"));
                        continue;
                    }
                }
            };
            let got = is_allowed(policy.as_ref(), &request(caller, action, ARN, tls));
            if got != expected {
                failures.push(format!(
                    "{name}: {caller} {action}: got {got}, want {expected}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn table_covers_every_owner_only_action() {
        for a in OWNER_ONLY_ACTIONS {
            assert!(
                ROWS.iter().any(|r| r.2 == CALLER && r.3 == *a && !r.5),
                "{a} is never refused cross-account in the table"
            );
        }
    }

    #[test]
    fn decisions() {
        let p = QueuePolicy::parse(&document(ALLOW_ALL)).unwrap();
        let req = request(CALLER, "SendMessage", ARN, true);
        assert_eq!(p.evaluate(&req), Decision::Allow);
        let other = request(
            CALLER,
            "SendMessage",
            "arn:aws:sqs:us-east-1:111111111111:o",
            true,
        );
        assert_eq!(p.evaluate(&other), Decision::NotMatched);
        // `evaluate` leaves the owner-only rule to `is_allowed`.
        assert_eq!(
            p.evaluate(&request(CALLER, "DeleteQueue", ARN, true)),
            Decision::Allow
        );
        let deny = QueuePolicy::parse(&document(
            r#"{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}"#,
        ))
        .unwrap();
        assert_eq!(deny.evaluate(&req), Decision::Deny);
        let empty = QueuePolicy::parse(r#"{"Statement":[]}"#).unwrap();
        assert_eq!(empty.evaluate(&req), Decision::NotMatched);
        assert_eq!(QueuePolicy::default().evaluate(&req), Decision::NotMatched);
    }

    #[test]
    fn malformed_documents_are_refused() {
        let s = r#""Principal":"*","Action":"sqs:SendMessage""#;
        let bad: Vec<(&str, String)> = vec![
            ("not JSON", "{".into()),
            ("empty", String::new()),
            ("an array", "[]".into()),
            ("a string", r#""policy""#.into()),
            ("no Statement", r#"{"Version":"2012-10-17"}"#.into()),
            ("Statement a string", r#"{"Statement":"x"}"#.into()),
            ("Statement null", r#"{"Statement":null}"#.into()),
            ("a statement not an object", r#"{"Statement":[1]}"#.into()),
            ("Effect missing", format!(r#"{{"Statement":{{{s}}}}}"#)),
            ("Effect lower case", format!(r#"{{"Statement":{{"Effect":"allow",{s}}}}}"#)),
            ("Effect not a string", format!(r#"{{"Statement":{{"Effect":true,{s}}}}}"#)),
            ("Effect unknown", format!(r#"{{"Statement":{{"Effect":"Audit",{s}}}}}"#)),
            ("no Principal", r#"{"Statement":{"Effect":"Allow","Action":"sqs:*"}}"#.into()),
            ("Principal and NotPrincipal", r#"{"Statement":{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"sqs:*"}}"#.into()),
            ("Principal a number", r#"{"Statement":{"Effect":"Allow","Principal":5,"Action":"sqs:*"}}"#.into()),
            ("Principal a bare account string", r#"{"Statement":{"Effect":"Allow","Principal":"222222222222","Action":"sqs:*"}}"#.into()),
            ("Principal AWS a number", r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":222222222222},"Action":"sqs:*"}}"#.into()),
            ("Principal AWS an empty list", r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":[]},"Action":"sqs:*"}}"#.into()),
            ("Principal AWS empty string", r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":""},"Action":"sqs:*"}}"#.into()),
            ("Principal empty object", r#"{"Statement":{"Effect":"Allow","Principal":{},"Action":"sqs:*"}}"#.into()),
            ("Principal unknown type", r#"{"Statement":{"Effect":"Allow","Principal":{"User":"x"},"Action":"sqs:*"}}"#.into()),
            ("no Action", r#"{"Statement":{"Effect":"Allow","Principal":"*"}}"#.into()),
            ("Action and NotAction", r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sqs:*","NotAction":"sqs:*"}}"#.into()),
            ("Action a number", r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":1}}"#.into()),
            ("Action list holding a number", r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":["sqs:SendMessage",1]}}"#.into()),
            ("Action without service prefix", r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"SendMessage"}}"#.into()),
            ("Action with no name", r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sqs:"}}"#.into()),
            ("Resource a number", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Resource":1}}}}"#)),
            ("Resource and NotResource", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Resource":"*","NotResource":"*"}}}}"#)),
            ("Condition a string", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Condition":"x"}}}}"#)),
            ("Condition block a string", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Condition":{{"StringEquals":"x"}}}}}}"#)),
            ("Condition value null", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Condition":{{"StringEquals":{{"aws:SourceAccount":null}}}}}}}}"#)),
            ("Condition value empty list", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Condition":{{"StringEquals":{{"aws:SourceAccount":[]}}}}}}}}"#)),
            ("misspelt statement member", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Conditon":{{}}}}}}"#)),
            ("unknown top-level member", format!(r#"{{"Statment":[],"Statement":{{"Effect":"Allow",{s}}}}}"#)),
            ("unknown Version", format!(r#"{{"Version":"2020-01-01","Statement":{{"Effect":"Allow",{s}}}}}"#)),
            ("Id a number", format!(r#"{{"Id":1,"Statement":{{"Effect":"Allow",{s}}}}}"#)),
            ("Sid a number", format!(r#"{{"Statement":{{"Sid":1,"Effect":"Allow",{s}}}}}"#)),
            ("second statement bad", format!(r#"{{"Statement":[{{"Effect":"Allow",{s}}},{{"Effect":"Allow"}}]}}"#)),
        ];
        for (name, doc) in &bad {
            assert!(QueuePolicy::parse(doc).is_err(), "{name}: accepted {doc}");
        }
    }

    #[test]
    fn common_shapes_are_accepted() {
        let good = [
            // A single statement object, no Version, Sid, Id.
            r#"{"Statement":{"Sid":"1","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}}"#,
            // Version 2012-10-17 with an Id and a statement list.
            r#"{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"a","Effect":"Allow","Principal":{"AWS":["222222222222","arn:aws:iam::333333333333:root"]},"Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"arn:aws:sqs:us-east-1:111111111111:q"}]}"#,
            // The SNS-subscription shape from the SQS documentation.
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:111111111111:t"}}}]}"#,
            // Mixed principal types, an empty statement list.
            r#"{"Statement":{"Effect":"Deny","Principal":{"AWS":"*","Service":["sns.amazonaws.com"]},"NotAction":"sqs:ReceiveMessage","NotResource":"arn:aws:sqs:*:*:other"}}"#,
            r#"{"Version":"2008-10-17","Statement":[]}"#,
        ];
        for doc in good {
            if let Err(e) = QueuePolicy::parse(doc) {
                panic!("{doc}: {e}");
            }
        }
    }

    /// One AddPermission call: label, accounts, actions.
    type Grant = (
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );

    /// The document `Engine::add_permission` writes (SQS-REFERENCE §2), built the same way.
    fn add_permission_document(grants: &[Grant]) -> String {
        fn one_or_many(v: Vec<String>) -> serde_json::Value {
            if v.len() == 1 {
                serde_json::Value::String(v[0].clone())
            } else {
                serde_json::Value::from(v)
            }
        }
        let statements: Vec<serde_json::Value> = grants
            .iter()
            .map(|(label, accounts, actions)| {
                let principals = one_or_many(
                    accounts
                        .iter()
                        .map(|a| format!("arn:aws:iam::{a}:root"))
                        .collect(),
                );
                let actions = one_or_many(actions.iter().map(|a| format!("SQS:{a}")).collect());
                serde_json::json!({
                    "Sid": label, "Effect": "Allow", "Principal": {"AWS": principals},
                    "Action": actions, "Resource": ARN,
                })
            })
            .collect();
        serde_json::json!({
            "Version": "2008-10-17",
            "Id": format!("{ARN}/SQSDefaultPolicy"),
            "Statement": statements,
        })
        .to_string()
    }

    #[test]
    fn add_permission_documents_grant_exactly_what_they_say() {
        // The verified shape, byte for byte as SQS-REFERENCE §2 gives it.
        let literal = r#"{"Version":"2008-10-17","Id":"arn:aws:sqs:us-east-1:111111111111:q/SQSDefaultPolicy","Statement":[{"Sid":"L","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}]}"#;
        let literal_grants: &[Grant] = &[("L", &["222222222222"], &["SendMessage"])];
        let specs: &[&[Grant]] = &[
            &[("L", &["222222222222"], &["SendMessage"])],
            &[(
                "Many",
                &["222222222222", "333333333333"],
                &["ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility"],
            )],
            &[
                ("A", &["333333333333"], &["GetQueueAttributes"]),
                ("B", &["222222222222"], &["GetQueueUrl", "PurgeQueue"]),
            ],
            &[("All", &["222222222222"], &["*"])],
        ];
        let all = specs
            .iter()
            .map(|spec| (add_permission_document(spec), *spec))
            .chain(std::iter::once((literal.to_string(), literal_grants)));
        for (doc, spec) in all {
            let policy = QueuePolicy::parse(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
            for caller in [CALLER, "333333333333", "444444444444"] {
                for &action in ALL_ACTIONS {
                    let single = single_of_batch(action);
                    let granted = spec.iter().any(|(_, accounts, actions)| {
                        accounts.contains(&caller)
                            && actions
                                .iter()
                                .any(|a| *a == "*" || *a == action || Some(*a) == single)
                    });
                    let want = granted && !OWNER_ONLY_ACTIONS.contains(&action);
                    let got = is_allowed(Some(&policy), &request(caller, action, ARN, true));
                    assert_eq!(got, want, "{doc}: {caller} {action}");
                    let elsewhere = request(
                        caller,
                        action,
                        "arn:aws:sqs:us-east-1:111111111111:q2",
                        true,
                    );
                    assert!(
                        !is_allowed(Some(&policy), &elsewhere),
                        "{doc}: {caller} {action} on q2"
                    );
                }
                // The owner keeps everything.
                for &action in ALL_ACTIONS {
                    assert!(is_allowed(
                        Some(&policy),
                        &request(OWNER, action, ARN, false)
                    ));
                }
            }
        }
    }

    #[test]
    fn wildcard_matching() {
        let m = |p: &str, t: &str| glob(p.as_bytes(), t.as_bytes(), false);
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("a*b*c", "aXbYbc"));
        assert!(!m("a*b*c", "aXbYb"));
        assert!(m("**", "abc"));
        assert!(m("a?c", "abc"));
        assert!(m("a?c", "aéc"), "? is one character, not one byte");
        assert!(!m("a??c", "aéc"));
        assert!(m("*é", "xxé"));
        assert!(!m("A", "a"));
        assert!(glob(b"sqs*", b"SQSX", true));
        assert!(arn_like("arn:aws:sns:*:*:t", "arn:aws:sns:us-east-1:1:t"));
        assert!(!arn_like("arn:aws:sns:*:*:t", "arn:aws:sns:us-east-1:1:t2"));
        assert!(arn_like("*", "arn:aws:sns:us-east-1:1:t"));
        assert!(
            !arn_like("arn:*", "arn:aws:sns:us-east-1:1:t"),
            "* stays within its part"
        );
        assert!(!arn_like("arn:aws:sns:*:*:*", "not-an-arn"));
    }
}
