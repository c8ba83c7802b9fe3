//! `RedrivePolicy` and `RedriveAllowPolicy`
//! (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html>): the stored forms and the JSON
//! checks of their values. An empty value (which removes the attribute) is the caller's to
//! handle before calling a parser, as are the lookups of the dead-letter target (that it
//! exists, is of the source's type and allows the source by its `RedriveAllowPolicy`).

use serde::{Deserialize, Serialize};

/// A queue's `RedrivePolicy`, as stored in its record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedrivePolicy {
    /// The JSON string as GetQueueAttributes returns it.
    pub raw: String,
    pub dead_letter_target_arn: String,
    pub max_receive_count: u32,
}

/// A queue's `RedriveAllowPolicy`, as stored in its record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedriveAllowPolicy {
    pub raw: String,
    /// `allowAll`, `denyAll` or `byQueue`.
    pub permission: String,
    pub source_queue_arns: Vec<String>,
}

impl RedriveAllowPolicy {
    /// Whether a queue with `source_arn` may name this queue as its dead-letter queue.
    pub fn allows(&self, source_arn: &str) -> bool {
        match self.permission.as_str() {
            "denyAll" => false,
            "byQueue" => self.source_queue_arns.iter().any(|a| a == source_arn),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::json::dead_letter_target_arn;
    use super::*;

    const DLQ: &str = "arn:aws:sqs:us-east-1:000000000000:dlq";

    const NOT_A_MAP_TEXT: &str = "Redrive policy is not a valid JSON map.";
    const NO_COUNT_TEXT: &str =
        "Redrive policy does not contain mandatory attribute: maxReceiveCount.";
    const NO_TARGET_TEXT: &str =
        "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.";
    const BAD_COUNT_TEXT: &str =
        "Invalid value for maxReceiveCount: must be an integer between 1 and 1000.";

    fn with_count(count: &str) -> String {
        format!(r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":{count}}}"#)
    }

    #[test]
    fn redrive_policy_reasons_in_order() {
        let cases: Vec<(String, &str)> = vec![
            ("not json".into(), NOT_A_MAP_TEXT),
            ("[1]".into(), NOT_A_MAP_TEXT),
            (r#""s""#.into(), NOT_A_MAP_TEXT),
            ("{}".into(), NO_COUNT_TEXT),
            (format!(r#"{{"deadLetterTargetArn":"{DLQ}"}}"#), NO_COUNT_TEXT),
            (r#"{"maxReceiveCount":3}"#.into(), NO_TARGET_TEXT),
            (
                r#"{"maxReceiveCount":3,"deadLetterTargetArn":5}"#.into(),
                NO_TARGET_TEXT,
            ),
            (r#"{"maxReceiveCount":null}"#.into(), NO_TARGET_TEXT),
            (with_count("0"), BAD_COUNT_TEXT),
            (with_count("1001"), BAD_COUNT_TEXT),
            (with_count(r#""abc""#), BAD_COUNT_TEXT),
            (with_count(r#""0""#), BAD_COUNT_TEXT),
            (with_count("3.0"), BAD_COUNT_TEXT),
            (with_count("-1"), BAD_COUNT_TEXT),
            (with_count("true"), BAD_COUNT_TEXT),
            (with_count("4294967297"), BAD_COUNT_TEXT),
            (
                format!(r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":0,"extra":2}}"#),
                BAD_COUNT_TEXT,
            ),
            (
                format!(
                    r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":3,"zeta":1,"extra":2}}"#
                ),
                "Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount]. Found: extra.",
            ),
        ];
        for (value, reason) in cases {
            assert_eq!(
                RedrivePolicy::parse(&value),
                Err(reason.to_string()),
                "{value}"
            );
        }
    }

    #[test]
    fn redrive_policy_accepts_counts_as_numbers_and_numeric_strings() {
        for (count, expected) in [("1", 1), ("1000", 1000), (r#""3""#, 3)] {
            let value = with_count(count);
            assert_eq!(
                RedrivePolicy::parse(&value),
                Ok(RedrivePolicy {
                    raw: value.clone(),
                    dead_letter_target_arn: DLQ.into(),
                    max_receive_count: expected,
                })
            );
        }
    }

    #[test]
    fn redrive_policy_serde_form_is_unchanged() {
        let p = RedrivePolicy::parse(&with_count(r#""3""#)).unwrap();
        let stored = r#"{"raw":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:dlq\",\"maxReceiveCount\":\"3\"}","dead_letter_target_arn":"arn:aws:sqs:us-east-1:000000000000:dlq","max_receive_count":3}"#;
        assert_eq!(serde_json::to_string(&p).unwrap(), stored);
        assert_eq!(serde_json::from_str::<RedrivePolicy>(stored).unwrap(), p);
    }

    #[test]
    fn dead_letter_target_arn_is_read_from_any_object() {
        let cases: Vec<(String, Option<&str>)> = vec![
            ("not json".into(), None),
            ("[1]".into(), None),
            ("{}".into(), None),
            (r#"{"deadLetterTargetArn":5}"#.into(), None),
            (format!(r#"{{"deadLetterTargetArn":"{DLQ}"}}"#), Some(DLQ)),
            (with_count("0"), Some(DLQ)),
            (with_count("3"), Some(DLQ)),
        ];
        for (value, expected) in cases {
            assert_eq!(
                dead_letter_target_arn(&value).as_deref(),
                expected,
                "{value}"
            );
        }
    }

    #[test]
    fn redrive_allow_policy_reasons() {
        let eleven: Vec<String> = (0..11).map(|i| format!("\"a{i}\"")).collect();
        let eleven = format!(
            r#"{{"redrivePermission":"byQueue","sourceQueueArns":[{}]}}"#,
            eleven.join(",")
        );
        let cases: Vec<(&str, &str)> = vec![
            ("x", "Invalid JSON."),
            ("[]", "Invalid JSON."),
            (
                "{}",
                "Redrive allow policy does not contain mandatory attribute: redrivePermission.",
            ),
            (
                r#"{"redrivePermission":5}"#,
                "Redrive allow policy does not contain mandatory attribute: redrivePermission.",
            ),
            (
                r#"{"redrivePermission":"bogus"}"#,
                "redrivePermission must be one of allowAll, denyAll, byQueue.",
            ),
            (
                r#"{"redrivePermission":"byQueue"}"#,
                "byQueue requires between 1 and 10 sourceQueueArns.",
            ),
            (
                r#"{"redrivePermission":"byQueue","sourceQueueArns":[]}"#,
                "byQueue requires between 1 and 10 sourceQueueArns.",
            ),
            (
                &eleven,
                "byQueue requires between 1 and 10 sourceQueueArns.",
            ),
            (
                r#"{"redrivePermission":"byQueue","sourceQueueArns":[1]}"#,
                "sourceQueueArns must be a list of queue ARNs.",
            ),
            (
                r#"{"redrivePermission":"byQueue","sourceQueueArns":"a"}"#,
                "sourceQueueArns must be a list of queue ARNs.",
            ),
            (
                r#"{"redrivePermission":"allowAll","sourceQueueArns":null}"#,
                "sourceQueueArns must be a list of queue ARNs.",
            ),
            (
                r#"{"redrivePermission":"allowAll","sourceQueueArns":["a"]}"#,
                "sourceQueueArns is allowed only when redrivePermission is byQueue.",
            ),
            (
                r#"{"redrivePermission":"denyAll","sourceQueueArns":[]}"#,
                "sourceQueueArns is allowed only when redrivePermission is byQueue.",
            ),
        ];
        for (value, reason) in cases {
            assert_eq!(RedriveAllowPolicy::parse(value), Err(reason), "{value}");
        }
    }

    #[test]
    fn redrive_allow_policy_allows() {
        let all = RedriveAllowPolicy::parse(r#"{"redrivePermission":"allowAll","x":1}"#).unwrap();
        assert!(all.allows("a") && all.source_queue_arns.is_empty());
        let none = RedriveAllowPolicy::parse(r#"{"redrivePermission":"denyAll"}"#).unwrap();
        assert!(!none.allows("a"));
        let by = RedriveAllowPolicy::parse(
            r#"{"redrivePermission":"byQueue","sourceQueueArns":["a","b"]}"#,
        )
        .unwrap();
        assert_eq!(by.source_queue_arns, ["a", "b"]);
        assert!(by.allows("a") && by.allows("b") && !by.allows("c"));
    }

    #[test]
    fn redrive_allow_policy_serde_form_is_unchanged() {
        let p = RedriveAllowPolicy::parse(
            r#"{"redrivePermission":"byQueue","sourceQueueArns":["a","b"]}"#,
        )
        .unwrap();
        let stored = r#"{"raw":"{\"redrivePermission\":\"byQueue\",\"sourceQueueArns\":[\"a\",\"b\"]}","permission":"byQueue","source_queue_arns":["a","b"]}"#;
        assert_eq!(serde_json::to_string(&p).unwrap(), stored);
        assert_eq!(
            serde_json::from_str::<RedriveAllowPolicy>(stored).unwrap(),
            p
        );
        let all = RedriveAllowPolicy::parse(r#"{"redrivePermission":"allowAll"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&all).unwrap(),
            r#"{"raw":"{\"redrivePermission\":\"allowAll\"}","permission":"allowAll","source_queue_arns":[]}"#
        );
    }
}
