#!/usr/bin/env python3
"""The collectd plugin in a real `collectd -f` in a private network namespace.

Range 40000-40099 with 40010-40014 and 40050 reserved (usable 94) and the
same known mix of sockets as cli_netns.py.  collectd loads a copy of the
built ephport.so (collectd ignores symlinks in its PluginDir) and the stock
csv writer; with the block of contrib/collectd/ephport.conf and with other
switches, every value it records must be exactly the set `ephport --json`
implies for the same config, with the same numbers.

Also: bad <Plugin ephport> blocks stop collectd with an `ephport plugin:`
line naming the key and no ephport values; a collection failure (ProcRoot
with the range file taken away) is logged once, collectd backs off, and the
plugin recovers by itself and says so once; and several intervals under
valgrind (or, for an --enable-sanitizers build, with ASan preloaded) are
clean.

The plugin: $EPH_COLLECTD_PLUGIN, else .libs/ephport.so beside $EPHPORT.
Skips (77) without root, collectd, its csv plugin, or a built plugin.
"""
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402
from collectdutil import (asan_runtime, find_collectd, find_plugin,  # noqa: E402
                          needs_asan)

STOCK_PLUGINS = "/usr/lib/collectd"
TYPES_DB = "/usr/share/collectd/types.db"
HOST = "ephtest"
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


def expected_values(j, protocols=("tcp", "udp"), top=5, states=True,
                    listeners=True):
    """{(plugin_instance, type, type_instance): value} for one interval, from
    `ephport --json --top N` output, as ephport-collectd(5) documents."""
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
    return want


def contrib_block():
    """The body of <Plugin ephport> in the shipped example."""
    top = os.environ.get("top_srcdir") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with open(os.path.join(top, "contrib", "collectd", "ephport.conf")) as f:
        text = f.read()
    start = text.index("<Plugin ephport>") + len("<Plugin ephport>")
    return text[start:text.index("</Plugin>", start)].strip("\n")


class Collectd:
    """One collectd -f with a temp BaseDir, the plugin copy and csv."""

    def __init__(self, plugin, block, wrapper=(), env=None, extra=""):
        self.dir = tempfile.mkdtemp(prefix="eph-collectd-")
        plugdir = os.path.join(self.dir, "plugins")
        os.mkdir(plugdir)
        # Copies, not symlinks: collectd skips symlinks in its PluginDir.
        shutil.copyfile(plugin, os.path.join(plugdir, "ephport.so"))
        shutil.copyfile(os.path.join(STOCK_PLUGINS, "csv.so"),
                        os.path.join(plugdir, "csv.so"))
        self.csv = os.path.join(self.dir, "csv")
        self.log = os.path.join(self.dir, "stderr")
        self.conf = os.path.join(self.dir, "collectd.conf")
        with open(self.conf, "w") as f:
            f.write(f"""Hostname "{HOST}"
FQDNLookup false
BaseDir "{self.dir}"
PIDFile "{self.dir}/collectd.pid"
PluginDir "{plugdir}"
TypesDB "{TYPES_DB}"
Interval 1
{extra}
LoadPlugin csv
LoadPlugin ephport
<Plugin csv>
  DataDir "{self.csv}"
  StoreRates false
</Plugin>
<Plugin ephport>
{block}
</Plugin>
""")
        # No log plugin: collectd writes log lines to stderr.
        self.err = open(self.log, "w")
        self.proc = subprocess.Popen(
            list(wrapper) + [COLLECTD, "-f", "-C", self.conf],
            stdout=self.err, stderr=subprocess.STDOUT,
            env=dict(os.environ, **(env or {})))

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.err.close()
        return rc

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def values(self):
        """{(plugin_instance, type, type_instance): {epoch: value}}"""
        out = {}
        for path in glob.glob(os.path.join(self.csv, HOST, "ephport-*", "*")):
            pinst = os.path.basename(os.path.dirname(path))[len("ephport-"):]
            name = os.path.basename(path)[:-len("-YYYY-MM-DD")]
            type_, _, tinst = name.partition("-")
            series = out.setdefault((pinst, type_, tinst), {})
            with open(path) as f:
                for line in f:
                    if line.startswith("epoch"):
                        continue
                    t, v = line.strip().split(",")
                    series[t] = float(v)
        return out

    def wait_intervals(self, n, timeout, key=("tcp", "gauge", "usable")):
        """Wait until key has n values; False if collectd died or time ran out."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.values().get(key, {})) >= n:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.2)
        return False

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


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
COLLECTD = find_collectd()
if not COLLECTD:
    skip("collectd is not installed")
if not os.path.isfile(os.path.join(STOCK_PLUGINS, "csv.so")):
    skip(f"collectd's csv plugin is not in {STOCK_PLUGINS}")
PLUGIN = find_plugin()
if not PLUGIN:
    skip("the plugin was not built (no collectd headers?); set EPH_COLLECTD_PLUGIN")

ASAN_ENV = {}
if needs_asan(PLUGIN):
    rt = asan_runtime()
    if not rt:
        skip("the plugin is built with ASan but libasan.so was not found")
    # collectd is not instrumented: the runtime must be loaded first.
    # Leaks of collectd itself are not ours to judge here.
    ASAN_ENV = {"LD_PRELOAD": rt,
                "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0",
                "UBSAN_OPTIONS": "print_stacktrace=1"}

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

# --- 1. contrib/collectd/ephport.conf's block, every value ------------------
want = expected_values(j)
cd = Collectd(PLUGIN, contrib_block(), env=ASAN_ENV)
ok = cd.wait_intervals(3, 30)
ck.eq("collectd recorded 3 intervals", ok, True)
rc = cd.stop()
log = cd.log_text()
ck.eq("collectd exited cleanly", rc, 0)
got = check_interval("full", cd, want)
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
ck.eq("no ephport log lines on a healthy run",
      [ln for ln in log.splitlines() if "ephport plugin" in ln], [])
ck.eq("no sanitizer reports", "Sanitizer" in log or "runtime error" in log, False)
print(f"     (one interval: {len(want)} values)")
cd.cleanup()
after = expected_values(nsutil.ephport_json("--top", "5"))
ck.eq("sockets unchanged during the run",
      {k: (v, after.get(k)) for k, v in want.items() if after.get(k) != v}, {})

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
        "ephport plugin: ReportStates needs true or false")]
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
