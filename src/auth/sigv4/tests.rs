//! Unit tests of the SigV4 parsers, canonical encodings and dates.

use super::canonical::{canonical_query, parse_query, PlusMode};
use super::*;

const SIG: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

fn header(cred: &str, signed: &str, sig: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={signed}, Signature={sig}")
}

#[test]
fn parses_standard_header() {
    let h = header(
        "AKID/20150830/us-east-1/sqs/aws4_request",
        "content-type;host;x-amz-date",
        SIG,
    );
    let parsed = parse_authorization(&h).unwrap();
    assert_eq!(parsed.credential.access_key, "AKID");
    assert_eq!(parsed.credential.date, "20150830");
    assert_eq!(parsed.credential.region, "us-east-1");
    assert_eq!(parsed.credential.service, "sqs");
    assert_eq!(parsed.credential.terminator, "aws4_request");
    assert_eq!(
        parsed.credential.scope(),
        "20150830/us-east-1/sqs/aws4_request"
    );
    assert_eq!(
        parsed.signed_headers,
        ["content-type", "host", "x-amz-date"]
    );
    assert_eq!(parsed.signature, SIG);
}

#[test]
fn scope_region_from_header_or_presigned_query() {
    let region = |uri: &str, authorization: Option<&str>| {
        let mut headers = HeaderMap::new();
        if let Some(a) = authorization {
            headers.insert(http::header::AUTHORIZATION, a.parse().unwrap());
        }
        scope_region(&uri.parse().unwrap(), &headers)
    };
    let signed = header(
        "AKID/20261128/eu-west-1/sqs/aws4_request",
        "content-type;host;x-amz-date",
        SIG,
    );
    assert_eq!(region("/", Some(&signed)).as_deref(), Some("eu-west-1"));
    let presigned = "/?Action=ListQueues&X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKID%2F20261128%2Fap-southeast-2%2Fsqs%2Faws4_request\
        &X-Amz-Date=20261128T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host\
        &X-Amz-Signature=00";
    assert_eq!(region(presigned, None).as_deref(), Some("ap-southeast-2"));
    // The header wins over the query; nothing well-formed → no region.
    assert_eq!(
        region(presigned, Some(&signed)).as_deref(),
        Some("eu-west-1")
    );
    assert_eq!(region("/?Action=ListQueues", None), None);
    assert_eq!(region("/", Some("total nonsense")), None);
    assert_eq!(
        region("/?X-Amz-Credential=AKID%2Fsqs%2Faws4_request", None),
        None
    );
}

#[test]
fn tolerates_spacing_order_and_case_of_hex() {
    let forms = [
        format!("AWS4-HMAC-SHA256 Credential=A/20150830/r/sqs/aws4_request,SignedHeaders=host,Signature={SIG}"),
        format!("  AWS4-HMAC-SHA256   Credential=A/20150830/r/sqs/aws4_request ,  SignedHeaders=host ,Signature={SIG}  "),
        format!("AWS4-HMAC-SHA256 Signature={SIG}, Credential=A/20150830/r/sqs/aws4_request, SignedHeaders=host"),
        format!("AWS4-HMAC-SHA256 Credential=A/20150830/r/sqs/aws4_request SignedHeaders=host Signature={}", SIG.to_uppercase()),
        format!("AWS4-HMAC-SHA256\tCredential=A/20150830/r/sqs/aws4_request,\tSignedHeaders=host, Signature={SIG}, Extra=ignored"),
    ];
    for form in forms {
        let parsed = parse_authorization(&form).unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(parsed.credential.access_key, "A");
        assert_eq!(parsed.signed_headers, ["host"]);
        assert_eq!(parsed.signature, SIG);
    }
}

#[test]
fn each_missing_part_is_incomplete() {
    let cred = "Credential=A/20150830/r/sqs/aws4_request";
    let sh = "SignedHeaders=host";
    let sig = format!("Signature={SIG}");
    let cases = [
        (format!("AWS4-HMAC-SHA256 {sh}, {sig}"), "'Credential'"),
        (format!("AWS4-HMAC-SHA256 {cred}, {sig}"), "'SignedHeaders'"),
        (format!("AWS4-HMAC-SHA256 {cred}, {sh}"), "'Signature'"),
        ("AWS4-HMAC-SHA256".to_string(), "'Credential'"),
        ("".to_string(), "algorithm"),
        (format!("AWS4-HMAC-SHA1 {cred}, {sh}, {sig}"), "algorithm"),
        (
            format!("AWS4-HMAC-SHA256 {cred}, {sh}, {sig}, {sig}"),
            "more than one",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, {sh}, Signature"),
            "equal-sign",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, {sh}, Signature=abc"),
            "64 hex",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, {sh}, Signature={}", &SIG[1..]),
            "64 hex",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, {sh}, Signature={}z", &SIG[1..]),
            "64 hex",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=, {sig}"),
            "SignedHeaders",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;;x, {sig}"),
            "SignedHeaders",
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential=A/20150830/r/sqs, {sh}, {sig}"),
            "scoped",
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential=/20150830/r/sqs/aws4_request, {sh}, {sig}"),
            "scoped",
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential=A/2015083/r/sqs/aws4_request, {sh}, {sig}"),
            "yyyymmdd",
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential=A/20150830//sqs/aws4_request, {sh}, {sig}"),
            "scoped",
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential=, {sh}, {sig}"),
            "scoped",
        ),
    ];
    for (value, expect) in cases {
        let err = parse_authorization(&value).expect_err(&value);
        assert_eq!(err.code, ErrorCode::IncompleteSignature, "{value}");
        assert!(
            err.message.contains(expect),
            "{value}: {} lacks {expect}",
            err.message
        );
    }
}

#[test]
fn missing_parts_are_all_named() {
    let err = parse_authorization("AWS4-HMAC-SHA256 Foo=bar").unwrap_err();
    for part in ["'Credential'", "'Signature'", "'SignedHeaders'"] {
        assert!(err.message.contains(part), "{}", err.message);
    }
}

#[test]
fn credential_keeps_slashes_in_access_key_field() {
    let c = parse_credential("A/B/20150830/eu-west-1/sqs/aws4_request").unwrap();
    assert_eq!(c.access_key, "A/B");
    assert_eq!(c.region, "eu-west-1");
}

#[test]
fn amz_dates() {
    assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
    assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
    assert_eq!(parse_amz_date("20240229T235959Z"), Some(1_709_251_199));
    for bad in [
        "20150830T123600",
        "20150830 123600Z",
        "2015083OT123600Z",
        "20151330T123600Z",
        "20150230T123600Z",
        "20230229T000000Z",
        "20150830T246000Z",
        "19691231T235959Z",
        "+0150830T123600Z",
        "+20150830T123600Z",
        "20150830T123660Z",
        "",
    ] {
        assert_eq!(parse_amz_date(bad), None, "{bad}");
    }
    for secs in [0, 951_782_400, 1_440_938_160, 1_709_251_199, 4_102_444_800] {
        assert_eq!(parse_amz_date(&format_amz_date(secs)), Some(secs));
    }
    assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
}

#[test]
fn http_dates() {
    assert_eq!(
        parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
        Some(1_440_938_160)
    );
    assert_eq!(parse_http_date("20150830T123600Z"), Some(1_440_938_160));
    for bad in [
        "Sun, 30 Aug 2015 12:36:00 UTC",
        "Sun, 30 Foo 2015 12:36:00 GMT",
        "Sun, 30 Aug 2015 12:36 GMT",
        "30 Aug 2015 12:36:00 GMT",
        "Sun, 31 Sep 2015 12:36:00 GMT",
        "Sun, 30 Aug +2015 12:36:00 GMT",
        "Sun, 30 aug 2015 12:36:00 GMT",
    ] {
        assert_eq!(parse_http_date(bad), None, "{bad}");
    }
}

#[test]
fn canonical_uris() {
    assert_eq!(canonical_uri(""), "/");
    assert_eq!(canonical_uri("/"), "/");
    assert_eq!(canonical_uri("/000000000000/q1"), "/000000000000/q1");
    assert_eq!(
        canonical_uri("/000000000000/q1.fifo"),
        "/000000000000/q1.fifo"
    );
    assert_eq!(canonical_uri("//example//"), "/example/");
    assert_eq!(canonical_uri("/a/./b/../c"), "/a/c");
    assert_eq!(canonical_uri("/a/.."), "/");
    // Already-encoded paths are encoded once more (AWS test suite "double-url-encode").
    assert_eq!(
        canonical_uri("/2015-03-31/functions/arn%3Aaws%3Alambda/invocations"),
        "/2015-03-31/functions/arn%253Aaws%253Alambda/invocations"
    );
    assert_eq!(
        canonical_uri("/test/@connections/JBDvjfGEIAMCERw%3D"),
        "/test/%40connections/JBDvjfGEIAMCERw%253D"
    );
}

#[test]
fn canonical_queries() {
    let q = |raw: &str, plus| {
        let pairs = parse_query(raw, plus);
        canonical_query(pairs.iter(), false)
    };
    assert_eq!(q("", PlusMode::Space), "");
    assert_eq!(
        q(
            "Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
            PlusMode::Space
        ),
        "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
    );
    assert_eq!(q("b=2&a=1&a=0", PlusMode::Space), "a=0&a=1&b=2");
    assert_eq!(q("flag&&x=", PlusMode::Space), "flag=&x=");
    assert_eq!(q("m=a%20b", PlusMode::Space), "m=a%20b");
    assert_eq!(q("m=a+b", PlusMode::Space), "m=a%20b");
    assert_eq!(q("m=a+b", PlusMode::Literal), "m=a%2Bb");
    assert_eq!(q("m=a%2Bb", PlusMode::Space), "m=a%2Bb");
    assert_eq!(q("m=%7e%2a%2F", PlusMode::Space), "m=~%2A%2F");
    assert_eq!(q("m=a*b'c", PlusMode::Space), "m=a%2Ab%27c");
    // Invalid UTF-8 escapes survive byte for byte.
    assert_eq!(q("m=%FF", PlusMode::Space), "m=%FF");
}

/// A small deterministic generator (SplitMix64) so the randomized test is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn randomized_garbage_never_panics() {
    let seeds = [
        header(
            "AKID/20150830/us-east-1/sqs/aws4_request",
            "content-type;host;x-amz-date",
            SIG,
        ),
        "AKID/20150830/us-east-1/sqs/aws4_request".to_string(),
        "Sun, 30 Aug 2015 12:36:00 GMT".to_string(),
        "20150830T123600Z".to_string(),
    ];
    let alphabet: Vec<char> = "AWS4-HMAC-SHA256 Credential=SignedHeaders=Signature=/,;= \t0123456789abcdefé\u{0}\u{ffff}ሴ%+"
        .chars()
        .collect();
    let mut rng = Rng(0x00C0_FFEE);
    for _ in 0..20_000 {
        let mut chars: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
        for _ in 0..=rng.below(6) {
            match rng.below(5) {
                0 if !chars.is_empty() => {
                    let i = rng.below(chars.len());
                    chars.remove(i);
                }
                1 => {
                    let i = rng.below(chars.len() + 1);
                    chars.insert(i, alphabet[rng.below(alphabet.len())]);
                }
                2 if !chars.is_empty() => {
                    let i = rng.below(chars.len());
                    chars[i] = alphabet[rng.below(alphabet.len())];
                }
                3 if !chars.is_empty() => {
                    let i = rng.below(chars.len());
                    chars.truncate(i);
                }
                _ => {
                    let i = rng.below(chars.len() + 1);
                    let dup: Vec<char> = chars[..i].to_vec();
                    chars.extend(dup);
                }
            }
        }
        let s: String = chars.into_iter().collect();
        let _ = parse_authorization(&s);
        let _ = parse_credential(&s);
        let _ = parse_signed_headers(&s);
        let _ = parse_amz_date(&s);
        let _ = parse_http_date(&s);
        let _ = canonical_uri(&s);
        let _ = parse_query(&s, PlusMode::Space);
        // Anything accepted must round-trip its invariants.
        if let Ok(parsed) = parse_authorization(&s) {
            assert_eq!(parsed.signature.len(), 64);
            assert!(!parsed.credential.access_key.is_empty());
            assert!(!parsed.signed_headers.is_empty());
        }
    }
}

#[test]
fn echo_is_bounded_and_char_safe() {
    let long = "ሴ".repeat(1000);
    let shown = echo(&long);
    assert!(shown.len() < 300);
    assert!(shown.ends_with("..."));
}

#[test]
fn signed_headers_are_names_separated_by_single_semicolons() {
    assert_eq!(
        parse_signed_headers("Content-Type;host;X-Amz-Date").unwrap(),
        ["content-type", "host", "x-amz-date"]
    );
    assert_eq!(parse_signed_headers("host").unwrap(), ["host"]);
    for bad in [
        "",
        ";",
        "host;",
        ";host",
        "host;;x-amz-date",
        "host x",
        "host;a:b",
        "hé",
    ] {
        assert!(parse_signed_headers(bad).is_err(), "{bad:?}");
    }
}
