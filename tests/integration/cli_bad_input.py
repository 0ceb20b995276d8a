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
    nsutil.capture_json(args, r)
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
whole = json.loads(r.stdout)
j = whole["protocols"]["tcp"]
# No sysctl files below the root: the kernel's defaults, and said so.
ck.eq("fixture host: kernel_settings", whole["kernel_settings"], {
    "tcp_tw_reuse": 2, "tcp_tw_reuse_delay_ms": 1000, "tcp_timestamps": 1,
    "ip_autobind_reuse": 0, "read": False})
# The listener on 40050 is bind-owned; the TIME_WAIT 40002 -> :443 is on
# loopback with no timer shown (taken as old), so tcp_tw_reuse 2 lets
# connect() take it over; 127.0.0.1:80 is blocked on 40050, 40001, 40002.
ck.eq("fixture host: model", {k: j[k] for k in (
    "bind_pressure_percent", "bind_exact", "bind_owned_ports", "owners_exact",
    "connect_pressure_percent", "connect_new_destination_percent",
    "time_wait_reusable")}, {
    "bind_pressure_percent": 3.15, "bind_exact": True, "bind_owned_ports": 1,
    "owners_exact": False, "connect_pressure_percent": 3.15,
    "connect_new_destination_percent": 1.05, "time_wait_reusable": 1})
ck.eq("fixture host: destinations by connect pressure",
      [(d["remote_port"], d["sockets"], d["tw_reusable"], d["blocked_ports"],
        d["connect_pressure_percent"]) for d in j["top_destinations"]],
      [(80, 2, 0, 3, 3.15), (443, 1, 1, 1, 1.05)])
ck.eq("fixture host: pressure ties, names connect and where",
      (j["pressure"]["percent"], j["pressure"]["kind"],
       j["pressure"]["destination"] == j["worst_destination"]), (3.15, "connect", True))
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
ck.eq("all reserved: pressure", (j["pressure"]["percent"], j["bind_pressure_percent"],
                                 j["connect_pressure_percent"]), (100.0, 100.0, 100.0))

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
                  (["extra"], "unexpected argument 'extra'"),
                  # Issue 16, defect 8: no silent choice, no late failure.
                  (["--json", "--prometheus"], "--json and --prometheus: choose one"),
                  (["-m", "-j"], "--json and --prometheus: choose one"),
                  (["--proc-root", "/" + "p" * 1023], "--proc-root: expected a directory"),
                  (["--proc-root", ""], "--proc-root: expected a directory")):
    expect_failure(" ".join(args)[:40], run(*args), 2, msg)
for args in (["--json"], ["-m"]):
    r = run("check", *args)
    ck.eq(f"check {args[0]}: exit 3 UNKNOWN, saying it does not apply",
          (r.returncode, "does not apply" in r.stdout), (3, True))
for args, msg in ((["--bind-warning", "50"], "--bind-warning is for 'ephport check'"),
                  (["--connect-critical", "50"], "--connect-critical is for 'ephport check'")):
    expect_failure(" ".join(args), run(*args), 2, msg)

# `ephport check` says why on standard output (Nagios shows only that) and
# exits 3 UNKNOWN.
for args, msg in (
        (["--bind-warning", "101"], "--bind-warning: '101' is not a percent from 0 to 100"),
        (["--bind-critical", "x"], "--bind-critical: 'x' is not a percent from 0 to 100"),
        (["--connect-warning", "-5"], "--connect-warning: '-5' is not a percent"),
        (["--connect-critical", "80.123"], "--connect-critical: '80.123' is not a percent"),
        (["--warning", ""], "--warning: '' is not a percent"),
        (["--connect-warning", "95", "--connect-critical", "90"],
         "--connect-warning (95.00%) must not be above --connect-critical (90.00%)"),
        # A kind's thresholds default to --warning/--critical.
        (["--bind-critical", "70"],
         "--bind-warning (80.00%) must not be above --bind-critical (70.00%)"),
        (["-w", "50", "-c", "60", "--connect-warning", "65"],
         "--connect-warning (65.00%) must not be above --connect-critical (60.00%)"),
        (["-w", "95"], "--warning (95.00%) must not be above --critical (90.00%)")):
    r = run("check", *args)
    what = "check " + " ".join(args)
    ck.eq(f"{what}: exit 3 UNKNOWN", r.returncode, 3)
    ck.eq(f"{what}: stdout says {msg!r}", msg in r.stdout, True)
    if msg not in r.stdout:
        print(f"     stdout was: {r.stdout.strip()}")
# Good thresholds of every kind are taken (the fixture host is nearly idle).
root = make_root(tcp=tcp_line(0, 40001, 80, 1), udp="")
r = run("check", "--source", "procfs", "--proc-root", root, "-w", "10", "-c", "20",
        "--bind-warning", "1", "--bind-critical", "1.5",
        "--connect-warning", "50.5", "--connect-critical", "100")
ck.eq("check with every threshold: WARNING on bind (1.05% >= 1%)",
      (r.returncode, r.stdout.split(" |")[0]),
      (1, "EPHPORT WARNING - tcp bind pressure 1.05%, 1 of 95 ports in use "
          "(connect 1.05% to 127.0.0.1:80 from 127.0.0.1, a lower bound), "
          "udp bind pressure 0.00%, 0 of 95 ports in use"))
ck.eq("check with every threshold: perfdata", all(p in r.stdout for p in (
    "tcp_bind_pressure=1.05%;1.00;1.50;0;100", "tcp_connect_pressure=1.05%;50.50;100.00;0;100",
    "tcp_pressure=1.05%;10.00;20.00;0;100", "udp_bind_pressure=0.00%;1.00;1.50;0;100")), True)
r = run("--help")
ck.eq("--help exits 0", (r.returncode, "Usage: ephport" in r.stdout), (0, True))
r = run("--version")
ck.eq("--version", r.stdout.startswith("ephport "), True)
ck.done()
