#!/usr/bin/env python3
"""The failure counters through collectd (issue 18; ephport-collectd(5),
VALUES, Failures), in a private network namespace.

A real `collectd -f` loads a copy of the built ephport.so with the csv,
logfile and unixsock plugins.  Values are read back from the csv files
(StoreRates false: the raw derive counters) and the identifiers with
`collectdctl listval`; notifications from the logfile plugin.

1. With the BPF source (failutil.bpf_load(): ephport-bpf load on a private
   bpf filesystem; BPFPinDir points there), Namespace "self" and a named
   namespace eph-<pid>-f:
   - before any failure the three derives exist and are 0 (measured);
   - failutil.hit_the_wall(K, K2, K3): failures-connect, -bind and
     -autobind equal exactly K, K2, K3; FAILURE notifications whose counts
     add up to K, K2, K3, naming the call, the count, the worst
     destination and this process (pid, comm);
   - FailureDetails: the per destination and per process derives, and
     "other" at 0;
   - a second round of K, K2, K3 failing calls moves them by exactly that;
   - failing connect()s spread over several intervals: at most one
     notification per read, and their counts add up;
   - eph-<pid>-f, where a holder hits the wall with 2, 1, 1: its values
     under plugin_instance "eph-<pid>-f", its notifications naming it;
   - tw_recycled (TcpExt TWRecycled) equals /proc/net/netstat's.
2. Without it (BPFPinDir an empty directory; the counters still count):
   no failure value of either namespace exists, no failure notification,
   the log says "failures: not observable without the BPF source" once per
   namespace; tw_recycled still exists.

Every daemon, holder and namespace is stopped or removed, pass or fail.
Skips (77) without root, collectd or its csv, logfile and unixsock
plugins, or a built plugin; when ephport-bpf is not built, part 2 runs and
the test still ends SKIP (77): the BPF part is never reported as passed.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import failutil  # noqa: E402
import nsutil  # noqa: E402
import collectdutil  # noqa: E402
from collectdutil import HOST  # noqa: E402

KINDS = ("connect", "bind", "autobind")
K = {"connect": 5, "bind": 3, "autobind": 4}
K_OTHER = {"connect": 2, "bind": 1, "autobind": 1}
CALL = {"connect": "connect()", "bind": "bind(0)", "autobind": "UDP autobind"}
ERR = {"connect": "EADDRNOTAVAIL", "bind": "EADDRINUSE", "autobind": "EAGAIN"}
DEST = {"connect": f"127.0.0.1:{failutil.LISTEN_PORT}",
        "autobind": "127.0.0.1:9999"}
NETNS = f"eph-{os.getpid()}-f"


def skip(why):
    print(f"SKIP: {why}", file=sys.stderr)
    sys.exit(nsutil.SKIP)


def Collectd(block, env=None):
    """collectdutil.Collectd with the csv, logfile and unixsock plugins."""
    return collectdutil.Collectd(COLLECTD, PLUGIN, block, env=env,
                                 prefix="eph-collectd-fail-",
                                 plugins=("csv", "logfile", "unixsock"))


def fail_notes(cd, pinst=""):
    """{kind: [message]} of the FAILURE notifications of one namespace."""
    out = {k: [] for k in KINDS}
    for sev, pi, ti, msg in cd.notifications():
        if pi == pinst and ti and ti.startswith("failures-"):
            out[ti[len("failures-"):]].append((sev, msg))
    return out


def note_count(msg):
    """N of "... found no free port N time(s) (...)"."""
    words = msg.split("found no free port ", 1)[1].split()
    return int(words[0])


def totals(cd, pinst=""):
    return {k: cd.latest(pinst, "failures-" + k) for k in KINDS}


def wait_totals(cd, want, pinst=""):
    """Until the latest values are want and two more reads agree."""
    ok = cd.wait(lambda: totals(cd, pinst) == want)
    if ok:
        n = len(cd.samples(pinst, "failures-connect"))
        cd.wait(lambda: len(cd.samples(pinst, "failures-connect")) >= n + 2, 10)
    return totals(cd, pinst)


def tw_recycled():
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for names, vals in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            return float(dict(zip(names.split(), vals.split()))["TWRecycled"])
    return None


# --- the other namespace and its holder ------------------------------------
HOLDER = f"""
import sys
sys.path.insert(0, {HERE!r})
import failutil
print("ready", flush=True)
sys.stdin.readline()
w = failutil.hit_the_wall({K_OTHER['connect']}, {K_OTHER['bind']}, {K_OTHER['autobind']})
print("done", flush=True)
sys.stdin.read()
"""
holder = None
created = []


def cleanup_netns():
    global holder
    if holder and holder.poll() is None:
        holder.stdin.close()
        try:
            holder.wait(5)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()
    for name in created:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    created.clear()


def start_other():
    """eph-<pid>-f with a holder that will hit the wall there
    (other_wall()); False if ip netns cannot be used here."""
    global holder
    r = subprocess.run(["ip", "netns", "add", NETNS], capture_output=True,
                       text=True)
    if r.returncode != 0:
        print(f"     (ip netns add: {r.stderr.strip()}: other namespace "
              "not checked)")
        return False
    created.append(NETNS)
    holder = nsutil.spawn(["ip", "netns", "exec", NETNS, sys.executable,
                           "-c", HOLDER], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    line = holder.stdout.readline().strip()
    if line != "ready":
        raise AssertionError(f"holder in {NETNS}: {line!r}")
    return True


def other_wall():
    """The holder hits the wall in eph-<pid>-f (once)."""
    if holder.stdin.closed or getattr(holder, "walled", False):
        return
    holder.stdin.write("go\n")
    holder.stdin.flush()
    line = holder.stdout.readline().strip()
    if line != "done":
        raise AssertionError(f"holder in {NETNS}: {line!r}")
    holder.walled = True


nsutil.enter_private_netns(sys.argv)
COLLECTD, PLUGIN, ENV = collectdutil.require(
    skip, ("csv", "logfile", "unixsock"), ("collectdctl",))

atexit.register(cleanup_netns)
ck = nsutil.Checker()
pins = None
walls = []
empty = tempfile.mkdtemp(prefix="eph-nopins-")
comm = open("/proc/self/comm").read().strip()
pid = os.getpid()


def block(pin_dir, other, details=False):
    return (f'  BPFPinDir "{pin_dir}"\n  Namespace "self"\n'
            + (f'  Namespace "{NETNS}"\n' if other else "")
            + ("  FailureDetails true\n" if details else ""))


def part_bpf():
    other = start_other()
    cd = Collectd(block(pins, other, details=True), env=ENV)
    try:
        zero = {k: 0.0 for k in KINDS}
        ck.eq("bpf: before any failure, every kind measured 0",
              wait_totals(cd, zero), zero)
        ck.eq("bpf: no notification before any failure",
              [n for n in cd.notifications() if n[0] == "FAILURE"], [])

        # Round 1: the wall.
        walls.append(failutil.hit_the_wall(K["connect"], K["bind"],
                                           K["autobind"]))
        got = wait_totals(cd, {k: float(K[k]) for k in KINDS})
        ck.eq("bpf: round 1 == K, K2, K3", got,
              {k: float(K[k]) for k in KINDS})
        cd.wait(lambda: all(sum(note_count(m) for _, m in v) == K[k]
                            for k, v in fail_notes(cd).items()), 5)
        notes = fail_notes(cd)
        # As collectd's logfile plugin wrote them.
        for ln in cd.log_text().splitlines():
            if "Notification:" in ln and "failures-" in ln:
                print(f"     | {ln}")
        ck.eq("bpf: round 1 notifications add up to K, K2, K3",
              {k: sum(note_count(m) for _, m in v) for k, v in notes.items()},
              K)
        ck.eq("bpf: notifications are FAILURE",
              {s for v in notes.values() for s, _ in v}, {"FAILURE"})
        for k in KINDS:
            first = notes[k][0][1] if notes[k] else ""
            ck.eq(f"bpf: {k} notification names the call and the error",
                  first.startswith(f"{CALL[k]} found no free port ") and
                  f"({ERR[k]}; " in first, True)
            ck.eq(f"bpf: {k} notification names this process",
                  f"; worst process {pid} {comm} (" in first, True)
            if k in DEST:
                ck.eq(f"bpf: {k} notification names the destination",
                      f"; worst destination {DEST[k]} (" in first, True)
        last = notes["connect"][-1][1] if notes["connect"] else ""
        ck.eq("bpf: connect notification's total and counts",
              f"({ERR['connect']}; {K['connect']} since the counters "
              f"started); worst destination {DEST['connect']} "
              f"({K['connect']}); worst process {pid} {comm} "
              f"({K['connect']})" in last, True)

        # FailureDetails: per destination and process, and the rest.
        want_d = {
            "failures-connect-dest-127.0.0.1-5000": K["connect"],
            "failures-autobind-dest-127.0.0.1-9999": K["autobind"],
            f"failures-connect-pid-{pid}-{comm}": K["connect"],
            f"failures-bind-pid-{pid}-{comm}": K["bind"],
            f"failures-autobind-pid-{pid}-{comm}": K["autobind"],
            "failures-connect-dest-other": 0, "failures-autobind-dest-other": 0,
            "failures-connect-pid-other": 0, "failures-bind-pid-other": 0,
            "failures-autobind-pid-other": 0}
        got_d = {k[2]: cd.latest("", k[2]) for k in cd.values()
                 if k[0] == "" and k[2].startswith("failures-") and
                 k[2] not in {"failures-" + x for x in KINDS}}
        ck.eq("bpf: FailureDetails per destination and process",
              got_d, {k: float(v) for k, v in want_d.items()})

        # Round 2: the same again, the range still full.
        before = {k: len(v) for k, v in notes.items()}
        failutil.fail_connects(K["connect"])
        failutil.fail_binds(K["bind"])
        failutil.fail_autobinds(K["autobind"])
        want = {k: float(2 * K[k]) for k in KINDS}
        ck.eq("bpf: round 2 moves them by exactly K, K2, K3",
              wait_totals(cd, want), want)
        cd.wait(lambda: all(sum(note_count(m) for _, m in v[before[k]:]) ==
                            K[k] for k, v in fail_notes(cd).items()), 5)
        notes = fail_notes(cd)
        ck.eq("bpf: round 2 notifications add up to K, K2, K3",
              {k: sum(note_count(m) for _, m in v[before[k]:])
               for k, v in notes.items()}, K)
        ck.eq("bpf: round 2 message has the new total",
              bool(notes["bind"]) and f"({ERR['bind']}; {2 * K['bind']} since "
              "the counters started)" in notes["bind"][-1][1], True)

        # Spread over several intervals: one notification per read at most.
        n0 = len(notes["connect"])
        t0 = time.time()
        for _ in range(6):
            failutil.fail_connects(1)
            time.sleep(0.5)
        t1 = time.time()
        want["connect"] += 6
        ck.eq("bpf: 6 spread connect failures counted",
              wait_totals(cd, want), want)
        spread = fail_notes(cd)["connect"][n0:]
        reads = [t for t, _ in cd.samples("", "failures-connect")
                 if t0 <= t <= t1 + 1.5]
        print(f"     ({len(spread)} notifications over {len(reads)} reads)")
        ck.eq("bpf: spread failures: counts add up to 6",
              sum(note_count(m) for _, m in spread), 6)
        ck.eq("bpf: spread failures: more than one notification, at most one"
              " per read", 1 < len(spread) <= len(reads), True)

        # The other namespace.
        if other:
            ck.eq(f"bpf: {NETNS} measured 0 before its wall",
                  totals(cd, NETNS), {k: 0.0 for k in KINDS})
            other_wall()
            ck.eq(f"bpf: {NETNS}'s values", wait_totals(
                cd, {k: float(v) for k, v in K_OTHER.items()}, NETNS),
                {k: float(v) for k, v in K_OTHER.items()})
            on = fail_notes(cd, NETNS)
            ck.eq(f"bpf: {NETNS}'s notifications add up",
                  {k: sum(note_count(m) for _, m in v) for k, v in on.items()},
                  K_OTHER)
            ck.eq(f"bpf: {NETNS}'s notification names it",
                  bool(on["connect"]) and on["connect"][0][1].startswith(
                      f"netns {NETNS}: connect() found no free port"), True)
            ck.eq(f"bpf: {NETNS}'s tw_recycled",
                  cd.latest(NETNS + "-tcp", "tw_recycled") is not None, True)

        # The identifiers as collectd itself lists them.
        ids = cd.listval()
        for i in sorted(ids):
            if "failures-" in i or "tw_recycled" in i:
                print(f"     | collectdctl listval: {i}")
        want_ids = {f"{HOST}/ephport/derive-failures-{k}" for k in KINDS}
        want_ids.add(f"{HOST}/ephport-tcp/derive-tw_recycled")
        if other:
            want_ids |= {f"{HOST}/ephport-{NETNS}/derive-failures-{k}"
                         for k in KINDS}
        ck.eq("bpf: collectdctl listval has the derives",
              sorted(want_ids - ids), [])
        ck.eq("bpf: tw_recycled == /proc/net/netstat's TWRecycled",
              cd.latest("tcp", "tw_recycled"), tw_recycled())
        log = cd.log_text()
        ck.eq("bpf: observability logged once for self",
              log.count("ephport plugin: failures: observable: the BPF "
                        "source counts them"), 1)
        if other:
            ck.eq(f"bpf: observability logged once for {NETNS}",
                  log.count(f"ephport plugin: network namespace {NETNS}: "
                            "failures: observable"), 1)
        ck.eq("bpf: never 'not observable'", "not observable" in log, False)
        ck.eq("bpf: no ephport errors", [ln for ln in log.splitlines()
              if "ephport plugin:" in ln and "rror" in ln], [])
    finally:
        rc = cd.stop()
        cd.cleanup()
    ck.eq("bpf: collectd exited cleanly", rc, 0)
    return other


def part_no_bpf(other):
    if not walls:
        walls.append(failutil.hit_the_wall(1, 1, 1))
    if other is None:
        other = start_other()
    if other:
        other_wall()
    cd = Collectd(block(empty, other), env=ENV)
    try:
        ok = cd.wait(lambda: len(cd.samples("tcp", "usable", "gauge")) >= 2)
        ck.eq("no bpf: collectd records", ok, True)
        # Failures happen (and are counted, where the BPF programs are
        # loaded): still nothing that was not measured here.
        failutil.fail_connects(2)
        failutil.fail_binds(1)
        n = len(cd.samples("tcp", "usable", "gauge"))
        cd.wait(lambda: len(cd.samples("tcp", "usable", "gauge")) >= n + 3)
        vals = cd.values()
        ck.eq("no bpf: no failure value in any namespace",
              sorted(k for k in vals if k[2].startswith("failures")), [])
        ids = cd.listval()
        ck.eq("no bpf: collectdctl lists no failure value",
              sorted(i for i in ids if "failures" in i), [])
        ck.eq("no bpf: tw_recycled exists",
              f"{HOST}/ephport-tcp/derive-tw_recycled" in ids, True)
        ck.eq("no bpf: tw_recycled == /proc/net/netstat's TWRecycled",
              cd.latest("tcp", "tw_recycled"), tw_recycled())
        ck.eq("no bpf: no failure notification",
              [n for n in cd.notifications()
               if n[2] and n[2].startswith("failures")], [])
        log = cd.log_text()
        for ln in log.splitlines():
            if "failures" in ln:
                print(f"     | {ln}")
        ck.eq("no bpf: 'not observable without the BPF source' once for self",
              log.count("ephport plugin: failures: not observable without "
                        "the BPF source"), 1)
        ck.eq("no bpf: the line names the pin directory",
              f"{empty}/fail_meta" in log and "ephport-bpf load" in log, True)
        if other:
            ck.eq(f"no bpf: said once for {NETNS}",
                  log.count(f"ephport plugin: network namespace {NETNS}: "
                            "failures: not observable without the BPF "
                            "source"), 1)
            ck.eq(f"no bpf: {NETNS}'s tw_recycled exists",
                  f"{HOST}/ephport-{NETNS}-tcp/derive-tw_recycled" in ids, True)
    finally:
        rc = cd.stop()
        cd.cleanup()
    ck.eq("no bpf: collectd exited cleanly", rc, 0)


bpf_skipped = None
try:
    pins, bpf_skipped = failutil.bpf_try_load()
    other = None
    if pins:
        other = part_bpf()
    part_no_bpf(other)
finally:
    cleanup_netns()
    for w in walls:
        w.close()
    if pins:
        failutil.bpf_unload(pins)
    shutil.rmtree(empty, ignore_errors=True)

if bpf_skipped:
    print(f"{ck.checks - ck.failures} passed, {ck.failures} failed")
    if ck.failures:
        sys.exit(1)
    print(f"SKIP: the BPF part: {bpf_skipped}; only the part without BPF ran",
          file=sys.stderr)
    sys.exit(nsutil.SKIP)
ck.done()
