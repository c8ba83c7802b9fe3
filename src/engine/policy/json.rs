//! Every JSON document the engine reads or writes, and the engine's one use of serde_json:
//! queue policies (parsed into the typed statements of [`super::QueuePolicy`]), `RedrivePolicy`
//! and `RedriveAllowPolicy` values, the edits AddPermission and RemovePermission make to a
//! policy, and move-task handles. The rest of the engine sees typed values only.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::condition::Condition;
use super::{
    ActionPattern, Actions, Effect, PrincipalEntry, Principals, QueuePolicy, RedriveAllowPolicy,
    RedrivePolicy, ResourcePattern, Resources, Statement,
};

// ----- the `Policy` attribute -----

/// Largest policy document, in bytes.
pub const MAX_POLICY_BYTES: usize = 8192;
/// Most statements in a policy document.
pub const MAX_STATEMENTS: usize = 20;

/// A `Policy` value that is refused (SQS gives no reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidPolicyDocument;

/// Checks a `Policy` value: at most 8,192 bytes, JSON with a `Statement` object or
/// array of at most 20, and a document [`QueuePolicy::parse`] accepts. The
/// empty value (which removes the policy) is the caller's to handle; here it is refused.
pub fn check_policy_document(value: &str) -> Result<(), InvalidPolicyDocument> {
    if value.len() > MAX_POLICY_BYTES {
        return Err(InvalidPolicyDocument);
    }
    let doc: Value = serde_json::from_str(value).map_err(|_| InvalidPolicyDocument)?;
    let count = match doc.get("Statement") {
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(_)) => 1,
        _ => return Err(InvalidPolicyDocument),
    };
    if count > MAX_STATEMENTS {
        return Err(InvalidPolicyDocument);
    }
    QueuePolicy::parse(value).map_err(|_| InvalidPolicyDocument)?;
    Ok(())
}

/// Why AddPermission or RemovePermission refuses an edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermissionError {
    /// AddPermission: a statement already has this `Sid`.
    LabelExists,
    /// AddPermission: the policy already has 20 statements.
    TooManyStatements,
    /// RemovePermission: no policy, an unparsable one, or no statement with this `Sid`.
    LabelNotFound,
}

/// The policy after AddPermission grants `actions` (names without `SQS:`) on `queue_arn` to
/// `accounts` (12-digit ids) under the statement id `label`. `existing` is the queue's policy:
/// `None` starts from the default document, an unparsable one from `{}`. The arguments are
/// assumed validated by the caller.
pub fn add_permission(
    existing: Option<&str>,
    queue_arn: &str,
    label: &str,
    accounts: &[String],
    actions: &[String],
) -> Result<String, PermissionError> {
    let mut policy: Value = match existing {
        Some(p) => serde_json::from_str(p).unwrap_or_else(|_| json!({})),
        None => json!({
            "Version": "2008-10-17",
            "Id": format!("{queue_arn}/SQSDefaultPolicy"),
            "Statement": [],
        }),
    };
    let statements = statements_mut(&mut policy);
    if statements.iter().any(|s| has_sid(s, label)) {
        return Err(PermissionError::LabelExists);
    }
    if statements.len() >= MAX_STATEMENTS {
        return Err(PermissionError::TooManyStatements);
    }
    let principals = one_or_many(
        accounts
            .iter()
            .map(|a| format!("arn:aws:iam::{a}:root"))
            .collect(),
    );
    let actions = one_or_many(actions.iter().map(|a| format!("SQS:{a}")).collect());
    statements.push(json!({
        "Sid": label,
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        "Action": actions,
        "Resource": queue_arn,
    }));
    Ok(policy.to_string())
}

/// The policy after RemovePermission drops the statements with `Sid` `label`; `Ok(None)` when
/// no statement remains (the queue then has no policy).
pub fn remove_permission(
    existing: Option<&str>,
    label: &str,
) -> Result<Option<String>, PermissionError> {
    let mut policy: Value = existing
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or(PermissionError::LabelNotFound)?;
    let statements = statements_mut(&mut policy);
    let before = statements.len();
    statements.retain(|s| !has_sid(s, label));
    if statements.len() == before {
        return Err(PermissionError::LabelNotFound);
    }
    Ok(if statements.is_empty() {
        None
    } else {
        Some(policy.to_string())
    })
}

fn has_sid(statement: &Value, label: &str) -> bool {
    statement.get("Sid").and_then(Value::as_str) == Some(label)
}

/// A string for one value, an array for several.
fn one_or_many(v: Vec<String>) -> Value {
    if v.len() == 1 {
        Value::String(v.into_iter().next().unwrap_or_default())
    } else {
        Value::from(v)
    }
}

/// The document's `Statement` as an array: a non-object document becomes `{}`, a missing or
/// `null` `Statement` `[]`, a single statement a one-element array.
fn statements_mut(policy: &mut Value) -> &mut Vec<Value> {
    if !policy.is_object() {
        *policy = json!({});
    }
    let obj = policy.as_object_mut().expect("object");
    let entry = obj.entry("Statement").or_insert_with(|| json!([]));
    if !entry.is_array() {
        let single = entry.take();
        *entry = Value::Array(if single.is_null() {
            vec![]
        } else {
            vec![single]
        });
    }
    entry.as_array_mut().expect("array")
}

// ----- move-task handles: base64 of `{"sourceArn":…,"taskId":…}` -----

/// The handle of the task `task_id` moving from `source_arn`.
pub fn encode_task_handle(task_id: &str, source_arn: &str) -> String {
    STANDARD.encode(serde_json::json!({"taskId": task_id, "sourceArn": source_arn}).to_string())
}

/// `(task id, source ARN)` of a handle; `None` when it is not one.
pub fn decode_task_handle(handle: &str) -> Option<(String, String)> {
    let decoded = STANDARD.decode(handle).ok()?;
    let doc: Value = serde_json::from_slice(&decoded).ok()?;
    Some((
        doc["taskId"].as_str()?.to_string(),
        doc["sourceArn"].as_str()?.to_string(),
    ))
}

// ----- RedrivePolicy and RedriveAllowPolicy -----

const NOT_A_MAP: &str = "Redrive policy is not a valid JSON map.";
const NO_COUNT: &str = "Redrive policy does not contain mandatory attribute: maxReceiveCount.";
const NO_TARGET: &str = "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.";
const BAD_COUNT: &str = "Invalid value for maxReceiveCount: must be an integer between 1 and 1000.";

const ALLOW_INVALID_JSON: &str = "Invalid JSON.";
const ALLOW_NO_PERMISSION: &str =
    "Redrive allow policy does not contain mandatory attribute: redrivePermission.";
const ALLOW_BAD_PERMISSION: &str = "redrivePermission must be one of allowAll, denyAll, byQueue.";
const ALLOW_BAD_ARNS: &str = "sourceQueueArns must be a list of queue ARNs.";
const ALLOW_BY_QUEUE_COUNT: &str = "byQueue requires between 1 and 10 sourceQueueArns.";
const ALLOW_ARNS_NOT_BY_QUEUE: &str =
    "sourceQueueArns is allowed only when redrivePermission is byQueue.";

impl RedrivePolicy {
    /// Checks a non-empty `RedrivePolicy` value; `Err` with the reason AWS gives. Checked in
    /// this order: a JSON object; `maxReceiveCount` present; `deadLetterTargetArn` a string;
    /// `maxReceiveCount` an integer (number or numeric string) in 1..=1000; no other key (the
    /// first unknown one in sorted order is named).
    pub fn parse(value: &str) -> Result<RedrivePolicy, String> {
        let doc: Value = serde_json::from_str(value).map_err(|_| NOT_A_MAP)?;
        let obj = doc.as_object().ok_or(NOT_A_MAP)?;
        // AWS names a missing maxReceiveCount first: `{}` is refused for it.
        let count = match obj.get("maxReceiveCount") {
            None => return Err(NO_COUNT.into()),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse::<u64>().ok(),
            Some(_) => None,
        };
        let arn = obj
            .get("deadLetterTargetArn")
            .and_then(Value::as_str)
            .ok_or(NO_TARGET)?;
        let count = count.filter(|c| (1..=1000).contains(c)).ok_or(BAD_COUNT)?;
        if let Some(other) = obj
            .keys()
            .find(|k| *k != "deadLetterTargetArn" && *k != "maxReceiveCount")
        {
            return Err(format!("Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount]. Found: {other}."));
        }
        Ok(RedrivePolicy {
            raw: value.to_string(),
            dead_letter_target_arn: arn.to_string(),
            // At most 1000 (checked above).
            max_receive_count: count as u32,
        })
    }
}

/// The `deadLetterTargetArn` a `RedrivePolicy` value names, if it is a JSON object with that
/// string member (nothing else is checked), so that the target can be resolved before any
/// queue lock is taken.
pub fn dead_letter_target_arn(value: &str) -> Option<String> {
    let doc: Value = serde_json::from_str(value).ok()?;
    Some(doc.get("deadLetterTargetArn")?.as_str()?.to_string())
}

impl RedriveAllowPolicy {
    /// Checks a non-empty `RedriveAllowPolicy` value; `Err` with the reason AWS gives.
    pub fn parse(value: &str) -> Result<RedriveAllowPolicy, &'static str> {
        let doc: Value = serde_json::from_str(value).map_err(|_| ALLOW_INVALID_JSON)?;
        let obj = doc.as_object().ok_or(ALLOW_INVALID_JSON)?;
        let permission = obj
            .get("redrivePermission")
            .and_then(Value::as_str)
            .ok_or(ALLOW_NO_PERMISSION)?;
        if !matches!(permission, "allowAll" | "denyAll" | "byQueue") {
            return Err(ALLOW_BAD_PERMISSION);
        }
        let arns: Vec<String> = match obj.get("sourceQueueArns") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or(ALLOW_BAD_ARNS)?,
            Some(_) => return Err(ALLOW_BAD_ARNS),
        };
        match permission {
            "byQueue" if arns.is_empty() || arns.len() > 10 => return Err(ALLOW_BY_QUEUE_COUNT),
            "allowAll" | "denyAll" if obj.contains_key("sourceQueueArns") => {
                return Err(ALLOW_ARNS_NOT_BY_QUEUE)
            }
            _ => {}
        }
        Ok(RedriveAllowPolicy {
            raw: value.to_string(),
            permission: permission.to_string(),
            source_queue_arns: arns,
        })
    }
}

// ----- queue policies -----

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

fn parse_conditions(v: &Value) -> Result<Box<[Condition]>, String> {
    let Value::Object(blocks) = v else {
        return Err("Condition must be an object".into());
    };
    let mut conditions = Vec::new();
    for (operator, block) in blocks {
        let Value::Object(keys) = block else {
            return Err(format!("Condition {operator:?} must map keys to values"));
        };
        for (key, values) in keys {
            conditions.push(Condition::new(operator, key, condition_values(values)?));
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

#[cfg(test)]
mod document_tests {
    use super::*;

    const ARN: &str = "arn:aws:sqs:us-east-1:000000000000:q";

    fn statement(sid: &str) -> String {
        format!(r#"{{"Sid":"{sid}","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage"}}"#)
    }

    fn statements(n: usize) -> String {
        let list: Vec<String> = (0..n).map(|i| statement(&i.to_string())).collect();
        format!(r#"{{"Statement":[{}]}}"#, list.join(","))
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn policy_documents() {
        let cases: Vec<(String, bool)> = vec![
            (String::new(), false),
            ("x".into(), false),
            ("{}".into(), false),
            (r#"{"Statement":5}"#.into(), false),
            (r#"{"Statement":[]}"#.into(), true),
            (format!(r#"{{"Statement":{}}}"#, statement("a")), true),
            (statements(20), true),
            (statements(21), false),
            (r#"{"Statement":[{"Effect":"Maybe"}]}"#.into(), false),
            (
                format!(r#"{{"Id":"{}","Statement":[]}}"#, "a".repeat(8168)),
                true,
            ),
            (
                format!(r#"{{"Id":"{}","Statement":[]}}"#, "a".repeat(8169)),
                false,
            ),
        ];
        for (value, ok) in cases {
            let expected = if ok {
                Ok(())
            } else {
                Err(InvalidPolicyDocument)
            };
            assert_eq!(
                check_policy_document(&value),
                expected,
                "{} bytes: {:.60}",
                value.len(),
                value
            );
        }
    }

    const TWO: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage"},{"Sid":"b","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage"}]}"#;
    const OBJECT_STATEMENT: &str = r#"{"Id":"x","Statement":{"Sid":"a","Effect":"Allow"}}"#;

    #[test]
    fn add_permission_documents() {
        let one = (strings(&["111111111111"]), strings(&["SendMessage"]));
        let many = (
            strings(&["111111111111", "222222222222"]),
            strings(&["SendMessage", "ReceiveMessage"]),
        );
        let cases = [
            (
                None,
                &one,
                r#"{"Id":"arn:aws:sqs:us-east-1:000000000000:q/SQSDefaultPolicy","Statement":[{"Action":"SQS:SendMessage","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Resource":"arn:aws:sqs:us-east-1:000000000000:q","Sid":"new"}],"Version":"2008-10-17"}"#,
            ),
            (
                None,
                &many,
                r#"{"Id":"arn:aws:sqs:us-east-1:000000000000:q/SQSDefaultPolicy","Statement":[{"Action":["SQS:SendMessage","SQS:ReceiveMessage"],"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::222222222222:root"]},"Resource":"arn:aws:sqs:us-east-1:000000000000:q","Sid":"new"}],"Version":"2008-10-17"}"#,
            ),
            (
                Some(TWO),
                &one,
                r#"{"Statement":[{"Action":"sqs:SendMessage","Effect":"Allow","Principal":"*","Sid":"a"},{"Action":"sqs:SendMessage","Effect":"Allow","Principal":"*","Sid":"b"},{"Action":"SQS:SendMessage","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Resource":"arn:aws:sqs:us-east-1:000000000000:q","Sid":"new"}],"Version":"2012-10-17"}"#,
            ),
            (
                Some(OBJECT_STATEMENT),
                &many,
                r#"{"Id":"x","Statement":[{"Effect":"Allow","Sid":"a"},{"Action":["SQS:SendMessage","SQS:ReceiveMessage"],"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::222222222222:root"]},"Resource":"arn:aws:sqs:us-east-1:000000000000:q","Sid":"new"}]}"#,
            ),
            (
                Some("not json"),
                &one,
                r#"{"Statement":[{"Action":"SQS:SendMessage","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Resource":"arn:aws:sqs:us-east-1:000000000000:q","Sid":"new"}]}"#,
            ),
            (
                Some("[1]"),
                &one,
                r#"{"Statement":[{"Action":"SQS:SendMessage","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Resource":"arn:aws:sqs:us-east-1:000000000000:q","Sid":"new"}]}"#,
            ),
            (
                Some(r#"{"Statement":null}"#),
                &one,
                r#"{"Statement":[{"Action":"SQS:SendMessage","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Resource":"arn:aws:sqs:us-east-1:000000000000:q","Sid":"new"}]}"#,
            ),
        ];
        for (existing, (accounts, actions), expected) in cases {
            assert_eq!(
                add_permission(existing, ARN, "new", accounts, actions).as_deref(),
                Ok(expected),
                "{existing:?}"
            );
        }
    }

    #[test]
    fn add_permission_refusals() {
        let accounts = strings(&["111111111111"]);
        let actions = strings(&["SendMessage"]);
        let add = |existing: &str, label: &str| {
            add_permission(Some(existing), ARN, label, &accounts, &actions)
        };
        assert_eq!(add(TWO, "a"), Err(PermissionError::LabelExists));
        assert_eq!(
            add(OBJECT_STATEMENT, "a"),
            Err(PermissionError::LabelExists)
        );
        let twenty = statements(20);
        assert_eq!(add(&twenty, "new"), Err(PermissionError::TooManyStatements));
        assert_eq!(add(&twenty, "3"), Err(PermissionError::LabelExists));
        assert!(add(&statements(19), "new").is_ok());
    }

    #[test]
    fn remove_permission_documents() {
        let cases = [
            (None, "a", Err(PermissionError::LabelNotFound)),
            (Some("not json"), "a", Err(PermissionError::LabelNotFound)),
            (Some("[1]"), "a", Err(PermissionError::LabelNotFound)),
            (
                Some(r#"{"Statement":null}"#),
                "a",
                Err(PermissionError::LabelNotFound),
            ),
            (Some(TWO), "c", Err(PermissionError::LabelNotFound)),
            (
                Some(OBJECT_STATEMENT),
                "b",
                Err(PermissionError::LabelNotFound),
            ),
            (
                Some(TWO),
                "a",
                Ok(Some(
                    r#"{"Statement":[{"Action":"sqs:SendMessage","Effect":"Allow","Principal":"*","Sid":"b"}],"Version":"2012-10-17"}"#,
                )),
            ),
            (Some(OBJECT_STATEMENT), "a", Ok(None)),
            (
                Some(r#"{"Statement":[{"Sid":"a"},{"Sid":"a"}]}"#),
                "a",
                Ok(None),
            ),
        ];
        for (existing, label, expected) in cases {
            assert_eq!(
                remove_permission(existing, label),
                expected.map(|d| d.map(str::to_string)),
                "{existing:?} {label}"
            );
        }
    }

    #[test]
    fn add_then_remove_leaves_no_policy() {
        let doc = add_permission(
            None,
            ARN,
            "l",
            &strings(&["111111111111"]),
            &strings(&["*"]),
        )
        .unwrap();
        assert_eq!(check_policy_document(&doc), Ok(()));
        assert_eq!(remove_permission(Some(&doc), "l"), Ok(None));
    }
}

#[cfg(test)]
mod task_handle_tests {
    use super::*;

    const ARN: &str = "arn:aws:sqs:us-east-1:000000000000:q";
    const HANDLE: &str = "eyJzb3VyY2VBcm4iOiJhcm46YXdzOnNxczp1cy1lYXN0LTE6MDAwMDAwMDAwMDAwOnEiLCJ0YXNrSWQiOiJ0LTEifQ==";

    #[test]
    fn encodes_as_before() {
        assert_eq!(encode_task_handle("t-1", ARN), HANDLE);
    }

    #[test]
    fn decodes_handles_only() {
        let cases: Vec<(&str, Option<(&str, &str)>)> = vec![
            (HANDLE, Some(("t-1", ARN))),
            ("!!", None),
            // `{}`
            ("e30=", None),
            // `{"taskId":1,"sourceArn":"a"}`
            ("eyJ0YXNrSWQiOjEsInNvdXJjZUFybiI6ImEifQ==", None),
            // `{"taskId":"x","sourceArn":"a","more":1}`
            (
                "eyJ0YXNrSWQiOiJ4Iiwic291cmNlQXJuIjoiYSIsIm1vcmUiOjF9",
                Some(("x", "a")),
            ),
        ];
        for (handle, expected) in cases {
            let expected = expected.map(|(t, s)| (t.to_string(), s.to_string()));
            assert_eq!(decode_task_handle(handle), expected, "{handle}");
        }
    }
}
