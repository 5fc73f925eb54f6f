#!/usr/bin/env python3
"""Checks deploy/k8s, deploy/Dockerfile and deploy/systemd against each other and against what
explainq serves, then writes what 0153-deploy.sh runs: the containers' and units' command
lines and environment, as shell-quoted bash arrays. Usage: deploy_check.py OUT_DIR"""
import configparser, glob, os, re, shlex, sys
import yaml

out = sys.argv[1]
SERVED = {"/healthz", "/readyz", "/metrics"}


def fail(msg):
    sys.exit("deploy check: " + msg)


docs = []
for path in sorted(glob.glob("deploy/k8s/*.yaml")):
    for d in yaml.safe_load_all(open(path)):
        if d is None:
            continue
        if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind") \
                or not d.get("metadata", {}).get("name"):
            fail(f"{path}: a document without apiVersion, kind and metadata.name")
        d["_file"] = path
        docs.append(d)
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
for kind, n in {"ConfigMap": 1, "Secret": 1, "Job": 1, "Deployment": 2,
                "PodDisruptionBudget": 2, "ScaledObject": 2, "TriggerAuthentication": 1}.items():
    if len(by_kind.get(kind, [])) != n:
        fail(f"expected {n} {kind}, found {len(by_kind.get(kind, []))}")
cm = by_kind["ConfigMap"][0]
secret = by_kind["Secret"][0]
env_cm = {k: str(v) for k, v in cm["data"].items()}
env_secret = {k: str(v) for k, v in secret["stringData"].items() if k.startswith("EXPLAINQ_")}
port = int(env_cm["EXPLAINQ_METRICS_PORT"])
grace_ms = int(env_cm["EXPLAINQ_SHUTDOWN_GRACE_MS"])

deps = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
for name, d in deps.items():
    pod = d["spec"]["template"]["spec"]
    labels = d["spec"]["template"]["metadata"]["labels"]
    if d["spec"]["selector"]["matchLabels"].items() - labels.items():
        fail(f"{name}: the selector does not match the pod labels")
    if pod["terminationGracePeriodSeconds"] * 1000 < grace_ms + 5000:
        fail(f"{name}: terminationGracePeriodSeconds {pod['terminationGracePeriodSeconds']} "
             f"leaves under 5 s past shutdown.grace.ms {grace_ms}")
    if not pod.get("securityContext", {}).get("runAsNonRoot"):
        fail(f"{name}: not runAsNonRoot")
    c = pod["containers"][0]
    refs = {next(iter(e.values()))["name"] for e in c["envFrom"]}
    if refs != {cm["metadata"]["name"], secret["metadata"]["name"]}:
        fail(f"{name}: envFrom {refs}")
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        g = c[probe]["httpGet"]
        p = ports.get(g["port"], g["port"])
        if g["path"] != path or g["path"] not in SERVED or p != port:
            fail(f"{name}: {probe} is {g['path']} on {p}; explainq serves {path} on {port}")
    ann = d["spec"]["template"]["metadata"].get("annotations", {})
    if ann.get("prometheus.io/port") != str(port) or ann.get("prometheus.io/path") not in SERVED:
        fail(f"{name}: prometheus annotations do not match metrics.port")
    if not c["resources"]["requests"].get("cpu") or not c["resources"]["requests"].get("memory"):
        fail(f"{name}: resource requests missing")
worker = next(d for d in deps.values() if d["spec"]["template"]["spec"]["containers"][0]["args"][0] == "worker")
runner = next(d for d in deps.values() if d["spec"]["template"]["spec"]["containers"][0]["args"][0] == "runner")
rargs = runner["spec"]["template"]["spec"]["containers"][0]["args"]
model = rargs[rargs.index("--name") + 1]

job = by_kind["Job"][0]
jargs = job["spec"]["template"]["spec"]["containers"][0]["args"]
partitions = int(jargs[jargs.index("--partitions") + 1])
if jargs[jargs.index("--replication-factor") + 1] != "3" or "min.insync.replicas=2" not in jargs:
    fail("the topics job must create RF 3 topics with min.insync.replicas=2")
want_topics = {env_cm[k] for k in ("EXPLAINQ_TOPIC_JOBS", "EXPLAINQ_TOPIC_RESULTS",
                                   "EXPLAINQ_TOPIC_DLQ", "EXPLAINQ_TOPIC_REPLIES")}
want_topics.add(f"explain.infer.{model}")
if not want_topics <= set(jargs):
    fail(f"the topics job misses {want_topics - set(jargs)}")

sos = {d["spec"]["scaleTargetRef"]["name"]: d for d in by_kind["ScaledObject"]}
for target, group, topic in ((worker["metadata"]["name"], env_cm["EXPLAINQ_GROUP_ID"],
                              env_cm["EXPLAINQ_TOPIC_JOBS"]),
                             (runner["metadata"]["name"], f"explainq-runners-{model}",
                              f"explain.infer.{model}")):
    so = sos.get(target) or fail(f"no ScaledObject targets {target}")
    t = so["spec"]["triggers"][0]
    md = t["metadata"]
    if t["type"] != "kafka" or md["consumerGroup"] != group or md["topic"] != topic:
        fail(f"ScaledObject of {target}: group {md['consumerGroup']} topic {md['topic']}, "
             f"expected {group} on {topic}")
    if md["bootstrapServers"] != env_cm["EXPLAINQ_BOOTSTRAP_SERVERS"]:
        fail(f"ScaledObject of {target}: bootstrapServers differ from the ConfigMap")
    if t["authenticationRef"]["name"] != by_kind["TriggerAuthentication"][0]["metadata"]["name"]:
        fail(f"ScaledObject of {target}: unknown TriggerAuthentication")
    if so["spec"]["maxReplicaCount"] > partitions:
        fail(f"ScaledObject of {target}: more replicas than partitions")
for pdb in by_kind["PodDisruptionBudget"]:
    sel = pdb["spec"]["selector"]["matchLabels"]
    if not any(sel.items() <= d["spec"]["template"]["metadata"]["labels"].items() for d in deps.values()):
        fail(f"PDB {pdb['metadata']['name']} selects no Deployment")

df = open("deploy/Dockerfile").read()
froms = re.findall(r"^FROM\s+(\S+)", df, re.M)
if len(froms) < 2 or froms[-1] != "debian:12-slim" or not froms[0].startswith("debian:12"):
    fail(f"Dockerfile stages: {froms}")
user = re.findall(r"^USER\s+(\S+)", df, re.M)
if not user or user[-1].split(":")[0] in ("0", "root"):
    fail("Dockerfile: the last stage must run as a non-root USER")
hc = re.search(r"^HEALTHCHECK.*\n(?:\s+.*\n)*", df, re.M)
if not hc or "/healthz" not in hc.group(0):
    fail("Dockerfile: HEALTHCHECK on /healthz missing")
if f"EXPLAINQ_METRICS_PORT={port}" not in df:
    fail("Dockerfile: EXPLAINQ_METRICS_PORT differs from the ConfigMap")

units = {}
for path in sorted(glob.glob("deploy/systemd/*.service")):
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read(path)
    s = cp["Service"]
    if s.get("Restart") not in ("on-failure", "always") or not s.get("EnvironmentFile"):
        fail(f"{path}: needs Restart= and EnvironmentFile=")
    if s.get("User") in (None, "root"):
        fail(f"{path}: runs as root")
    units[os.path.basename(path)] = s
envfile = dict(l.split("=", 1) for l in open("deploy/systemd/explainq.env").read().splitlines()
               if l and not l.startswith("#"))
for name, s in units.items():
    if int(s["TimeoutStopSec"]) * 1000 < int(envfile["EXPLAINQ_SHUTDOWN_GRACE_MS"]) + 5000:
        fail(f"{name}: TimeoutStopSec under shutdown.grace.ms + 5 s")


def arr(name, items):
    return f"{name}=(" + " ".join(shlex.quote(str(x)) for x in items) + ")\n"


with open(f"{out}/deploy.sh", "w") as f:
    f.write(arr("JOB_ARGS", jargs))
    f.write(arr("WORKER_ARGS", worker["spec"]["template"]["spec"]["containers"][0]["args"]))
    f.write(arr("RUNNER_ARGS", rargs))
    f.write(arr("POD_ENV", [f"{k}={v}" for k, v in {**env_cm, **env_secret}.items()]))
    f.write(arr("UNIT_ENV", [f"{k}={v}" for k, v in envfile.items()]))
    f.write(arr("WORKER_UNIT", shlex.split(units["explainq-worker@.service"]["ExecStart"])))
    f.write(arr("RUNNER_UNIT", shlex.split(units["explainq-runner@.service"]["ExecStart"])))
    f.write(f"WORKER_GRACE_S={worker['spec']['template']['spec']['terminationGracePeriodSeconds']}\n")
print(f"deploy check: {len(docs)} documents, Dockerfile, {len(units)} units consistent")
