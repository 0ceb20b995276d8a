#!/usr/bin/env python3
"""`ephport` against real sockets in a private network namespace.

Scenario A: range 40000-40099 with 40010-40014 and 40050 reserved
(usable 94) and a known mix of sockets; every number of the model is
asserted, and cross-checked with `ss` on the same namespace.
Scenario B: range 40200-40299 with 40290-40299 reserved (usable 90) and
one destination with 85 sockets: near exhaustion.
"""
import os
import sys

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
            "states_in_range", "states_total", "exhaustion_percent"):
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
text = nsutil.ephport().stdout
ck.eq("text shows the listener", "listeners in range: 1 (0.0.0.0:40020)" in text, True)
ck.eq("text shows the range", "range 40000-40099 (100 ports, 6 reserved, 94 usable)" in text, True)

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
# Scenario A's closed sockets linger outside this range; ss sees them too.
ck.eq("B sockets_total == ss", tcp["sockets_total"], len(nsutil.ss_sockets("tcp")))
ck.done()
