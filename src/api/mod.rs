//! The SQS actions: the one list of the 23 actions (`actions!`), one file each holding the
//! action's typed input (declared with `query_input!`, so that it reads from JSON or from Query
//! parameters), its typed output and its handler, which calls the engine.

mod add_permission;
mod batch;
mod cancel_message_move_task;
mod change_message_visibility;
mod change_message_visibility_batch;
mod common;
mod create_queue;
mod delete_message;
mod delete_message_batch;
mod delete_queue;
mod engine_error;
mod get_queue_attributes;
mod get_queue_url;
mod list_dead_letter_source_queues;
mod list_message_move_tasks;
mod list_queue_tags;
mod list_queues;
mod purge_queue;
mod receive_message;
mod remove_permission;
mod send_message;
mod send_message_batch;
mod set_queue_attributes;
mod start_message_move_task;
mod tag_queue;
mod untag_queue;

use std::sync::Arc;

use crate::engine::policy::{is_allowed, AccessRequest};
use crate::engine::{Engine, EngineError, Queue};
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
    /// `--auto-create`: a queue URL naming a missing queue creates it.
    pub auto_create: bool,
    /// `X-Amzn-Trace-Id` of the request, the default `AWSTraceHeader`.
    pub trace_header: Option<String>,
}

/// `q`'s URL under `url_base` (`scheme://host[:port]`), with its region in the host when
/// `regional`.
pub fn queue_url(url_base: &str, regional: bool, q: &Queue) -> String {
    if !regional {
        return format!("{url_base}/{}/{}", q.account, q.name);
    }
    let (scheme, host) = url_base.split_once("://").unwrap_or(("http", url_base));
    format!(
        "{scheme}://sqs.{}.{host}/{}/{}",
        q.region, q.account, q.name
    )
}

impl Context {
    pub fn queue_url(&self, q: &Queue) -> String {
        queue_url(&self.url_base, self.regional_urls, q)
    }

    /// Resolves a `QueueUrl` by its path (`/<account>/<name>` or `/<name>`), whatever its host,
    /// in the request's region.
    pub async fn queue(&self, url: Option<&str>) -> SqsResult<Arc<Queue>> {
        let url = required(url, "QueueUrl")?;
        let (account, name) = queue_path(url).ok_or_else(|| {
            SqsError::new(
                ErrorCode::InvalidAddress,
                format!("The address {url} is not valid for this endpoint."),
            )
        })?;
        let account = account.unwrap_or(&self.account);
        let q = match self.engine.find_queue(account, &self.region, name).await {
            Err(EngineError::QueueDoesNotExist) if self.may_auto_create(account) => {
                self.auto_create(account, name).await?
            }
            found => found?,
        };
        self.authorize(&q)?;
        Ok(q)
    }

    /// `--auto-create`: a missing queue of the caller's own account is created on first use
    /// of its URL (not by DeleteQueue).
    fn may_auto_create(&self, account: &str) -> bool {
        self.auto_create && account == self.account && self.action != Action::DeleteQueue
    }

    /// Creates the queue a URL names, FIFO when its name ends in `.fifo`, with default
    /// attributes.
    async fn auto_create(&self, account: &str, name: &str) -> SqsResult<Arc<Queue>> {
        let fifo = [("FifoQueue".to_string(), "true".to_string())];
        let attributes: &[(String, String)] = if name.ends_with(".fifo") { &fifo } else { &[] };
        let q = self
            .engine
            .create_queue(account, &self.region, name, attributes, &[])
            .await?;
        tracing::info!(queue = %q.arn, action = self.action.name(), "queue created on first use (--auto-create)");
        Ok(q)
    }

    /// Whether the caller may run this action on `q`: the queue's own account unless its
    /// policy denies it, another account only as the policy allows
    /// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-basic-examples-of-sqs-policies.html>).
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

/// Declares the actions, each with the module (file) holding its input, output and handler of
/// the same name. `(no result)` marks an action that answers with no result (its handler
/// returns `()`): no `<XResult>` element in the Query protocol, `{}` in JSON.
macro_rules! actions {
    // Runs the handler and encodes its output; `let ()` makes a `(no result)` handler's
    // output `()`, checked by the compiler.
    (@answer $protocol:ident, $action:ident, $request_id:ident, $handler:expr;) => {{
        let output = $handler.await?;
        encode_output($protocol, $action.name(), Some(&output), $request_id)
    }};
    (@answer $protocol:ident, $action:ident, $request_id:ident, $handler:expr; no) => {{
        let () = $handler.await?;
        encode_output::<()>($protocol, $action.name(), None, $request_id)
    }};
    ($( $name:ident => $module:ident $(($no:ident result))? ),* $(,)?) => {
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
                    $module::$module(ctx, input.decode()?); $($no)?
                ), )*
            }
        }
    };
}

actions! {
    CreateQueue => create_queue,
    GetQueueUrl => get_queue_url,
    ListQueues => list_queues,
    DeleteQueue => delete_queue (no result),
    GetQueueAttributes => get_queue_attributes,
    SetQueueAttributes => set_queue_attributes (no result),
    PurgeQueue => purge_queue (no result),
    TagQueue => tag_queue (no result),
    UntagQueue => untag_queue (no result),
    ListQueueTags => list_queue_tags,
    AddPermission => add_permission (no result),
    RemovePermission => remove_permission (no result),
    SendMessage => send_message,
    SendMessageBatch => send_message_batch,
    ReceiveMessage => receive_message,
    DeleteMessage => delete_message (no result),
    DeleteMessageBatch => delete_message_batch,
    ChangeMessageVisibility => change_message_visibility (no result),
    ChangeMessageVisibilityBatch => change_message_visibility_batch,
    ListDeadLetterSourceQueues => list_dead_letter_source_queues,
    StartMessageMoveTask => start_message_move_task,
    CancelMessageMoveTask => cancel_message_move_task,
    ListMessageMoveTasks => list_message_move_tasks,
}

/// Actions that name no queue and are refused on a queue-URL path (Query protocol).
pub fn is_account_level(action: Action) -> bool {
    matches!(action, Action::CreateQueue | Action::ListQueues)
}

#[cfg(test)]
mod tests {
    use super::common::page;
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
