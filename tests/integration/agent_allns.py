#!/usr/bin/env python3
"""ephportd with `namespaces all` (issue 12), under a real snmpd master.

ephportd runs in a private namespace of its own (range 40000-40099, a few
sockets).  Three `ip netns add` namespaces (named with this test's pid, so
parallel runs do not meet) have ranges, reserved ports and sockets of their
own, one (b) near exhaustion; a fourth is held only by a process
(`unshare -n`: named "pid:N").  Each namespace's sockets are held by a
small Python process inside it.

1. A real snmpwalk of ephNamespaceTable has one row per namespace, named
   as ephNsName promises, with its inode; ephRangeTable has each one's
   numbers exactly as `ephport --json` run inside it gives them, and its
   ports in use are those `ss -tan` / `ss -uan` inside it shows.
2. A real snmptrapd receives ephPressureHigh (bind and connect) naming b,
   with b's index in every instance, and none naming another of ours; the
   agent's log line names b.
3. b is deleted between two collections: its rows leave the walk, no
   collection fails, the others keep their indexes; a namespace made
   afterwards gets a new index, not b's.

The walks of ephNamespaceTable and ephRangeTable are printed.  Namespaces
and holders are removed in finally / atexit, even on failure; the daemons
are stopped by nsutil at exit.  Skips (77) without root, ip, snmpd or
snmptrapd.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402
import snmputil as su  # noqa: E402
from nsholders import (created, holders, json_in, make_named,  # noqa: E402
                       make_pid_held, start_holder, stop_holder, cleanup)

TRAP_PORT = 11162


def skip(why):
    print(f"SKIP: {why}", file=sys.stderr)
    sys.exit(nsutil.SKIP)


def ss_ports_in_pool(prefix, proto, low, high, reserved):
    """Distinct local ports in the pool, from ss run in the namespace."""
    out = subprocess.check_output(prefix + ["ss", "-Htan" if proto == "tcp" else "-Huan"],
                                  text=True)
    res = nsutil.parse_reserved(reserved)
    ports = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 5:
            _, port = nsutil.split_endpoint(f[3])
            if nsutil.in_pool(port, low, high, res):
                ports.add(port)
    return len(ports)


def pct(x):
    """An EphPercent as compared: Net-SNMP shows DISPLAY-HINT "d-2" 0.60
    as ".60"."""
    return f"{float(x):.2f}"


def walk(table):
    return su.values("snmpwalk", table)


def collections():
    return int(su.values("snmpget", "ephCollectionsTotal.0")["ephCollectionsTotal.0"])


def settle(n=2, timeout=60):
    start = collections()
    return su.wait_for(lambda: collections() >= start + n, timeout=timeout)


def names_by_index(nswalk):
    return {k.split(".", 1)[1]: v for k, v in nswalk.items() if k.startswith("ephNsName.")}


def traps():
    if not os.path.exists(traplog):
        return []
    return [line[5:] for line in open(traplog)
            if line.startswith("TRAP ") and "ephPressure" in line]


# --- preconditions -----------------------------------------------------------
if not su.have_tools() or not shutil.which("snmptrapd"):
    skip("snmpd/snmptrapd not installed")
nsutil.enter_private_netns(sys.argv)
for tool in ("ip", "nsenter", "unshare", "ss"):
    if not shutil.which(tool):
        skip(f"{tool} not found")
probe = subprocess.run(["ip", "netns", "add", f"eph-{os.getpid()}-probe"],
                       capture_output=True, text=True)
if probe.returncode != 0:
    skip(f"ip netns add fails here: {probe.stderr.strip()}")
subprocess.run(["ip", "netns", "delete", f"eph-{os.getpid()}-probe"])

ck = nsutil.Checker()
PFX = f"eph-{os.getpid()}"
NS = {  # name: (low, high, reserved, TCP clients, UDP sockets)
    f"{PFX}-a": (41000, 41099, "41010-41014", 10, 2),
    # Near exhaustion: 18 usable, 16 held (88.88 %): bind and connect high.
    f"{PFX}-b": (42000, 42019, "42018-42019", 16, 0),
    f"{PFX}-c": (43000, 43499, "", 3, 1),
}
HELD = (44000, 44049, "44000", 5, 3)
tmp = tempfile.mkdtemp(prefix="ephport-allns-")
traplog = os.path.join(tmp, "traps.log")
try:
    # The agent's own namespace: a range and a few sockets of its own.
    nsutil.setup_namespace(40000, 40099, "")
    start_holder("own", [], 4, 1)
    for name, (lo, hi, res, t, u) in NS.items():
        make_named(name, lo, hi, res, t, u)
    held_pid = make_pid_held(*HELD)
    held = f"pid:{held_pid}"
    prefix = {name: ["ip", "netns", "exec", name] for name in NS}
    prefix[held] = ["nsenter", "-t", str(held_pid), "-n"]
    prefix[""] = []
    spec = dict(NS)
    spec[held] = HELD
    spec[""] = (40000, 40099, "", 4, 1)
    jsons = {name: json_in(p) for name, p in prefix.items()}

    su.start_trapd(tmp, TRAP_PORT)  # logs to traplog, tmp/traps.log
    master = su.Master(tmp)
    with open(master.conf, "a") as f:
        f.write(f"trap2sink 127.0.0.1:{TRAP_PORT} public\n")
    master.start()
    agent = su.Agent(tmp, master, extra="namespaces all\n")
    agent.start()
    ok = su.wait_for(lambda: set(names_by_index(walk("ephNamespaceTable")).values())
                     >= set(prefix), timeout=60)
    ck.eq("every namespace of ours in ephNamespaceTable", ok, True)
    settle()
    # The own namespace now also holds the daemons' sockets (snmpd's
    # autobound trap socket is in its range): read it again.
    jsons[""] = json_in([])

    # --- 1. the walks ----------------------------------------------------------
    nswalk = walk("ephNamespaceTable")
    rwalk = walk("ephRangeTable")
    print("--- snmpwalk ephNamespaceTable")
    print(su.snmp("snmpwalk", "-OQs", "ephNamespaceTable").stdout, end="")
    print("--- snmpwalk ephRangeTable")
    print(su.snmp("snmpwalk", "-OQs", "ephRangeTable").stdout, end="")
    byname = {}
    for idx, name in names_by_index(nswalk).items():
        if name in prefix:
            ck.eq(f"namespace {name!r} named once", name in byname, False)
            byname[name] = idx
    ck.eq("the agent's own namespace is index 1, named \"\"", byname.get(""), "1")
    ck.eq("the process-held namespace is named pid:N", held in byname, True)
    ck.eq("indexes distinct", len(set(byname.values())), len(byname))
    for name in NS:
        ck.eq(f"{name}: ephNsInode is its inode",
              nswalk.get(f"ephNsInode.{byname.get(name)}"),
              str(os.stat(f"/run/netns/{name}").st_ino & 0xffffffff))
    ck.eq(f"{held}: ephNsInode is its inode",
          nswalk.get(f"ephNsInode.{byname.get(held)}"),
          str(os.stat(f"/proc/{held_pid}/ns/net").st_ino & 0xffffffff))
    for name, idx in byname.items():
        label = name or "own"
        lo, hi, res, ntcp, nudp = spec[name]
        for proto, pi in (("tcp", 1), ("udp", 2)):
            p = jsons[name]["protocols"][proto]
            got = {col: rwalk.get(f"ephRange{col}.{idx}.{pi}") for col in (
                "Low", "High", "Size", "Reserved", "Usable", "PortsInUse", "PortsFree",
                "SocketsInRange", "ListenersInRange", "BindPressure", "ConnectPressure",
                "BindOwned", "Destinations")}
            for col in ("BindPressure", "ConnectPressure"):
                got[col] = pct(got[col]) if got[col] is not None else None
            want = {"Low": str(p["range"]["low"]), "High": str(p["range"]["high"]),
                    "Size": str(p["range"]["high"] - p["range"]["low"] + 1),
                    "Reserved": str(p["range"]["reserved"]),
                    "Usable": str(p["range"]["usable"]),
                    "PortsInUse": str(p["ports_in_use"]),
                    "PortsFree": str(p["ports_free"]),
                    "SocketsInRange": str(p["sockets_in_range"]),
                    "ListenersInRange": str(p["listeners_in_range"]),
                    "BindPressure": pct(p["bind_pressure_percent"]),
                    "ConnectPressure": pct(p.get("connect_pressure_percent", 0)),
                    "BindOwned": str(p.get("bind_owned_ports", 0)),
                    "Destinations": str(p["destinations"])}
            ck.eq(f"{label} {proto}: ephRangeTable == ephport --json inside it", got, want)
            ck.eq(f"{label} {proto}: range as configured",
                  (got["Low"], got["High"]), (str(lo), str(hi)))
            ck.eq(f"{label} {proto}: ports in use == ss inside it",
                  got["PortsInUse"], str(ss_ports_in_pool(prefix[name], proto, lo, hi, res)))
            if name:    # the own one also has snmpd's trap socket
                ck.eq(f"{label} {proto}: ports in use == the holder's sockets",
                      got["PortsInUse"], str(ntcp if proto == "tcp" else nudp))
    b = f"{PFX}-b"
    bi = byname.get(b)
    ck.eq("b near exhaustion: 16 of 18, 88.88 %",
          (rwalk.get(f"ephRangePortsInUse.{bi}.1"), rwalk.get(f"ephRangeUsable.{bi}.1"),
           rwalk.get(f"ephRangeBindPressure.{bi}.1")), ("16", "18", "88.88"))
    ck.eq("b's alarms high(2)", (rwalk.get(f"ephRangeBindAlarmState.{bi}.1"),
                                 rwalk.get(f"ephRangeConnectAlarmState.{bi}.1")), ("2", "2"))
    ck.eq("no other namespace of ours high",
          [n for n, i in byname.items() if n != b and "2" in (
              rwalk.get(f"ephRangeBindAlarmState.{i}.1"),
              rwalk.get(f"ephRangeBindAlarmState.{i}.2"),
              rwalk.get(f"ephRangeConnectAlarmState.{i}.1"))], [])

    # --- 2. the notifications ---------------------------------------------------
    su.wait_for(lambda: len([t for t in traps() if f"ephNsName.{bi} = {b}" in t]) >= 2,
                timeout=20)
    time.sleep(1)
    mine = [t for t in traps() if f"ephNsName.{bi} = {b}" in t]
    ck.eq("two ephPressureHigh naming b: bind and connect",
          sorted((("= ephPressureHigh" in t), t.split("ephAlarmKind.0 = ")[1].split()[0])
                 for t in mine), [(True, "bind"), (True, "connect")])
    for t in mine:
        for want in (f"ephRangeBindPressure.{bi}.1 = 88.88", f"ephRangeUsable.{bi}.1 = 18",
                     f"ephRangePortsInUse.{bi}.1 = 16", f"ephRangeLow.{bi}.1 = 42000",
                     f"ephRangeHigh.{bi}.1 = 42019"):
            ck.eq(f"b's trap carries {want}", want in t, True)
    others = {i for n, i in byname.items() if n != b}
    ck.eq("no trap names another namespace of ours",
          [t for t in traps() if any(f"ephNsName.{i} = " in t for i in others)], [])
    log = agent.log_text()
    ck.eq("the agent's log names b",
          sorted(k for k in ("bind", "connect")
                 if f"ephportd: network namespace {b}: tcp ephPressureHigh: {k} pressure 88.88%"
                 in log), ["bind", "connect"])

    # --- 3. b deleted between two collections -----------------------------------
    stop_holder(holders.pop(b))
    subprocess.run(["ip", "netns", "delete", b], check=True)
    created.remove(b)
    ok = su.wait_for(lambda: b not in names_by_index(walk("ephNamespaceTable")).values(),
                     timeout=30)
    ck.eq("b leaves ephNamespaceTable", ok, True)
    settle()
    nswalk2, rwalk2 = walk("ephNamespaceTable"), walk("ephRangeTable")
    ck.eq("no row of b's index in ephNamespaceTable",
          [k for k in nswalk2 if k.split(".")[1] == bi], [])
    ck.eq("no row of b's index in ephRangeTable",
          [k for k in rwalk2 if k.split(".")[1] == bi], [])
    ck.eq("no row of b's index in ephStateTable",
          [k for k in walk("ephStateTable") if k.split(".")[1] == bi], [])
    now = {n: i for i, n in names_by_index(nswalk2).items() if n in prefix}
    ck.eq("the others keep their indexes", now,
          {n: i for n, i in byname.items() if n != b})
    ck.eq("collector status ok(1)", su.values("snmpget", "ephCollectorStatus.0")
          ["ephCollectorStatus.0"], "1")
    ck.eq("no failure logged about our namespaces",
          [ln for ln in agent.log_text().splitlines()
           if "failed" in ln and (PFX in ln or held in ln)], [])
    d = f"{PFX}-d"
    make_named(d, 45000, 45009, "", 1, 0)
    ok = su.wait_for(lambda: d in names_by_index(walk("ephNamespaceTable")).values(),
                     timeout=30)
    di = {n: i for i, n in names_by_index(walk("ephNamespaceTable")).items()}.get(d)
    ck.eq("a new namespace gets a new index, not b's",
          (ok, di not in set(byname.values())), (True, True))
    ck.eq("its range", su.values("snmpget", f"ephRangeUsable.{di}.1")
          .get(f"ephRangeUsable.{di}.1"), "10")
    ck.eq("ephportd stops cleanly", agent.stop(), 0)
    master.stop()
finally:
    cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
ck.eq("our namespaces are deleted",
      [n for n in os.listdir("/run/netns") if n.startswith(PFX)]
      if os.path.isdir("/run/netns") else [], [])
ck.done()
