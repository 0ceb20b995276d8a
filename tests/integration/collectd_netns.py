#!/usr/bin/env python3
"""The collectd plugin in a real `collectd -f` in a private network namespace.

Range 40000-40099 with 40010-40014 and 40050 reserved (usable 94) and the
same known mix of sockets as cli_netns.py.  collectd loads a copy of the
built ephport.so (collectd ignores symlinks in its PluginDir) and the stock
csv writer; with the block of contrib/collectd/ephport.conf and with other
switches, every value it records must be exactly the set `ephport --json`
implies for the same config, with the same numbers, plus the accounting
model's values (pressures, bind-owned ports, reusable TIME_WAIT), which are
checked against the numbers the namespace's sockets give by construction
(ephport-model(7)), with tcp_tw_reuse 0 and, in one run, 1.  Per-kind
notifications (bind and connect, each on its own thresholds) are read from
collectd's logfile plugin while sockets come and go.

Also: bad <Plugin ephport> blocks stop collectd with an `ephport plugin:`
line naming the key and no ephport values; a collection failure (ProcRoot
with the range file taken away) is logged once, collectd backs off, and the
plugin recovers by itself and says so once; and several intervals under
valgrind (or, for an --enable-sanitizers build, with ASan preloaded) are
clean.

The plugin: $EPH_COLLECTD_PLUGIN, else .libs/ephport.so beside $EPHPORT.
Skips (77) without root, collectd, its csv plugin, or a built plugin.
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collectdutil  # noqa: E402
import nsutil  # noqa: E402
from collectdutil import (is_failure_line, is_rate, NOT_OBSERVABLE,  # noqa: E402
                          RATE_NAMES, STOCK_PLUGINS, tw_recycled)

# UDP sockets are shown connected (established) or not (close).
TCP_STATES = ["established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2",
              "time_wait", "close", "close_wait", "last_ack", "listen",
              "closing", "bound"]


def skip(why):
    print(f"SKIP: {why}", file=sys.stderr)
    sys.exit(nsutil.SKIP)


def dest_name(d):
    # The plugin's collectd-safe form: ':' becomes '_' (ephport-collectd(5)).
    return "dest-{}-{}-{}".format(d["local_address"].replace(":", "_"),
                                  d["remote_address"].replace(":", "_"),
                                  d["remote_port"])


def bp_percent(num, den):
    """The collector's percent: hundredths, rounded down (eph_ratio_bp)."""
    return min(num * 10000 // den, 10000) / 100 if den else 100.0


# Scenario A through the model, by construction (nsutil.scenario_a_sockets):
# pool 94 ports.  TCP bind pressure: the ports held, at most 23 (25 sockets,
# 40060 and 40070 each shared by two) but connect() may give a client a
# port another destination's socket has, so the count is the kernel's
# choice: taken from --json (ports_in_use).  Bind-owned: the listener on
# 40020 only (netlink cannot tell bind()-then-connect() sockets apart, so
# connect pressures are lower bounds).  A connect() to a destination cannot
# use the bind-owned port nor its own sockets' ports, less the TIME_WAIT
# tcp_twsk_unique() may take over: none with tcp_tw_reuse 0
# (nsutil.setup_namespace), the 3 of 127.0.0.1:8080 with 1.  UDP: 40030
# and the two connected clients, 3 ports (autobind never shares).
TCP_PORTS_A, UDP_PORTS_A, USABLE_A = None, 3, 94   # TCP: set from --json
DESTS_A = {"dest-127.0.0.1-127.0.0.1-8080": (15, 3),   # sockets, TIME_WAIT
           "dest-127.0.0.1-127.0.0.2-9090": (6, 0),
           "dest-__1-__1-8080": (3, 0)}


def model_values(protocols=("tcp", "udp"), dests=tuple(DESTS_A), tw_reuse=0):
    """The model's values of scenario A, {(pinst, type, tinst): value}."""
    want = {}
    bind_owned = 1
    blocked = {d: bind_owned + n - (tw if tw_reuse else 0)
               for d, (n, tw) in DESTS_A.items()}
    if "tcp" in protocols:
        bind = bp_percent(TCP_PORTS_A, USABLE_A)
        connect = bp_percent(max(blocked.values()), USABLE_A)
        want.update({
            ("tcp", "percent", "pressure"): max(bind, connect),
            ("tcp", "percent", "bind_pressure"): bind,
            ("tcp", "percent", "connect_pressure"): connect,
            ("tcp", "percent", "connect_new_pressure"):
                bp_percent(bind_owned, USABLE_A),
            ("tcp", "count", "bind_owned_ports"): float(bind_owned),
            ("tcp", "count", "time_wait_reusable"): 3.0 if tw_reuse else 0.0})
        for d in dests:
            want[("tcp", "percent", d + "-connect_pressure")] = \
                bp_percent(blocked[d], USABLE_A)
    if "udp" in protocols:
        want[("udp", "percent", "pressure")] = bp_percent(UDP_PORTS_A, USABLE_A)
        want[("udp", "percent", "bind_pressure")] = \
            bp_percent(UDP_PORTS_A, USABLE_A)
    return want


def expected_values(j, protocols=("tcp", "udp"), top=5, states=True,
                    listeners=True):
    """{(plugin_instance, type, type_instance): value} for one interval, from
    `ephport --json --top N` output and, for the model's values, from the
    construction of scenario A, as ephport-collectd(5) documents."""
    want = {}
    for proto in protocols:
        p = j["protocols"][proto]

        def put(type_, inst, value):
            want[(proto, type_, inst)] = float(value)
        for key in ("low", "high"):
            put("gauge", "range_" + key, p["range"][key])
        put("gauge", "usable", p["range"]["usable"])
        put("gauge", "reserved", p["range"]["reserved"])
        put("count", "ports_used", p["ports_in_use"])
        put("count", "ports_free", p["ports_free"])
        put("count", "sockets_in_range", p["sockets_in_range"])
        if proto == "tcp":
            put("count", "time_wait", p["time_wait"])
            put("count", "time_wait_total", p["time_wait_total"])
            # TcpExt TWRecycled, a derive (issue 18): no connect() here
            # takes over a TIME_WAIT, so it stands still.
            put("derive", "tw_recycled", tw_recycled())
        if listeners:
            put("count", "listeners_in_range", p["listeners_in_range"])
        put("count", "destinations", p["destinations"])
        put("percent", "exhaustion", p["exhaustion_percent"])
        put("percent", "host_exhaustion", p["host_exhaustion_percent"])
        put("percent", "worst_destination_exhaustion",
            p["worst_destination_exhaustion_percent"])
        if states:
            for st, n in p["states_in_range"].items():
                if proto == "tcp":
                    put("tcp_connections", st, n)
                else:
                    put("count", "state-" + st, n)
        for d in p["top_destinations"][:top]:
            put("percent", dest_name(d), d["exhaustion_percent"])
            put("count", dest_name(d) + "-sockets", d["sockets"])
            if proto == "tcp":
                put("count", dest_name(d) + "-time_wait", d["time_wait"])
    dests = [dest_name(d) for d in j["protocols"]["tcp"]["top_destinations"][:top]]
    want.update(model_values(protocols, dests))
    return want


def contrib_block():
    """The body of <Plugin ephport> in the shipped example."""
    top = os.environ.get("top_srcdir") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with open(os.path.join(top, "contrib", "collectd", "ephport.conf")) as f:
        text = f.read()
    start = text.index("<Plugin ephport>") + len("<Plugin ephport>")
    return text[start:text.index("</Plugin>", start)].strip("\n")


class Collectd(collectdutil.SnapshotCollectd):
    """One collectd -f (collectdutil.SnapshotCollectd) with csv; with
    logfile, collectd's log and the notifications go to notif_log, else
    its log lines to stderr (log)."""

    def __init__(self, plugin, block, wrapper=(), env=None, extra="",
                 logfile=False):
        super().__init__(COLLECTD, plugin, block, env=env,
                         plugins=("csv", "logfile") if logfile else ("csv",),
                         logfile="notifications", extra=extra,
                         wrapper=wrapper, stop_timeout=60)
        self.notif_log = os.path.join(self.dir, "notifications")
        self.log = self.stderr

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def wait_intervals(self, n, timeout, key=("tcp", "gauge", "usable")):
        """Wait until key has n values; False if collectd died or time ran out."""
        return super().wait_intervals(n, timeout, (key,))


def last_interval(vals):
    """The values of the newest timestamp every series has."""
    common = set.intersection(*(set(s) for s in vals.values()))
    if not common:
        return None, {}
    t = max(common, key=float)
    return t, {k: s[t] for k, s in vals.items()}


def check_interval(what, cd, want):
    vals = cd.values()
    # Missing or unexpected identifiers ([] when the sets match).
    ck.eq(f"{what}: {len(want)} identifiers, no other",
          sorted(set(vals) ^ set(want)), [])
    t, got = last_interval(vals)
    ck.eq(f"{what}: one timestamp shared by every value", t is not None, True)
    bad = {k: (got.get(k), v) for k, v in want.items()
           if k not in got or abs(got[k] - v) > 1e-6}
    ck.eq(f"{what}: {len(want)} values == ephport --json", bad, {})
    # Every interval recorded the same (static sockets).
    drift = {k: sorted(set(s.values())) for k, s in vals.items()
             if len(set(s.values())) > 1}
    ck.eq(f"{what}: stable over {min(len(s) for s in vals.values())} intervals",
          drift, {})
    return got


nsutil.enter_private_netns(sys.argv)
# Leaks of collectd itself are not ours to judge here.
COLLECTD, PLUGIN, ASAN_ENV = collectdutil.require(
    skip, ("csv",), asan_env={"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0",
                              "UBSAN_OPTIONS": "print_stacktrace=1"})

ck = nsutil.Checker()
keep = []

# --- the namespace: cli_netns.py's scenario A ------------------------------
LOW, HIGH, RES = nsutil.SCENARIO_A
nsutil.setup_namespace(LOW, HIGH, RES)
keep += nsutil.scenario_a_sockets()

j = nsutil.ephport_json("--top", "5")
tcp = j["protocols"]["tcp"]
ck.eq("json usable", tcp["range"]["usable"], 94)
ck.eq("json time_wait", tcp["time_wait"], 3)
ck.eq("json tcp destinations", tcp["destinations"], 3)
# What model_values() builds on.
TCP_PORTS_A = tcp["ports_in_use"]
# 127.0.0.1:8080's 15 sockets need 15 ports, the listener one more; other
# destinations' sockets may share theirs.
ck.eq(f"json tcp ports in use ({TCP_PORTS_A}): 16 to 23", 16 <= TCP_PORTS_A <= 23,
      True)
ck.eq("json udp ports in use", j["protocols"]["udp"]["ports_in_use"], UDP_PORTS_A)
ck.eq("json tcp listeners in range", tcp["listeners_in_range"], 1)
ck.eq("json tcp destinations' sockets",
      {dest_name(d): (d["sockets"], d["time_wait"]) for d in tcp["top_destinations"]},
      DESTS_A)

# --- 1. contrib/collectd/ephport.conf's block, every value ------------------
want = expected_values(j)
cd = Collectd(PLUGIN, contrib_block(), env=ASAN_ENV)
ok = cd.wait_intervals(3, 30)
ck.eq("collectd recorded 3 intervals", ok, True)
rc = cd.stop()
log = cd.log_text()
ck.eq("collectd exited cleanly", rc, 0)
got = check_interval("full", cd, want)
# The rate values (collectd_rate.py checks their numbers): every interval,
# both protocols; the sockets stand still, so nothing is approaching (NaN).
rates = {k: s for k, s in cd.values(rates=True).items() if is_rate(k[1], k[2])}
ck.eq("full: the rate identifiers", sorted(rates), sorted(
    (p, t, i) for p, names in RATE_NAMES.items() for t, i in names))
ck.eq("full: rates every interval",
      all(len(s) >= 3 for s in rates.values()), True)
newest = {k: s[max(s, key=float)] for k, s in rates.items()}
ck.eq("full: static sockets, nothing approaching",
      [k for k in newest if "seconds" in k[2] and newest[k] == newest[k]], [])
ck.eq("full: a sustainable rate (tcp_tw_reuse 0)",
      newest[("tcp", "operations_per_second", "sustainable_rate")] > 0, True)
# A few numbers known by construction, through collectd.
ck.eq("csv tcp usable", got.get(("tcp", "gauge", "usable")), 94.0)
ck.eq("csv tcp time_wait", got.get(("tcp", "count", "time_wait")), 3.0)
ck.eq("csv tcp established in range",
      got.get(("tcp", "tcp_connections", "established")), 21.0)
ck.eq("csv IPv6 destination name",
      got.get(("tcp", "count", "dest-__1-__1-8080-sockets")), 3.0)
ck.eq("csv worst destination %",
      got.get(("tcp", "percent", "dest-127.0.0.1-127.0.0.1-8080")),
      int(15 * 10000 / 94) / 100)
# The model, in numbers: bind 23 of 94 ports; connect() to 127.0.0.1:8080
# finds its 15 sockets' ports and the listener's blocked.
ck.eq("csv tcp pressure (bind)", got.get(("tcp", "percent", "pressure")),
      bp_percent(TCP_PORTS_A, 94))
ck.eq("csv tcp bind_pressure", got.get(("tcp", "percent", "bind_pressure")),
      bp_percent(TCP_PORTS_A, 94))
ck.eq("csv tcp connect_pressure",
      got.get(("tcp", "percent", "connect_pressure")), 17.02)
ck.eq("csv tcp connect_new_pressure",
      got.get(("tcp", "percent", "connect_new_pressure")), 1.06)
ck.eq("csv tcp bind_owned_ports", got.get(("tcp", "count", "bind_owned_ports")), 1.0)
ck.eq("csv tcp time_wait_reusable (tcp_tw_reuse 0)",
      got.get(("tcp", "count", "time_wait_reusable")), 0.0)
ck.eq("csv IPv6 destination connect_pressure",
      got.get(("tcp", "percent", "dest-__1-__1-8080-connect_pressure")), 4.25)
ck.eq("csv udp bind_pressure", got.get(("udp", "percent", "bind_pressure")), 3.19)
# And the same numbers as ephport --json's model keys (ephport(1)).
MODEL_JSON = {"pressure": lambda p: p["pressure"]["percent"],
              "bind_pressure": lambda p: p["bind_pressure_percent"],
              "connect_pressure": lambda p: p["connect_pressure_percent"],
              "connect_new_pressure":
                  lambda p: p["connect_new_destination_percent"],
              "bind_owned_ports": lambda p: p["bind_owned_ports"],
              "time_wait_reusable": lambda p: p["time_wait_reusable"]}
if "bind_pressure_percent" in tcp:
    from_json = {}
    for (proto, type_, inst) in model_values():
        pj = j["protocols"][proto]
        if inst in MODEL_JSON:
            from_json[(proto, type_, inst)] = float(MODEL_JSON[inst](pj))
    for d in tcp["top_destinations"]:
        from_json[("tcp", "percent", dest_name(d) + "-connect_pressure")] = \
            float(d["connect_pressure_percent"])
    ck.eq("csv model values == ephport --json's",
          {k: (got.get(k), v) for k, v in from_json.items() if got.get(k) != v}, {})
else:
    print("     (ephport --json has no model keys: cross-check skipped)")
ck.eq("csv no udp connect pressure",
      [k for k in got if k[0] == "udp" and "connect" in k[2]], [])
ck.eq("no ephport log lines on a healthy run (but the failure counters')",
      [ln for ln in log.splitlines()
       if "ephport plugin" in ln and not is_failure_line(ln)], [])
ck.eq("the failure counters' state said once",
      sum(is_failure_line(ln) for ln in log.splitlines()), 1)
if NOT_OBSERVABLE in log:
    print("     (no BPF source here: failures not observable, as logged)")
ck.eq("no sanitizer reports", "Sanitizer" in log or "runtime error" in log, False)
print(f"     (one interval: {len(want)} values)")
cd.cleanup()
after = expected_values(nsutil.ephport_json("--top", "5"))
ck.eq("sockets unchanged during the run",
      {k: (v, after.get(k)) for k, v in want.items() if after.get(k) != v}, {})

# --- 1b. tcp_tw_reuse 1: the TIME_WAIT connect() may take over ---------------
# The TIME_WAIT sockets are older than tcp_tw_reuse_delay (1 s) by now; the
# knob is read at every collection, from the namespace.
nsutil.write_sysctl("net/ipv4/tcp_tw_reuse", "1")
try:
    cd = Collectd(PLUGIN, '  Protocol "tcp"\n  ReportStates false', env=ASAN_ENV)
    ck.eq("tw_reuse 1: 2 intervals", cd.wait_intervals(2, 30), True)
    cd.stop()
finally:
    nsutil.write_sysctl("net/ipv4/tcp_tw_reuse", "0")
got = check_interval("tw_reuse 1", cd, {
    **expected_values(j, protocols=("tcp",), states=False),
    **model_values(("tcp",), tw_reuse=1)})
ck.eq("tw_reuse 1: time_wait_reusable",
      got.get(("tcp", "count", "time_wait_reusable")), 3.0)
ck.eq("tw_reuse 1: connect_pressure (1 + 15 - 3 of 94)",
      got.get(("tcp", "percent", "connect_pressure")), 13.82)
ck.eq("tw_reuse 1: worst destination connect_pressure",
      got.get(("tcp", "percent", "dest-127.0.0.1-127.0.0.1-8080-connect_pressure")),
      13.82)
cd.cleanup()

# --- 1c. notifications per kind, each on its own thresholds -----------------
# Step 1: 8 sockets bound to free pool ports, then connected to
# 127.0.0.3:7070: 8 more ports held (bind pressure), a destination of its
# own (9 of 94 blocked: not the worst).  Step 2: 8 more the same way to
# 127.0.0.1:8080: its connect pressure goes from 16 to 24 blocked ports.
# Then an RST for all 16.  Thresholds lie between the last two values of
# each step, so only the whole step crosses them and a read in the middle
# of one sees nothing.  The generic thresholds are valid and never used.
P = TCP_PORTS_A
BIND_RISE = (bp_percent(P + 7, 94) + bp_percent(P + 8, 94)) / 2
BIND_FALL = (bp_percent(P, 94) + bp_percent(P + 1, 94)) / 2
CONNECT_RISE = (bp_percent(23, 94) + bp_percent(24, 94)) / 2   # 25.0
CONNECT_FALL = (bp_percent(16, 94) + bp_percent(17, 94)) / 2   # 17.55
NOTIFY_BLOCK = f"""  RisingThreshold 90
  FallingThreshold 80
  BindRisingThreshold {BIND_RISE:.2f}
  BindFallingThreshold {BIND_FALL:.2f}
  ConnectRisingThreshold {CONNECT_RISE:.2f}
  ConnectFallingThreshold {CONNECT_FALL:.2f}"""


def bound_clients(addr, port, n):
    """n clients of addr:port, each bound first to a free pool port of
    scenario A (not reserved, held by nothing): n more ports held."""
    reserved = set(range(40010, 40015)) | {40050}
    held = {int(r[2]) for r in nsutil.ss_sockets("tcp")}
    out = []
    for p in range(LOW, HIGH + 1):
        if len(out) == n:
            break
        if p in reserved or p in held:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            s.close()
            continue
        s.connect((addr, port))
        out.append(s)
    return out


def notifications(cd):
    """(severity, plugin_instance, type_instance, message) logged so far."""
    return cd.notifications(no_pinst=None)


def wait_notifications(cd, n, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline and len(notifications(cd)) < n:
        if cd.proc.poll() is not None:
            break
        time.sleep(0.2)
    # Two more intervals: nothing else may come.
    time.sleep(2.2)
    return notifications(cd)


def rst_close(socks):
    """Close with an RST: no TIME_WAIT, the ports are free at once."""
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


def notify_section():
    cd = Collectd(PLUGIN, NOTIFY_BLOCK, env=ASAN_ENV, logfile=True)
    ck.eq("notify: 2 quiet intervals", cd.wait_intervals(2, 30), True)
    ck.eq("notify: nothing below the thresholds", wait_notifications(cd, 1, 0), [])
    srv_c = nsutil.tcp_listen("127.0.0.3", 7070)
    step1 = bound_clients("127.0.0.3", 7070, 8)
    n1 = wait_notifications(cd, 1)
    step2 = bound_clients("127.0.0.1", 8080, 8)
    n2 = wait_notifications(cd, 2)
    # 7070's first: until the last of 8080's goes, neither pressure is low.
    rst_close(step1 + step2)
    srv_c.close()
    n3 = wait_notifications(cd, 4)
    rc = cd.stop()
    ck.eq("notify: collectd exited cleanly", rc, 0)
    RANGE_A = "range 40000-40099"
    ck.eq("notify: 8 more ports raise bind only", n1, [
        ("WARNING", "tcp", "bind_pressure",
         f"tcp bind pressure {bp_percent(P + 8, 94):.2f}% rose to or above "
         f"{BIND_RISE:.2f}%: bind(0) fails at 100% ({P + 8} of 94 ports in "
         f"use, {RANGE_A})")])
    ck.eq("notify: 8 more to 127.0.0.1:8080 raise connect, naming it", n2[1:], [
        ("WARNING", "tcp", "connect_pressure",
         f"tcp connect pressure 25.53% rose to or above {CONNECT_RISE:.2f}%: "
         "connect() from 127.0.0.1 to 127.0.0.1:8080 fails at 100% (24 of 94 "
         f"ports blocked, {RANGE_A}); a lower bound")])
    ck.eq("notify: closing them clears both, bind first", n3[2:], [
        ("OKAY", "tcp", "bind_pressure",
         f"tcp bind pressure {bp_percent(P, 94):.2f}% fell to or below "
         f"{BIND_FALL:.2f}%: bind(0) fails at 100% ({P} of 94 ports in use, "
         f"{RANGE_A})"),
        ("OKAY", "tcp", "connect_pressure",
         f"tcp connect pressure 17.02% fell to or below {CONNECT_FALL:.2f}%: "
         "connect() from 127.0.0.1 to 127.0.0.1:8080 fails at 100% (16 of 94 "
         f"ports blocked, {RANGE_A}); a lower bound")])
    vals = cd.values()
    ck.eq("notify: bind pressure rose by 8 ports twice and came back",
          {bp_percent(P + k, 94) for k in (0, 8, 16)} <= set(
              vals.get(("tcp", "percent", "bind_pressure"), {}).values()), True)
    ck.eq("notify: connect pressure 16 -> 24 blocked and back",
          {17.02, 25.53} <= set(
              vals.get(("tcp", "percent", "connect_pressure"), {}).values()), True)
    ck.eq("notify: no ephport errors",
          [ln for ln in open(cd.notif_log)
           if "ephport plugin" in ln and not is_failure_line(ln)], [])
    cd.cleanup()


if os.path.isfile(os.path.join(STOCK_PLUGINS, "logfile.so")):
    notify_section()
else:
    print(f"     (collectd's logfile plugin is not in {STOCK_PLUGINS}: "
          "notifications not checked)")

# --- 2. other switches, procfs source, kernel filter -------------------------

want2 = expected_values(j, protocols=("tcp",), top=1, states=False, listeners=False)
cd = Collectd(PLUGIN, """  Protocol "tcp"
  TopDestinations 1
  ReportStates false
  ReportListeners false
  KernelFilter true""", env=ASAN_ENV)
ck.eq("switches: 2 intervals", cd.wait_intervals(2, 30), True)
cd.stop()
check_interval("switches", cd, want2)
cd.cleanup()
cd = Collectd(PLUGIN, '  Source "procfs"', env=ASAN_ENV)
ck.eq("procfs: 2 intervals", cd.wait_intervals(2, 30), True)
cd.stop()
check_interval("procfs", cd, want)
cd.cleanup()

# --- 3. bad blocks: collectd reports them, no ephport values ----------------
BAD = [("unknown key", "  Protocol \"tcp\"\n  Frobnicate true",
        'ephport plugin: unknown option "Frobnicate" in <Plugin ephport>'),
       ("bad Protocol", '  Protocol "sctp"',
        'ephport plugin: Protocol "sctp" is not a protocol'),
       ("negative TopDestinations", "  TopDestinations -1",
        "ephport plugin: TopDestinations needs a whole number from 0 to 32"),
       ("string boolean", '  ReportStates "sometimes"',
        "ephport plugin: ReportStates needs true or false"),
       ("per-kind threshold over 100", "  BindRisingThreshold 150",
        "ephport plugin: BindRisingThreshold needs a percent from 0 to 100"),
       ("per-kind threshold as a string", '  ConnectFallingThreshold "70"',
        "ephport plugin: ConnectFallingThreshold needs a percent from 0 to 100")]
for what, block, line in BAD:
    cd = Collectd(PLUGIN, block, env=ASAN_ENV)
    try:
        rc = cd.proc.wait(15)
    except subprocess.TimeoutExpired:
        rc = None
    # Give a collectd that would run anyway the time to record values.
    time.sleep(0 if rc is not None else 2)
    cd.stop()
    log = cd.log_text()
    ck.eq(f"{what}: error logged", line in log, True)
    ck.eq(f"{what}: refusal logged",
          "ephport plugin: bad <Plugin ephport> block: refusing to run" in log, True)
    ck.eq(f"{what}: collectd refused the config", rc not in (None, 0), True)
    ck.eq(f"{what}: no ephport values", cd.values(), {})
    cd.cleanup()

# --- 3b. per-kind thresholds that do not hold: the block is refused ------
# The pair is checked once the whole block is read (options may come in
# any order): a bad block, as every other mistake, naming both options.
cd = Collectd(PLUGIN, "  ConnectRisingThreshold 60\n  ConnectFallingThreshold 65",
              env=ASAN_ENV)
try:
    rc = cd.proc.wait(15)
except subprocess.TimeoutExpired:
    rc = None
time.sleep(0 if rc is not None else 2)
cd.stop()
log = cd.log_text()
ck.eq("bad pair: error names both options",
      "ephport plugin: ConnectFallingThreshold (65) must be below "
      "ConnectRisingThreshold (60) for connect notifications" in log, True)
ck.eq("bad pair: refusal logged",
      "ephport plugin: bad <Plugin ephport> block: refusing to run" in log, True)
ck.eq("bad pair: collectd refused the config", rc not in (None, 0), True)
ck.eq("bad pair: no ephport values", cd.values(), {})
cd.cleanup()

# --- 4. a failing collection: logged once, back-off, recovery ---------------
root = tempfile.mkdtemp(prefix="eph-proc-")
os.makedirs(os.path.join(root, "sys/net/ipv4"))
range_file = os.path.join(root, "sys/net/ipv4/ip_local_port_range")
with open(os.path.join(root, "sys/net/ipv4/ip_local_reserved_ports"), "w") as f:
    f.write("\n")
with open(range_file, "w") as f:
    f.write("40000 40099\n")
# MaxReadInterval bounds collectd's back-off so recovery shows within seconds.
cd = Collectd(PLUGIN, f'  ProcRoot "{root}"\n  Protocol "tcp"', env=ASAN_ENV,
              extra="MaxReadInterval 2")
ck.eq("failure: first values", cd.wait_intervals(1, 30), True)
os.unlink(range_file)
time.sleep(6)   # about 4 failed reads
with open(range_file, "w") as f:
    f.write("40000 40199\n")
deadline = time.time() + 20
while time.time() < deadline and "works again" not in cd.log_text():
    time.sleep(0.2)
time.sleep(1.5)
cd.stop()
log = cd.log_text().splitlines()
for ln in log:
    if "ephport" in ln:
        print("     | " + ln)
fails = [ln for ln in log if "ephport plugin: collection failed" in ln]
ck.eq("failure: logged once", len(fails), 1)
ck.eq("failure: names the file", "ip_local_port_range" in "".join(fails), True)
ck.eq("failure: collectd backed off",
      any("read-function of plugin `ephport' failed" in ln for ln in log), True)
ck.eq("failure: recovery logged once",
      sum("ephport plugin: collection works again" in ln for ln in log), 1)
usable = cd.values().get(("tcp", "gauge", "usable"), {})
ck.eq("failure: values before and after", sorted(set(usable.values())),
      [100.0, 200.0])
cd.cleanup()
shutil.rmtree(root, ignore_errors=True)

# --- 5. several intervals under valgrind -------------------------------------
if ASAN_ENV:
    print("     (valgrind skipped: ASan build; the runs above had ASan preloaded)")
elif not shutil.which("valgrind"):
    print("     (valgrind not installed: memory check skipped)")
else:
    cd = Collectd(PLUGIN, "  TopDestinations 5",
                  wrapper=["valgrind", "-q", "--error-exitcode=99",
                           "--leak-check=full", "--errors-for-leak-kinds=definite",
                           "--show-leak-kinds=definite"])
    ck.eq("valgrind: 5 intervals", cd.wait_intervals(5, 120), True)
    rc = cd.stop(120)
    text = cd.log_text()
    ck.eq("valgrind: no errors (exit status)", rc, 0)
    ck.eq("valgrind: no report mentioning the plugin",
          [ln for ln in text.splitlines()
           if ln.startswith("==") and "ephport" in ln], [])
    check_interval("valgrind", cd, want)
    cd.cleanup()

for s in keep:
    s.close()
ck.done()
