//! CreateQueue.

use serde::Serialize;

use super::common::{pairs, StringMap};
use super::{required, Context};
use crate::error::SqsResult;
use crate::protocol::query::{query_input, ATTRIBUTE_MAP, TAG_MAP};

query_input! {
    pub struct CreateQueueInput {
        queue_name: Option<String> = "QueueName",
        attributes: Option<StringMap> = "Attributes" as "Attribute" in ATTRIBUTE_MAP,
        tags: Option<StringMap> = "tags" as "Tag" in TAG_MAP,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueOutput {
    queue_url: String,
}

pub async fn create_queue(ctx: &Context, input: CreateQueueInput) -> SqsResult<CreateQueueOutput> {
    let name = required(input.queue_name.as_deref(), "QueueName")?;
    let q = ctx
        .engine
        .create_queue(
            &ctx.account,
            &ctx.region,
            name,
            &pairs(input.attributes),
            &pairs(input.tags),
        )
        .await?;
    Ok(CreateQueueOutput {
        queue_url: ctx.queue_url(&q),
    })
}
