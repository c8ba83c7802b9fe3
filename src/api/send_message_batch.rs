//! SendMessageBatch.

use serde::Serialize;

use super::batch::{self, BatchEntry, BatchOutput, Pending};
use super::common::SendMessageMembers;
use super::Context;
use crate::engine::message;
use crate::engine::SendOutcome;
use crate::error::{ErrorCode, SqsError, SqsResult};
use crate::protocol::query::query_input;

const MAX_BATCH_BYTES: usize = 1_048_576;

query_input! {
    pub struct SendMessageBatchInput {
        queue_url: Option<String> = "QueueUrl",
        entries: Option<Vec<SendMessageBatchRequestEntry>> =
            "Entries" as "SendMessageBatchRequestEntry",
    }
}

query_input! {
    pub struct SendMessageBatchRequestEntry {
        id: Option<String> = "Id",
        ..message: SendMessageMembers,
    }
}

impl BatchEntry for SendMessageBatchRequestEntry {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// A sent batch entry: its `Id` and SendMessage's members. They are listed here rather than
/// flattened in, so that a serializer sees the optional ones it leaves out (the Query JSON
/// rendering shows them as `null`).
#[derive(Serialize)]
pub struct SendMessageBatchResultEntry {
    #[serde(rename = "Id")]
    id: String,
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

impl SendMessageBatchResultEntry {
    fn new(id: String, o: SendOutcome) -> Self {
        SendMessageBatchResultEntry {
            id,
            message_id: o.message_id,
            md5_of_message_body: o.md5_of_body,
            md5_of_message_attributes: o.md5_of_attributes,
            md5_of_message_system_attributes: o.md5_of_system_attributes,
            sequence_number: o.sequence_number,
        }
    }
}

pub type SendMessageBatchOutput = BatchOutput<SendMessageBatchResultEntry>;

pub async fn send_message_batch(
    ctx: &Context,
    input: SendMessageBatchInput,
) -> SqsResult<SendMessageBatchOutput> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    let entries = batch::checked(input.entries, "SendMessageBatchRequestEntry")?;
    if q.fifo && entries.iter().any(|e| e.message.message_group_id.is_none()) {
        return Err(SqsError::new(
            ErrorCode::InvalidParameterValue,
            "The request must contain the parameter MessageGroupId.",
        ));
    }
    // Like a missing MessageGroupId, one entry without a deduplication id fails the whole
    // call (as observed on AWS), not just its entry.
    if q.fifo
        && entries
            .iter()
            .any(|e| e.message.message_deduplication_id.is_none())
        && !ctx.engine.content_based_deduplication(&q)
    {
        return Err(SqsError::new(
            ErrorCode::InvalidParameterValue,
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
        ));
    }
    let (pending, messages) = Pending::accept(entries, |e| e.message.into_entry(ctx));
    let total: usize = messages
        .iter()
        .map(|e| message::message_size(&e.body, &e.attributes))
        .sum();
    if total > MAX_BATCH_BYTES {
        return Err(SqsError::new(
            ErrorCode::BatchRequestTooLong,
            format!("Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent {total} bytes."),
        ));
    }
    let results = ctx
        .engine
        .send_messages(&q, messages, &ctx.sender_id, true)
        .await?;
    Ok(pending.file(results, SendMessageBatchResultEntry::new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Input;

    #[test]
    fn query_parameters_fill_the_entries_and_their_flattened_message_members() {
        let params = [
            ("QueueUrl", "u"),
            ("SendMessageBatchRequestEntry.1.Id", "a"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "b"),
            ("SendMessageBatchRequestEntry.1.DelaySeconds", "5"),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name",
                "n",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType",
                "String",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue",
                "v",
            ),
        ];
        let params = params
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let input: SendMessageBatchInput = Input::Query(params).decode().unwrap();
        let entries = input.entries.unwrap();
        let [e] = entries.as_slice() else {
            panic!("one entry: {}", entries.len())
        };
        assert_eq!(e.id.as_deref(), Some("a"));
        assert_eq!(e.message.message_body.as_deref(), Some("b"));
        assert_eq!(e.message.delay_seconds, Some(5));
        let attributes = e.message.message_attributes.as_ref().unwrap();
        assert_eq!(attributes["n"].data_type.as_deref(), Some("String"));
        assert_eq!(attributes["n"].string_value.as_deref(), Some("v"));
    }
}
