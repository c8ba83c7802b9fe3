//! Raw HTTP/1 over a tokio `TcpStream`, for what no client library will send: any bytes,
//! split into parts with pauses between them, and the responses (or the close) read back
//! with a bound on the time. Used by the limits and hostile-input suites.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response as read off the socket.
#[derive(Debug)]
pub struct WireResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl WireResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn xml(&self, tag: &str) -> Option<String> {
        crate::harness::xml_all(&self.text(), tag)
            .into_iter()
            .next()
    }
}

/// What one connection got back.
#[derive(Debug, Default)]
pub struct Exchange {
    /// Final (non-1xx) responses, in order.
    pub responses: Vec<WireResponse>,
    /// 1xx responses (`100 Continue`).
    pub informational: Vec<u16>,
    /// The server closed the connection (or reset it).
    pub closed: bool,
    /// Neither `want` responses nor a close came in time.
    pub timed_out: bool,
}

impl Exchange {
    pub fn statuses(&self) -> Vec<u16> {
        self.responses.iter().map(|r| r.status).collect()
    }
}

/// One complete response at the start of `buf` (given whether the peer closed): it and the
/// bytes it took.
fn parse_response(buf: &[u8], closed: bool) -> Option<(WireResponse, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut r = WireResponse {
        status,
        head,
        body: Vec::new(),
    };
    let length = r
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    let length = match length {
        Some(n) => n,
        None if (100..200).contains(&status) || status == 204 || status == 304 => 0,
        None if closed => buf.len() - end,
        None => return None,
    };
    if buf.len() < end + length {
        return None;
    }
    r.body = buf[end..end + length].to_vec();
    Some((r, end + length))
}

/// Writes `parts` on a new connection to `addr`, sleeping `pause` before each part after the
/// first, while reading; stops once `want` final responses came, the server closed, or
/// `within` passed. Write errors (the server closed first) are not failures.
pub async fn exchange(
    addr: SocketAddr,
    parts: Vec<Vec<u8>>,
    pause: Duration,
    want: usize,
    within: Duration,
) -> Exchange {
    exchange_with(addr, parts, pause, false, want, within).await
}

/// [`exchange`], and with `half_close` our side's writing is shut down after the last part.
pub async fn exchange_with(
    addr: SocketAddr,
    parts: Vec<Vec<u8>>,
    pause: Duration,
    half_close: bool,
    want: usize,
    within: Duration,
) -> Exchange {
    let stream = TcpStream::connect(addr).await.expect("connect");
    exchange_inner(stream, parts, pause, half_close, want, within).await
}

/// [`exchange`] on a connection already open.
pub async fn exchange_on(
    stream: TcpStream,
    parts: Vec<Vec<u8>>,
    pause: Duration,
    want: usize,
    within: Duration,
) -> Exchange {
    exchange_inner(stream, parts, pause, false, want, within).await
}

async fn exchange_inner(
    stream: TcpStream,
    parts: Vec<Vec<u8>>,
    pause: Duration,
    half_close: bool,
    want: usize,
    within: Duration,
) -> Exchange {
    // `tokio::io::split`: dropping the write half does not shut the socket's writing down
    // (the connection may be shared with another handle).
    let (mut reader, mut writer) = tokio::io::split(stream);
    let writing = tokio::spawn(async move {
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            if writer.write_all(&part).await.is_err() {
                return writer;
            }
        }
        if half_close {
            let _ = writer.shutdown().await;
        }
        writer
    });
    let mut out = Exchange::default();
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        while let Some((r, used)) = parse_response(&buf, out.closed) {
            buf.drain(..used);
            if (100..200).contains(&r.status) {
                out.informational.push(r.status);
            } else {
                out.responses.push(r);
            }
        }
        if out.responses.len() >= want || out.closed {
            break;
        }
        match tokio::time::timeout_at(deadline, reader.read(&mut chunk)).await {
            Err(_) => {
                out.timed_out = true;
                break;
            }
            Ok(Ok(0) | Err(_)) => out.closed = true,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    writing.abort();
    out
}

/// Whether the server closes the connection within `within` (reading and dropping whatever it
/// sends first).
pub async fn closes_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// `Authorization` and `X-Amz-Date` headers of a well-formed SigV4 signature for now: the
/// default `auto` mode without credentials accepts any (it has no secret to check against),
/// so a hand-built request of any bytes reaches decoding.
pub fn auth_headers() -> String {
    let (date, stamp) = amz_now();
    format!(
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/{date}/us-east-1/sqs/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature={}\r\nX-Amz-Date: {stamp}\r\n",
        "0".repeat(64)
    )
}

/// Now as SigV4 writes it: the date (`20261128`) and the timestamp (`20261128T093000Z`).
pub fn amz_now() -> (String, String) {
    let now = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let stamp = format!(
        "{date}T{:02}{:02}{:02}Z",
        now.hour(),
        now.minute(),
        now.second()
    );
    (date, stamp)
}

/// A request's bytes: `method target HTTP/1.1`, `Host`, the signature headers (unless
/// `signed` is false), `headers` (raw lines without CRLF), `Content-Length` of `body` (unless
/// a header already frames it), then `body`.
pub fn request(
    method: &str,
    target: &[u8],
    headers: &[&[u8]],
    body: &[u8],
    signed: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if signed {
        out.extend_from_slice(auth_headers().as_bytes());
    }
    let mut framed = false;
    for h in headers {
        let lower = String::from_utf8_lossy(h).to_ascii_lowercase();
        framed |= lower.starts_with("content-length:") || lower.starts_with("transfer-encoding:");
        out.extend_from_slice(h);
        out.extend_from_slice(b"\r\n");
    }
    if !framed {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A signed Query-protocol POST of a raw form body to `path`.
pub fn query_request(path: &[u8], body: &[u8]) -> Vec<u8> {
    request(
        "POST",
        path,
        &[b"Content-Type: application/x-www-form-urlencoded"],
        body,
        true,
    )
}
