//! ListMessageMoveTasks.

use serde::Serialize;

use super::{required, Context};
use crate::engine::move_tasks::MoveTaskStatus;
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct ListMessageMoveTasksInput {
        source_arn: Option<String> = "SourceArn",
        max_results: Option<i64> = "MaxResults",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksResultEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    task_handle: Option<String>,
    status: &'static str,
    source_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_number_of_messages_per_second: Option<u32>,
    approximate_number_of_messages_moved: u64,
    approximate_number_of_messages_to_move: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    started_timestamp: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksOutput {
    results: Vec<ListMessageMoveTasksResultEntry>,
}

pub async fn list_message_move_tasks(
    ctx: &Context,
    input: ListMessageMoveTasksInput,
) -> SqsResult<ListMessageMoveTasksOutput> {
    let source = required(input.source_arn.as_deref(), "SourceArn")?;
    ctx.authorize_arn(source)?;
    let tasks = ctx
        .engine
        .list_move_tasks(source, input.max_results)
        .await?;
    Ok(ListMessageMoveTasksOutput {
        results: tasks
            .into_iter()
            .map(|t| ListMessageMoveTasksResultEntry {
                task_handle: (t.status == MoveTaskStatus::Running).then(|| t.handle()),
                status: t.status.as_str(),
                source_arn: t.source_arn,
                destination_arn: t.destination_arn,
                max_number_of_messages_per_second: t.max_per_second,
                approximate_number_of_messages_moved: t.moved,
                approximate_number_of_messages_to_move: t.to_move,
                failure_reason: t.failure_reason,
                started_timestamp: t.started_at,
            })
            .collect(),
    })
}
