#!/usr/bin/env python3
"""Failure counters through the ephport command (issue 18).

In a fresh network namespace with a 10-port range, with the BPF failure
counters loaded on a private bpf filesystem: fill the range, make exactly
K connect()s that fail with EADDRNOTAVAIL, K2 bind(0)s with EADDRINUSE and
K3 UDP autobinds with EAGAIN (failutil checks each errno the kernel
returned), plus calls that succeed; then every output (text, JSON,
Prometheus read by promtool and prometheus_client, check perfdata) must
show exactly K, K2, K3, the destination and the process.  A second round
moves them by exactly that; successful calls move nothing; another
namespace sees none of them; a reload keeps them; an unprivileged user
reads them.  Without the counters every output says they are not
observable, and prints no count.

The kernel's table of destinations and processes is an LRU: reloaded with
a small one (ephport-bpf load -e, which replaces the counters and says
so), more distinct destinations than it holds fail, then 5 connect()s to
a new one D: the total is exact, D is named with 5, and "other" is the
total less what is listed.  Pins of layout version 1 (made with bpftool
as that version left them) are refused by the reader and replaced by the
loader, which says so.  With fail_counts sized for one namespace
(ephport-bpf load -n 1), the first to fail stays exact and the others
read "not observable: ... is full".  IPv6 sockets failing towards
::ffff:127.0.0.1 are counted in the row of 127.0.0.1.
"""
import ctypes
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import failutil  # noqa: E402
import nsutil  # noqa: E402

nsutil.enter_private_netns(sys.argv)

failed = 0
checks = 0


def check(name, got, want):
    global failed, checks
    checks += 1
    ok = got == want
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {got!r}" + ("" if ok else f", expected {want!r}"))
    if not ok:
        failed += 1


EXE = os.path.abspath(os.environ.get("EPHPORT", "./ephport"))


def without_counters():
    """No pins: every format says so and prints no count."""
    os.environ["EPHPORT_BPF_PIN"] = "/nonexistent/ephport"
    f = nsutil.ephport_json()["failures"]
    check("no BPF: JSON observable", f["observable"], False)
    check("no BPF: JSON why", f["why"].startswith("not observable without the BPF source"), True)
    check("no BPF: JSON has no count", "total" in f, False)
    text = nsutil.ephport().stdout
    line = [l for l in text.splitlines() if l.startswith("failures:")]
    check("no BPF: text line", [l.split(" (")[0] for l in line],
          ["failures: not observable without the BPF source"])
    prom = nsutil.ephport("--prometheus").stdout
    check("no BPF: prometheus observable 0", "ephport_failures_observable 0" in prom.splitlines(), True)
    check("no BPF: prometheus no _total sample",
          [l for l in prom.splitlines() if l.startswith("ephport_allocation_failures")], [])
    check("no BPF: prometheus reason",
          any(l.startswith('ephport_failures_not_observable_info{reason="not observable without the BPF source')
              for l in prom.splitlines()), True)
    chk = nsutil.ephport("check", check=False).stdout
    check("no BPF: check perfdata has no failure count", "_failures=" in chk, False)
    check("tw_recycled is published without BPF", isinstance(nsutil.ephport_json()["tw_recycled"], int), True)


def prom_consumers(prom):
    """promtool and prometheus_client read the observable families."""
    r = subprocess.run(["promtool", "check", "metrics"], input=prom, capture_output=True, text=True) \
        if subprocess.run(["sh", "-c", "command -v promtool"], capture_output=True).returncode == 0 else None
    if r is None:
        print("SKIP promtool not installed")
    else:
        check("promtool check metrics", (r.returncode, r.stdout + r.stderr), (0, ""))
    # prometheus_client is Debian's python3-prometheus-client: parse with
    # /usr/bin/python3 (the python running this test may be another one).
    parse = ("import sys, json\n"
             "from prometheus_client.parser import text_string_to_metric_families as t\n"
             "print(json.dumps([[s.name, s.labels, s.value] for f in t(sys.stdin.read())\n"
             "                  for s in f.samples if s.name.startswith('ephport_allocation_failures')]))\n")
    r = subprocess.run(["/usr/bin/python3", "-c", parse], input=prom, capture_output=True, text=True) \
        if os.path.exists("/usr/bin/python3") else None
    if r is None or "No module named" in r.stderr:
        print("SKIP prometheus_client not installed")
        return {}
    check("prometheus_client parses", (r.returncode, r.stderr), (0, ""))
    return {(n, tuple(sorted(l.items()))): v for n, l, v in json.loads(r.stdout or "[]")}


def rule_test(K):
    """contrib's EphemeralPortAllocationFailed pages on the first failure,
    naming the kind and count, and clears when the counter stops moving."""
    import shutil
    import tempfile
    if not shutil.which("promtool"):
        print("SKIP promtool not installed: rule test")
        return
    rules = os.path.join(os.environ.get("top_srcdir", "."), "contrib/prometheus/ephport.rules.yml")
    d = tempfile.mkdtemp(prefix="ephport-failrules-")
    summary = f"h: {K} connect failures for want of an ephemeral port in 5 minutes"
    with open(os.path.join(d, "t.yml"), "w") as f:
        f.write(f"""rule_files: [{json.dumps(os.path.abspath(rules))}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'ephport_allocation_failures_total{{instance="h",kind="connect"}}'
        values: '0 0 {" ".join([str(K)] * 12)}'
      - series: 'ephport_allocation_failures_total{{instance="h",kind="bind"}}'
        values: '{" ".join(["0"] * 14)}'
    alert_rule_test:
      - eval_time: 3m
        alertname: EphemeralPortAllocationFailed
        exp_alerts:
          - exp_labels: {{severity: page, instance: h, kind: connect}}
            exp_annotations:
              summary: "{summary}"
              description: "kind=connect (connect: EADDRNOTAVAIL, bind: bind(0) EADDRINUSE, autobind: UDP EAGAIN).  Who and where: ephport_allocation_failures_by_process_total and ephport_allocation_failures_by_destination_total."
      - eval_time: 12m
        alertname: EphemeralPortAllocationFailed
        exp_alerts: []
""")
    r = subprocess.run(["promtool", "test", "rules", os.path.join(d, "t.yml")],
                       capture_output=True, text=True)
    check("promtool test rules: EphemeralPortAllocationFailed", r.returncode, 0)
    if r.returncode:
        print(r.stdout + r.stderr)
    shutil.rmtree(d)


def with_counters(pins):
    K, K2, K3 = 3, 2, 4
    os.environ["EPHPORT_BPF_PIN"] = pins
    f0 = nsutil.ephport_json()["failures"]
    check("fresh namespace: observable, all zero", (f0["observable"], f0["total"]),
          (True, {"connect": 0, "bind": 0, "autobind": 0}))
    t0 = int(time.time() * 1e6)
    wall = failutil.hit_the_wall(K, K2, K3)
    t1 = int(time.time() * 1e6)
    try:
        J = nsutil.ephport_json()
        f = J["failures"]
        check("JSON totals", f["total"], {"connect": K, "bind": K2, "autobind": K3})
        check("JSON since_us unchanged", f["since_us"], f0["since_us"])
        check("JSON last_us set for every kind", all(f["last_us"][k] for k in f["total"]), True)
        check("JSON destinations", sorted((d["kind"], d["address"], d["port"], d["count"])
                                          for d in f["destinations"]),
              [("autobind", "127.0.0.1", 9999, K3), ("connect", "127.0.0.1", failutil.LISTEN_PORT, K)])
        check("JSON bind failures have no destination: all in other",
              f["destinations_other"], {"connect": 0, "bind": K2, "autobind": 0})
        me = os.getpid()
        check("JSON processes: this test's pid for each kind",
              sorted((p["kind"], p["pid"], p["count"]) for p in f["processes"]),
              sorted([("connect", me, K), ("bind", me, K2), ("autobind", me, K3)]))
        check("JSON process comm", {p["comm"] for p in f["processes"]}, {os.path.basename(sys.executable)[:15]})
        check("JSON processes_other", f["processes_other"], {"connect": 0, "bind": 0, "autobind": 0})
        # Each entry was made by this round's first failure of it (1 ms
        # of slack: the BPF clock is converted by the reader's clocks).
        check("JSON since_us of every destination and process: during the round",
              [e for e in f["destinations"] + f["processes"]
               if not t0 - 1000 <= e["since_us"] <= t1 + 1000], [])

        text = nsutil.ephport().stdout
        check("text totals line", [l.split(": ", 1)[1] for l in text.splitlines()
                                   if l.startswith("failures since")],
              [f"connect {K}, bind {K2}, autobind {K3}"])
        check("text names the destination",
              any(l.split() == ["connect", "to", f"127.0.0.1:{failutil.LISTEN_PORT}", str(K)]
                  for l in text.splitlines()), True)
        prom = nsutil.ephport("--prometheus").stdout
        got = prom_consumers(prom)
        if got:
            check("prometheus_client: totals", {dict(l)["kind"]: v for (n, l), v in got.items()
                                                if n == "ephport_allocation_failures_total"},
                  {"connect": K, "bind": K2, "autobind": K3})
            check("prometheus_client: by process",
                  {(dict(l)["kind"], dict(l)["pid"]): v for (n, l), v in got.items()
                   if n == "ephport_allocation_failures_by_process_total"},
                  {("connect", str(me)): K, ("bind", str(me)): K2, ("autobind", str(me)): K3})
        rule_test(K)
        chk = nsutil.ephport("check", check=False).stdout
        check("check perfdata", [w for w in chk.split() if "_failures=" in w],
              [f"connect_failures={K}c", f"bind_failures={K2}c", f"autobind_failures={K3}c"])

        # Calls that succeed move nothing; a second round moves by exactly K.
        keep = failutil.succeed_without_pool("127.0.0.2")
        check("successful calls: unchanged", nsutil.ephport_json()["failures"]["total"],
              {"connect": K, "bind": K2, "autobind": K3})
        failutil.fail_connects(K)
        failutil.fail_binds(K)
        failutil.fail_autobinds(K)
        check("second round: +K each", nsutil.ephport_json()["failures"]["total"],
              {"connect": 2 * K, "bind": K2 + K, "autobind": K3 + K})
        for s in keep:
            s.close()

        # io_uring's IORING_OP_CONNECT does not pass connect(): counted from
        # its completion, with its destination.
        uring = os.environ.get("URING_CONNECT")
        K4 = 2
        if uring and os.access(uring, os.X_OK):
            r = subprocess.run([uring, "127.0.0.1", str(failutil.LISTEN_PORT), str(K4)],
                               capture_output=True, text=True)
            if r.returncode == 77:
                print(f"SKIP io_uring: {r.stderr.strip()}")
                K4 = 0
            else:
                check("io_uring connects fail EADDRNOTAVAIL", r.stdout.split(), ["EADDRNOTAVAIL"] * K4)
                fu = nsutil.ephport_json()["failures"]
                check("io_uring: +K4 connect", fu["total"]["connect"], 2 * K + K4)
                check("io_uring: its destination", [d["count"] for d in fu["destinations"]
                                                    if d["kind"] == "connect"
                                                    and d["address"] == "127.0.0.1"
                                                    and d["port"] == failutil.LISTEN_PORT],
                      [2 * K + K4])
        else:
            print("SKIP io_uring: tests/uring_connect not built")
            K4 = 0

        # IPv6 sockets to ::ffff:127.0.0.1 take the IPv4 path and fail
        # the same way: the same destination, one row (not two rows of
        # the same address: one SNMP index, one Prometheus series).
        K5 = 2
        failutil.fail_connects(K5, v6mapped=True)
        fm = nsutil.ephport_json()["failures"]
        check("IPv4-mapped: +K5 connect", fm["total"]["connect"], 2 * K + K4 + K5)
        check("IPv4-mapped: one row for 127.0.0.1, with every connect",
              [(d["address"], d["count"]) for d in fm["destinations"] if d["kind"] == "connect"],
              [("127.0.0.1", 2 * K + K4 + K5)])

        # Another namespace: its own (zero) counts, not ours.
        r = subprocess.run(["unshare", "-n", EXE, "--json"], capture_output=True, text=True)
        other = json.loads(r.stdout)["failures"] if r.returncode == 0 else r.stderr
        check("another namespace sees none of them",
              (other["observable"], other["total"]) if isinstance(other, dict) else other,
              (True, {"connect": 0, "bind": 0, "autobind": 0}))

        # A reload (ephportd's ExecStartPre) keeps the counters.
        r = subprocess.run([os.environ["EPHPORT_BPF"], "load", "-d", pins], capture_output=True, text=True)
        check("reload exit", r.returncode, 0)
        f2 = nsutil.ephport_json()["failures"]
        check("reload keeps counts and since_us", (f2["total"], f2["since_us"]),
              ({"connect": 2 * K + K4 + K5, "bind": K2 + K, "autobind": K3 + K}, f0["since_us"]))
        r = subprocess.run([os.environ["EPHPORT_BPF"], "status", "-d", pins], capture_output=True, text=True)
        check("ephport-bpf status", r.stdout.splitlines()[-1].split(": ", 1)[1],
              f"ok, this namespace's failures since the first load: connect {2 * K + K4 + K5} "
              f"bind {K2 + K} autobind {K3 + K}")

        # A user with no capability, in this namespace, reads them.
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--inh-caps=-all", "--bounding-set=-all", EXE, "--json"],
                           capture_output=True, text=True)
        uf = json.loads(r.stdout)["failures"] if r.returncode == 0 else {"error": r.stderr}
        check("uid 65534 reads the counts", uf.get("total"),
              {"connect": 2 * K + K4 + K5, "bind": K2 + K, "autobind": K3 + K})
    finally:
        wall.close()


def lru_test(pins):
    """More distinct destinations than fail_detail holds, then 5 failures
    to a new one, D: D is named, the total is exact, other = total -
    listed.  fail_detail is made small (-e) so that this takes a fraction
    of a second and floods no other test's counters on the machine (every
    loaded instance counts every namespace's failures)."""
    bpf = os.environ["EPHPORT_BPF"]
    before = nsutil.ephport_json()["failures"]["since_us"]
    r = subprocess.run([bpf, "load", "-d", pins, "-e", "1024"], capture_output=True, text=True)
    check("reload -e 1024: exit", r.returncode, 0)
    check("reload -e 1024: replaced, said so",
          f"the pinned failure counters in {pins} do not fit this build (fail_detail holds "
          "16384 entries, this load wants 1024): they are replaced, and count again from zero"
          in r.stderr, True)
    size = failutil.detail_entries(pins)
    shown = failutil.map_show(os.path.join(pins, "fail_detail"))
    check("fail_detail: an LRU of the size asked", (shown["type"], size), ("lru_hash", 1024))
    check("fail_counts: a hash of 3 x 21845 (the default -n)",
          (lambda m: (m["type"], m["max_entries"]))(failutil.map_show(os.path.join(pins, "fail_counts"))),
          ("hash", 3 * 21845))
    f = nsutil.ephport_json()["failures"]
    check("replaced counters: zero, a later since_us",
          (f["total"], f["since_us"] > before), ({"connect": 0, "bind": 0, "autobind": 0}, True))

    n = size + 1000
    dests = failutil.distinct_destinations(n)
    D = ("127.2.0.1", 7000)
    holder = failutil.one_port_wall(40100)
    try:
        start = time.monotonic()
        failutil.fail_connects_to(dests)
        t_d = int(time.time() * 1e6)
        failutil.fail_connects_to([D] * 5)
        took = time.monotonic() - start
    finally:
        holder.close()
    print(f"     {n} distinct destinations and 5 to D failed in {took:.2f} s")
    f = nsutil.ephport_json()["failures"]
    total = f["total"]["connect"]
    check("LRU: total is every call", f["total"], {"connect": n + 5, "bind": 0, "autobind": 0})
    dl = [d for d in f["destinations"] if d["kind"] == "connect"]
    named = [(d["address"], d["port"], d["count"]) for d in dl if (d["address"], d["port"]) == D]
    check("LRU: D is named with its 5", named, [(D[0], D[1], 5)])
    check("LRU: D's since_us is when its first failure was",
          [d["since_us"] >= t_d - 1000 for d in dl if (d["address"], d["port"]) == D], [True])
    check("LRU: 16 destinations listed", len(dl), 16)
    listed = sum(d["count"] for d in dl)
    check("LRU: destinations_other = total - listed", f["destinations_other"],
          {"connect": total - listed, "bind": 0, "autobind": 0})
    me = os.getpid()
    check("LRU: the process, failing all along, is kept with every call",
          [(p["pid"], p["count"]) for p in f["processes"] if p["kind"] == "connect"], [(me, n + 5)])
    check("LRU: processes_other", f["processes_other"], {"connect": 0, "bind": 0, "autobind": 0})
    dump = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", os.path.join(pins, "fail_detail")],
                          capture_output=True, text=True)
    entries = len(json.loads(dump.stdout)) if dump.returncode == 0 else -1
    print(f"     fail_detail holds {entries} entries of {size} after {n + 1} destinations and 1 process")
    check("LRU: the kernel forgot entries to make room", 0 < entries <= size, True)
    r = subprocess.run([bpf, "status", "-d", pins], capture_output=True, text=True)
    # Other tests' failures count here too (every namespace): a range.
    m = [re.fullmatch(re.escape(pins) + r"/fail_detail: (\d+) of (\d+) destinations and processes, "
                      r"all namespaces \(when full, the least recently failing are forgotten\)", l)
         for l in r.stdout.splitlines()]
    m = [(0 < int(x.group(1)) <= size, int(x.group(2))) for x in m if x]
    check("LRU: ephport-bpf status says how full fail_detail is", m, [(True, size)])
    text = nsutil.ephport().stdout
    check("LRU: text names D",
          any(l.split() == ["connect", "to", f"{D[0]}:{D[1]}", "5"] for l in text.splitlines()), True)
    r = subprocess.run([bpf, "load", "-d", pins, "-e", "1024"], capture_output=True, text=True)
    check("reload with the same -e keeps them", (r.returncode, "replaced" in r.stderr,
                                                 nsutil.ephport_json()["failures"]["total"]["connect"]),
          (0, False, n + 5))


def totals_full_test(pins):
    """fail_counts sized for one namespace (ephport-bpf load -n 1): the
    namespace that fails first gets its three totals and stays exact; a
    second one finds no room, and its reader says it cannot count (never
    a zero), naming the failures lost."""
    bpf = os.environ["EPHPORT_BPF"]
    one = os.path.join(os.path.dirname(pins), "one")
    r = subprocess.run([bpf, "load", "-d", one, "-n", "1"], capture_output=True, text=True)
    check("load -n 1: exit, says so", (r.returncode, "totals of 1 namespaces" in r.stdout), (0, True))
    check("load -n 1: fail_counts holds 3 entries",
          failutil.map_show(os.path.join(one, "fail_counts"))["max_entries"], 3)
    os.environ["EPHPORT_BPF_PIN"] = one
    holder = failutil.one_port_wall(40200)
    try:
        # From a thread with a name of its own (as a JVM's are): the
        # process is named by its leader's comm, which /proc/PID/comm
        # has, so its cgroup is found too.
        errs = []

        def named_thread():
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(15, b"eph-worker", 0, 0, 0)  # PR_SET_NAME
            try:
                failutil.fail_connects_to([("127.3.0.1", 7000)] * 2)
            except AssertionError as e:
                errs.append(str(e))
        t = threading.Thread(target=named_thread)
        t.start()
        t.join()
        check("a named thread's connects fail EADDRNOTAVAIL", errs, [])
        f = nsutil.ephport_json()["failures"]
        check("-n 1: the first namespace to fail is exact",
              (f["observable"], f["total"]), (True, {"connect": 2, "bind": 0, "autobind": 0}))
        with open("/proc/self/comm") as c:
            leader = c.read().strip()
        check("a named thread's failures: the process's comm, its cgroup found",
              [(p["pid"], p["comm"], p["cgroup"] != "") for p in f["processes"]],
              [(os.getpid(), leader, True)])
        # A second namespace: the same wall, 3 connects, no room.
        code = ("import sys; sys.path.insert(0, %r); import failutil; "
                "h = failutil.one_port_wall(40200); "
                "failutil.fail_connects_to([('127.3.0.2', 7000)] * 3)") % os.path.dirname(os.path.abspath(__file__))
        r = subprocess.run(["unshare", "-n", "sh", "-c",
                            f"{sys.executable} -c \"{code}\" && {EXE} --json"],
                           capture_output=True, text=True)
        other = json.loads(r.stdout)["failures"] if r.returncode == 0 else {"error": r.stderr}
        check("-n 1: a second namespace that failed is not observable, says why",
              (other.get("observable"), "total" in other,
               f"not observable: {one}/fail_counts is full (3 failures of namespaces it had no room for"
               in other.get("why", "")), (False, False, True))
        print(f"     {other.get('why', other)}")
        r = subprocess.run(["unshare", "-n", EXE, "--json"], capture_output=True, text=True)
        fresh = json.loads(r.stdout)["failures"] if r.returncode == 0 else {"error": r.stderr}
        check("-n 1: once lost, a namespace without totals cannot say 0 either",
              (fresh.get("observable"), "is full" in fresh.get("why", "")), (False, True))
        f = nsutil.ephport_json()["failures"]
        check("-n 1: the first namespace still exact", f["total"], {"connect": 2, "bind": 0, "autobind": 0})
    finally:
        holder.close()
        os.environ["EPHPORT_BPF_PIN"] = pins
        subprocess.call([bpf, "unload", "-d", one], stdout=subprocess.DEVNULL)
        if os.path.isdir(one):
            os.rmdir(one)


def layout_1_test(pins):
    """Pins as layout version 1 left them: the reader says they are of
    another version (it would misread them); load replaces them and says
    the counters restart."""
    bpf = os.environ["EPHPORT_BPF"]
    old = os.path.join(os.path.dirname(pins), "layout1")
    failutil.pin_layout_1(old, loaded_real_ns=1700000000123456789)
    os.environ["EPHPORT_BPF_PIN"] = old
    try:
        f = nsutil.ephport_json()["failures"]
        check("layout 1 pins: not observable, another version",
              (f["observable"], "of another version of ephport-bpf" in f.get("why", "")), (False, True))
        r = subprocess.run([bpf, "load", "-d", old], capture_output=True, text=True)
        check("layout 1 pins: load exit", r.returncode, 0)
        check("layout 1 pins: replaced, said so",
              f"the pinned failure counters in {old} do not fit this build (layout version 1, "
              "this build's is 2): they are replaced, and count again from zero" in r.stderr, True)
        print("     " + "".join(l for l in r.stderr.splitlines(True) if "do not fit" in l).strip())
        check("layout 1 pins: now fail_counts 3 x 21845, fail_detail an LRU",
              (failutil.map_show(os.path.join(old, "fail_counts"))["max_entries"],
               failutil.map_show(os.path.join(old, "fail_detail"))["type"]), (3 * 21845, "lru_hash"))
        f = nsutil.ephport_json()["failures"]
        check("layout 1 pins: replaced counters read, from a new since_us",
              (f["observable"], f["total"], f["since_us"] != 1700000000123456),
              (True, {"connect": 0, "bind": 0, "autobind": 0}, True))
    finally:
        os.environ["EPHPORT_BPF_PIN"] = pins
        subprocess.call([bpf, "unload", "-d", old])
        if os.path.isdir(old):
            os.rmdir(old)


try:
    without_counters()
    pins = None
    try:
        pins = failutil.bpf_load()
    except SystemExit:
        failed += 1
    if pins:
        try:
            with_counters(pins)
            lru_test(pins)
            totals_full_test(pins)
            layout_1_test(pins)
        finally:
            failutil.bpf_unload(pins)
    elif not failed:
        # The counters were not measured: never a pass.
        print(f"SKIP: the BPF part (ephport-bpf not built); {checks} not-observable checks passed")
        sys.exit(nsutil.SKIP)
finally:
    nsutil.stop_spawned()

print(f"{checks - failed} of {checks} checks passed")
sys.exit(1 if failed else 0)
