"""Child processes holding pool ports, for the tests of who holds them
(holders_netns.py, agent_processes.py, collectd_processes.py).

Holders(): in the current network namespace (its range set up by the
caller), a listener on LISTEN_PORT (outside the range: it holds no pool
port), three TIME_WAIT sockets in the pool (held by no process), child a
holding 30 pool ports (10 of them dup()ed: one socket, two fds, counted
once) and child b holding 70 and 4 connected UDP sockets.  add_netns() and
start_in() make a named namespace where a child holds N ports to its own
listener.  The children hold their sockets until their stdin closes or
they are stopped (nsutil.stop_spawned())."""
import os
import re
import subprocess
import sys

import nsutil

LISTEN_PORT = 8080
# A child: N connections to the listener on PORT, "ready", then hold them
# until its stdin closes.  DUPS of them are dup()ed, and UDP more sockets
# are connected UDP ones (to a port nobody listens on); COMM, when not
# empty, is its comm (to tell the children apart), "hex:..." for any bytes
# (prctl(PR_SET_NAME): the kernel keeps the first 15).
CHILD = r"""
import ctypes, os, socket, sys
n, port, dups, udp = map(int, sys.argv[1:5])
if sys.argv[5].startswith("hex:"):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(15, ctypes.c_char_p(bytes.fromhex(sys.argv[5][4:])), 0, 0, 0):
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")
elif sys.argv[5]:
    with open("/proc/self/comm", "w") as f:
        f.write(sys.argv[5])
keep = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
fds = [os.dup(s.fileno()) for s in keep[:dups]]
for _ in range(udp):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.connect(("127.0.0.1", 5353))
    keep.append(u)
print("ready", flush=True)
sys.stdin.read()
"""
# In the other namespace: its own listener on 8080, N connections to it.
NSCHILD = r"""
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 8080)); l.listen(100)
keep = [socket.create_connection(("127.0.0.1", 8080)) for _ in range(int(sys.argv[1]))]
print("ready", flush=True)
sys.stdin.read()
"""


def start_child(n, dups=0, udp=0, comm="", port=LISTEN_PORT):
    """A CHILD holding n; raises when it does not say "ready".  comm: a
    str, or bytes (any: set by prctl)."""
    if isinstance(comm, bytes):
        comm = "hex:" + comm.hex()
    p = nsutil.spawn([sys.executable, "-c", CHILD, str(n), str(port), str(dups), str(udp),
                      comm], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    if line != "ready":
        raise AssertionError(f"child holding {n} sockets did not start: {line!r}")
    return p


# Names that are not text, as a process may have them: 0xff, a quote, a
# backslash, DEL, a tab, then three U+20AC that PR_SET_NAME cuts at 15
# bytes, inside the last one (16 bytes asked, b"\xe2\x82" left of it).
ODD_COMM = b'ab\xff"\\\x7f\t' + "\u20ac\u20ac\u20ac".encode()
ODD_COMM_KEPT = ODD_COMM[:15]
# A cgroup directory name alike (no "/", no newline: /proc/PID/cgroup is
# a line per hierarchy).
ODD_CGROUP = b'eph-\xff"\\\x7f\t\xe2\x82\xc3\xa9-'


def cgroup2_mount():
    """Where the cgroup v2 hierarchy is mounted, else None."""
    with open("/proc/mounts", "rb") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 2 and fields[2] == b"cgroup2":
                return fields[1]
    return None


def cgroup_v2_path(pid):
    """The "0::" line's path of /proc/PID/cgroup, bytes (None: none)."""
    with open(f"/proc/{pid}/cgroup", "rb") as f:
        for line in f.read().split(b"\n"):
            if line.startswith(b"0::"):
                return line[3:]
    return None


class OddChild:
    """A CHILD holding udp connected UDP sockets (no TCP: closing them would
    leave TIME_WAIT in the pool, unattributed for a minute), named
    ODD_COMM, in a cgroup v2 named ODD_CGROUP + the test's pid when the
    hierarchy is mounted and writable (self.cgroup_dir None otherwise);
    close() stops it and removes the cgroup."""

    def __init__(self, udp):
        self.cgroup_dir = None
        self.proc = start_child(0, udp=udp, comm=ODD_COMM)
        self.pid = self.proc.pid
        mnt = cgroup2_mount()
        if mnt is None:
            return
        d = os.path.join(mnt, ODD_CGROUP + str(os.getpid()).encode())
        try:
            os.mkdir(d)
        except OSError:
            return
        self.cgroup_dir = d
        with open(os.path.join(d, b"cgroup.procs"), "w") as f:
            f.write(str(self.pid))

    def close(self):
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.proc.wait(10)
        if self.cgroup_dir:
            # An exited process leaves the cgroup at once; its zombie
            # was reaped just above.
            os.rmdir(self.cgroup_dir)
            self.cgroup_dir = None


class Holders:
    """The listener, the three TIME_WAIT and children a (30, 10 dup()ed)
    and b (70, 4 UDP); with comm, their comms are eph-hold30 and
    eph-hold70."""

    def __init__(self, comm=False):
        self.listener = nsutil.tcp_listen("127.0.0.1", LISTEN_PORT)
        self.keep = []
        nsutil.make_time_wait(self.listener, "127.0.0.1", LISTEN_PORT, 3, self.keep)
        self.a = start_child(30, dups=10, comm="eph-hold30" if comm else "")
        self.b = start_child(70, udp=4, comm="eph-hold70" if comm else "")

    def release(self):
        """Close the children's stdin: they exit."""
        for c in (self.a, self.b):
            if not c.stdin.closed:
                c.stdin.close()

    def close(self):
        """Close the TIME_WAIT side's accepted sockets and the listener."""
        for k in self.keep:
            k.close()
        self.listener.close()


def ss_holders(low, high, reserved):
    """pid -> set of pool ports of its TCP sockets, from `ss -tanp`."""
    out = subprocess.check_output(["ss", "-Htanp"], text=True)
    held = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 6:
            continue
        _, lport = nsutil.split_endpoint(f[3])
        if not nsutil.in_pool(lport, low, high, reserved):
            continue
        for pid in re.findall(r"pid=(\d+)", line):
            held.setdefault(int(pid), set()).add(lport)
    return held


def add_netns(name):
    """`ip netns add NAME`, its lo up and its range 41000-41099; the error
    text when the namespace cannot be added, else None."""
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode:
        return r.stderr.strip() or f"exit {r.returncode}"
    try:
        subprocess.check_call(["ip", "netns", "exec", name, "sh", "-c",
                               "ip link set lo up && echo '41000 41099' > "
                               "/proc/sys/net/ipv4/ip_local_port_range"])
    except BaseException:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        raise
    return None


def start_in(name, n):
    """A NSCHILD holding n in namespace name; the caller reads its
    "ready"."""
    return nsutil.spawn(["ip", "netns", "exec", name, sys.executable, "-c", NSCHILD, str(n)],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
