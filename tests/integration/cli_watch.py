#!/usr/bin/env python3
"""`ephport --watch` (and `ephport top`) in a private network namespace.

Range 40000-40099 (100 usable), a listener on 127.0.0.1:8080 with 10
clients.  `ephport --watch 1` with stdout a pipe prints one plain block
per refresh: the test checks the numbers of three blocks, adding 6
clients to 127.0.0.1:8080 after the first and 4 to 127.0.0.2:9090 after
the second, and the trend each block shows.  Under a pseudo-terminal it
must draw with clear/home, hide the cursor and show it again on SIGTERM.
Bad SECONDS exit 2; --netns, --all-namespaces and --source procfs work.
"""
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402
from nsutil import tcp_connect, tcp_listen  # noqa: E402

nsutil.enter_private_netns(sys.argv)
ck = nsutil.Checker()
EXE = os.environ.get("EPHPORT", "./ephport")
HEADER = re.compile(r"^ephport \S+.*: .*, refresh (\d+) every ", re.M)

nsutil.setup_namespace(40000, 40099, "")
keep = [tcp_listen("127.0.0.1", 8080), tcp_listen("127.0.0.2", 9090)]
keep += [tcp_connect("127.0.0.1", 8080) for _ in range(10)]


def ports_in_use():
    """Distinct pool ports of TCP sockets, by `ss`: a connect() to a new
    destination may share a port already in use for another one."""
    return len({r[2] for r in nsutil.ss_sockets("tcp")
                if nsutil.in_pool(r[2], 40000, 40099, set())})


class Watch:
    """An `ephport --watch` whose stdout is read as it comes."""

    def __init__(self, *args):
        self.p = nsutil.spawn([EXE] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        self.buf = b""

    def _read(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return False
        d = os.read(self.p.stdout.fileno(), 65536)
        self.buf += d
        return bool(d)

    def block(self, n, timeout=15):
        """The text of refresh n (1-based), once it is complete."""
        deadline = time.time() + timeout
        while len(HEADER.findall(self.text())) < n:
            if time.time() > deadline or not self._read(deadline - time.time()):
                raise AssertionError(f"no refresh {n}: {self.text()!r}")
        while self._read(0.3):      # the rest of the block
            pass
        return blocks(self.text())[n - 1]

    def text(self):
        return self.buf.decode()

    def stop(self, sig=signal.SIGINT):
        self.p.send_signal(sig)
        rest, err = self.p.communicate(timeout=10)
        self.buf += rest
        return self.p.returncode, err.decode()


def blocks(text):
    starts = [m.start() for m in HEADER.finditer(text)] + [len(text)]
    return [text[a:b] for a, b in zip(starts, starts[1:])]


def proto(block, name):
    """The lines of one protocol's section ("TCP", "UDP")."""
    m = re.search(rf"^{name}  .*?(?=^\S|\Z)", block, re.M | re.S)
    return m.group(0) if m else ""


def field(section, pattern, what):
    m = re.search(pattern, section, re.M)
    if not m:
        ck.eq(what, None, pattern)
        return None
    return m.groups() if len(m.groups()) > 1 else m.group(1)


def numbers(block, what):
    tcp, udp = proto(block, "TCP"), proto(block, "UDP")
    return {
        "ports": int(field(tcp, r"^TCP  ports in use (\d+) of 100 usable "
                           r"\(range 40000-40099, 0 reserved\)", what) or -1),
        "bind": field(tcp, r"^ +bind +(\S+) \[[#.]{30}\]  bind\(0\) fails "
                      r"at 100%$", what),
        "pressure": field(tcp, r"^ +pressure +(\S+) \[[#.]{30}\]  (.*)$", what),
        "connect": field(tcp, r"^ +connect +(\S+) \[[#.]{30}\]  (.*)$", what),
        "udp ports": int(field(udp, r"^UDP  ports in use (\d+) ", what) or -1)
        if udp else None,
        "trend": field(tcp, r"^ +(trend.*)$", what),
        "top": re.findall(r"^ +(\S+%) +(\d+) +(\d+)  (\S+) -> (\S+)$", tcp, re.M),
    }


def trend(line, du, dbind, dconn, what):
    """'trend over S s: ports in use +6 (+6.00/s), pressure +6.00 pp ...'"""
    m = re.match(r"trend over (\d+\.\d\d) s: ports in use ([+-]\d+) "
                 r"\(([+-]\d+\.\d\d)/s\), pressure ([+-]\d+\.\d\d) pp "
                 r"\(([+-]\d+\.\d\d) pp/s\), bind ([+-]\d+\.\d\d) pp "
                 r"\(([+-]\d+\.\d\d) pp/s\), connect ([+-]\d+\.\d\d) pp "
                 r"\(([+-]\d+\.\d\d) pp/s\)$", line or "")
    if not m:
        ck.eq(f"{what}: trend line", line, "trend over S s: ...")
        return
    secs = float(m.group(1))
    ck.eq(f"{what}: trend interval about 1 s", 0.8 <= secs <= 1.6, True)
    ck.eq(f"{what}: trend ports in use", int(m.group(2)), du)
    ck.eq(f"{what}: trend bind pp", float(m.group(6)), dbind)
    ck.eq(f"{what}: trend connect pp", float(m.group(8)), dconn)
    for got, delta, name in ((m.group(3), du, "ports/s"),
                             (m.group(7), dbind, "bind pp/s"),
                             (m.group(9), dconn, "connect pp/s")):
        ck.eq(f"{what}: trend {name} = change / interval",
              abs(float(got) - delta / secs) <= 0.011 + abs(delta) * 0.01,
              True)


# --- Plain output: three refreshes, sockets added between them -----------
w = Watch("--watch", "1", "--top", "3")
b1 = numbers(w.block(1), "refresh 1")
ck.eq("refresh 1: ports in use", b1["ports"], 10)
ck.eq("refresh 1: bind", b1["bind"], "10.00%")
ck.eq("refresh 1: headline", b1["pressure"],
      ("10.00%", "connect to 127.0.0.1:8080 from 127.0.0.1 fails at 100%"))
ck.eq("refresh 1: connect", b1["connect"],
      ("10.00%", "connect to 127.0.0.1:8080 from 127.0.0.1 fails at 100% "
       "(lower bound: netlink); new destination 0.00%"))
ck.eq("refresh 1: udp ports in use", b1["udp ports"], 0)
ck.eq("refresh 1: no trend yet", b1["trend"], "trend: from the next refresh")
ck.eq("refresh 1: top", b1["top"],
      [("10.00%", "10", "0", "127.0.0.1", "127.0.0.1:8080")])

keep += [tcp_connect("127.0.0.1", 8080) for _ in range(6)]
b2 = numbers(w.block(2), "refresh 2")
ck.eq("refresh 2: ports in use", b2["ports"], 16)
ck.eq("refresh 2: bind", b2["bind"], "16.00%")
ck.eq("refresh 2: connect", b2["connect"][0] if b2["connect"] else None, "16.00%")
trend(b2["trend"], 6, 6.0, 6.0, "refresh 2")

keep += [tcp_connect("127.0.0.2", 9090) for _ in range(4)]
b3 = numbers(w.block(3), "refresh 3")
used = ports_in_use()       # 16 to 20: ports may be shared
ck.eq("refresh 3: ports in use (ss)", b3["ports"], used)
ck.eq("refresh 3: ports in use from 16 to 20", 16 <= used <= 20, True)
ck.eq("refresh 3: bind", b3["bind"], f"{used}.00%")
ck.eq("refresh 3: headline", b3["pressure"],
      (f"{used}.00%", "bind(0) fails at 100%") if used > 16 else
      ("16.00%", "connect to 127.0.0.1:8080 from 127.0.0.1 fails at 100%"))
ck.eq("refresh 3: connect", b3["connect"][0] if b3["connect"] else None, "16.00%")
trend(b3["trend"], used - 16, used - 16.0, 0.0, "refresh 3")
ck.eq("refresh 3: top by connect pressure", b3["top"],
      [("16.00%", "16", "0", "127.0.0.1", "127.0.0.1:8080"),
       ("4.00%", "4", "0", "127.0.0.1", "127.0.0.2:9090")])
rc, err = w.stop(signal.SIGINT)
ck.eq("pipe: SIGINT exit status", rc, 0)
ck.eq("pipe: stderr", err, "")
ck.eq("pipe: no escape sequence", "\033" in w.text(), False)
ck.eq("pipe: every block whole", w.text().endswith("\n\n"), True)

# --- A terminal: clear/home, cursor hidden and shown again ---------------
pid, fd = pty.fork()
if pid == 0:
    os.execv(EXE, [EXE, "top", "0.5"])
out = b""
deadline = time.time() + 10
while out.count(b"\033[H\033[2J") < 2 and time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if r:
        try:
            out += os.read(fd, 65536)
        except OSError:
            break
os.kill(pid, signal.SIGTERM)
while True:
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
os.close(fd)
ck.eq("tty: SIGTERM exit status", os.waitstatus_to_exitcode(st), 0)
ck.eq("tty: hides the cursor first", out.startswith(b"\033[?1049h\033[?25l"), True)
ck.eq("tty: clear/home per refresh", out.count(b"\033[H\033[2J") >= 2, True)
ck.eq("tty: shows the cursor at the end",
      out.endswith(b"\033[?25h\033[?1049l"), True)
ck.eq("tty: draws the numbers", f"TCP  ports in use {used} of 100 usable".encode() in out, True)

# --- Bad SECONDS and combinations: usage errors ---------------------------
for args in (["--watch", "0"], ["--watch", "abc"], ["--watch=-1"],
             ["--watch", "1.2345"], ["--watch", "86401"], ["--watch", ""],
             ["top", "x"], ["top", "1", "2"], ["--watch", "--json"],
             ["--watch", "--prometheus"], ["check", "--watch"],
             ["--watch", "1", "--netns", "1", "-A"]):
    r = subprocess.run([EXE] + args, capture_output=True, text=True, timeout=10)
    ck.eq(f"{args}: exit status", r.returncode, 3 if args[0] == "check" else 2)
    ck.eq(f"{args}: says why", "ephport:" in r.stderr + r.stdout, True)
    ck.eq(f"{args}: no view", "refresh" in r.stdout, False)

# --- --netns, --all-namespaces, --source ----------------------------------
inode = os.stat("/proc/self/ns/net").st_ino
for args in (["--netns", f"/proc/{os.getpid()}/ns/net"], ["--all-namespaces"],
             ["--source", "procfs"], ["--protocol", "tcp"]):
    w = Watch("--watch", "1", *args)
    text = w.block(2)
    rc, err = w.stop(signal.SIGTERM)
    ck.eq(f"{args}: exit status", rc, 0)
    if args[0] in ("--netns", "--all-namespaces"):
        m = re.search(rf"^=== netns .* \(inode {inode}, \w+\) ===\n(.*?)(?=^===|\Z)",
                      text, re.M | re.S)
        ck.eq(f"{args}: our namespace listed", bool(m), True)
        text = m.group(1) if m else ""
    n = numbers(text, str(args))
    ck.eq(f"{args}: ports in use", n["ports"], used)
    ck.eq(f"{args}: trend", (n["trend"] or "").startswith(
        "trend over 1.") and "ports in use +0 (+0.00/s)" in n["trend"], True)
    if args[0] == "--source":
        ck.eq(f"{args}: source", "source procfs" in text, True)
    if args[0] == "--protocol":
        ck.eq(f"{args}: no UDP", "\nUDP  " in text, False)
r = subprocess.run([EXE, "--watch", "1", "--netns", "no-such-ns"],
                   capture_output=True, text=True, timeout=10)
ck.eq("--netns no-such-ns: exit status", r.returncode, 2)

ck.done()
