//! CancelMessageMoveTask.

use serde::Serialize;

use super::{required, Context};
use crate::engine::move_tasks::decode_task_handle;
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct CancelMessageMoveTaskInput {
        task_handle: Option<String> = "TaskHandle",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskOutput {
    approximate_number_of_messages_moved: u64,
}

pub async fn cancel_message_move_task(
    ctx: &Context,
    input: CancelMessageMoveTaskInput,
) -> SqsResult<CancelMessageMoveTaskOutput> {
    let handle = required(input.task_handle.as_deref(), "TaskHandle")?;
    if let Some((_, source)) = decode_task_handle(handle) {
        ctx.authorize_arn(&source)?;
    }
    let moved = ctx.engine.cancel_move_task(handle).await?;
    Ok(CancelMessageMoveTaskOutput {
        approximate_number_of_messages_moved: moved,
    })
}
