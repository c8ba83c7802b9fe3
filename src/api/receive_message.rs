//! ReceiveMessage.

use std::collections::BTreeMap;

use serde::Serialize;

use super::common::{to_wire, MessageAttributeValue};
use super::Context;
use crate::engine::ReceiveRequest;
use crate::error::{SqsError, SqsResult};
use crate::protocol::query::query_input;

query_input! {
    pub struct ReceiveMessageInput {
        queue_url: Option<String> = "QueueUrl",
        attribute_names: Option<Vec<String>> = "AttributeNames" as "AttributeName",
        message_system_attribute_names: Option<Vec<String>> =
            "MessageSystemAttributeNames" as "MessageSystemAttributeName",
        message_attribute_names: Option<Vec<String>> =
            "MessageAttributeNames" as "MessageAttributeName",
        max_number_of_messages: Option<i64> = "MaxNumberOfMessages",
        visibility_timeout: Option<i64> = "VisibilityTimeout",
        wait_time_seconds: Option<i64> = "WaitTimeSeconds",
        receive_request_attempt_id: Option<String> = "ReceiveRequestAttemptId",
    }
}

#[derive(Serialize)]
pub struct Message {
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "ReceiptHandle")]
    receipt_handle: String,
    #[serde(rename = "MD5OfBody")]
    md5_of_body: String,
    #[serde(rename = "Body")]
    body: String,
    #[serde(rename = "Attributes", skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_attributes: Option<String>,
    #[serde(
        rename = "MessageAttributes",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    message_attributes: BTreeMap<String, MessageAttributeValue>,
}

#[derive(Serialize)]
pub struct ReceiveMessageOutput {
    #[serde(rename = "Messages", skip_serializing_if = "Vec::is_empty")]
    messages: Vec<Message>,
}

fn in_range(
    name: &str,
    value: Option<i64>,
    min: i64,
    max: i64,
    reason: &str,
) -> SqsResult<Option<u32>> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(SqsError::invalid_parameter(name, v, reason)),
        other => Ok(other.map(|v| v as u32)),
    }
}

pub async fn receive_message(
    ctx: &Context,
    input: ReceiveMessageInput,
) -> SqsResult<ReceiveMessageOutput> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    let max = in_range(
        "MaxNumberOfMessages",
        input.max_number_of_messages,
        1,
        10,
        "Must be between 1 and 10, if provided.",
    )?;
    let wait = in_range(
        "WaitTimeSeconds",
        input.wait_time_seconds,
        0,
        20,
        "Must be >= 0 and <= 20, if provided.",
    )?;
    let vt = in_range(
        "VisibilityTimeout",
        input.visibility_timeout,
        0,
        43_200,
        "Must be >= 0 and <= 43200, if provided.",
    )?;
    if let Some(id) = &input.receive_request_attempt_id {
        if id.is_empty()
            || id.len() > 128
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation())
        {
            return Err(SqsError::invalid_parameter(
                "ReceiveRequestAttemptId",
                id,
                "ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
            ));
        }
    }
    let request = ReceiveRequest {
        max_messages: max.unwrap_or(1),
        visibility_timeout: vt,
        wait_time_seconds: wait,
        system_attribute_names: input
            .message_system_attribute_names
            .or(input.attribute_names)
            .unwrap_or_default(),
        message_attribute_names: input.message_attribute_names.unwrap_or_default(),
        attempt_id: input.receive_request_attempt_id,
    };
    let messages = ctx.engine.receive(&q, &request).await?;
    Ok(ReceiveMessageOutput {
        messages: messages
            .into_iter()
            .map(|m| Message {
                message_id: m.message_id,
                receipt_handle: m.receipt_handle,
                md5_of_body: m.md5_of_body,
                body: m.body,
                attributes: m.attributes.into_iter().collect(),
                md5_of_message_attributes: m.md5_of_message_attributes,
                message_attributes: m
                    .message_attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), to_wire(v)))
                    .collect(),
            })
            .collect(),
    })
}
