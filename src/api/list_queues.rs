//! ListQueues.

use serde::Serialize;

use super::common::page;
use super::Context;
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct ListQueuesInput {
        queue_name_prefix: Option<String> = "QueueNamePrefix",
        next_token: Option<String> = "NextToken",
        max_results: Option<i64> = "MaxResults",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesOutput {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    queue_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn list_queues(ctx: &Context, input: ListQueuesInput) -> SqsResult<ListQueuesOutput> {
    let queues = ctx.engine.list_queues(
        &ctx.account,
        &ctx.region,
        input.queue_name_prefix.as_deref().unwrap_or(""),
    );
    let (queues, next_token) = page(
        queues,
        |q| q.name.as_str(),
        input.max_results,
        input.next_token.as_deref(),
    )?;
    Ok(ListQueuesOutput {
        queue_urls: queues.iter().map(|q| ctx.queue_url(q)).collect(),
        next_token,
    })
}
