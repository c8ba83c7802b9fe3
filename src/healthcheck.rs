//! `cauda healthcheck`: asks a running server's `GET /health` and answers with the exit status,
//! for container images that have no curl (the scratch image's `HEALTHCHECK`).

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long the whole check may take before it counts as a failure.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The health URL of a server bound to `bind`: a wildcard address is asked on loopback.
pub fn default_url(bind: std::net::SocketAddr) -> String {
    let host = match bind.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
        ip if ip.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    format!("http://{host}:{}/health", bind.port())
}

/// `Ok` when `url` (plain `http://`) answers `200 OK` within 3 s; `Err` says why not.
pub async fn check(url: &str) -> Result<(), String> {
    tokio::time::timeout(TIMEOUT, get(url))
        .await
        .map_err(|_| format!("{url}: no answer within {} s", TIMEOUT.as_secs()))?
}

async fn get(url: &str) -> Result<(), String> {
    let uri: Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("{url}: only http:// URLs can be checked"));
    }
    let host = uri.host().ok_or_else(|| format!("{url}: no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let address = format!(
        "{}:{port}",
        host.trim_start_matches('[').trim_end_matches(']')
    );
    let stream = TcpStream::connect(&address)
        .await
        .map_err(|e| format!("{url}: cannot connect to {address}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    tokio::spawn(connection);
    let authority = uri.authority().map_or(host, |a| a.as_str()).to_string();
    let request = Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("{url}: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    match response.status() {
        StatusCode::OK => Ok(()),
        status => Err(format!("{url}: answered {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_urls_ask_loopback_for_wildcard_binds() {
        let url = |s: &str| default_url(s.parse().unwrap());
        assert_eq!(url("0.0.0.0:9324"), "http://127.0.0.1:9324/health");
        assert_eq!(url("127.0.0.1:80"), "http://127.0.0.1:80/health");
        assert_eq!(url("[::]:9324"), "http://[::1]:9324/health");
        assert_eq!(url("[::1]:9"), "http://[::1]:9/health");
        assert_eq!(url("10.1.2.3:9324"), "http://10.1.2.3:9324/health");
    }

    #[tokio::test]
    async fn refused_and_non_http_urls_fail() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let refused = check(&format!("http://127.0.0.1:{port}/health")).await;
        assert!(refused.unwrap_err().contains("cannot connect"));
        let https = check("https://127.0.0.1:1/health").await;
        assert!(https.unwrap_err().contains("only http://"));
    }
}
