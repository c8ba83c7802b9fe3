//! Messaging actions: SendMessage(Batch), ReceiveMessage, DeleteMessage(Batch),
//! ChangeMessageVisibility(Batch), PurgeQueue.

use std::collections::{BTreeMap, HashSet};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::queues::QueueOnlyInput;
use super::{required, Context};
use crate::engine::message::{self, AttributeValue, MessageAttributes};
use crate::engine::{ReceiveRequest, SendEntry, SendOutcome};
use crate::error::{ErrorCode, SqsError, SqsResult};
use crate::protocol::query::{Field, Shape, MESSAGE_ATTRIBUTE_MAP, STRING_LIST};

const MAX_BATCH_ENTRIES: usize = 10;
const MAX_BATCH_BYTES: usize = 1_048_576;

/// A message attribute value as it travels on the wire (binary as base64).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireAttributeValue {
    #[serde(skip_serializing_if = "Option::is_none")]
    string_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binary_value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    string_list_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    binary_list_values: Vec<String>,
    data_type: Option<String>,
}

type WireAttributes = BTreeMap<String, WireAttributeValue>;

fn to_engine_attributes(wire: Option<WireAttributes>) -> SqsResult<MessageAttributes> {
    let mut out = MessageAttributes::new();
    for (name, v) in wire.unwrap_or_default() {
        if !v.string_list_values.is_empty() || !v.binary_list_values.is_empty() {
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!("Message attribute '{name}': list values are reserved and not supported."),
            ));
        }
        let binary_value = match v.binary_value {
            Some(b) => Some(STANDARD.decode(b.trim()).map_err(|_| {
                SqsError::new(
                    ErrorCode::InvalidParameterValue,
                    format!("Message attribute '{name}' has an invalid base64 BinaryValue."),
                )
            })?),
            None => None,
        };
        out.insert(
            name,
            AttributeValue {
                data_type: v.data_type.unwrap_or_default(),
                string_value: v.string_value,
                binary_value,
            },
        );
    }
    Ok(out)
}

fn to_wire(v: &AttributeValue) -> WireAttributeValue {
    WireAttributeValue {
        string_value: v.string_value.clone(),
        binary_value: v.binary_value.as_ref().map(|b| STANDARD.encode(b)),
        data_type: Some(v.data_type.clone()),
        ..Default::default()
    }
}

/// The `AWSTraceHeader` system attribute, or else the request's `X-Amzn-Trace-Id`.
fn trace_header(ctx: &Context, system: Option<WireAttributes>) -> SqsResult<Option<String>> {
    let mut trace = ctx.trace_header.clone();
    for (name, v) in system.unwrap_or_default() {
        if name != "AWSTraceHeader" {
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!("Message system attribute name '{name}' is invalid."),
            ));
        }
        if v.data_type.as_deref() != Some("String")
            || v.string_value.as_deref().is_none_or(str::is_empty)
        {
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                "Message system attribute 'AWSTraceHeader' must be of type String with a non-empty value.",
            ));
        }
        trace = v.string_value;
    }
    Ok(trace)
}

// ----- SendMessage -----

const SEND_FIELDS: [Field; 6] = [
    Field("MessageBody", "MessageBody", Shape::Str),
    Field("DelaySeconds", "DelaySeconds", Shape::Int),
    Field(
        "MessageAttributes",
        "MessageAttribute",
        MESSAGE_ATTRIBUTE_MAP,
    ),
    Field(
        "MessageSystemAttributes",
        "MessageSystemAttribute",
        MESSAGE_ATTRIBUTE_MAP,
    ),
    Field(
        "MessageDeduplicationId",
        "MessageDeduplicationId",
        Shape::Str,
    ),
    Field("MessageGroupId", "MessageGroupId", Shape::Str),
];

pub const SEND_MESSAGE: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    SEND_FIELDS[0],
    SEND_FIELDS[1],
    SEND_FIELDS[2],
    SEND_FIELDS[3],
    SEND_FIELDS[4],
    SEND_FIELDS[5],
];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageInput {
    queue_url: Option<String>,
    #[serde(flatten)]
    entry: WireSendEntry,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireSendEntry {
    message_body: Option<String>,
    delay_seconds: Option<i64>,
    message_attributes: Option<WireAttributes>,
    message_system_attributes: Option<WireAttributes>,
    message_deduplication_id: Option<String>,
    message_group_id: Option<String>,
}

impl WireSendEntry {
    fn into_entry(self, ctx: &Context) -> SqsResult<SendEntry> {
        Ok(SendEntry {
            body: required(self.message_body.as_deref(), "MessageBody")?.to_string(),
            delay_seconds: self.delay_seconds,
            attributes: to_engine_attributes(self.message_attributes)?,
            trace_header: trace_header(ctx, self.message_system_attributes)?,
            group_id: self.message_group_id,
            dedup_id: self.message_deduplication_id,
        })
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
    let q = ctx.queue(input.queue_url.as_deref())?;
    let entry = input.entry.into_entry(ctx)?;
    let mut results = ctx
        .engine
        .send_messages(&q, vec![entry], &ctx.sender_id, false)
        .await?;
    results
        .pop()
        .unwrap_or_else(|| Err(SqsError::internal("no send result")))
        .map(Into::into)
}

// ----- batches -----

/// The output of the three batch actions. An empty list is left out: AWS's JSON omits an empty
/// `Failed` (recorded, SQS-REFERENCE §1.5) and, by the same rule, an empty `Successful`; the
/// Query XML has no entries either way.
#[derive(Serialize)]
pub struct BatchOutput<T> {
    #[serde(rename = "Successful", skip_serializing_if = "Vec::is_empty")]
    successful: Vec<T>,
    #[serde(rename = "Failed", skip_serializing_if = "Vec::is_empty")]
    failed: Vec<BatchError>,
}

impl BatchOutput<IdOnly> {
    /// Files the engine's per-entry results under their entry ids.
    fn file(&mut self, ids: Vec<String>, results: Vec<SqsResult<()>>) {
        for (id, result) in ids.into_iter().zip(results) {
            match result {
                Ok(()) => self.successful.push(IdOnly { id }),
                Err(err) => self.failed.push(BatchError::new(&id, err)),
            }
        }
    }
}

impl<T> Default for BatchOutput<T> {
    fn default() -> Self {
        BatchOutput {
            successful: Vec::new(),
            failed: Vec::new(),
        }
    }
}

#[derive(Serialize)]
pub struct BatchError {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "SenderFault")]
    sender_fault: bool,
    #[serde(rename = "Code")]
    code: String,
    #[serde(rename = "Message")]
    message: String,
}

impl BatchError {
    fn new(id: &str, e: SqsError) -> Self {
        BatchError {
            id: id.to_string(),
            sender_fault: e.code.fault() == crate::error::Fault::Sender,
            code: e.code.query_code().to_string(),
            message: e.message,
        }
    }
}

#[derive(Serialize)]
pub struct IdOnly {
    #[serde(rename = "Id")]
    id: String,
}

/// The whole-request checks of every batch action, in AWS's order.
fn check_batch<'a, I: IntoIterator<Item = Option<&'a str>>>(
    ids: I,
    entry_name: &str,
) -> SqsResult<()> {
    let ids: Vec<Option<&str>> = ids.into_iter().collect();
    if ids.is_empty() {
        return Err(SqsError::new(
            ErrorCode::EmptyBatchRequest,
            format!("There should be at least one {entry_name} in the request."),
        ));
    }
    if ids.len() > MAX_BATCH_ENTRIES {
        return Err(SqsError::new(
            ErrorCode::TooManyEntriesInBatchRequest,
            format!(
                "Maximum number of entries per request are 10. You have sent {}.",
                ids.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for id in &ids {
        if !id.is_some_and(message::valid_batch_entry_id) {
            return Err(SqsError::new(
                ErrorCode::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
    }
    for id in ids.into_iter().flatten() {
        if !seen.insert(id) {
            return Err(SqsError::new(
                ErrorCode::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchInput {
    queue_url: Option<String>,
    entries: Option<Vec<SendBatchEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendBatchEntry {
    id: Option<String>,
    #[serde(flatten)]
    entry: WireSendEntry,
}

const SEND_BATCH_ENTRY: Shape = Shape::Struct(&[
    Field("Id", "Id", Shape::Str),
    SEND_FIELDS[0],
    SEND_FIELDS[1],
    SEND_FIELDS[2],
    SEND_FIELDS[3],
    SEND_FIELDS[4],
    SEND_FIELDS[5],
]);
pub const SEND_MESSAGE_BATCH: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field(
        "Entries",
        "SendMessageBatchRequestEntry",
        Shape::List(&SEND_BATCH_ENTRY),
    ),
];

/// A sent batch entry: its `Id` and SendMessage's members. They are listed here rather than
/// flattened in, so that a serializer sees the optional ones it leaves out (the Query JSON
/// rendering shows them as `null`).
#[derive(Serialize)]
pub struct SendBatchResult {
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

impl SendBatchResult {
    fn new(id: String, o: SendOutcome) -> Self {
        SendBatchResult {
            id,
            message_id: o.message_id,
            md5_of_message_body: o.md5_of_body,
            md5_of_message_attributes: o.md5_of_attributes,
            md5_of_message_system_attributes: o.md5_of_system_attributes,
            sequence_number: o.sequence_number,
        }
    }
}

pub async fn send_message_batch(
    ctx: &Context,
    input: SendMessageBatchInput,
) -> SqsResult<BatchOutput<SendBatchResult>> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    let entries = input.entries.unwrap_or_default();
    check_batch(
        entries.iter().map(|e| e.id.as_deref()),
        "SendMessageBatchRequestEntry",
    )?;
    if q.fifo && entries.iter().any(|e| e.entry.message_group_id.is_none()) {
        return Err(SqsError::new(
            ErrorCode::InvalidParameterValue,
            "The request must contain the parameter MessageGroupId.",
        ));
    }
    // Like a missing MessageGroupId, one entry without a deduplication id fails the whole
    // call [AWS-rec], not just its entry.
    if q.fifo
        && entries
            .iter()
            .any(|e| e.entry.message_deduplication_id.is_none())
        && !q.content_based_deduplication()
    {
        return Err(SqsError::new(
            ErrorCode::InvalidParameterValue,
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
        ));
    }
    let mut out = BatchOutput::default();
    let mut ids = Vec::new();
    let mut valid = Vec::new();
    for e in entries {
        let id = e.id.unwrap_or_default();
        match e.entry.into_entry(ctx) {
            Ok(entry) => {
                ids.push(id);
                valid.push(entry);
            }
            Err(err) => out.failed.push(BatchError::new(&id, err)),
        }
    }
    let total: usize = valid
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
        .send_messages(&q, valid, &ctx.sender_id, true)
        .await?;
    for (id, result) in ids.into_iter().zip(results) {
        match result {
            Ok(o) => out.successful.push(SendBatchResult::new(id, o)),
            Err(e) => out.failed.push(BatchError::new(&id, e)),
        }
    }
    Ok(out)
}

// ----- ReceiveMessage -----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageInput {
    queue_url: Option<String>,
    attribute_names: Option<Vec<String>>,
    message_system_attribute_names: Option<Vec<String>>,
    message_attribute_names: Option<Vec<String>>,
    max_number_of_messages: Option<i64>,
    visibility_timeout: Option<i64>,
    wait_time_seconds: Option<i64>,
    receive_request_attempt_id: Option<String>,
}
pub const RECEIVE_MESSAGE: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field("AttributeNames", "AttributeName", STRING_LIST),
    Field(
        "MessageSystemAttributeNames",
        "MessageSystemAttributeName",
        STRING_LIST,
    ),
    Field("MessageAttributeNames", "MessageAttributeName", STRING_LIST),
    Field("MaxNumberOfMessages", "MaxNumberOfMessages", Shape::Int),
    Field("VisibilityTimeout", "VisibilityTimeout", Shape::Int),
    Field("WaitTimeSeconds", "WaitTimeSeconds", Shape::Int),
    Field(
        "ReceiveRequestAttemptId",
        "ReceiveRequestAttemptId",
        Shape::Str,
    ),
];

#[derive(Serialize)]
pub struct MessageOutput {
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
    message_attributes: BTreeMap<String, WireAttributeValue>,
}

#[derive(Serialize)]
pub struct ReceiveMessageOutput {
    #[serde(rename = "Messages", skip_serializing_if = "Vec::is_empty")]
    messages: Vec<MessageOutput>,
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
    let q = ctx.queue(input.queue_url.as_deref())?;
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
            .map(|m| MessageOutput {
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

// ----- DeleteMessage, ChangeMessageVisibility -----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageInput {
    queue_url: Option<String>,
    receipt_handle: Option<String>,
}
pub const DELETE_MESSAGE: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field("ReceiptHandle", "ReceiptHandle", Shape::Str),
];

pub async fn delete_message(ctx: &Context, input: DeleteMessageInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    ctx.engine
        .delete_message(
            &q,
            required(input.receipt_handle.as_deref(), "ReceiptHandle")?,
        )
        .await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchInput {
    queue_url: Option<String>,
    entries: Option<Vec<DeleteBatchEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteBatchEntry {
    id: Option<String>,
    receipt_handle: Option<String>,
}
pub const DELETE_MESSAGE_BATCH: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field(
        "Entries",
        "DeleteMessageBatchRequestEntry",
        Shape::List(&Shape::Struct(&[
            Field("Id", "Id", Shape::Str),
            Field("ReceiptHandle", "ReceiptHandle", Shape::Str),
        ])),
    ),
];

pub async fn delete_message_batch(
    ctx: &Context,
    input: DeleteMessageBatchInput,
) -> SqsResult<BatchOutput<IdOnly>> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    let entries = input.entries.unwrap_or_default();
    check_batch(
        entries.iter().map(|e| e.id.as_deref()),
        "DeleteMessageBatchRequestEntry",
    )?;
    let mut out = BatchOutput::default();
    let mut ids = Vec::new();
    let mut handles = Vec::new();
    for e in &entries {
        let id = e.id.clone().unwrap_or_default();
        match required(e.receipt_handle.as_deref(), "ReceiptHandle") {
            Ok(handle) => {
                ids.push(id);
                handles.push(handle);
            }
            Err(err) => out.failed.push(BatchError::new(&id, err)),
        }
    }
    let results = ctx.engine.delete_messages(&q, &handles).await?;
    out.file(ids, results);
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityInput {
    queue_url: Option<String>,
    receipt_handle: Option<String>,
    visibility_timeout: Option<i64>,
}
pub const CHANGE_MESSAGE_VISIBILITY: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field("ReceiptHandle", "ReceiptHandle", Shape::Str),
    Field("VisibilityTimeout", "VisibilityTimeout", Shape::Int),
];

pub async fn change_message_visibility(
    ctx: &Context,
    input: ChangeMessageVisibilityInput,
) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    let handle = required(input.receipt_handle.as_deref(), "ReceiptHandle")?;
    let timeout = input
        .visibility_timeout
        .ok_or_else(|| SqsError::missing_parameter("VisibilityTimeout"))?;
    ctx.engine.change_visibility(&q, handle, timeout).await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityBatchInput {
    queue_url: Option<String>,
    entries: Option<Vec<ChangeVisibilityEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeVisibilityEntry {
    id: Option<String>,
    receipt_handle: Option<String>,
    visibility_timeout: Option<i64>,
}
pub const CHANGE_MESSAGE_VISIBILITY_BATCH: &[Field] = &[
    Field("QueueUrl", "QueueUrl", Shape::Str),
    Field(
        "Entries",
        "ChangeMessageVisibilityBatchRequestEntry",
        Shape::List(&Shape::Struct(&[
            Field("Id", "Id", Shape::Str),
            Field("ReceiptHandle", "ReceiptHandle", Shape::Str),
            Field("VisibilityTimeout", "VisibilityTimeout", Shape::Int),
        ])),
    ),
];

pub async fn change_message_visibility_batch(
    ctx: &Context,
    input: ChangeMessageVisibilityBatchInput,
) -> SqsResult<BatchOutput<IdOnly>> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    let entries = input.entries.unwrap_or_default();
    check_batch(
        entries.iter().map(|e| e.id.as_deref()),
        "ChangeMessageVisibilityBatchRequestEntry",
    )?;
    let mut out = BatchOutput::default();
    let mut ids = Vec::new();
    let mut changes = Vec::new();
    for e in &entries {
        let id = e.id.clone().unwrap_or_default();
        match (
            required(e.receipt_handle.as_deref(), "ReceiptHandle"),
            e.visibility_timeout,
        ) {
            (Ok(handle), Some(timeout)) => {
                ids.push(id);
                changes.push((handle, timeout));
            }
            (Ok(_), None) => out.failed.push(BatchError::new(
                &id,
                SqsError::missing_parameter("VisibilityTimeout"),
            )),
            (Err(err), _) => out.failed.push(BatchError::new(&id, err)),
        }
    }
    let results = ctx.engine.change_visibilities(&q, &changes).await?;
    out.file(ids, results);
    Ok(out)
}

pub async fn purge_queue(ctx: &Context, input: QueueOnlyInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref())?;
    ctx.engine.purge(&q).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_checks_in_aws_order() {
        assert_eq!(
            check_batch(Vec::<Option<&str>>::new(), "E")
                .unwrap_err()
                .code,
            ErrorCode::EmptyBatchRequest
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("i{i}")).collect();
        let e = check_batch(eleven.iter().map(|s| Some(s.as_str())), "E").unwrap_err();
        assert_eq!(e.code, ErrorCode::TooManyEntriesInBatchRequest);
        assert_eq!(
            e.message,
            "Maximum number of entries per request are 10. You have sent 11."
        );
        assert_eq!(
            check_batch([Some("a"), Some("invalid:id")], "E")
                .unwrap_err()
                .code,
            ErrorCode::InvalidBatchEntryId
        );
        assert_eq!(
            check_batch([Some("a"), None], "E").unwrap_err().code,
            ErrorCode::InvalidBatchEntryId
        );
        assert_eq!(
            check_batch([Some("a"), Some("a")], "E").unwrap_err().code,
            ErrorCode::BatchEntryIdsNotDistinct
        );
        assert!(check_batch([Some("a"), Some("b")], "E").is_ok());
    }
}
