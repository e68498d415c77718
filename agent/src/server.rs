//! The HTTP endpoint: `/metrics` (or --web.telemetry-path), `/healthz`, and an index page.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hostlens_exposition::CONTENT_TYPE;

/// The `Content-Type` of a scrape, negotiated as client_golang's `expfmt.Negotiate` does for the classic text
/// format (the only one served): `…; escaping=underscores`, or the escaping scheme the client's `Accept`
/// asks for (Prometheus 3 asks for `allow-utf-8`). Our names are all legacy names, so the body is the same.
fn content_type(headers: &HeaderMap) -> String {
    let mut accepts: Vec<(f32, &str)> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|entry| {
            let q = entry
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (q, entry)
        })
        .collect();
    // goautoneg's order: highest q first, stable among equals.
    accepts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut escaping = "underscores";
    for (_, entry) in accepts {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let mut version = "";
        for p in parts {
            if let Some(v) = p.strip_prefix("escaping=") {
                if ["allow-utf-8", "underscores", "dots", "values"].contains(&v) {
                    escaping = v;
                }
            } else if let Some(v) = p.strip_prefix("version=") {
                version = v;
            }
        }
        if media.eq_ignore_ascii_case("text/plain") && (version == "0.0.4" || version.is_empty()) {
            break;
        }
    }
    format!("{CONTENT_TYPE}; escaping={escaping}")
}

use crate::scrape::Scraper;

/// node_exporter's `collect[]` and `exclude[]` URL parameters (each may repeat).
fn filters(query: Option<&str>) -> (Vec<String>, Vec<String>) {
    let (mut collect, mut exclude) = (Vec::new(), Vec::new());
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "collect[]" => collect.push(v.into_owned()),
            "exclude[]" => exclude.push(v.into_owned()),
            _ => {}
        }
    }
    (collect, exclude)
}

/// Whether the client takes a gzip body (`Accept-Encoding: gzip`, as Prometheus sends), unless it says
/// `gzip;q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.split(';').map(str::trim);
            it.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip"))
                && !it.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q == 0.0)
                })
        })
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    enc.write_all(body)?;
    enc.finish()
}

async fn metrics(
    State(s): State<Arc<Scraper>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (collect, exclude) = filters(query.as_deref());
    let selected = match s.select(&collect, &exclude) {
        Ok(sel) => sel,
        Err(msg) => return (StatusCode::BAD_REQUEST, msg).into_response(),
    };
    let scrape = s.scrape_selected(&selected).await;
    let ctype = content_type(&headers);
    if accepts_gzip(&headers) {
        match gzip(scrape.text.as_bytes()) {
            Ok(body) => {
                return (
                    [
                        (header::CONTENT_TYPE, ctype.as_str()),
                        (header::CONTENT_ENCODING, "gzip"),
                        (header::VARY, "Accept-Encoding"),
                    ],
                    body,
                )
                    .into_response()
            }
            Err(e) => tracing::warn!("gzip failed, answering uncompressed: {e}"),
        }
    }
    (
        [
            (header::CONTENT_TYPE, ctype.as_str()),
            (header::VARY, "Accept-Encoding"),
        ],
        scrape.text,
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

fn index_page(path: &str) -> String {
    format!(
        "<!doctype html><html><head><title>hostlens agent</title></head><body>\
         <h1>hostlens agent {}</h1>\
         <p>node_exporter's <code>node_*</code>, cAdvisor's <code>container_*</code> and ebpf_exporter's <code>ebpf_exporter_*</code> metrics on one endpoint.</p>\
         <ul><li><a href=\"{path}\">{path}</a> (Prometheus text format)</li>\
         <li><a href=\"/healthz\">/healthz</a></li></ul></body></html>",
        env!("CARGO_PKG_VERSION")
    )
}

pub async fn serve(addr: SocketAddr, path: String, scraper: Arc<Scraper>) -> Result<()> {
    let index = index_page(&path);
    let app = Router::new()
        .route(&path, get(metrics))
        .route("/healthz", get(healthz))
        .route("/", get(move || async move { Html(index) }))
        .with_state(scraper);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!(
            "listening on {addr} (another process on that port? choose one with --web.listen-address)"
        )
    })?;
    tracing::info!(
        "listening on http://{}{path}",
        listener.local_addr().unwrap_or(addr)
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .context("serving HTTP")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_collect_and_exclude_parameters() {
        let (c, e) = filters(Some("collect[]=cpu&collect%5B%5D=meminfo&x=1"));
        assert_eq!(c, ["cpu", "meminfo"]);
        assert!(e.is_empty());
        let (c, e) = filters(Some("exclude[]=hwmon"));
        assert!(c.is_empty());
        assert_eq!(e, ["hwmon"]);
        assert_eq!(filters(None), (vec![], vec![]));
    }

    #[test]
    fn content_type_as_client_golang_negotiates_it() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT, v.parse().unwrap());
            m
        };
        let base = "text/plain; version=0.0.4; charset=utf-8; escaping=";
        assert_eq!(
            content_type(&HeaderMap::new()),
            format!("{base}underscores")
        );
        // What Prometheus 3.5 sends; node_exporter 1.11.1 answers allow-utf-8 (checked with curl).
        let prom3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
                     application/openmetrics-text;version=0.0.1;q=0.5,\
                     text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
                     text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(content_type(&h(prom3)), format!("{base}allow-utf-8"));
        assert_eq!(
            content_type(&h("text/plain;version=0.0.4;q=0.3,*/*;q=0.2")),
            format!("{base}underscores")
        );
    }

    #[test]
    fn gzip_negotiation() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            m
        };
        assert!(accepts_gzip(&h("gzip")));
        assert!(accepts_gzip(&h("identity, gzip;q=0.5")));
        assert!(accepts_gzip(&h("GZIP")));
        assert!(!accepts_gzip(&h("gzip;q=0")));
        assert!(!accepts_gzip(&h("br, deflate")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
