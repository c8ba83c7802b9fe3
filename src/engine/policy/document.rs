//! The `Policy` attribute as a document: the checks of a value set on a queue, and the edits
//! AddPermission and RemovePermission make to it.

use serde_json::{json, Value};

use super::QueuePolicy;

/// Largest policy document, in bytes.
pub const MAX_POLICY_BYTES: usize = 8192;
/// Most statements in a policy document.
pub const MAX_STATEMENTS: usize = 20;

/// A `Policy` value that is refused (SQS gives no reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidPolicyDocument;

/// Checks a `Policy` value: at most [`MAX_POLICY_BYTES`], JSON with a `Statement` object or
/// array of at most [`MAX_STATEMENTS`], and a document [`QueuePolicy::parse`] accepts. The
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
    /// AddPermission: the policy already has [`MAX_STATEMENTS`] statements.
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

#[cfg(test)]
mod tests {
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
        v.iter().map(|s| s.to_string()).collect()
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
