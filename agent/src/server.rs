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
    if accepts_gzip(&headers) {
        match gzip(scrape.text.as_bytes()) {
            Ok(body) => {
                return (
                    [
                        (header::CONTENT_TYPE, CONTENT_TYPE),
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
            (header::CONTENT_TYPE, CONTENT_TYPE),
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
    tracing::info!("listening on http://{addr}{path}");
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
