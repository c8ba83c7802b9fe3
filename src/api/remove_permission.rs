//! RemovePermission.

use super::{required, Context};
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct RemovePermissionInput {
        queue_url: Option<String> = "QueueUrl",
        label: Option<String> = "Label",
    }
}

pub async fn remove_permission(ctx: &Context, input: RemovePermissionInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    ctx.engine
        .remove_permission(&q, required(input.label.as_deref(), "Label")?)
        .await?;
    Ok(())
}
