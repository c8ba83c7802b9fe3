//! The SQS actions: the one list of the 23 actions ([`actions!`]), each with a typed input
//! (deserialized from JSON, or from Query parameters through its Query [`Field`] list), a typed
//! output, and a handler that calls the engine.

mod messages;
mod queues;
mod redrive;

use std::sync::Arc;

use crate::engine::policy::{is_allowed, AccessRequest};
use crate::engine::{Engine, Queue};
use crate::error::{ErrorCode, SqsError, SqsResult};
use crate::protocol::{encode_output, queue_path, Encoded, Input, Protocol};

/// What an action knows of its caller and of how it was reached.
pub struct Context {
    pub engine: Arc<Engine>,
    /// The action being served.
    pub action: Action,
    /// The caller's account: its credential's account, or the server default.
    pub account: String,
    /// Whether queue policies bind the caller: only when signatures are checked, so that the
    /// caller's account is known (in `--auth off`, or auto mode without credentials, anyone
    /// may name any account).
    pub enforce_policies: bool,
    /// The region the request addresses: its SigV4 scope's, else the one its `Host` names
    /// (with regional queue URLs), else the server default.
    pub region: String,
    /// `SenderId` of messages the caller sends.
    pub sender_id: String,
    /// `scheme://host[:port]` that queue URLs start with.
    pub url_base: String,
    /// Queue URLs put the queue's region before the host: `scheme://sqs.<region>.host[:port]`.
    pub regional_urls: bool,
    /// `X-Amzn-Trace-Id` of the request, the default `AWSTraceHeader`.
    pub trace_header: Option<String>,
}

impl Context {
    pub fn queue_url(&self, q: &Queue) -> String {
        if !self.regional_urls {
            return format!("{}/{}/{}", self.url_base, q.account, q.name);
        }
        let (scheme, host) = self
            .url_base
            .split_once("://")
            .unwrap_or(("http", &self.url_base));
        format!(
            "{scheme}://sqs.{}.{host}/{}/{}",
            q.region, q.account, q.name
        )
    }

    /// Resolves a `QueueUrl` by its path (`/<account>/<name>` or `/<name>`), whatever its host,
    /// in the request's region.
    pub fn queue(&self, url: Option<&str>) -> SqsResult<Arc<Queue>> {
        let url = required(url, "QueueUrl")?;
        let (account, name) = queue_path(url).ok_or_else(|| {
            SqsError::new(
                ErrorCode::InvalidAddress,
                format!("The address {url} is not valid for this endpoint."),
            )
        })?;
        let q = self
            .engine
            .queue(account.unwrap_or(&self.account), &self.region, name)?;
        self.authorize(&q)?;
        Ok(q)
    }

    /// Whether the caller may run this action on `q`: the queue's own account unless its
    /// policy denies it, another account only as the policy allows (SQS-REFERENCE §9).
    /// Refused: 403 `AccessDenied`, and nothing is done.
    pub fn authorize(&self, q: &Queue) -> SqsResult<()> {
        if !self.enforce_policies {
            return Ok(());
        }
        let policy = q.policy();
        let request = AccessRequest {
            caller_account: &self.account,
            action: self.action.name(),
            queue_arn: &q.arn,
            owner_account: &q.account,
            secure_transport: false,
        };
        if is_allowed(policy.as_deref(), &request) {
            return Ok(());
        }
        tracing::info!(
            caller_account = %self.account,
            action = self.action.name(),
            queue = %q.arn,
            "access denied by the queue's owner or policy"
        );
        Err(SqsError::new(
            ErrorCode::AccessDenied,
            format!("Access to the resource {} is denied.", self.queue_url(q)),
        ))
    }

    /// The queue an ARN names (move tasks), authorized like [`Context::queue`]; `None` when
    /// no such queue exists, which the engine then reports in the action's own terms.
    pub fn authorize_arn(&self, arn: &str) -> SqsResult<()> {
        match self.engine.queue_by_arn(arn) {
            Some(q) => self.authorize(&q),
            None => Ok(()),
        }
    }
}

/// A required member: absent → `MissingParameter`.
pub fn required<'a>(value: Option<&'a str>, name: &str) -> SqsResult<&'a str> {
    value.ok_or_else(|| SqsError::missing_parameter(name))
}

/// Declares the actions, each with its handler and its Query members. `(no result)` marks an
/// action that answers with no result (its handler returns `()`): no `<XResult>` element in
/// the Query protocol, `{}` in JSON.
macro_rules! actions {
    (@answer $protocol:ident, $action:ident, $request_id:ident, $handler:expr;) => {{
        let output = $handler.await?;
        encode_output($protocol, $action.name(), Some(&output), $request_id)
    }};
    (@answer $protocol:ident, $action:ident, $request_id:ident, $handler:expr; no) => {{
        let () = $handler.await?;
        encode_output::<()>($protocol, $action.name(), None, $request_id)
    }};
    ($( $name:ident => $module:ident :: $handler:ident ( $fields:path ) $(($no:ident result))? ),* $(,)?) => {
        /// The 23 SQS actions.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action { $( $name ),* }

        impl Action {
            pub const ALL: &'static [Action] = &[ $( Action::$name ),* ];

            pub fn name(self) -> &'static str {
                match self { $( Action::$name => stringify!($name) ),* }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name { $( stringify!($name) => Some(Action::$name), )* _ => None }
            }
        }

        /// Runs `action` with its input; returns its output rendered in `protocol`.
        pub async fn dispatch(
            action: Action,
            ctx: &Context,
            input: &Input,
            protocol: Protocol,
            request_id: &str,
        ) -> SqsResult<Encoded> {
            match action {
                $( Action::$name => actions!(
                    @answer protocol, action, request_id,
                    $module::$handler(ctx, input.decode($fields)?); $($no)?
                ), )*
            }
        }
    };
}

actions! {
    CreateQueue => queues::create_queue(queues::CREATE_QUEUE),
    GetQueueUrl => queues::get_queue_url(queues::GET_QUEUE_URL),
    ListQueues => queues::list_queues(queues::LIST_QUEUES),
    DeleteQueue => queues::delete_queue(queues::QUEUE_ONLY) (no result),
    GetQueueAttributes => queues::get_queue_attributes(queues::GET_QUEUE_ATTRIBUTES),
    SetQueueAttributes => queues::set_queue_attributes(queues::SET_QUEUE_ATTRIBUTES) (no result),
    PurgeQueue => messages::purge_queue(queues::QUEUE_ONLY) (no result),
    TagQueue => queues::tag_queue(queues::TAG_QUEUE) (no result),
    UntagQueue => queues::untag_queue(queues::UNTAG_QUEUE) (no result),
    ListQueueTags => queues::list_queue_tags(queues::QUEUE_ONLY),
    AddPermission => queues::add_permission(queues::ADD_PERMISSION) (no result),
    RemovePermission => queues::remove_permission(queues::REMOVE_PERMISSION) (no result),
    SendMessage => messages::send_message(messages::SEND_MESSAGE),
    SendMessageBatch => messages::send_message_batch(messages::SEND_MESSAGE_BATCH),
    ReceiveMessage => messages::receive_message(messages::RECEIVE_MESSAGE),
    DeleteMessage => messages::delete_message(messages::DELETE_MESSAGE) (no result),
    DeleteMessageBatch => messages::delete_message_batch(messages::DELETE_MESSAGE_BATCH),
    ChangeMessageVisibility => messages::change_message_visibility(messages::CHANGE_MESSAGE_VISIBILITY) (no result),
    ChangeMessageVisibilityBatch => messages::change_message_visibility_batch(messages::CHANGE_MESSAGE_VISIBILITY_BATCH),
    ListDeadLetterSourceQueues => redrive::list_dead_letter_source_queues(redrive::LIST_DEAD_LETTER_SOURCE_QUEUES),
    StartMessageMoveTask => redrive::start_message_move_task(redrive::START_MESSAGE_MOVE_TASK),
    CancelMessageMoveTask => redrive::cancel_message_move_task(redrive::CANCEL_MESSAGE_MOVE_TASK),
    ListMessageMoveTasks => redrive::list_message_move_tasks(redrive::LIST_MESSAGE_MOVE_TASKS),
}

/// Actions that name no queue and are refused on a queue-URL path (Query protocol).
pub fn is_account_level(action: Action) -> bool {
    matches!(action, Action::CreateQueue | Action::ListQueues)
}

/// Opaque paging token: base64 of the last name returned.
pub(crate) fn next_token_after(last: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last)
}

pub(crate) fn decode_next_token(token: &str) -> SqsResult<String> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_three_actions() {
        assert_eq!(Action::ALL.len(), 23);
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(*a));
        }
        assert_eq!(Action::from_name("FooBar"), None);
    }

    #[test]
    fn paging() {
        let names: Vec<String> = (0..5).map(|i| format!("q{i}")).collect();
        let (first, token) = page(names.clone(), |s| s.as_str(), Some(2), None).unwrap();
        assert_eq!(first, vec!["q0", "q1"]);
        let (second, token2) =
            page(names.clone(), |s| s.as_str(), Some(2), token.as_deref()).unwrap();
        assert_eq!(second, vec!["q2", "q3"]);
        let (third, token3) =
            page(names.clone(), |s| s.as_str(), Some(2), token2.as_deref()).unwrap();
        assert_eq!(third, vec!["q4"]);
        assert!(token3.is_none());
        let (all, none) = page(names, |s| s.as_str(), None, None).unwrap();
        assert_eq!(all.len(), 5);
        assert!(none.is_none());
    }
}
