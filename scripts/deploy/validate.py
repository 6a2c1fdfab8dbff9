#!/usr/bin/env python3
"""Offline checks of wirefeed's deployment material (called by scripts/validate-deploy.sh).

* Rendered Kubernetes manifests: built-in kinds against the Kubernetes OpenAPI schemas of a
  pinned version (kubernetes-validate, strict: unknown fields are errors); the CRDs wirefeed
  uses (ServiceMonitor, PrometheusRule, ScaledObject, TriggerAuthentication) against the JSON
  schemas in scripts/deploy/schemas; any other kind is an error, never silently skipped.
* Cross-references inside each rendering: ConfigMap names (with kustomize's hash suffix),
  Service and PodDisruptionBudget selectors, ServiceMonitor port, ScaledObject target.
* deploy/prometheus/alerts.yaml: rules-file structure, the PrometheusRule carrying the same
  groups, metric names that the service really exports, PromQL via promtool when available.
* deploy/grafana/wirefeed-dashboard.json: structure, templated datasource, metric names,
  PromQL via promtool when available.
* deploy/compose.yaml and deploy/Dockerfile: structure and the paths they refer to.

Every problem is reported, then the exit status is 1 if there was any.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

# Secrets are created out of band (kubectl create secret, an external secrets operator):
# the manifests may refer to these without defining them.
EXTERNAL_SECRETS = {"wirefeed-kafka-credentials", "wirefeed-kafka-ca"}

CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication.json",
}

# Metrics from outside src/metrics.rs that rules and panels may use.
EXTRA_METRICS = {"up"}


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def ok(self, what: str) -> None:
        print(f"ok    {what}")

    def fail(self, what: str, why: str) -> None:
        self.failures.append(f"{what}: {why}")
        print(f"FAIL  {what}: {why}")

    def check(self, what: str, problems: list[str]) -> None:
        if problems:
            for p in problems:
                self.fail(what, p)
        else:
            self.ok(what)


# ---------------------------------------------------------------- schemas


def schema_registry(schema_dir: Path):
    from referencing import Registry, Resource

    resources = []
    for path in sorted(schema_dir.glob("*.json")):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def schema_errors(instance, schema_id: str, registry) -> list[str]:
    from jsonschema import Draft202012Validator

    schema = registry.contents(schema_id)
    validator = Draft202012Validator(schema, registry=registry)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


# ---------------------------------------------------------------- manifests


def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def name_of(doc: dict) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def validate_manifests(label: str, docs: list[dict], k8s_version: str, registry, report: Report) -> None:
    import kubernetes_validate

    if not docs:
        report.fail(f"{label}: rendering", "no manifests rendered")
        return
    for doc in docs:
        what = f"{label}: {name_of(doc)}"
        key = (doc.get("apiVersion"), doc.get("kind"))
        if key in CRD_SCHEMAS:
            schema_id = json.loads((SCHEMA_DIR / CRD_SCHEMAS[key]).read_text())["$id"]
            report.check(f"{what} (schema {CRD_SCHEMAS[key]})", schema_errors(doc, schema_id, registry))
            continue
        try:
            kubernetes_validate.validate(doc, k8s_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            report.fail(what, f"{key[0]} {key[1]} has neither a Kubernetes {k8s_version} schema nor one in scripts/deploy/schemas")
            continue
        except kubernetes_validate.ValidationError as e:
            path = "/".join(map(str, e.path)) or "<root>"
            report.fail(what, f"Kubernetes {k8s_version} schema: {path}: {e.message}")
            continue
        report.ok(f"{what} (Kubernetes {k8s_version}, strict)")


def pod_specs(docs: list[dict]):
    for doc in docs:
        if doc.get("kind") in ("Deployment", "StatefulSet", "Job"):
            yield doc, doc["spec"]["template"]


def check_references(label: str, docs: list[dict], report: Report) -> None:
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    configmaps = set(by_kind.get("ConfigMap", {}))
    problems: list[str] = []

    for owner, template in pod_specs(docs):
        spec = template["spec"]
        who = name_of(owner)
        for volume in spec.get("volumes", []):
            if "configMap" in volume and volume["configMap"]["name"] not in configmaps:
                problems.append(f"{who} mounts ConfigMap {volume['configMap']['name']}, which is not rendered")
            if "secret" in volume and volume["secret"]["secretName"] not in EXTERNAL_SECRETS:
                problems.append(f"{who} mounts unknown Secret {volume['secret']['secretName']}")
        for container in spec.get("containers", []):
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef", {}).get("name")
                if ref is not None and ref not in configmaps:
                    problems.append(f"{who} takes env from ConfigMap {ref}, which is not rendered")
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef", {}).get("name")
                if ref is not None and ref not in EXTERNAL_SECRETS:
                    problems.append(f"{who} reads unknown Secret {ref}")
        sa = spec.get("serviceAccountName")
        if sa and sa not in by_kind.get("ServiceAccount", {}):
            problems.append(f"{who} runs as ServiceAccount {sa}, which is not rendered")

    deployments = by_kind.get("Deployment", {})
    pod_labels = {name: d["spec"]["template"]["metadata"].get("labels", {}) for name, d in deployments.items()}

    def selects(selector: dict, labels: dict) -> bool:
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    for name, d in deployments.items():
        if not selects(d["spec"]["selector"].get("matchLabels", {}), pod_labels[name]):
            problems.append(f"Deployment/{name} selector does not match its own pod labels")
    for name, svc in by_kind.get("Service", {}).items():
        if not any(selects(svc["spec"].get("selector", {}), labels) for labels in pod_labels.values()):
            problems.append(f"Service/{name} selects no Deployment's pods")
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        if not any(selects(pdb["spec"]["selector"].get("matchLabels", {}), labels) for labels in pod_labels.values()):
            problems.append(f"PodDisruptionBudget/{name} selects no Deployment's pods")
    for name, sm in by_kind.get("ServiceMonitor", {}).items():
        services = [s for s in by_kind.get("Service", {}).values()
                    if selects(sm["spec"]["selector"].get("matchLabels", {}), s["metadata"].get("labels", {}))]
        if not services:
            problems.append(f"ServiceMonitor/{name} selects no Service")
        for endpoint in sm["spec"]["endpoints"]:
            port = endpoint.get("port")
            if port and not any(port == p.get("name") for s in services for p in s["spec"]["ports"]):
                problems.append(f"ServiceMonitor/{name} scrapes port {port!r}, which the Service does not name")
    for name, so in by_kind.get("ScaledObject", {}).items():
        target = so["spec"]["scaleTargetRef"]["name"]
        if target not in deployments:
            problems.append(f"ScaledObject/{name} scales Deployment/{target}, which is not rendered")
        for trigger in so["spec"]["triggers"]:
            auth = trigger.get("authenticationRef", {}).get("name")
            if auth and auth not in by_kind.get("TriggerAuthentication", {}):
                problems.append(f"ScaledObject/{name} uses TriggerAuthentication/{auth}, which is not rendered")
    report.check(f"{label}: cross-references", problems)


# ---------------------------------------------------------------- metrics and PromQL


def exported_metrics(metrics_rs: Path) -> set[str]:
    """The metric names wirefeed registers: every snake_case string literal of src/metrics.rs
    (a superset; it only has to catch names that do not exist)."""
    literals = set(re.findall(r'"([a-z][a-z0-9_]*)"', metrics_rs.read_text()))
    return {f"wirefeed_{n}" for n in literals}


HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def unknown_metrics(expr: str, known: set[str]) -> list[str]:
    unknown = []
    for name in re.findall(r"\b(wirefeed_[a-z0-9_]+)", expr):
        base = name
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and name[: -len(suffix)] in known:
                base = name[: -len(suffix)]
        if base not in known:
            unknown.append(name)
    return unknown


def balanced(expr: str) -> str | None:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote = None
    for ch in expr:
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'`":
            quote = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return f"unbalanced {ch!r}"
    if quote:
        return "unterminated string"
    if stack:
        return f"unclosed {stack[-1]!r}"
    return None


def promtool_check_rules(promtool: str | None, rules_file: Path) -> list[str] | None:
    """None when promtool is not available; else its complaints (empty when all is well)."""
    if not promtool:
        return None
    run = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True)
    if run.returncode == 0:
        return []
    return [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]


# ---------------------------------------------------------------- files


def check_alerts(root: Path, registry, known: set[str], promtool: str | None, report: Report) -> dict:
    path = root / "deploy/prometheus/alerts.yaml"
    rules = yaml.safe_load(path.read_text())
    report.check("alerts.yaml: rules-file schema", schema_errors(rules, "wirefeed:rules", registry))
    problems = []
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            expr = str(rule.get("expr", ""))
            if (why := balanced(expr)) is not None:
                problems.append(f"{name}: {why}")
            for m in unknown_metrics(expr, known):
                problems.append(f"{name}: {m} is not a metric wirefeed exports (src/metrics.rs)")
            if "alert" in rule:
                if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                    problems.append(f"{name}: labels.severity must be critical, warning or info")
                for key in ("summary", "description"):
                    if not rule.get("annotations", {}).get(key):
                        problems.append(f"{name}: annotations.{key} is missing")
    report.check("alerts.yaml: severities, annotations, metric names, brackets", problems)
    result = promtool_check_rules(promtool, path)
    if result is None:
        print("skip  alerts.yaml: promtool check rules (promtool not available; structure and names checked above)")
    else:
        report.check("alerts.yaml: promtool check rules", result)
    return rules


def check_prometheus_rule_in_sync(root: Path, rules: dict, report: Report) -> None:
    path = root / "deploy/k8s/base/prometheusrule.yaml"
    doc = yaml.safe_load(path.read_text())
    same = doc.get("spec", {}).get("groups") == rules.get("groups")
    report.check(
        "prometheusrule.yaml carries the groups of alerts.yaml",
        [] if same else ["spec.groups differ from deploy/prometheus/alerts.yaml; copy the groups over"],
    )


def check_prometheus_config(root: Path, promtool: str | None, report: Report) -> None:
    path = root / "deploy/prometheus/prometheus.yml"
    config = yaml.safe_load(path.read_text())
    problems = []
    jobs = [s.get("job_name") for s in config.get("scrape_configs", [])]
    if "wirefeed" not in jobs:
        problems.append('no scrape job named "wirefeed" (the alert rules select job="wirefeed")')
    if "/etc/prometheus/alerts.yaml" not in config.get("rule_files", []):
        problems.append("rule_files does not load /etc/prometheus/alerts.yaml")
    report.check("prometheus.yml: scrape job and rule file", problems)
    if promtool:
        with tempfile.TemporaryDirectory() as tmp:
            local = dict(config)
            local["rule_files"] = [str(root / "deploy/prometheus/alerts.yaml")]
            copy = Path(tmp) / "prometheus.yml"
            copy.write_text(yaml.safe_dump(local))
            run = subprocess.run([promtool, "check", "config", "--syntax-only", str(copy)],
                                 capture_output=True, text=True)
            report.check("prometheus.yml: promtool check config",
                         [] if run.returncode == 0 else (run.stdout + run.stderr).splitlines())


def dashboard_panels(panels: list[dict]):
    for panel in panels:
        yield panel
        yield from dashboard_panels(panel.get("panels", []))


def check_dashboard(root: Path, known: set[str], promtool: str | None, report: Report) -> None:
    path = root / "deploy/grafana/wirefeed-dashboard.json"
    try:
        dash = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        report.fail("wirefeed-dashboard.json", f"not valid JSON: {e}")
        return
    problems = []
    for key in ("uid", "title", "schemaVersion", "panels", "templating"):
        if key not in dash:
            problems.append(f"missing {key}")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("needs a templated Prometheus datasource variable named datasource")
    ids = set()
    exprs = []
    for panel in dashboard_panels(dash.get("panels", [])):
        pid = panel.get("id")
        if pid in ids:
            problems.append(f"panel id {pid} used twice")
        ids.add(pid)
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")) or grid.get("x", 0) + grid.get("w", 0) > 24:
            problems.append(f"panel {panel.get('title')!r}: bad gridPos {grid}")
        if panel.get("type") == "row":
            continue
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"panel {panel.get('title')!r}: datasource is not ${{datasource}}")
        if not panel.get("targets"):
            problems.append(f"panel {panel.get('title')!r}: no query")
        for target in panel.get("targets", []):
            expr = target.get("expr", "")
            if target.get("datasource", {}).get("uid") != "${datasource}":
                problems.append(f"panel {panel.get('title')!r} query {target.get('refId')}: datasource is not ${{datasource}}")
            if (why := balanced(expr)) is not None:
                problems.append(f"panel {panel.get('title')!r}: {why}")
            for m in unknown_metrics(expr, known):
                problems.append(f"panel {panel.get('title')!r}: {m} is not a metric wirefeed exports")
            exprs.append((panel.get("title"), expr))
    report.check(f"wirefeed-dashboard.json: structure, datasource, metric names ({len(exprs)} queries)", problems)
    if promtool:
        # promtool parses PromQL in rules files: check every panel query as a recording rule,
        # with Grafana's variables replaced by what Grafana would substitute.
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query_{i}",
             "expr": e.replace("$__rate_interval", "5m").replace("$__range", "1h")
                      .replace("$job", ".*").replace("$instance", ".*")}
            for i, (_, e) in enumerate(exprs)]}]}
        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / "dashboard-rules.yaml"
            file.write_text(yaml.safe_dump(rules))
            result = promtool_check_rules(promtool, file)
        report.check("wirefeed-dashboard.json: PromQL of every query (promtool)", result or [])
    else:
        print("skip  wirefeed-dashboard.json: PromQL parse (promtool not available)")


def check_compose(root: Path, report: Report) -> None:
    path = root / "deploy/compose.yaml"
    compose = yaml.safe_load(path.read_text())
    base = path.parent
    problems = []
    services = compose.get("services", {})
    for needed in ("kafka", "wirefeed", "prometheus"):
        if needed not in services:
            problems.append(f"service {needed} is missing")
    for name, svc in services.items():
        if not ("image" in svc or "build" in svc):
            problems.append(f"{name}: neither image nor build")
        build = svc.get("build")
        if isinstance(build, dict):
            context = base / build.get("context", ".")
            if not (context / build.get("dockerfile", "Dockerfile")).is_file():
                problems.append(f"{name}: build.dockerfile not found from its context")
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")) and not (base / source).exists():
                problems.append(f"{name}: volume source {source} does not exist")
        for dep, cond in (svc.get("depends_on") or {}).items() if isinstance(svc.get("depends_on"), dict) else []:
            if dep not in services:
                problems.append(f"{name}: depends on unknown service {dep}")
        for dep in svc.get("depends_on", []) if isinstance(svc.get("depends_on"), list) else []:
            if dep not in services:
                problems.append(f"{name}: depends on unknown service {dep}")
    kafka = services.get("kafka", {})
    if not str(kafka.get("image", "")).startswith("apache/kafka:4"):
        problems.append("kafka: expected an apache/kafka:4.x image (KRaft)")
    if "controller" not in str(kafka.get("environment", {}).get("KAFKA_PROCESS_ROLES", "")):
        problems.append("kafka: KAFKA_PROCESS_ROLES must include controller (KRaft)")
    report.check("compose.yaml: services, build, volumes, dependencies", problems)
    try:
        run = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        have_compose = run.returncode == 0
    except OSError:
        have_compose = False
    if have_compose:
        run = subprocess.run(["docker", "compose", "-f", str(path), "config", "--quiet"], capture_output=True, text=True)
        report.check("compose.yaml: docker compose config", [] if run.returncode == 0 else run.stderr.splitlines())
    else:
        print("skip  compose.yaml: docker compose config (docker compose not available)")


def check_dockerfile(root: Path, report: Report) -> None:
    text = (root / "deploy/Dockerfile").read_text()
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    problems = []
    stages = [l for l in lines if l.upper().startswith("FROM ")]
    if len(stages) < 2:
        problems.append("expected a multi-stage build")
    if "cargo build --release --locked" not in text:
        problems.append("the builder must run cargo build --release --locked")
    user = [l for l in lines if l.upper().startswith("USER ")]
    if not user or not re.fullmatch(r"USER [1-9][0-9]*(:[0-9]+)?", user[-1]):
        problems.append("the final stage must set a numeric non-root USER")
    if 'ENTRYPOINT ["/wirefeed"]' not in lines:
        problems.append('ENTRYPOINT must be ["/wirefeed"] (exec form)')
    if 'CMD ["run", "--config", "/etc/wirefeed/wirefeed.toml"]' not in lines:
        problems.append("CMD must run with /etc/wirefeed/wirefeed.toml")
    for copied in re.findall(r"^COPY (?!--from)(\S+)", text, flags=re.M):
        if copied != "." and not (root / copied).exists():
            problems.append(f"COPY source {copied} does not exist")
    report.check("Dockerfile: stages, user, entrypoint", problems)


# ---------------------------------------------------------------- main

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True, help="repository root")
    parser.add_argument("--k8s-version", default="1.30.0")
    parser.add_argument("--rendered", action="append", default=[], metavar="LABEL=FILE",
                        help="a kustomize rendering to validate (repeatable)")
    parser.add_argument("--json-out", type=Path,
                        help='write the renderings and compose.yaml as JSON here: {"renderings": {LABEL: [docs]}, "compose": {...}}')
    parser.add_argument("--promtool", help="path to promtool, if available")
    args = parser.parse_args()

    report = Report()
    registry = schema_registry(SCHEMA_DIR)
    known = exported_metrics(args.root / "src/metrics.rs") | EXTRA_METRICS

    rendered = {}
    for item in args.rendered:
        label, _, file = item.partition("=")
        docs = load_docs(Path(file))
        rendered[label] = docs
        validate_manifests(label, docs, args.k8s_version, registry, report)
        check_references(label, docs, report)
    if args.json_out:
        compose = yaml.safe_load((args.root / "deploy/compose.yaml").read_text())
        args.json_out.write_text(json.dumps({"renderings": rendered, "compose": compose}, indent=1))

    rules = check_alerts(args.root, registry, known, args.promtool, report)
    check_prometheus_rule_in_sync(args.root, rules, report)
    check_prometheus_config(args.root, args.promtool, report)
    check_dashboard(args.root, known, args.promtool, report)
    check_compose(args.root, report)
    check_dockerfile(args.root, report)

    if report.failures:
        print(f"validate.py: {len(report.failures)} problem(s)", file=sys.stderr)
        return 1
    print("validate.py: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
