//! Dead-letter actions: ListDeadLetterSourceQueues and the message move tasks.

use serde::{Deserialize, Serialize};

use super::{page, required, Context};
use crate::engine::move_tasks::{decode_task_handle, MoveTaskStatus};
use crate::error::SqsResult;
use crate::protocol::query::{Field, Shape};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeadLetterSourceQueuesInput {
    queue_url: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}
pub const LIST_DEAD_LETTER_SOURCE_QUEUES: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field("NextToken", "NextToken", Shape::Str),
    Field("MaxResults", "MaxResults", Shape::Int),
];

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
    let dlq = ctx.queue(input.queue_url.as_deref())?;
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

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskInput {
    source_arn: Option<String>,
    destination_arn: Option<String>,
    max_number_of_messages_per_second: Option<i64>,
}
pub const START_MESSAGE_MOVE_TASK: &[Field] = &[
    Field("SourceArn", "SourceArn", Shape::Str),
    Field("DestinationArn", "DestinationArn", Shape::Str),
    Field(
        "MaxNumberOfMessagesPerSecond",
        "MaxNumberOfMessagesPerSecond",
        Shape::Int,
    ),
];

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

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskInput {
    task_handle: Option<String>,
}
pub const CANCEL_MESSAGE_MOVE_TASK: &[Field] = &[Field("TaskHandle", "TaskHandle", Shape::Str)];

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
    let moved = ctx.engine.cancel_move_task(handle)?;
    Ok(CancelMessageMoveTaskOutput {
        approximate_number_of_messages_moved: moved,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksInput {
    source_arn: Option<String>,
    max_results: Option<i64>,
}
pub const LIST_MESSAGE_MOVE_TASKS: &[Field] = &[
    Field("SourceArn", "SourceArn", Shape::Str),
    Field("MaxResults", "MaxResults", Shape::Int),
];

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MoveTaskEntry {
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
    results: Vec<MoveTaskEntry>,
}

pub async fn list_message_move_tasks(
    ctx: &Context,
    input: ListMessageMoveTasksInput,
) -> SqsResult<ListMessageMoveTasksOutput> {
    let source = required(input.source_arn.as_deref(), "SourceArn")?;
    ctx.authorize_arn(source)?;
    let tasks = ctx.engine.list_move_tasks(source, input.max_results)?;
    Ok(ListMessageMoveTasksOutput {
        results: tasks
            .into_iter()
            .map(|t| MoveTaskEntry {
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
