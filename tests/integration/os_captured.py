#!/usr/bin/env python3
"""`ephport --os NAME --range-file FILE --sockets-file FILE` on the fixture
sets of tests/fixtures/os/ in every output format (text, --json,
--prometheus, check), its errors, `ephport advise --os`, and `ephport
advise` live in a private network namespace with a small range and a
listener inside it: the advice must name both and print the commands."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402

# Everything runs in a private namespace when root can make one (the live
# part needs it); without root the captured part runs alone.
if os.geteuid() == 0:
    nsutil.enter_private_netns([os.path.abspath(__file__)])

ck = nsutil.Checker()
EXE = os.environ.get("EPHPORT", "./ephport")
FIX = os.path.join(os.environ.get("EPH_FIXTURES", "tests/fixtures"), "os")


def run(*args):
    r = subprocess.run([EXE] + list(args), capture_output=True, text=True)
    nsutil.capture_json(args, r)  # for the schema check (consumers.py)
    if r.returncode < 0 or "Sanitizer" in r.stderr:
        print(r.stderr)
    nsutil.capture_json(args, r)
    return r


def fx(osname, name):
    return os.path.join(FIX, osname, name)


# (os, range file, sockets file, label, per protocol:
#  (low, high, sockets_total, sockets_in_range, ports_in_use,
#   listeners_in_range, time_wait), second range or None)
SETS = [
    ("freebsd", "portrange.txt", "netstat.txt", "FreeBSD",
     {"tcp": (10000, 65535, 10, 8, 8, 1, 2), "udp": (10000, 65535, 3, 2, 2, 1, 0)},
     (49152, 65535)),
    ("freebsd", "portrange.txt", "sockstat.txt", "FreeBSD",
     {"tcp": (10000, 65535, 6, 4, 4, 1, 0), "udp": (10000, 65535, 2, 1, 1, 0, 0)},
     (49152, 65535)),
    ("macos", "portrange.txt", "netstat.txt", "macOS",
     {"tcp": (49152, 65535, 5, 3, 3, 1, 0), "udp": (49152, 65535, 2, 1, 1, 0, 0)},
     (49152, 65535)),
    ("openbsd", "sysctl.txt", "netstat.txt", "OpenBSD",
     {"tcp": (1024, 49151, 7, 3, 3, 1, 1), "udp": (1024, 49151, 3, 1, 1, 0, 0)},
     (49152, 65535)),
    ("aix", "no-a.txt", "netstat.txt", "AIX",
     {"tcp": (32768, 65535, 7, 4, 4, 1, 0), "udp": (49152, 65535, 3, 1, 1, 0, 0)},
     None),
    ("solaris", "ndd.txt", "netstat.txt", "Solaris/illumos",
     {"tcp": (32768, 65535, 9, 5, 5, 1, 1), "udp": (32768, 65535, 5, 2, 2, 1, 0)},
     None),
    ("solaris", "ipadm.txt", "netstat.txt", "Solaris/illumos",
     {"tcp": (32768, 65535, 9, 5, 5, 1, 1), "udp": (40000, 65535, 5, 0, 0, 0, 0)},
     None),
    ("hpux", "ndd.txt", "netstat.txt", "HP-UX",
     {"tcp": (49152, 65535, 5, 3, 3, 1, 1), "udp": (49152, 65535, 2, 1, 1, 0, 0)},
     None),
    ("tru64", "sysconfig.txt", "netstat.txt", "Tru64 UNIX",
     {"tcp": (1024, 5000, 5, 4, 4, 1, 2), "udp": (1024, 5000, 1, 0, 0, 0, 0)},
     None),
    ("irix", "in.h.txt", "netstat.txt", "IRIX",
     {"tcp": (1024, 65535, 3, 2, 2, 1, 0), "udp": (1024, 65535, 1, 1, 1, 1, 0)},
     None),
    ("bsdos", "in.h.txt", "netstat.txt", "BSD/OS",
     {"tcp": (49152, 65535, 2, 1, 1, 0, 0), "udp": (49152, 65535, 1, 0, 0, 0, 0)},
     None),
    ("windows", "dynamicport.txt", "netstat-ano.txt", "Windows",
     {"tcp": (49152, 65535, 10, 6, 6, 2, 1), "udp": (49152, 65535, 4, 2, 2, 1, 0)},
     None),
    ("windows", "dynamicport-xp-like.txt", "netstat-an.txt", "Windows",
     {"tcp": (1025, 5000, 2, 0, 0, 0, 0)}, None),
    ("linux", "sysctl.txt", "ss.txt", "Linux",
     {"tcp": (40000, 40099, 9, 5, 5, 1, 1), "udp": (40000, 40099, 3, 2, 2, 1, 0)},
     None),
]

KEYS = ("sockets_total", "sockets_in_range", "ports_in_use",
        "listeners_in_range", "time_wait")

for osname, rfile, sfile, label, want, alt in SETS:
    what = f"{osname} {rfile} {sfile}"
    args = ["--os", osname, "--range-file", fx(osname, rfile),
            "--sockets-file", fx(osname, sfile)]

    # JSON: every number, the captured block.
    r = run("--json", *args)
    ck.eq(f"{what}: --json exit", r.returncode, 0)
    if r.returncode != 0:
        print(r.stderr)
        continue
    d = json.loads(r.stdout)
    ck.eq(f"{what}: protocols", sorted(d["protocols"]), sorted(want))
    for proto, (low, high, *counts) in want.items():
        p = d["protocols"].get(proto)
        if not p:
            continue
        ck.eq(f"{what}: {proto} range", (p["range"]["low"], p["range"]["high"]),
              (low, high))
        ck.eq(f"{what}: {proto} counts", tuple(p[k] for k in KEYS), tuple(counts))
    ck.eq(f"{what}: captured os", d["captured"]["os"], osname)
    ck.eq(f"{what}: host os_name", d["host"]["os_name"], label)
    sr = d["captured"]["second_range"]
    ck.eq(f"{what}: second range", (sr["low"], sr["high"]) if sr else None, alt)

    # Text: the range line and the system's note.
    r = run(*args)
    ck.eq(f"{what}: text exit", r.returncode, 0)
    for proto, (low, high, *_) in want.items():
        ck.eq(f"{what}: text names {proto} range {low}-{high}",
              f"range {low}-{high} (" in r.stdout, True)
    ck.eq(f"{what}: text names {label}", f"\n{label}: " in r.stdout, True)

    # Prometheus: the same numbers.
    r = run("--prometheus", *args)
    ck.eq(f"{what}: prometheus exit", r.returncode, 0)
    for proto, (low, high, total, inr, ports, lis, tw) in want.items():
        for metric, value in (("ephport_range_low", low),
                              ("ephport_range_high", high),
                              ("ephport_ports_in_use", ports),
                              ("ephport_listeners_in_range", lis)):
            m = re.search(rf'^{metric}{{protocol="{proto}"}} (\S+)$',
                          r.stdout, re.M)
            ck.eq(f"{what}: {metric}{{{proto}}}",
                  int(float(m.group(1))) if m else None, value)

    # check: OK at the default thresholds.
    r = run("check", *args)
    ck.eq(f"{what}: check exit", r.returncode, 0)
    ck.eq(f"{what}: check OK", r.stdout.startswith("EPHPORT OK - "), True)

# check thresholds apply to captured numbers: Tru64's 4 of 3977 is 0.10 %.
r = run("check", "-w", "0.05", "-c", "0.09", "--os", "tru64", "--range-file",
        fx("tru64", "sysconfig.txt"), "--sockets-file", fx("tru64", "netstat.txt"))
ck.eq("tru64 check -c 0.09: CRITICAL", (r.returncode, r.stdout[:18]),
      (2, "EPHPORT CRITICAL -"))

# The range alone (no socket table); a static range with no file at all.
d = json.loads(run("--json", "--os", "hpux", "--range-file",
                   fx("hpux", "ndd.txt")).stdout)
ck.eq("hpux range only: tcp sockets", d["protocols"]["tcp"]["sockets_total"], 0)
ck.eq("hpux range only: sockets_file", d["captured"]["sockets_file"], None)
d = json.loads(run("--json", "--os", "bsdos").stdout)
ck.eq("bsdos without a range file", d["protocols"]["udp"]["range"]["low"], 49152)

# --help names every system, in 80 columns.
r = run("--help")
ck.eq("--help names every system",
      [n for n in ("linux", "freebsd", "macos", "openbsd", "aix", "solaris", "hpux",
                   "tru64", "irix", "bsdos", "windows") if n not in r.stdout], [])
ck.eq("--help fits 80 columns", [l for l in r.stdout.splitlines() if len(l) > 80], [])

# --- errors -------------------------------------------------------------------
r = run("--os", "plan9", "--range-file", fx("aix", "no-a.txt"))
ck.eq("unknown os: exit 2", r.returncode, 2)
ck.eq("unknown os: names the known ones", "linux, freebsd" in r.stderr, True)
r = run("--os", "freebsd")
ck.eq("freebsd without --range-file: exit 2", r.returncode, 2)
ck.eq("... names the command", "sysctl net.inet.ip.portrange" in r.stderr, True)
r = run("--range-file", fx("aix", "no-a.txt"))
ck.eq("--range-file without --os: exit 2", r.returncode, 2)
r = run("--os", "aix", "--range-file", fx("aix", "netstat.txt"))
ck.eq("aix on a netstat file: exit 1", (r.returncode, r.stdout), (1, ""))
ck.eq("... says which file and line",
      fx("aix", "netstat.txt") + ": AIX range (`no -a`): line 1" in r.stderr, True)
r = run("--os", "linux", "--range-file", fx("linux", "sysctl.txt"),
        "--sockets-file", fx("solaris", "netstat.txt"))
ck.eq("linux on a Solaris netstat: exit 1", r.returncode, 1)
ck.eq("... names the sockets file", fx("solaris", "netstat.txt") + ": Linux socket table"
      in r.stderr, True)
r = run("--os", "aix", "--range-file", "/nonexistent/no-a")
ck.eq("missing file: exit 1", r.returncode, 1)
ck.eq("... says so", "/nonexistent/no-a: No such file or directory" in r.stderr, True)
r = run("check", "--os", "aix", "--range-file", fx("aix", "netstat.txt"))
ck.eq("check on a bad file: UNKNOWN", (r.returncode, r.stdout[:17]),
      (3, "EPHPORT UNKNOWN -"))
r = run("advise", "--firewall", "5000-100")
ck.eq("--firewall 5000-100: exit 2", r.returncode, 2)
r = run("--firewall", "49152-65535")
ck.eq("--firewall outside advise: exit 2", r.returncode, 2)

# --- advise on captured outputs ------------------------------------------------
r = run("advise", "--os", "freebsd", "--range-file", fx("freebsd", "portrange-legacy.txt"),
        "--sockets-file", fx("freebsd", "netstat.txt"))
ck.eq("advise freebsd legacy: exit", r.returncode, 0)
ck.eq("... legacy warning", "range 1024-5000 is the old BSD" in r.stdout, True)
ck.eq("... the sysctl now",
      "sysctl net.inet.ip.portrange.first=49152 net.inet.ip.portrange.last=65535"
      in r.stdout, True)
ck.eq("... and in /etc/sysctl.conf",
      "echo 'net.inet.ip.portrange.first=49152' >> /etc/sysctl.conf" in r.stdout, True)
ck.eq("... the second range", "second range 49152-65535" in r.stdout, True)

d = json.loads(run("advise", "--json", "--firewall", "50000-60000", "--os", "windows",
                   "--range-file", fx("windows", "dynamicport.txt"),
                   "--sockets-file", fx("windows", "netstat-ano.txt")).stdout)
codes = {f["code"] for f in d["advice"]["findings"]}
ck.eq("advise windows --firewall: findings",
      {"firewall_misaligned", "listener_in_range"} <= codes and "firewall_exposes" not in codes, True)
ck.eq("... target is the firewall's", (d["advice"]["target"]["low"],
                                       d["advice"]["target"]["high"]), (50000, 60000))
ck.eq("... netsh command", d["advice"]["commands"]["now"][0],
      "netsh int ipv4 set dynamicport tcp start=50000 num=10001")

for osname, rfile, needle in (
        ("aix", "no-a.txt", "/usr/sbin/no -p -o tcp_ephemeral_low="),
        ("solaris", "ipadm.txt", "ipadm set-prop -p smallest_anon_port="),
        ("hpux", "ndd.txt", "NDD_NAME[1]=tcp_smallest_anon_port"),
        ("tru64", "sysconfig.txt", "/sbin/sysconfigdb -m -f /tmp/inet.stanza inet"),
        ("openbsd", "sysctl.txt", "sysctl net.inet.ip.portfirst="),
        ("irix", "in.h.txt", "IRIX has no setting"),
        ("linux", "sysctl.txt", "net.ipv4.ip_local_reserved_ports=40010-40014,"
                                "40020,40030,40050")):
    r = run("advise", "--os", osname, "--range-file", fx(osname, rfile),
            "--sockets-file", fx(osname, "ss.txt" if osname == "linux" else "netstat.txt"))
    ck.eq(f"advise {osname}: prints {needle!r}", needle in r.stdout, True)
    if needle not in r.stdout:
        print(r.stdout)

# Windows' excluded port ranges are its reserved ports.
d = json.loads(run("advise", "--json", "--os", "windows", "--range-file",
                   fx("windows", "dynamicport-excluded.txt"), "--sockets-file",
                   fx("windows", "netstat-ano.txt")).stdout)
ck.eq("windows excludedportrange: reserved", d["protocols"]["tcp"]["range"]["reserved"], 161)
ck.eq("windows excludedportrange: usable", d["protocols"]["tcp"]["range"]["usable"], 16223)
ck.eq("windows excludedportrange: advised",
      [f["message"] for f in d["advice"]["findings"] if f["code"] == "reserved_ports"],
      ["161 ports inside the range are reserved (excluded port ranges (netsh int "
       "ipv4 show excludedportrange)): 16223 of 16384 stay usable"])

# A range that already is the target says so.
r = run("advise", "--os", "hpux", "--range-file", fx("hpux", "ndd.txt"))
ck.eq("advise hpux: already 49152-65535",
      "The range already is 49152-65535 (IANA's dynamic range)" in r.stdout, True)

# A reserved list too long to print whole gives no (cut, wrong) command.
tmp = tempfile.mkdtemp(prefix="ephport-os-")
with open(os.path.join(tmp, "range"), "w") as f:
    f.write("net.ipv4.ip_local_port_range = 10000 60000\n"
            "net.ipv4.ip_local_reserved_ports = "
            + ",".join(str(p) for p in range(10000, 30000, 2)) + "\n")
with open(os.path.join(tmp, "ss"), "w") as f:
    f.write("Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
            "tcp LISTEN 0 128 0.0.0.0:50001 0.0.0.0:*\n")
d = json.loads(run("advise", "--json", "--os", "linux", "--range-file",
                   os.path.join(tmp, "range"), "--sockets-file",
                   os.path.join(tmp, "ss")).stdout)
ck.eq("long reserved list: noted",
      "reserve_list_long" in [f["code"] for f in d["advice"]["findings"]], True)
ck.eq("long reserved list: no reserve command", d["advice"]["commands"]["reserve"], [])
ck.eq("long reserved list: 10000 reserved", d["protocols"]["tcp"]["range"]["reserved"],
      10000)
shutil.rmtree(tmp)

# --- advise live, in a private namespace --------------------------------------
def live():
    nsutil.setup_namespace(40000, 40009, "")
    srv = nsutil.tcp_listen("127.0.0.1", 40005)
    r = run("advise")
    ck.eq("live advise: exit", r.returncode, 0)
    out = r.stdout
    ck.eq("live advise: Linux (live)", "ephport advise: Linux (live)" in out, True)
    ck.eq("live advise: names the small range",
          "range 40000-40009 leaves only 10 usable ports" in out, True)
    ck.eq("live advise: names the listener", "127.0.0.1:40005" in out, True)
    ck.eq("live advise: the command now",
          'sysctl -w net.ipv4.ip_local_port_range="49152 65535"' in out, True)
    ck.eq("live advise: the persistent file",
          "/etc/sysctl.d/60-ephemeral-ports.conf" in out, True)
    ck.eq("live advise: reserving the listener's port",
          "sysctl -w net.ipv4.ip_local_reserved_ports=40005" in out, True)
    if "40005" not in out:
        print(out)
    d = json.loads(run("advise", "--json").stdout)
    codes = [f["code"] for f in d["advice"]["findings"]]
    ck.eq("live advise --json: small_range", "small_range" in codes, True)
    ck.eq("live advise --json: listener_in_range", "listener_in_range" in codes, True)
    ck.eq("live advise --json: the snapshot too",
          d["protocols"]["tcp"]["listeners"], [{"address": "127.0.0.1", "port": 40005}])
    r = run("advise", "--firewall", "40000-40009")
    ck.eq("live advise --firewall aligned",
          "range 40000-40009 is exactly the firewall's open range" in r.stdout, True)
    srv.close()


if os.environ.get("EPH_IN_NETNS") == "1":
    live()
else:
    print("note: not root, the live advise part was not run")
ck.done()
