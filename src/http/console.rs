//! The web console at `/_cauda/console`: static files compiled into the binary (plain ES
//! modules, no build step; `console/` in the repository) and `settings.json`, what the page
//! must know before it can sign anything. The page itself needs no signature (a browser
//! cannot sign a navigation); everything it then reads or changes goes through SigV4-signed
//! SQS requests and the admin API, with the same keys as the SDKs.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

use super::AppState;

/// Where the console lives.
pub const PATH: &str = "/_cauda/console";

/// The console's files: (name under [`PATH`], content type, content).
const ASSETS: &[(&str, &str, &str)] = &[
    ("", HTML, include_str!("../../console/index.html")),
    ("/", HTML, include_str!("../../console/index.html")),
    ("/app.js", JS, include_str!("../../console/app.js")),
    ("/api.js", JS, include_str!("../../console/api.js")),
    ("/ui.js", JS, include_str!("../../console/ui.js")),
    ("/queues.js", JS, include_str!("../../console/queues.js")),
    ("/queue.js", JS, include_str!("../../console/queue.js")),
    ("/style.css", CSS, include_str!("../../console/style.css")),
    (
        "/vendor/aws4fetch.esm.mjs",
        JS,
        include_str!("../../console/vendor/aws4fetch.esm.mjs"),
    ),
];

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The console's answer to a `GET`/`HEAD` under [`PATH`]; `None` for any other request.
pub fn route<B>(state: &AppState, req: &Request<B>) -> Option<Response<Full<Bytes>>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return None;
    }
    let rest = req.uri().path().strip_prefix(PATH)?;
    if rest == "/settings.json" {
        return Some(file(
            "application/json",
            Bytes::from(settings(state).to_string()),
        ));
    }
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    Some(match ASSETS.iter().find(|(name, _, _)| *name == rest) {
        Some((_, content_type, content)) => {
            file(content_type, Bytes::from_static(content.as_bytes()))
        }
        None => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"no such console file")));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    })
}

/// What the page needs before its first request: whether requests must be signed with a
/// configured credential (it then asks for one), and the region to start in.
fn settings(state: &AppState) -> serde_json::Value {
    json!({
        "signatures_checked": state.verifier.checks_signatures(),
        "region": state.config.region,
    })
}

fn file(content_type: &str, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    let headers = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(http::header::CONTENT_TYPE, v);
    }
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `text` loads: `/_cauda/console/…` references and `./…` module imports, as paths
    /// under [`PATH`].
    fn references(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for quote in ['"', '\''] {
            for piece in text.split(quote).skip(1).step_by(2) {
                if let Some(rest) = piece.strip_prefix(PATH) {
                    found.push(rest.to_string());
                } else if let Some(rest) = piece.strip_prefix("./") {
                    if rest.ends_with(".js") || rest.ends_with(".mjs") {
                        found.push(format!("/{rest}"));
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_file_the_console_loads_is_served() {
        let mut checked = 0;
        for (name, _, content) in ASSETS {
            for reference in references(content) {
                if reference == "/settings.json" {
                    continue;
                }
                assert!(
                    ASSETS.iter().any(|(n, _, _)| *n == reference),
                    "{name} loads {reference}, which is not served"
                );
                checked += 1;
            }
        }
        assert!(checked >= 6, "only {checked} references found");
    }

    #[test]
    fn the_console_stays_small() {
        let total: usize = ASSETS
            .iter()
            // "" and "/" are the same page.
            .filter(|(name, _, _)| !name.is_empty())
            .map(|(_, _, content)| content.len())
            .sum();
        assert!(total < 150_000, "{total} bytes");
    }
}
