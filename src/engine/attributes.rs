//! Queue attributes (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html>): parsing and validation of the settable ones, and the
//! rendering of `GetQueueAttributes`.

use serde::{Deserialize, Serialize};

use std::borrow::Cow;

use super::{EngineError, EngineResult, Param};

/// The settable attributes of a queue, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAttributes {
    pub delay_seconds: u32,
    pub maximum_message_size: u32,
    pub message_retention_period: u32,
    pub receive_message_wait_time_seconds: u32,
    pub visibility_timeout: u32,
    pub policy: Option<String>,
    pub redrive_policy: Option<RedrivePolicy>,
    pub redrive_allow_policy: Option<RedriveAllowPolicy>,
    pub kms_master_key_id: Option<String>,
    pub kms_data_key_reuse_period_seconds: u32,
    pub sqs_managed_sse_enabled: bool,
    pub fifo_queue: bool,
    pub content_based_deduplication: bool,
    pub deduplication_scope: String,
    pub fifo_throughput_limit: String,
}

pub use super::policy::{RedriveAllowPolicy, RedrivePolicy};

pub const DEFAULT_VISIBILITY_TIMEOUT: u32 = 30;
pub const MAX_VISIBILITY_TIMEOUT: u32 = 43_200;
pub const MAX_DELAY_SECONDS: u32 = 900;
pub const MAX_MESSAGE_SIZE: u32 = 1_048_576;

impl QueueAttributes {
    pub fn new(fifo: bool) -> Self {
        QueueAttributes {
            delay_seconds: 0,
            maximum_message_size: MAX_MESSAGE_SIZE,
            message_retention_period: 345_600,
            receive_message_wait_time_seconds: 0,
            visibility_timeout: DEFAULT_VISIBILITY_TIMEOUT,
            policy: None,
            redrive_policy: None,
            redrive_allow_policy: None,
            kms_master_key_id: None,
            kms_data_key_reuse_period_seconds: 300,
            sqs_managed_sse_enabled: true,
            fifo_queue: fifo,
            content_based_deduplication: false,
            deduplication_scope: "queue".into(),
            fifo_throughput_limit: "perQueue".into(),
        }
    }

    /// The value of a settable attribute as GetQueueAttributes shows it, if it is shown.
    pub fn get(&self, name: &str) -> Option<String> {
        let fifo_only = |v: String| if self.fifo_queue { Some(v) } else { None };
        match name {
            "DelaySeconds" => Some(self.delay_seconds.to_string()),
            "MaximumMessageSize" => Some(self.maximum_message_size.to_string()),
            "MessageRetentionPeriod" => Some(self.message_retention_period.to_string()),
            "ReceiveMessageWaitTimeSeconds" => {
                Some(self.receive_message_wait_time_seconds.to_string())
            }
            "VisibilityTimeout" => Some(self.visibility_timeout.to_string()),
            "Policy" => self.policy.clone(),
            "RedrivePolicy" => self.redrive_policy.as_ref().map(|p| p.raw.clone()),
            "RedriveAllowPolicy" => self.redrive_allow_policy.as_ref().map(|p| p.raw.clone()),
            "KmsMasterKeyId" => self.kms_master_key_id.clone(),
            "KmsDataKeyReusePeriodSeconds" => self
                .kms_master_key_id
                .as_ref()
                .map(|_| self.kms_data_key_reuse_period_seconds.to_string()),
            "SqsManagedSseEnabled" => Some(self.sqs_managed_sse_enabled.to_string()),
            "FifoQueue" => fifo_only("true".into()),
            "ContentBasedDeduplication" => fifo_only(self.content_based_deduplication.to_string()),
            "DeduplicationScope" => fifo_only(self.deduplication_scope.clone()),
            "FifoThroughputLimit" => fifo_only(self.fifo_throughput_limit.clone()),
            _ => None,
        }
    }
}

/// Every attribute name GetQueueAttributes knows, in the order `All` lists them.
pub const ALL_ATTRIBUTE_NAMES: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "DelaySeconds",
    "LastModifiedTimestamp",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "QueueArn",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

const FIFO_ONLY: &[&str] = &[
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

fn parse_int(name: &str, value: &str, min: u32, max: u32) -> EngineResult<u32> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|v| (min as u64..=max as u64).contains(v))
        .map(|v| v as u32)
        .ok_or_else(|| EngineError::invalid_attribute_value(name))
}

fn parse_bool(name: &str, value: &str) -> EngineResult<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(EngineError::invalid_attribute_value(name)),
    }
}

/// Resolves what a RedrivePolicy names; supplied by the engine, which resolves it before it
/// takes the changed queue's lock (see [`dead_letter_target_arns`]).
pub trait QueueLookup {
    /// `Some(is_fifo, redrive_allow_policy)` when `arn` names an existing queue in the account
    /// and region of `source_arn`.
    fn dead_letter_target(
        &self,
        source_arn: &str,
        arn: &str,
    ) -> Option<(bool, Option<RedriveAllowPolicy>)>;
}

/// The `deadLetterTargetArn`s named by RedrivePolicy values among `changes`, so that the
/// queues they name can be resolved before any queue lock is taken.
pub fn dead_letter_target_arns(changes: &[(String, String)]) -> Vec<String> {
    changes
        .iter()
        .filter(|(k, _)| k == "RedrivePolicy")
        .filter_map(|(_, v)| super::policy::dead_letter_target_arn(v))
        .collect()
}

/// Context of an attribute change.
pub struct AttributeContext<'a> {
    pub creating: bool,
    pub queue_arn: &'a str,
    pub lookup: &'a (dyn QueueLookup + Sync),
}

/// Checks an attribute name against the queue type before its value is looked at.
fn check_name(name: &str, fifo: bool, creating: bool) -> EngineResult<()> {
    if !ALL_ATTRIBUTE_NAMES.contains(&name) || is_read_only(name) {
        return Err(EngineError::UnknownAttribute(name.to_string()));
    }
    if !fifo && FIFO_ONLY.contains(&name) {
        return Err(match name {
            "DeduplicationScope" | "FifoThroughputLimit" if creating => {
                EngineError::InvalidAttributeName(
                    format!("You can specify the {name} only when FifoQueue is set to true.")
                        .into(),
                )
            }
            _ => EngineError::UnknownAttribute(name.to_string()),
        });
    }
    Ok(())
}

pub fn is_read_only(name: &str) -> bool {
    matches!(
        name,
        "ApproximateNumberOfMessages"
            | "ApproximateNumberOfMessagesDelayed"
            | "ApproximateNumberOfMessagesNotVisible"
            | "CreatedTimestamp"
            | "LastModifiedTimestamp"
            | "QueueArn"
    )
}

impl QueueAttributes {
    /// Applies `changes` (CreateQueue or SetQueueAttributes) after validating all of them;
    /// on error nothing is changed.
    pub fn apply(
        &mut self,
        changes: &[(String, String)],
        ctx: &AttributeContext<'_>,
    ) -> EngineResult<()> {
        let mut next = self.clone();
        let has = |n: &str| changes.iter().any(|(k, _)| k == n);
        if has("KmsMasterKeyId")
            && changes
                .iter()
                .any(|(k, v)| k == "SqsManagedSseEnabled" && v.eq_ignore_ascii_case("true"))
        {
            return Err(EngineError::InvalidAttributeName(
                "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.".into(),
            ));
        }
        for (name, value) in changes {
            check_name(name, self.fifo_queue, ctx.creating)?;
            next.set(name, value, ctx)?;
        }
        if next.fifo_throughput_limit == "perMessageGroupId"
            && next.deduplication_scope != "messageGroup"
        {
            return Err(EngineError::InvalidAttributeValue {
                name: "FifoThroughputLimit".into(),
                reason: Some(
                    "perMessageGroupId is allowed only when DeduplicationScope is messageGroup.",
                ),
            });
        }
        *self = next;
        Ok(())
    }

    /// Sets one attribute from its value, checked.
    fn set(&mut self, name: &str, value: &str, ctx: &AttributeContext<'_>) -> EngineResult<()> {
        match name {
            "DelaySeconds" => self.delay_seconds = parse_int(name, value, 0, MAX_DELAY_SECONDS)?,
            "MaximumMessageSize" => {
                self.maximum_message_size = parse_int(name, value, 1024, MAX_MESSAGE_SIZE)?;
            }
            "MessageRetentionPeriod" => {
                self.message_retention_period = parse_int(name, value, 60, 1_209_600)?;
            }
            "ReceiveMessageWaitTimeSeconds" => {
                self.receive_message_wait_time_seconds = parse_int(name, value, 0, 20)?;
            }
            "VisibilityTimeout" => {
                self.visibility_timeout = parse_int(name, value, 0, MAX_VISIBILITY_TIMEOUT)?;
            }
            "Policy" => self.policy = parse_policy(value)?,
            "RedrivePolicy" => {
                self.redrive_policy = parse_redrive_policy(value, self.fifo_queue, ctx)?;
            }
            "RedriveAllowPolicy" => self.redrive_allow_policy = parse_redrive_allow_policy(value)?,
            "KmsMasterKeyId" => {
                if value.is_empty() {
                    self.kms_master_key_id = None;
                } else {
                    self.kms_master_key_id = Some(value.to_string());
                    self.sqs_managed_sse_enabled = false;
                }
            }
            "KmsDataKeyReusePeriodSeconds" => {
                self.kms_data_key_reuse_period_seconds = parse_int(name, value, 60, 86_400)?;
            }
            "SqsManagedSseEnabled" => {
                self.sqs_managed_sse_enabled = parse_bool(name, value)?;
                if self.sqs_managed_sse_enabled {
                    self.kms_master_key_id = None;
                }
            }
            "FifoQueue" => {
                if !parse_bool(name, value)? {
                    return Err(EngineError::InvalidAttributeValue {
                        name: name.to_string(),
                        reason: Some("Modifying queue type is not supported."),
                    });
                }
            }
            "ContentBasedDeduplication" => {
                self.content_based_deduplication = parse_bool(name, value)?;
            }
            "DeduplicationScope" => {
                if !matches!(value, "queue" | "messageGroup") {
                    return Err(EngineError::invalid_attribute_value(name));
                }
                self.deduplication_scope = value.to_string();
            }
            "FifoThroughputLimit" => {
                if !matches!(value, "perQueue" | "perMessageGroupId") {
                    return Err(EngineError::invalid_attribute_value(name));
                }
                self.fifo_throughput_limit = value.to_string();
            }
            _ => return Err(EngineError::UnknownAttribute(name.to_string())),
        }
        Ok(())
    }
}

/// Checks a queue policy: a policy document (see [`super::policy`]) of at most 8,192 bytes and
/// 20 statements. `""` removes it.
fn parse_policy(value: &str) -> EngineResult<Option<String>> {
    if value.is_empty() {
        return Ok(None);
    }
    super::policy::check_policy_document(value)
        .map_err(|_| EngineError::invalid_attribute_value("Policy"))?;
    Ok(Some(value.to_string()))
}

fn redrive_invalid(value: &str, reason: impl Into<Cow<'static, str>>) -> EngineError {
    EngineError::invalid(Param::RedrivePolicy, value, reason)
}

fn parse_redrive_policy(
    value: &str,
    fifo: bool,
    ctx: &AttributeContext<'_>,
) -> EngineResult<Option<RedrivePolicy>> {
    if value.is_empty() {
        return Ok(None);
    }
    let policy = RedrivePolicy::parse(value).map_err(|reason| redrive_invalid(value, reason))?;
    // A queue may name itself (as observed on AWS); the engine then never moves its messages.
    let (dlq_fifo, allow) = ctx
        .lookup
        .dead_letter_target(ctx.queue_arn, &policy.dead_letter_target_arn)
        .ok_or_else(|| redrive_invalid(value, "Dead letter target does not exist."))?;
    if dlq_fifo != fifo {
        return Err(redrive_invalid(
            value,
            "Dead-letter queue must be same type of queue as the source.",
        ));
    }
    if let Some(allow) = allow {
        if !allow.allows(ctx.queue_arn) {
            return Err(redrive_invalid(
                value,
                "Queue is not allowed to use this dead-letter queue by its RedriveAllowPolicy.",
            ));
        }
    }
    Ok(Some(policy))
}

fn parse_redrive_allow_policy(value: &str) -> EngineResult<Option<RedriveAllowPolicy>> {
    if value.is_empty() {
        return Ok(None);
    }
    RedriveAllowPolicy::parse(value)
        .map(Some)
        .map_err(|reason| EngineError::invalid(Param::RedriveAllowPolicy, value, reason))
}

/// Queue-name rules: 1–80 of `[A-Za-z0-9_-]`, FIFO names end in `.fifo` (counted in the 80).
pub fn validate_queue_name(name: &str, fifo: bool) -> EngineResult<()> {
    let base = if fifo {
        name.strip_suffix(".fifo")
    } else {
        Some(name)
    };
    let invalid = |reason: &'static str| EngineError::InvalidRequest(reason.into());
    let Some(base) = base else {
        return Err(invalid("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."));
    };
    if !fifo && name.ends_with(".fifo") {
        return Err(invalid("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length. A queue name ending in .fifo must be a FIFO queue (FifoQueue=true)."));
    }
    if base.is_empty()
        || name.len() > 80
        || !base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoQueues;
    impl QueueLookup for NoQueues {
        fn dead_letter_target(
            &self,
            _source_arn: &str,
            arn: &str,
        ) -> Option<(bool, Option<RedriveAllowPolicy>)> {
            arn.ends_with(":dlq").then_some((false, None))
        }
    }

    fn ctx() -> AttributeContext<'static> {
        AttributeContext {
            creating: true,
            queue_arn: "arn:aws:sqs:us-east-1:000000000000:q",
            lookup: &NoQueues,
        }
    }

    fn set(a: &mut QueueAttributes, n: &str, v: &str) -> EngineResult<()> {
        a.apply(&[(n.to_string(), v.to_string())], &ctx())
    }

    #[test]
    fn ranges() {
        let mut a = QueueAttributes::new(false);
        assert!(set(&mut a, "VisibilityTimeout", "43200").is_ok());
        assert_eq!(
            set(&mut a, "VisibilityTimeout", "43201").unwrap_err(),
            EngineError::invalid_attribute_value("VisibilityTimeout")
        );
        assert_eq!(
            set(&mut a, "DelaySeconds", "-1").unwrap_err(),
            EngineError::invalid_attribute_value("DelaySeconds")
        );
        assert_eq!(
            set(&mut a, "MaximumMessageSize", "1023").unwrap_err(),
            EngineError::invalid_attribute_value("MaximumMessageSize")
        );
        assert_eq!(
            set(&mut a, "MessageRetentionPeriod", "59").unwrap_err(),
            EngineError::invalid_attribute_value("MessageRetentionPeriod")
        );
        assert_eq!(
            set(&mut a, "ReceiveMessageWaitTimeSeconds", "21").unwrap_err(),
            EngineError::invalid_attribute_value("ReceiveMessageWaitTimeSeconds")
        );
        assert_eq!(
            set(&mut a, "Bogus", "1").unwrap_err(),
            EngineError::UnknownAttribute("Bogus".into())
        );
        assert_eq!(
            set(&mut a, "QueueArn", "x").unwrap_err(),
            EngineError::UnknownAttribute("QueueArn".into())
        );
        assert_eq!(a.visibility_timeout, 43200);
    }

    #[test]
    fn fifo_only_names_on_standard_queues() {
        let mut a = QueueAttributes::new(false);
        assert_eq!(
            set(&mut a, "FifoQueue", "false").unwrap_err(),
            EngineError::UnknownAttribute("FifoQueue".into())
        );
        assert_eq!(
            set(&mut a, "DeduplicationScope", "queue").unwrap_err(),
            EngineError::InvalidAttributeName(
                "You can specify the DeduplicationScope only when FifoQueue is set to true.".into()
            )
        );
        let mut f = QueueAttributes::new(true);
        assert!(set(&mut f, "FifoQueue", "True").is_ok());
        assert_eq!(
            set(&mut f, "FifoQueue", "false").unwrap_err(),
            EngineError::InvalidAttributeValue {
                name: "FifoQueue".into(),
                reason: Some("Modifying queue type is not supported.")
            }
        );
    }

    #[test]
    fn redrive_policy_rules() {
        let mut a = QueueAttributes::new(false);
        let dlq = "arn:aws:sqs:us-east-1:000000000000:dlq";
        assert!(set(
            &mut a,
            "RedrivePolicy",
            &format!(r#"{{"deadLetterTargetArn":"{dlq}","maxReceiveCount":"3"}}"#)
        )
        .is_ok());
        assert_eq!(a.redrive_policy.as_ref().unwrap().max_receive_count, 3);
        let missing = set(
            &mut a,
            "RedrivePolicy",
            &format!(r#"{{"deadLetterTargetArn":"{dlq}"}}"#),
        )
        .unwrap_err();
        let reason = |e: EngineError| match e {
            EngineError::InvalidParameter {
                param: Param::RedrivePolicy,
                reason,
                ..
            } => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(missing),
            "Redrive policy does not contain mandatory attribute: maxReceiveCount."
        );
        let gone = set(&mut a, "RedrivePolicy", r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":1}"#).unwrap_err();
        assert_eq!(reason(gone), "Dead letter target does not exist.");
        assert!(set(&mut a, "RedrivePolicy", "").is_ok());
        assert!(a.redrive_policy.is_none());
    }

    #[test]
    fn redrive_allow_policy_rules() {
        assert!(
            parse_redrive_allow_policy(r#"{"redrivePermission":"allowAll"}"#)
                .unwrap()
                .unwrap()
                .allows("x")
        );
        assert!(
            !parse_redrive_allow_policy(r#"{"redrivePermission":"denyAll"}"#)
                .unwrap()
                .unwrap()
                .allows("x")
        );
        let by = parse_redrive_allow_policy(
            r#"{"redrivePermission":"byQueue","sourceQueueArns":["a"]}"#,
        )
        .unwrap()
        .unwrap();
        assert!(by.allows("a") && !by.allows("b"));
        assert!(parse_redrive_allow_policy(r#"{"redrivePermission":"byQueue"}"#).is_err());
        assert!(parse_redrive_allow_policy(
            r#"{"redrivePermission":"allowAll","sourceQueueArns":["a"]}"#
        )
        .is_err());
        let eleven: Vec<String> = (0..11).map(|i| format!("\"a{i}\"")).collect();
        assert!(parse_redrive_allow_policy(&format!(
            r#"{{"redrivePermission":"byQueue","sourceQueueArns":[{}]}}"#,
            eleven.join(",")
        ))
        .is_err());
    }

    #[test]
    fn queue_names() {
        assert!(validate_queue_name("abc-_9", false).is_ok());
        assert!(validate_queue_name(&"a".repeat(80), false).is_ok());
        assert!(validate_queue_name(&"a".repeat(81), false).is_err());
        assert!(validate_queue_name("", false).is_err());
        assert!(validate_queue_name("a b", false).is_err());
        assert!(validate_queue_name("a.fifo", false).is_err());
        assert!(validate_queue_name("a.fifo", true).is_ok());
        assert!(validate_queue_name("a", true).is_err());
        assert!(validate_queue_name(&format!("{}.fifo", "a".repeat(75)), true).is_ok());
        assert!(validate_queue_name(&format!("{}.fifo", "a".repeat(76)), true).is_err());
    }
}
