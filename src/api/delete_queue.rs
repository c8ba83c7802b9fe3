//! DeleteQueue.

use super::Context;
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct DeleteQueueInput {
        queue_url: Option<String> = "QueueUrl",
    }
}

pub async fn delete_queue(ctx: &Context, input: DeleteQueueInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    ctx.engine.delete_queue(&q).await?;
    Ok(())
}
