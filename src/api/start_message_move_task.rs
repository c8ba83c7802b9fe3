//! StartMessageMoveTask.

use serde::Serialize;

use super::{required, Context};
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct StartMessageMoveTaskInput {
        source_arn: Option<String> = "SourceArn",
        destination_arn: Option<String> = "DestinationArn",
        max_number_of_messages_per_second: Option<i64> = "MaxNumberOfMessagesPerSecond",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskOutput {
    task_handle: String,
}

pub async fn start_message_move_task(
    ctx: &Context,
    input: StartMessageMoveTaskInput,
) -> SqsResult<StartMessageMoveTaskOutput> {
    let source = required(input.source_arn.as_deref(), "SourceArn")?;
    ctx.authorize_arn(source)?;
    let task_handle = ctx
        .engine
        .start_move_task(
            source,
            input.destination_arn.as_deref(),
            input.max_number_of_messages_per_second,
        )
        .await?;
    Ok(StartMessageMoveTaskOutput { task_handle })
}
