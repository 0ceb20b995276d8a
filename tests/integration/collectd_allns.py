#!/usr/bin/env python3
"""The collectd plugin reading every network namespace (issue 12).

collectd runs in a private namespace of its own (range 40000-40099, a few
sockets).  Three `ip netns add` namespaces (named with this test's pid, so
parallel runs do not meet) have ranges, reserved ports and sockets of their
own, one near exhaustion; a fourth is held only by a process (`unshare -n`:
named "pid:N").  Each namespace's sockets are held by a small Python
process inside it.

1. `Namespaces "all"`: every value of each of these namespaces, under
   plugin_instance "<netns>-tcp" / "<netns>-udp" (collectd's own keeps
   "tcp" / "udp"), equals what `ephport --json` run inside it
   (`ip netns exec NAME`, `nsenter -t PID -n`) implies, as
   ephport-collectd(5) documents; the one near exhaustion raises its bind
   and connect notifications, naming it in the message and the plugin
   instance, and no other namespace raises any.
2. `Namespace "eph-<pid>-*"` with `NamespaceExclude "eph-<pid>-c"`: only
   a and b report; then b is deleted between two reads: its values stop,
   a's go on, and collectd's log has no ephport line.

Namespaces and holders are removed in finally / atexit, even on failure.
Skips (77) without root, ip, collectd, its csv plugin, or a built plugin.
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collectdutil  # noqa: E402
import nsutil  # noqa: E402
from collectdutil import is_failure_line, tw_recycled  # noqa: E402
from nsholders import (created, holders, json_in, make_named,  # noqa: E402
                       make_pid_held, start_holder, cleanup)


def skip(why):
    print(f"SKIP: {why}", file=sys.stderr)
    sys.exit(nsutil.SKIP)


def ns_id(name):
    """The plugin's plugin_instance prefix (ephport-collectd(5))."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_"
                   for c in name)


def dest_name(d):
    return "dest-{}-{}-{}".format(d["local_address"].replace(":", "_"),
                                  d["remote_address"].replace(":", "_"),
                                  d["remote_port"])


def expected_values(j, ns="", prefix=()):
    """{(plugin_instance, type, type_instance): value} for one interval of
    the default block, from `ephport --json --top 5` run in that
    namespace (ns: its plugin_instance prefix, "" for collectd's own;
    prefix: the command that runs there)."""
    want = {}
    for proto in ("tcp", "udp"):
        p = j["protocols"][proto]
        pinst = f"{ns}-{proto}" if ns else proto

        def put(type_, inst, value):
            want[(pinst, type_, inst)] = float(value)
        for key in ("low", "high"):
            put("gauge", "range_" + key, p["range"][key])
        put("gauge", "usable", p["range"]["usable"])
        put("gauge", "reserved", p["range"]["reserved"])
        put("count", "ports_used", p["ports_in_use"])
        put("count", "ports_free", p["ports_free"])
        put("count", "sockets_in_range", p["sockets_in_range"])
        if proto == "tcp":
            put("count", "time_wait", p["time_wait"])
            put("count", "time_wait_total", p["time_wait_total"])
            # TcpExt TWRecycled (issue 18): the holders' connect()s take
            # over no TIME_WAIT, so it stands still.
            put("derive", "tw_recycled", tw_recycled(prefix))
        put("count", "listeners_in_range", p["listeners_in_range"])
        put("count", "destinations", p["destinations"])
        put("percent", "pressure", p["pressure"]["percent"])
        put("percent", "bind_pressure", p["bind_pressure_percent"])
        if proto == "tcp":
            put("percent", "connect_pressure", p["connect_pressure_percent"])
            put("percent", "connect_new_pressure",
                p["connect_new_destination_percent"])
            put("count", "bind_owned_ports", p["bind_owned_ports"])
            put("count", "time_wait_reusable", p["time_wait_reusable"])
        put("percent", "exhaustion", p["exhaustion_percent"])
        put("percent", "host_exhaustion", p["host_exhaustion_percent"])
        put("percent", "worst_destination_exhaustion",
            p["worst_destination_exhaustion_percent"])
        for st, n in p["states_in_range"].items():
            if proto == "tcp":
                put("tcp_connections", st, n)
            else:
                put("count", "state-" + st, n)
        for d in p["top_destinations"][:5]:
            put("percent", dest_name(d), d["exhaustion_percent"])
            put("count", dest_name(d) + "-sockets", d["sockets"])
            if proto == "tcp":
                put("count", dest_name(d) + "-time_wait", d["time_wait"])
                put("percent", dest_name(d) + "-connect_pressure",
                    d["connect_pressure_percent"])
    return want


class Collectd(collectdutil.SnapshotCollectd):
    """One collectd -f (collectdutil.SnapshotCollectd) with csv and logfile
    (which also records notifications, with timestamps)."""

    def __init__(self, plugin, block, env=None):
        super().__init__(COLLECTD, plugin, block, env=env,
                         prefix="eph-collectd-allns-", logfile="logfile",
                         timestamp=True, stop_timeout=60)

    def wait_intervals(self, n, timeout, pinsts):
        """Until every plugin_instance in pinsts has n values of usable."""
        return super().wait_intervals(
            n, timeout, [(pi, "gauge", "usable") for pi in pinsts])


def check_ns(what, vals, want):
    """The series of want's plugin instances are exactly want's, and their
    newest common interval has want's values."""
    pinsts = {k[0] for k in want}
    mine = {k: s for k, s in vals.items() if k[0] in pinsts}
    ck.eq(f"{what}: {len(want)} identifiers, no other",
          sorted(set(mine) ^ set(want)), [])
    common = set.intersection(*(set(s) for s in mine.values())) if mine else set()
    ck.eq(f"{what}: one timestamp shared by every value", bool(common), True)
    if not common:
        return
    t = max(common, key=float)
    bad = {k: (mine[k].get(t) if k in mine else None, v)
           for k, v in want.items() if k not in mine or
           abs(mine[k].get(t, float("nan")) - v) > 1e-6}
    ck.eq(f"{what}: {len(want)} values == ephport --json in the namespace",
          bad, {})


# --- preconditions -----------------------------------------------------------
nsutil.enter_private_netns(sys.argv)
for tool in ("ip", "nsenter", "unshare"):
    if not shutil.which(tool):
        skip(f"{tool} not found")
COLLECTD, PLUGIN, ENV = collectdutil.require(
    skip, asan_env={"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0"})
probe = subprocess.run(["ip", "netns", "add", f"eph-{os.getpid()}-probe"],
                       capture_output=True, text=True)
if probe.returncode != 0:
    skip(f"ip netns add fails here: {probe.stderr.strip()}")
subprocess.run(["ip", "netns", "delete", f"eph-{os.getpid()}-probe"])

ck = nsutil.Checker()
PFX = f"eph-{os.getpid()}"
NS = {  # name: (low, high, reserved, TCP clients, UDP sockets)
    f"{PFX}-a": (41000, 41099, "41010-41014", 10, 2),
    # Near exhaustion: 18 usable, 16 held (88 %): a bind notification.
    f"{PFX}-b": (42000, 42019, "42018-42019", 16, 0),
    f"{PFX}-c": (43000, 43499, "", 3, 1),
}
try:
    # collectd's own: a range and a few sockets of its own.
    nsutil.setup_namespace(40000, 40099, "")
    start_holder("own", [], 4, 1)
    for name, (lo, hi, res, t, u) in NS.items():
        make_named(name, lo, hi, res, t, u)
    held_pid = make_pid_held(44000, 44049, "44000", 5, 3)

    want = expected_values(json_in([], "--top", "5"))
    jsons = {name: json_in(["ip", "netns", "exec", name], "--top", "5") for name in NS}
    jsons["pid"] = json_in(["nsenter", "-t", str(held_pid), "-n"], "--top", "5")
    for name in NS:
        want.update(expected_values(jsons[name], ns_id(name),
                                    ["ip", "netns", "exec", name]))
    held_name = f"pid:{held_pid}"
    want.update(expected_values(jsons["pid"], ns_id(held_name),
                                ["nsenter", "-t", str(held_pid), "-n"]))
    ck.eq("json: b's range is near exhaustion (16 of 18)",
          (jsons[f"{PFX}-b"]["protocols"]["tcp"]["range"]["usable"],
           jsons[f"{PFX}-b"]["protocols"]["tcp"]["ports_in_use"]), (18, 16))
    ck.eq("json: a's TCP clients", jsons[f"{PFX}-a"]["protocols"]["tcp"]
          ["ports_in_use"], 10)
    ck.eq("json: the held one's UDP sockets",
          jsons["pid"]["protocols"]["udp"]["ports_in_use"], 3)

    # --- 1. Namespaces "all" -------------------------------------------------
    cd = Collectd(PLUGIN, '  Namespaces "all"', env=ENV)
    pinsts = sorted({k[0] for k in want})
    ok = cd.wait_intervals(3, 60, pinsts)
    ck.eq("all: every namespace recorded 3 intervals", ok, True)
    rc = cd.stop()
    ck.eq("all: collectd exited cleanly", rc, 0)
    vals = cd.values()
    check_ns("all: collectd's own (tcp, udp)",
             vals, {k: v for k, v in want.items() if k[0] in ("tcp", "udp")})
    for name in list(NS) + [held_name]:
        check_ns(f"all: {name}", vals,
                 {k: v for k, v in want.items()
                  if k[0].startswith(ns_id(name) + "-")})
    ck.eq("all: the held namespace's instance",
          (f"pid_{held_pid}-tcp", "gauge", "usable") in vals, True)
    lines = cd.log_lines()
    notif = [ln for ln in lines if "Notification:" in ln and "ephport" in ln]
    b_notif = [ln for ln in notif if f"plugin_instance = {PFX}-b-tcp" in ln]
    # 16 of 18 ports held, all 16 connect()ed to 127.0.0.1:8080: bind and
    # connect pressure 88.88 %, each raised once.
    ck.eq("all: b's bind and connect notifications, in its instance",
          sorted(ln[ln.index("Notification:"):].split(", message = ")[0]
                 for ln in b_notif),
          ["Notification: severity = WARNING, host = ephtest, plugin = ephport, "
           f"plugin_instance = {PFX}-b-tcp, type = percent, "
           f"type_instance = {k}_pressure" for k in ("bind", "connect")])
    ck.eq("all: their messages name b first",
          sorted(ln.split(", message = ")[1][:len(PFX) + 55] for ln in b_notif),
          [f"netns {PFX}-b: tcp {k} pressure 88.88% rose to or above "
           f"80.00%"[:len(PFX) + 55] for k in ("bind", "connect")])
    ck.eq("all: no notification for a, c, the held one or our own",
          [ln for ln in notif if any(f"plugin_instance = {pi}" in ln for pi in
                                     ("tcp", "udp", f"{PFX}-a-", f"{PFX}-c-",
                                      f"pid_{held_pid}-"))], [])
    # Other tests' namespaces may come and go meanwhile: only lines about
    # ours (or the plugin as a whole) count.
    ours = [ln for ln in lines if "ephport plugin" in ln and
            not is_failure_line(ln) and
            (PFX in ln or held_name in ln or "network namespace" not in ln)]
    ck.eq("all: no ephport log line about our namespaces", ours, [])
    cd.cleanup()

    # --- 2. a pattern, and a namespace deleted between reads ----------------
    block = f'  Namespace "{PFX}-*"\n  NamespaceExclude "{PFX}-c"'
    cd = Collectd(PLUGIN, block, env=ENV)
    a_b = [f"{PFX}-{x}-{p}" for x in "ab" for p in ("tcp", "udp")]
    ok = cd.wait_intervals(2, 60, a_b)
    ck.eq("pattern: a and b recorded 2 intervals", ok, True)
    ck.eq("pattern: only a and b report",
          sorted({k[0] for k in cd.values()}), sorted(a_b))
    b = f"{PFX}-b"
    holders.pop(b).stdin.close()
    subprocess.run(["ip", "netns", "delete", b], check=True)
    created.remove(b)
    gone_at = time.time()
    n_a = len(cd.values()[(f"{PFX}-a-tcp", "gauge", "usable")])
    ok = cd.wait_intervals(n_a + 3, 60, [f"{PFX}-a-tcp"])
    ck.eq("pattern: a goes on after b is deleted", ok, True)
    rc = cd.stop()
    ck.eq("pattern: collectd exited cleanly", rc, 0)
    vals = cd.values()
    last_b = max(float(t) for t in vals[(f"{b}-tcp", "gauge", "usable")])
    # A read under way when b went may still report it: one interval.
    ck.eq("pattern: b's values stop once it is deleted",
          last_b <= gone_at + 1.5, True)
    ck.eq("pattern: still only a and b",
          sorted({k[0] for k in vals}), sorted(a_b))
    check_ns("pattern: a after b went", vals,
             {k: v for k, v in want.items() if k[0].startswith(f"{PFX}-a-")})
    ck.eq("pattern: no ephport line in collectd's log",
          [ln for ln in cd.log_lines()
           if "ephport plugin" in ln and "Notification:" not in ln
           and not is_failure_line(ln)], [])
    cd.cleanup()
finally:
    cleanup()
ck.eq("our namespaces are deleted",
      [n for n in os.listdir("/run/netns") if n.startswith(PFX)]
      if os.path.isdir("/run/netns") else [], [])
ck.done()
