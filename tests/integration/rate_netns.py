#!/usr/bin/env python3
"""`ephport --rate` against a real ramp to exhaustion (issue 14).

In a private network namespace with tcp_tw_reuse 0 and a pool of 240
ports, a client opens and closes loopback connections (the client closes
first, so each leaves a TIME_WAIT that holds its port for 60 s) at a
steady rate, twice: 8/s (exhaustion after about 30 s) and 16/s (about
15 s), each in a range of its own (the first ramp's TIME_WAIT is then
outside the second's pool) and to a server port of its own.  During each
ramp `ephport --rate 5` measures (JSON and text in parallel, over the same
seconds); the ramp then goes on until connect() fails with EADDRNOTAVAIL.

Asserted: the open rate within 10 % of the driven rate; the predicted
time to exhaustion (headline pressure and worst destination) within 20 %
of the time from the end of the measurement to the first EADDRNOTAVAIL;
the sustainable rate (240 ports / 60 s) and headroom; after exhaustion,
the trend says "exhausted"; `ephport check --rate` with
--exhaustion-warning/--exhaustion-critical.  The text output and the
predicted and actual times are printed.
"""
import errno
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402

nsutil.enter_private_netns(sys.argv)
ck = nsutil.Checker()
EXE = os.environ.get("EPHPORT", "./ephport")
USABLE = 240
MEASURE_S = 5


def near(what, got, want, tol):
    ck.checks += 1
    ok = got is not None and abs(got - want) <= tol * want
    if not ok:
        ck.failures += 1
    print(f"{'ok  ' if ok else 'FAIL'} {what} = {got!r}, want {want:.2f} "
          f"within {tol * 100:.0f} %")


class Server(threading.Thread):
    """Accepts, waits for the client's FIN, closes: the client's side
    ends in TIME_WAIT."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.ls = nsutil.tcp_listen("127.0.0.1", port)
        self.ls.settimeout(0.2)
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(5)
            try:
                c.recv(1)
            except OSError:
                pass
            c.close()


class Driver(threading.Thread):
    """connect() and close() at rate per second until EADDRNOTAVAIL."""

    def __init__(self, port, rate):
        super().__init__(daemon=True)
        self.port, self.rate = port, rate
        self.opened = 0
        self.failed_at = None
        self.error = None
        self.t0 = None

    def run(self):
        self.t0 = time.monotonic()
        i = 0
        while True:
            due = self.t0 + i / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.connect(("127.0.0.1", self.port))
            except OSError as e:
                s.close()
                if e.errno == errno.EADDRNOTAVAIL:
                    self.failed_at = time.monotonic()
                else:
                    self.error = e
                return
            s.close()
            self.opened += 1
            i += 1
            if time.monotonic() - self.t0 > 120:
                self.error = "no exhaustion after 120 s"
                return


def run_parallel(argvs):
    procs = [subprocess.Popen([EXE] + a, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for a in argvs]
    out = []
    for a, p in zip(argvs, procs):
        so, se = p.communicate(timeout=60)
        r = subprocess.CompletedProcess([EXE] + a, p.returncode, so, se)
        nsutil.capture_json(a, r)
        out.append(r)
    return out, time.monotonic()


def ramp(low, port, rate):
    high = low + USABLE - 1
    nsutil.setup_namespace(low, high)
    print(f"\n=== ramp at {rate}/s: pool {low}-{high} ({USABLE} ports), "
          f"server 127.0.0.1:{port}, tcp_tw_reuse 0 ===")
    srv = Server(port)
    srv.start()
    drv = Driver(port, rate)
    drv.start()
    time.sleep(2)
    common = ["-P", "tcp", "--rate", str(MEASURE_S), "--top", "1"]
    (rj, rt, rc), t_end = run_parallel([
        ["--json"] + common, common,
        ["check", "--exhaustion-warning", "3600",
         "--exhaustion-critical", "2"] + common])
    ck.eq(f"{rate}/s: --rate --json exit", rj.returncode, 0)
    ck.eq(f"{rate}/s: --rate text exit", rt.returncode, 0)
    at_end = drv.opened
    print(rt.stdout)
    print(rc.stdout)
    # Within an hour (WARNING), not within 2 s (CRITICAL).
    ck.eq(f"{rate}/s: check --rate exit (WARNING)", rc.returncode, 1)
    ck.eq(f"{rate}/s: check names the exhaustion",
          "tcp exhaustion in" in rc.stdout, True)
    j = json.loads(rj.stdout)
    r = j["protocols"]["tcp"]["rate"]
    m = j["rate_measurement"]
    ck.eq(f"{rate}/s: open rate status", r["open_rate_status"], "ok")
    near(f"{rate}/s: open rate", r["open_rate_per_second"], rate, 0.10)
    ck.eq(f"{rate}/s: time_wait_bound", r["time_wait_bound"], True)
    ck.eq(f"{rate}/s: sustainable ports", r["sustainable_ports"], USABLE)
    near(f"{rate}/s: sustainable rate", r["sustainable_rate_per_second"],
         USABLE / 60, 0.01)
    near(f"{rate}/s: headroom", r["headroom_ratio"], USABLE / 60 / rate,
         0.10)
    ck.eq(f"{rate}/s: samples", m["samples"], 11)
    ck.eq(f"{rate}/s: exhaustion status", r["exhaustion"]["status"],
          "approaching")
    wd = r["worst_destination"]
    ck.eq(f"{rate}/s: worst destination",
          (wd["remote_address"], wd["remote_port"]) if wd else None,
          ("127.0.0.1", port))
    pred = r["exhaustion"]["seconds"]
    pred_d = wd["exhaustion"]["seconds"] if wd else None

    drv.join(150)
    if drv.error:
        print(f"FAIL driver: {drv.error}")
        ck.failures += 1
        return
    actual = drv.failed_at - t_end
    # The pool when connect() failed: every port held (TIME_WAIT, or on
    # its way there), as ss sees it; the driver's sockets end there and
    # stay 60 s, so this is still the moment of the failure.
    held = sum(1 for st, la, lp, ra, rp in nsutil.ss_sockets("tcp")
               if low <= int(lp) <= high and rp == port)
    print(f"{rate}/s: {at_end} connections when the measurement ended, "
          f"{drv.opened} when connect() failed with EADDRNOTAVAIL "
          f"{drv.failed_at - drv.t0:.1f} s into the ramp")
    print(f"{rate}/s: predicted time to exhaustion {pred:.1f} s "
          f"(worst destination {pred_d:.1f} s), actual {actual:.1f} s")
    near(f"{rate}/s: predicted seconds to exhaustion", pred, actual, 0.20)
    near(f"{rate}/s: predicted seconds (worst destination)", pred_d, actual,
         0.20)
    ck.eq(f"{rate}/s: pool ports held when connect() failed (ss)", held, USABLE)
    # Every connect() took a port until none was left; one more than the
    # pool means a connection ended without TIME_WAIT (reset under load,
    # its port free again), which ss above has already counted out.
    ck.eq(f"{rate}/s: connections at exhaustion, at least the pool",
          (drv.opened >= USABLE, drv.opened - USABLE <= 2), (True, True))

    # Full now: the trend says so, the time is 0.
    e = nsutil.ephport_json("-P", "tcp", "--rate", "1")
    ck.eq(f"{rate}/s: after exhaustion",
          e["protocols"]["tcp"]["rate"]["exhaustion"],
          {**e["protocols"]["tcp"]["rate"]["exhaustion"],
           "status": "exhausted", "seconds": 0.0})
    srv.stop = True
    srv.ls.close()
    srv.join(5)


ramp(40000, 5001, 8)
ramp(41000, 5002, 16)

# Prometheus: the rate families, each one group.
nsutil.setup_namespace(42000, 42000 + USABLE - 1)
p = nsutil.ephport("-P", "tcp", "--rate", "1.5", "--prometheus").stdout
for fam in ("open_rate_per_second", "sustainable_rate_per_second",
            "headroom_ratio", "seconds_to_exhaustion"):
    ck.eq(f"prometheus family {fam}",
          f"# TYPE ephport_{fam} gauge" in p, True)
ck.eq("prometheus: nothing opened, headroom +Inf",
      'ephport_headroom_ratio{protocol="tcp"} +Inf' in p, True)
ck.eq("prometheus: flat, seconds to exhaustion +Inf",
      'ephport_seconds_to_exhaustion{protocol="tcp"} +Inf' in p, True)
ck.eq("--rate 0.1: usage error",
      nsutil.ephport("--rate", "0.1", check=False).returncode, 2)
ck.eq("--exhaustion-warning without --rate: usage error",
      nsutil.ephport("check", "--exhaustion-warning", "60",
                     check=False).returncode, 3)
ck.done()
