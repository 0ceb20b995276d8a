#!/usr/bin/env python3
"""Who holds the ports (issue 18), on real processes: in a private network
namespace with a small range, two child processes hold 30 and 70 pool
ports (TCP sockets connected to a local listener whose port is outside the
range; the first has 10 of them dup()ed, counted once; the second holds 4
connected UDP sockets too) and three TIME_WAIT sockets belong to nobody
(holdutil.Holders).
`ephport --processes --json` must name both pids with exactly 30 and 70
ports and agree with `ss -tanp` on the same sockets, first from /proc,
then (when ephport-bpf is built) from the task_file iterator pinned on a
private bpf filesystem with `ephport-bpf load -d`.  As uid 65534
(Debian's /usr/bin/python3: the python on PATH may be root's own) only
that user's own process is shown, by both sources; in a pid namespace of
its own, pids are that namespace's.  Also the text table, the Prometheus
families, --all-processes, --netns / -A on a second namespace (`ip netns
add`), and `ephport-bpf load` when DIR/holders cannot be pinned (the
socket pins stay).  Every child is stopped however the test ends.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import holdutil  # noqa: E402
import nsutil  # noqa: E402
from holdutil import LISTEN_PORT  # noqa: E402

if os.geteuid() != 0:
    print("SKIP: needs root (unshare -n, ip_local_port_range)", file=sys.stderr)
    sys.exit(nsutil.SKIP)
for tool in ("ss", "unshare", "setpriv"):
    if not shutil.which(tool):
        print(f"SKIP: {tool} not found", file=sys.stderr)
        sys.exit(nsutil.SKIP)
nsutil.enter_private_netns(sys.argv)
ck = nsutil.Checker()

LOW, HIGH, RESERVED = 40000, 40199, "40190-40199"
nsutil.setup_namespace(LOW, HIGH, RESERVED)

held = holdutil.Holders()
a, b = held.a, held.b
reserved = nsutil.parse_reserved(RESERVED)


def ss_holders():
    return holdutil.ss_holders(LOW, HIGH, reserved)


def by_pid(doc):
    return {p["pid"]: p for p in doc["processes"]["top"]}


def check_source(label, args, source):
    doc = nsutil.ephport_json("--all-processes", *args)
    pr = doc["processes"]
    ck.eq(f"{label}: source", pr["source"], source)
    top = by_pid(doc)
    for child, n, udp in ((a, 30, 0), (b, 70, 4)):
        p = top.get(child.pid, {})
        ck.eq(f"{label}: pid {child.pid} tcp_ports", p.get("tcp_ports"), n)
        ck.eq(f"{label}: pid {child.pid} tcp_sockets (dup()s once)", p.get("tcp_sockets"), n)
        ck.eq(f"{label}: pid {child.pid} udp_ports", p.get("udp_ports"), udp)
        ck.eq(f"{label}: pid {child.pid} udp_sockets", p.get("udp_sockets"), udp)
        with open(f"/proc/{child.pid}/comm") as f:
            ck.eq(f"{label}: pid {child.pid} comm", p.get("comm"), f.read().strip())
        ck.eq(f"{label}: pid {child.pid} worst destination", p.get("worst_destination"),
              {"address": "127.0.0.1", "port": LISTEN_PORT, "sockets": n})
        ck.eq(f"{label}: pid {child.pid} cgroup is a path",
              p.get("cgroup", "").startswith("/"), True)
    ck.eq(f"{label}: sorted by ports", [p["pid"] for p in pr["top"][:2]], [b.pid, a.pid])
    ck.eq(f"{label}: processes", pr["processes"], 2)
    ck.eq(f"{label}: unattributed (the TIME_WAIT)", pr["unattributed"], 3)
    ck.eq(f"{label}: none denied to root", pr["denied"], 0)
    ss = ss_holders()
    ck.eq(f"{label}: agrees with ss -tanp",
          {pid: p["tcp_ports"] for pid, p in top.items()},
          {pid: len(ports) for pid, ports in ss.items()})
    # --processes=1: the top one only; the totals stay.
    doc = nsutil.ephport_json("--processes=1", *args)
    ck.eq(f"{label}: --processes=1", [p["pid"] for p in doc["processes"]["top"]], [b.pid])
    ck.eq(f"{label}: --processes=1 processes", doc["processes"]["processes"], 2)
    # Text: the table names both.
    out = nsutil.ephport("--processes", *args).stdout
    table = out.split("processes holding pool ports", 1)[-1]
    rows = [l.split() for l in table.splitlines() if re.match(r"^\s+\d+ ", l)]
    ck.eq(f"{label}: text rows (pid, tcp, udp)",
          [(int(r[0]), int(r[3]), int(r[4])) for r in rows],
          [(b.pid, 70, 4), (a.pid, 30, 0)])
    # Prometheus: the listed processes only, one sample per protocol.
    out = nsutil.ephport("--prometheus", "--processes=2", *args).stdout
    got = sorted(re.findall(r'^ephport_process_ports\{pid="(\d+)",comm="[^"]*",'
                            r'protocol="tcp"\} (\d+)$', out, re.M))
    ck.eq(f"{label}: ephport_process_ports", got,
          sorted([(str(a.pid), "30"), (str(b.pid), "70")]))
    ck.eq(f"{label}: ephport_processes_holding",
          re.findall(r"^ephport_processes_holding\{[^}]*\} (\d+)$", out, re.M), ["2"])


def check_protocols(label, args):
    """-P tcp / -P udp: the pool count is of that protocol, and so is what
    is shown and taken from it (the BPF iterator counts both): the sources
    agree."""
    doc = nsutil.ephport_json("--all-processes", "-P", "tcp", *args)
    pr = doc["processes"]
    ck.eq(f"{label} -P tcp: source", pr["source"], label)
    ck.eq(f"{label} -P tcp: unattributed (the TIME_WAIT)", pr["unattributed"], 3)
    ck.eq(f"{label} -P tcp: processes", pr["processes"], 2)
    top = by_pid(doc)
    ck.eq(f"{label} -P tcp: (tcp ports, udp ports, udp sockets), no UDP shown",
          {pid: (p["tcp_ports"], p["udp_ports"], p["udp_sockets"]) for pid, p in top.items()},
          {a.pid: (30, 0, 0), b.pid: (70, 0, 0)})
    out = nsutil.ephport("--all-processes", "-P", "tcp", *args).stdout
    ck.eq(f"{label} -P tcp: text says 3 unattributed",
          bool(re.search(r"processes holding pool ports \(%s\): 2, 0 not readable, "
                         r"3 pool sockets unattributed" % label, out)), True)
    table = out.split("processes holding pool ports", 1)[-1]
    rows = [l.split() for l in table.splitlines() if re.match(r"^\s+\d+ ", l)]
    ck.eq(f"{label} -P tcp: text rows (pid, tcp, udp)",
          [(int(r[0]), int(r[3]), int(r[4])) for r in rows], [(b.pid, 70, 0), (a.pid, 30, 0)])
    doc = nsutil.ephport_json("--all-processes", "-P", "udp", *args)
    pr = doc["processes"]
    ck.eq(f"{label} -P udp: unattributed", pr["unattributed"], 0)
    ck.eq(f"{label} -P udp: processes", pr["processes"], 1)
    ck.eq(f"{label} -P udp: only b, its UDP, no (TCP) destination",
          [(p["pid"], p["tcp_ports"], p["udp_ports"], p["udp_sockets"], p["worst_destination"])
           for p in pr["top"]], [(b.pid, 0, 4, 4, None)])


def check_odd_names(label, args):
    """A comm and a cgroup path that are not UTF-8 (holdutil.OddChild):
    the JSON output is still UTF-8 JSON, each ill-formed sequence as one
    U+FFFD (what Python's errors="replace" makes of the bytes), the rest
    as it is; the text table has no byte a terminal would obey."""
    odd = holdutil.OddChild(5)
    try:
        with open(f"/proc/{odd.pid}/comm", "rb") as f:
            ck.eq(f"{label}: the kernel cut the comm at 15 bytes",
                  f.read().rstrip(b"\n"), holdutil.ODD_COMM_KEPT)
        exe = os.environ.get("EPHPORT", "./ephport")
        r = subprocess.run([exe, "-j", "--all-processes"] + args, capture_output=True)
        ck.eq(f"{label}: odd names: exit", (r.returncode, r.stderr), (0, b""))
        try:
            doc = json.loads(r.stdout)  # bytes: strict UTF-8
            # For consumers.py's schema check, as nsutil.ephport() does.
            nsutil.capture_json(["-j", "--all-processes"] + args, subprocess.CompletedProcess(
                r.args, r.returncode, r.stdout.decode("utf-8"), ""))
        except ValueError as e:
            ck.eq(f"{label}: odd names: -j --processes is UTF-8 JSON", str(e), "")
            doc = {"processes": {"top": []}}
        ck.eq(f"{label}: odd names: source", doc["processes"].get("source"), label)
        p = by_pid(doc).get(odd.pid, {})
        ck.eq(f"{label}: odd comm", p.get("comm"),
              holdutil.ODD_COMM_KEPT.decode("utf-8", "replace"))
        ck.eq(f"{label}: odd comm's udp_ports", p.get("udp_ports"), 5)
        if odd.cgroup_dir:
            path = holdutil.cgroup_v2_path(odd.pid)
            ck.eq(f"{label}: the child is in the odd cgroup",
                  path.endswith(holdutil.ODD_CGROUP + str(os.getpid()).encode()), True)
            ck.eq(f"{label}: odd cgroup", p.get("cgroup"), path.decode("utf-8", "replace"))
        else:
            print(f"note: {label}: no writable cgroup v2 hierarchy: odd cgroup not tested")
        r = subprocess.run([exe, "--all-processes"] + args, capture_output=True)
        try:
            text = r.stdout.decode("utf-8")
        except UnicodeDecodeError as e:
            text = ""
            ck.eq(f"{label}: odd names: the text output is UTF-8", str(e), "")
        ck.eq(f"{label}: odd names: no control byte in the text output",
              sorted({c for c in text if c != "\n" and (ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0)}),
              [])
        table = text.split("processes holding pool ports", 1)[-1]
        row = [l for l in table.splitlines() if re.match(r"^\s+%d " % odd.pid, l)]
        ck.eq(f"{label}: odd comm in the text table",
              bool(row) and 'ab?"\\??\u20ac\u20ac?? ' in row[0], True)
    finally:
        odd.close()


UNPRIV = r"""
import json, socket, subprocess, sys, os
exe, port = sys.argv[1], int(sys.argv[2])
keep = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
out = {"pid": os.getpid(), "runs": []}
for extra in sys.argv[3:] or [""]:
    args = [exe, "--all-processes", "--json"] + (extra.split() if extra else [])
    r = subprocess.run(args, capture_output=True, text=True)
    out["runs"].append({"rc": r.returncode, "stderr": r.stderr,
                        "doc": json.loads(r.stdout)["processes"] if r.returncode == 0 else None})
print(json.dumps(out))
"""


def check_unprivileged(pins):
    exe = os.path.abspath(os.environ.get("EPHPORT", "./ephport"))
    runs = ["--source procfs"] + ([f"--bpf-pin {pins}"] if pins else [])
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "--inh-caps=-all", "--bounding-set=-all", "/usr/bin/python3",
                        "-c", UNPRIV, exe, str(LISTEN_PORT)] + runs,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        ck.eq("unprivileged run", r.stderr[-800:], "")
        return
    res = json.loads(r.stdout.strip().splitlines()[-1])
    for extra, run in zip(runs, res["runs"]):
        label = f"uid 65534 {extra.split()[0]}"
        ck.eq(f"{label}: exit", (run["rc"], run["stderr"]), (0, ""))
        doc = run["doc"] or {"top": [], "denied": 0, "source": None}
        ck.eq(f"{label}: source", doc["source"], "bpf" if "bpf" in extra else "procfs")
        ck.eq(f"{label}: only its own process",
              [(p["pid"], p["tcp_ports"]) for p in doc["top"]], [(res["pid"], 5)])
        ck.eq(f"{label}: root's processes denied", doc["denied"] >= 2, True)


PIDNS = r"""
import json, os, socket, subprocess, sys
exe, port, py = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def last_pid(n):
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(n))
last_pid(5000)
child = subprocess.Popen([py, "-c", "import socket, sys\n"
                          "k = [socket.create_connection(('127.0.0.1', %d)) for _ in range(7)]\n"
                          "print('ready', flush=True)\nsys.stdin.read()" % port],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
child.stdout.readline()
last_pid(100)
out = {"pid": child.pid, "runs": {}}
for extra in sys.argv[4:]:
    r = subprocess.run([exe, "--all-processes", "--json"] + extra.split(),
                       capture_output=True, text=True)
    out["runs"][extra] = json.loads(r.stdout)["processes"] if r.returncode == 0 else r.stderr
child.stdin.close()
child.wait()
print(json.dumps(out))
"""


def check_pid_namespace(pins):
    """In a pid namespace of its own (its own /proc), pids are that
    namespace's, by both sources, and the processes outside are not seen.
    The holder's pid (5001, by ns_last_pid) is above ephport's (101...): it
    is the iterator's last process, whose record is written with the tail
    in one piece."""
    exe = os.path.abspath(os.environ.get("EPHPORT", "./ephport"))
    runs = ["--source procfs"] + ([f"--bpf-pin {pins}"] if pins else [])
    r = subprocess.run(["unshare", "-p", "-f", "--mount-proc", sys.executable, "-c", PIDNS,
                        exe, str(LISTEN_PORT), sys.executable] + runs,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        ck.eq("pid namespace run", r.stderr[-800:], "")
        return
    res = json.loads(r.stdout.strip().splitlines()[-1])
    ck.eq("pid namespace: the holder's pid (ns_last_pid 5000)", res["pid"], 5001)
    for extra in runs:
        doc = res["runs"][extra]
        label = f"pid namespace {extra.split()[0]}"
        if not isinstance(doc, dict):
            ck.eq(f"{label}: exit", doc, "")
            continue
        ck.eq(f"{label}: its pids", [(p["pid"], p["tcp_ports"]) for p in doc["top"]],
              [(res["pid"], 7)])


def check_other_namespace():
    """--netns NAME and -A: each namespace's own holders."""
    name = f"eph-holders-{os.getpid()}"
    if holdutil.add_netns(name):
        ck.eq("ip netns add", False, True)
        return
    try:
        c = holdutil.start_in(name, 12)
        if c.stdout.readline().strip() != "ready":
            ck.eq("child in the other namespace", False, True)
            return
        doc = nsutil.ephport_json("--netns", name, "--processes")
        ck.eq("--netns: the other namespace's holder",
              [(p["pid"], p["tcp_ports"]) for p in doc["processes"]["top"]], [(c.pid, 12)])
        doc = nsutil.ephport_json("-A", "--all-processes", "--source", "procfs")
        by_name = {d["netns"]["name"]: d for d in doc["namespaces"]}
        ck.eq("-A: ours has a and b", sorted(p["pid"] for p in doc["processes"]["top"]),
              sorted([a.pid, b.pid]))
        ck.eq("-A: the other's",
              [(p["pid"], p["tcp_ports"]) for p in by_name.get(name, {}).get(
                  "processes", {}).get("top", [])], [(c.pid, 12)])
        out = nsutil.ephport("-A", "--processes", "--prometheus").stdout
        ck.eq("-A: ephport_process_ports has the netns label",
              bool(re.search(r'^ephport_process_ports\{netns="%s",pid="%d",' % (name, c.pid),
                             out, re.M)), True)
        c.stdin.close()
        c.wait(10)
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def bpf_load():
    exe = os.environ.get("EPHPORT_BPF")
    if not exe or not os.access(exe, os.X_OK):
        return None, None
    mnt = tempfile.mkdtemp(prefix="ephport-bpffs.")
    os.chmod(mnt, 0o755)
    subprocess.check_call(["mount", "-t", "bpf", "none", mnt])
    pins = os.path.join(mnt, "ephport")
    r = subprocess.run([exe, "load", "-d", pins], capture_output=True, text=True)
    ck.eq("ephport-bpf load", (r.returncode, r.stderr), (0, ""))
    if not os.path.exists(os.path.join(pins, "holders")):
        ck.eq("DIR/holders pinned", False, True)
    st = subprocess.run([exe, "status", "-d", pins], capture_output=True, text=True)
    ck.eq("ephport-bpf status names the holders",
          bool(re.search(r"holders: ok, range 40000-40199, 2 processes", st.stdout)), True)
    return mnt, pins


def check_holders_refused():
    """When DIR/holders cannot be pinned (here: a directory in the way of
    its temporary name), load says so, still pins the socket iterators and
    exits 0; --processes then reads /proc while the sockets come from BPF."""
    exe = os.environ.get("EPHPORT_BPF")
    if not exe or not os.access(exe, os.X_OK):
        return
    mnt = tempfile.mkdtemp(prefix="ephport-bpffs.")
    subprocess.check_call(["mount", "-t", "bpf", "none", mnt])
    pins = os.path.join(mnt, "ephport")
    try:
        os.makedirs(os.path.join(pins, "holders_new"))
        r = subprocess.run([exe, "load", "-d", pins], capture_output=True, text=True)
        ck.eq("holders refused: load exits 0", r.returncode, 0)
        ck.eq("holders refused: said so", "holders" in r.stderr, True)
        ck.eq("holders refused: pins", sorted(set(os.listdir(pins)) - {"fail_counts", "fail_detail", "fail_meta",
                                                                   "probes"}),
              ["holders_new", "tcp", "udp"])
        doc = nsutil.ephport_json("--processes", "--bpf-pin", pins)
        ck.eq("holders refused: sockets from bpf, holders from /proc",
              (doc["source"], doc["processes"]["source"]), ("bpf", "procfs"))
        ck.eq("holders refused: still both children",
              sorted(p["pid"] for p in doc["processes"]["top"]), sorted([a.pid, b.pid]))
    finally:
        if os.path.isdir(os.path.join(pins, "holders_new")):
            os.rmdir(os.path.join(pins, "holders_new"))
        subprocess.call([exe, "unload", "-d", pins])
        subprocess.call(["umount", mnt])
        os.rmdir(mnt)


def bpf_unload(mnt, pins):
    subprocess.call([os.environ["EPHPORT_BPF"], "unload", "-d", pins])
    ck.eq("unload removed DIR/holders", os.path.exists(os.path.join(pins, "holders")), False)
    subprocess.call(["umount", mnt])
    os.rmdir(mnt)


try:
    check_source("procfs", ["--source", "procfs"], "procfs")
    check_protocols("procfs", ["--source", "procfs"])
    check_odd_names("procfs", ["--source", "procfs"])
    check_other_namespace()
    mnt, pins = bpf_load()
    try:
        if pins:
            check_source("bpf", ["--bpf-pin", pins], "bpf")
            check_protocols("bpf", ["--source", "bpf", "--bpf-pin", pins])
            check_odd_names("bpf", ["--bpf-pin", pins])
        else:
            print("note: ephport-bpf not built: the BPF source is not tested")
        check_unprivileged(pins)
        check_pid_namespace(pins)
        check_holders_refused()
    finally:
        if pins:
            bpf_unload(mnt, pins)
finally:
    held.release()
    nsutil.stop_spawned()
    held.close()
ck.done()
