#!/usr/bin/env python3
"""`ephport` on bad input: missing and malformed /proc files, netlink
refused (real fault injection with strace), bad options.  Each must give a
clear message, the documented exit status, and no crash."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402

ck = nsutil.Checker()
EXE = os.environ.get("EPHPORT", "./ephport")

TCP_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
              "retrnsmt   uid  timeout inode\n")
UDP_HEADER = ("   sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
              "retrnsmt   uid  timeout inode ref pointer drops\n")


def tcp_line(n, lport, rport, state):
    # 127.0.0.1 is 0100007F in host (little-endian) order.
    return (f"   {n}: 0100007F:{lport:04X} 0100007F:{rport:04X} {state:02X} "
            "00000000:00000000 00:00000000 00000000     0        0 1 1 0 0\n")


def make_root(rng="40000 40099\n", reserved="40010-40014\n", tcp=None, udp=None):
    root = tempfile.mkdtemp(prefix="ephport-root-")
    os.makedirs(f"{root}/sys/net/ipv4")
    os.makedirs(f"{root}/net")
    if rng is not None:
        open(f"{root}/sys/net/ipv4/ip_local_port_range", "w").write(rng)
    if reserved is not None:
        open(f"{root}/sys/net/ipv4/ip_local_reserved_ports", "w").write(reserved)
    if tcp is not None:
        open(f"{root}/net/tcp", "w").write(TCP_HEADER + tcp)
    if udp is not None:
        open(f"{root}/net/udp", "w").write(UDP_HEADER + udp)
    return root


def run(*args, env=None, prefix=()):
    env = dict(os.environ, **(env or {}))
    if prefix:
        # LeakSanitizer cannot run under ptrace (strace).
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    r = subprocess.run(list(prefix) + [EXE] + list(args), capture_output=True,
                       text=True, env=env)
    if r.returncode < 0 or "Sanitizer" in r.stderr:
        print(r.stderr)
    return r


def expect_failure(what, r, status, message):
    ck.eq(f"{what}: exit status", r.returncode, status)
    ck.eq(f"{what}: nothing on stdout", r.stdout, "")
    ck.eq(f"{what}: stderr says {message!r}", message in r.stderr, True)
    if message not in r.stderr:
        print(f"     stderr was: {r.stderr.strip()}")


# --- range files -------------------------------------------------------------
root = make_root(rng=None)
expect_failure("missing ip_local_port_range",
               run("--proc-root", root),
               1, f"{root}/sys/net/ipv4/ip_local_port_range: No such file or directory")
root = make_root(reserved=None)
expect_failure("missing ip_local_reserved_ports",
               run("--proc-root", root),
               1, "ip_local_reserved_ports: No such file or directory")
expect_failure("garbage range", run("--proc-root", make_root(rng="abc\n")),
               1, 'ip_local_port_range: expected "LOW HIGH" with 1 <= LOW <= HIGH <= 65535, got "abc"')
expect_failure("reversed range", run("--proc-root", make_root(rng="60000 30000\n")),
               1, 'got "60000 30000"')
expect_failure("overflowing range", run("--proc-root", make_root(rng="40000 99999999999\n")),
               1, "expected \"LOW HIGH\"")
expect_failure("garbage reserved list",
               run("--proc-root", make_root(reserved="40010-,x\n")),
               1, "ip_local_reserved_ports: expected a comma-separated list")
expect_failure("EPHPORT_PROC_ROOT is honoured",
               run(env={"EPHPORT_PROC_ROOT": make_root(rng="1 2 3\n")}),
               1, "ip_local_port_range: expected")

# --- /proc/net fallback files -------------------------------------------------
expect_failure("missing /proc/net/tcp",
               run("--source", "procfs", "--proc-root", make_root(udp="")),
               1, "net/tcp: No such file or directory")
expect_failure("malformed /proc/net/tcp",
               run("--source", "procfs", "--proc-root",
                   make_root(tcp=tcp_line(0, 40001, 80, 1) + "   1: zzzz\n", udp="")),
               1, "net/tcp:3: malformed line")

# A whole host from fixtures: exact numbers, no tcp6/udp6 (IPv6 disabled).
tcp = (tcp_line(0, 40001, 80, 1) + tcp_line(1, 40002, 80, 1) +
       tcp_line(2, 40002, 443, 6) + tcp_line(3, 40012, 80, 1) +
       tcp_line(4, 40050, 0, 0x0A) + tcp_line(5, 22, 0, 0x0A))
r = run("--json", "--source", "procfs", "--proc-root", make_root(tcp=tcp, udp=""))
ck.eq("fixture host: exit status", r.returncode, 0)
j = json.loads(r.stdout)["protocols"]["tcp"]
ck.eq("fixture host: usable", j["range"]["usable"], 95)
ck.eq("fixture host: ports_in_use (reserved 40012 excluded)", j["ports_in_use"], 3)
ck.eq("fixture host: sockets_in_range", j["sockets_in_range"], 4)
ck.eq("fixture host: sockets_total", j["sockets_total"], 6)
ck.eq("fixture host: time_wait", j["time_wait"], 1)
ck.eq("fixture host: listeners", j["listeners"], [{"address": "127.0.0.1", "port": 40050}])
ck.eq("fixture host: destinations", j["destinations"], 2)
ck.eq("fixture host: worst", (j["worst_destination"]["remote_port"],
                              j["worst_destination"]["sockets"]), (80, 2))
ck.eq("fixture host: host exhaustion", j["host_exhaustion_percent"], 3.15)

# Every port reserved: defined as 100 % with a flag, not a division by zero.
r = run("--json", "--source", "procfs", "--proc-root",
        make_root(rng="40000 40009\n", reserved="39990-40020\n", tcp="", udp=""))
ck.eq("all reserved: exit status", r.returncode, 0)
j = json.loads(r.stdout)["protocols"]["tcp"]
ck.eq("all reserved: usable", j["range"]["usable"], 0)
ck.eq("all reserved: flag", j["all_reserved"], True)
ck.eq("all reserved: exhaustion", j["exhaustion_percent"], 100.0)

# --- netlink refused (fault injection on the real syscall) --------------------
if shutil.which("strace"):
    inject = ("strace", "-f", "-o", "/dev/null", "-e", "trace=socket",
              "-e", "inject=socket:error=EAFNOSUPPORT")
    r = run("--json", "--verbose", prefix=inject)
    ck.eq("netlink refused: exit status", r.returncode, 0)
    ck.eq("netlink refused: fell back to procfs", json.loads(r.stdout or "{}").get("source"), "procfs")
    ck.eq("netlink refused: says why", "NETLINK_SOCK_DIAG): Address family not supported" in r.stderr, True)
    expect_failure("netlink refused, --source netlink",
                   run("--source", "netlink", prefix=inject), 1,
                   "netlink socket (NETLINK_SOCK_DIAG): Address family not supported")
    # The kernel refusing the request itself (no inet_diag handler).
    inject = ("strace", "-f", "-o", "/dev/null", "-e", "trace=sendto",
              "-e", "inject=sendto:error=EOPNOTSUPP")
    r = run("--json", prefix=inject)
    ck.eq("diag request refused: fell back", json.loads(r.stdout or "{}").get("source"), "procfs")
else:
    print("SKIP: strace not installed: netlink refusal not tested")
    sys.exit(nsutil.SKIP)

# --- usage ----------------------------------------------------------------------
for args, msg in ((["--top", "99"], "--top: '99' is not a number from 0 to 32"),
                  (["--top", "-1"], "--top: '-1' is not a number"),
                  (["--protocol", "sctp"], "--protocol: 'sctp' is not tcp or udp"),
                  (["--source", "magic"], "--source: 'magic' is not auto"),
                  (["--dest-cap", "0"], "--dest-cap: must be at least 1"),
                  (["--bogus"], "unrecognized option"),
                  (["extra"], "unexpected argument 'extra'")):
    expect_failure(" ".join(args), run(*args), 2, msg)
r = run("--help")
ck.eq("--help exits 0", (r.returncode, "Usage: ephport" in r.stdout), (0, True))
r = run("--version")
ck.eq("--version", r.stdout.startswith("ephport "), True)
ck.done()
