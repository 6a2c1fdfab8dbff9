//! Exactly-once on a real broker: `kill -9` the service mid-stream several times and restart
//! the broker once; a read_committed consumer then sees every input's output exactly once —
//! the check Kafka's own transactions system test makes. In its own test binary because it
//! restarts the broker.

mod harness;
mod support;

use std::time::Duration;

use harness::{
    kill_hard, produce_gradually, sources, spawn_service, stories, wait_exit, wait_for_progress,
    Setup,
};
use support::Isolation;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_survives_kill_9_and_broker_restart() {
    let brokers = support::require_brokers!();
    let setup = Setup::new(&brokers, "eos-crash", 3).await;
    let mut input = stories("eos", 6_000);
    let expected_ids = input.len();
    let after_restart = input.split_off(3_000);
    let producing = produce_gradually(
        &brokers,
        &setup.input,
        input,
        300,
        Duration::from_millis(300),
    );
    let (_dir, config) = setup.write_config("exactly-once");
    let env = [(
        "WIREFEED__KAFKA__TRANSACTIONAL_ID",
        "eos-crash-test-instance",
    )];
    let outs = [
        setup.enriched.as_str(),
        setup.duplicates.as_str(),
        setup.dlq.as_str(),
    ];

    for round in 1..=2 {
        let mut child = spawn_service(&config, &env, false);
        let reached = wait_for_progress(&brokers, &outs, 300, Duration::from_secs(120)).await;
        // Let some offsets commit, so the restart resumes mid-stream rather than from zero.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        kill_hard(&mut child);
        assert!(reached, "round {round}: no progress before the kill");
        println!("kill -9 #{round} after at least 300 more records written");
    }

    // Broker restart while the service runs, then more input.
    producing.await.expect("producer task");
    let mut child = spawn_service(&config, &env, false);
    let producing = produce_gradually(
        &brokers,
        &setup.input,
        after_restart,
        200,
        Duration::from_millis(400),
    );
    let reached = wait_for_progress(&brokers, &outs, 300, Duration::from_secs(120)).await;
    assert!(reached, "no progress before the broker restart");
    if support::local_broker_managed() {
        support::kafka_script("restart").expect("broker restart");
        println!("broker restarted");
    } else {
        println!("broker not managed by scripts/kafka.sh: restart step skipped");
    }
    let reached = wait_for_progress(&brokers, &outs, 300, Duration::from_secs(180)).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    kill_hard(&mut child);
    producing.await.expect("producer task");
    assert!(reached, "no progress after the broker restart");
    println!("kill -9 #3 after the broker restart");

    // A killed member keeps its partitions until its session times out (10 s here).
    tokio::time::sleep(Duration::from_secs(11)).await;
    let mut child = spawn_service(&config, &env, true);
    let status = wait_exit(&mut child, Duration::from_secs(240)).await;
    assert!(status.success(), "final run exited with {status}");

    let inputs = harness::inputs(&brokers, &setup.input).await;
    let outputs = setup.outputs(Isolation::ReadCommitted, inputs.len()).await;
    let seen = sources(&outputs);
    let lost: Vec<_> = inputs.iter().filter(|k| !seen.contains_key(k)).collect();
    let duplicated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    let uncommitted = setup.outputs(Isolation::ReadUncommitted, 0).await.len();
    println!(
        "inputs {}, committed outputs {}, lost {}, duplicated {}, records incl. aborted {}",
        inputs.len(),
        outputs.len(),
        lost.len(),
        duplicated.len(),
        uncommitted
    );
    assert!(
        lost.is_empty(),
        "lost inputs: {:?}",
        &lost[..lost.len().min(20)]
    );
    assert!(
        duplicated.is_empty(),
        "duplicated: {:?}",
        &duplicated[..duplicated.len().min(20)]
    );
    assert_eq!(outputs.len(), inputs.len());
    // The ids too: every story id exactly once on the enriched topic.
    let ids: std::collections::BTreeSet<_> = outputs.iter().map(|r| r.key_str()).collect();
    assert_eq!(ids.len(), expected_ids);
}
