//! For the fuzz targets in `fuzz/` only: the few decoders that are not public, wrapped, and
//! one input structure with every Query shape. Not part of the API.

use crate::protocol::query::query_input;
use crate::store::{Op, StoreResult};

/// The ops of one sled journal entry, as the store decodes them when it opens.
pub fn decode_journal_entry(bytes: &[u8]) -> StoreResult<Vec<Op>> {
    crate::store::sled_store::decode_entry(bytes)
}

/// A journal entry holding `ops`, as the store writes it.
pub fn encode_journal_entry(ops: &[Op]) -> Vec<u8> {
    use crate::store::sled_store::{encode_op, ENTRY_V1};
    let mut out = vec![ENTRY_V1];
    for (key, value) in ops {
        encode_op(&mut out, key, value.as_deref());
    }
    out
}

query_input! {
    /// A message attribute value, as in SendMessage.
    #[derive(Debug)]
    pub struct AttributeValue {
        data_type: Option<String> = "DataType",
        string_value: Option<String> = "StringValue",
        binary_value: Option<String> = "BinaryValue",
    }
}

query_input! {
    /// A batch entry with a nested map, as in SendMessageBatch.
    #[derive(Debug)]
    pub struct Entry {
        id: Option<String> = "Id",
        delay_seconds: Option<i64> = "DelaySeconds",
        message_attributes: Option<std::collections::BTreeMap<String, AttributeValue>> =
            "MessageAttributes" as "MessageAttribute" in MESSAGE_ATTRIBUTES,
    }
}

query_input! {
    /// Members flattened into [`Input`].
    #[derive(Debug)]
    pub struct Paging {
        max_results: Option<i64> = "MaxResults",
        next_token: Option<String> = "NextToken",
    }
}

query_input! {
    /// Every Query shape at once: strings, integers, booleans, lists, maps of strings and of
    /// structures, lists of structures and a flattened structure.
    #[derive(Debug)]
    pub struct Input {
        queue_url: Option<String> = "QueueUrl",
        wait: Option<bool> = "Wait",
        attributes: Option<std::collections::BTreeMap<String, String>> =
            "Attributes" as "Attribute" in crate::protocol::query::ATTRIBUTE_MAP,
        tags: Option<std::collections::BTreeMap<String, String>> =
            "Tags" as "Tag" in crate::protocol::query::TAG_MAP,
        names: Option<Vec<String>> = "AttributeNames" as "AttributeName",
        entries: Option<Vec<Entry>> = "Entries" as "Entry",
        ..paging: Paging,
    }
}

const MESSAGE_ATTRIBUTES: crate::protocol::query::Shape = crate::protocol::query::Shape::Map(
    "Name",
    "Value",
    &<AttributeValue as crate::protocol::query::QueryShape>::SHAPE,
);
