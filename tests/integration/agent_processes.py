#!/usr/bin/env python3
"""Who holds the ports, through ephportd (issue 18): ephProcessTable and
the ephNsProcesses... columns, under a real snmpd master.

In a fresh network namespace with range 40000-40199, two child processes
hold 30 and 70 pool ports (TCP connections to a listener outside the
range; the first has 10 of them dup()ed, counted once; the second holds 4
connected UDP sockets too) and three TIME_WAIT sockets belong to nobody
(holdutil.Holders).

- processes yes (the /proc source: EPHPORT_BPF_PIN names an empty
  directory): snmpwalk of ephProcessTable lists both pids with exactly 30
  and 70 TCP ports, their sockets, the UDP ones, comm as /proc says,
  the worst destination 127.0.0.1:8080, ranks 1 and 2, and agrees with
  `ss -tanp`; ephNsProcesses 2, ephNsSocketsUnattributed 3 (the
  TIME_WAIT), ephNsProcessesDenied 0, ephNsProcessesSource procfs(1),
  an empty ephNsProcessesReason; processesTop 1 keeps the top one only,
  the totals stay;
- namespaces self PATTERN: a namespace made with `ip netns add`, where a
  child holds 12 ports, has its own rows (eph_holders_collect_in);
- processes no (the default): ephNsProcessesEnabled false(2), the table
  empty, no count instance, the reason says so;
- with ephport-bpf's pins (failutil.bpf_load; EPHPORT_BPF_PIN):
  ephNsProcessesSource bpf(2) and the same numbers; with DIR/holders
  removed and `source bpf` the holders cannot be collected: the table is
  empty with the reason, logged once, and the namespace's other numbers
  are served (ephCollectorStatus ok(1), its range rows).

Exits 77 only without root, netns or the snmp tools; when ephport-bpf is
not built or does not load, the BPF part is reported SKIPPED and the test
exits 77 even when the rest passed: a part that did not run never passes.
"""
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import failutil  # noqa: E402
import holdutil  # noqa: E402
import nsutil  # noqa: E402
import snmputil as su  # noqa: E402
from holdutil import LISTEN_PORT  # noqa: E402

if os.geteuid() != 0:
    print("SKIP: needs root (unshare -n, ip_local_port_range)")
    sys.exit(nsutil.SKIP)
if not su.have_tools():
    print("SKIP: snmpd/snmpwalk not installed")
    sys.exit(nsutil.SKIP)
for tool in ("ss", "unshare", "ip"):
    if not shutil.which(tool):
        print(f"SKIP: {tool} not found")
        sys.exit(nsutil.SKIP)
nsutil.enter_private_netns(sys.argv)
ck = nsutil.Checker()

LOW, HIGH, RESERVED = 40000, 40199, "40190-40199"
nsutil.setup_namespace(LOW, HIGH, RESERVED)


def comm_of(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


# {name: value}, numeric enumerations, hex strings as such; a missing
# instance is None.  walk(table): a table's rows.
get = functools.partial(su.get, output="-OQsbeUx")
walk = functools.partial(su.rows, output="-OQsbeUx")


def ss_holders():
    return holdutil.ss_holders(LOW, HIGH, reserved)


def table_rows(w, ns=1):
    """{pid: {column: value}} of namespace ns from a walk."""
    rows = {}
    for k, v in w.items():
        m = re.match(r"ephProcess(\w+)\.(\d+)\.(\d+)$", k)
        if m and int(m.group(2)) == ns:
            rows.setdefault(int(m.group(3)), {})[m.group(1)] = v
    return rows


def wait_collected(ns=1, source=None):
    def ready():
        g = get(f"ephNsProcesses.{ns}", f"ephNsProcessesSource.{ns}")
        return g.get(f"ephNsProcesses.{ns}") is not None and (
            source is None or g.get(f"ephNsProcessesSource.{ns}") == source)
    return su.wait_for(ready, timeout=20)


def check_table(label, source, unattributed=True):
    ck.eq(f"{label}: collected, source {source}", wait_collected(source=source), True)
    w = walk("ephProcessTable")
    print("\n".join(f"  {k} = {v}" for k, v in sorted(w.items())))
    rows = table_rows(w)
    ck.eq(f"{label}: the table's pids", sorted(rows), sorted([a.pid, b.pid]))
    for child, n, dups, udp, rank in ((a, 30, 10, 0, "2"), (b, 70, 0, 4, "1")):
        r = rows.get(child.pid, {})
        ck.eq(f"{label}: pid {child.pid} TcpPorts", r.get("TcpPorts"), str(n))
        ck.eq(f"{label}: pid {child.pid} TcpSockets (dup()s once)", r.get("TcpSockets"), str(n))
        ck.eq(f"{label}: pid {child.pid} UdpPorts", r.get("UdpPorts"), str(udp))
        ck.eq(f"{label}: pid {child.pid} UdpSockets", r.get("UdpSockets"), str(udp))
        ck.eq(f"{label}: pid {child.pid} Comm", (r.get("Comm"), comm_of(child.pid)),
              (f"eph-hold{n}", f"eph-hold{n}"))
        ck.eq(f"{label}: pid {child.pid} Rank", r.get("Rank"), rank)
        ck.eq(f"{label}: pid {child.pid} worst destination",
              (r.get("WorstDestAddrType"), (r.get("WorstDestAddr") or "").replace(" ", ""),
               r.get("WorstDestPort"), r.get("WorstDestSockets")),
              ("1", "7F000001", str(LISTEN_PORT), str(n)))
        ck.eq(f"{label}: pid {child.pid} Cgroup is a path",
              (r.get("Cgroup") or "").startswith("/"), True)
    ss = ss_holders()
    ck.eq(f"{label}: agrees with ss -tanp",
          {pid: int(r.get("TcpPorts", -1)) for pid, r in rows.items()},
          {pid: len(ports) for pid, ports in ss.items()})
    g = get("ephNsProcessesEnabled.1", "ephNsProcessesSource.1", "ephNsProcesses.1",
            "ephNsProcessesDenied.1", "ephNsSocketsUnattributed.1", "ephNsProcessesReason.1")
    ck.eq(f"{label}: enabled, source, processes, denied, reason",
          (g["ephNsProcessesEnabled.1"], g["ephNsProcessesSource.1"], g["ephNsProcesses.1"],
           g["ephNsProcessesDenied.1"], g["ephNsProcessesReason.1"]),
          ("1", source, "2", "0", ""))
    if unattributed:
        ck.eq(f"{label}: unattributed (the TIME_WAIT)", g["ephNsSocketsUnattributed.1"], "3")


def with_agent(name, extra, env, fn):
    agent = su.Agent(tmp, master, extra=extra, env=env, name=name)
    agent.start()
    try:
        ck.eq(f"{name}: ephportd serves ok(1)", su.wait_for(
            lambda: get("ephCollectorStatus.0")["ephCollectorStatus.0"] == "1"), True)
        fn(agent)
    finally:
        ck.eq(f"{name} exits 0", agent.stop(), 0)


def procfs_part(agent):
    check_table("procfs", "1")
    # processesTop 1: the top one only, the totals stay.
    agent.write_conf("processes yes\nprocessesTop 1")
    agent.proc.send_signal(1)  # SIGHUP: reload
    ck.eq("processesTop 1: only the top one", su.wait_for(
        lambda: sorted(table_rows(walk("ephProcessTable"))) == [b.pid]), True)
    ck.eq("processesTop 1: ephNsProcesses still 2", get("ephNsProcesses.1")["ephNsProcesses.1"],
          "2")
    agent.write_conf("processes yes")
    agent.proc.send_signal(1)
    odd_names_part()


def odd_names_part():
    """A comm and a cgroup path that are not ASCII (holdutil.OddChild):
    ephProcessComm and ephProcessCgroup are DisplayStrings (NVT ASCII),
    each byte outside 0x20-0x7e served as '?'."""
    odd = holdutil.OddChild(5)
    try:
        ck.eq("odd names: the child is listed", su.wait_for(
            lambda: get(f"ephProcessComm.1.{odd.pid}")[f"ephProcessComm.1.{odd.pid}"]
            is not None), True)
        # Without -Ox (which prints a non-printable string as hex): the
        # characters a manager shows.
        r = su.snmp("snmpget", "-OQsbeU", f"ephProcessComm.1.{odd.pid}",
                    f"ephProcessCgroup.1.{odd.pid}", f"ephProcessUdpPorts.1.{odd.pid}",
                    check=False)
        print(r.stdout)
        g = {k.strip(): v.strip() for k, v in
             (line.split(" = ", 1) for line in r.stdout.splitlines() if " = " in line)}
        ck.eq("odd names: ephProcessComm", g.get(f"ephProcessComm.1.{odd.pid}"),
              'ab?"\\' + "?" * 10)
        if odd.cgroup_dir:
            ck.eq("odd names: ephProcessCgroup", g.get(f"ephProcessCgroup.1.{odd.pid}"),
                  '/eph-?"\\' + "?" * 6 + f"-{os.getpid()}")
        ck.eq("odd names: ephProcessUdpPorts", g.get(f"ephProcessUdpPorts.1.{odd.pid}"), "5")
    finally:
        odd.close()


def other_namespace_part(agent):
    i = [k.split(".")[1] for k, v in walk("ephNsName").items() if v == other]
    ck.eq(f"{other} has a row", len(i), 1)
    if not i:
        return
    i = int(i[0])
    ck.eq(f"{other}: collected", wait_collected(ns=i), True)
    rows = table_rows(walk("ephProcessTable"), ns=i)
    ck.eq(f"{other}: its holder, 12 ports",
          {p: r.get("TcpPorts") for p, r in rows.items()}, {nschild.pid: "12"})
    ck.eq(f"{other}: ephNsProcesses", get(f"ephNsProcesses.{i}")[f"ephNsProcesses.{i}"], "1")
    ck.eq("the own namespace still has both children",
          sorted(table_rows(walk("ephProcessTable"))), sorted([a.pid, b.pid]))


def off_part(agent):
    time.sleep(2.5)  # two collections
    g = get("ephNsProcessesEnabled.1", "ephNsProcessesReason.1", "ephNsProcesses.1",
            "ephNsProcessesSource.1", "ephNsSocketsUnattributed.1")
    ck.eq("processes no: ephNsProcessesEnabled false(2)", g["ephNsProcessesEnabled.1"], "2")
    ck.eq("processes no: the reason says so", "processes no" in (g["ephNsProcessesReason.1"] or ""),
          True)
    ck.eq("processes no: no count instance (no invented zeros)",
          (g["ephNsProcesses.1"], g["ephNsProcessesSource.1"], g["ephNsSocketsUnattributed.1"]),
          (None, None, None))
    ck.eq("processes no: ephProcessTable empty", walk("ephProcessTable"), {})


def broken_part(agent):
    ck.eq("holders not collectable: the reason is served", su.wait_for(
        lambda: (get("ephNsProcessesReason.1")["ephNsProcessesReason.1"] or "") != ""), True)
    reason = get("ephNsProcessesReason.1")["ephNsProcessesReason.1"]
    print(f"reason: {reason}")
    time.sleep(2.5)
    ck.eq("holders not collectable: table empty", walk("ephProcessTable"), {})
    ck.eq("holders not collectable: no count instance",
          get("ephNsProcesses.1")["ephNsProcesses.1"], None)
    g = get("ephCollectorStatus.0", "ephRangeUsable.1.1", "ephRangeSocketSource.1.1")
    ck.eq("holders not collectable: the other numbers are served (status, usable, source bpf)",
          (g["ephCollectorStatus.0"], g["ephRangeUsable.1.1"], g["ephRangeSocketSource.1.1"]),
          ("1", str(HIGH - LOW + 1 - 10), "4"))
    ck.eq("holders not collectable: logged once",
          agent.log_text().count("who holds the ports:"), 1)


tmp = tempfile.mkdtemp(prefix="ephport-proc-agent-")
reserved = nsutil.parse_reserved(RESERVED)
held = holdutil.Holders(comm=True)
a, b = held.a, held.b
master = su.Master(tmp)
master.start()
empty = tempfile.mkdtemp(prefix="ephport-nopins-", dir=tmp)
other = f"eph-proc-{os.getpid()}"
nschild = None
skipped = None
try:
    with_agent("ephportd-procfs", "processes yes", {"EPHPORT_BPF_PIN": empty}, procfs_part)
    with_agent("ephportd-off", "", {"EPHPORT_BPF_PIN": empty}, off_part)

    if holdutil.add_netns(other):
        ck.eq("ip netns add", False, True)
    else:
        nschild = holdutil.start_in(other, 12)
        ck.eq("child in the other namespace", nschild.stdout.readline().strip(), "ready")
        with_agent("ephportd-ns", f"processes yes\nnamespaces self {other}",
                   {"EPHPORT_BPF_PIN": empty}, other_namespace_part)

    pins, skipped = failutil.bpf_try_load()
    if pins and not os.path.exists(os.path.join(pins, "holders")):
        skipped = "ephport-bpf loaded without DIR/holders"
    if pins:
        try:
            if not skipped:
                # The TIME_WAIT may be gone by now (60 s): not compared.
                with_agent("ephportd-bpf", "processes yes", {"EPHPORT_BPF_PIN": pins},
                           lambda agent: check_table("bpf", "2", unattributed=False))
                os.unlink(os.path.join(pins, "holders"))
                with_agent("ephportd-broken", "processes yes\nsource bpf",
                           {"EPHPORT_BPF_PIN": pins}, broken_part)
        finally:
            failutil.bpf_unload(pins)
    if skipped:
        print(f"SKIP the BPF part: {skipped}")
finally:
    if nschild:
        nschild.stdin.close()
        nschild.wait(10)
    subprocess.run(["ip", "netns", "delete", other], capture_output=True)
    held.release()
    master.stop()
    nsutil.stop_spawned()
    held.close()
if skipped:
    print(f"{ck.checks - ck.failures} passed, {ck.failures} failed; the BPF part SKIPPED: {skipped}")
    sys.exit(1 if ck.failures else nsutil.SKIP)
ck.done()
