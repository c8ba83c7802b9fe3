//! What went wrong, in SQS terms. The engine names no wire: `api/engine_error.rs` maps each
//! kind, once, to its error code, its message and the wire names of its parameters.

use std::borrow::Cow;
use std::fmt;

use crate::store::StoreError;

pub type EngineResult<T> = Result<T, EngineError>;

/// A request parameter, by its domain name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// The attribute names of SetQueueAttributes.
    Attributes,
    Tags,
    TagKeys,
    Label,
    AccountIds,
    /// One account id of AddPermission.
    AccountId,
    Actions,
    /// One action name of AddPermission.
    Action,
    MessageBody,
    MessageGroupId,
    MessageDeduplicationId,
    DelaySeconds,
    VisibilityTimeout,
    ReceiptHandle,
    /// The `AWSTraceHeader` system attribute of a send.
    TraceHeader,
    RedrivePolicy,
    RedriveAllowPolicy,
    MaxNumberOfMessagesPerSecond,
    MaxResults,
    TaskHandle,
    SourceArn,
    DestinationArn,
}

/// Why the engine refused or failed a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// No such queue (or it was deleted meanwhile).
    QueueDoesNotExist,
    /// CreateQueue of an existing name with a different value for `attribute`.
    QueueNameExists {
        attribute: String,
    },
    /// CreateQueue of a name deleted less than the cooldown ago.
    QueueDeletedRecently,
    /// PurgeQueue of `queue` again within its cooldown.
    PurgeInProgress {
        queue: String,
    },
    /// A receipt handle that this queue did not issue.
    ReceiptHandleInvalid {
        handle: String,
    },
    /// FIFO: a handle of an earlier receive, or of a message no longer in flight.
    ReceiptHandleExpired {
        handle: String,
    },
    /// A visibility change of a message that is gone or was never received.
    MessageNotAvailable {
        handle: String,
    },
    /// A short poll of a standard queue at its in-flight limit.
    TooManyInFlight,
    /// `value` of `param` is refused, for `reason`.
    InvalidParameter {
        param: Param,
        value: String,
        reason: Cow<'static, str>,
    },
    MissingParameter(Param),
    /// The value of `param` does not even parse (no value or reason is shown).
    MalformedParameter(Param),
    /// A request refused as a whole, for the reason given.
    InvalidRequest(Cow<'static, str>),
    /// An attribute name no queue has (or not this type of queue).
    UnknownAttribute(String),
    /// An attribute name refused for the reason given.
    InvalidAttributeName(Cow<'static, str>),
    /// A value of attribute `name` refused, with a reason when one is shown.
    InvalidAttributeValue {
        name: String,
        reason: Option<&'static str>,
    },
    /// A message body with characters SQS does not allow.
    InvalidMessageContents,
    /// A limit of the queue or request, as the message says.
    OverLimit(Cow<'static, str>),
    /// The resource `param` names does not exist.
    ResourceNotFound(Param),
    /// A message move task that does not exist (for its source queue).
    MoveTaskNotFound,
    /// A failure of the server, logged where it happened.
    Internal,
    /// The request's change was written (memory and the store hold it) but the flush that
    /// would make it durable failed: the request is not acknowledged, and its change reaches
    /// the disk only if the store recovers before it stops.
    Unflushed,
}

impl EngineError {
    /// `InvalidParameter` of `param` with `value` shown as given.
    pub fn invalid(
        param: Param,
        value: impl fmt::Display,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        EngineError::InvalidParameter {
            param,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// `InvalidAttributeValue` of `name`, with no reason shown.
    pub fn invalid_attribute_value(name: &str) -> Self {
        EngineError::InvalidAttributeValue {
            name: name.to_string(),
            reason: None,
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        crate::store::log_failure("store failure", &e);
        EngineError::Internal
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for EngineError {}
