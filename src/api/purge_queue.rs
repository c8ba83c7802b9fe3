//! PurgeQueue.

use super::Context;
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct PurgeQueueInput {
        queue_url: Option<String> = "QueueUrl",
    }
}

pub async fn purge_queue(ctx: &Context, input: PurgeQueueInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    ctx.engine.purge(&q).await?;
    Ok(())
}
