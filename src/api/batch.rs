//! What the three batch actions (SendMessageBatch, DeleteMessageBatch,
//! ChangeMessageVisibilityBatch) share: the whole-request checks and the output.

use std::collections::HashSet;

use serde::Serialize;

use crate::engine::message;
use crate::error::{ErrorCode, Fault, SqsError, SqsResult};

const MAX_BATCH_ENTRIES: usize = 10;

/// The output of the three batch actions. An empty list is left out: AWS's JSON omits an empty
/// `Failed` (recorded, SQS-REFERENCE §1.5) and, by the same rule, an empty `Successful`; the
/// Query XML has no entries either way.
#[derive(Serialize)]
pub struct BatchOutput<T> {
    #[serde(rename = "Successful", skip_serializing_if = "Vec::is_empty")]
    pub successful: Vec<T>,
    #[serde(rename = "Failed", skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<BatchResultErrorEntry>,
}

#[derive(Serialize)]
pub struct BatchResultErrorEntry {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "SenderFault")]
    sender_fault: bool,
    #[serde(rename = "Code")]
    code: String,
    #[serde(rename = "Message")]
    message: String,
}

impl BatchResultErrorEntry {
    pub fn new(id: &str, e: SqsError) -> Self {
        BatchResultErrorEntry {
            id: id.to_string(),
            sender_fault: e.code.fault() == Fault::Sender,
            code: e.code.query_code().to_string(),
            message: e.message,
        }
    }
}

impl<T> Default for BatchOutput<T> {
    fn default() -> Self {
        BatchOutput {
            successful: Vec::new(),
            failed: Vec::new(),
        }
    }
}

/// The whole-request checks of every batch action, in AWS's order.
pub fn check_batch<'a, I: IntoIterator<Item = Option<&'a str>>>(
    ids: I,
    entry_name: &str,
) -> SqsResult<()> {
    let ids: Vec<Option<&str>> = ids.into_iter().collect();
    if ids.is_empty() {
        return Err(SqsError::new(
            ErrorCode::EmptyBatchRequest,
            format!("There should be at least one {entry_name} in the request."),
        ));
    }
    if ids.len() > MAX_BATCH_ENTRIES {
        return Err(SqsError::new(
            ErrorCode::TooManyEntriesInBatchRequest,
            format!(
                "Maximum number of entries per request are 10. You have sent {}.",
                ids.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for id in &ids {
        if !id.is_some_and(message::valid_batch_entry_id) {
            return Err(SqsError::new(
                ErrorCode::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
    }
    for id in ids.into_iter().flatten() {
        if !seen.insert(id) {
            return Err(SqsError::new(
                ErrorCode::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_checks_in_aws_order() {
        assert_eq!(
            check_batch(Vec::<Option<&str>>::new(), "E")
                .unwrap_err()
                .code,
            ErrorCode::EmptyBatchRequest
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("i{i}")).collect();
        let e = check_batch(eleven.iter().map(|s| Some(s.as_str())), "E").unwrap_err();
        assert_eq!(e.code, ErrorCode::TooManyEntriesInBatchRequest);
        assert_eq!(
            e.message,
            "Maximum number of entries per request are 10. You have sent 11."
        );
        assert_eq!(
            check_batch([Some("a"), Some("invalid:id")], "E")
                .unwrap_err()
                .code,
            ErrorCode::InvalidBatchEntryId
        );
        assert_eq!(
            check_batch([Some("a"), None], "E").unwrap_err().code,
            ErrorCode::InvalidBatchEntryId
        );
        assert_eq!(
            check_batch([Some("a"), Some("a")], "E").unwrap_err().code,
            ErrorCode::BatchEntryIdsNotDistinct
        );
        assert!(check_batch([Some("a"), Some("b")], "E").is_ok());
    }
}
