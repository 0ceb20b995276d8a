#!/usr/bin/env python3
"""Who holds the ports through collectd (issue 18; ephport-collectd(5),
VALUES, Processes), in a private network namespace with range
40000-40199: two child processes hold 30 and 70 pool ports (TCP
connections to a listener outside the range; the first has 10 of them
dup()ed, counted once; the second also holds 4 connected UDP sockets), and
three TIME_WAIT sockets belong to nobody (holdutil.Holders).

A real `collectd -f` (collectdutil.Collectd) loads a copy of the built
ephport.so with the csv, logfile and unixsock plugins; values are read
back from the csv files and the identifiers with `collectdctl listval`.

1. Processes true, from /proc (BPFPinDir an empty directory), Namespace
   "self" and a named namespace eph-<pid>-p where a third child holds 12:
   count-ports-pid-<pid>-<comm> under ephport-tcp and ephport-udp name
   both pids with exactly 30 and 70 (and 0 and 4 UDP), agree with
   `ss -tanp`; processes-holding 2, processes-denied 0,
   sockets-unattributed 3 under ephport; the other namespace's under
   ephport-eph-<pid>-p(-tcp); the log names the source once.
2. ProcessesTop 1: the 70 only; the totals still count both.
3. Processes false (the default): no process value, no process log line.
4. With the BPF source (failutil.bpf_load(), BPFPinDir): the same numbers,
   counted by the pinned task_file iterator, the log says so.
5. Source "bpf" where DIR/holders could not be pinned (a directory in the
   way, as holders_netns.py does): the holders collection fails, is logged
   once, and every other value goes on.

Every daemon, child and namespace is stopped or removed, pass or fail.
Skips (77) without root, collectd, its csv, logfile and unixsock plugins,
collectdctl, ss or a built plugin; when ephport-bpf is not built or does
not load, parts 1-3 run and the test still ends SKIP (77): the BPF parts
are never reported as passed.
"""
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import failutil  # noqa: E402
import holdutil  # noqa: E402
import nsutil  # noqa: E402
import collectdutil  # noqa: E402
from collectdutil import HOST  # noqa: E402

LOW, HIGH, RESERVED = 40000, 40199, "40190-40199"
NETNS = f"eph-{os.getpid()}-p"


def skip(why):
    print(f"SKIP: {why}", file=sys.stderr)
    sys.exit(nsutil.SKIP)


class Collectd(collectdutil.Collectd):
    """collectdutil.Collectd with the csv, logfile and unixsock plugins."""

    def __init__(self, block, env=None):
        super().__init__(COLLECTD, PLUGIN, block, env=env,
                         prefix="eph-collectd-proc-",
                         plugins=("csv", "logfile", "unixsock"))

    def latest_all(self):
        """{(plugin_instance, type, type_instance): latest value}."""
        return {k: s[-1][1] for k, s in self.values().items() if s}

    def reads(self):
        return len(self.values().get(("tcp", "gauge", "usable"), []))

    def settle(self, pred, timeout=20):
        """Until pred() holds, then two more reads (so the numbers are
        those of one whole read, not of a csv line being written)."""
        ok = self.wait(pred, timeout)
        n = self.reads()
        self.wait(lambda: self.reads() >= n + 2, 10)
        return ok


# --- the holders (holdutil) ------------------------------------------------
children = []
created = []


def start_other(n):
    """eph-<pid>-p with a child holding n pool ports there; None if ip
    netns cannot be used here."""
    err = holdutil.add_netns(NETNS)
    if err:
        print(f"     (ip netns add: {err}: other namespace not checked)")
        return None
    created.append(NETNS)
    p = holdutil.start_in(NETNS, n)
    children.append(p)
    line = p.stdout.readline().strip()
    if line != "ready":
        raise AssertionError(f"child in {NETNS} did not start: {line!r}")
    return p


def cleanup():
    for c in children:
        if c.stdin and not c.stdin.closed:
            c.stdin.close()
    nsutil.stop_spawned()
    for name in created:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    created.clear()


def comm_name(pid):
    """The comm as the plugin names it: A-Z a-z 0-9 . _ - kept."""
    with open(f"/proc/{pid}/comm") as f:
        comm = f.read().rstrip("\n")
    return re.sub(r"[^A-Za-z0-9._-]", "_", comm) or "_"


def tinst(pid):
    return f"ports-pid-{pid}-{comm_name(pid)}"


def ss_holders():
    """pid -> number of pool ports of its TCP sockets, from `ss -tanp`."""
    return {pid: len(ports) for pid, ports in
            holdutil.ss_holders(LOW, HIGH, RESERVED_SET).items()}


def process_values(vals, ns_id=""):
    """{(plugin_instance, type_instance): value} of the process values of
    one namespace ("": collectd's own)."""
    pinsts = {ns_id} | {f"{ns_id}-{p}" if ns_id else p for p in ("tcp", "udp")}
    return {(k[0], k[2]): v for k, v in vals.items()
            if k[0] in pinsts and
            (k[2].startswith("ports-pid-") or k[2] in TOTALS)}


TOTALS = ("processes-holding", "processes-denied", "sockets-unattributed")


def want_self(top=None):
    """The values collectd's own namespace must have: both children (or
    the top one), and the totals."""
    want = {("", "processes-holding"): 2.0, ("", "processes-denied"): 0.0,
            ("", "sockets-unattributed"): 3.0,
            ("tcp", tinst(b.pid)): 70.0, ("udp", tinst(b.pid)): 4.0}
    if top != 1:
        want.update({("tcp", tinst(a.pid)): 30.0, ("udp", tinst(a.pid)): 0.0})
    return want


def no_errors(ck, label, cd):
    ck.eq(f"{label}: no ephport errors or warnings",
          [ln for ln in cd.log_text().splitlines()
           if "ephport plugin:" in ln and ("rror" in ln or
                                           "processes: cannot" in ln)], [])


def run(label, block, check):
    cd = Collectd(block, env=ENV)
    try:
        ok = cd.wait(lambda: cd.reads() >= 2)
        ck.eq(f"{label}: collectd records", ok, True)
        if ok:
            check(cd)
    finally:
        rc = cd.stop()
        log = cd.log_text()
        cd.cleanup()
    ck.eq(f"{label}: collectd exited cleanly", rc, 0)
    # An --enable-sanitizers build: UBSan only prints.
    ck.eq(f"{label}: no sanitizer report",
          [ln for ln in log.splitlines()
           if "runtime error" in ln or "AddressSanitizer" in ln], [])
    return log


def part_procfs(other):
    label = "procfs"
    blk = (f'  BPFPinDir "{EMPTY}"\n  Processes true\n  Namespace "self"\n'
           + (f'  Namespace "{NETNS}"\n' if other else ""))

    def check(cd):
        want = want_self()
        if other:
            want.update({(NETNS, "processes-holding"): 1.0,
                         (NETNS, "processes-denied"): 0.0,
                         (NETNS, "sockets-unattributed"): 0.0,
                         (NETNS + "-tcp", tinst(other.pid)): 12.0,
                         (NETNS + "-udp", tinst(other.pid)): 0.0})
        def got_now():
            vals = cd.latest_all()
            got = process_values(vals)
            if other:
                got.update(process_values(vals, NETNS))
            return got

        cd.settle(lambda: all(k in got_now() for k in want))
        got = got_now()
        ck.eq(f"{label}: the values name both pids with 30 and 70", got,
              want)
        ck.eq(f"{label}: agrees with ss -tanp",
              {pid: got.get(("tcp", tinst(pid))) for pid in ss_holders()},
              {pid: float(n) for pid, n in ss_holders().items()})
        ids = cd.listval()
        for i in sorted(ids):
            if "ports-pid-" in i or any(t in i for t in TOTALS):
                print(f"     | collectdctl listval: {i}")
        want_ids = {f"{HOST}/ephport/count-{t}" for t in TOTALS}
        want_ids |= {f"{HOST}/ephport-{p}/count-{tinst(c.pid)}"
                     for p in ("tcp", "udp") for c in (a, b)}
        if other:
            want_ids |= {f"{HOST}/ephport-{NETNS}/count-{t}" for t in TOTALS}
            want_ids |= {f"{HOST}/ephport-{NETNS}-{p}/count-{tinst(other.pid)}"
                         for p in ("tcp", "udp")}
        ck.eq(f"{label}: collectdctl listval has them",
              sorted(want_ids - ids), [])
        log = cd.log_text()
        ck.eq(f"{label}: the source said once",
              log.count("ephport plugin: processes: from /proc: one readdir "
                        "of /proc/PID/fd per process"), 1)
        if other:
            ck.eq(f"{label}: the source said once for {NETNS}",
                  log.count(f"ephport plugin: network namespace {NETNS}: "
                            "processes: from /proc"), 1)
        no_errors(ck, label, cd)

    run(label, blk, check)


def part_top1():
    label = "ProcessesTop 1"

    def check(cd):
        want = want_self(top=1)
        cd.settle(lambda: all(k in process_values(cd.latest_all())
                              for k in want))
        ck.eq(f"{label}: the 70 only, the totals count both",
              process_values(cd.latest_all()), want)

    run(label, f'  BPFPinDir "{EMPTY}"\n  Processes true\n'
        '  ProcessesTop 1\n', check)


def part_off():
    label = "Processes false"

    def check(cd):
        n = cd.reads()
        cd.wait(lambda: cd.reads() >= n + 2)
        vals = cd.latest_all()
        ck.eq(f"{label}: no process value",
              sorted(k for k in vals if k[2].startswith("ports-pid-")
                     or k[2] in TOTALS), [])
        ck.eq(f"{label}: collectdctl lists none",
              sorted(i for i in cd.listval()
                     if "ports-pid-" in i or "processes-" in i
                     or "unattributed" in i), [])
        ck.eq(f"{label}: the other values are there",
              vals.get(("tcp", "count", "ports_used")) is not None, True)
        ck.eq(f"{label}: no process log line",
              "ephport plugin: processes:" in cd.log_text(), False)

    # The default, and said explicitly.
    run(label + " (default)", f'  BPFPinDir "{EMPTY}"\n', check)
    run(label, f'  BPFPinDir "{EMPTY}"\n  Processes false\n', check)


def part_bpf(pins):
    label = "bpf"

    def check(cd):
        want = want_self()
        cd.settle(lambda: all(k in process_values(cd.latest_all())
                              for k in want))
        got = process_values(cd.latest_all())
        ck.eq(f"{label}: the same numbers", got, want)
        ck.eq(f"{label}: agrees with ss -tanp",
              {pid: got.get(("tcp", tinst(pid))) for pid in ss_holders()},
              {pid: float(n) for pid, n in ss_holders().items()})
        log = cd.log_text()
        ck.eq(f"{label}: counted by the pinned iterator, said once",
              log.count("ephport plugin: processes: counted in the kernel by "
                        "the task_file iterator"), 1)
        ck.eq(f"{label}: never from /proc",
              "processes: from /proc" in log, False)
        no_errors(ck, label, cd)

    run(label, f'  BPFPinDir "{pins}"\n  Processes true\n', check)


def part_holders_refused():
    """Source "bpf" with the sockets pinned and DIR/holders not: the
    holders collection fails (BPF asked for, not pinned), said once; every
    other value goes on."""
    label = "holders not pinned"
    exe = os.environ["EPHPORT_BPF"]
    mnt = tempfile.mkdtemp(prefix="ephport-bpffs.")
    subprocess.check_call(["mount", "-t", "bpf", "none", mnt])
    pins = os.path.join(mnt, "ephport")
    try:
        os.makedirs(os.path.join(pins, "holders_new"))
        r = subprocess.run([exe, "load", "-d", pins], capture_output=True,
                           text=True)
        ck.eq(f"{label}: ephport-bpf load exits 0", r.returncode, 0)
        ck.eq(f"{label}: no DIR/holders",
              os.path.exists(os.path.join(pins, "holders")), False)

        def check(cd):
            n = cd.reads()
            cd.wait(lambda: cd.reads() >= n + 3)
            vals = cd.latest_all()
            ck.eq(f"{label}: no process value",
                  sorted(k for k in vals if k[2].startswith("ports-pid-")
                         or k[2] in TOTALS), [])
            ck.eq(f"{label}: the other values go on",
                  vals.get(("tcp", "count", "ports_used")) is not None and
                  cd.reads() >= n + 3, True)
            lines = [ln for ln in cd.log_text().splitlines()
                     if "ephport plugin: processes: cannot tell who holds "
                        "the ports: " in ln]
            for ln in lines:
                print(f"     | {ln}")
            ck.eq(f"{label}: said once", len(lines), 1)
            ck.eq(f"{label}: the line names the pin",
                  bool(lines) and "holders" in lines[0], True)

        run(label, f'  Source "bpf"\n  BPFPinDir "{pins}"\n'
            '  Processes true\n', check)
    finally:
        if os.path.isdir(os.path.join(pins, "holders_new")):
            os.rmdir(os.path.join(pins, "holders_new"))
        subprocess.call([exe, "unload", "-d", pins])
        subprocess.call(["umount", mnt])
        os.rmdir(mnt)


if os.geteuid() != 0:
    skip("needs root (unshare -n, ip_local_port_range)")
nsutil.enter_private_netns(sys.argv)
COLLECTD, PLUGIN, ENV = collectdutil.require(
    skip, ("csv", "logfile", "unixsock"), ("collectdctl", "ss"))

atexit.register(cleanup)
ck = nsutil.Checker()
nsutil.setup_namespace(LOW, HIGH, RESERVED)
RESERVED_SET = nsutil.parse_reserved(RESERVED)
EMPTY = tempfile.mkdtemp(prefix="eph-nopins-")
held = None
pins = None
bpf_skipped = None
try:
    # Three TIME_WAIT in the pool: held by no process.  They last 60 s:
    # every part that counts them runs before (about 25 s in all).
    held = holdutil.Holders()
    a, b = held.a, held.b
    children += [a, b]
    other = start_other(12)
    t0 = time.time()
    part_procfs(other)
    part_top1()
    pins, bpf_skipped = failutil.bpf_try_load()
    if pins:
        part_bpf(pins)
    print(f"     (the parts counting TIME_WAIT took {time.time() - t0:.0f} s)")
    part_off()
    if pins:
        part_holders_refused()
finally:
    if pins:
        failutil.bpf_unload(pins)
    cleanup()
    if held:
        held.close()
    shutil.rmtree(EMPTY, ignore_errors=True)

if bpf_skipped:
    print(f"{ck.checks - ck.failures} passed, {ck.failures} failed")
    if ck.failures:
        sys.exit(1)
    print(f"SKIP: the BPF parts: {bpf_skipped}; only the parts without BPF "
          "ran", file=sys.stderr)
    sys.exit(nsutil.SKIP)
ck.done()
