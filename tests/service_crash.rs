//! At-least-once on a real broker: `kill -9` the service several times mid-stream, restart it,
//! and every input still has an output. Duplicated outputs are allowed (and counted).

mod harness;
mod support;

use std::time::Duration;

use harness::{
    kill_hard, produce_gradually, sources, spawn_service, stories, wait_exit, wait_for_progress,
    Setup,
};
use support::Isolation;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_survives_kill_9() {
    let brokers = support::require_brokers!();
    let setup = Setup::new(&brokers, "alo-crash", 3).await;
    let input = stories("alo", 6_000);
    // 300 stories every 250 ms: the stream flows for about 5 s while the service is killed.
    let producing = produce_gradually(
        &brokers,
        &setup.input,
        input,
        300,
        Duration::from_millis(250),
    );
    let (_dir, config) = setup.write_config("at-least-once");
    let outs = [
        setup.enriched.as_str(),
        setup.duplicates.as_str(),
        setup.dlq.as_str(),
    ];

    for round in 1..=3 {
        let mut child = spawn_service(&config, &[], false);
        let reached = wait_for_progress(&brokers, &outs, 300, Duration::from_secs(120)).await;
        // Let some offsets commit, so the restart resumes mid-stream rather than from zero.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        kill_hard(&mut child);
        assert!(reached, "round {round}: no progress before the kill");
        println!("kill -9 #{round} after at least 300 more outputs");
    }
    producing.await.expect("producer task");
    // A killed member keeps its partitions until its session times out (10 s here).
    tokio::time::sleep(Duration::from_secs(11)).await;
    let mut child = spawn_service(&config, &[], true);
    let status = wait_exit(&mut child, Duration::from_secs(180)).await;
    assert!(status.success(), "final run exited with {status}");

    let inputs = harness::inputs(&brokers, &setup.input).await;
    let outputs = setup.outputs(Isolation::ReadCommitted, inputs.len()).await;
    let seen = sources(&outputs);
    let lost: Vec<_> = inputs.iter().filter(|k| !seen.contains_key(k)).collect();
    let replayed: usize = seen.values().map(|n| n - 1).sum();
    println!(
        "inputs {}, outputs {}, lost {}, replayed (duplicated outputs) {}",
        inputs.len(),
        outputs.len(),
        lost.len(),
        replayed
    );
    assert!(
        lost.is_empty(),
        "lost inputs: {:?}",
        &lost[..lost.len().min(20)]
    );

    // The group's committed offsets reached the end of every partition.
    let committed = support::committed_offsets(&brokers, &setup.group, &setup.input).await;
    let high = support::high_watermarks(&brokers, &setup.input).await;
    assert_eq!(committed, high);
}
