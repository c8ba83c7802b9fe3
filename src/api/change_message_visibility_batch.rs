//! ChangeMessageVisibilityBatch.

use serde::Serialize;

use super::batch::{self, BatchEntry, BatchOutput, Pending};
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

impl BatchEntry for ChangeMessageVisibilityBatchRequestEntry {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
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
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    let entries = batch::checked(input.entries, "ChangeMessageVisibilityBatchRequestEntry")?;
    let (pending, changes) = Pending::accept(&entries, |e| {
        let handle = required(e.receipt_handle.as_deref(), "ReceiptHandle")?;
        let timeout = e
            .visibility_timeout
            .ok_or_else(|| SqsError::missing_parameter("VisibilityTimeout"))?;
        Ok((handle, timeout))
    });
    let results = ctx.engine.change_visibilities(&q, &changes).await?;
    let successful = |id, ()| ChangeMessageVisibilityBatchResultEntry { id };
    Ok(pending.file(results, successful))
}
