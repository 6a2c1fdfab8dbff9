//! Callbacks librdkafka makes on its own threads: rebalances (kept in a shared assignment the
//! service and the lag gauges read) and statistics (broker RTT, bytes, queue depth).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::{ClientContext, Statistics};

use crate::admin::Health;
use crate::kafka::offsets::Tp;
use crate::metrics::Metrics;

/// The input partitions this instance owns right now, and which were revoked since the
/// service loop last looked (so it can drop their in-flight bookkeeping).
#[derive(Debug, Default)]
pub struct Assignment {
    pub owned: BTreeSet<Tp>,
    pub revoked: Vec<Tp>,
    /// Bumped on every change; the service compares it to notice rebalances cheaply.
    pub generation: u64,
}

pub type SharedAssignment = Arc<Mutex<Assignment>>;

/// Context of both clients; `role` labels the statistics.
pub struct WirefeedContext {
    pub role: &'static str,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub assignment: SharedAssignment,
}

impl WirefeedContext {
    pub fn new(role: &'static str, metrics: Arc<Metrics>, health: Arc<Health>) -> Self {
        WirefeedContext {
            role,
            metrics,
            health,
            assignment: Arc::default(),
        }
    }
}

impl ClientContext for WirefeedContext {
    fn stats(&self, stats: Statistics) {
        let m = &self.metrics;
        m.client_bytes
            .with_label_values(&[self.role, "tx"])
            .set(stats.tx_bytes);
        m.client_bytes
            .with_label_values(&[self.role, "rx"])
            .set(stats.rx_bytes);
        if self.role == "producer" {
            m.producer_queue_messages.set(stats.msg_cnt as i64);
        }
        // Statistics arrive every few seconds; any broker up clears an "all brokers down".
        if stats
            .brokers
            .values()
            .any(|b| b.nodeid >= 0 && b.state == "UP")
        {
            self.health.set_brokers_down(false);
        }
        for broker in stats.brokers.values() {
            // Bootstrap and internal pseudo-brokers carry no RTT; a name per real broker keeps
            // the label bounded by the cluster size.
            if broker.nodeid < 0 {
                continue;
            }
            if let Some(rtt) = &broker.rtt {
                m.broker_rtt
                    .with_label_values(&[self.role, &broker.nodeid.to_string()])
                    .set(rtt.avg as f64 / 1e6);
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::AllBrokersDown) {
            self.health.set_brokers_down(true);
        }
        tracing::warn!(role = self.role, %error, reason, "Kafka client error.");
    }
}

impl ConsumerContext for WirefeedContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let tps = tpl.elements();
            self.metrics.rebalanced("revoke", tps.len());
            let mut a = self.assignment.lock().expect("assignment lock");
            for e in tps {
                let tp = (e.topic().to_string(), e.partition());
                a.owned.remove(&tp);
                self.metrics
                    .consumer_lag
                    .remove_label_values(&[&tp.0, &tp.1.to_string()])
                    .ok();
                a.revoked.push(tp);
            }
            a.generation += 1;
            self.metrics.assigned_partitions.set(a.owned.len() as i64);
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let tps = tpl.elements();
                self.metrics.rebalanced("assign", tps.len());
                let mut a = self.assignment.lock().expect("assignment lock");
                for e in tps {
                    a.owned.insert((e.topic().to_string(), e.partition()));
                }
                a.generation += 1;
                self.metrics.assigned_partitions.set(a.owned.len() as i64);
                // Joined the group (an empty incremental assignment counts too).
                self.health.set_joined(true);
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => {
                self.metrics.rebalanced("error", 0);
                tracing::warn!(error = %e, "Rebalance error.");
            }
        }
    }
}
