//! SendMessage.

use serde::Serialize;

use super::common::SendMessageMembers;
use super::Context;
use crate::engine::SendOutcome;
use crate::error::{SqsError, SqsResult};
use crate::protocol::query::query_input;

query_input! {
    pub struct SendMessageInput {
        queue_url: Option<String> = "QueueUrl",
        ..message: SendMessageMembers,
    }
}

#[derive(Serialize)]
pub struct SendMessageOutput {
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "MD5OfMessageBody")]
    md5_of_message_body: String,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_attributes: Option<String>,
    #[serde(
        rename = "MD5OfMessageSystemAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_system_attributes: Option<String>,
    #[serde(rename = "SequenceNumber", skip_serializing_if = "Option::is_none")]
    sequence_number: Option<String>,
}

impl From<SendOutcome> for SendMessageOutput {
    fn from(o: SendOutcome) -> Self {
        SendMessageOutput {
            message_id: o.message_id,
            md5_of_message_body: o.md5_of_body,
            md5_of_message_attributes: o.md5_of_attributes,
            md5_of_message_system_attributes: o.md5_of_system_attributes,
            sequence_number: o.sequence_number,
        }
    }
}

pub async fn send_message(ctx: &Context, input: SendMessageInput) -> SqsResult<SendMessageOutput> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    let entry = input.message.into_entry(ctx)?;
    let mut results = ctx
        .engine
        .send_messages(&q, vec![entry], &ctx.sender_id, false)
        .await?;
    let outcome = results
        .pop()
        .ok_or_else(|| SqsError::internal("no send result"))?;
    Ok(outcome?.into())
}
