//! ListQueueTags.

use serde::Serialize;

use super::common::StringMap;
use super::Context;
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct ListQueueTagsInput {
        queue_url: Option<String> = "QueueUrl",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueueTagsOutput {
    #[serde(skip_serializing_if = "StringMap::is_empty")]
    tags: StringMap,
}

pub async fn list_queue_tags(
    ctx: &Context,
    input: ListQueueTagsInput,
) -> SqsResult<ListQueueTagsOutput> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    Ok(ListQueueTagsOutput {
        tags: ctx.engine.queue_tags(&q),
    })
}
