//! DeleteMessageBatch.

use serde::Serialize;

use super::batch::{check_batch, BatchOutput, BatchResultErrorEntry};
use super::{required, Context};
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct DeleteMessageBatchInput {
        queue_url: Option<String> = "QueueUrl",
        entries: Option<Vec<DeleteMessageBatchRequestEntry>> =
            "Entries" as "DeleteMessageBatchRequestEntry",
    }
}

query_input! {
    pub struct DeleteMessageBatchRequestEntry {
        id: Option<String> = "Id",
        receipt_handle: Option<String> = "ReceiptHandle",
    }
}

#[derive(Serialize)]
pub struct DeleteMessageBatchResultEntry {
    #[serde(rename = "Id")]
    id: String,
}

pub type DeleteMessageBatchOutput = BatchOutput<DeleteMessageBatchResultEntry>;

pub async fn delete_message_batch(
    ctx: &Context,
    input: DeleteMessageBatchInput,
) -> SqsResult<DeleteMessageBatchOutput> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    let entries = input.entries.unwrap_or_default();
    check_batch(
        entries.iter().map(|e| e.id.as_deref()),
        "DeleteMessageBatchRequestEntry",
    )?;
    let mut out = BatchOutput::default();
    let mut ids = Vec::new();
    let mut handles = Vec::new();
    for e in &entries {
        let id = e.id.clone().unwrap_or_default();
        match required(e.receipt_handle.as_deref(), "ReceiptHandle") {
            Ok(handle) => {
                ids.push(id);
                handles.push(handle);
            }
            Err(err) => out.failed.push(BatchResultErrorEntry::new(&id, err)),
        }
    }
    let results = ctx.engine.delete_messages(&q, &handles).await?;
    for (id, result) in ids.into_iter().zip(results) {
        match result {
            Ok(()) => out.successful.push(DeleteMessageBatchResultEntry { id }),
            Err(err) => out.failed.push(BatchResultErrorEntry::new(&id, err)),
        }
    }
    Ok(out)
}
