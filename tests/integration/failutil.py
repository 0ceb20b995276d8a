"""Shared helpers for the failure-counter tests (issue 18): load the BPF
programs on a private bpf filesystem, and hit the wall in the current
network namespace with exactly K failing connect()s, K2 failing bind(0)s
and K3 failing UDP autobinds, each checked against the errno the kernel
returned.

The caller runs in a fresh namespace (nsutil.enter_private_netns): the
counters are per namespace, so they start at zero there.
"""
import errno
import json
import os
import socket
import subprocess
import tempfile

LISTEN_PORT = 5000  # outside every range used here


def bpf_load():
    """Pin the iterators and the failure counters on a private bpf
    filesystem; the pin directory, or None when ephport-bpf is not built.
    Raises SystemExit(1) when it is built but does not load."""
    exe = os.environ.get("EPHPORT_BPF")
    if not exe or not os.access(exe, os.X_OK):
        return None
    mnt = tempfile.mkdtemp(prefix="ephport-bpffs.")
    os.chmod(mnt, 0o755)
    subprocess.check_call(["mount", "-t", "bpf", "none", mnt])
    pins = os.path.join(mnt, "ephport")
    r = subprocess.run([exe, "load", "-d", pins], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(os.path.join(pins, "fail_counts")):
        print(f"FAIL ephport-bpf load: {r.stdout}{r.stderr}")
        subprocess.call(["umount", mnt])
        raise SystemExit(1)
    return pins


def map_show(path):
    """bpftool's view of the map pinned at path (a dict: type,
    max_entries, bytes_key, bytes_value, ...)."""
    r = subprocess.run(["bpftool", "-j", "map", "show", "pinned", path],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def detail_entries(pins):
    """How many destinations and processes the loaded fail_detail holds:
    its max_entries, as the kernel has it (ephport-bpf load -e)."""
    return map_show(os.path.join(pins, "fail_detail"))["max_entries"]


def bpftool(*args):
    subprocess.check_call(["bpftool"] + list(args), stdout=subprocess.DEVNULL)


def pin_layout_1(d, loaded_real_ns=1700000000123456789, detail_entries=12288):
    """Pin in d what ephport-bpf of layout version 1 left: fail_counts, a
    hash of 16384 entries (key 40, value 40 bytes) holding totals and
    details, and fail_meta {loaded_real_ns, lost, detail_entries} with no
    magic; no fail_detail."""
    os.makedirs(d, exist_ok=True)
    bpftool("map", "create", os.path.join(d, "fail_counts"), "type", "hash",
            "key", "40", "value", "40", "entries", "16384", "name", "fail_counts")
    bpftool("map", "create", os.path.join(d, "fail_meta"), "type", "array",
            "key", "4", "value", "24", "entries", "1", "name", "fail_meta")
    value = (loaded_real_ns.to_bytes(8, "little") + bytes(8)
             + detail_entries.to_bytes(8, "little"))
    bpftool("map", "update", "pinned", os.path.join(d, "fail_meta"),
            "key", "hex", "00", "00", "00", "00",
            "value", "hex", *[f"{b:02x}" for b in value])


def bpf_try_load():
    """(pins, None) when bpf_load() pinned them, else (None, why the BPF
    parts cannot run)."""
    try:
        pins = bpf_load()
    except SystemExit:
        return None, "ephport-bpf is built but does not load here (its output is above)"
    if pins is None:
        return None, "ephport-bpf is not built ($EPHPORT_BPF)"
    return pins, None


def bpf_unload(pins):
    mnt = os.path.dirname(pins)
    subprocess.call([os.environ["EPHPORT_BPF"], "unload", "-d", pins])
    subprocess.call(["umount", mnt])
    os.rmdir(mnt)


class Wall:
    """The sockets that fill the range, kept open while the test reads."""

    def __init__(self, low, high):
        self.low, self.high = low, high
        self.size = high - low + 1
        self.held = []
        self.listener = None
        self.udp_sink = None

    def close(self):
        for s in self.held:
            s.close()
        self.held.clear()


def _expect_fail(fn, want, what):
    try:
        fn()
    except OSError as e:
        if e.errno != want:
            raise AssertionError(f"{what}: {errno.errorcode.get(e.errno)}, "
                                 f"expected {errno.errorcode[want]}")
        return
    raise AssertionError(f"{what} succeeded; expected {errno.errorcode[want]}")


def fill(low=40000, high=40009, dest="127.0.0.1"):
    """Range [low, high], lo up, every TCP pool port held by a connection
    to dest:LISTEN_PORT and every UDP pool port by a bound socket."""
    subprocess.check_call(["ip", "link", "set", "lo", "up"])
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write(f"{low} {high}")
    w = Wall(low, high)
    w.listener = socket.socket()
    w.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    w.listener.bind((dest, LISTEN_PORT))
    w.listener.listen(1024)
    w.held.append(w.listener)
    for _ in range(w.size):
        s = socket.socket()
        s.connect((dest, LISTEN_PORT))
        w.held.append(s)
    for _ in range(w.size):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("0.0.0.0", 0))
        w.held.append(u)
    return w


def fail_connects(k, dest="127.0.0.1", v6mapped=False):
    """k TCP connect()s to dest:LISTEN_PORT, each failing EADDRNOTAVAIL;
    v6mapped: from IPv6 sockets, to ::ffff:dest (the same IPv4 path)."""
    for i in range(k):
        s = socket.socket(socket.AF_INET6 if v6mapped else socket.AF_INET)
        to = ("::ffff:" + dest, LISTEN_PORT) if v6mapped else (dest, LISTEN_PORT)
        try:
            _expect_fail(lambda: s.connect(to), errno.EADDRNOTAVAIL,
                         f"connect #{i + 1}")
        finally:
            s.close()


def fail_binds(k):
    """k bind(0)s on the wildcard, each failing EADDRINUSE."""
    for i in range(k):
        s = socket.socket()
        try:
            _expect_fail(lambda: s.bind(("0.0.0.0", 0)), errno.EADDRINUSE,
                         f"bind(0) #{i + 1}")
        finally:
            s.close()


def fail_autobinds(k, dest="127.0.0.1", port=9999):
    """k UDP sendto()s from unbound sockets, each failing EAGAIN (the
    autobind found no port)."""
    for i in range(k):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            _expect_fail(lambda: u.sendto(b"x", (dest, port)), errno.EAGAIN,
                         f"UDP autobind #{i + 1}")
        finally:
            u.close()


def one_port_wall(port):
    """The range is the one port, held by a socket bound to it (a bound
    port is never shared by connect()): every connect() fails at once
    with EADDRNOTAVAIL, whatever its destination.  Returns the socket."""
    subprocess.check_call(["ip", "link", "set", "lo", "up"])
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write(f"{port} {port}")
    h = socket.socket()
    h.bind(("0.0.0.0", port))
    return h


def distinct_destinations(n, port=6000):
    """n distinct (address, port) pairs in 127.1.0.0/16 (nothing listens
    there; the connect()s fail before any packet)."""
    assert n <= 256 * 250
    return [(f"127.1.{i // 250}.{1 + i % 250}", port) for i in range(n)]


def fail_connects_to(dests):
    """One TCP connect() to each destination, each failing EADDRNOTAVAIL."""
    for i, d in enumerate(dests):
        s = socket.socket()
        try:
            _expect_fail(lambda: s.connect(d), errno.EADDRNOTAVAIL,
                         f"connect #{i + 1} to {d[0]}:{d[1]}")
        finally:
            s.close()


def succeed_without_pool(dest_b="127.0.0.2"):
    """Calls that succeed while the range is full and must not move any
    counter: a connect() to another destination (it reuses a port), a
    bind() to a port outside the range, a non-blocking connect()."""
    s = socket.socket()
    s.connect((dest_b, LISTEN_PORT))
    b = socket.socket()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    b.bind(("0.0.0.0", LISTEN_PORT + 1))
    return [s, b]


def hit_the_wall(k_connect, k_bind, k_autobind, low=40000, high=40009):
    """Fill the range, then exactly k_connect, k_bind, k_autobind failing
    calls, plus calls that succeed.  Returns the Wall (keep it open)."""
    w = fill(low, high)
    # A listener on 127.0.0.2 too, so that the successful connect() to a
    # second destination has somewhere to go.
    l2 = socket.socket()
    l2.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l2.bind(("127.0.0.2", LISTEN_PORT))
    l2.listen(16)
    w.held.append(l2)
    fail_connects(k_connect)
    fail_binds(k_bind)
    fail_autobinds(k_autobind)
    w.held.extend(succeed_without_pool())
    return w
