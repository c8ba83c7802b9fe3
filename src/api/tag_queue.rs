//! TagQueue.

use super::common::{pairs, StringMap};
use super::Context;
use crate::error::SqsResult;
use crate::protocol::query::{query_input, TAG_MAP};

query_input! {
    pub struct TagQueueInput {
        queue_url: Option<String> = "QueueUrl",
        tags: Option<StringMap> = "Tags" as "Tag" in TAG_MAP,
    }
}

pub async fn tag_queue(ctx: &Context, input: TagQueueInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    ctx.engine.tag_queue(&q, &pairs(input.tags)).await?;
    Ok(())
}
