//! The deployment material agrees with the service it deploys.
//!
//! `scripts/validate-deploy.sh` renders every kustomization under `deploy/k8s` and validates
//! it against the Kubernetes schemas (and the CRD schemas of `scripts/deploy/schemas`); these
//! tests then read the renderings it writes as JSON and check what no schema can: the
//! configuration in the ConfigMap passes `wirefeed check-config` with the environment the pod
//! gets, probes and ports match its `[metrics] listen`, the pod outlives the drain time, and
//! KEDA never scales past the input partitions.
//!
//! No broker is needed. The script installs its tools (kustomize, Python packages) into
//! `target/tools` on first use; when that is impossible (no registry access) the tests say so
//! and pass, except on CI (`CI` set), where they fail.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// Exit status of validate-deploy.sh when a tool cannot be installed.
const CANNOT_INSTALL: i32 = 3;
/// Where the ScaledObject declares the input topic's partition count.
const PARTITIONS_ANNOTATION: &str = "wirefeed.io/input-partitions";
/// Kubernetes' default when a pod spec does not set terminationGracePeriodSeconds.
const DEFAULT_TERMINATION_GRACE_SECS: u64 = 30;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every kustomization's rendering, by label ("base", "production", ...).
type Renderings = BTreeMap<String, Vec<Value>>;

/// What validate-deploy.sh writes with `--json-out`.
#[derive(serde::Deserialize)]
struct Validated {
    renderings: Renderings,
    /// deploy/compose.yaml as JSON.
    compose: Value,
}

fn renderings() -> Option<&'static Renderings> {
    validated().map(|v| &v.renderings)
}

/// Runs validate-deploy.sh once for all tests of this file; `None` when its tools cannot be
/// installed here (and this is not CI).
fn validated() -> Option<&'static Validated> {
    static RENDERED: OnceLock<Option<Validated>> = OnceLock::new();
    RENDERED
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let json = dir.path().join("rendered.json");
            let out = Command::new("bash")
                .arg(repo_root().join("scripts/validate-deploy.sh"))
                .arg("--json-out")
                .arg(&json)
                .current_dir(repo_root())
                .output()
                .expect("run scripts/validate-deploy.sh");
            let log = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            match out.status.code() {
                Some(0) => {}
                Some(CANNOT_INSTALL) if std::env::var_os("CI").is_none() => {
                    eprintln!("skipped: validate-deploy.sh could not install its tools:\n{log}");
                    return None;
                }
                _ => panic!("scripts/validate-deploy.sh failed ({}):\n{log}", out.status),
            }
            let text = std::fs::read_to_string(&json).expect("read rendered JSON");
            let validated: Validated = serde_json::from_str(&text).expect("rendered JSON");
            let labels = &validated.renderings;
            assert!(
                labels.contains_key("base") && labels.contains_key("production"),
                "expected the base and production renderings, got {:?}",
                labels.keys().collect::<Vec<_>>()
            );
            Some(validated)
        })
        .as_ref()
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

fn find<'a>(docs: &'a [Value], kind_: &str, name_: &str) -> Option<&'a Value> {
    docs.iter().find(|d| kind(d) == kind_ && name(d) == name_)
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// A pod that runs wirefeed with `--config FILE`: a Deployment's or a Job's.
struct Workload<'a> {
    label: &'a str,
    owner: &'a Value,
    pod: &'a Value,
    container: &'a Value,
    config_path: String,
}

impl Workload<'_> {
    fn what(&self) -> String {
        format!("{}: {}/{}", self.label, kind(self.owner), name(self.owner))
    }
}

fn workloads(rendered: &Renderings) -> Vec<Workload<'_>> {
    let mut found = Vec::new();
    for (label, docs) in rendered {
        for doc in docs
            .iter()
            .filter(|d| matches!(kind(d), "Deployment" | "StatefulSet" | "Job"))
        {
            let pod = &doc["spec"]["template"]["spec"];
            for container in array(&pod["containers"]) {
                let args: Vec<&str> = array(&container["args"])
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                if let Some(i) = args.iter().position(|a| *a == "--config") {
                    found.push(Workload {
                        label,
                        owner: doc,
                        pod,
                        container,
                        config_path: args.get(i + 1).unwrap_or(&"").to_string(),
                    });
                }
            }
        }
    }
    assert!(
        !found.is_empty(),
        "no workload runs wirefeed with --config in the renderings"
    );
    found
}

/// The file behind `path` in the container: the ConfigMap key mounted at its directory.
fn config_file_text(docs: &[Value], w: &Workload<'_>) -> Result<String, String> {
    let path = Path::new(&w.config_path);
    let (Some(dir), Some(file)) = (path.parent(), path.file_name()) else {
        return Err(format!("--config {:?} is not a file path", w.config_path));
    };
    let mount = array(&w.container["volumeMounts"])
        .iter()
        .find(|m| m["mountPath"].as_str().map(Path::new) == Some(dir))
        .ok_or_else(|| format!("nothing is mounted at {}", dir.display()))?;
    let volume = array(&w.pod["volumes"])
        .iter()
        .find(|v| v["name"] == mount["name"])
        .ok_or_else(|| format!("volume {} is not defined", mount["name"]))?;
    let cm_name = volume["configMap"]["name"]
        .as_str()
        .ok_or_else(|| format!("{} is not a ConfigMap volume", dir.display()))?;
    let cm = find(docs, "ConfigMap", cm_name)
        .ok_or_else(|| format!("ConfigMap {cm_name} is not rendered"))?;
    let key = file.to_string_lossy();
    cm["data"][key.as_ref()]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("ConfigMap {cm_name} has no key {key}"))
}

/// The environment the container gets: envFrom ConfigMaps, then env (which wins). Secret
/// values are unknown here; a placeholder stands in for them.
fn container_env(docs: &[Value], container: &Value) -> Result<Vec<(String, String)>, String> {
    let mut env = BTreeMap::new();
    for source in array(&container["envFrom"]) {
        if let Some(cm_name) = source["configMapRef"]["name"].as_str() {
            let cm = find(docs, "ConfigMap", cm_name)
                .ok_or_else(|| format!("envFrom ConfigMap {cm_name} is not rendered"))?;
            for (k, v) in cm["data"].as_object().into_iter().flatten() {
                env.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
            }
        }
    }
    for var in array(&container["env"]) {
        let key = var["name"].as_str().unwrap_or_default().to_string();
        let value = if let Some(v) = var["value"].as_str() {
            v.to_string()
        } else if let Some(secret) = var["valueFrom"]["secretKeyRef"].as_object() {
            format!(
                "secret-{}-{}",
                secret["name"].as_str().unwrap_or_default(),
                secret["key"].as_str().unwrap_or_default()
            )
        } else {
            return Err(format!(
                "env {key}: only value and secretKeyRef are expected"
            ));
        };
        env.insert(key, value);
    }
    Ok(env.into_iter().collect())
}

/// `wirefeed check-config` on the pod's config file with the pod's environment; the resolved
/// configuration it prints.
fn check_config(docs: &[Value], w: &Workload<'_>) -> Result<toml::Table, String> {
    run_check_config(
        &config_file_text(docs, w)?,
        container_env(docs, w.container)?,
    )
}

/// `wirefeed check-config` on `text` with exactly the `WIREFEED__*` variables of `env`.
fn run_check_config(text: &str, env: Vec<(String, String)>) -> Result<toml::Table, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("wirefeed.toml");
    std::fs::write(&file, text).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirefeed"));
    cmd.arg("check-config").arg("--config").arg(&file);
    // Only the pod's overrides count, not whatever the test runner has.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("WIREFEED__")) {
        cmd.env_remove(k);
    }
    cmd.envs(env);
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "wirefeed check-config rejects it:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    toml::from_str(&String::from_utf8_lossy(&out.stdout))
        .map_err(|e| format!("check-config printed no TOML: {e}"))
}

fn resolved_str<'a>(config: &'a toml::Table, section: &str, key: &str) -> Option<&'a str> {
    config.get(section)?.get(key)?.as_str()
}

fn metrics_port(config: &toml::Table) -> Result<u16, String> {
    let listen = resolved_str(config, "metrics", "listen").unwrap_or_default();
    listen.parse::<SocketAddr>().map(|a| a.port()).map_err(|_| {
        format!("metrics.listen {listen:?} is not host:port (the pod must serve probes)")
    })
}

/// Runs `check` on every workload and fails with every problem found.
fn for_each_workload(check: impl Fn(&[Value], &Workload<'_>, &toml::Table) -> Vec<String>) {
    let Some(rendered) = renderings() else {
        return;
    };
    let mut problems = Vec::new();
    for w in workloads(rendered) {
        let docs = &rendered[w.label];
        match check_config(docs, &w) {
            Ok(config) => problems.extend(
                check(docs, &w, &config)
                    .into_iter()
                    .map(|p| format!("{}: {p}", w.what())),
            ),
            Err(e) => problems.push(format!("{}: {e}", w.what())),
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn mounted_config_passes_check_config_with_the_pod_environment() {
    for_each_workload(|_, _, config| {
        let mut problems = Vec::new();
        let brokers = resolved_str(config, "kafka", "brokers").unwrap_or_default();
        // Empty brokers start the embedded demo broker; ".invalid" is the base file's
        // placeholder that the environment must override.
        if brokers.is_empty() || brokers.contains(".invalid") {
            problems.push(format!(
                "kafka.brokers resolves to {brokers:?}: set WIREFEED__KAFKA__BROKERS"
            ));
        }
        if let Err(e) = metrics_port(config) {
            problems.push(e);
        }
        problems
    });
}

/// The port a probe or Service names, as a number: a number, or a container port's name.
fn resolve_port(container: &Value, port: &Value) -> Option<u64> {
    port.as_u64().or_else(|| {
        array(&container["ports"])
            .iter()
            .find(|p| p["name"] == *port)
            .and_then(|p| p["containerPort"].as_u64())
    })
}

#[test]
fn probes_and_ports_match_the_metrics_listen_port() {
    for_each_workload(|docs, w, config| {
        let Ok(port) = metrics_port(config) else {
            return vec!["metrics.listen is not host:port".into()];
        };
        let port = u64::from(port);
        let mut problems = Vec::new();
        if kind(w.owner) != "Deployment" {
            return problems; // Jobs are not probed nor scraped through a Service.
        }
        if !array(&w.container["ports"])
            .iter()
            .any(|p| p["containerPort"].as_u64() == Some(port))
        {
            problems.push(format!("no containerPort {port} (metrics.listen)"));
        }
        for (probe, paths) in [
            ("livenessProbe", &["/healthz"][..]),
            ("readinessProbe", &["/readyz"][..]),
            ("startupProbe", &["/healthz", "/readyz"][..]),
        ] {
            let get = &w.container[probe]["httpGet"];
            if get.is_null() {
                if probe != "startupProbe" {
                    problems.push(format!("{probe} has no httpGet"));
                }
                continue;
            }
            let path = get["path"].as_str().unwrap_or_default();
            if !paths.contains(&path) {
                problems.push(format!("{probe} path {path:?}; expected one of {paths:?}"));
            }
            if resolve_port(w.container, &get["port"]) != Some(port) {
                problems.push(format!(
                    "{probe} port {} is not {port} (metrics.listen)",
                    get["port"]
                ));
            }
        }
        let pod_labels = &w.owner["spec"]["template"]["metadata"]["labels"];
        let services: Vec<&Value> = docs
            .iter()
            .filter(|d| kind(d) == "Service")
            .filter(|s| {
                s["spec"]["selector"]
                    .as_object()
                    .is_some_and(|sel| sel.iter().all(|(k, v)| pod_labels[k] == *v))
            })
            .collect();
        if services.is_empty() {
            problems.push("no Service selects the pods (metrics scraping)".into());
        }
        for svc in services {
            for p in array(&svc["spec"]["ports"]) {
                let target = if p["targetPort"].is_null() {
                    &p["port"]
                } else {
                    &p["targetPort"]
                };
                if resolve_port(w.container, target) != Some(port) {
                    problems.push(format!(
                        "Service/{} targets port {target}, not {port} (metrics.listen)",
                        name(svc)
                    ));
                }
            }
        }
        problems
    });
}

#[test]
fn pods_outlive_the_shutdown_drain() {
    for_each_workload(|_, w, config| {
        let drain = config
            .get("shutdown")
            .and_then(|s| s.get("grace_period_secs"))
            .and_then(toml::Value::as_integer)
            .and_then(|v| u64::try_from(v).ok());
        let Some(drain) = drain else {
            return vec!["shutdown.grace_period_secs missing from the resolved config".into()];
        };
        let termination = w.pod["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap_or(DEFAULT_TERMINATION_GRACE_SECS);
        if termination > drain {
            Vec::new()
        } else {
            vec![format!(
                "terminationGracePeriodSeconds {termination} must exceed shutdown.grace_period_secs {drain}, or SIGKILL cuts the drain short"
            )]
        }
    });
}

#[test]
fn pods_run_locked_down() {
    for_each_workload(|_, w, _| {
        let mut problems = Vec::new();
        let pod_sc = &w.pod["securityContext"];
        let sc = &w.container["securityContext"];
        if pod_sc["runAsNonRoot"] != true && sc["runAsNonRoot"] != true {
            problems.push("runAsNonRoot is not set".into());
        }
        if pod_sc["seccompProfile"]["type"] != "RuntimeDefault" {
            problems.push("pod seccompProfile is not RuntimeDefault".into());
        }
        if sc["readOnlyRootFilesystem"] != true {
            problems.push("readOnlyRootFilesystem is not true".into());
        }
        if sc["allowPrivilegeEscalation"] != false {
            problems.push("allowPrivilegeEscalation is not false".into());
        }
        if !array(&sc["capabilities"]["drop"])
            .iter()
            .any(|c| c == "ALL")
        {
            problems.push("capabilities do not drop ALL".into());
        }
        problems
    });
}

#[test]
fn keda_scales_within_the_input_partitions_of_the_consumer_group() {
    let Some(rendered) = renderings() else {
        return;
    };
    let mut problems = Vec::new();
    let mut scaled = 0;
    let all_workloads = workloads(rendered);
    for (label, docs) in rendered {
        for so in docs.iter().filter(|d| kind(d) == "ScaledObject") {
            scaled += 1;
            let what = format!("{label}: ScaledObject/{}", name(so));
            let partitions = so["metadata"]["annotations"][PARTITIONS_ANNOTATION]
                .as_str()
                .and_then(|p| p.parse::<u64>().ok());
            let Some(partitions) = partitions else {
                problems.push(format!(
                    "{what}: annotation {PARTITIONS_ANNOTATION} must give the input partition count"
                ));
                continue;
            };
            let max = so["spec"]["maxReplicaCount"].as_u64().unwrap_or(100); // KEDA's default
            let min = so["spec"]["minReplicaCount"].as_u64().unwrap_or(0);
            if max > partitions {
                problems.push(format!(
                    "{what}: maxReplicaCount {max} exceeds the {partitions} input partitions; extra consumers would sit idle"
                ));
            }
            if min > max {
                problems.push(format!(
                    "{what}: minReplicaCount {min} > maxReplicaCount {max}"
                ));
            }
            // The trigger must watch the lag of the group and topic the target consumes.
            let target = so["spec"]["scaleTargetRef"]["name"].as_str().unwrap_or("");
            let Some(w) = all_workloads.iter().find(|w| {
                w.label == label && kind(w.owner) == "Deployment" && name(w.owner) == target
            }) else {
                problems.push(format!("{what}: scale target {target} runs no wirefeed"));
                continue;
            };
            let config = match check_config(docs, w) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("{what}: target config: {e}"));
                    continue;
                }
            };
            let group = resolved_str(&config, "kafka", "group_id").unwrap_or_default();
            let brokers = resolved_str(&config, "kafka", "brokers").unwrap_or_default();
            let topics: Vec<&str> = config
                .get("kafka")
                .and_then(|k| k.get("input_topics"))
                .and_then(toml::Value::as_array)
                .map(|a| a.iter().filter_map(toml::Value::as_str).collect())
                .unwrap_or_default();
            let kafka_triggers: Vec<&Value> = array(&so["spec"]["triggers"])
                .iter()
                .filter(|t| t["type"] == "kafka")
                .collect();
            if kafka_triggers.is_empty() {
                problems.push(format!("{what}: no kafka trigger"));
            }
            for t in kafka_triggers {
                let m = &t["metadata"];
                if m["consumerGroup"].as_str() != Some(group) {
                    problems.push(format!(
                        "{what}: trigger consumerGroup {} is not kafka.group_id {group:?}",
                        m["consumerGroup"]
                    ));
                }
                if m["bootstrapServers"].as_str() != Some(brokers) {
                    problems.push(format!(
                        "{what}: trigger bootstrapServers {} is not kafka.brokers {brokers:?}",
                        m["bootstrapServers"]
                    ));
                }
                let topic = m["topic"].as_str().unwrap_or_default();
                if !topics.contains(&topic) {
                    problems.push(format!(
                        "{what}: trigger topic {topic:?} is not among kafka.input_topics {topics:?}"
                    ));
                }
                if so["metadata"]["annotations"]["wirefeed.io/input-topic"].as_str() != Some(topic)
                {
                    problems.push(format!(
                        "{what}: the partition count is declared for another topic than {topic:?}"
                    ));
                }
            }
        }
    }
    assert!(scaled > 0, "no ScaledObject rendered");
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Seconds of a compose duration such as "45s" or "1m30s".
fn compose_duration_secs(text: &str) -> Option<u64> {
    let mut total = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        total += match c {
            'h' => n * 3600,
            'm' => n * 60,
            's' => n,
            _ => return None,
        };
    }
    number.is_empty().then_some(total)
}

/// The local stack runs wirefeed as the cluster does: its configuration passes check-config
/// with the service's environment, the metrics port is published, and compose waits longer
/// than the drain before SIGKILL.
#[test]
fn compose_service_agrees_with_its_config() {
    let Some(validated) = validated() else {
        return;
    };
    let svc = &validated.compose["services"]["wirefeed"];
    let mut problems = Vec::new();

    let source = array(&svc["volumes"])
        .iter()
        .filter_map(Value::as_str)
        .find_map(|v| {
            let mut parts = v.split(':');
            let (src, dst) = (parts.next()?, parts.next()?);
            (dst == "/etc/wirefeed/wirefeed.toml").then_some(src)
        })
        .expect("compose mounts a file at /etc/wirefeed/wirefeed.toml");
    let text = std::fs::read_to_string(repo_root().join("deploy").join(source))
        .expect("read the compose config file");
    let env: Vec<(String, String)> = match &svc["environment"] {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), str::to_string)))
            .collect(),
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        _ => Vec::new(),
    };
    let config = run_check_config(&text, env).unwrap_or_else(|e| panic!("compose: {e}"));

    if resolved_str(&config, "kafka", "brokers").is_none_or(str::is_empty) {
        problems.push("kafka.brokers is empty: the embedded demo broker would start".into());
    }
    match metrics_port(&config) {
        Ok(port) => {
            let published = array(&svc["ports"]).iter().any(|p| {
                p.as_str()
                    .and_then(|m| m.rsplit(':').next())
                    .and_then(|c| c.parse::<u16>().ok())
                    == Some(port)
            });
            if !published {
                problems.push(format!(
                    "container port {port} (metrics.listen) is not published"
                ));
            }
        }
        Err(e) => problems.push(e),
    }
    let drain = config
        .get("shutdown")
        .and_then(|s| s.get("grace_period_secs"))
        .and_then(toml::Value::as_integer)
        .unwrap_or_default();
    // Compose's default is 10 s.
    let stop = svc["stop_grace_period"]
        .as_str()
        .map_or(Some(10), compose_duration_secs);
    match stop {
        Some(stop) if i64::try_from(stop).is_ok_and(|s| s > drain) => {}
        other => problems.push(format!(
            "stop_grace_period {other:?} s must exceed shutdown.grace_period_secs {drain}"
        )),
    }
    if svc["read_only"] != true {
        problems.push("read_only is not true".into());
    }
    let user = svc["user"].as_str().unwrap_or("root");
    if user.starts_with("0") || user.starts_with("root") {
        problems.push(format!("runs as {user}"));
    }
    assert!(
        problems.is_empty(),
        "compose.yaml:\n{}",
        problems.join("\n")
    );
}

#[test]
fn compose_durations_parse() {
    assert_eq!(compose_duration_secs("45s"), Some(45));
    assert_eq!(compose_duration_secs("1m30s"), Some(90));
    assert_eq!(compose_duration_secs("45"), None);
    assert_eq!(compose_duration_secs("4x"), None);
}
