//! Rebalance on a real broker: a second instance joins and leaves during a stream (cooperative
//! sticky assignment); nothing is lost, and in exactly-once mode nothing is duplicated.

mod harness;
mod support;

use std::time::Duration;

use harness::{
    produce_gradually, sources, spawn_service, stories, terminate, wait_exit, wait_for_progress,
    Setup,
};
use support::Isolation;

async fn join_and_leave(delivery: &str) {
    let brokers = support::require_brokers!();
    let setup = Setup::new(&brokers, &format!("rebalance-{delivery}"), 6).await;
    let input = stories(&format!("rb-{delivery}"), 6_000);
    let producing = produce_gradually(
        &brokers,
        &setup.input,
        input,
        300,
        Duration::from_millis(300),
    );
    let (_dir, config) = setup.write_config(delivery);
    let outs = [
        setup.enriched.as_str(),
        setup.duplicates.as_str(),
        setup.dlq.as_str(),
    ];

    let mut first = spawn_service(
        &config,
        &[("WIREFEED__KAFKA__TRANSACTIONAL_ID", "rb-one")],
        true,
    );
    assert!(wait_for_progress(&brokers, &outs, 300, Duration::from_secs(120)).await);
    let mut second = spawn_service(
        &config,
        &[("WIREFEED__KAFKA__TRANSACTIONAL_ID", "rb-two")],
        false,
    );
    assert!(wait_for_progress(&brokers, &outs, 1_000, Duration::from_secs(120)).await);
    // The second instance leaves gracefully (SIGTERM) while the stream goes on.
    terminate(&second);
    let status = wait_exit(&mut second, Duration::from_secs(60)).await;
    assert!(status.success(), "second instance exited with {status}");
    producing.await.expect("producer task");
    let status = wait_exit(&mut first, Duration::from_secs(240)).await;
    assert!(status.success(), "first instance exited with {status}");

    let inputs = harness::inputs(&brokers, &setup.input).await;
    let outputs = setup.outputs(Isolation::ReadCommitted, inputs.len()).await;
    let seen = sources(&outputs);
    let lost: Vec<_> = inputs.iter().filter(|k| !seen.contains_key(k)).collect();
    let duplicated = seen.values().filter(|n| **n > 1).count();
    println!(
        "{delivery}: inputs {}, outputs {}, lost {}, duplicated {duplicated}",
        inputs.len(),
        outputs.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "lost inputs: {:?}",
        &lost[..lost.len().min(20)]
    );
    if delivery == "exactly-once" {
        assert_eq!(duplicated, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_rebalance_loses_nothing() {
    join_and_leave("at-least-once").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_rebalance_loses_and_duplicates_nothing() {
    join_and_leave("exactly-once").await;
}
