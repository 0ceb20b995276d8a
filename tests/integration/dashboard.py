#!/usr/bin/env python3
"""contrib/grafana/ephport.json, the Grafana dashboard:
  - valid JSON with a Prometheus data source variable that every panel and
    target uses, unique panel ids, panels inside the 24-column grid;
  - the panels the operator needs (headline, bind, connect, top
    destinations, TIME_WAIT, ports in use, headroom/trend);
  - every ephport_* metric its PromQL (targets and variables) names exists
    in `$EPHPORT --prometheus` (HELP/TYPE lines, so destination series
    count even when there are none); any other metric is on a short list
    of node_exporter ones;
  - every {{label}} of a legend and every label in by (...) / on (...) is
    one ephport's output carries (a TCP connection is open while ephport
    runs, so the destination labels are there; --all-namespaces adds
    netns), or instance/job;
  - every expression parses: `promtool check rules` on them as recording
    rules, Grafana variables substituted (skipped without promtool).
Needs no root."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

TOP = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DASH = os.path.join(TOP, "contrib", "grafana", "ephport.json")
EXE = os.environ.get("EPHPORT", "./ephport")
# Metrics of node_exporter the dashboard may use besides ephport's.
OTHER_METRICS = {"node_textfile_mtime_seconds"}
# Labels Prometheus adds (instance, job), node_exporter's (file), and
# netns (from --all-namespaces, when this test cannot run it).
OTHER_LABELS = {"instance", "job", "netns", "__name__", "file"}
PROMQL_WORDS = {
    "by", "on", "without", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "sum", "max", "min", "avg", "count", "topk", "bottomk", "sort_desc", "sort", "deriv",
    "rate", "irate", "increase", "time", "clamp_min", "clamp_max", "predict_linear",
    "label_values", "offset", "bool", "abs", "quantile", "stddev", "histogram_quantile",
}

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


if not os.access(EXE, os.X_OK):
    print("SKIP: no ephport binary at", EXE)
    sys.exit(77)

with open(DASH) as f:
    try:
        dash = json.load(f)
    except ValueError as e:
        print("FAIL: %s is not JSON: %s" % (DASH, e))
        sys.exit(1)

# --- what ephport outputs, with a destination present -------------------------
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
cli = socket.create_connection(srv.getsockname())
acc, _ = srv.accept()
# --processes: the process families and their pid/comm labels (this test
# holds the connection above).
r = subprocess.run([EXE, "--prometheus", "--processes"], capture_output=True, text=True)
# Every namespace (netns label) needs CAP_SYS_ADMIN: as root only.
ra = subprocess.run([EXE, "--prometheus", "--all-namespaces"], capture_output=True, text=True)
for s in (cli, acc, srv):
    s.close()
check(r.returncode == 0, "ephport --prometheus exits 0 (%d: %s)" % (r.returncode, r.stderr))
if ra.returncode == 0:
    OTHER_LABELS.discard("netns")
else:
    print("note: ephport --all-namespaces failed (not root?): the netns label is taken on trust")
metrics, labels = set(), set()
for line in r.stdout.splitlines() + (ra.stdout.splitlines() if ra.returncode == 0 else []):
    m = re.match(r"# (?:HELP|TYPE) (\w+)", line)
    if m:
        metrics.add(m.group(1))
        continue
    m = re.match(r"(\w+)(?:\{(.*)\})? ", line)
    if m:
        metrics.add(m.group(1))
        labels.update(re.findall(r'(\w+)="', m.group(2) or ""))
check("ephport_destination_connect_pressure_ratio" in metrics, "ephport outputs destination metrics")
check("remote_port" in labels, "a destination series is there (remote_port label)")

# --- structure -------------------------------------------------------------------
check(isinstance(dash.get("uid"), str) and dash["uid"], "dashboard has a uid")
check(isinstance(dash.get("title"), str) and dash["title"], "dashboard has a title")
check(isinstance(dash.get("schemaVersion"), int), "dashboard has a schemaVersion")
variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
ds = variables.get("datasource", {})
check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
      "a Prometheus data source variable named datasource")
DSREF = {"type": "prometheus", "uid": "${datasource}"}

panels = []


def walk(ps):
    for p in ps:
        panels.append(p)
        walk(p.get("panels", []))


walk(dash.get("panels", []))
ids = [p.get("id") for p in panels]
check(len(ids) == len(set(ids)) and None not in ids, "panel ids are unique")
exprs = []  # (where, expr)
for p in panels:
    g = p.get("gridPos", {})
    check(all(k in g for k in "hwxy") and g["x"] + g["w"] <= 24,
          "panel %r has a gridPos inside 24 columns" % p.get("title"))
    if p.get("type") == "row":
        continue
    check(p.get("datasource") == DSREF, "panel %r uses ${datasource}" % p.get("title"))
    check(bool(p.get("targets")), "panel %r has targets" % p.get("title"))
    check(bool(p.get("description")), "panel %r has a description" % p.get("title"))
    for t in p.get("targets", []):
        check(t.get("datasource") == DSREF, "target of %r uses ${datasource}" % p.get("title"))
        exprs.append(("panel %r" % p.get("title"), t.get("expr", ""), t.get("legendFormat", "")))
for name, v in variables.items():
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("query")
    if v.get("type") == "query":
        check(v.get("datasource") == DSREF, "variable %s uses ${datasource}" % name)
        exprs.append(("variable " + name, q, ""))

titles = " | ".join(p.get("title", "") for p in panels).lower()
for want in ("headline", "bind pressure", "connect pressure", "top destinations",
             "time_wait", "ports in use", "headroom", "trend", "allocation failures",
             "who holds the ports"):
    check(want in titles, "a panel about %s" % want)
used = " ".join(e for _, e, _ in exprs)
for m in ("ephport_pressure_ratio", "ephport_bind_pressure_ratio", "ephport_connect_pressure_ratio",
          "ephport_destination_connect_pressure_ratio", "ephport_time_wait_sockets",
          "ephport_ports_in_use", "ephport_allocation_failures_total",
          "ephport_allocation_failures_by_process_total", "ephport_process_ports",
          "ephport_failures_observable"):
    check(m in used, "the dashboard shows %s" % m)

# --- names -------------------------------------------------------------------------
for where, expr, legend in exprs:
    check(bool(expr), "%s has an expression" % where)
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values out
    bare = re.sub(r"\[[^\]]*\]", "", bare)             # ranges out
    bare = re.sub(r"\$\w+", "5", bare)                   # variables out
    for ident in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b\s*(\(|\{|=~|!~|!=|=|)", bare):
        word, nxt = ident
        if word in PROMQL_WORDS or word.startswith("$") or nxt in ("(",):
            continue
        if nxt in ("=", "=~", "!=", "!~"):
            check(word in labels or word in OTHER_LABELS, "%s: label %s exists" % (where, word))
            continue
        if re.match(r"^\d", word):
            continue
        if word.startswith("ephport_"):
            check(word in metrics, "%s: metric %s is in ephport --prometheus" % (where, word))
        else:
            check(word in OTHER_METRICS or word in labels or word in OTHER_LABELS,
                  "%s: %s is a known metric or label" % (where, word))
    for grp in re.findall(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)", expr):
        for lab in re.split(r"\s*,\s*", grp.strip()):
            check(lab in labels or lab in OTHER_LABELS, "%s: grouping label %s exists" % (where, lab))
    for lab in re.findall(r"\{\{\s*\.?(\w+)\s*\}\}", legend):
        check(lab in labels or lab in OTHER_LABELS, "%s: legend label %s exists" % (where, lab))
    check(not re.search(r"\$(?!instance\b|netns\b|top\b|__)", expr),
          "%s uses only the variables instance, netns, top" % where)

# --- PromQL syntax -----------------------------------------------------------------
promtool = shutil.which("promtool")
if promtool:
    rules = []
    for i, (where, expr, _) in enumerate(exprs):
        e = expr.replace("$instance", ".*").replace("$netns", ".*").replace("$top", "5")
        m = re.match(r"label_values\((.*),\s*\w+\)$", e)
        if m:
            e = m.group(1)
        rules.append({"record": "dashboard:expr_%d" % i, "expr": e})
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "dashboard.rules.yml")
        with open(path, "w") as f:
            json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)  # JSON is YAML
        pr = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
        check(pr.returncode == 0, "promtool check rules on the dashboard's expressions:\n"
              + pr.stdout + pr.stderr)
else:
    print("note: no promtool, PromQL syntax not checked")

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
