//! ChangeMessageVisibility.

use super::{required, Context};
use crate::error::{SqsError, SqsResult};
use crate::protocol::query::query_input;

query_input! {
    pub struct ChangeMessageVisibilityInput {
        queue_url: Option<String> = "QueueUrl",
        receipt_handle: Option<String> = "ReceiptHandle",
        visibility_timeout: Option<i64> = "VisibilityTimeout",
    }
}

pub async fn change_message_visibility(
    ctx: &Context,
    input: ChangeMessageVisibilityInput,
) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    let handle = required(input.receipt_handle.as_deref(), "ReceiptHandle")?;
    let timeout = input
        .visibility_timeout
        .ok_or_else(|| SqsError::missing_parameter("VisibilityTimeout"))?;
    ctx.engine.change_visibility(&q, handle, timeout).await?;
    Ok(())
}
