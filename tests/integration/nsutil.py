"""Shared helpers for the integration tests: a private network namespace
with a tiny ephemeral range, real sockets, and `ss` as the cross-check.

Exit codes follow automake: 0 pass, 1 fail, 77 skip (no root / no netns).
"""
import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time

SKIP = 77

# Every daemon a test starts (snmpd, snmptrapd, collectd, ephportd, under
# valgrind too) goes through spawn(): each in a process group of its own,
# all stopped when the test ends, whether it passed, failed (an exception,
# sys.exit) or was interrupted (SIGTERM, SIGINT, SIGHUP).
_spawned = []


def spawn(args, **kw):
    """subprocess.Popen in a new process group, stopped at exit."""
    proc = subprocess.Popen(args, start_new_session=True, **kw)
    _spawned.append(proc)
    return proc


def stop_spawned(timeout=10):
    """SIGTERM every group still running, newest first; SIGKILL what is
    left after timeout seconds."""
    live = [p for p in reversed(_spawned) if p.poll() is None]
    for p in live:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + timeout
    for p in live:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            pass
    for p in _spawned:
        try:
            os.killpg(p.pid, signal.SIGKILL)   # stragglers of any group
        except (ProcessLookupError, PermissionError):
            pass
        if p.poll() is None:
            p.wait(5)
    _spawned.clear()


def _on_signal(sig, frame):
    # Unwinds through finally blocks, then atexit stops the daemons.
    raise SystemExit(128 + sig)


atexit.register(stop_spawned)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    if signal.getsignal(_sig) in (signal.SIG_DFL, signal.default_int_handler):
        signal.signal(_sig, _on_signal)


def forward_signals(child):
    """An interrupted test run signals this process: pass SIGTERM, SIGINT
    and SIGHUP on to child (the test in the namespace), so that it stops
    what it started and ends."""
    def forward(sig, frame):
        try:
            child.send_signal(sig)
        except ProcessLookupError:
            pass
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)


def enter_private_netns(argv):
    """Re-exec the calling script under `unshare -n` unless already there."""
    if os.environ.get("EPH_IN_NETNS") == "1":
        return
    if os.geteuid() != 0:
        print("SKIP: needs root for unshare -n", file=sys.stderr)
        sys.exit(SKIP)
    env = dict(os.environ, EPH_IN_NETNS="1")
    try:
        child = subprocess.Popen(["unshare", "-n", sys.executable] + argv, env=env)
    except FileNotFoundError:
        print("SKIP: unshare not found", file=sys.stderr)
        sys.exit(SKIP)

    forward_signals(child)
    try:
        rc = child.wait(3600)
    except subprocess.TimeoutExpired:
        child.kill()
        rc = child.wait()
    sys.exit(rc if rc >= 0 else 128 - rc)


def setup_namespace(low, high, reserved=""):
    subprocess.check_call(["ip", "link", "set", "lo", "up"])
    write_sysctl("net/ipv4/ip_local_port_range", f"{low} {high}")
    write_sysctl("net/ipv4/ip_local_reserved_ports", reserved)
    # Loopback reuses TIME_WAIT ports by default (tcp_tw_reuse=2), which
    # would make the TIME_WAIT counts depend on timing.
    write_sysctl("net/ipv4/tcp_tw_reuse", "0")


def write_sysctl(name, value):
    with open(f"/proc/sys/{name}", "w") as f:
        f.write(value)


def ephport(*args, check=True):
    exe = os.environ.get("EPHPORT", "./ephport")
    r = subprocess.run([exe] + list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"ephport {args} exited {r.returncode}: {r.stderr}")
    capture_json(args, r)
    return r


_captured = [0]


def capture_json(args, r):
    """With $EPH_JSON_CAPTURE (a directory), keep each successful --json
    output there: tests/integration/consumers.py validates them all against
    doc/ephport.schema.json."""
    d = os.environ.get("EPH_JSON_CAPTURE")
    if not d or r.returncode != 0 or not ({"--json", "-j"} & set(args)):
        return
    os.makedirs(d, exist_ok=True)
    _captured[0] += 1
    test = os.path.basename(sys.argv[0])
    with open(os.path.join(d, f"{test}-{os.getpid()}-{_captured[0]}.json"), "w") as f:
        json.dump({"test": test, "args": list(args), "stdout": r.stdout}, f)


def ephport_json(*args):
    return json.loads(ephport("--json", *args).stdout)


def ss_sockets(proto):
    """(state, local addr, local port, peer addr, peer port) from `ss`."""
    flag = "-Htan" if proto == "tcp" else "-Huan"
    out = subprocess.check_output(["ss", flag], text=True)
    rows = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 5:
            continue
        state = f[0]
        laddr, lport = split_endpoint(f[3])
        raddr, rport = split_endpoint(f[4])
        rows.append((state, laddr, lport, raddr, 0 if rport == "*" else int(rport)))
    return rows


def split_endpoint(ep):
    addr, _, port = ep.rpartition(":")
    addr = addr.strip("[]")
    if addr.startswith("::ffff:"):
        addr = addr[7:]
    return addr, (int(port) if port.isdigit() else port)


def parse_reserved(spec):
    ports = set()
    for part in filter(None, spec.split(",")):
        a, _, b = part.partition("-")
        ports.update(range(int(a), int(b or a) + 1))
    return ports


def in_pool(port, low, high, reserved):
    return isinstance(port, int) and low <= port <= high and port not in reserved


class Checker:
    def __init__(self):
        self.failures = 0
        self.checks = 0

    def eq(self, what, got, want):
        self.checks += 1
        if got != want:
            self.failures += 1
            print(f"FAIL {what}: got {got!r}, want {want!r}")
        else:
            print(f"ok   {what} = {got!r}")

    def done(self):
        print(f"{self.checks - self.failures} passed, {self.failures} failed")
        sys.exit(1 if self.failures else 0)


def tcp_listen(addr, port, family=socket.AF_INET, reuse=True):
    s = socket.socket(family, socket.SOCK_STREAM)
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1024)
    return s


def tcp_connect(addr, port, family=socket.AF_INET, bind=None, reuse=False):
    s = socket.socket(family, socket.SOCK_STREAM)
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if bind:
        s.bind(bind)
    s.connect((addr, port))
    return s


def make_time_wait(server, addr, port, n, keep):
    """n client sockets that end in TIME_WAIT on the client (active) side.
    Other connections waiting on server are accepted into keep."""
    for _ in range(n):
        c = tcp_connect(addr, port)
        while True:
            a, peer = server.accept()
            if peer[1] == c.getsockname()[1]:
                break
            keep.append(a)
        c.close()       # client FIN first: the client side keeps TIME_WAIT
        time.sleep(0.01)
        a.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        if sum(1 for r in ss_sockets("tcp") if r[0] == "TIME-WAIT") >= n:
            return
        time.sleep(0.05)


# Scenario A: range 40000-40099, reserved 40010-40014 and 40050 (usable 94).
SCENARIO_A = (40000, 40099, "40010-40014,40050")


def scenario_a_sockets():
    """The known mix of scenario A; returns the sockets to keep open.
    TCP in range: 21 established, 3 TIME_WAIT, 1 listener (40020; 40050 is
    reserved); destinations 127.0.0.1->127.0.0.1:8080 15 (3 TIME_WAIT),
    ->127.0.0.2:9090 6, ::1->::1:8080 3.  UDP: 2 connected to
    127.0.0.1:5353, one unconnected on 127.0.0.1:40030, the server on 5353."""
    keep = []
    srv_a = tcp_listen("127.0.0.1", 8080)
    srv_b = tcp_listen("127.0.0.2", 9090)
    srv_6 = tcp_listen("::1", 8080, socket.AF_INET6)
    keep += [srv_a, srv_b, srv_6]
    keep.append(tcp_listen("0.0.0.0", 40020))   # a service inside the range
    keep.append(tcp_listen("0.0.0.0", 40050))   # on a reserved port: fine
    # Explicit binds first, so no autobound socket has taken their ports.
    # The same port over IPv4 and IPv6: one port in use.
    keep.append(tcp_connect("127.0.0.1", 8080, bind=("127.0.0.1", 40060)))
    keep.append(tcp_connect("::1", 8080, socket.AF_INET6, bind=("::1", 40060)))
    # One port reused towards two destinations.
    keep.append(tcp_connect("127.0.0.1", 8080, bind=("127.0.0.1", 40070), reuse=True))
    keep.append(tcp_connect("127.0.0.2", 9090, bind=("127.0.0.1", 40070), reuse=True))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 40030))                # unconnected UDP in the range
    keep.append(u)
    make_time_wait(srv_a, "127.0.0.1", 8080, 3, keep)
    keep += [tcp_connect("127.0.0.1", 8080) for _ in range(10)]
    keep += [tcp_connect("127.0.0.2", 9090) for _ in range(5)]
    keep += [tcp_connect("::1", 8080, socket.AF_INET6) for _ in range(2)]
    for srv in (srv_a, srv_b, srv_6):
        srv.setblocking(False)
        try:
            while True:
                keep.append(srv.accept()[0])
        except BlockingIOError:
            pass
    # UDP: two connected clients.
    udp_srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp_srv.bind(("127.0.0.1", 5353))
    keep.append(udp_srv)
    for _ in range(2):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.connect(("127.0.0.1", 5353))
        keep.append(u)
    return keep
