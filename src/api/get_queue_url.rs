//! GetQueueUrl.

use serde::Serialize;

use super::{required, Context};
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct GetQueueUrlInput {
        queue_name: Option<String> = "QueueName",
        queue_owner_aws_account_id: Option<String> = "QueueOwnerAWSAccountId",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlOutput {
    queue_url: String,
}

pub async fn get_queue_url(ctx: &Context, input: GetQueueUrlInput) -> SqsResult<GetQueueUrlOutput> {
    let name = required(input.queue_name.as_deref(), "QueueName")?;
    let account = input
        .queue_owner_aws_account_id
        .as_deref()
        .unwrap_or(&ctx.account);
    let q = ctx.engine.find_queue(account, &ctx.region, name).await?;
    ctx.authorize(&q)?;
    Ok(GetQueueUrlOutput {
        queue_url: ctx.queue_url(&q),
    })
}
