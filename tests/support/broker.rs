//! Where the broker is, unique names, and control of the local broker.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// What a broker test prints when it has no broker to talk to.
pub(crate) const SKIP_MESSAGE: &str = "skipped: KAFKA_BROKERS not set; run scripts/test.sh";

/// Bootstrap servers from `KAFKA_BROKERS`, if set and not blank.
pub(crate) fn brokers() -> Option<String> {
    std::env::var("KAFKA_BROKERS")
        .ok()
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty())
}

/// A topic / group / transactional id that no other test, test run or
/// process has used: `<prefix>-<pid>-<millis>-<counter>`.
///
/// The broker's data can outlive a test run, so the name carries the time as
/// well as the process id. Characters Kafka does not allow in topic names are
/// replaced by `-`.
pub(crate) fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let prefix: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{prefix}-{}-{millis}-{n}", std::process::id())
}

/// True when `KAFKA_BROKERS` is the broker that `scripts/kafka.sh` manages
/// and it is running, i.e. when a test may restart it.
pub(crate) fn local_broker_managed() -> bool {
    kafka_script("status").is_ok()
}

/// Runs `scripts/kafka.sh <command>` (e.g. `restart` for fault tests) and
/// returns its stdout, or an error with its output.
///
/// Only meaningful when `KAFKA_BROKERS` points at the broker that script
/// manages: this checks that `scripts/kafka.sh brokers` matches and refuses
/// otherwise. Fault tests that restart the broker disturb every test running
/// at the same time, so they belong in their own test file, serialised.
pub(crate) fn kafka_script(command: &str) -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka.sh");
    let run = |args: &[&str]| -> Result<String, String> {
        let out = Command::new("bash")
            .arg(&script)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "scripts/kafka.sh {} failed ({}):\n{stdout}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    let local = run(&["brokers"])?;
    match brokers() {
        Some(b) if b == local.trim() => run(&[command]),
        Some(b) => Err(format!(
            "KAFKA_BROKERS={b} is not the local broker {} that scripts/kafka.sh manages",
            local.trim()
        )),
        None => Err(SKIP_MESSAGE.to_owned()),
    }
}
