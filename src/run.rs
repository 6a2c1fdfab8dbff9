//! `wirefeed run`: metrics and health endpoints, then the Kafka service (or, with no broker
//! configured, the embedded demo) until shutdown.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::admin::{self, Health};
use crate::config::Config;
use crate::kafka::embedded::run_embedded;
use crate::kafka::service::{RunOptions, RunSummary, Service};
use crate::metrics::Metrics;

/// Run the service with `config` until `shutdown` is cancelled or, with
/// `options.exit_when_idle`, until the input is drained.
pub async fn run(
    config: Config,
    options: RunOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<RunSummary> {
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new(metrics.clone()));
    let admin_shutdown = CancellationToken::new();
    if !config.metrics.listen.is_empty() {
        let addr = config.metrics.listen.parse()?;
        admin::serve(
            addr,
            metrics.clone(),
            health.clone(),
            admin_shutdown.clone(),
        )
        .await?;
    }
    let result = if config.kafka.brokers.is_empty() {
        run_embedded(config, options, metrics, health, shutdown).await
    } else {
        let service = Service::new(config, metrics, health)?;
        service.run(shutdown, options).await.map_err(Into::into)
    };
    admin_shutdown.cancel();
    result
}
