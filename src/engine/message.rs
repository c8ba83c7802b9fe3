//! Messages: attribute values, the validation rules of SendMessage
//! (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>), and the MD5 digests clients check
//! (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html>).

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::{EngineError, EngineResult, Param};

/// One message attribute value (`String`, `Number`, `Binary`, optionally `.custom`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<Vec<u8>>,
}

pub type MessageAttributes = BTreeMap<String, AttributeValue>;

/// Lower-case hex MD5.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// `MD5OfMessageAttributes` over `attrs` (already filtered to what is returned); `None` if empty.
pub fn md5_of_attributes<'a, I>(attrs: I) -> Option<String>
where
    I: IntoIterator<Item = (&'a String, &'a AttributeValue)>,
{
    let mut sorted: Vec<_> = attrs.into_iter().collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    fn field(buf: &mut Vec<u8>, bytes: &[u8]) {
        buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        buf.extend_from_slice(bytes);
    }
    let mut buf = Vec::new();
    for (name, value) in sorted {
        field(&mut buf, name.as_bytes());
        field(&mut buf, value.data_type.as_bytes());
        match &value.binary_value {
            // Transport type 2: the value travels in BinaryValue.
            Some(bin) => {
                buf.push(2);
                field(&mut buf, bin);
            }
            // Transport type 1: String and Number travel in StringValue.
            None => {
                buf.push(1);
                field(
                    &mut buf,
                    value.string_value.as_deref().unwrap_or("").as_bytes(),
                );
            }
        }
    }
    Some(md5_hex(&buf))
}

/// Whether `c` is allowed in a message body or string attribute value.
fn allowed_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

pub fn has_only_allowed_chars(s: &str) -> bool {
    // Fast path over bytes: in UTF-8 every byte of a multi-byte character is >= 0x80, so only
    // control bytes can be a disallowed ASCII character; of the non-ASCII characters (a `str`
    // holds no surrogates) only U+FFFE and U+FFFF are disallowed.
    let bytes = s.as_bytes();
    if bytes
        .iter()
        .all(|&b| (0x20..0x80).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r'))
    {
        return true;
    }
    s.chars().all(allowed_char)
}

pub const INVALID_CHARS: &str = "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF";

pub fn validate_body(body: &str) -> EngineResult<()> {
    if body.is_empty() {
        return Err(EngineError::MissingParameter(Param::MessageBody));
    }
    if !has_only_allowed_chars(body) {
        return Err(EngineError::InvalidMessageContents);
    }
    Ok(())
}

/// The bytes a message counts against MaximumMessageSize: body + every attribute's name,
/// data type and value.
pub fn message_size(body: &str, attrs: &MessageAttributes) -> usize {
    body.len()
        + attrs
            .iter()
            .map(|(n, v)| {
                n.len()
                    + v.data_type.len()
                    + v.string_value.as_ref().map_or(0, std::string::String::len)
                    + v.binary_value.as_ref().map_or(0, std::vec::Vec::len)
            })
            .sum::<usize>()
}

fn attr_invalid(msg: String) -> EngineError {
    EngineError::InvalidRequest(msg.into())
}

/// Message attribute rules (names, types, values, at most 10).
pub fn validate_message_attributes(attrs: &MessageAttributes) -> EngineResult<()> {
    if attrs.len() > 10 {
        return Err(attr_invalid(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [10].",
            attrs.len()
        )));
    }
    for (name, value) in attrs {
        validate_attribute_name(name)?;
        validate_attribute_value(name, value)?;
    }
    Ok(())
}

pub fn validate_attribute_name(name: &str) -> EngineResult<()> {
    let lower = name.to_ascii_lowercase();
    let bad = name.is_empty()
        || name.chars().count() > 256
        || lower.starts_with("aws.")
        || lower.starts_with("amazon.")
        || name.starts_with('.')
        || name.ends_with('.')
        || name.contains("..")
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.');
    if bad {
        return Err(attr_invalid(format!(
            "Message (user) attribute name '{name}' is invalid. Attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters, must not start or end with a period, must not contain consecutive periods, must not start with AWS. or Amazon., and be at most 256 characters."
        )));
    }
    Ok(())
}

fn validate_attribute_value(name: &str, v: &AttributeValue) -> EngineResult<()> {
    let base = v.data_type.split('.').next().unwrap_or("");
    let custom_ok = match v.data_type.split_once('.') {
        Some((_, custom)) => !custom.is_empty(),
        None => true,
    };
    if v.data_type.is_empty() {
        return Err(attr_invalid(format!(
            "The message attribute '{name}' must contain non-empty message attribute type."
        )));
    }
    if !matches!(base, "String" | "Number" | "Binary") || !custom_ok || v.data_type.len() > 256 {
        return Err(attr_invalid(format!(
            "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
        )));
    }
    let empty = |ty: &str| {
        attr_invalid(format!(
            "Message (user) attribute '{name}' must contain a non-empty value of type '{ty}'."
        ))
    };
    match base {
        "Binary" => match &v.binary_value {
            Some(b) if !b.is_empty() => Ok(()),
            _ => Err(empty("Binary")),
        },
        _ => {
            let s = match &v.string_value {
                Some(s) if !s.is_empty() => s,
                _ => return Err(empty(base)),
            };
            if !has_only_allowed_chars(s) {
                return Err(attr_invalid(format!(
                    "Message (user) attribute '{name}' has an invalid value. {INVALID_CHARS}"
                )));
            }
            if base == "Number" && !valid_number(s) {
                return Err(attr_invalid(format!(
                    "Can't cast the value of message (user) attribute '{name}' to a number."
                )));
            }
            Ok(())
        }
    }
}

/// A decimal number of at most 38 significant digits, optionally signed, with an exponent.
fn valid_number(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa = mantissa.strip_prefix(['+', '-']).unwrap_or(mantissa);
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next().unwrap_or("");
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    let digits: String = format!("{int}{frac}");
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.len() > 38 {
        return false;
    }
    match exponent {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.len() <= 4 && e.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

/// MessageGroupId / MessageDeduplicationId: 1–128 alphanumerics and punctuation.
pub fn validate_fifo_id(param: Param, value: &str) -> EngineResult<()> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation());
    if ok {
        Ok(())
    } else {
        let reason = match param {
            Param::MessageGroupId => "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
            _ => "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
        };
        Err(EngineError::invalid(param, value, reason))
    }
}

/// Batch entry ids: 1–80 of `[A-Za-z0-9_-]`.
pub fn valid_batch_entry_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Filters message attributes by `MessageAttributeNames` (`All`, `.*`, `prefix.*`, names).
pub fn select_attributes<'a>(
    attrs: &'a MessageAttributes,
    names: &[String],
) -> Vec<(&'a String, &'a AttributeValue)> {
    if names.is_empty() {
        return Vec::new();
    }
    if names.iter().any(|n| n == "All" || n == ".*" || n == "*") {
        return attrs.iter().collect();
    }
    attrs
        .iter()
        .filter(|(k, _)| {
            names.iter().any(|n| match n.strip_suffix(".*") {
                Some(prefix) => k.starts_with(prefix),
                None => *k == n,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue {
            data_type: "String".into(),
            string_value: Some(v.into()),
            binary_value: None,
        }
    }
    fn attrs(list: &[(&str, AttributeValue)]) -> MessageAttributes {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn allowed_characters_match_the_sqs_ranges() {
        for ok in [
            "a b\tc\r\n~\u{7f}",
            "\u{80}\u{D7FF}\u{E000}\u{FFFD}",
            "\u{10000}\u{10FFFF}é€😀",
        ] {
            assert!(has_only_allowed_chars(ok), "{ok:?}");
        }
        for bad in [
            "\u{0}",
            "a\u{8}b",
            "\u{1F}",
            "x\u{B}",
            "é\u{C}",
            "\u{FFFE}",
            "a\u{FFFF}",
        ] {
            assert!(!has_only_allowed_chars(bad), "{bad:?}");
        }
        // Every character up to U+10FFFF agrees with the range test, alone and after text.
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let alone = c.to_string();
            assert_eq!(has_only_allowed_chars(&alone), allowed_char(c), "{c:?}");
            assert_eq!(has_only_allowed_chars(&format!("ab{c}")), allowed_char(c));
        }
    }

    #[test]
    fn body_md5_vectors() {
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(md5_hex(b"msg"), "6e2baaf3b97dbeef01c0043275f9a0e7");
        assert_eq!(md5_hex(b"message"), "78e731027d8fd50ed642340b7c9a63b3");
        assert_eq!(md5_hex(b"test"), "098f6bcd4621d373cade4e832627b4f6");
    }

    #[test]
    fn attribute_md5_vectors_from_aws() {
        let cases: Vec<(MessageAttributes, &str)> = vec![
            (attrs(&[("MyAttribute", s("foobar"))]), "adb59cd4678ea5a855436b949cd07ab6"),
            (attrs(&[("Foo", s("Bar"))]), "ae7155c6026991b6d54b11589678bf9c"),
            (attrs(&[("Hello", s("There"))]), "a311262e065454b75da111d535b8dacd"),
            (attrs(&[("Hello", s("There")), ("General", s("Kenobi"))]), "fca026605781cb4126a1e9044df24232"),
            (attrs(&[("Hello", s("There")), ("Help.Me", s("Me"))]), "83fee93c1bcd8b9a5a923ffacdc636c7"),
            (
                attrs(&[("Help.Me", s("Me")), ("Hello", s("There")), ("General", s("Kenobi"))]),
                "4c360f3fdafd970e05fae2f149d997f5",
            ),
            (
                attrs(&[(
                    "timestamp",
                    AttributeValue { data_type: "Number".into(), string_value: Some("1493147359900".into()), binary_value: None },
                )]),
                "235c5c510d26fb653d073faed50ae77c",
            ),
            (
                attrs(&[(
                    "attr1",
                    AttributeValue {
                        data_type: "Binary".into(),
                        string_value: None,
                        binary_value: Some(b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01".to_vec()),
                    },
                )]),
                "8cbe4db156db8a94db8b801b7addb984",
            ),
            (
                attrs(&[
                    ("a", s("hello")),
                    ("b", AttributeValue { data_type: "Binary".into(), string_value: None, binary_value: Some(vec![0, 1, 2]) }),
                    ("n", AttributeValue { data_type: "Number.int".into(), string_value: Some("42".into()), binary_value: None }),
                ]),
                "8ede164999645b25afbafe8fd5817b1c",
            ),
            (
                attrs(&[("AWSTraceHeader", s("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"))]),
                "5ae4d5d7636402d80f4eb6d213245a88",
            ),
        ];
        for (a, want) in cases {
            assert_eq!(md5_of_attributes(&a).as_deref(), Some(want), "{a:?}");
        }
        assert_eq!(md5_of_attributes(&MessageAttributes::new()), None);
    }

    #[test]
    fn filtered_md5_covers_only_returned_attributes() {
        let all = attrs(&[
            ("Help.Me", s("Me")),
            ("Hello", s("There")),
            ("General", s("Kenobi")),
        ]);
        let picked = select_attributes(&all, &["Hello".to_string()]);
        assert_eq!(
            md5_of_attributes(picked).as_deref(),
            Some("a311262e065454b75da111d535b8dacd")
        );
        let prefixed = select_attributes(&all, &["Hel.*".to_string()]);
        assert_eq!(prefixed.len(), 2);
        assert_eq!(select_attributes(&all, &["All".to_string()]).len(), 3);
        assert!(select_attributes(&all, &[]).is_empty());
    }

    #[test]
    fn characters() {
        assert!(validate_body("hello \u{E000} \u{10000}\t\n\r").is_ok());
        for bad in ["\u{0}", "a\u{8}", "\u{13}", "\u{FFFF}", "\u{FFFE}"] {
            assert_eq!(
                validate_body(bad).unwrap_err(),
                EngineError::InvalidMessageContents
            );
        }
        assert_eq!(
            validate_body("").unwrap_err(),
            EngineError::MissingParameter(Param::MessageBody)
        );
    }

    #[test]
    fn attribute_rules() {
        for bad in ["AWS.x", "amazon.x", ".a", "a.", "a..b", "a b", ""] {
            assert!(validate_attribute_name(bad).is_err(), "{bad}");
        }
        assert!(validate_attribute_name("attr.1øßä").is_ok());
        assert!(validate_attribute_name(&"a".repeat(256)).is_ok());
        assert!(validate_attribute_name(&"a".repeat(257)).is_err());
        let ok = attrs(&[(
            "n",
            AttributeValue {
                data_type: "Number.float".into(),
                string_value: Some("-1.5e10".into()),
                binary_value: None,
            },
        )]);
        assert!(validate_message_attributes(&ok).is_ok());
        let bad_type = attrs(&[(
            "n",
            AttributeValue {
                data_type: "Integer".into(),
                string_value: Some("1".into()),
                binary_value: None,
            },
        )]);
        assert!(validate_message_attributes(&bad_type).is_err());
        let nan = attrs(&[(
            "n",
            AttributeValue {
                data_type: "Number".into(),
                string_value: Some("abc".into()),
                binary_value: None,
            },
        )]);
        assert!(validate_message_attributes(&nan).is_err());
        let empty = attrs(&[("n", s(""))]);
        assert_eq!(
            validate_message_attributes(&empty).unwrap_err(),
            EngineError::InvalidRequest(
                "Message (user) attribute 'n' must contain a non-empty value of type 'String'."
                    .into()
            )
        );
        let eleven: MessageAttributes = (0..11).map(|i| (format!("a{i}"), s("v"))).collect();
        assert!(validate_message_attributes(&eleven).is_err());
    }

    #[test]
    fn fifo_ids_and_batch_ids() {
        assert!(validate_fifo_id(Param::MessageGroupId, "g-1!~").is_ok());
        assert!(validate_fifo_id(Param::MessageGroupId, "group 123").is_err());
        assert!(validate_fifo_id(Param::MessageGroupId, "").is_err());
        assert!(validate_fifo_id(Param::MessageGroupId, &"a".repeat(129)).is_err());
        assert_eq!(
            validate_fifo_id(Param::MessageGroupId, "group 123").unwrap_err(),
            EngineError::invalid(
                Param::MessageGroupId,
                "group 123",
                "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length."
            )
        );
        assert!(valid_batch_entry_id("a-b_9"));
        assert!(!valid_batch_entry_id("invalid:id"));
        assert!(!valid_batch_entry_id(""));
        assert!(!valid_batch_entry_id(&"a".repeat(81)));
    }
}

#[cfg(test)]
mod proptests {
    use md5::{Digest, Md5};
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    use super::*;

    /// `MD5OfMessageAttributes` written again from SQS-REFERENCE.md §5.3, independently of
    /// [`md5_of_attributes`]: sorted by name, per attribute the name, the DataType, one
    /// transport byte (1 for String and Number, which travel in StringValue; 2 for Binary) and
    /// the value, each string a 4-byte big-endian length then its bytes; the lower-case hex MD5
    /// of it all.
    fn reference_md5(attrs: &[(String, AttributeValue)]) -> Option<String> {
        fn with_length(md5: &mut Md5, bytes: &[u8]) {
            md5.update(u32::try_from(bytes.len()).unwrap().to_be_bytes());
            md5.update(bytes);
        }
        let mut sorted: Vec<&(String, AttributeValue)> = attrs.iter().collect();
        sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut md5 = Md5::new();
        for (name, value) in &sorted {
            with_length(&mut md5, name.as_bytes());
            with_length(&mut md5, value.data_type.as_bytes());
            if value.data_type.starts_with("Binary") {
                md5.update([2u8]);
                with_length(&mut md5, value.binary_value.as_deref().unwrap());
            } else {
                md5.update([1u8]);
                with_length(&mut md5, value.string_value.as_deref().unwrap().as_bytes());
            }
        }
        (!sorted.is_empty()).then(|| format!("{:032x}", md5.finalize()))
    }

    /// A valid attribute name: 1 to 256 of `A-Z a-z 0-9 _ -` with single dots inside.
    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{1,40}(\\.[A-Za-z0-9_-]{1,20}){0,3}".prop_filter("reserved prefix", |n| {
            let lower = n.to_ascii_lowercase();
            !lower.starts_with("aws.") && !lower.starts_with("amazon.")
        })
    }

    /// A valid value of any of the three types, with or without a custom type label.
    fn value() -> impl Strategy<Value = AttributeValue> {
        let custom = prop::option::of("[A-Za-z0-9_.]{1,20}");
        let string = ("\\PC{1,50}", custom.clone()).prop_map(|(s, c)| AttributeValue {
            data_type: c.map_or("String".into(), |c| format!("String.{c}")),
            string_value: Some(s),
            binary_value: None,
        });
        let number = (
            "-?[0-9]{1,20}(\\.[0-9]{1,10})?(e-?[0-9]{1,3})?",
            custom.clone(),
        )
            .prop_map(|(s, c)| AttributeValue {
                data_type: c.map_or("Number".into(), |c| format!("Number.{c}")),
                string_value: Some(s),
                binary_value: None,
            });
        let binary = (vec(any::<u8>(), 1..64), custom).prop_map(|(b, c)| AttributeValue {
            data_type: c.map_or("Binary".into(), |c| format!("Binary.{c}")),
            string_value: None,
            binary_value: Some(b),
        });
        prop_oneof![string, number, binary]
    }

    fn attributes() -> impl Strategy<Value = MessageAttributes> {
        btree_map(name(), value(), 0..=10)
    }

    /// Names whose validity is decided by one rule: `len` characters, `c` at `at`.
    fn named(len: usize, c: char, at: usize) -> String {
        (0..len).map(|i| if i == at { c } else { 'a' }).collect()
    }

    proptest! {
        #[test]
        fn attribute_md5_matches_the_reference_algorithm(attrs in attributes()) {
            let listed: Vec<(String, AttributeValue)> =
                attrs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(md5_of_attributes(&attrs), reference_md5(&listed));
            prop_assert!(validate_message_attributes(&attrs).is_ok());
        }

        /// Whatever order the attributes come in, and for any filtered subset (what a receive
        /// returns), the digest is the reference's over exactly those attributes.
        #[test]
        fn attribute_md5_of_any_subset_in_any_order(
            attrs in attributes(),
            keep in vec(any::<bool>(), 10),
            rotate in 0usize..10,
        ) {
            let mut picked: Vec<(&String, &AttributeValue)> = attrs
                .iter()
                .zip(keep.iter().cycle())
                .filter(|(_, &k)| k)
                .map(|(a, _)| a)
                .collect();
            if !picked.is_empty() {
                let by = rotate % picked.len();
                picked.rotate_left(by);
            }
            let listed: Vec<(String, AttributeValue)> =
                picked.iter().map(|(k, v)| ((*k).clone(), (*v).clone())).collect();
            let names: Vec<String> = listed.iter().map(|(k, _)| k.clone()).collect();
            prop_assert_eq!(md5_of_attributes(picked), reference_md5(&listed));
            let selected = select_attributes(&attrs, &names);
            prop_assert_eq!(md5_of_attributes(selected), reference_md5(&listed));
        }

        /// Name length: up to 256 characters (counted as characters, not bytes), not one more.
        #[test]
        fn attribute_name_length_limit(len in 250usize..=262, wide in any::<bool>()) {
            let c = if wide { 'ø' } else { 'a' };
            let name: String = std::iter::repeat_n(c, len).collect();
            prop_assert_eq!(validate_attribute_name(&name).is_ok(), len <= 256);
        }

        /// Any character outside `A-Z a-z 0-9 _ - .` (and non-ASCII letters and digits), at any
        /// position, makes a name invalid.
        #[test]
        fn attribute_name_characters(c in any::<char>(), len in 1usize..=256, at in 0usize..256) {
            let at = at % len;
            let allowed = c.is_alphanumeric() || c == '_' || c == '-' || c == '.';
            let dot_ok = c != '.' || (at != 0 && at != len - 1);
            let name = named(len, c, at);
            prop_assert_eq!(validate_attribute_name(&name).is_ok(), allowed && dot_ok, "{:?}", name);
        }

        /// The reserved prefixes in any casing, a leading or trailing dot and two dots in a
        /// row are refused; a dot alone between other characters is fine.
        #[test]
        fn attribute_name_dots_and_reserved_prefixes(
            prefix in prop_oneof!["[aA][wW][sS]", "[aA][mM][aA][zZ][oO][nN]"],
            rest in "[a-z]{1,10}",
        ) {
            let n = format!("{prefix}.{rest}");
            prop_assert!(validate_attribute_name(&n).is_err(), "{}", n);
            let n = format!("{prefix}{rest}");
            prop_assert!(validate_attribute_name(&n).is_ok(), "{}", n);
            let n = format!("{prefix}-.{rest}");
            prop_assert!(validate_attribute_name(&n).is_ok(), "{}", n);
            let n = format!(".{rest}");
            prop_assert!(validate_attribute_name(&n).is_err(), "{}", n);
            let n = format!("{rest}.");
            prop_assert!(validate_attribute_name(&n).is_err(), "{}", n);
            let n = format!("{rest}..{rest}");
            prop_assert!(validate_attribute_name(&n).is_err(), "{}", n);
            let n = format!("{rest}.{rest}");
            prop_assert!(validate_attribute_name(&n).is_ok(), "{}", n);
        }

        /// At most 10 attributes per message.
        #[test]
        fn attribute_count_limit(n in 0usize..=13) {
            let attrs: MessageAttributes = (0..n)
                .map(|i| (format!("a{i}"), AttributeValue {
                    data_type: "String".into(),
                    string_value: Some("v".into()),
                    binary_value: None,
                }))
                .collect();
            prop_assert_eq!(validate_message_attributes(&attrs).is_ok(), n <= 10);
        }

        /// DataType: `String`, `Number` or `Binary` exactly (case matters), optionally with a
        /// non-empty custom label, at most 256 characters in all.
        #[test]
        fn attribute_data_type_rules(
            base in prop_oneof!["String", "Number", "Binary", "string", "NUMBER", "Str", "Integer", ""],
            label_len in prop::option::of(prop_oneof![0usize..=3, 245usize..=252]),
        ) {
            let data_type = match label_len {
                Some(n) => format!("{base}.{}", "x".repeat(n)),
                None => base.clone(),
            };
            let value = AttributeValue {
                data_type: data_type.clone(),
                string_value: (base != "Binary").then(|| "1".to_string()),
                binary_value: (base == "Binary").then(|| vec![1]),
            };
            let attrs: MessageAttributes = [("a".to_string(), value)].into();
            let ok = matches!(base.as_str(), "String" | "Number" | "Binary")
                && label_len != Some(0)
                && data_type.chars().count() <= 256;
            prop_assert_eq!(validate_message_attributes(&attrs).is_ok(), ok, "{}", data_type);
        }

        /// Values: non-empty; Binary in BinaryValue; String values only of the characters a
        /// message body may hold; Numbers of at most 38 significant digits and an exponent of
        /// at most 4 digits.
        #[test]
        fn attribute_value_rules(
            digits in 1usize..=45,
            zeros in 0usize..=5,
            exponent in prop::option::of(1usize..=6),
            c in any::<char>(),
        ) {
            let number = format!(
                "{}{}{}",
                "0".repeat(zeros),
                "7".repeat(digits),
                exponent.map_or(String::new(), |e| format!("E-{}", "1".repeat(e)))
            );
            let attr = |data_type: &str, s: Option<String>, b: Option<Vec<u8>>| -> MessageAttributes {
                [("a".to_string(), AttributeValue {
                    data_type: data_type.into(),
                    string_value: s,
                    binary_value: b,
                })].into()
            };
            let number_ok = digits <= 38 && exponent.is_none_or(|e| e <= 4);
            prop_assert_eq!(
                validate_message_attributes(&attr("Number", Some(number), None)).is_ok(),
                number_ok
            );
            let text = format!("x{c}y");
            let allowed = matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}');
            prop_assert_eq!(
                validate_message_attributes(&attr("String", Some(text), None)).is_ok(),
                allowed
            );
            prop_assert!(validate_message_attributes(&attr("String", Some(String::new()), None)).is_err());
            prop_assert!(validate_message_attributes(&attr("String", None, Some(vec![1]))).is_err());
            prop_assert!(validate_message_attributes(&attr("Binary", None, Some(Vec::new()))).is_err());
            prop_assert!(validate_message_attributes(&attr("Binary", Some("AA==".into()), None)).is_err());
            prop_assert!(validate_message_attributes(&attr("Binary", None, Some(vec![c as u8]))).is_ok());
        }
    }
}
