//! DeleteMessage.

use super::{required, Context};
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct DeleteMessageInput {
        queue_url: Option<String> = "QueueUrl",
        receipt_handle: Option<String> = "ReceiptHandle",
    }
}

pub async fn delete_message(ctx: &Context, input: DeleteMessageInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    ctx.engine
        .delete_message(
            &q,
            required(input.receipt_handle.as_deref(), "ReceiptHandle")?,
        )
        .await?;
    Ok(())
}
