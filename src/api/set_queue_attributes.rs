//! SetQueueAttributes.

use super::common::{pairs, StringMap};
use super::Context;
use crate::error::SqsResult;
use crate::protocol::query::{query_input, ATTRIBUTE_MAP};

query_input! {
    pub struct SetQueueAttributesInput {
        queue_url: Option<String> = "QueueUrl",
        attributes: Option<StringMap> = "Attributes" as "Attribute" in ATTRIBUTE_MAP,
    }
}

pub async fn set_queue_attributes(ctx: &Context, input: SetQueueAttributesInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    ctx.engine
        .set_queue_attributes(&q, &pairs(input.attributes))
        .await?;
    Ok(())
}
