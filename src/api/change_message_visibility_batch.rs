//! ChangeMessageVisibilityBatch.

use serde::Serialize;

use super::batch::{check_batch, BatchOutput, BatchResultErrorEntry};
use super::{required, Context};
use crate::error::{SqsError, SqsResult};
use crate::protocol::query::query_input;

query_input! {
    pub struct ChangeMessageVisibilityBatchInput {
        queue_url: Option<String> = "QueueUrl",
        entries: Option<Vec<ChangeMessageVisibilityBatchRequestEntry>> =
            "Entries" as "ChangeMessageVisibilityBatchRequestEntry",
    }
}

query_input! {
    pub struct ChangeMessageVisibilityBatchRequestEntry {
        id: Option<String> = "Id",
        receipt_handle: Option<String> = "ReceiptHandle",
        visibility_timeout: Option<i64> = "VisibilityTimeout",
    }
}

#[derive(Serialize)]
pub struct ChangeMessageVisibilityBatchResultEntry {
    #[serde(rename = "Id")]
    id: String,
}

pub type ChangeMessageVisibilityBatchOutput = BatchOutput<ChangeMessageVisibilityBatchResultEntry>;

pub async fn change_message_visibility_batch(
    ctx: &Context,
    input: ChangeMessageVisibilityBatchInput,
) -> SqsResult<ChangeMessageVisibilityBatchOutput> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    let entries = input.entries.unwrap_or_default();
    check_batch(
        entries.iter().map(|e| e.id.as_deref()),
        "ChangeMessageVisibilityBatchRequestEntry",
    )?;
    let mut out = BatchOutput::default();
    let mut ids = Vec::new();
    let mut changes = Vec::new();
    for e in &entries {
        let id = e.id.clone().unwrap_or_default();
        match (
            required(e.receipt_handle.as_deref(), "ReceiptHandle"),
            e.visibility_timeout,
        ) {
            (Ok(handle), Some(timeout)) => {
                ids.push(id);
                changes.push((handle, timeout));
            }
            (Ok(_), None) => out.failed.push(BatchResultErrorEntry::new(
                &id,
                SqsError::missing_parameter("VisibilityTimeout"),
            )),
            (Err(err), _) => out.failed.push(BatchResultErrorEntry::new(&id, err)),
        }
    }
    let results = ctx.engine.change_visibilities(&q, &changes).await?;
    for (id, result) in ids.into_iter().zip(results) {
        match result {
            Ok(()) => out
                .successful
                .push(ChangeMessageVisibilityBatchResultEntry { id }),
            Err(err) => out.failed.push(BatchResultErrorEntry::new(&id, err)),
        }
    }
    Ok(out)
}
