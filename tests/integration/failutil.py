"""Shared helpers for the failure-counter tests (issue 18): load the BPF
programs on a private bpf filesystem, and hit the wall in the current
network namespace with exactly K failing connect()s, K2 failing bind(0)s
and K3 failing UDP autobinds, each checked against the errno the kernel
returned.

The caller runs in a fresh namespace (nsutil.enter_private_netns): the
counters are per namespace, so they start at zero there.
"""
import errno
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


def fail_connects(k, dest="127.0.0.1"):
    """k TCP connect()s to dest:LISTEN_PORT, each failing EADDRNOTAVAIL."""
    for i in range(k):
        s = socket.socket()
        try:
            _expect_fail(lambda: s.connect((dest, LISTEN_PORT)),
                         errno.EADDRNOTAVAIL, f"connect #{i + 1}")
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
