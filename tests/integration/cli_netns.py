#!/usr/bin/env python3
"""`ephport` against real sockets in a private network namespace.

Scenario A: range 40000-40099 with 40010-40014 and 40050 reserved
(usable 94) and a known mix of sockets; every number of the model is
asserted, and cross-checked with `ss` on the same namespace.
Scenario B: range 40200-40299 with 40290-40299 reserved (usable 90) and
one destination with 85 sockets: near exhaustion, connect and bind tied.
The Prometheus output is checked for format too: every family one group
after its HELP and TYPE (own check, promtool, prometheus_client).
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402
from nsutil import tcp_connect, tcp_listen  # noqa: E402,F401

nsutil.enter_private_netns(sys.argv)
ck = nsutil.Checker()
keep = []

# --- Scenario A -----------------------------------------------------------
LOW, HIGH, RES = nsutil.SCENARIO_A
reserved = nsutil.parse_reserved(RES)
nsutil.setup_namespace(LOW, HIGH, RES)

keep += nsutil.scenario_a_sockets()

j = nsutil.ephport_json("--top", "10")
tcp, udp = j["protocols"]["tcp"], j["protocols"]["udp"]
ck.eq("source", j["source"], "netlink")
ck.eq("tcp range", tcp["range"], {"low": 40000, "high": 40099, "size": 100,
                                  "reserved": 6, "usable": 94})
ck.eq("udp range", udp["range"], tcp["range"])
ck.eq("tcp all_reserved", tcp["all_reserved"], False)

# Known by construction.
ck.eq("tcp established in range", tcp["states_in_range"]["established"], 21)
ck.eq("tcp time_wait in range", tcp["time_wait"], 3)
ck.eq("tcp listen in range", tcp["states_in_range"]["listen"], 1)
ck.eq("tcp sockets_in_range", tcp["sockets_in_range"], 25)
ck.eq("tcp established total", tcp["states_total"]["established"], 42)
ck.eq("tcp listen total", tcp["states_total"]["listen"], 5)
ck.eq("tcp time_wait_total", tcp["time_wait_total"], 3)
ck.eq("tcp sockets_total", tcp["sockets_total"], 50)
ck.eq("tcp listeners_in_range", tcp["listeners_in_range"], 1)
ck.eq("tcp listeners", tcp["listeners"], [{"address": "0.0.0.0", "port": 40020}])
ck.eq("tcp destinations", tcp["destinations"], 3)
dests = {(d["local_address"], d["remote_address"], d["remote_port"]):
         (d["sockets"], d["time_wait"]) for d in tcp["top_destinations"]}
ck.eq("tcp destination sockets", dests, {
    ("127.0.0.1", "127.0.0.1", 8080): (15, 3),
    ("127.0.0.1", "127.0.0.2", 9090): (6, 0),
    ("::1", "::1", 8080): (3, 0)})
ck.eq("tcp worst destination", (tcp["worst_destination"]["remote_port"],
                                tcp["worst_destination"]["sockets"]), (8080, 15))
ck.eq("tcp worst destination %", tcp["worst_destination_exhaustion_percent"],
      int(15 * 10000 / 94) / 100)


# The kernel settings the model used (setup_namespace sets tcp_tw_reuse 0).
def sysctl(name, default):
    try:
        return int(open(f"/proc/sys/net/ipv4/{name}").read())
    except FileNotFoundError:
        return default


ks = j["kernel_settings"]
ck.eq("kernel_settings", ks, {
    "tcp_tw_reuse": 0, "tcp_tw_reuse_delay_ms": sysctl("tcp_tw_reuse_delay", 1000),
    "tcp_timestamps": sysctl("tcp_timestamps", 1),
    "ip_autobind_reuse": sysctl("ip_autobind_reuse", 0), "read": True})


def pct(n, usable=94):
    """n ports over usable, rounded down to hundredths as ephport does."""
    return n * 10000 // usable / 100


# The new model.  The only bind-owned pool port netlink can see is the
# listener on 40020; the connected sockets' owners are not visible (the
# explicit binds on 40060 and 40070 look like connect()'s), so connect
# pressures are lower bounds.  tcp_tw_reuse 0: no TIME_WAIT is reusable,
# and a destination's next connect() cannot use the listener's port nor
# any of its own sockets' ports.
ck.eq("tcp bind_owned_ports", tcp["bind_owned_ports"], 1)
ck.eq("tcp owners_exact (netlink cannot see bind owners)", tcp["owners_exact"], False)
ck.eq("tcp bind_exact", tcp["bind_exact"], ks["ip_autobind_reuse"] == 0)
ck.eq("tcp time_wait_reusable", tcp["time_wait_reusable"], 0)
ck.eq("tcp connect_new_destination_percent", tcp["connect_new_destination_percent"],
      pct(1))
cdests = {(d["local_address"], d["remote_address"], d["remote_port"]):
          (d["tw_reusable"], d["blocked_ports"], d["connect_pressure_percent"])
          for d in tcp["top_destinations"]}
ck.eq("tcp destination connect pressure", cdests, {
    ("127.0.0.1", "127.0.0.1", 8080): (0, 16, pct(16)),
    ("127.0.0.1", "127.0.0.2", 9090): (0, 7, pct(7)),
    ("::1", "::1", 8080): (0, 4, pct(4))})
ck.eq("tcp top destinations ranked by connect pressure",
      [d["connect_pressure_percent"] for d in tcp["top_destinations"]],
      [pct(16), pct(7), pct(4)])
ck.eq("tcp connect_pressure_percent: the worst destination's",
      (tcp["connect_pressure_percent"], tcp["worst_destination"]["connect_pressure_percent"],
       tcp["worst_destination"]["blocked_ports"]), (pct(16), pct(16), 16))
ck.eq("tcp bind_pressure_percent", tcp["bind_pressure_percent"], pct(tcp["ports_in_use"]))
tcp_kind = "connect" if tcp["connect_pressure_percent"] >= tcp["bind_pressure_percent"] else "bind"
ck.eq("tcp pressure: the higher of bind and connect", tcp["pressure"], {
    "percent": max(tcp["bind_pressure_percent"], tcp["connect_pressure_percent"]),
    "kind": tcp_kind,
    "destination": tcp["worst_destination"] if tcp_kind == "connect" else None})
ck.eq("udp pressure: bind only", udp["pressure"],
      {"percent": pct(udp["ports_in_use"]), "kind": "bind", "destination": None})
ck.eq("udp connect pressures, owners", (
    udp["connect_pressure_percent"], udp["connect_new_destination_percent"],
    udp["bind_owned_ports"], udp["owners_exact"], udp["bind_exact"],
    udp["time_wait_reusable"]), (0.0, 0.0, 0, True, True, 0))
ck.eq("udp destination: no connect pressure",
      [(d["blocked_ports"], d["connect_pressure_percent"], d["tw_reusable"])
       for d in udp["top_destinations"]], [(0, 0.0, 0)])

ck.eq("udp sockets_in_range", udp["sockets_in_range"], 3)
ck.eq("udp sockets_total", udp["sockets_total"], 4)
ck.eq("udp ports_in_use", udp["ports_in_use"], 3)
ck.eq("udp listeners", udp["listeners"], [{"address": "127.0.0.1", "port": 40030}])
ck.eq("udp destinations", [(d["remote_address"], d["remote_port"], d["sockets"])
                           for d in udp["top_destinations"]],
      [("127.0.0.1", 5353, 2)])

# Cross-check with ss on the same namespace.
for proto, got in (("tcp", tcp), ("udp", udp)):
    rows = nsutil.ss_sockets(proto)
    pool = [r for r in rows if nsutil.in_pool(r[2], LOW, HIGH, reserved)]
    ports = {r[2] for r in pool}
    ck.eq(f"{proto} ports_in_use == ss", got["ports_in_use"], len(ports))
    ck.eq(f"{proto} ports_free == ss", got["ports_free"], 94 - len(ports))
    ck.eq(f"{proto} sockets_in_range == ss", got["sockets_in_range"], len(pool))
    ck.eq(f"{proto} sockets_total == ss", got["sockets_total"], len(rows))
    host_bp = len(ports) * 10000 // 94
    ck.eq(f"{proto} host exhaustion == ss", got["host_exhaustion_percent"],
          host_bp / 100)
    ck.eq(f"{proto} bind pressure == ss", got["bind_pressure_percent"],
          host_bp / 100)
    ck.eq(f"{proto} exhaustion is the max", got["exhaustion_percent"],
          max(got["host_exhaustion_percent"],
              got["worst_destination_exhaustion_percent"]))
ss_tw = sum(1 for r in nsutil.ss_sockets("tcp") if r[0] == "TIME-WAIT")
ck.eq("tcp time_wait_total == ss", tcp["time_wait_total"], ss_tw)

# Every source and mode agrees on the same sockets.
p = nsutil.ephport_json("--top", "10", "--source", "procfs")
ck.eq("procfs source", p["source"], "procfs")
for key in ("ports_in_use", "sockets_in_range", "sockets_total", "time_wait",
            "listeners", "destinations", "top_destinations",
            "states_in_range", "states_total", "exhaustion_percent",
            "pressure", "bind_pressure_percent", "bind_owned_ports", "owners_exact",
            "connect_pressure_percent", "connect_new_destination_percent",
            "time_wait_reusable"):
    for proto in ("tcp", "udp"):
        ck.eq(f"procfs {proto} {key} == netlink", p["protocols"][proto][key],
              j["protocols"][proto][key])
f = nsutil.ephport_json("--top", "10", "--no-state-totals")
for key in ("ports_in_use", "sockets_in_range", "time_wait", "time_wait_total",
            "listeners", "top_destinations", "states_in_range"):
    ck.eq(f"filtered tcp {key} == unfiltered", f["protocols"]["tcp"][key], tcp[key])
ck.eq("filtered totals_exact", f["protocols"]["tcp"]["totals_exact"], False)
# The kernel filter passes [low, high]; the reserved listener is in that.
ck.eq("filtered sockets_total: range only", f["protocols"]["tcp"]["sockets_total"], 26)

# --protocol, --top and the other formats carry the same numbers.
only = nsutil.ephport_json("--protocol", "udp", "--top", "0")
ck.eq("--protocol udp", list(only["protocols"]), ["udp"])
ck.eq("--top 0 lists none", only["protocols"]["udp"]["top_destinations"], [])
ck.eq("--top 0 keeps worst", only["protocols"]["udp"]["worst_destination"]["sockets"], 2)
prom = nsutil.ephport("--prometheus").stdout
metrics = {}
for line in prom.splitlines():
    if line and not line.startswith("#"):
        name, value = line.rsplit(" ", 1)
        metrics[name] = value
ck.eq("prometheus ports_in_use", metrics['ephport_ports_in_use{protocol="tcp"}'],
      str(tcp["ports_in_use"]))
ck.eq("prometheus usable", metrics['ephport_usable_ports{protocol="udp"}'], "94")
ck.eq("prometheus time_wait",
      metrics['ephport_time_wait_sockets{protocol="tcp",scope="range"}'], "3")
ck.eq("prometheus listener info",
      metrics['ephport_listener_in_range_info{protocol="tcp",address="0.0.0.0",port="40020"}'], "1")
ck.eq("prometheus exhaustion ratio",
      round(float(metrics['ephport_exhaustion_ratio{protocol="tcp"}']), 6),
      round(tcp["exhaustion_percent"] / 100, 6))
ck.eq("prometheus HELP/TYPE for each metric",
      sum(1 for line in prom.splitlines() if line.startswith("# TYPE")),
      sum(1 for line in prom.splitlines() if line.startswith("# HELP")))
pj = nsutil.ephport_json("--top", "10")["protocols"]["tcp"]
pu = nsutil.ephport_json("--top", "10")["protocols"]["udp"]
ck.eq("prometheus pressure ratio, with its kind",
      float(metrics[f'ephport_pressure_ratio{{protocol="tcp",kind="{pj["pressure"]["kind"]}"}}']),
      round(pj["pressure"]["percent"] / 100, 6))
ck.eq("prometheus udp pressure ratio is bind",
      float(metrics['ephport_pressure_ratio{protocol="udp",kind="bind"}']),
      round(pu["bind_pressure_percent"] / 100, 6))
ck.eq("prometheus bind pressure",
      float(metrics['ephport_bind_pressure_ratio{protocol="tcp"}']),
      round(pct(pj["ports_in_use"]) / 100, 6))
ck.eq("prometheus connect pressure (tcp only)",
      (float(metrics['ephport_connect_pressure_ratio{protocol="tcp"}']),
       'ephport_connect_pressure_ratio{protocol="udp"}' in metrics),
      (round(pct(16) / 100, 6), False))
ck.eq("prometheus connect new destination",
      float(metrics['ephport_connect_new_destination_pressure_ratio{protocol="tcp"}']),
      round(pct(1) / 100, 6))
ck.eq("prometheus bind_owned, owners_exact, time_wait_reusable", (
    metrics['ephport_bind_owned_ports{protocol="tcp"}'],
    metrics['ephport_owners_exact{protocol="tcp"}'],
    metrics['ephport_time_wait_reusable_sockets{protocol="tcp"}']), ("1", "0", "0"))
ck.eq("prometheus destination connect pressure",
      float(metrics['ephport_destination_connect_pressure_ratio{protocol="tcp",'
                    'local_address="127.0.0.1",remote_address="127.0.0.2",remote_port="9090"}']),
      round(pct(7) / 100, 6))


# Format: every sample directly in the group of its HELP/TYPE.
helped, typed, seen_groups, misplaced, current = set(), {}, [], [], None
for line in prom.splitlines():
    if line.startswith("# HELP "):
        helped.add(line.split()[2])
    elif line.startswith("# TYPE "):
        current = line.split()[2]
        typed[current] = line.split()[3]
        seen_groups.append(current)
    elif line:
        name = line.split("{")[0].split(" ")[0]
        if name != current:
            misplaced.append(line)
ck.eq("prometheus: every sample in its family's group", misplaced, [])
ck.eq("prometheus: each family declared once", len(seen_groups), len(set(seen_groups)))
ck.eq("prometheus: every typed family has HELP", sorted(set(typed) - helped), [])

if shutil.which("promtool"):
    r = subprocess.run(["promtool", "check", "metrics"], input=prom,
                       capture_output=True, text=True)
    ck.eq("promtool check metrics", (r.returncode, r.stdout + r.stderr), (0, ""))
    rules = os.path.join(os.environ.get("top_srcdir", "."),
                         "contrib/prometheus/ephport.rules.yml")
    r = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
    ck.eq("promtool check rules", r.returncode, 0)
    if r.returncode:
        print(r.stdout + r.stderr)
    # The rules on samples: connect pages, bind warns, each with its kind,
    # and a firing alert holds between its two thresholds.
    import tempfile
    d = tempfile.mkdtemp(prefix="ephport-rules-")
    with open(os.path.join(d, "test.yml"), "w") as f:
        f.write(f"""rule_files: [{json.dumps(os.path.abspath(rules))}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'ephport_connect_pressure_ratio{{instance="h",protocol="tcp"}}'
        values: '0.5 0.95 0.95 0.95 0.85 0.85 0.7 0.7'
      - series: 'ephport_bind_pressure_ratio{{instance="h",protocol="udp"}}'
        values: '0.85 0.85 0.85 0.85 0.75 0.75 0.6 0.6'
      - series: 'ephport_destination_connect_pressure_ratio{{instance="h",protocol="tcp",local_address="10.0.0.1",remote_address="10.0.0.5",remote_port="443"}}'
        values: '0.5 0.95 0.95 0.95 0.85 0.85 0.7 0.7'
    alert_rule_test:
      - eval_time: 2m
        alertname: EphemeralPortConnectPressure
        exp_alerts:
          - exp_labels: {{severity: page, kind: connect, instance: h, protocol: tcp}}
            exp_annotations:
              summary: "h: tcp connect pressure 95%: connect() to 10.0.0.5:443 from 10.0.0.1 fails with EADDRNOTAVAIL at 100%"
              description: "kind=connect.  Pool ports the next connect() to the worst destination cannot use, over usable ports.  A lower bound when ephport_owners_exact is 0 (netlink and /proc cannot see bind-before-connect).  See ephport_destination_connect_pressure_ratio for the destinations, ephport_bind_owned_ports and ephport_time_wait_reusable_sockets; widen the range, reuse connections or add destination addresses."
      - eval_time: 5m
        alertname: EphemeralPortConnectPressure
        exp_alerts:
          - exp_labels: {{severity: page, kind: connect, instance: h, protocol: tcp}}
            exp_annotations:
              summary: "h: tcp connect pressure 85%: connect() to 10.0.0.5:443 from 10.0.0.1 fails with EADDRNOTAVAIL at 100%"
              description: "kind=connect.  Pool ports the next connect() to the worst destination cannot use, over usable ports.  A lower bound when ephport_owners_exact is 0 (netlink and /proc cannot see bind-before-connect).  See ephport_destination_connect_pressure_ratio for the destinations, ephport_bind_owned_ports and ephport_time_wait_reusable_sockets; widen the range, reuse connections or add destination addresses."
      - eval_time: 7m
        alertname: EphemeralPortConnectPressure
        exp_alerts: []
      - eval_time: 1m
        alertname: EphemeralPortBindPressure
        exp_alerts: []
      - eval_time: 3m
        alertname: EphemeralPortBindPressure
        exp_alerts:
          - exp_labels: {{severity: warning, kind: bind, instance: h, protocol: udp}}
            exp_annotations:
              summary: "h: udp bind pressure 85%: the next bind(0) or autobind fails at 100%"
              description: "kind=bind.  Pool ports held by any socket (TIME-WAIT included) over usable ports; an upper bound when ephport_bind_exact is 0 (ip_autobind_reuse=1).  See ephport_ports_in_use and ephport_state_sockets."
      - eval_time: 5m
        alertname: EphemeralPortBindPressure
        exp_alerts:
          - exp_labels: {{severity: warning, kind: bind, instance: h, protocol: udp}}
            exp_annotations:
              summary: "h: udp bind pressure 75%: the next bind(0) or autobind fails at 100%"
              description: "kind=bind.  Pool ports held by any socket (TIME-WAIT included) over usable ports; an upper bound when ephport_bind_exact is 0 (ip_autobind_reuse=1).  See ephport_ports_in_use and ephport_state_sockets."
      - eval_time: 7m
        alertname: EphemeralPortBindPressure
        exp_alerts: []
""")
    r = subprocess.run(["promtool", "test", "rules", os.path.join(d, "test.yml")],
                       capture_output=True, text=True)
    ck.eq("promtool test rules: connect pages, bind warns, with hysteresis", r.returncode, 0)
    if r.returncode:
        print(r.stdout + r.stderr)
    shutil.rmtree(d)
else:
    print("SKIP: promtool not installed (Debian: prometheus): "
          "promtool check metrics/rules not run")

# prometheus_client's parser puts a sample outside its family's group into
# an "unknown" family without HELP: none may be there.
PARSE = """
import json, sys
from prometheus_client.parser import text_string_to_metric_families as parse
fams = list(parse(sys.stdin.read()))
print(json.dumps({"bad": [f.name for f in fams if f.type == "unknown" or not f.documentation],
                  "names": [f.name for f in fams],
                  "samples": sum(len(f.samples) for f in fams)}))
"""
for py in dict.fromkeys((sys.executable, "/usr/bin/python3")):
    if os.path.exists(py) and subprocess.run(
            [py, "-c", "import prometheus_client"], capture_output=True).returncode == 0:
        r = subprocess.run([py, "-c", PARSE], input=prom, capture_output=True, text=True)
        got = json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr}
        ck.eq("prometheus_client: every sample in a typed family with HELP",
              got.get("bad"), [])
        ck.eq("prometheus_client: one family per name",
              len(got.get("names", [])), len(set(got.get("names", [""]))))
        ck.eq("prometheus_client: all samples parsed", got.get("samples"),
              sum(1 for line in prom.splitlines() if line and not line.startswith("#")))
        break
else:
    print("SKIP: python3 prometheus_client not installed "
          "(Debian: python3-prometheus-client): exposition parse not checked")
text = nsutil.ephport().stdout
ck.eq("text shows the listener", "listeners in range: 1 (0.0.0.0:40020)" in text, True)
ck.eq("text shows the range", "range 40000-40099 (100 ports, 6 reserved, 94 usable)" in text, True)
tj = nsutil.ephport_json()["protocols"]["tcp"]
if tj["pressure"]["kind"] == "bind":
    want = f"TCP  pressure {tj['pressure']['percent']:.2f}% bind (next bind(0) fails at 100%)"
else:
    want = f"TCP  pressure {tj['pressure']['percent']:.2f}% connect to 127.0.0.1:8080 from 127.0.0.1"
ck.eq("text leads with the headline", want in text.splitlines(), True)
ck.eq("text shows bind pressure",
      f"     bind pressure {tj['bind_pressure_percent']:.2f}% ({tj['ports_in_use']} of 94 ports in use)"
      in text.splitlines(), True)
ck.eq("text shows connect pressure",
      f"     connect pressure {pct(16):.2f}% to 127.0.0.1:8080 from 127.0.0.1, "
      f"new destination {pct(1):.2f}%; bind-owned ports 1" in text.splitlines(), True)
ck.eq("text flags the lower bound",
      "     note: connect pressure is a lower bound: netlink cannot see "
      "bind-before-connect" in text.splitlines(), True)
ck.eq("text: udp headline is bind",
      f"UDP  pressure {pct(udp['ports_in_use']):.2f}% bind (next bind(0) or autobind fails at 100%)"
      in text.splitlines(), True)

# tcp_tw_reuse 1 lets connect() take over a TIME_WAIT (with timestamps, once
# older than tcp_tw_reuse_delay): the 3 of 127.0.0.1:8080 stop blocking it.
nsutil.write_sysctl("net/ipv4/tcp_tw_reuse", "1")
time.sleep(ks["tcp_tw_reuse_delay_ms"] / 1000 + 0.2)
r = nsutil.ephport_json("--top", "10")
rt = r["protocols"]["tcp"]
ck.eq("tw_reuse 1: kernel_settings", r["kernel_settings"]["tcp_tw_reuse"], 1)
if ks["tcp_timestamps"]:
    ck.eq("tw_reuse 1: time_wait_reusable", rt["time_wait_reusable"], 3)
    ck.eq("tw_reuse 1: worst destination", {k: rt["worst_destination"][k] for k in (
        "remote_port", "time_wait", "tw_reusable", "blocked_ports", "connect_pressure_percent")},
        {"remote_port": 8080, "time_wait": 3, "tw_reusable": 3, "blocked_ports": 13,
         "connect_pressure_percent": pct(13)})
    ck.eq("tw_reuse 1: connect pressure", rt["connect_pressure_percent"], pct(13))
    ck.eq("tw_reuse 1: bind pressure unchanged (TIME_WAIT still holds its port)",
          rt["bind_pressure_percent"], tcp["bind_pressure_percent"])
nsutil.write_sysctl("net/ipv4/tcp_tw_reuse", "0")
# ip_autobind_reuse 1: a SO_REUSEADDR bind(0) may share a port once the
# range is full, so TCP bind pressure is only an upper bound.
if os.path.exists("/proc/sys/net/ipv4/ip_autobind_reuse"):
    nsutil.write_sysctl("net/ipv4/ip_autobind_reuse", "1")
    r = nsutil.ephport_json()
    ck.eq("autobind_reuse 1: kernel_settings, bind_exact tcp/udp",
          (r["kernel_settings"]["ip_autobind_reuse"], r["protocols"]["tcp"]["bind_exact"],
           r["protocols"]["udp"]["bind_exact"]), (1, False, True))
    ck.eq("autobind_reuse 1: text says upper bound",
          ", an upper bound (ip_autobind_reuse=1)" in nsutil.ephport().stdout, True)
    nsutil.write_sysctl("net/ipv4/ip_autobind_reuse", "0")

for s in keep:
    s.close()
keep.clear()

# --- Scenario B: one destination near exhaustion --------------------------
LOW, HIGH, RES = 40200, 40299, "40290-40299"
nsutil.setup_namespace(LOW, HIGH, RES)
srv = tcp_listen("127.0.0.1", 8081)
keep.append(srv)
keep += [tcp_connect("127.0.0.1", 8081) for _ in range(85)]
j = nsutil.ephport_json()
tcp = j["protocols"]["tcp"]
ck.eq("B usable", tcp["range"]["usable"], 90)
ck.eq("B worst destination sockets", tcp["worst_destination"]["sockets"], 85)
ck.eq("B worst destination %", tcp["worst_destination_exhaustion_percent"], 94.44)
ck.eq("B exhaustion %", tcp["exhaustion_percent"], 94.44)
ck.eq("B ports_in_use", tcp["ports_in_use"], 85)
ck.eq("B ports_free", tcp["ports_free"], 5)
ck.eq("B sockets_in_range", tcp["sockets_in_range"], 85)
# Bind and connect tie at 85 of 90 (no bind-owned pool port: the listener
# is on 8081): the headline names connect, and where.
ck.eq("B bind pressure", tcp["bind_pressure_percent"], 94.44)
ck.eq("B connect pressure", (tcp["connect_pressure_percent"],
                             tcp["worst_destination"]["blocked_ports"]), (94.44, 85))
ck.eq("B connect new destination", (tcp["connect_new_destination_percent"],
                                    tcp["bind_owned_ports"]), (0.0, 0))
ck.eq("B pressure", tcp["pressure"], {"percent": 94.44, "kind": "connect",
                                      "destination": tcp["worst_destination"]})
ck.eq("B pressure destination", (tcp["pressure"]["destination"]["remote_address"],
                                 tcp["pressure"]["destination"]["remote_port"]),
      ("127.0.0.1", 8081))
text = nsutil.ephport("--protocol", "tcp").stdout.splitlines()
at = next((i for i, t in enumerate(text) if t.startswith("TCP")), 0)
ck.eq("B text headline", text[at:at + 2], [
    "TCP  pressure 94.44% connect to 127.0.0.1:8081 from 127.0.0.1",
    "     range 40200-40299 (100 ports, 10 reserved, 90 usable)"])


def check(*args):
    r = nsutil.ephport("check", "-P", "tcp", *args, check=False)
    return r.returncode, r.stdout


status, line = check()
ck.eq("B check: CRITICAL on connect", (status, line.split(" |")[0]), (
    2, "EPHPORT CRITICAL - tcp connect pressure 94.44% to 127.0.0.1:8081 from "
       "127.0.0.1, a lower bound (bind 94.44%, 85 of 90 ports in use)"))
perf = line.split(" |")[1].split() if " |" in line else []
for want in ("tcp_exhaustion=94.44%;80.00;90.00;0;100", "tcp_pressure=94.44%;80.00;90.00;0;100",
             "tcp_bind_pressure=94.44%;80.00;90.00;0;100",
             "tcp_connect_pressure=94.44%;80.00;90.00;0;100",
             "tcp_connect_new_destination_pressure=0.00%;;;0;100",
             "tcp_bind_owned_ports=0;;;0;90", "tcp_time_wait_reusable=0;;;0",
             "tcp_ports_in_use=85;;;0;90"):
    ck.eq(f"B check perfdata {want}", want in perf, True)
status, line = check("--connect-warning", "95", "--connect-critical", "99")
ck.eq("B check: connect under its own thresholds, bind CRITICAL",
      (status, line.startswith("EPHPORT CRITICAL - tcp bind pressure 94.44%, 85 of 90 ports in use "
                               "(connect 94.44% to 127.0.0.1:8081")), (2, True))
ck.eq("B check: perfdata carries each kind's thresholds",
      ("tcp_connect_pressure=94.44%;95.00;99.00;0;100" in line,
       "tcp_bind_pressure=94.44%;80.00;90.00;0;100" in line), (True, True))
status, line = check("--bind-warning", "95", "--bind-critical", "99",
                     "--connect-warning", "94", "--connect-critical", "99")
ck.eq("B check: WARNING on connect",
      (status, line.startswith("EPHPORT WARNING - tcp connect pressure 94.44%")), (1, True))
status, line = check("-w", "95", "-c", "99")
ck.eq("B check: --warning/--critical are every kind's default", (status, line[:12]),
      (0, "EPHPORT OK -"))
status, line = check("-w", "95", "-c", "99", "--bind-warning", "90",
                     "--bind-critical", "94.44")
ck.eq("B check: CRITICAL at exactly the bind threshold",
      (status, line.startswith("EPHPORT CRITICAL - tcp bind pressure 94.44%")), (2, True))
# Scenario A's closed sockets linger outside this range; ss sees them too.
ck.eq("B sockets_total == ss", tcp["sockets_total"], len(nsutil.ss_sockets("tcp")))
ck.done()
