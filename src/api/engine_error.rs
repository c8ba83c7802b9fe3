//! The one mapping of the engine's errors to SQS errors: each [`EngineError`] kind gets its
//! [`ErrorCode`], its message, and the wire names of the parameters it names.

use crate::engine::message::INVALID_CHARS;
use crate::engine::{EngineError, Param};
use crate::error::{ErrorCode, SqsError};

/// The name a parameter has on the wire (the Query name; the messages of both protocols use it).
fn wire_name(param: Param) -> &'static str {
    match param {
        Param::Attributes => "Attribute.1.Name",
        Param::Tags => "Tags",
        Param::TagKeys => "TagKeys",
        Param::Label => "Label",
        Param::AccountIds => "AWSAccountIds",
        Param::AccountId => "AWSAccountId",
        Param::Actions => "Actions",
        Param::Action => "ActionName.1",
        Param::MessageBody => "MessageBody",
        Param::MessageGroupId => "MessageGroupId",
        Param::MessageDeduplicationId => "MessageDeduplicationId",
        Param::DelaySeconds => "DelaySeconds",
        Param::VisibilityTimeout => "VisibilityTimeout",
        Param::ReceiptHandle => "ReceiptHandle",
        Param::TraceHeader => "AWSTraceHeader",
        Param::RedrivePolicy => "RedrivePolicy",
        Param::RedriveAllowPolicy => "RedriveAllowPolicy",
        Param::MaxNumberOfMessagesPerSecond => "MaxNumberOfMessagesPerSecond",
        Param::MaxResults => "MaxResults",
        Param::TaskHandle => "TaskHandle",
        Param::SourceArn => "SourceArn",
        Param::DestinationArn => "DestinationArn",
    }
}

impl From<EngineError> for SqsError {
    fn from(e: EngineError) -> Self {
        let invalid_handle = |handle: &str, reason: &str| {
            SqsError::invalid_parameter(wire_name(Param::ReceiptHandle), handle, reason)
        };
        match e {
            EngineError::QueueDoesNotExist => SqsError::queue_does_not_exist(),
            EngineError::QueueNameExists { attribute } => SqsError::new(
                ErrorCode::QueueNameExists,
                format!("A queue already exists with the same name and a different value for attribute {attribute}"),
            ),
            EngineError::QueueDeletedRecently => SqsError::new(
                ErrorCode::QueueDeletedRecently,
                "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
            ),
            EngineError::PurgeInProgress { queue } => SqsError::new(
                ErrorCode::PurgeQueueInProgress,
                format!("Only one PurgeQueue operation on {queue} is allowed every 60 seconds."),
            ),
            EngineError::ReceiptHandleInvalid { handle } => SqsError::new(
                ErrorCode::ReceiptHandleIsInvalid,
                format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
            ),
            EngineError::ReceiptHandleExpired { handle } => {
                invalid_handle(&handle, "The receipt handle has expired.")
            }
            EngineError::MessageNotAvailable { handle } => invalid_handle(
                &handle,
                "Message does not exist or is not available for visibility timeout change.",
            ),
            EngineError::TooManyInFlight => SqsError::new(
                ErrorCode::OverLimit,
                "Too many messages in flight for this queue.",
            ),
            EngineError::InvalidParameter {
                param,
                value,
                reason,
            } => SqsError::invalid_parameter(wire_name(param), value, &reason),
            EngineError::MissingParameter(param) => SqsError::missing_parameter(wire_name(param)),
            EngineError::MalformedParameter(param) => SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!("Value for parameter {} is invalid.", wire_name(param)),
            ),
            EngineError::InvalidRequest(message) => {
                SqsError::new(ErrorCode::InvalidParameterValue, message)
            }
            EngineError::UnknownAttribute(name) => SqsError::unknown_attribute(&name),
            EngineError::InvalidAttributeName(message) => {
                SqsError::new(ErrorCode::InvalidAttributeName, message)
            }
            EngineError::InvalidAttributeValue { name, reason: None } => {
                SqsError::invalid_attribute_value(&name)
            }
            EngineError::InvalidAttributeValue {
                name,
                reason: Some(reason),
            } => SqsError::new(
                ErrorCode::InvalidAttributeValue,
                format!("Invalid value for the parameter {name}. Reason: {reason}"),
            ),
            EngineError::InvalidMessageContents => {
                SqsError::new(ErrorCode::InvalidMessageContents, INVALID_CHARS)
            }
            EngineError::OverLimit(message) => SqsError::new(ErrorCode::OverLimit, message),
            EngineError::ResourceNotFound(param) => SqsError::new(
                ErrorCode::ResourceNotFoundException,
                format!(
                    "The resource that you specified for the {} parameter doesn't exist.",
                    wire_name(param)
                ),
            ),
            EngineError::MoveTaskNotFound => {
                SqsError::new(ErrorCode::ResourceNotFoundException, "Task does not exist.")
            }
            EngineError::Internal => SqsError::internal("Internal error."),
            EngineError::Unflushed => SqsError::internal(
                "Internal error: the change could not be made durable; its outcome is unknown.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per kind: the code and the exact message clients see.
    #[test]
    fn every_kind_maps_to_its_code_and_message() {
        let handle = || "h".to_string();
        let rows: Vec<(EngineError, ErrorCode, &str)> = vec![
            (EngineError::QueueDoesNotExist, ErrorCode::QueueDoesNotExist, "The specified queue does not exist."),
            (EngineError::QueueNameExists { attribute: "DelaySeconds".into() }, ErrorCode::QueueNameExists, "A queue already exists with the same name and a different value for attribute DelaySeconds"),
            (EngineError::QueueDeletedRecently, ErrorCode::QueueDeletedRecently, "You must wait 60 seconds after deleting a queue before you can create another with the same name."),
            (EngineError::PurgeInProgress { queue: "q".into() }, ErrorCode::PurgeQueueInProgress, "Only one PurgeQueue operation on q is allowed every 60 seconds."),
            (EngineError::ReceiptHandleInvalid { handle: handle() }, ErrorCode::ReceiptHandleIsInvalid, "The input receipt handle \"h\" is not a valid receipt handle."),
            (EngineError::ReceiptHandleExpired { handle: handle() }, ErrorCode::InvalidParameterValue, "Value h for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."),
            (EngineError::MessageNotAvailable { handle: handle() }, ErrorCode::InvalidParameterValue, "Value h for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."),
            (EngineError::TooManyInFlight, ErrorCode::OverLimit, "Too many messages in flight for this queue."),
            (EngineError::invalid(Param::Action, "Foo", "Only the queue owner is allowed to invoke this action."), ErrorCode::InvalidParameterValue, "Value Foo for parameter ActionName.1 is invalid. Reason: Only the queue owner is allowed to invoke this action."),
            (EngineError::invalid(Param::TraceHeader, "x", "Invalid trace header."), ErrorCode::InvalidParameterValue, "Value x for parameter AWSTraceHeader is invalid. Reason: Invalid trace header."),
            (EngineError::invalid(Param::AccountId, "1", "An AWS account id must have 12 digits."), ErrorCode::InvalidParameterValue, "Value 1 for parameter AWSAccountId is invalid. Reason: An AWS account id must have 12 digits."),
            (EngineError::MissingParameter(Param::Attributes), ErrorCode::MissingParameter, "The request must contain the parameter Attribute.1.Name."),
            (EngineError::MissingParameter(Param::AccountIds), ErrorCode::MissingParameter, "The request must contain the parameter AWSAccountIds."),
            (EngineError::MalformedParameter(Param::TaskHandle), ErrorCode::InvalidParameterValue, "Value for parameter TaskHandle is invalid."),
            (EngineError::InvalidRequest("Tag key k is invalid.".into()), ErrorCode::InvalidParameterValue, "Tag key k is invalid."),
            (EngineError::UnknownAttribute("Bogus".into()), ErrorCode::InvalidAttributeName, "Unknown Attribute Bogus."),
            (EngineError::InvalidAttributeName("You can specify the DeduplicationScope only when FifoQueue is set to true.".into()), ErrorCode::InvalidAttributeName, "You can specify the DeduplicationScope only when FifoQueue is set to true."),
            (EngineError::invalid_attribute_value("DelaySeconds"), ErrorCode::InvalidAttributeValue, "Invalid value for the parameter DelaySeconds."),
            (EngineError::InvalidAttributeValue { name: "FifoQueue".into(), reason: Some("Modifying queue type is not supported.") }, ErrorCode::InvalidAttributeValue, "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported."),
            (EngineError::InvalidMessageContents, ErrorCode::InvalidMessageContents, INVALID_CHARS),
            (EngineError::OverLimit("A queue policy can have at most 20 statements.".into()), ErrorCode::OverLimit, "A queue policy can have at most 20 statements."),
            (EngineError::ResourceNotFound(Param::SourceArn), ErrorCode::ResourceNotFoundException, "The resource that you specified for the SourceArn parameter doesn't exist."),
            (EngineError::ResourceNotFound(Param::DestinationArn), ErrorCode::ResourceNotFoundException, "The resource that you specified for the DestinationArn parameter doesn't exist."),
            (EngineError::MoveTaskNotFound, ErrorCode::ResourceNotFoundException, "Task does not exist."),
            (EngineError::Internal, ErrorCode::InternalFailure, "Internal error."),
            (EngineError::Unflushed, ErrorCode::InternalFailure, "Internal error: the change could not be made durable; its outcome is unknown."),
        ];
        for (kind, code, message) in rows {
            let e = SqsError::from(kind.clone());
            assert_eq!((e.code, e.message.as_str()), (code, message), "{kind:?}");
        }
    }
}
