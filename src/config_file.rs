//! The `--config` TOML file and the `--queue` values: server settings under the flags' own
//! kebab-case names (`data-dir = "/var/lib/cauda"`), and the queues to declare at start
//! (`[[queue]]` tables). Parsing and the checks that need no engine; [`crate::declare`] applies.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

/// Where a declaration was written, for messages: `cauda.toml:7`, `--queue jobs`, `CAUDA_QUEUES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place(String);

impl Place {
    pub fn new(text: impl Into<String>) -> Self {
        Place(text.into())
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A server setting from the file: the flag's long name, its value(s) as command-line text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub values: Vec<String>,
    pub at: Place,
}

/// One declared queue attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: String,
    pub at: Place,
}

/// `dead-letter = { queue = "...", max-receive-count = N }`: a RedrivePolicy naming a queue
/// declared in the same account and region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub queue: String,
    pub max_receive_count: u32,
    pub at: Place,
}

/// A queue as written (a `[[queue]]` table or a `--queue` value), before defaults and checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSpec {
    pub name: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub attributes: Vec<Attribute>,
    pub tags: Vec<(String, String)>,
    pub dead_letter: Option<DeadLetter>,
    pub at: Place,
}

/// A queue to declare at start: complete, and checked against the other declarations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredQueue {
    pub account: String,
    pub region: String,
    pub name: String,
    /// By the name (`.fifo`); a `FifoQueue` attribute agreed and is not among `attributes`.
    pub fifo: bool,
    pub attributes: Vec<Attribute>,
    pub tags: Vec<(String, String)>,
    pub dead_letter: Option<DeadLetter>,
    pub at: Place,
}

/// What a config file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileConfig {
    pub settings: Vec<Setting>,
    pub queues: Vec<QueueSpec>,
}

/// The top level: any key but `queue` is a setting, checked against the flags later.
#[derive(Default)]
struct Document {
    settings: Vec<(Spanned<String>, Spanned<toml::Value>)>,
    queues: Vec<Spanned<QueueTable>>,
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DocumentVisitor;
        impl<'de> Visitor<'de> for DocumentVisitor {
            type Value = Document;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("settings and [[queue]] tables")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
                let mut doc = Document::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    if key.get_ref() == "queue" {
                        doc.queues = map.next_value()?;
                    } else {
                        doc.settings.push((key, map.next_value()?));
                    }
                }
                Ok(doc)
            }
        }
        d.deserialize_map(DocumentVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct QueueTable {
    name: Spanned<String>,
    account: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    #[serde(default)]
    attributes: BTreeMap<Spanned<String>, Spanned<Scalar>>,
    #[serde(default)]
    tags: BTreeMap<String, Scalar>,
    dead_letter: Option<Spanned<DeadLetterTable>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct DeadLetterTable {
    queue: String,
    max_receive_count: u32,
}

/// An attribute or tag value: a string, or an integer or boolean taken as its text.
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an integer or a boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |head| head.bytes().filter(|&b| b == b'\n').count())
        + 1
}

/// Parses a config file's text; errors read `PATH:LINE: problem`.
pub fn parse_file(path: &Path, text: &str) -> Result<FileConfig, String> {
    let file = path.display().to_string();
    let at = |offset: usize| Place(format!("{file}:{}", line_of(text, offset)));
    let mut doc: Document = toml::from_str(text).map_err(|e| {
        let message = e.message().trim_end();
        match e.span() {
            Some(span) => format!("{}: {message}", at(span.start)),
            None => format!("{file}: {message}"),
        }
    })?;
    doc.settings.sort_by_key(|(key, _)| key.span().start);
    let mut settings = Vec::new();
    for (key, value) in doc.settings {
        let here = at(key.span().start);
        let values = setting_values(value.get_ref()).ok_or_else(|| {
            format!(
                "{here}: {} takes a string, an integer, a boolean or a list of them",
                key.get_ref()
            )
        })?;
        settings.push(Setting {
            key: key.into_inner(),
            values,
            at: here,
        });
    }
    let mut queues = Vec::new();
    for table in doc.queues {
        let table = table.into_inner();
        let attributes = table
            .attributes
            .into_iter()
            .map(|(name, value)| Attribute {
                at: at(name.span().start),
                name: name.into_inner(),
                value: value.into_inner().0,
            })
            .collect();
        let dead_letter = table.dead_letter.map(|d| {
            let here = at(d.span().start);
            let d = d.into_inner();
            DeadLetter {
                queue: d.queue,
                max_receive_count: d.max_receive_count,
                at: here,
            }
        });
        queues.push(QueueSpec {
            at: at(table.name.span().start),
            name: table.name.into_inner(),
            account: table.account.map(Spanned::into_inner),
            region: table.region.map(Spanned::into_inner),
            attributes,
            tags: table.tags.into_iter().map(|(k, v)| (k, v.0)).collect(),
            dead_letter,
        });
    }
    Ok(FileConfig { settings, queues })
}

/// A setting's value as command-line text: one value, or each item of a list.
fn setting_values(value: &toml::Value) -> Option<Vec<String>> {
    let one = |v: &toml::Value| match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    match value {
        toml::Value::Array(items) => items.iter().map(one).collect(),
        v => one(v).map(|s| vec![s]),
    }
}

/// One `--queue` value: `NAME[:Attribute=value,...]`.
pub fn parse_queue_flag(value: &str, at: Place) -> Result<QueueSpec, String> {
    let (name, attrs) = value.split_once(':').unwrap_or((value, ""));
    if name.is_empty() {
        return Err(format!(
            "{at}: expected NAME[:Attribute=value,...], e.g. jobs.fifo:VisibilityTimeout=60"
        ));
    }
    let mut attributes = Vec::new();
    for pair in attrs.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            format!("{at}: {pair:?} is not Attribute=value (e.g. VisibilityTimeout=60)")
        })?;
        attributes.push(Attribute {
            name: k.to_string(),
            value: v.to_string(),
            at: at.clone(),
        });
    }
    Ok(QueueSpec {
        name: name.to_string(),
        account: None,
        region: None,
        attributes,
        tags: Vec::new(),
        dead_letter: None,
        at,
    })
}

/// Fills in the default account and region and checks the declarations together: no queue
/// twice, `FifoQueue` agreeing with the name, a `dead-letter` queue declared and of the same
/// type. Attribute values are left to the engine.
pub fn resolve(
    specs: Vec<QueueSpec>,
    default_account: &str,
    default_region: &str,
) -> Result<Vec<DeclaredQueue>, String> {
    let mut out: Vec<DeclaredQueue> = Vec::new();
    let mut index: HashMap<(String, String, String), usize> = HashMap::new();
    for spec in specs {
        let q = declared(spec, default_account, default_region)?;
        let key = (q.account.clone(), q.region.clone(), q.name.clone());
        if let Some(&i) = index.get(&key) {
            return Err(format!(
                "{}: queue \"{}\" is declared twice (first at {})",
                q.at, q.name, out[i].at
            ));
        }
        index.insert(key, out.len());
        out.push(q);
    }
    for q in &out {
        check_dead_letter(q, &out, &index)?;
    }
    Ok(out)
}

/// One declaration with its account and region filled in, checked on its own.
fn declared(
    spec: QueueSpec,
    default_account: &str,
    default_region: &str,
) -> Result<DeclaredQueue, String> {
    let at = spec.at;
    let name = spec.name;
    if let Some(a) = &spec.account {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{at}: queue \"{name}\": account {a:?} is not 12 digits"
            ));
        }
    }
    if let Some(r) = &spec.region {
        if !crate::config::is_region_name(r) {
            return Err(format!(
                "{at}: queue \"{name}\": region {r:?} is not a region name (e.g. us-east-1)"
            ));
        }
    }
    let fifo = name.ends_with(".fifo");
    let mut attributes = Vec::new();
    for a in spec.attributes {
        if a.name == "FifoQueue" {
            check_fifo_flag(&name, fifo, &a)?;
        } else {
            attributes.push(a);
        }
    }
    if let Some(d) = &spec.dead_letter {
        if attributes.iter().any(|a| a.name == "RedrivePolicy") {
            return Err(format!(
                "{}: queue \"{name}\": give either dead-letter or a RedrivePolicy attribute, not both",
                d.at
            ));
        }
    }
    Ok(DeclaredQueue {
        account: spec.account.unwrap_or_else(|| default_account.to_string()),
        region: spec.region.unwrap_or_else(|| default_region.to_string()),
        name,
        fifo,
        attributes,
        tags: spec.tags,
        dead_letter: spec.dead_letter,
        at,
    })
}

/// A declared `FifoQueue` must say what the name says.
fn check_fifo_flag(name: &str, fifo: bool, a: &Attribute) -> Result<(), String> {
    let declared = match a.value.to_ascii_lowercase().as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(format!(
                "{}: queue \"{name}\": FifoQueue is \"true\" or \"false\", not {:?}",
                a.at, a.value
            ))
        }
    };
    if declared == fifo {
        return Ok(());
    }
    let why = if fifo {
        "the name ends in .fifo, so it is a FIFO queue"
    } else {
        "a FIFO queue's name must end in .fifo"
    };
    Err(format!(
        "{}: queue \"{name}\": FifoQueue = \"{}\", but {why}",
        a.at, a.value
    ))
}

/// A `dead-letter` queue must be declared, in the same account and region, of the same type.
fn check_dead_letter(
    q: &DeclaredQueue,
    all: &[DeclaredQueue],
    index: &HashMap<(String, String, String), usize>,
) -> Result<(), String> {
    let Some(d) = &q.dead_letter else {
        return Ok(());
    };
    let key = (q.account.clone(), q.region.clone(), d.queue.clone());
    let Some(&i) = index.get(&key) else {
        return Err(format!(
            "{}: queue \"{}\": its dead-letter queue \"{}\" is not declared (declare it in a [[queue]] table of its own, same account and region)",
            d.at, q.name, d.queue
        ));
    };
    let dlq = &all[i];
    if dlq.fifo == q.fifo {
        return Ok(());
    }
    let kind = |fifo: bool| if fifo { "a FIFO" } else { "a standard" };
    Err(format!(
        "{}: queue \"{}\" is {} queue, but its dead-letter queue \"{}\" is {} queue; both must be of one type",
        d.at,
        q.name,
        kind(q.fifo),
        dlq.name,
        kind(dlq.fifo)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, String> {
        parse_file(Path::new("cauda.toml"), text)
    }

    const EXAMPLE: &str = r#"
bind = "127.0.0.1:9400"
in-memory = true
credentials = ["AK:SECRET", "AK2:SECRET2:111111111111"]
max-inflight = 1000

[[queue]]
name = "orders.fifo"
attributes = { VisibilityTimeout = 60, ContentBasedDeduplication = true }
tags = { team = "payments" }
dead-letter = { queue = "orders-dlq.fifo", max-receive-count = 5 }

[[queue]]
name = "orders-dlq.fifo"
account = "111111111111"
region = "eu-west-1"
"#;

    #[test]
    fn settings_and_queues_with_their_lines() {
        let f = parse(EXAMPLE).unwrap();
        let keys: Vec<_> = f
            .settings
            .iter()
            .map(|s| (s.key.as_str(), s.values.clone(), s.at.to_string()))
            .collect();
        assert_eq!(
            keys,
            [
                (
                    "bind",
                    vec!["127.0.0.1:9400".to_string()],
                    "cauda.toml:2".into()
                ),
                ("in-memory", vec!["true".into()], "cauda.toml:3".into()),
                (
                    "credentials",
                    vec!["AK:SECRET".into(), "AK2:SECRET2:111111111111".into()],
                    "cauda.toml:4".into()
                ),
                ("max-inflight", vec!["1000".into()], "cauda.toml:5".into()),
            ]
        );
        assert_eq!(f.queues.len(), 2);
        let q = &f.queues[0];
        assert_eq!(
            (q.name.as_str(), q.at.to_string()),
            ("orders.fifo", "cauda.toml:8".into())
        );
        let attrs: Vec<_> = q
            .attributes
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(
            attrs,
            [
                ("ContentBasedDeduplication", "true"),
                ("VisibilityTimeout", "60")
            ]
        );
        assert!(q
            .attributes
            .iter()
            .all(|a| a.at.to_string() == "cauda.toml:9"));
        assert_eq!(q.tags, [("team".to_string(), "payments".to_string())]);
        let d = q.dead_letter.as_ref().unwrap();
        assert_eq!(
            (d.queue.as_str(), d.max_receive_count, d.at.to_string()),
            ("orders-dlq.fifo", 5, "cauda.toml:11".into())
        );
        let dlq = &f.queues[1];
        assert_eq!(dlq.account.as_deref(), Some("111111111111"));
        assert_eq!(dlq.region.as_deref(), Some("eu-west-1"));
        assert_eq!(dlq.at.to_string(), "cauda.toml:14");
    }

    #[test]
    fn file_errors_name_the_line() {
        let err = |text: &str| parse(text).unwrap_err();
        let e = err("bind = \"x\"\n[[queue]]\nname = \"a\"\nvisibility = 3\n");
        assert!(
            e.starts_with("cauda.toml:4: unknown field `visibility`"),
            "{e}"
        );
        let e = err("\n\n[[queue]]\nname = \"a\"\nattributes = { VisibilityTimeout = 1.5 }\n");
        assert!(e.starts_with("cauda.toml:5: "), "{e}");
        assert!(e.contains("a string, an integer or a boolean"), "{e}");
        let e = err("[[queue]]\nname = \"a\"\ndead-letter = { queue = \"b\" }\n");
        assert!(
            e.starts_with("cauda.toml:3: missing field `max-receive-count`"),
            "{e}"
        );
        let e = err("[[queue]]\naccount = \"000000000000\"\n");
        assert!(e.starts_with("cauda.toml:1: missing field `name`"), "{e}");
        let e = err("bind = \n");
        assert!(e.starts_with("cauda.toml:1: "), "{e}");
        let e = err("\nbind = 1.5\n");
        assert!(e.starts_with("cauda.toml:2: bind takes a string"), "{e}");
        let e = err("[queue]\nname = \"a\"\n");
        assert!(e.starts_with("cauda.toml:1: "), "{e}");
    }

    #[test]
    fn queue_flag_values() {
        let q = parse_queue_flag(
            "jobs.fifo:ContentBasedDeduplication=true,VisibilityTimeout=60",
            Place::new("--queue"),
        )
        .unwrap();
        assert_eq!(q.name, "jobs.fifo");
        let attrs: Vec<_> = q
            .attributes
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(
            attrs,
            [
                ("ContentBasedDeduplication", "true"),
                ("VisibilityTimeout", "60")
            ]
        );
        let q = parse_queue_flag("jobs", Place::new("--queue")).unwrap();
        assert_eq!((q.name.as_str(), q.attributes.len()), ("jobs", 0));
        assert!(parse_queue_flag("", Place::new("--queue")).is_err());
        assert!(parse_queue_flag(":A=1", Place::new("--queue")).is_err());
        let e = parse_queue_flag("jobs:VisibilityTimeout", Place::new("--queue jobs")).unwrap_err();
        assert!(
            e.starts_with("--queue jobs: \"VisibilityTimeout\" is not"),
            "{e}"
        );
    }

    fn resolved(text: &str) -> Result<Vec<DeclaredQueue>, String> {
        resolve(parse(text).unwrap().queues, "000000000000", "us-east-1")
    }

    #[test]
    fn resolve_fills_defaults_and_takes_fifo_from_the_name() {
        let qs = resolved(EXAMPLE).unwrap_err();
        // The DLQ is in another account: not the one the source names.
        assert!(qs.contains("cauda.toml:11:"), "{qs}");
        let text = "[[queue]]\nname = \"a.fifo\"\nattributes = { FifoQueue = \"true\" }\n[[queue]]\nname = \"b\"\nattributes = { FifoQueue = false }\n";
        let qs = resolved(text).unwrap();
        assert_eq!(
            (qs[0].account.as_str(), qs[0].region.as_str(), qs[0].fifo),
            ("000000000000", "us-east-1", true)
        );
        assert!(qs[0].attributes.is_empty());
        assert!(!qs[1].fifo && qs[1].attributes.is_empty());
    }

    #[test]
    fn resolve_errors() {
        let err = |text: &str| resolved(text).unwrap_err();
        let e = err("[[queue]]\nname = \"a.fifo\"\nattributes = { FifoQueue = \"false\" }\n");
        assert!(
            e.starts_with(
                "cauda.toml:3: queue \"a.fifo\": FifoQueue = \"false\", but the name ends in .fifo"
            ),
            "{e}"
        );
        let e = err("[[queue]]\nname = \"a\"\nattributes = { FifoQueue = \"true\" }\n");
        assert!(e.contains("must end in .fifo"), "{e}");
        let e = err("[[queue]]\nname = \"a\"\n\n[[queue]]\nname = \"a\"\n");
        assert_eq!(
            e,
            "cauda.toml:5: queue \"a\" is declared twice (first at cauda.toml:2)"
        );
        // The same name in another region is another queue.
        assert!(resolved(
            "[[queue]]\nname = \"a\"\n[[queue]]\nname = \"a\"\nregion = \"eu-west-1\"\n"
        )
        .is_ok());
        let e = err(
            "[[queue]]\nname = \"a\"\ndead-letter = { queue = \"dlq\", max-receive-count = 3 }\n",
        );
        assert!(
            e.starts_with(
                "cauda.toml:3: queue \"a\": its dead-letter queue \"dlq\" is not declared"
            ),
            "{e}"
        );
        let e = err("[[queue]]\nname = \"a.fifo\"\ndead-letter = { queue = \"dlq\", max-receive-count = 3 }\n[[queue]]\nname = \"dlq\"\n");
        assert!(
            e.contains(
                "\"a.fifo\" is a FIFO queue, but its dead-letter queue \"dlq\" is a standard queue"
            ),
            "{e}"
        );
        let e = err("[[queue]]\nname = \"a\"\naccount = \"12\"\n");
        assert!(e.contains("not 12 digits"), "{e}");
        let e = err("[[queue]]\nname = \"a\"\nregion = \"US\"\n");
        assert!(e.contains("not a region name"), "{e}");
        let e = err("[[queue]]\nname = \"a\"\nattributes = { RedrivePolicy = \"{}\" }\ndead-letter = { queue = \"a\", max-receive-count = 3 }\n");
        assert!(e.contains("not both"), "{e}");
    }
}
