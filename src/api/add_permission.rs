//! AddPermission.

use super::{required, Context};
use crate::error::SqsResult;
use crate::protocol::query::query_input;

query_input! {
    pub struct AddPermissionInput {
        queue_url: Option<String> = "QueueUrl",
        label: Option<String> = "Label",
        aws_account_ids: Option<Vec<String>> = "AWSAccountIds" as "AWSAccountId",
        actions: Option<Vec<String>> = "Actions" as "ActionName",
    }
}

pub async fn add_permission(ctx: &Context, input: AddPermissionInput) -> SqsResult<()> {
    let q = ctx.queue(input.queue_url.as_deref()).await?;
    let label = required(input.label.as_deref(), "Label")?;
    ctx.engine
        .add_permission(
            &q,
            label,
            &input.aws_account_ids.unwrap_or_default(),
            &input.actions.unwrap_or_default(),
        )
        .await?;
    Ok(())
}
