//! The one error type of cauda: [`SqsError`], whose [`ErrorCode`] knows its JSON `__type`,
//! its Query `<Code>` (also sent as `x-amzn-query-error`), its HTTP status and its fault.
//!
//! No HTTP, XML or JSON types here: the protocol layer renders these.

use std::fmt;

/// Who is at fault, as AWS reports it (`<Type>` in Query, the suffix of `x-amzn-query-error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Sender,
    Receiver,
}

macro_rules! error_codes {
    ($( $variant:ident => ($shape:expr, $query:expr, $status:expr, $fault:ident) ),* $(,)?) => {
        /// Every error code cauda can answer with
        /// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html> and each action's page).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $variant ),* }

        impl ErrorCode {
            /// All codes, for table-driven tests.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant ),* ];

            /// The Smithy shape name used as the JSON `__type` (after the `#`).
            pub fn json_type(self) -> &'static str {
                match self { $( ErrorCode::$variant => $shape ),* }
            }
            /// The legacy Query `<Code>`, also the code in `x-amzn-query-error`.
            pub fn query_code(self) -> &'static str {
                match self { $( ErrorCode::$variant => $query ),* }
            }
            /// The HTTP status AWS answers with.
            pub fn http_status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status ),* }
            }
            pub fn fault(self) -> Fault {
                match self { $( ErrorCode::$variant => Fault::$fault ),* }
            }
        }
    };
}

error_codes! {
    QueueDoesNotExist => ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400, Sender),
    QueueNameExists => ("QueueNameExists", "QueueAlreadyExists", 400, Sender),
    QueueDeletedRecently => ("QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently", 400, Sender),
    PurgeQueueInProgress => ("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", 403, Sender),
    MessageNotInflight => ("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", 400, Sender),
    ReceiptHandleIsInvalid => ("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 404, Sender),
    InvalidIdFormat => ("InvalidIdFormat", "InvalidIdFormat", 400, Sender),
    TooManyEntriesInBatchRequest => ("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400, Sender),
    EmptyBatchRequest => ("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", 400, Sender),
    BatchEntryIdsNotDistinct => ("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400, Sender),
    BatchRequestTooLong => ("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", 400, Sender),
    InvalidBatchEntryId => ("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", 400, Sender),
    UnsupportedOperation => ("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", 400, Sender),
    InvalidAttributeName => ("InvalidAttributeName", "InvalidAttributeName", 400, Sender),
    InvalidAttributeValue => ("InvalidAttributeValue", "InvalidAttributeValue", 400, Sender),
    InvalidMessageContents => ("InvalidMessageContents", "InvalidMessageContents", 400, Sender),
    OverLimit => ("OverLimit", "OverLimit", 403, Sender),
    RequestThrottled => ("RequestThrottled", "RequestThrottled", 403, Sender),
    InvalidAddress => ("InvalidAddress", "InvalidAddress", 404, Sender),
    InvalidSecurity => ("InvalidSecurity", "InvalidSecurity", 403, Sender),
    ResourceNotFoundException => ("ResourceNotFoundException", "ResourceNotFoundException", 404, Sender),
    KmsAccessDenied => ("KmsAccessDenied", "KMS.AccessDeniedException", 400, Sender),
    KmsDisabled => ("KmsDisabled", "KMS.DisabledException", 400, Sender),
    KmsInvalidKeyUsage => ("KmsInvalidKeyUsage", "KMS.InvalidKeyUsageException", 400, Sender),
    KmsInvalidState => ("KmsInvalidState", "KMS.InvalidStateException", 400, Sender),
    KmsNotFound => ("KmsNotFound", "KMS.NotFoundException", 400, Sender),
    KmsOptInRequired => ("KmsOptInRequired", "KMS.OptInRequired", 403, Sender),
    KmsThrottled => ("KmsThrottled", "KMS.ThrottlingException", 400, Sender),
    InvalidParameterValue => ("InvalidParameterValueException", "InvalidParameterValue", 400, Sender),
    MissingParameter => ("MissingRequiredParameterException", "MissingParameter", 400, Sender),
    AccessDenied => ("AccessDeniedException", "AccessDenied", 403, Sender),
    IncompleteSignature => ("IncompleteSignature", "IncompleteSignature", 400, Sender),
    InternalFailure => ("InternalFailure", "InternalFailure", 500, Receiver),
    InvalidAction => ("InvalidAction", "InvalidAction", 400, Sender),
    InvalidClientTokenId => ("InvalidClientTokenId", "InvalidClientTokenId", 403, Sender),
    InvalidParameterCombination => ("InvalidParameterCombination", "InvalidParameterCombination", 400, Sender),
    InvalidQueryParameter => ("InvalidQueryParameter", "InvalidQueryParameter", 400, Sender),
    MalformedQueryString => ("MalformedQueryString", "MalformedQueryString", 404, Sender),
    MissingAction => ("MissingAction", "MissingAction", 400, Sender),
    MissingAuthenticationToken => ("MissingAuthenticationToken", "MissingAuthenticationToken", 403, Sender),
    NotAuthorized => ("NotAuthorized", "NotAuthorized", 400, Sender),
    OptInRequired => ("OptInRequired", "OptInRequired", 403, Sender),
    RequestExpired => ("RequestExpired", "RequestExpired", 400, Sender),
    ServiceUnavailable => ("ServiceUnavailable", "ServiceUnavailable", 503, Receiver),
    ThrottlingException => ("ThrottlingException", "ThrottlingException", 400, Sender),
    ValidationError => ("ValidationError", "ValidationError", 400, Sender),
    SignatureDoesNotMatch => ("SignatureDoesNotMatch", "SignatureDoesNotMatch", 403, Sender),
    RequestEntityTooLarge => ("RequestEntityTooLarge", "RequestEntityTooLarge", 413, Sender),
    // Not an SQS code (AWS's endpoints answer a stalled body at their own front ends): the
    // answer to a body slower than `--body-read-timeout-secs`.
    RequestTimeout => ("RequestTimeout", "RequestTimeout", 408, Sender),
}

/// An SQS error: a code from the table and a human message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqsError {
    pub code: ErrorCode,
    pub message: String,
}

impl SqsError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        SqsError {
            code,
            message: message.into(),
        }
    }

    /// `MissingParameter`: "The request must contain the parameter X."
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            ErrorCode::MissingParameter,
            format!("The request must contain the parameter {name}."),
        )
    }

    /// `InvalidParameterValue`: "Value V for parameter P is invalid. Reason: R"
    pub fn invalid_parameter(param: &str, value: impl fmt::Display, reason: &str) -> Self {
        Self::new(
            ErrorCode::InvalidParameterValue,
            format!("Value {value} for parameter {param} is invalid. Reason: {reason}"),
        )
    }

    /// `InvalidAttributeValue`: "Invalid value for the parameter X."
    pub fn invalid_attribute_value(name: &str) -> Self {
        Self::new(
            ErrorCode::InvalidAttributeValue,
            format!("Invalid value for the parameter {name}."),
        )
    }

    /// `InvalidAttributeName`: "Unknown Attribute X."
    pub fn unknown_attribute(name: &str) -> Self {
        Self::new(
            ErrorCode::InvalidAttributeName,
            format!("Unknown Attribute {name}."),
        )
    }

    /// The Query-protocol wording of the missing-queue error.
    pub fn queue_does_not_exist() -> Self {
        Self::new(
            ErrorCode::QueueDoesNotExist,
            "The specified queue does not exist.",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalFailure, message)
    }
}

impl fmt::Display for SqsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.query_code(), self.message)
    }
}

impl std::error::Error for SqsError {}

pub type SqsResult<T> = Result<T, SqsError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_consistent_row() {
        for code in ErrorCode::ALL {
            let status = code.http_status();
            assert!((400..600).contains(&status), "{code:?}");
            assert_eq!(code.fault() == Fault::Receiver, status >= 500, "{code:?}");
            assert!(!code.json_type().is_empty() && !code.query_code().is_empty());
        }
    }

    #[test]
    fn recorded_rows() {
        assert_eq!(
            ErrorCode::QueueDoesNotExist.query_code(),
            "AWS.SimpleQueueService.NonExistentQueue"
        );
        assert_eq!(
            ErrorCode::QueueNameExists.query_code(),
            "QueueAlreadyExists"
        );
        assert_eq!(ErrorCode::PurgeQueueInProgress.http_status(), 403);
        assert_eq!(ErrorCode::OverLimit.http_status(), 403);
        assert_eq!(ErrorCode::ResourceNotFoundException.http_status(), 404);
        assert_eq!(
            ErrorCode::InvalidParameterValue.json_type(),
            "InvalidParameterValueException"
        );
        assert_eq!(
            ErrorCode::MissingParameter.json_type(),
            "MissingRequiredParameterException"
        );
        assert_eq!(ErrorCode::SignatureDoesNotMatch.http_status(), 403);
        assert_eq!(ErrorCode::InternalFailure.fault(), Fault::Receiver);
    }
}
