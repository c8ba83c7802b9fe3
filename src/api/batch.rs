//! What the three batch actions (SendMessageBatch, DeleteMessageBatch,
//! ChangeMessageVisibilityBatch) share: the whole-request checks, and filing each entry's
//! result as `Successful` or `Failed`.

use std::collections::HashSet;

use serde::Serialize;

use crate::engine::message;
use crate::error::{ErrorCode, Fault, SqsError, SqsResult};

const MAX_BATCH_ENTRIES: usize = 10;

/// A batch request entry, known by its `Id`.
pub trait BatchEntry {
    fn id(&self) -> Option<&str>;
}

impl<E: BatchEntry> BatchEntry for &E {
    fn id(&self) -> Option<&str> {
        (**self).id()
    }
}

/// The output of the three batch actions. An empty list is left out: AWS's JSON omits an empty
/// `Failed` (as observed on AWS) and, by the same rule, an empty `Successful`; the
/// Query XML has no entries either way.
#[derive(Serialize)]
pub struct BatchOutput<T> {
    #[serde(rename = "Successful", skip_serializing_if = "Vec::is_empty")]
    successful: Vec<T>,
    #[serde(rename = "Failed", skip_serializing_if = "Vec::is_empty")]
    failed: Vec<BatchResultErrorEntry>,
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
    fn new(id: String, e: SqsError) -> Self {
        BatchResultErrorEntry {
            id,
            sender_fault: e.code.fault() == Fault::Sender,
            code: e.code.query_code().to_string(),
            message: e.message,
        }
    }
}

/// The request's entries, once they pass the whole-request checks, in AWS's order: at least
/// one, at most ten, every id well-formed, no id twice. `entry_name` names an entry in the
/// `EmptyBatchRequest` message.
pub fn checked<E: BatchEntry>(entries: Option<Vec<E>>, entry_name: &str) -> SqsResult<Vec<E>> {
    let entries = entries.unwrap_or_default();
    check_ids(entries.iter().map(BatchEntry::id).collect(), entry_name)?;
    Ok(entries)
}

fn check_ids(ids: Vec<Option<&str>>, entry_name: &str) -> SqsResult<()> {
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
    if !ids
        .iter()
        .all(|id| id.is_some_and(message::valid_batch_entry_id))
    {
        return Err(SqsError::new(
            ErrorCode::InvalidBatchEntryId,
            "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
        ));
    }
    let mut seen = HashSet::new();
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

/// A batch on its way to the engine: the ids of the entries sent to it, in order, and the
/// entries already refused.
pub struct Pending<T> {
    ids: Vec<String>,
    output: BatchOutput<T>,
}

impl<T> Pending<T> {
    /// Checks each entry alone with `accept`: an entry it refuses is `Failed` at once; the
    /// values of the others are returned, in order, for the engine.
    pub fn accept<E: BatchEntry, V>(
        entries: impl IntoIterator<Item = E>,
        mut accept: impl FnMut(E) -> SqsResult<V>,
    ) -> (Self, Vec<V>) {
        let mut pending = Pending {
            ids: Vec::new(),
            output: BatchOutput {
                successful: Vec::new(),
                failed: Vec::new(),
            },
        };
        let mut accepted = Vec::new();
        for entry in entries {
            let id = entry.id().unwrap_or_default().to_string();
            match accept(entry) {
                Ok(value) => {
                    pending.ids.push(id);
                    accepted.push(value);
                }
                Err(e) => pending
                    .output
                    .failed
                    .push(BatchResultErrorEntry::new(id, e)),
            }
        }
        (pending, accepted)
    }

    /// Files the engine's results, one per accepted entry in order, under their ids: the one
    /// place an engine result becomes a `Successful` entry (by `successful`) or a `Failed` one.
    pub fn file<R, E>(
        mut self,
        results: Vec<Result<R, E>>,
        successful: impl Fn(String, R) -> T,
    ) -> BatchOutput<T>
    where
        SqsError: From<E>,
    {
        for (id, result) in self.ids.into_iter().zip(results) {
            match result {
                Ok(r) => self.output.successful.push(successful(id, r)),
                Err(e) => {
                    let entry = BatchResultErrorEntry::new(id, SqsError::from(e));
                    self.output.failed.push(entry);
                }
            }
        }
        self.output
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Entry(Option<&'static str>);

    impl BatchEntry for Entry {
        fn id(&self) -> Option<&str> {
            self.0
        }
    }

    fn check(ids: &[Option<&'static str>]) -> SqsResult<()> {
        checked(Some(ids.iter().map(|id| Entry(*id)).collect()), "E").map(drop)
    }

    #[test]
    fn batch_checks_in_aws_order() {
        let e = checked(None::<Vec<Entry>>, "E").unwrap_err();
        assert_eq!(e.code, ErrorCode::EmptyBatchRequest);
        assert_eq!(e.message, "There should be at least one E in the request.");
        let eleven: Vec<String> = (0..11).map(|i| format!("i{i}")).collect();
        let e = check_ids(eleven.iter().map(|s| Some(s.as_str())).collect(), "E").unwrap_err();
        assert_eq!(e.code, ErrorCode::TooManyEntriesInBatchRequest);
        assert_eq!(
            e.message,
            "Maximum number of entries per request are 10. You have sent 11."
        );
        assert_eq!(
            check(&[Some("a"), Some("invalid:id")]).unwrap_err().code,
            ErrorCode::InvalidBatchEntryId
        );
        assert_eq!(
            check(&[Some("a"), None]).unwrap_err().code,
            ErrorCode::InvalidBatchEntryId
        );
        assert_eq!(
            check(&[Some("a"), Some("a")]).unwrap_err().code,
            ErrorCode::BatchEntryIdsNotDistinct
        );
        assert!(check(&[Some("a"), Some("b")]).is_ok());
    }

    #[test]
    fn refused_entries_then_engine_results() {
        let entries = [Entry(Some("a")), Entry(Some("b")), Entry(Some("c"))];
        let (pending, accepted) = Pending::accept(&entries, |e| match e.0 {
            Some("b") => Err(SqsError::missing_parameter("ReceiptHandle")),
            id => Ok(id.unwrap_or_default()),
        });
        assert_eq!(accepted, ["a", "c"]);
        let results = vec![Ok(()), Err(SqsError::internal("store"))];
        let out = pending.file(results, |id, ()| id);
        assert_eq!(out.successful, ["a"]);
        let failed: Vec<_> = out
            .failed
            .iter()
            .map(|f| (f.id.as_str(), f.sender_fault))
            .collect();
        assert_eq!(failed, [("b", true), ("c", false)]);
    }
}
