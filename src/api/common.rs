//! What several actions share: paging, string maps, message attribute values and SendMessage's
//! members (SendMessageBatch's entries have them too).

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde::Serialize;

use super::{required, Context};
use crate::engine::message::{AttributeValue, MessageAttributes};
use crate::engine::SendEntry;
use crate::error::{ErrorCode, SqsError, SqsResult};
use crate::protocol::query::{query_input, QueryShape, Shape};

pub type StringMap = BTreeMap<String, String>;

/// A map member as the engine takes it.
pub fn pairs(map: Option<StringMap>) -> Vec<(String, String)> {
    map.unwrap_or_default().into_iter().collect()
}

/// Opaque paging token: base64 of the last name returned.
pub(crate) fn next_token_after(last: &str) -> String {
    URL_SAFE_NO_PAD.encode(last)
}

pub(crate) fn decode_next_token(token: &str) -> SqsResult<String> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| SqsError::invalid_parameter("NextToken", token, "Invalid NextToken value."))
}

/// Pages `names` (sorted) after `next_token`; `NextToken` only when `max_results` was given.
pub(crate) fn page<T, F: Fn(&T) -> &str>(
    items: Vec<T>,
    key: F,
    max_results: Option<i64>,
    next_token: Option<&str>,
) -> SqsResult<(Vec<T>, Option<String>)> {
    if let Some(m) = max_results {
        if !(1..=1000).contains(&m) {
            return Err(SqsError::invalid_parameter(
                "MaxResults",
                m,
                "MaxResults must be an integer between 1 and 1000.",
            ));
        }
    }
    let after = next_token
        .filter(|t| !t.is_empty())
        .map(decode_next_token)
        .transpose()?;
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|i| after.as_deref().is_none_or(|a| key(i) > a))
        .collect();
    let limit = max_results.unwrap_or(1000) as usize;
    let more = rest.len() > limit;
    rest.truncate(limit);
    let token = match (more, max_results, rest.last()) {
        (true, Some(_), Some(last)) => Some(next_token_after(key(last))),
        _ => None,
    };
    Ok((rest, token))
}

query_input! {
    /// A message attribute value as it travels on the wire (binary as base64).
    #[derive(Clone, Debug, Default, Serialize)]
    pub struct MessageAttributeValue {
        #[serde(skip_serializing_if = "Option::is_none")]
        string_value: Option<String> = "StringValue",
        #[serde(skip_serializing_if = "Option::is_none")]
        binary_value: Option<String> = "BinaryValue",
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        string_list_values: Vec<String> = "StringListValues" as "StringListValue",
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        binary_list_values: Vec<String> = "BinaryListValues" as "BinaryListValue",
        data_type: Option<String> = "DataType",
    }
}

pub type MessageAttributeValues = BTreeMap<String, MessageAttributeValue>;

/// `MessageAttribute.N.Name` / `MessageAttribute.N.Value.…` (and the system attributes alike).
pub const MESSAGE_ATTRIBUTE_MAP: Shape = Shape::Map("Name", "Value", &MessageAttributeValue::SHAPE);

fn to_engine_attributes(wire: Option<MessageAttributeValues>) -> SqsResult<MessageAttributes> {
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

/// An engine attribute value as it travels on the wire.
pub fn to_wire(v: &AttributeValue) -> MessageAttributeValue {
    MessageAttributeValue {
        string_value: v.string_value.clone(),
        binary_value: v.binary_value.as_ref().map(|b| STANDARD.encode(b)),
        data_type: Some(v.data_type.clone()),
        ..Default::default()
    }
}

/// The `AWSTraceHeader` system attribute, or else the request's `X-Amzn-Trace-Id`.
fn trace_header(
    ctx: &Context,
    system: Option<MessageAttributeValues>,
) -> SqsResult<Option<String>> {
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

query_input! {
    /// SendMessage's members besides `QueueUrl`: the message a SendMessageBatch entry sends too.
    pub struct SendMessageMembers {
        message_body: Option<String> = "MessageBody",
        delay_seconds: Option<i64> = "DelaySeconds",
        message_attributes: Option<MessageAttributeValues> =
            "MessageAttributes" as "MessageAttribute" in MESSAGE_ATTRIBUTE_MAP,
        message_system_attributes: Option<MessageAttributeValues> =
            "MessageSystemAttributes" as "MessageSystemAttribute" in MESSAGE_ATTRIBUTE_MAP,
        message_deduplication_id: Option<String> = "MessageDeduplicationId",
        message_group_id: Option<String> = "MessageGroupId",
    }
}

impl SendMessageMembers {
    /// The message as the engine sends it.
    pub fn into_entry(self, ctx: &Context) -> SqsResult<SendEntry> {
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
