//! Queue management actions: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue,
//! Get/SetQueueAttributes, Tag/Untag/ListQueueTags, Add/RemovePermission.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{page, required, Context};
use crate::error::SqsResult;
use crate::protocol::query::{Field, Shape, ATTRIBUTE_MAP, STRING_LIST, TAG_MAP};

type StringMap = BTreeMap<String, String>;

fn pairs(map: Option<StringMap>) -> Vec<(String, String)> {
    map.unwrap_or_default().into_iter().collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueOnlyInput {
    pub(crate) queue_url: Option<String>,
}
pub const QUEUE_ONLY: &[Field] = &[Field("QueueUrl", "QueueUrl", Shape::Str)];

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlOutput {
    queue_url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueInput {
    queue_name: Option<String>,
    attributes: Option<StringMap>,
    #[serde(rename = "tags")]
    tags: Option<StringMap>,
}
pub const CREATE_QUEUE: &[Field] = &[
    Field("QueueName", "QueueName", Shape::Str),
    Field("Attributes", "Attribute", ATTRIBUTE_MAP),
    Field("tags", "Tag", TAG_MAP),
];

pub async fn create_queue(ctx: &Context, input: CreateQueueInput) -> SqsResult<QueueUrlOutput> {
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
    Ok(QueueUrlOutput {
        queue_url: ctx.queue_url(&q),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlInput {
    queue_name: Option<String>,
    #[serde(rename = "QueueOwnerAWSAccountId")]
    queue_owner_aws_account_id: Option<String>,
}
pub const GET_QUEUE_URL: &[Field] = &[
    Field("QueueName", "QueueName", Shape::Str),
    Field(
        "QueueOwnerAWSAccountId",
        "QueueOwnerAWSAccountId",
        Shape::Str,
    ),
];

pub async fn get_queue_url(ctx: &Context, input: GetQueueUrlInput) -> SqsResult<QueueUrlOutput> {
    let name = required(input.queue_name.as_deref(), "QueueName")?;
    let account = input
        .queue_owner_aws_account_id
        .as_deref()
        .unwrap_or(&ctx.account);
    let q = ctx.engine.queue(account, &ctx.region, name)?;
    ctx.authorize(&q)?;
    Ok(QueueUrlOutput {
        queue_url: ctx.queue_url(&q),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesInput {
    queue_name_prefix: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}
pub const LIST_QUEUES: &[Field] = &[
    Field("QueueNamePrefix", "QueueNamePrefix", Shape::Str),
    Field("NextToken", "NextToken", Shape::Str),
    Field("MaxResults", "MaxResults", Shape::Int),
];

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

pub async fn delete_queue(ctx: &Context, input: QueueOnlyInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    ctx.engine.delete_queue(&q).await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesInput {
    queue_url: Option<String>,
    attribute_names: Option<Vec<String>>,
}
pub const GET_QUEUE_ATTRIBUTES: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field("AttributeNames", "AttributeName", STRING_LIST),
];

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesOutput {
    #[serde(skip_serializing_if = "StringMap::is_empty")]
    attributes: StringMap,
}

pub async fn get_queue_attributes(
    ctx: &Context,
    input: GetQueueAttributesInput,
) -> SqsResult<AttributesOutput> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    let attrs = ctx
        .engine
        .queue_attributes(&q, &input.attribute_names.unwrap_or_default())?;
    Ok(AttributesOutput {
        attributes: attrs.into_iter().collect(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetQueueAttributesInput {
    queue_url: Option<String>,
    attributes: Option<StringMap>,
}
pub const SET_QUEUE_ATTRIBUTES: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field("Attributes", "Attribute", ATTRIBUTE_MAP),
];

pub async fn set_queue_attributes(ctx: &Context, input: SetQueueAttributesInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    ctx.engine
        .set_queue_attributes(&q, &pairs(input.attributes))
        .await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagQueueInput {
    queue_url: Option<String>,
    tags: Option<StringMap>,
}
pub const TAG_QUEUE: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field("Tags", "Tag", TAG_MAP),
];

pub async fn tag_queue(ctx: &Context, input: TagQueueInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    ctx.engine.tag_queue(&q, &pairs(input.tags)).await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagQueueInput {
    queue_url: Option<String>,
    tag_keys: Option<Vec<String>>,
}
pub const UNTAG_QUEUE: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field("TagKeys", "TagKey", STRING_LIST),
];

pub async fn untag_queue(ctx: &Context, input: UntagQueueInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    ctx.engine
        .untag_queue(&q, &input.tag_keys.unwrap_or_default())
        .await?;
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueueTagsOutput {
    #[serde(skip_serializing_if = "StringMap::is_empty")]
    tags: StringMap,
}

pub async fn list_queue_tags(
    ctx: &Context,
    input: QueueOnlyInput,
) -> SqsResult<ListQueueTagsOutput> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    Ok(ListQueueTagsOutput {
        tags: ctx.engine.queue_tags(&q),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionInput {
    queue_url: Option<String>,
    label: Option<String>,
    #[serde(rename = "AWSAccountIds")]
    aws_account_ids: Option<Vec<String>>,
    actions: Option<Vec<String>>,
}
pub const ADD_PERMISSION: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field("Label", "Label", Shape::Str),
    Field("AWSAccountIds", "AWSAccountId", STRING_LIST),
    Field("Actions", "ActionName", STRING_LIST),
];

pub async fn add_permission(ctx: &Context, input: AddPermissionInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    let label = required(input.label.as_deref(), "Label")?;
    ctx.engine
        .add_permission(
            &q,
            label,
            &input.aws_account_ids.unwrap_or_default(),
            &input.actions.unwrap_or_default(),
        )
        .await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermissionInput {
    queue_url: Option<String>,
    label: Option<String>,
}
pub const REMOVE_PERMISSION: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field("Label", "Label", Shape::Str),
];

pub async fn remove_permission(ctx: &Context, input: RemovePermissionInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    ctx.engine
        .remove_permission(&q, required(input.label.as_deref(), "Label")?)
        .await?;
    Ok(())
}
