//! GetQueueAttributes.

use serde::Serialize;

use super::common::StringMap;
use super::Context;
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct GetQueueAttributesInput {
        queue_url: Option<String> = "QueueUrl",
        attribute_names: Option<Vec<String>> = "AttributeNames" as "AttributeName",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesOutput {
    #[serde(skip_serializing_if = "StringMap::is_empty")]
    attributes: StringMap,
}

pub async fn get_queue_attributes(
    ctx: &Context,
    input: GetQueueAttributesInput,
) -> SqsResult<GetQueueAttributesOutput> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    let attrs = ctx
        .engine
        .queue_attributes(&q, &input.attribute_names.unwrap_or_default())
        .await?;
    Ok(GetQueueAttributesOutput {
        attributes: attrs.into_iter().collect(),
    })
}
