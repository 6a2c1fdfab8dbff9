//! The operations endpoints on one small HTTP server: `/metrics` (Prometheus text), `/healthz`
//! (liveness: the service loop is alive and not wedged) and `/readyz` (readiness: joined the
//! group and the producer reaches the broker).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// How long the service loop may go without a heartbeat before `/healthz` reports it wedged.
/// The loop beats at least every second even when idle.
const WEDGED_AFTER: Duration = Duration::from_secs(30);

/// Readiness and liveness, written by the service and read by the endpoints.
pub struct Health {
    ready: AtomicBool,
    reason: Mutex<String>,
    last_beat_ms: AtomicI64,
    metrics: Arc<Metrics>,
}

impl Health {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Health {
            ready: AtomicBool::new(false),
            reason: Mutex::new("starting".into()),
            last_beat_ms: AtomicI64::new(now_ms()),
            metrics,
        }
    }

    pub fn set_ready(&self) {
        if !self.ready.swap(true, Ordering::SeqCst) {
            tracing::info!("Ready.");
        }
        self.metrics.ready.set(1.0);
    }

    pub fn set_not_ready(&self, reason: &str) {
        if let Ok(mut r) = self.reason.lock() {
            *r = reason.to_string();
        }
        if self.ready.swap(false, Ordering::SeqCst) {
            tracing::info!(reason, "Not ready.");
        }
        self.metrics.ready.set(0.0);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    pub fn reason(&self) -> String {
        self.reason.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Called by the service loop on every turn.
    pub fn beat(&self) {
        self.last_beat_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn is_alive(&self) -> bool {
        now_ms() - self.last_beat_ms.load(Ordering::Relaxed) < WEDGED_AFTER.as_millis() as i64
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Serve the endpoints on `addr` until `shutdown` is cancelled. Returns the bound address
/// (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route(
            "/metrics",
            get(|State((m, _)): State<(Arc<Metrics>, Arc<Health>)>| async move { m.render() }),
        )
        .route(
            "/healthz",
            get(
                |State((_, h)): State<(Arc<Metrics>, Arc<Health>)>| async move {
                    if h.is_alive() {
                        (StatusCode::OK, "ok\n".to_string())
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "service loop wedged\n".to_string(),
                        )
                    }
                },
            ),
        )
        .route(
            "/readyz",
            get(
                |State((_, h)): State<(Arc<Metrics>, Arc<Health>)>| async move {
                    if h.is_ready() {
                        (StatusCode::OK, "ready\n".to_string())
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("not ready: {}\n", h.reason()),
                        )
                    }
                },
            ),
        )
        .with_state((metrics, health));
    tracing::info!(%bound, "Serving /metrics, /healthz and /readyz.");
    tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "Admin server failed.");
        }
    });
    Ok(bound)
}
