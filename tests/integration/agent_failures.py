#!/usr/bin/env python3
"""Allocation failures through ephportd, end to end (issue 18).

In a fresh network namespace, with the BPF failure counters loaded on a
private bpf filesystem (failutil.bpf_load), a real snmpd master, a real
snmptrapd and ephportd (EPHPORT_BPF_PIN naming the pins):

- before anything fails every kind is observable with a count of 0 (a
  zero that was measured), and ephNsTcpTwRecycled is served;
- failutil.hit_the_wall fills a 10-port range and makes exactly K
  failing connect()s, K2 failing bind(0)s and K3 failing UDP autobinds,
  plus calls that succeed: snmpget and snmpwalk show exactly those
  counts, ephFailDestTable names 127.0.0.1:5000 for connect (and the UDP
  destination for autobind), ephFailProcTable names this test's pid and
  comm, the "other" buckets are 0 but bind's (bind() has no destination);
- snmptrapd receives ephPortAllocationFailed for each kind, whose new
  failures add up to the counts, naming the kind, the destination and
  the process; at most one per namespace and kind per interval;
- a second round moves every counter by exactly its failures, successful
  calls move nothing, and sends no trap for a kind that did not fail;
- ephport-bpf unload + load (fresh maps): the discontinuity time moves
  on, the counts restart from 0, and new failures are notified again;
- with `namespaces all`, a namespace a child process holds has its own
  rows, counts and ephPortAllocationFailed (naming it), and the agent's own
  namespace does not move.

Then without BPF (the pin directory empty): ephFailureObservable is
false(2), no count instance exists (noSuchInstance), the reason says "not
observable without the BPF source", the alarm is off(3), the destination
and process tables are empty, ephNsTcpTwRecycled is still served, and no
trap is sent for failures nobody can count.

When ephport-bpf is not built or cannot load, the BPF part is reported
SKIPPED and the test exits 77 even when the part without BPF passed: a
skipped part is never reported as a pass.
"""
import functools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import failutil  # noqa: E402
import nsutil  # noqa: E402
import snmputil as su  # noqa: E402

if not su.have_tools() or not shutil.which("snmptrapd"):
    print("SKIP: snmpd/snmptrapd not installed")
    sys.exit(nsutil.SKIP)
nsutil.enter_private_netns(sys.argv)
ck = nsutil.Checker()
K, K2, K3 = 3, 2, 4             # the first round: connect, bind, autobind
R, R2, R3 = 2, 0, 3             # the second (no bind failure: no bind trap)
KINDS = ("connect", "bind", "autobind")      # ephFailureKind 1, 2, 3
TRAP_PORT, TRAP_SRC = 11162, 11163
DEST = "1.4.127.0.0.1.5000"     # ephFailDestTable index: ipv4(1), 4 bytes, port
UDP_DEST = "1.4.127.0.0.1.9999"
ME = os.getpid()
with open("/proc/self/comm") as f:
    COMM = f.read().strip()

tmp = tempfile.mkdtemp(prefix="ephport-fail-agent-")
subprocess.check_call(["ip", "link", "set", "lo", "up"])
trapd, traplog = su.start_trapd(tmp, TRAP_PORT, "-OQsbUt")
master = su.Master(tmp)
with open(master.conf, "a") as f:
    f.write(f"trap2sink 127.0.0.1:{TRAP_PORT} public\n"
            # snmpd sends notifications from this port, not an autobound
            # one: with the UDP range full its autobind would fail, and
            # be counted.
            f"[snmp] clientaddr 127.0.0.1:{TRAP_SRC}\n"
            "[snmp] clientaddrUsesPort yes\n")
master.start()


# {name: value} of an snmpget (or walk), numeric TimeTicks and
# enumerations; a missing instance is None.  rows(table): a table's rows.
get = functools.partial(su.get, output="-OQsbeUt")
rows = functools.partial(su.rows, output="-OQsbeUt")


def counts():
    return [get(f"ephFailureCount.1.{k}").get(f"ephFailureCount.1.{k}") for k in (1, 2, 3)]


def traps():
    """ephPortAllocationFailed as {varbind: value} dicts, oldest first."""
    if not os.path.exists(traplog):
        return []
    out = []
    for line in open(traplog, errors="replace"):
        if not line.startswith("TRAP ") or "ephPortAllocationFailed" not in line:
            continue
        vb = dict((m.group(1), m.group(2).strip().strip('"'))
                  for m in re.finditer(r"(\S+) = (.*?)(?=\t\S+ = |$)", line[5:].rstrip("\n")))
        out.append(vb)
    return out


def traps_of(kind, since=0):
    return [t for t in traps()[since:] if t.get("ephFailureEventKind.0") == kind]


def bpf_part(pins):
    agent = su.Agent(tmp, master, env={"EPHPORT_BPF_PIN": pins})
    t_agent = time.time()
    agent.start()
    try:
        ck.eq("ephportd serves ok(1)", su.wait_for(
            lambda: get("ephCollectorStatus.0")["ephCollectorStatus.0"] == "1"), True)
        # Observable, and measured: 0 of each kind before the wall.
        ck.eq("observable before the wall, every kind", su.wait_for(
            lambda: [get(f"ephFailureObservable.1.{k}")[f"ephFailureObservable.1.{k}"]
                     for k in (1, 2, 3)] == ["1", "1", "1"]), True)
        ck.eq("counts 0 before the wall (measured)", counts(), ["0", "0", "0"])
        before = get("ephFailureReason.1.1", "ephFailureAlarmState.1.1",
                     "ephFailureLastAge.1.1", "ephNsTcpTwRecycled.1",
                     "ephFailureDiscontinuityTime.1.1")
        ck.eq("no reason when observable, alarm normal(1), no last failure",
              (before["ephFailureReason.1.1"], before["ephFailureAlarmState.1.1"],
               before["ephFailureLastAge.1.1"]), ("", "1", None))
        ck.eq("ephNsTcpTwRecycled served (a counter)",
              (before.get("ephNsTcpTwRecycled.1") or "x").isdigit(), True)
        disc0 = int(before["ephFailureDiscontinuityTime.1.1"] or -1)
        ck.eq(f"discontinuity time {disc0}: when the row appeared (after the agent started)",
              disc0 > 0, True)

        wall = failutil.hit_the_wall(K, K2, K3)
        try:
            ck.eq(f"counts {K} {K2} {K3} after the wall", su.wait_for(
                lambda: counts() == [str(K), str(K2), str(K3)], timeout=10),
                True)
            walk = get("ephFailureTable", tool="snmpwalk")
            walk.update(get("ephFailDestTable", tool="snmpwalk"))
            walk.update(get("ephFailProcTable", tool="snmpwalk"))
            for k, n in zip((1, 2, 3), (K, K2, K3)):
                ck.eq(f"walk: ephFailureCount.1.{k} ({KINDS[k - 1]})",
                      walk.get(f"ephFailureCount.1.{k}"), str(n))
                ck.eq(f"walk: ephFailureObservable.1.{k}", walk.get(f"ephFailureObservable.1.{k}"), "1")
                ck.eq(f"walk: ephFailureOtherProc.1.{k} (all by this test)",
                      walk.get(f"ephFailureOtherProc.1.{k}"), "0")
                ck.eq(f"walk: ephFailureLastAge.1.{k} recent",
                      int(walk.get(f"ephFailureLastAge.1.{k}", "999")) <= 10, True)
                ck.eq(f"walk: ephFailureDiscontinuityTime.1.{k} unchanged",
                      walk.get(f"ephFailureDiscontinuityTime.1.{k}"), str(disc0))
            ck.eq("other destinations: connect 0, bind all (no destination), autobind 0",
                  [walk.get(f"ephFailureOtherDest.1.{k}") for k in (1, 2, 3)],
                  ["0", str(K2), "0"])
            ck.eq("ephFailDestTable names 127.0.0.1:5000 for connect",
                  walk.get(f"ephFailDestCount.1.1.{DEST}"), str(K))
            ck.eq("ephFailDestTable names 127.0.0.1:9999 for autobind",
                  walk.get(f"ephFailDestCount.1.3.{UDP_DEST}"), str(K3))
            ck.eq("destination rows: those two, ranked",
                  sorted((k, v) for k, v in walk.items() if k.startswith("ephFailDestRank.")),
                  sorted([(f"ephFailDestRank.1.1.{DEST}", "2"),
                          (f"ephFailDestRank.1.3.{UDP_DEST}", "1")]))
            for k, n in zip((1, 2, 3), (K, K2, K3)):
                ck.eq(f"ephFailProcTable: pid {ME} {KINDS[k - 1]} count",
                      walk.get(f"ephFailProcCount.1.{k}.{ME}"), str(n))
                ck.eq(f"ephFailProcTable: pid {ME} comm", walk.get(f"ephFailProcComm.1.{k}.{ME}"), COMM)
            ck.eq("ephFailProcTable: only this test",
                  {k.rsplit(".", 1)[1] for k in walk if k.startswith("ephFailProcCount.")}, {str(ME)})
            ck.eq("ephFailProcCgroup: this test's cgroup",
                  walk.get(f"ephFailProcCgroup.1.1.{ME}"),
                  open("/proc/self/cgroup").read().strip().split("::", 1)[-1][-127:])
            # Each row's count began at its first failure: after the
            # namespace's discontinuity time (its rows appeared before the
            # wall), and no later than now.
            row_disc = {name: int(walk.get(name) or -1) for name in
                        (f"ephFailDestDiscontinuityTime.1.1.{DEST}",
                         f"ephFailProcDiscontinuityTime.1.1.{ME}")}
            span = (time.time() - t_agent) * 100 + 50
            ck.eq(f"row discontinuity times {row_disc}: after {disc0}, within {span:.0f} of it",
                  [disc0 < v <= disc0 + span for v in row_disc.values()], [True, True])
            r = su.snmp("snmpget", "-OQs", f"ephFailDestRank.1.1.{DEST}", "ephFailureAlarmState.1.1")
            print(r.stdout.strip())
            # The traps: per kind, new failures adding up to the count, the
            # last carrying it; the destination and process named.
            ck.eq("ephPortAllocationFailed for every kind", su.wait_for(
                lambda: all(sum(int(t.get("ephFailureEventNew.0", "0")) for t in traps_of(k)) == n
                            for k, n in zip(KINDS, (K, K2, K3))), timeout=10), True)
            for k, n in zip(KINDS, (K, K2, K3)):
                ts = traps_of(k)
                last = ts[-1] if ts else {}
                i = KINDS.index(k) + 1
                print(f"trap {k}: {last}")
                ck.eq(f"{k} trap: ephNsName, count, pid, comm",
                      (last.get("ephNsName.1"), last.get(f"ephFailureCount.1.{i}"),
                       last.get("ephFailureEventPid.0"), last.get("ephFailureEventComm.0")),
                      ("", str(n), str(ME), COMM))
                want_dest = {"connect": ("ipv4", "5000"), "bind": ("unknown", "0"),
                             "autobind": ("ipv4", "9999")}[k]
                ck.eq(f"{k} trap: destination", (last.get("ephFailureEventDestAddrType.0"),
                                                 last.get("ephFailureEventDestPort.0")), want_dest)
                addr = last.get("ephFailureEventDestAddr.0", "?").replace(" ", "").lower()
                ck.eq(f"{k} trap: address {addr}", addr,
                      "" if k == "bind" else "7f000001")
                ups = [int(t.get("sysUpTimeInstance", t.get("sysUpTime.0", "0")).split()[0])
                       for t in ts]
                ck.eq(f"{k} traps at most one per interval (sysUpTime {ups})",
                      all(b - a >= 90 for a, b in zip(ups, ups[1:])), True)
            ck.eq("the alarm back to normal(1) after a collection without failures", su.wait_for(
                lambda: get("ephFailureAlarmState.1.1")["ephFailureAlarmState.1.1"] == "1",
                timeout=10), True)
            ck.eq("the agent logs it",
                  f"ephPortAllocationFailed: connect() failed {K} times ({K} new) for want of an "
                  f"ephemeral port, most to 127.0.0.1:5000, most by pid {ME} ({COMM})"
                  in agent.log_text(), True)

            # Round two: exactly R, R2, R3 more; successful calls count nothing.
            n_traps = len(traps())
            failutil.fail_connects(R)
            failutil.fail_autobinds(R3)
            wall.held.extend(failutil.succeed_without_pool())
            want = [str(K + R), str(K2 + R2), str(K3 + R3)]
            ck.eq(f"second round: counts {want}", su.wait_for(lambda: counts() == want,
                                                              timeout=10), True)
            ck.eq("second round: traps for connect and autobind, none for bind", su.wait_for(
                lambda: (sum(int(t.get("ephFailureEventNew.0", "0")) for t in traps_of("connect", n_traps)),
                         sum(int(t.get("ephFailureEventNew.0", "0")) for t in traps_of("autobind", n_traps)))
                == (R, R3), timeout=10), True)
            ck.eq("no bind trap in the second round", traps_of("bind", n_traps), [])
            ck.eq("second round: connect destination count",
                  get(f"ephFailDestCount.1.1.{DEST}")[f"ephFailDestCount.1.1.{DEST}"], str(K + R))
            ck.eq("second round: the rows' discontinuity times unchanged (the same entries)",
                  {n: int(get(n)[n] or -1) for n in row_disc}, row_disc)
            # Calls that succeed: a connect() to another destination, a
            # bind() outside the range, a UDP send from a bound socket.
            n_traps = len(traps())
            wall.held.extend(failutil.succeed_without_pool())
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", 5002))
            u.sendto(b"x", ("127.0.0.1", 9999))
            wall.held.append(u)
            time.sleep(2.5)     # two collections
            ck.eq("successful calls move nothing", counts(), want)
            ck.eq("and send no trap", traps()[n_traps:], [])

            # ephport-bpf loaded again with fresh maps: a discontinuity.
            exe = os.environ["EPHPORT_BPF"]
            subprocess.check_call([exe, "unload", "-d", pins], stdout=subprocess.DEVNULL)
            subprocess.check_call([exe, "load", "-d", pins], stdout=subprocess.DEVNULL)
            ck.eq("fresh maps: the counts restart from 0", su.wait_for(
                lambda: counts() == ["0", "0", "0"], timeout=10), True)
            disc1 = int(get("ephFailureDiscontinuityTime.1.1")["ephFailureDiscontinuityTime.1.1"])
            ck.eq(f"discontinuity time moved on ({disc0} -> {disc1})", disc1 > disc0, True)
            ck.eq("the destination and process rows are gone with them",
                  rows("ephFailDestTable"), {})
            n_traps = len(traps())
            failutil.fail_connects(1)
            ck.eq("a failure after the reload is notified", su.wait_for(
                lambda: [t.get("ephFailureCount.1.1") for t in traps_of("connect", n_traps)]
                == ["1"], timeout=10), True)
            n = f"ephFailDestDiscontinuityTime.1.1.{DEST}"
            d2 = int(get(n)[n] or -1)
            ck.eq(f"its row began after the reload ({disc1} < {d2})", d2 > disc1, True)
        finally:
            wall.close()
    finally:
        ck.eq("ephportd exits 0", agent.stop(), 0)
    other_namespace(pins)


CHILD = f"""
import sys
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
import failutil
sys.stdin.readline()
w = failutil.hit_the_wall(2, 1, 1)
print("hit", flush=True)
sys.stdin.readline()
"""


def other_namespace(pins):
    """namespaces all: the failures of a namespace a process holds are that
    namespace's rows, and its notification names it."""
    agent = su.Agent(tmp, master, extra="namespaces all\n", env={"EPHPORT_BPF_PIN": pins},
                     name="ephportd-all")
    agent.start()
    child = nsutil.spawn(["unshare", "-n", sys.executable, "-c", CHILD],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    name = f"pid:{child.pid}"
    try:
        def index():
            ns = get("ephNsName", tool="snmpwalk")
            return next((k.split(".")[1] for k, v in ns.items() if v == name), None)
        ck.eq(f"namespaces all: {name} listed", su.wait_for(lambda: index() is not None,
                                                           timeout=20), True)
        i = index()
        ck.eq(f"{name}: observable, 0 before its wall", su.wait_for(
            lambda: [get(f"ephFailureCount.{i}.{k}").get(f"ephFailureCount.{i}.{k}")
                     for k in (1, 2, 3)] == ["0", "0", "0"]), True)
        own = counts()
        n_traps = len(traps())
        child.stdin.write("go\n")
        child.stdin.flush()
        ck.eq("the child hit its wall", child.stdout.readline().strip(), "hit")
        ck.eq(f"{name}: its counts 2 1 1", su.wait_for(
            lambda: [get(f"ephFailureCount.{i}.{k}").get(f"ephFailureCount.{i}.{k}")
                     for k in (1, 2, 3)] == ["2", "1", "1"], timeout=10), True)
        ck.eq(f"{name}: its process table names the child",
              get(f"ephFailProcCount.{i}.1.{child.pid}").get(f"ephFailProcCount.{i}.1.{child.pid}"),
              "2")
        ck.eq("the own namespace's counts did not move", counts(), own)
        ck.eq(f"ephPortAllocationFailed names {name}", su.wait_for(
            lambda: sorted(t.get("ephFailureEventKind.0") for t in traps()[n_traps:]
                           if t.get(f"ephNsName.{i}") == name)
            == ["autobind", "bind", "connect"], timeout=10), True)
        ck.eq("the agent logs the namespace",
              f"network namespace {name}: ephPortAllocationFailed: connect() failed 2 times"
              in agent.log_text(),
              True)
    finally:
        child.stdin.close()
        child.wait(10)
        ck.eq("ephportd (namespaces all) exits 0", agent.stop(), 0)


def no_bpf_part():
    empty = tempfile.mkdtemp(prefix="ephport-nopins-", dir=tmp)
    agent = su.Agent(tmp, master, env={"EPHPORT_BPF_PIN": empty}, name="ephportd-nobpf")
    agent.start()
    try:
        ck.eq("without BPF: ephportd serves ok(1)", su.wait_for(
            lambda: get("ephCollectorStatus.0")["ephCollectorStatus.0"] == "1"), True)
        walk = get("ephFailureTable", tool="snmpwalk")
        ck.eq("without BPF: ephFailureObservable false(2) for every kind",
              [walk.get(f"ephFailureObservable.1.{k}") for k in (1, 2, 3)], ["2", "2", "2"])
        ck.eq("without BPF: the alarm is off(3)",
              [walk.get(f"ephFailureAlarmState.1.{k}") for k in (1, 2, 3)], ["3", "3", "3"])
        ck.eq("without BPF: no counting column at all",
              sorted({k.split(".")[0] for k in walk}),
              ["ephFailureAlarmState", "ephFailureObservable", "ephFailureReason"])
        reason = walk.get("ephFailureReason.1.1", "")
        print(f"reason: {reason}")
        ck.eq("the reason: not observable without the BPF source",
              reason.startswith("not observable without the BPF source"), True)
        r = su.snmp("snmpget", "-OQsb", "ephFailureCount.1.1", "ephFailureDiscontinuityTime.1.2",
                    "ephFailureOtherDest.1.3", check=False)
        ck.eq("ephFailureCount.1.1: No Such Instance (never a zero not measured)",
              r.stdout.count("No Such Instance"), 3)
        ck.eq("empty destination and process tables",
              (rows("ephFailDestTable"), rows("ephFailProcTable")),
              ({}, {}))
        ck.eq("ephNsTcpTwRecycled is served without BPF too",
              (get("ephNsTcpTwRecycled.1").get("ephNsTcpTwRecycled.1") or "x").isdigit(), True)
        # Failures nobody can count: no trap, no counter.
        n_traps = len(traps())
        # A range of its own: the BPF part's ports may still be in TIME_WAIT.
        wall = failutil.fill(40100, 40109)
        try:
            failutil.fail_connects(2)
            time.sleep(2.5)
        finally:
            wall.close()
        ck.eq("without BPF: no trap for uncounted failures", traps()[n_traps:], [])
        ck.eq("without BPF: still no count instance", counts(), [None, None, None])
    finally:
        ck.eq("ephportd (no BPF) exits 0", agent.stop(), 0)


pins, skipped = failutil.bpf_try_load()
try:
    if pins:
        try:
            bpf_part(pins)
        finally:
            failutil.bpf_unload(pins)
    else:
        print(f"SKIP the BPF part: {skipped}")
    # The BPF part's namespace had a full range; this part fills its own.
    no_bpf_part()
finally:
    master.stop()
    trapd.terminate()
    trapd.wait(10)
if skipped:
    print(f"{ck.checks - ck.failures} passed, {ck.failures} failed; the BPF part SKIPPED: {skipped}")
    sys.exit(1 if ck.failures else nsutil.SKIP)
ck.done()
