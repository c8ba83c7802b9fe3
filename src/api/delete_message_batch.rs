//! DeleteMessageBatch.

use serde::Serialize;

use super::batch::{self, BatchEntry, BatchOutput, Pending};
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

impl BatchEntry for DeleteMessageBatchRequestEntry {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
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
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    let entries = batch::checked(input.entries, "DeleteMessageBatchRequestEntry")?;
    let (pending, handles) = Pending::accept(&entries, |e| {
        required(e.receipt_handle.as_deref(), "ReceiptHandle")
    });
    let results = ctx.engine.delete_messages(&q, &handles).await?;
    Ok(pending.file(results, |id, ()| DeleteMessageBatchResultEntry { id }))
}
