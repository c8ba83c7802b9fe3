//! UntagQueue.

use super::Context;
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct UntagQueueInput {
        queue_url: Option<String> = "QueueUrl",
        tag_keys: Option<Vec<String>> = "TagKeys" as "TagKey",
    }
}

pub async fn untag_queue(ctx: &Context, input: UntagQueueInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    ctx.engine
        .untag_queue(&q, &input.tag_keys.unwrap_or_default())
        .await?;
    Ok(())
}
