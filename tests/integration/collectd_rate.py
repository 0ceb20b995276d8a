#!/usr/bin/env python3
"""The plugin's rates and time to exhaustion in a real `collectd -f`
(issue 14; ephport-collectd(5), VALUES, Rates), in a private network namespace.

Range 40000-40399 (400 ports), tcp_tw_reuse 0, collectd Interval 1 with
RateWindow 10, ExhaustionWarningSeconds 12 and ExhaustionFailureSeconds 4.
A client connects to 127.0.0.1:8080 (outside the range) at a steady RATE
per second and closes first, so each connection leaves its port in
TIME_WAIT for 60 s and, with reuse forbidden, no later connect() to that
destination may take it: the ports run out after about 400 / RATE seconds,
when connect() fails with EADDRNOTAVAIL.  Checked against what the sockets
really did:

  - open_rate within 10 % of the rate the client really connected at
    (connections / time, over the intervals the window covers);
  - sustainable_rate = (usable - ports held outside TIME_WAIT) / 60 s;
  - seconds_to_exhaustion, taken once the window holds only the ramp and
    at least 5 s before the end: the moment it predicts within 20 % (of
    the time left) of the moment connect() really failed;
  - the WARNING and then FAILURE notification, each once, naming tcp,
    connect() and the seconds.

collectd and the listener thread are stopped whatever happens.
Skips (77) without root, collectd, its csv and logfile plugins, or a
built plugin.
"""
import errno
import glob
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collectdutil  # noqa: E402
import nsutil  # noqa: E402

HOST = "ephrate"
LOW, HIGH = 40000, 40399
USABLE = HIGH - LOW + 1
RATE = 20.0          # connections per second
WINDOW = 10          # RateWindow
WARN, FAIL = 12, 4   # ExhaustionWarningSeconds, ExhaustionFailureSeconds
SERVER = ("127.0.0.1", 8080)


def skip(why):
    print(f"SKIP: {why}", file=sys.stderr)
    sys.exit(nsutil.SKIP)


class Collectd(collectdutil.Collectd):
    """collectdutil.Collectd with csv and logfile, Hostname HOST."""

    def __init__(self, plugin, block, env=None):
        super().__init__(COLLECTD, plugin, block, env=env,
                         prefix="eph-collectd-rate-", host=HOST)

    def series(self, type_, tinst, pinst="tcp"):
        """[(epoch, value)] of one identifier, oldest first."""
        out = []
        pat = os.path.join(self.csv, HOST, f"ephport-{pinst}",
                           f"{type_}-{tinst}-*")
        for path in glob.glob(pat):
            out += [(float(t), v) for t, v in self.read_csv(path)]
        return sorted(out)

    def notifications(self):
        """(severity, plugin_instance, type_instance, message)."""
        return super().notifications(no_pinst=None)


class Server(threading.Thread):
    """Accepts on SERVER and closes each connection once the client has
    (EOF), so the client's side is the one left in TIME_WAIT."""

    def __init__(self):
        super().__init__(daemon=True)
        self.lsock = nsutil.tcp_listen(*SERVER)
        self.lsock.settimeout(0.2)
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.lsock.accept()
            except (socket.timeout, OSError):
                continue
            try:
                c.settimeout(2)
                c.recv(1)
            except OSError:
                pass
            c.close()

    def stop(self):
        self.stopping = True
        self.join(5)
        self.lsock.close()


def ramp():
    """Connect at RATE per second until connect() fails; the (realtime)
    start, the moment of the failure and the connections made."""
    start = time.time()
    n = 0
    while True:
        target = start + n / RATE
        delay = target - time.time()
        if delay > 0:
            time.sleep(delay)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect(SERVER)
        except OSError as e:
            s.close()
            if e.errno == errno.EADDRNOTAVAIL:
                return start, time.time(), n
            raise
        s.close()   # the client closes first: its port goes to TIME_WAIT
        n += 1
        if n > 2 * USABLE:
            raise AssertionError("connect() never failed: is tw_reuse 0?")


def nearest(series, t):
    return min(series, key=lambda p: abs(p[0] - t)) if series else None


nsutil.enter_private_netns(sys.argv)
COLLECTD, PLUGIN, ASAN_ENV = collectdutil.require(skip)

nsutil.setup_namespace(LOW, HIGH)
ck = nsutil.Checker()
server = Server()
server.start()
cd = Collectd(PLUGIN, f"""  Protocol "tcp"
  RateWindow {WINDOW}
  ExhaustionWarningSeconds {WARN}
  ExhaustionFailureSeconds {FAIL}
  # Keep the percent alarms out of the way.
  RisingThreshold 100
  FallingThreshold 99.99""", env=ASAN_ENV)
try:
    # A few quiet intervals first: the rate is 0, nothing approaches.
    deadline = time.time() + 30
    while len(cd.series("operations_per_second", "open_rate")) < 4:
        if cd.proc.poll() is not None or time.time() > deadline:
            break
        time.sleep(0.2)
    ck.eq("collectd runs and records rates", cd.proc.poll() is None and
          len(cd.series("operations_per_second", "open_rate")) >= 4, True)
    start, failed_at, made = ramp()
    real_rate = made / (failed_at - start)
    time.sleep(2.5)     # the intervals after the failure
    rc = cd.stop()
    ck.eq("collectd exited cleanly", rc, 0)

    opens = cd.series("operations_per_second", "open_rate")
    sust = cd.series("operations_per_second", "sustainable_rate")
    secs = cd.series("duration", "seconds_to_exhaustion")
    wsecs = cd.series("duration", "worst_destination_seconds_to_exhaustion")
    print(f"ramp: {made} connections in {failed_at - start:.2f} s "
          f"({real_rate:.2f}/s, asked {RATE}/s); connect() failed "
          f"{failed_at - start:.2f} s after the start", file=sys.stderr)

    # Before the ramp: no opens (the first value is NaN: no history).
    quiet = [v for t, v in opens if t < start - 1 and v == v]
    ck.eq("before the ramp: open rate 0", bool(quiet) and
          all(v < 0.5 for v in quiet), True)
    # Inside the ramp, once the window holds only ramp samples.
    inside = [(t, v) for t, v in opens
              if t >= start + WINDOW + 1 and t <= failed_at]
    for t, v in inside:
        print(f"  t+{t - start:5.1f} s: open rate {v:6.2f}/s", file=sys.stderr)
    ck.eq("open rate measured in the ramp", len(inside) >= 3, True)
    bad = [(round(t - start, 1), v) for t, v in inside
           if abs(v - real_rate) > 0.10 * real_rate]
    ck.eq(f"open rate within 10 % of {real_rate:.2f}/s", bad, [])

    # Sustainable: nothing but TIME_WAIT holds ports: 400 / 60 s.
    s = nearest(sust, start + WINDOW + 1)
    ck.eq("sustainable rate: usable / 60 s",
          s is not None and abs(s[1] - USABLE / 60.0) < 0.05, True)

    # Predictions: each within 20 % of the time connect() really had left.
    preds = [(t, v) for t, v in secs
             if start + WINDOW + 1 <= t <= failed_at - 5 and v == v]
    errs = []
    for t, v in preds:
        left = failed_at - t
        errs.append((round(t - start, 1), round(v, 2), round(left, 2)))
        print(f"  t+{t - start:5.1f} s: predicted {v:6.2f} s, "
              f"connect() failed {left:6.2f} s later", file=sys.stderr)
    ck.eq("predictions taken in the ramp", len(preds) >= 2, True)
    ck.eq("seconds_to_exhaustion within 20 % of when connect() failed",
          [e for e in errs if abs(e[1] - e[2]) > 0.20 * e[2]], [])
    wpreds = [(t, v) for t, v in wsecs
              if start + WINDOW + 1 <= t <= failed_at - 5 and v == v]
    ck.eq("worst destination's prediction within 20 %",
          bool(wpreds) and all(abs(v - (failed_at - t)) <=
                               0.20 * (failed_at - t) for t, v in wpreds), True)

    # The percent alarms (RisingThreshold 100) fire at the end too.
    notes = [n for n in cd.notifications() if n[2] == "seconds_to_exhaustion"]
    for n in notes:
        print(f"  notification: {n}", file=sys.stderr)
    ck.eq("WARNING then FAILURE, each once",
          [n[0] for n in notes][:2], ["WARNING", "FAILURE"])
    ck.eq("no other notification during the ramp", len(notes), 2)
    ck.eq("notifications name tcp and seconds_to_exhaustion",
          all(n[1] == "tcp" and n[2] == "seconds_to_exhaustion"
              for n in notes), True)
    ck.eq("the warning names connect(), the threshold, the destination",
          bool(notes) and "tcp connect() ports: run out in" in notes[0][3]
          and f"below ExhaustionWarningSeconds {WARN}" in notes[0][3]
          and "to 127.0.0.1 -> 127.0.0.1:8080" in notes[0][3], True)
    log = cd.log_text()
    ck.eq("no ephport plugin errors", [ln for ln in log.splitlines()
          if "ephport plugin:" in ln and "rror" in ln], [])
finally:
    cd.stop()
    server.stop()
    cd.cleanup()
ck.done()
