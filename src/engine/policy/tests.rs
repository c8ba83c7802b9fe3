//! The evaluator over a table of policies, callers and actions; malformed documents.

use super::condition::*;
use super::*;

const ARN: &str = "arn:aws:sqs:us-east-1:111111111111:q";
const OWNER: &str = "111111111111";
const CALLER: &str = "222222222222";

/// Every SQS operation.
const ALL_ACTIONS: &[&str] = &[
    "AddPermission",
    "CancelMessageMoveTask",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "CreateQueue",
    "DeleteMessage",
    "DeleteMessageBatch",
    "DeleteQueue",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "ListMessageMoveTasks",
    "ListQueueTags",
    "ListQueues",
    "PurgeQueue",
    "ReceiveMessage",
    "RemovePermission",
    "SendMessage",
    "SendMessageBatch",
    "SetQueueAttributes",
    "StartMessageMoveTask",
    "TagQueue",
    "UntagQueue",
];

fn request<'a>(caller: &'a str, action: &'a str, arn: &'a str, tls: bool) -> AccessRequest<'a> {
    AccessRequest {
        caller_account: caller,
        action,
        queue_arn: arn,
        owner_account: OWNER,
        secure_transport: tls,
    }
}

/// Statements (the inside of the `Statement` array; `""` for no policy at all), caller,
/// action, TLS, expected `is_allowed`.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
);

// Short statements reused by the rows.
const ALLOW_ALL: &str = r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#;

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // --- principal forms ---
    ("principal \"*\"",
     r#"{"Effect":"Allow","Principal":"*","Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, true),
    ("principal AWS *",
     r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, true),
    ("principal AWS [*]",
     r#"{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, true),
    ("principal bare account id",
     r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, true),
    ("principal account root ARN",
     r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, true),
    ("principal array, caller second",
     r#"{"Effect":"Allow","Principal":{"AWS":["333333333333","arn:aws:iam::222222222222:root"]},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, true),
    ("principal other account id",
     r#"{"Effect":"Allow","Principal":{"AWS":"333333333333"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("principal other account root",
     r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("Allow to a user of the caller's account grants the account nothing",
     r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:user/x"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("Allow to an assumed-role session grants nothing",
     r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::222222222222:assumed-role/r/s"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("Allow to a service grants an account nothing",
     r#"{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("Allow to a canonical user grants nothing",
     r#"{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("Allow to an AWS unique id grants nothing",
     r#"{"Effect":"Allow","Principal":{"AWS":"AIDAJQABLZS4A3QDU576Q"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("Deny to a user of the caller's account binds the account (fail closed)",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::222222222222:user/x"},"Action":"SQS:SendMessage","Resource":"*"}"#,
     CALLER, "SendMessage", true, false),
    ("Deny to a user of another account does not bind the caller",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::333333333333:user/x"},"Action":"SQS:SendMessage","Resource":"*"}"#,
     CALLER, "SendMessage", true, true),
    ("Deny to a service never binds an account",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:*","Resource":"*"}"#,
     CALLER, "SendMessage", true, true),
    ("Deny to a federated principal binds everyone (fail closed)",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sqs:*","Resource":"*"}"#,
     CALLER, "SendMessage", true, false),
    ("Allow NotPrincipal other account grants the caller",
     r#"{"Effect":"Allow","NotPrincipal":{"AWS":"333333333333"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, true),
    ("Allow NotPrincipal caller excludes the caller",
     r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("Allow NotPrincipal user of the caller's account: can't tell, grants nothing",
     r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::222222222222:user/x"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("Deny NotPrincipal caller leaves the caller out",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","NotPrincipal":{"AWS":"222222222222"},"Action":"sqs:*","Resource":"*"}"#,
     CALLER, "SendMessage", true, true),
    ("Deny NotPrincipal other account binds the caller",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","NotPrincipal":{"AWS":"333333333333"},"Action":"sqs:*","Resource":"*"}"#,
     CALLER, "SendMessage", true, false),
    // --- actions: case, wildcards, lists, other services ---
    ("action lower case",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:sendmessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, true),
    ("action upper case",
     r#"{"Effect":"Allow","Principal":"*","Action":"SQS:SENDMESSAGE","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, true),
    ("action sqs:*", ALLOW_ALL, CALLER, "ReceiveMessage", true, true),
    ("action *",
     r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "GetQueueAttributes", true, true),
    ("action prefix wildcard matches",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:Send*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, true),
    ("action prefix wildcard does not match another action",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:Send*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "ReceiveMessage", true, false),
    ("action leading wildcard",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*message","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "DeleteMessage", true, true),
    ("action leading wildcard, other suffix",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*Message","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "GetQueueAttributes", true, false),
    ("action ? wildcard",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:?eceiveMessag?","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "ReceiveMessage", true, true),
    ("action ? is exactly one character",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:?ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "ReceiveMessage", true, false),
    ("action array",
     r#"{"Effect":"Allow","Principal":"*","Action":["sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "DeleteMessage", true, true),
    ("action of another service",
     r#"{"Effect":"Allow","Principal":"*","Action":"sns:*","Resource":"*"}"#,
     CALLER, "SendMessage", true, false),
    ("action GetQueueUrl",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:GetQueueUrl","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "GetQueueUrl", true, true),
    // --- batch coverage ---
    ("SendMessage grant covers SendMessageBatch",
     r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessageBatch", true, true),
    ("DeleteMessage grant covers DeleteMessageBatch",
     r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:DeleteMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "DeleteMessageBatch", true, true),
    ("ChangeMessageVisibility grant covers its batch",
     r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sqs:changemessagevisibility","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "ChangeMessageVisibilityBatch", true, true),
    ("ReceiveMessage grant does not give SendMessage",
     r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("ReceiveMessage grant does not give SendMessageBatch",
     r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessageBatch", true, false),
    ("a batch-only grant does not give the single action",
     r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessageBatch","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("Deny of SendMessage also denies SendMessageBatch",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}"#,
     CALLER, "SendMessageBatch", true, false),
    // --- NotAction ---
    ("NotAction grants what is not listed",
     r#"{"Effect":"Allow","Principal":"*","NotAction":"sqs:ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, true),
    ("NotAction does not grant what is listed",
     r#"{"Effect":"Allow","Principal":"*","NotAction":"sqs:ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "ReceiveMessage", true, false),
    ("NotAction SendMessage leaves out its batch too",
     r#"{"Effect":"Allow","Principal":"*","NotAction":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessageBatch", true, false),
    // --- resources ---
    ("resource exact ARN", ALLOW_ALL, CALLER, "SendMessage", true, true),
    ("resource *",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}"#,
     CALLER, "SendMessage", true, true),
    ("resource region and name wildcards",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:*:111111111111:*"}"#,
     CALLER, "SendMessage", true, true),
    ("resource ? wildcard",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-?:111111111111:?"}"#,
     CALLER, "SendMessage", true, true),
    ("resource another queue",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:other"}"#,
     CALLER, "SendMessage", true, false),
    ("resource is case-sensitive",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:Q"}"#,
     CALLER, "SendMessage", true, false),
    ("resource wildcard of another account",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:*:333333333333:*"}"#,
     CALLER, "SendMessage", true, false),
    ("resource array",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":["arn:aws:sqs:us-east-1:111111111111:other","arn:aws:sqs:us-east-1:111111111111:q"]}"#,
     CALLER, "SendMessage", true, true),
    ("no Resource stands for the attached queue",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage"}"#,
     CALLER, "SendMessage", true, true),
    ("NotResource another queue",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","NotResource":"arn:aws:sqs:us-east-1:111111111111:other"}"#,
     CALLER, "SendMessage", true, true),
    ("NotResource this queue",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","NotResource":"arn:aws:sqs:*:*:q"}"#,
     CALLER, "SendMessage", true, false),
    ("resource with a policy variable grants nothing",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:*:${aws:PrincipalAccount}:q"}"#,
     CALLER, "SendMessage", true, false),
    // --- Deny over Allow ---
    ("Deny of the same grant",
     r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"},
        {"Effect":"Deny","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     CALLER, "SendMessage", true, false),
    ("Deny written differently (everyone, wildcard action)",
     r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"},
        {"Effect":"Deny","Principal":"*","Action":"sqs:Send*","Resource":"*"}"#,
     CALLER, "SendMessage", true, false),
    ("Deny of other actions leaves the grant",
     r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:111111111111:q"},
        {"Effect":"Deny","Principal":"*","Action":"sqs:Send*","Resource":"*"}"#,
     CALLER, "ReceiveMessage", true, true),
    ("Deny before Allow",
     r#"{"Effect":"Deny","Principal":"*","Action":"sqs:ReceiveMessage","Resource":"*"},
        {"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"}"#,
     CALLER, "ReceiveMessage", true, false),
    ("Deny on another queue does not apply",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:111111111111:other"}"#,
     CALLER, "ReceiveMessage", true, true),
    // --- the owner ---
    ("owner without policy", "", OWNER, "SendMessage", true, true),
    ("owner without policy, owner-only action", "", OWNER, "DeleteQueue", true, true),
    ("other account without policy", "", CALLER, "SendMessage", true, false),
    ("owner needs no Allow",
     r#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     OWNER, "ReceiveMessage", true, true),
    ("Deny to everyone binds the owner",
     r#"{"Effect":"Deny","Principal":"*","Action":"sqs:DeleteMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}"#,
     OWNER, "DeleteMessage", true, false),
    ("Deny naming the owner binds it, owner-only action too",
     r#"{"Effect":"Deny","Principal":{"AWS":"111111111111"},"Action":"sqs:TagQueue","Resource":"*"}"#,
     OWNER, "TagQueue", true, false),
    ("a Deny of everything leaves the owner its policy: SetQueueAttributes",
     r#"{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}"#,
     OWNER, "SetQueueAttributes", true, true),
    ("a Deny of everything leaves the owner its policy: RemovePermission",
     r#"{"Effect":"Deny","Principal":{"AWS":"111111111111"},"Action":"sqs:RemovePermission"}"#,
     OWNER, "RemovePermission", true, true),
    ("a Deny of everything still binds the owner's other calls",
     r#"{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}"#,
     OWNER, "DeleteQueue", true, false),
    ("Deny of another account leaves the owner",
     r#"{"Effect":"Deny","Principal":{"AWS":"222222222222"},"Action":"sqs:*","Resource":"*"}"#,
     OWNER, "PurgeQueue", true, true),
    // --- owner-only actions, cross-account, even under sqs:* to everyone ---
    ("owner-only AddPermission", ALLOW_ALL, CALLER, "AddPermission", true, false),
    ("owner-only CancelMessageMoveTask", ALLOW_ALL, CALLER, "CancelMessageMoveTask", true, false),
    ("owner-only CreateQueue", ALLOW_ALL, CALLER, "CreateQueue", true, false),
    ("owner-only DeleteQueue", ALLOW_ALL, CALLER, "DeleteQueue", true, false),
    ("owner-only ListMessageMoveTasks", ALLOW_ALL, CALLER, "ListMessageMoveTasks", true, false),
    ("owner-only ListQueues", ALLOW_ALL, CALLER, "ListQueues", true, false),
    ("owner-only ListQueueTags", ALLOW_ALL, CALLER, "ListQueueTags", true, false),
    ("owner-only RemovePermission", ALLOW_ALL, CALLER, "RemovePermission", true, false),
    ("owner-only SetQueueAttributes", ALLOW_ALL, CALLER, "SetQueueAttributes", true, false),
    ("owner-only StartMessageMoveTask", ALLOW_ALL, CALLER, "StartMessageMoveTask", true, false),
    ("owner-only TagQueue", ALLOW_ALL, CALLER, "TagQueue", true, false),
    ("owner-only UntagQueue", ALLOW_ALL, CALLER, "UntagQueue", true, false),
    ("sqs:* does give PurgeQueue", ALLOW_ALL, CALLER, "PurgeQueue", true, true),
    ("sqs:* does give ListDeadLetterSourceQueues", ALLOW_ALL, CALLER, "ListDeadLetterSourceQueues", true, true),
    // --- conditions ---
    ("SourceAccount matches",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringEquals":{"aws:SourceAccount":"222222222222"}}}"#,
     CALLER, "SendMessage", true, true),
    ("SourceAccount mismatches",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringEquals":{"aws:SourceAccount":"333333333333"}}}"#,
     CALLER, "SendMessage", true, false),
    ("SourceAccount any of a list, key name in another case",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringEquals":{"AWS:SOURCEACCOUNT":["333333333333","222222222222"]}}}"#,
     CALLER, "SendMessage", true, true),
    ("StringNotEquals SourceAccount other",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringNotEquals":{"aws:SourceAccount":"333333333333"}}}"#,
     CALLER, "SendMessage", true, true),
    ("StringNotEquals SourceAccount list holding the caller",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringNotEquals":{"aws:SourceAccount":["333333333333","222222222222"]}}}"#,
     CALLER, "SendMessage", true, false),
    ("StringLike SourceAccount",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringLike":{"aws:SourceAccount":"2222*"}}}"#,
     CALLER, "SendMessage", true, true),
    ("PrincipalAccount matches",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringEquals":{"aws:PrincipalAccount":"222222222222"}}}"#,
     CALLER, "SendMessage", true, true),
    ("SecureTransport true over TLS",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
     CALLER, "SendMessage", true, true),
    ("SecureTransport true over plain HTTP",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
     CALLER, "SendMessage", false, false),
    ("Deny SecureTransport false (JSON boolean) over plain HTTP",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}"#,
     CALLER, "SendMessage", false, false),
    ("Deny SecureTransport false over TLS",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"False"}}}"#,
     CALLER, "SendMessage", true, true),
    ("Deny SecureTransport false binds the owner over plain HTTP",
     r#"{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
     OWNER, "ReceiveMessage", false, false),
    ("Allow with an unsupported key grants nothing",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
     CALLER, "SendMessage", true, false),
    ("Allow with an unsupported operator on a known key grants nothing",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"NumericEquals":{"aws:SourceAccount":"222222222222"}}}"#,
     CALLER, "SendMessage", true, false),
    ("Allow with a set qualifier grants nothing",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"ForAnyValue:StringEquals":{"aws:SourceAccount":"222222222222"}}}"#,
     CALLER, "SendMessage", true, false),
    ("Allow with a policy variable in a value grants nothing",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"StringEquals":{"aws:SourceAccount":"${aws:PrincipalAccount}"}}}"#,
     CALLER, "SendMessage", true, false),
    ("Deny with an unsupported key applies (fail closed)",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
     CALLER, "SendMessage", true, false),
    ("Deny with an unsupported key binds the owner too",
     r#"{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"StringEquals":{"aws:username":"x"}}}"#,
     OWNER, "SendMessage", true, false),
    ("Deny with an unsupported key and a false condition does not apply",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringEquals":{"aws:SourceAccount":"333333333333"}}}"#,
     CALLER, "SendMessage", true, true),
    ("every condition must hold",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"222222222222"},"Bool":{"aws:SecureTransport":"true"}}}"#,
     CALLER, "SendMessage", false, false),
    ("ArnEquals SourceArn never holds for a direct call",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:222222222222:topic"}}}"#,
     CALLER, "SendMessage", true, false),
    ("ArnLike SourceArn never holds for a direct call",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"ArnLike":{"aws:SourceArn":"*"}}}"#,
     CALLER, "SendMessage", true, false),
    ("Deny ArnNotEquals SourceArn refuses a direct call (absent key, negated operator)",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":"*","Condition":{"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:222222222222:topic"}}}"#,
     CALLER, "SendMessage", true, false),
    ("ArnEqualsIfExists SourceArn holds for a direct call",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"ArnEqualsIfExists":{"aws:SourceArn":"arn:aws:sns:us-east-1:222222222222:topic"}}}"#,
     CALLER, "SendMessage", true, true),
    ("Null SourceArn true holds for a direct call",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"Null":{"aws:SourceArn":"true"}}}"#,
     CALLER, "SendMessage", true, true),
    ("Null SourceAccount true does not hold",
     r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"Null":{"aws:SourceAccount":"true"}}}"#,
     CALLER, "SendMessage", true, false),
];

fn document(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

#[test]
fn table() {
    assert!(ROWS.len() >= 40, "{} rows", ROWS.len());
    let mut failures = Vec::new();
    for &(name, statements, caller, action, tls, expected) in ROWS {
        let policy = if statements.is_empty() {
            None
        } else {
            let doc = document(statements);
            match QueuePolicy::parse(&doc) {
                Ok(p) => Some(p),
                Err(e) => {
                    failures.push(format!("{name}: does not parse: {e}"));
                    continue;
                }
            }
        };
        let got = is_allowed(policy.as_ref(), &request(caller, action, ARN, tls));
        if got != expected {
            failures.push(format!(
                "{name}: {caller} {action}: got {got}, want {expected}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn table_covers_every_owner_only_action() {
    for a in OWNER_ONLY_ACTIONS {
        assert!(
            ROWS.iter().any(|r| r.2 == CALLER && r.3 == *a && !r.5),
            "{a} is never refused cross-account in the table"
        );
    }
}

#[test]
fn decisions() {
    let p = QueuePolicy::parse(&document(ALLOW_ALL)).unwrap();
    let req = request(CALLER, "SendMessage", ARN, true);
    assert_eq!(p.evaluate(&req), Decision::Allow);
    let other = request(
        CALLER,
        "SendMessage",
        "arn:aws:sqs:us-east-1:111111111111:o",
        true,
    );
    assert_eq!(p.evaluate(&other), Decision::NotMatched);
    // `evaluate` leaves the owner-only rule to `is_allowed`.
    assert_eq!(
        p.evaluate(&request(CALLER, "DeleteQueue", ARN, true)),
        Decision::Allow
    );
    let deny = QueuePolicy::parse(&document(
        r#"{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}"#,
    ))
    .unwrap();
    assert_eq!(deny.evaluate(&req), Decision::Deny);
    let empty = QueuePolicy::parse(r#"{"Statement":[]}"#).unwrap();
    assert_eq!(empty.evaluate(&req), Decision::NotMatched);
    assert_eq!(QueuePolicy::default().evaluate(&req), Decision::NotMatched);
}

#[test]
fn malformed_documents_are_refused() {
    let s = r#""Principal":"*","Action":"sqs:SendMessage""#;
    let bad: Vec<(&str, String)> = vec![
        ("not JSON", "{".into()),
        ("empty", String::new()),
        ("an array", "[]".into()),
        ("a string", r#""policy""#.into()),
        ("no Statement", r#"{"Version":"2012-10-17"}"#.into()),
        ("Statement a string", r#"{"Statement":"x"}"#.into()),
        ("Statement null", r#"{"Statement":null}"#.into()),
        ("a statement not an object", r#"{"Statement":[1]}"#.into()),
        ("Effect missing", format!(r#"{{"Statement":{{{s}}}}}"#)),
        ("Effect lower case", format!(r#"{{"Statement":{{"Effect":"allow",{s}}}}}"#)),
        ("Effect not a string", format!(r#"{{"Statement":{{"Effect":true,{s}}}}}"#)),
        ("Effect unknown", format!(r#"{{"Statement":{{"Effect":"Audit",{s}}}}}"#)),
        ("no Principal", r#"{"Statement":{"Effect":"Allow","Action":"sqs:*"}}"#.into()),
        ("Principal and NotPrincipal", r#"{"Statement":{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"sqs:*"}}"#.into()),
        ("Principal a number", r#"{"Statement":{"Effect":"Allow","Principal":5,"Action":"sqs:*"}}"#.into()),
        ("Principal a bare account string", r#"{"Statement":{"Effect":"Allow","Principal":"222222222222","Action":"sqs:*"}}"#.into()),
        ("Principal AWS a number", r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":222222222222},"Action":"sqs:*"}}"#.into()),
        ("Principal AWS an empty list", r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":[]},"Action":"sqs:*"}}"#.into()),
        ("Principal AWS empty string", r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":""},"Action":"sqs:*"}}"#.into()),
        ("Principal empty object", r#"{"Statement":{"Effect":"Allow","Principal":{},"Action":"sqs:*"}}"#.into()),
        ("Principal unknown type", r#"{"Statement":{"Effect":"Allow","Principal":{"User":"x"},"Action":"sqs:*"}}"#.into()),
        ("no Action", r#"{"Statement":{"Effect":"Allow","Principal":"*"}}"#.into()),
        ("Action and NotAction", r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sqs:*","NotAction":"sqs:*"}}"#.into()),
        ("Action a number", r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":1}}"#.into()),
        ("Action list holding a number", r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":["sqs:SendMessage",1]}}"#.into()),
        ("Action without service prefix", r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"SendMessage"}}"#.into()),
        ("Action with no name", r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sqs:"}}"#.into()),
        ("Resource a number", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Resource":1}}}}"#)),
        ("Resource and NotResource", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Resource":"*","NotResource":"*"}}}}"#)),
        ("Condition a string", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Condition":"x"}}}}"#)),
        ("Condition block a string", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Condition":{{"StringEquals":"x"}}}}}}"#)),
        ("Condition value null", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Condition":{{"StringEquals":{{"aws:SourceAccount":null}}}}}}}}"#)),
        ("Condition value empty list", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Condition":{{"StringEquals":{{"aws:SourceAccount":[]}}}}}}}}"#)),
        ("misspelt statement member", format!(r#"{{"Statement":{{"Effect":"Allow",{s},"Conditon":{{}}}}}}"#)),
        ("unknown top-level member", format!(r#"{{"Statment":[],"Statement":{{"Effect":"Allow",{s}}}}}"#)),
        ("unknown Version", format!(r#"{{"Version":"2020-01-01","Statement":{{"Effect":"Allow",{s}}}}}"#)),
        ("Id a number", format!(r#"{{"Id":1,"Statement":{{"Effect":"Allow",{s}}}}}"#)),
        ("Sid a number", format!(r#"{{"Statement":{{"Sid":1,"Effect":"Allow",{s}}}}}"#)),
        ("second statement bad", format!(r#"{{"Statement":[{{"Effect":"Allow",{s}}},{{"Effect":"Allow"}}]}}"#)),
    ];
    for (name, doc) in &bad {
        assert!(QueuePolicy::parse(doc).is_err(), "{name}: accepted {doc}");
    }
}

#[test]
fn common_shapes_are_accepted() {
    let good = [
        // A single statement object, no Version, Sid, Id.
        r#"{"Statement":{"Sid":"1","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}}"#,
        // Version 2012-10-17 with an Id and a statement list.
        r#"{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"a","Effect":"Allow","Principal":{"AWS":["222222222222","arn:aws:iam::333333333333:root"]},"Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"arn:aws:sqs:us-east-1:111111111111:q"}]}"#,
        // The SNS-subscription shape from the SQS documentation.
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:111111111111:t"}}}]}"#,
        // Mixed principal types, an empty statement list.
        r#"{"Statement":{"Effect":"Deny","Principal":{"AWS":"*","Service":["sns.amazonaws.com"]},"NotAction":"sqs:ReceiveMessage","NotResource":"arn:aws:sqs:*:*:other"}}"#,
        r#"{"Version":"2008-10-17","Statement":[]}"#,
    ];
    for doc in good {
        if let Err(e) = QueuePolicy::parse(doc) {
            panic!("{doc}: {e}");
        }
    }
}

/// One AddPermission call: label, accounts, actions.
type Grant = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// The document `Engine::add_permission` writes, built the same way.
fn add_permission_document(grants: &[Grant]) -> String {
    fn one_or_many(v: Vec<String>) -> serde_json::Value {
        if v.len() == 1 {
            serde_json::Value::String(v[0].clone())
        } else {
            serde_json::Value::from(v)
        }
    }
    let statements: Vec<serde_json::Value> = grants
        .iter()
        .map(|(label, accounts, actions)| {
            let principals = one_or_many(
                accounts
                    .iter()
                    .map(|a| format!("arn:aws:iam::{a}:root"))
                    .collect(),
            );
            let actions = one_or_many(actions.iter().map(|a| format!("SQS:{a}")).collect());
            serde_json::json!({
                "Sid": label, "Effect": "Allow", "Principal": {"AWS": principals},
                "Action": actions, "Resource": ARN,
            })
        })
        .collect();
    serde_json::json!({
        "Version": "2008-10-17",
        "Id": format!("{ARN}/SQSDefaultPolicy"),
        "Statement": statements,
    })
    .to_string()
}

#[test]
fn add_permission_documents_grant_exactly_what_they_say() {
    // The shape AWS writes, byte for byte.
    let literal = r#"{"Version":"2008-10-17","Id":"arn:aws:sqs:us-east-1:111111111111:q/SQSDefaultPolicy","Statement":[{"Sid":"L","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}]}"#;
    let literal_grants: &[Grant] = &[("L", &["222222222222"], &["SendMessage"])];
    let specs: &[&[Grant]] = &[
        &[("L", &["222222222222"], &["SendMessage"])],
        &[(
            "Many",
            &["222222222222", "333333333333"],
            &["ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility"],
        )],
        &[
            ("A", &["333333333333"], &["GetQueueAttributes"]),
            ("B", &["222222222222"], &["GetQueueUrl", "PurgeQueue"]),
        ],
        &[("All", &["222222222222"], &["*"])],
    ];
    let all = specs
        .iter()
        .map(|spec| (add_permission_document(spec), *spec))
        .chain(std::iter::once((literal.to_string(), literal_grants)));
    for (doc, spec) in all {
        let policy = QueuePolicy::parse(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
        for caller in [CALLER, "333333333333", "444444444444"] {
            for &action in ALL_ACTIONS {
                let single = single_of_batch(action);
                let granted = spec.iter().any(|(_, accounts, actions)| {
                    accounts.contains(&caller)
                        && actions
                            .iter()
                            .any(|a| *a == "*" || *a == action || Some(*a) == single)
                });
                let want = granted && !OWNER_ONLY_ACTIONS.contains(&action);
                let got = is_allowed(Some(&policy), &request(caller, action, ARN, true));
                assert_eq!(got, want, "{doc}: {caller} {action}");
                let elsewhere = request(
                    caller,
                    action,
                    "arn:aws:sqs:us-east-1:111111111111:q2",
                    true,
                );
                assert!(
                    !is_allowed(Some(&policy), &elsewhere),
                    "{doc}: {caller} {action} on q2"
                );
            }
            // The owner keeps everything.
            for &action in ALL_ACTIONS {
                assert!(is_allowed(
                    Some(&policy),
                    &request(OWNER, action, ARN, false)
                ));
            }
        }
    }
}

#[test]
fn wildcard_matching() {
    let m = |p: &str, t: &str| glob(p.as_bytes(), t.as_bytes(), false);
    assert!(m("*", ""));
    assert!(m("", ""));
    assert!(!m("", "a"));
    assert!(m("a*b*c", "aXbYbc"));
    assert!(!m("a*b*c", "aXbYb"));
    assert!(m("**", "abc"));
    assert!(m("a?c", "abc"));
    assert!(m("a?c", "aéc"), "? is one character, not one byte");
    assert!(!m("a??c", "aéc"));
    assert!(m("*é", "xxé"));
    assert!(!m("A", "a"));
    assert!(glob(b"sqs*", b"SQSX", true));
    assert!(arn_like("arn:aws:sns:*:*:t", "arn:aws:sns:us-east-1:1:t"));
    assert!(!arn_like("arn:aws:sns:*:*:t", "arn:aws:sns:us-east-1:1:t2"));
    assert!(arn_like("*", "arn:aws:sns:us-east-1:1:t"));
    assert!(
        !arn_like("arn:*", "arn:aws:sns:us-east-1:1:t"),
        "* stays within its part"
    );
    assert!(!arn_like("arn:aws:sns:*:*:*", "not-an-arn"));
}
