//! ListDeadLetterSourceQueues.

use serde::Serialize;

use super::common::page;
use super::Context;
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct ListDeadLetterSourceQueuesInput {
        queue_url: Option<String> = "QueueUrl",
        next_token: Option<String> = "NextToken",
        max_results: Option<i64> = "MaxResults",
    }
}

#[derive(Serialize)]
pub struct ListDeadLetterSourceQueuesOutput {
    #[serde(rename = "queueUrls")]
    queue_urls: Vec<String>,
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn list_dead_letter_source_queues(
    ctx: &Context,
    input: ListDeadLetterSourceQueuesInput,
) -> SqsResult<ListDeadLetterSourceQueuesOutput> {
    let dlq = ctx.queue(input.queue_url.as_deref()).await?;
    let sources = ctx.engine.dead_letter_sources(&dlq);
    let (sources, next_token) = page(
        sources,
        |q| q.name.as_str(),
        input.max_results,
        input.next_token.as_deref(),
    )?;
    Ok(ListDeadLetterSourceQueuesOutput {
        queue_urls: sources.iter().map(|q| ctx.queue_url(q)).collect(),
        next_token,
    })
}
