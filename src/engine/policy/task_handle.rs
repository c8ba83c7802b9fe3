//! The TaskHandle of a message-move task: base64 of `{"sourceArn":…,"taskId":…}`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

/// The handle of the task `task_id` moving from `source_arn`.
pub fn encode(task_id: &str, source_arn: &str) -> String {
    STANDARD.encode(serde_json::json!({"taskId": task_id, "sourceArn": source_arn}).to_string())
}

/// `(task id, source ARN)` of a handle; `None` when it is not one.
pub fn decode(handle: &str) -> Option<(String, String)> {
    let decoded = STANDARD.decode(handle).ok()?;
    let doc: Value = serde_json::from_slice(&decoded).ok()?;
    Some((
        doc["taskId"].as_str()?.to_string(),
        doc["sourceArn"].as_str()?.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:sqs:us-east-1:000000000000:q";
    const HANDLE: &str = "eyJzb3VyY2VBcm4iOiJhcm46YXdzOnNxczp1cy1lYXN0LTE6MDAwMDAwMDAwMDAwOnEiLCJ0YXNrSWQiOiJ0LTEifQ==";

    #[test]
    fn encodes_as_before() {
        assert_eq!(encode("t-1", ARN), HANDLE);
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
            assert_eq!(decode(handle), expected, "{handle}");
        }
    }
}
