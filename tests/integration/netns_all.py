#!/usr/bin/env python3
"""`ephport --all-namespaces` and `--netns SPEC` (issue 12) on real
namespaces: three made with `ip netns add` (eph-a/b/c-PID), each with its
own ip_local_port_range, ip_local_reserved_ports and socket mix (B near
exhaustion), and a fourth held only by an `unshare -n` process (no name).
Every namespace's numbers are asserted by construction and cross-checked
with `ss` inside it (`ip netns exec NAME ss`, `nsenter -t PID -n ss`), in
JSON, Prometheus (a netns label, each family one group: own check,
promtool, prometheus_client), text (one block per namespace) and check
(the worst namespace named).  Without CAP_SYS_ADMIN the options fail
naming it; a deleted namespace is gone from the next run, without error.

The test itself runs in a private network namespace (its own, first in
every --all-namespaces run); other namespaces of the host (other tests')
may be listed too and are only checked for form.
"""
import atexit
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402

if os.geteuid() != 0:
    print("SKIP: needs root (ip netns add, setns())", file=sys.stderr)
    sys.exit(nsutil.SKIP)
for tool in ("ip", "ss", "nsenter", "unshare"):
    if not shutil.which(tool):
        print(f"SKIP: {tool} not found", file=sys.stderr)
        sys.exit(nsutil.SKIP)
nsutil.enter_private_netns(sys.argv)
ck = nsutil.Checker()

PID = os.getpid()
NAMES = {k: f"eph-{k}-{PID}" for k in ("a", "b", "c")}


def cleanup():
    for name in NAMES.values():
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


atexit.register(cleanup)   # registered after nsutil's: runs before it

# Runs inside each namespace: its settings, its sockets, then holds them
# until its stdin closes (the test ends) or it is stopped.
HELPER = r"""
import json, socket, subprocess, sys
spec = json.loads(sys.argv[1])
subprocess.check_call(["ip", "link", "set", "lo", "up"])
for k, v in spec["sysctl"].items():
    with open("/proc/sys/" + k, "w") as f:
        f.write(v)
keep = []
for fam, addr, port in spec["listen"]:
    s = socket.socket(socket.AF_INET6 if fam == 6 else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == 6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    s.listen(4096)
    keep.append(s)
for fam, addr, port, n in spec["connect"]:
    for _ in range(n):
        c = socket.socket(socket.AF_INET6 if fam == 6 else socket.AF_INET, socket.SOCK_STREAM)
        c.connect((addr, port))
        keep.append(c)
for s in keep[:len(spec["listen"])]:
    s.setblocking(False)
    try:
        while True:
            keep.append(s.accept()[0])
    except BlockingIOError:
        pass
if spec.get("udp"):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 5353))
    keep.append(u)
    for _ in range(spec["udp"]):
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.connect(("127.0.0.1", 5353))
        keep.append(c)
print("ready", flush=True)
sys.stdin.read()
"""


def sysctls(low, high, reserved):
    return {"net/ipv4/ip_local_port_range": f"{low} {high}",
            "net/ipv4/ip_local_reserved_ports": reserved,
            "net/ipv4/tcp_tw_reuse": "0"}


# name: (low, high, reserved, listen, connect, udp clients)
SPECS = {
    "a": (41000, 41099, "41010-41019", [(4, "127.0.0.1", 8080)],
          [(4, "127.0.0.1", 8080, 20)], 3),
    # Near exhaustion: 46 of 50 ports towards one destination.
    "b": (42000, 42049, "", [(4, "127.0.0.1", 8080)],
          [(4, "127.0.0.1", 8080, 46)], 0),
    # A listener inside the range; IPv4 and IPv6 destinations.
    "c": (43000, 43999, "43100-43199,43500",
          [(4, "0.0.0.0", 43050), (4, "127.0.0.1", 9000), (6, "::1", 9000)],
          [(4, "127.0.0.1", 9000, 5), (6, "::1", 9000, 3)], 0),
    # The unnamed one, held by its process only.
    "d": (44000, 44009, "44005", [(4, "127.0.0.1", 8080)],
          [(4, "127.0.0.1", 8080, 4)], 0),
}


def start(key):
    low, high, res, listen, connect, udp = SPECS[key]
    spec = json.dumps({"sysctl": sysctls(low, high, res), "listen": listen,
                       "connect": connect, "udp": udp})
    if key == "d":
        cmd = ["unshare", "-n", sys.executable, "-c", HELPER, spec]
    else:
        cmd = ["ip", "netns", "exec", NAMES[key], sys.executable, "-c", HELPER, spec]
    p = nsutil.spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if line.strip() != "ready":
        raise AssertionError(f"namespace {key}: helper failed ({p.poll()})")
    return p


helpers = {}
try:
    for key in ("a", "b", "c"):
        r = subprocess.run(["ip", "netns", "add", NAMES[key]], capture_output=True, text=True)
        if r.returncode:
            print(f"SKIP: ip netns add: {r.stderr.strip()}", file=sys.stderr)
            sys.exit(nsutil.SKIP)
    for key in SPECS:
        helpers[key] = start(key)
except BaseException:
    cleanup()
    raise
D_PID = helpers["d"].pid   # unshare execs the helper: the same process


def ino(path):
    return os.stat(path).st_ino


INODES = {k: ino(f"/run/netns/{NAMES[k]}") for k in ("a", "b", "c")}
INODES["d"] = ino(f"/proc/{D_PID}/ns/net")
OWN = ino("/proc/self/ns/net")


def ss_rows(key, proto):
    flag = "-Htan" if proto == "tcp" else "-Huan"
    if key == "d":
        cmd = ["nsenter", "-t", str(D_PID), "-n", "ss", flag]
    else:
        cmd = ["ip", "netns", "exec", NAMES[key], "ss", flag]
    rows = []
    for line in subprocess.check_output(cmd, text=True).splitlines():
        f = line.split()
        if len(f) >= 5:
            rows.append((f[0],) + nsutil.split_endpoint(f[3]) + nsutil.split_endpoint(f[4]))
    return rows


def pct(n, usable):
    return n * 10000 // usable / 100


def expected(key):
    """The numbers each namespace must show, by construction."""
    low, high, res, listen, connect, udp = SPECS[key]
    reserved = nsutil.parse_reserved(res)
    size = high - low + 1
    resv = len([p for p in reserved if low <= p <= high])
    usable = size - resv
    in_range_listeners = sum(1 for _, _, port in listen if low <= port <= high)
    clients = sum(n for *_, n in connect)
    in_use = clients + in_range_listeners
    worst = max((n for *_, n in connect), default=0)
    bind_bp = pct(in_use, usable)
    connect_bp = pct(in_range_listeners + worst, usable)
    return {
        "range": {"low": low, "high": high, "size": size, "reserved": resv, "usable": usable},
        "ports_in_use": in_use, "ports_free": usable - in_use,
        "sockets_in_range": in_use,
        # listeners, clients and the accepted ends
        "sockets_total": len(listen) + 2 * clients,
        "listeners_in_range": in_range_listeners,
        "bind_pressure_percent": bind_bp,
        "connect_pressure_percent": connect_bp,
        "pressure": (max(bind_bp, connect_bp), "connect" if connect_bp >= bind_bp else "bind"),
        "udp_ports_in_use": udp,
    }


def cross_check(what, key, doc):
    """doc (one namespace's document) against `ss` in that namespace."""
    want = expected(key)
    low, high, res = SPECS[key][:3]
    reserved = nsutil.parse_reserved(res)
    tcp, udp = doc["protocols"]["tcp"], doc["protocols"]["udp"]
    ck.eq(f"{what}: tcp range", tcp["range"], want["range"])
    ck.eq(f"{what}: udp range", udp["range"], want["range"])
    ck.eq(f"{what}: its own tcp_tw_reuse", doc["kernel_settings"]["tcp_tw_reuse"], 0)
    for k in ("ports_in_use", "ports_free", "sockets_in_range", "sockets_total",
              "listeners_in_range", "bind_pressure_percent", "connect_pressure_percent"):
        ck.eq(f"{what}: tcp {k}", tcp[k], want[k])
    ck.eq(f"{what}: tcp pressure", (tcp["pressure"]["percent"], tcp["pressure"]["kind"]),
          want["pressure"])
    ck.eq(f"{what}: udp ports_in_use", udp["ports_in_use"], want["udp_ports_in_use"])
    for proto, got in (("tcp", tcp), ("udp", udp)):
        rows = ss_rows(key, proto)
        pool = [r for r in rows if nsutil.in_pool(r[2], low, high, reserved)]
        ports = {r[2] for r in pool}
        ck.eq(f"{what}: {proto} ports_in_use == ss", got["ports_in_use"], len(ports))
        ck.eq(f"{what}: {proto} sockets_in_range == ss", got["sockets_in_range"], len(pool))
        ck.eq(f"{what}: {proto} sockets_total == ss", got["sockets_total"], len(rows))
        ck.eq(f"{what}: {proto} bind pressure == ss", got["bind_pressure_percent"],
              pct(len(ports), want["range"]["usable"]))


def by_inode(doc):
    return {n["netns"]["inode"]: n for n in doc["namespaces"]}


# --- --all-namespaces --json ------------------------------------------------
allj = nsutil.ephport_json("--all-namespaces")
spaces = by_inode(allj)
first = allj["namespaces"][0]
ck.eq("-A: the own namespace first", first["netns"], {"name": "", "inode": OWN, "kind": "self"})
ck.eq("-A: the top level is the own namespace's document",
      {k: v for k, v in allj.items() if k != "namespaces"}, first)
ck.eq("-A: each namespace once", len(spaces), len(allj["namespaces"]))
ck.eq("-A: every entry has the top level's keys",
      [n["netns"]["name"] for n in allj["namespaces"]
       if set(n) != set(first)], [])
for key in ("a", "b", "c"):
    n = spaces.get(INODES[key])
    ck.eq(f"-A: {NAMES[key]} listed", n and n["netns"],
          {"name": NAMES[key], "inode": INODES[key], "kind": "named"})
    if n:
        cross_check(f"-A {NAMES[key]}", key, n)
d = spaces.get(INODES["d"])
ck.eq("-A: the unnamed namespace listed", d is not None, True)
if d:
    ck.eq("-A: the unnamed namespace's kind", d["netns"]["kind"] in ("pid", "container"), True)
    if d["netns"]["kind"] == "pid":
        ck.eq("-A: the unnamed namespace's name", d["netns"]["name"], f"pid:{D_PID}")
    cross_check("-A unnamed", "d", d)

# --- --netns NAME | PID | PATH ---------------------------------------------
one = nsutil.ephport_json("--netns", NAMES["b"])
ck.eq("--netns NAME: netns", one["netns"], {"name": NAMES["b"], "inode": INODES["b"],
                                            "kind": "named"})
ck.eq("--netns NAME: no namespaces list", "namespaces" in one, False)
cross_check(f"--netns {NAMES['b']}", "b", one)
one = nsutil.ephport_json("--netns", str(D_PID))
ck.eq("--netns PID: inode", one["netns"]["inode"], INODES["d"])
cross_check("--netns PID", "d", one)
one = nsutil.ephport_json("--netns", f"/run/netns/{NAMES['c']}")
ck.eq("--netns PATH: netns", one["netns"], {"name": NAMES["c"], "inode": INODES["c"],
                                            "kind": "named"})
cross_check("--netns PATH", "c", one)
if d:
    one = nsutil.ephport_json("--netns", d["netns"]["name"])
    ck.eq("--netns with the listed name", one["netns"]["inode"], INODES["d"])
r = nsutil.ephport("--netns", f"eph-none-{PID}", check=False)
ck.eq("--netns unknown: exit 2, a clear message",
      (r.returncode, r.stdout, f"'eph-none-{PID}' is no network namespace" in r.stderr),
      (2, "", True))
r = nsutil.ephport("check", "--netns", f"eph-none-{PID}", check=False)
ck.eq("check --netns unknown: UNKNOWN", (r.returncode, r.stdout.startswith("EPHPORT UNKNOWN - ")),
      (3, True))
r = nsutil.ephport("--netns", "/etc/hostname", check=False)
ck.eq("--netns a file that is no namespace: exit 2",
      (r.returncode, "'/etc/hostname' is no network namespace" in r.stderr), (2, True))
r = nsutil.ephport("--netns", NAMES["a"], "--all-namespaces", check=False)
ck.eq("--netns with -A: usage error", r.returncode, 2)

# --- Prometheus -------------------------------------------------------------
prom = nsutil.ephport("--all-namespaces", "--prometheus").stdout
samples = {}
for line in prom.splitlines():
    if line and not line.startswith("#"):
        name, value = line.rsplit(" ", 1)
        samples[name] = value
unlabelled = [line for line in prom.splitlines()
              if line and not line.startswith("#") and "{netns=\"" not in line]
ck.eq("prometheus: every sample has a netns label", unlabelled, [])
for key in ("a", "b", "c"):
    want = expected(key)
    nm = NAMES[key]
    ck.eq(f"prometheus {nm} usable_ports",
          samples.get(f'ephport_usable_ports{{netns="{nm}",protocol="tcp"}}'),
          str(want["range"]["usable"]))
    ck.eq(f"prometheus {nm} ports_in_use",
          samples.get(f'ephport_ports_in_use{{netns="{nm}",protocol="tcp"}}'),
          str(want["ports_in_use"]))
    ck.eq(f"prometheus {nm} bind pressure",
          samples.get(f'ephport_bind_pressure_ratio{{netns="{nm}",protocol="tcp"}}'),
          f"{want['bind_pressure_percent'] / 100:.4f}")
    ck.eq(f"prometheus {nm} netns_info",
          samples.get(f'ephport_netns_info{{netns="{nm}",inode="{INODES[key]}",kind="named"}}'),
          "1")
ck.eq("prometheus own namespace: netns=\"\"",
      samples.get(f'ephport_netns_info{{netns="",inode="{OWN}",kind="self"}}'), "1")
typed, current, misplaced, groups = {}, None, [], []
for line in prom.splitlines():
    if line.startswith("# TYPE "):
        current = line.split()[2]
        typed[current] = line.split()[3]
        groups.append(current)
    elif line and not line.startswith("#"):
        if line.split("{")[0].split(" ")[0] != current:
            misplaced.append(line)
ck.eq("prometheus: every sample in its family's one group", misplaced, [])
ck.eq("prometheus: each family declared once", len(groups), len(set(groups)))
if shutil.which("promtool"):
    r = subprocess.run(["promtool", "check", "metrics"], input=prom,
                       capture_output=True, text=True)
    ck.eq("promtool check metrics", (r.returncode, r.stdout + r.stderr), (0, ""))
else:
    print("SKIP: promtool not installed (Debian: prometheus)")
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
        ck.eq("prometheus_client: every sample in a typed family with HELP", got.get("bad"), [])
        ck.eq("prometheus_client: one family per name",
              len(got.get("names", [])), len(set(got.get("names", [""]))))
        ck.eq("prometheus_client: all samples parsed", got.get("samples"),
              sum(1 for line in prom.splitlines() if line and not line.startswith("#")))
        break
else:
    print("SKIP: python3 prometheus_client not installed (Debian: python3-prometheus-client)")
prom1 = nsutil.ephport("--netns", NAMES["a"], "--prometheus").stdout
ck.eq("prometheus --netns: its label on every sample",
      [line for line in prom1.splitlines() if line and not line.startswith("#")
       and f'{{netns="{NAMES["a"]}"' not in line], [])

# --- text -------------------------------------------------------------------
text = nsutil.ephport("--all-namespaces").stdout
lines = text.splitlines()
ck.eq("text: the own namespace's header first",
      [ln for ln in lines if ln.startswith("=== netns ")][:1],
      [f"=== netns (this namespace) (inode {OWN}, self) ==="])
for key in ("a", "b", "c"):
    want = expected(key)
    head = f"=== netns {NAMES[key]} (inode {INODES[key]}, named) ==="
    ck.eq(f"text: {NAMES[key]} header", head in lines, True)
    if head in lines:
        i = lines.index(head)
        rng = want["range"]
        ck.eq(f"text: {NAMES[key]} block shows its range",
              f"     range {rng['low']}-{rng['high']} ({rng['size']} ports, "
              f"{rng['reserved']} reserved, {rng['usable']} usable)" in lines[i:i + 8], True)
# Other tests' namespaces come and go: the count is this run's own.
m = re.search(r": (\d+) network namespaces$", lines[0])
ck.eq("text: the first line counts them, one block each",
      m and int(m.group(1)), sum(1 for ln in lines if ln.startswith("=== netns ")))
t1 = nsutil.ephport("--netns", NAMES["c"]).stdout.splitlines()
ck.eq("text --netns: one header", [ln for ln in t1 if ln.startswith("=== netns ")],
      [f"=== netns {NAMES['c']} (inode {INODES['c']}, named) ==="])
plain = nsutil.ephport().stdout
ck.eq("text default: no namespace header", "=== netns" in plain, False)
ck.eq("json default: no netns key", "netns" in nsutil.ephport_json(), False)

# --- check ------------------------------------------------------------------
r = nsutil.ephport("check", "--all-namespaces", check=False)
status, _, perf = r.stdout.strip().partition(" | ")
b_bp = expected("b")["pressure"][0]
ck.eq("check -A: CRITICAL (b at 92%)", (r.returncode, status.split(" - ")[0]),
      (2, "EPHPORT CRITICAL"))
m = re.match(r"EPHPORT \w+ - netns (.*?): tcp ", status)
named = m.group(1) if m else None
press = dict(re.findall(r"(\S+)_tcp_pressure=([0-9.]+)%", perf))
ck.eq("check -A: the status line names the worst namespace",
      named == NAMES["b"] or float(press.get(named, 0)) >= b_bp, True)
if set(press) <= {"self", f"pid:{D_PID}"} | set(NAMES.values()):   # no other test's
    ck.eq("check -A: the worst is b", named, NAMES["b"])
ck.eq("check -A: the others counted", re.search(r"; \d+ namespaces, ", status) is not None, True)
ck.eq("check -A: perfdata prefixed per namespace",
      (press.get(NAMES["b"]), press.get(NAMES["a"]), press.get("self")),
      (f"{b_bp:.2f}", f"{expected('a')['pressure'][0]:.2f}", "0.00"))
r = nsutil.ephport("check", "--netns", NAMES["a"], check=False)
ck.eq("check --netns: OK, names it, perfdata unprefixed",
      (r.returncode, r.stdout.startswith(f"EPHPORT OK - netns {NAMES['a']}: tcp "),
       f" tcp_pressure={expected('a')['pressure'][0]:.2f}%;" in r.stdout), (0, True, True))
r = nsutil.ephport("check", "--netns", NAMES["b"], check=False)
ck.eq("check --netns b: CRITICAL", (r.returncode, r.stdout.split(" - ")[0]),
      (2, "EPHPORT CRITICAL"))

# --- no CAP_SYS_ADMIN -------------------------------------------------------
exe = os.environ.get("EPHPORT", "./ephport")
nocap = ["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin"]
if shutil.which("setpriv"):
    r = subprocess.run(nocap + [exe, "--all-namespaces"], capture_output=True, text=True)
    ck.eq("no CAP_SYS_ADMIN: -A exits 1 naming it",
          (r.returncode, r.stdout, "CAP_SYS_ADMIN" in r.stderr), (1, "", True))
    r = subprocess.run(nocap + [exe, "--netns", NAMES["a"], "--json"],
                       capture_output=True, text=True)
    ck.eq("no CAP_SYS_ADMIN: --netns exits 1 naming it",
          (r.returncode, r.stdout, "CAP_SYS_ADMIN" in r.stderr), (1, "", True))
    r = subprocess.run(nocap + [exe, "check", "--all-namespaces"], capture_output=True, text=True)
    ck.eq("no CAP_SYS_ADMIN: check UNKNOWN naming it",
          (r.returncode, r.stdout.startswith("EPHPORT UNKNOWN - "), "CAP_SYS_ADMIN" in r.stdout),
          (3, True, True))
    r = subprocess.run(nocap + [exe, "--json"], capture_output=True, text=True)
    ck.eq("no CAP_SYS_ADMIN: the default mode works", r.returncode, 0)
else:
    print("SKIP: setpriv not found: the capability check not run")

# --- namespaces that come and go while -A runs ----------------------------
# Processes that each hold a fresh namespace for 20 ms: some are listed
# and gone before they are collected.  Skipped, never an error.
churn = nsutil.spawn(["sh", "-c", "while :; do unshare -n sleep 0.02; done"])
runs = []
for _ in range(5):
    r = nsutil.ephport("--all-namespaces", "--json", "-v", "-P", "udp", check=False)
    ok = r.returncode == 0
    try:
        json.loads(r.stdout)
    except ValueError:
        ok = False
    noise = [ln for ln in r.stderr.splitlines() if not ln.startswith("ephport: skipped: ")]
    runs.append((ok, noise))
os.killpg(churn.pid, 9)
churn.wait()
ck.eq("churn: every -A run exits 0 with a document, only skips said",
      runs, [(True, [])] * 5)

# --- a namespace deleted, a process gone -----------------------------------
helpers["c"].stdin.close()
helpers["c"].wait(10)
subprocess.check_call(["ip", "netns", "delete", NAMES["c"]])
helpers["d"].stdin.close()
helpers["d"].wait(10)
r = nsutil.ephport("--all-namespaces", "--json", "-v")
after = json.loads(r.stdout)
names = [n["netns"]["name"] for n in after["namespaces"]]
inodes = {n["netns"]["inode"] for n in after["namespaces"]}
ck.eq("deleted: c gone, a and b still there, without error",
      (NAMES["c"] in names, INODES["d"] in inodes, NAMES["a"] in names, NAMES["b"] in names,
       r.returncode), (False, False, True, True, 0))
r = nsutil.ephport("--netns", NAMES["c"], check=False)
ck.eq("deleted: --netns it is unknown", r.returncode, 2)
r = nsutil.ephport("--all-namespaces", "--prometheus")
ck.eq("deleted: no sample of it left", f'netns="{NAMES["c"]}"' in r.stdout, False)

for p in helpers.values():
    if p.poll() is None:
        p.stdin.close()
        p.wait(10)
cleanup()
ck.done()
