//! What the process costs, read from `/proc` (no extra dependency, no `unsafe`): CPU time from
//! `/proc/self/stat`, resident memory from `/proc/self/status`, and a reset of the peak
//! (`VmHWM`) through `/proc/self/clear_refs`, so each measured mode reports its own peak even
//! though every mode runs in this one process.

use std::collections::BTreeMap;
use std::fs;

/// Kernel clock ticks per second for `utime`/`stime`. `USER_HZ` is 100 on every Linux ABI
/// this runs on; reading `sysconf(_SC_CLK_TCK)` would need `libc`.
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

/// The cores this process may use (1 when unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// User + system CPU seconds of this process (all threads, librdkafka's included).
pub fn process_cpu_seconds() -> Option<f64> {
    stat_cpu_seconds(&fs::read_to_string("/proc/self/stat").ok()?)
}

/// User + system CPU seconds of the calling thread only.
pub fn thread_cpu_seconds() -> Option<f64> {
    stat_cpu_seconds(&fs::read_to_string("/proc/thread-self/stat").ok()?)
}

/// `utime` and `stime` are fields 14 and 15; the command name (field 2) may hold spaces and
/// parentheses, so fields are counted from its closing parenthesis.
fn stat_cpu_seconds(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ')' come field 3 (state) onwards: utime is the 12th of those.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / CLOCK_TICKS_PER_SEC)
}

/// CPU seconds of this process's live threads, grouped by what they do (thread names):
/// `service` (the tokio runtime: the service loop, blocking tasks), `stages` (the stage
/// pool), `librdkafka` (its broker and main threads, and rust-rdkafka's producer polling
/// thread that runs delivery callbacks), `other`. Threads that already exited are
/// missing; compare the sum with [`process_cpu_seconds`].
pub fn thread_cpu_seconds_by_group() -> BTreeMap<&'static str, f64> {
    let mut groups = BTreeMap::new();
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return groups;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let (Ok(comm), Ok(stat)) = (
            fs::read_to_string(dir.join("comm")),
            fs::read_to_string(dir.join("stat")),
        ) else {
            continue;
        };
        if let Some(cpu) = stat_cpu_seconds(&stat) {
            *groups.entry(thread_group(comm.trim())).or_insert(0.0) += cpu;
        }
    }
    groups
}

/// Name of the thread that produces the paced input, so its CPU is not the service's.
pub const LOAD_THREAD: &str = "bench-load";
/// Name of the thread that reads the outputs to time them.
pub const PROBE_THREAD: &str = "latency-probe";

fn thread_group(name: &str) -> &'static str {
    if name.starts_with("wirefeed-stages") {
        "stages"
    } else if name.starts_with("rdk:") || name.starts_with("producer poll") {
        "librdkafka"
    } else if name.starts_with("tokio") || name == "wirefeed" {
        "service"
    } else if name == LOAD_THREAD {
        "load"
    } else if name == PROBE_THREAD {
        "probe"
    } else {
        "other"
    }
}

/// User + system CPU seconds of another process, e.g. the local broker.
pub fn pid_cpu_seconds(pid: u32) -> Option<f64> {
    stat_cpu_seconds(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Voluntary and involuntary context switches of the live threads of process `pid` (each
/// thread's `/proc/PID/task/TID/status`); threads that already exited are missing. On a
/// virtual machine each switch costs several microseconds, so while paced they are a large
/// part of what a story costs.
pub fn pid_context_switches(pid: u32) -> Option<u64> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    Some(
        tasks
            .flatten()
            .filter_map(|task| fs::read_to_string(task.path().join("status")).ok())
            .filter_map(|status| status_switches(&status))
            .sum(),
    )
}

/// Context switches of the calling thread only.
pub fn thread_context_switches() -> Option<u64> {
    status_switches(&fs::read_to_string("/proc/thread-self/status").ok()?)
}

fn status_switches(status: &str) -> Option<u64> {
    Some(
        status_value(status, "voluntary_ctxt_switches:")?
            + status_value(status, "nonvoluntary_ctxt_switches:")?,
    )
}

/// Peak resident set size (`VmHWM`) in bytes since start or the last [`reset_peak_rss`].
pub fn peak_rss_bytes() -> Option<u64> {
    status_value(&fs::read_to_string("/proc/self/status").ok()?, "VmHWM:").map(|kb| kb * 1024)
}

/// Current resident set size (`VmRSS`) in bytes.
pub fn rss_bytes() -> Option<u64> {
    status_value(&fs::read_to_string("/proc/self/status").ok()?, "VmRSS:").map(|kb| kb * 1024)
}

/// Reset `VmHWM` to the current RSS (Linux >= 4.0). False when the kernel refuses; the peak
/// then covers everything since the process started.
pub fn reset_peak_rss() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The 1-minute load average: on a shared machine, how much the figures can be trusted.
pub fn load_average() -> Option<f64> {
    fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A number from a `/proc` status file, in the file's unit (kB for memory).
fn status_value(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_fields_are_counted_after_the_command_name() {
        let stat = "1234 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 8 0";
        assert_eq!(stat_cpu_seconds(stat), Some(3.0));
        assert_eq!(stat_cpu_seconds("garbage"), None);
    }

    #[test]
    fn threads_are_grouped_by_name() {
        assert_eq!(thread_group("wirefeed-stages"), "stages");
        assert_eq!(thread_group("rdk:broker1"), "librdkafka");
        assert_eq!(thread_group("tokio-runtime-w"), "service");
        assert_eq!(thread_group(LOAD_THREAD), "load");
        assert_eq!(thread_group(PROBE_THREAD), "probe");
        assert_eq!(thread_group("criterion"), "other");
        let groups = thread_cpu_seconds_by_group();
        assert!(!groups.is_empty());
        assert!(pid_cpu_seconds(std::process::id()).is_some());
    }

    #[test]
    fn status_values_are_read_in_their_units() {
        let status = "Name:\twirefeed\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n\
                      voluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t2\n";
        assert_eq!(status_value(status, "VmHWM:"), Some(204_800));
        assert_eq!(status_value(status, "VmRSS:"), Some(102_400));
        assert_eq!(status_value(status, "VmSwap:"), None);
        assert_eq!(status_switches(status), Some(9));
        assert_eq!(status_switches("Name:\twirefeed\n"), None);
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        assert!(process_cpu_seconds().is_some());
        assert!(thread_cpu_seconds().is_some());
        let rss = rss_bytes().unwrap_or(0);
        assert!(rss > 0);
        assert!(peak_rss_bytes().unwrap_or(0) >= rss);
        assert!(load_average().is_some_and(|l| l >= 0.0));
        let own = thread_context_switches().expect("this thread's switches");
        assert!(pid_context_switches(std::process::id()).is_some_and(|all| all >= own));
    }
}
