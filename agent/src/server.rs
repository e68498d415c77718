//! The HTTP endpoint: `/metrics` (or --web.telemetry-path), `/healthz`, and an index page.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use hostlens_collectors::encode::CONTENT_TYPE;

use crate::scrape::Scraper;

async fn metrics(State(s): State<Arc<Scraper>>) -> impl IntoResponse {
    let scrape = s.scrape().await;
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], scrape.text)
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
