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

/// Readiness and liveness, written by the service and the Kafka callbacks, read by the
/// endpoints. Ready means: dedup index restored, joined the group, brokers reachable, not
/// draining.
pub struct Health {
    restoring: AtomicBool,
    joined: AtomicBool,
    brokers_down: AtomicBool,
    draining: AtomicBool,
    last_beat_ms: AtomicI64,
    metrics: Arc<Metrics>,
    logged_ready: Mutex<Option<bool>>,
}

impl Health {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Health {
            restoring: AtomicBool::new(false),
            joined: AtomicBool::new(false),
            brokers_down: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            last_beat_ms: AtomicI64::new(now_ms()),
            metrics,
            logged_ready: Mutex::new(None),
        }
    }

    /// The dedup index is being restored from the changelog (input is not consumed yet).
    pub fn set_restoring(&self, restoring: bool) {
        self.restoring.store(restoring, Ordering::SeqCst);
        self.changed();
    }

    /// The consumer joined its group (an assignment arrived, possibly empty).
    pub fn set_joined(&self, joined: bool) {
        self.joined.store(joined, Ordering::SeqCst);
        self.changed();
    }

    /// librdkafka reported all brokers down, or a broker back up.
    pub fn set_brokers_down(&self, down: bool) {
        self.brokers_down.store(down, Ordering::SeqCst);
        self.changed();
    }

    /// Shutdown began: stop taking traffic while in-flight work drains.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.changed();
    }

    pub fn is_ready(&self) -> bool {
        self.reason().is_none()
    }

    /// Why the service is not ready, or `None` when it is.
    pub fn reason(&self) -> Option<&'static str> {
        if self.draining.load(Ordering::SeqCst) {
            Some("draining")
        } else if self.brokers_down.load(Ordering::SeqCst) {
            Some("all brokers down")
        } else if self.restoring.load(Ordering::SeqCst) {
            Some("restoring the dedup index from the changelog")
        } else if !self.joined.load(Ordering::SeqCst) {
            Some("not joined to the consumer group yet")
        } else {
            None
        }
    }

    fn changed(&self) {
        let ready = self.is_ready();
        self.metrics.ready.set(if ready { 1.0 } else { 0.0 });
        let Ok(mut logged) = self.logged_ready.lock() else {
            return;
        };
        if *logged != Some(ready) {
            *logged = Some(ready);
            match self.reason() {
                None => tracing::info!("Ready."),
                Some(reason) => tracing::info!(reason, "Not ready."),
            }
        }
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
                    match h.reason() {
                        None => (StatusCode::OK, "ready\n".to_string()),
                        Some(reason) => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("not ready: {reason}\n"),
                        ),
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
