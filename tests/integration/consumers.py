#!/usr/bin/python3
"""Consumer conformance: every output of ephport, ephportd and the collectd
plugin read by the real tool that consumes it (all from Debian, installed
by scripts/deps), in a private network namespace holding scenario A's
sockets (nsutil.scenario_a_sockets), and the numbers each tool reads
compared with the numbers the scenario made (`ephport --json`, checked
here against what the scenario built).

  Prometheus text  promtool check metrics (no lint line); prometheus_client's
                   parser (every family typed, with HELP, no untyped
                   sample); node_exporter's textfile collector scraped over
                   loopback (node_textfile_scrape_error 0, our samples).
  JSON             doc/ephport.schema.json with python3-jsonschema: this
                   scenario's outputs and every output the integration
                   tests captured ($EPH_JSON_CAPTURE, see nsutil.py).
  SNMP             snmpwalk == snmpbulkwalk at several max-repetitions;
                   pysnmp (GETNEXT and GETBULK) gives the same varbinds;
                   snmptable renders every table by name; v1 walks give
                   the v2c rows less Counter64; the snmp_exporter generator
                   builds contrib/prometheus/snmp_exporter/snmp.yml from
                   generator.yml with --fail-on-parse-errors, and the
                   exporter with it serves TruthValues and enums as state
                   sets and info labels, not as gauges of 1 and 2.
  Nagios           the `ephport check` line through a strict perfdata
                   parser (monitoring-plugins guidelines); check_snmp on
                   ephRangePressure gives ephport check's state.
  collectd         collectdctl listval/getval through the unixsock plugin
                   agree with --json.

Each consumer prints a VERDICT line.  Run by scripts/test once, on the
werror build, with Debian's /usr/bin/python3 (the consumers' Python
modules are Debian packages).  Exit 0 pass, 1 fail, 77 skip (no root).
"""
import glob
import http.client
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsutil  # noqa: E402
import snmputil as su  # noqa: E402

TOP = os.environ.get("top_srcdir") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
STARTED = time.time()
nsutil.enter_private_netns(sys.argv)
# Our own verdicts only: the consumers' ports and the tool's own sockets
# are outside scenario A's range (40000-40099) or unix sockets.
NODE_PORT, SNMPEXP_PORT = 19100, 19116
HTTP_CLIENT_PORTS = iter(range(11181, 11199))   # fixed: not autobound in the range
PYSNMP_PORT, CHECK_SNMP_PORT = 11171, 11172

ck = nsutil.Checker()
verdicts = []


class Section:
    """One consumer on one output: counts the failures in between."""

    def __init__(self, output, consumer):
        self.output, self.consumer = output, consumer

    def __enter__(self):
        self.start = ck.failures
        self.checks = ck.checks
        self.t0 = time.time()
        print(f"--- {self.output}: {self.consumer}")
        return self

    def skip(self, why):
        verdicts.append((self.output, self.consumer, "SKIP", why))
        self.skipped = True

    def __exit__(self, et, ev, tb):
        if getattr(self, "skipped", False):
            return False
        if et is not None:
            ck.checks += 1
            ck.failures += 1
            print(f"FAIL {self.consumer}: {et.__name__}: {ev}")
        bad = ck.failures - self.start
        verdicts.append((self.output, self.consumer, "FAIL" if bad else "PASS",
                         f"{ck.checks - self.checks - bad}/{ck.checks - self.checks} checks, "
                         f"{time.time() - self.t0:.1f}s"))
        return True


def tool(*names):
    for n in names:
        p = shutil.which(n) or (n if os.access(n, os.X_OK) else None)
        if p:
            return p
    return None


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                   source_address=("127.0.0.1", next(HTTP_CLIENT_PORTS)))
    c.request("GET", path)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, body


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open("/proc/net/tcp") as f:
            if any(line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"
                   for line in f.readlines()[1:]):
                return True
        time.sleep(0.05)
    return False


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def families(text):
    from prometheus_client.parser import text_string_to_metric_families
    return list(text_string_to_metric_families(text))


def samples(fams, prefix):
    """{(name, sorted labels): value} of the families starting with prefix."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in fams if f.name.startswith(prefix) for s in f.samples}


# --- the scenario ---------------------------------------------------------
LOW, HIGH, RES = nsutil.SCENARIO_A
nsutil.setup_namespace(LOW, HIGH, RES)
keep = nsutil.scenario_a_sockets()
tmp = tempfile.mkdtemp(prefix="eph-consumers-")

J = nsutil.ephport_json("--top", "10")
TCP, UDP = J["protocols"]["tcp"], J["protocols"]["udp"]
# What the scenario built (nsutil.scenario_a_sockets), so that --json is
# itself a checked reference for everything below.
ck.eq("scenario: tcp usable / reserved", (TCP["range"]["usable"], TCP["range"]["reserved"]),
      (94, 6))
ck.eq("scenario: tcp sockets in range, TIME_WAIT, listeners",
      (TCP["sockets_in_range"], TCP["time_wait"], TCP["listeners_in_range"]), (25, 3, 1))
ck.eq("scenario: tcp established in range", TCP["states_in_range"]["established"], 21)
ck.eq("scenario: tcp destinations", {(d["remote_address"], d["remote_port"]): d["sockets"]
                                     for d in TCP["top_destinations"]},
      {("127.0.0.1", 8080): 15, ("127.0.0.2", 9090): 6, ("::1", 8080): 3})
ck.eq("scenario: udp ports in use, sockets in range", (UDP["ports_in_use"],
                                                      UDP["sockets_in_range"]), (3, 3))
ck.eq("scenario: tcp ports in use 16 to 23", 16 <= TCP["ports_in_use"] <= 23, True)
PROM = nsutil.ephport("--prometheus", "--top", "10").stdout


def bp(percent):
    return round(percent * 100)


# --- Prometheus text: promtool ------------------------------------------------
with Section("prometheus text", "promtool check metrics") as s:
    if not tool("promtool"):
        s.skip("promtool not installed (Debian: prometheus)")
    else:
        r = subprocess.run(["promtool", "check", "metrics"], input=PROM,
                           capture_output=True, text=True)
        ck.eq("promtool: exit 0, no lint line", (r.returncode, r.stdout + r.stderr), (0, ""))

# --- Prometheus text: prometheus_client ---------------------------------------
with Section("prometheus text", "prometheus_client parser") as s:
    fams = families(PROM)
    ck.eq("every family typed (no untyped/unknown)",
          [f.name for f in fams if f.type not in ("gauge", "counter", "info", "stateset")], [])
    ck.eq("every family has HELP", [f.name for f in fams if not f.documentation], [])
    names = [f.name for f in fams]
    ck.eq("each family once", sorted(n for n in set(names) if names.count(n) > 1), [])
    v = samples(fams, "ephport_")
    P = lambda name, **lab: v.get((name, tuple(sorted(lab.items()))))  # noqa: E731
    for proto, js in (("tcp", TCP), ("udp", UDP)):
        ck.eq(f"{proto}: usable, ports in use, free",
              (P("ephport_usable_ports", protocol=proto), P("ephport_ports_in_use", protocol=proto),
               P("ephport_ports_free", protocol=proto)),
              (js["range"]["usable"], js["ports_in_use"], js["ports_free"]))
        ck.eq(f"{proto}: bind pressure ratio = percent / 100",
              math.isclose(P("ephport_bind_pressure_ratio", protocol=proto) or -1,
                           js["bind_pressure_percent"] / 100), True)
        ck.eq(f"{proto}: headline pressure ratio = percent / 100",
              math.isclose(P("ephport_pressure_ratio", protocol=proto,
                             kind=js["pressure"]["kind"]) or -1,
                           js["pressure"]["percent"] / 100), True)
    ck.eq("tcp sockets in range",
          P("ephport_sockets", protocol="tcp", scope="range"), TCP["sockets_in_range"])
    ck.eq("tcp TIME_WAIT in range",
          P("ephport_time_wait_sockets", protocol="tcp", scope="range"), TCP["time_wait"])
    ck.eq("tcp established in range",
          P("ephport_state_sockets", protocol="tcp", scope="range", state="established"), 21)
    d = TCP["top_destinations"][0]
    got = [s_.value for f in fams if f.name == "ephport_destination_sockets"
           for s_ in f.samples if s_.labels.get("remote_port") == "8080"
           and s_.labels.get("remote_address") == "127.0.0.1"]
    ck.eq("tcp destination 127.0.0.1:8080 sockets", got, [d["sockets"]])
    PROM_SAMPLES = v

# --- JSON: the schema ---------------------------------------------------------
with Section("json", "python3-jsonschema, doc/ephport.schema.json") as s:
    import jsonschema
    with open(os.path.join(TOP, "doc", "ephport.schema.json")) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    val = cls(schema)
    ck.eq("schema versioned ($id ends in its version)", schema["$id"].rsplit(":", 1)[1], "1")
    docs = {"scenario A --top 10": J}
    for args in (["--top", "0"], ["--top", "32"], ["-P", "tcp"], ["-P", "udp"],
                 ["--source", "procfs"], ["--no-state-totals"]):
        docs["scenario A " + " ".join(args)] = nsutil.ephport_json(*args)
    docs["advise --json"] = json.loads(nsutil.ephport("advise", "--json").stdout)
    # Every --os fixture set: each range file with the sockets files beside it.
    fixtures = os.path.join(os.environ.get("EPH_FIXTURES", os.path.join(TOP, "tests", "fixtures")),
                            "os")
    for osdir in sorted(glob.glob(os.path.join(fixtures, "*"))):
        osname = os.path.basename(osdir)
        for fpath in sorted(glob.glob(os.path.join(osdir, "*"))):
            for cmd in (["--json"], ["advise", "--json"]):
                r = nsutil.ephport(*cmd, "--os", osname, "--range-file", fpath, check=False)
                if r.returncode == 0:
                    docs[f"{' '.join(cmd)} --os {osname} {os.path.basename(fpath)}"] = \
                        json.loads(r.stdout)
                r = nsutil.ephport(*cmd, "--os", osname, "--sockets-file", fpath, check=False)
                if r.returncode == 0:
                    docs[f"{' '.join(cmd)} --os {osname} sockets {os.path.basename(fpath)}"] = \
                        json.loads(r.stdout)
    cap = os.environ.get("EPH_JSON_CAPTURE")
    captured = 0
    for path in sorted(glob.glob(os.path.join(cap, "*.json"))) if cap else []:
        with open(path) as f:
            rec = json.load(f)
        if {"-h", "--help", "-V", "--version"} & set(rec["args"]):
            continue
        what = f"captured {rec['test']}: ephport {' '.join(rec['args'])}"
        try:
            docs[what] = json.loads(rec["stdout"])
        except ValueError as e:
            docs[what] = f"not JSON: {e}"     # fails the schema (type object)
        captured += 1
    print(f"     {len(docs)} documents, {captured} captured from the integration tests"
          + ("" if cap else " (EPH_JSON_CAPTURE not set)"))
    bad = {}
    for what, doc in docs.items():
        errs = sorted(val.iter_errors(doc), key=lambda e: list(e.path))
        if errs:
            bad[what] = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errs[:3]]
    ck.eq(f"{len(docs)} documents valid", bad, {})
    # And the schema is not vacuous: a wrong document is refused.
    wrong = json.loads(json.dumps(J))
    wrong["protocols"]["tcp"]["ports_in_use"] = "20"
    del wrong["protocols"]["udp"]["range"]
    wrong["protocols"]["tcp"]["pressure"]["kind"] = "both"
    ck.eq("a wrong document: three errors", len(list(val.iter_errors(wrong))), 3)

# --- Nagios: the check line, strict perfdata ----------------------------------
PERF_RE = re.compile(
    r"^(?:'(?P<ql>[^'=]+)'|(?P<l>[^'= ]+))=(?P<v>-?[0-9]+(?:\.[0-9]+)?)"
    r"(?P<u>s|ms|us|%|B|KB|MB|TB|c)?"
    r"(?:;(?P<w>[^;]*)(?:;(?P<c>[^;]*)(?:;(?P<min>-?[0-9.]*)(?:;(?P<max>-?[0-9.]*))?)?)?)?$")
RANGE_RE = re.compile(r"^@?(?:(?:-?[0-9.]+|~):)?(?:-?[0-9.]+)?$")


def perfdata(line):
    """{label: (value, uom, warn, crit, min, max)}, or raise ValueError."""
    if "\n" in line.rstrip("\n"):
        raise ValueError("more than one line")
    text, sep, perf = line.rstrip("\n").partition("|")
    if not sep or not perf.strip():
        raise ValueError("no perfdata")
    if not re.match(r"^EPHPORT (OK|WARNING|CRITICAL|UNKNOWN) - ", text):
        raise ValueError(f"status text {text!r}")
    out = {}
    for item in perf.strip().split(" "):
        m = PERF_RE.match(item)
        if not m:
            raise ValueError(f"bad perfdata item {item!r}")
        for t in ("w", "c"):
            if m.group(t) and not RANGE_RE.match(m.group(t)):
                raise ValueError(f"bad threshold range in {item!r}")
        label = m.group("ql") or m.group("l")
        if label in out:
            raise ValueError(f"label {label} twice")
        num = lambda x: float(x) if x else None  # noqa: E731
        out[label] = (float(m.group("v")), m.group("u") or "", m.group("w") or "",
                      m.group("c") or "", num(m.group("min")), num(m.group("max")))
    return out


CHECKS = {}   # (warn, crit) -> exit status of ephport check
with Section("nagios check", "strict perfdata parser") as s:
    for w, c in ((80, 90), (20, 30), (10, 20), (TCP["pressure"]["percent"], 30)):
        r = nsutil.ephport("check", "-w", str(w), "-c", str(c), check=False)
        CHECKS[(w, c)] = r.returncode
        try:
            pd = perfdata(r.stdout)
        except ValueError as e:
            ck.eq(f"check -w {w} -c {c}: perfdata parses", str(e), None)
            continue
        ck.eq(f"check -w {w} -c {c}: one line, parses ({len(pd)} items)", len(pd) > 10, True)
        ck.eq(f"check -w {w} -c {c}: tcp_pressure", pd["tcp_pressure"][:4],
              (TCP["pressure"]["percent"], "%", f"{w:.2f}", f"{c:.2f}"))
        ck.eq(f"check -w {w} -c {c}: tcp_pressure min;max", pd["tcp_pressure"][4:], (0.0, 100.0))
        ck.eq(f"check -w {w} -c {c}: ports in use / usable",
              (pd["tcp_ports_in_use"][0], pd["tcp_ports_in_use"][5], pd["udp_ports_in_use"][0]),
              (TCP["ports_in_use"], 94.0, UDP["ports_in_use"]))
        ck.eq(f"check -w {w} -c {c}: tcp connect, time_wait",
              (pd["tcp_connect_pressure"][0], pd["tcp_time_wait"][0]),
              (TCP["connect_pressure_percent"], TCP["time_wait"]))
        worst = max(TCP["pressure"]["percent"], UDP["pressure"]["percent"])
        ck.eq(f"check -w {w} -c {c}: exit status", r.returncode,
              2 if worst >= c else 1 if worst >= w else 0)
    for bad_line in ("EPHPORT OK - x | a=1;;;0;100;7", "EPHPORT OK - x | a b=1",
                     "EPHPORT OK - x | a=1%%", "EPHPORT OK - x | a=1;1:2:3"):
        try:
            perfdata(bad_line)
            ck.eq(f"parser refuses {bad_line!r}", "accepted", "refused")
        except ValueError:
            ck.eq(f"parser refuses {bad_line!r}", "refused", "refused")



def refresh():
    """--json now: what the next consumer reads is compared with the sockets
    as they are when it reads them (scenario A's TIME_WAIT sockets last 60 s)."""
    global J, TCP, UDP
    J = nsutil.ephport_json("--top", "10")
    TCP, UDP = J["protocols"]["tcp"], J["protocols"]["udp"]


# --- collectd: collectdctl through unixsock -----------------------------------
with Section("collectd plugin", "collectdctl listval/getval (unixsock)") as s:
    from collectdutil import find_collectd, find_plugin, needs_asan
    cd_bin, plugin, ctl = find_collectd(), find_plugin(), tool("collectdctl")
    stock = "/usr/lib/collectd"
    if not (cd_bin and plugin and ctl and os.path.isfile(f"{stock}/unixsock.so")):
        s.skip("collectd, collectdctl, its unixsock plugin or the built plugin is missing")
    elif needs_asan(plugin):
        s.skip("the plugin is an ASan build (the stage runs on the werror build)")
    else:
        d = os.path.join(tmp, "collectd")
        plugdir = os.path.join(d, "plugins")
        os.makedirs(plugdir)
        shutil.copyfile(plugin, os.path.join(plugdir, "ephport.so"))
        shutil.copyfile(f"{stock}/unixsock.so", os.path.join(plugdir, "unixsock.so"))
        sock = os.path.join(d, "sock")
        with open(os.path.join(d, "collectd.conf"), "w") as f:
            f.write(f"""Hostname "ephtest"
FQDNLookup false
BaseDir "{d}"
PIDFile "{d}/collectd.pid"
PluginDir "{plugdir}"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin unixsock
LoadPlugin ephport
<Plugin unixsock>
  SocketFile "{sock}"
</Plugin>
<Plugin ephport>
  TopDestinations 5
</Plugin>
""")
        log = open(os.path.join(d, "log"), "w")
        refresh()
        proc = subprocess.Popen([cd_bin, "-f", "-C", os.path.join(d, "collectd.conf")],
                                stdout=log, stderr=subprocess.STDOUT)

        def ctl_run(*a):
            return subprocess.run([ctl, "-s", sock] + list(a), capture_output=True, text=True)
        ids = []
        deadline = time.time() + 15
        while time.time() < deadline:
            if os.path.exists(sock):
                r = ctl_run("listval")
                # "IDENT" (collectdctl), or "EPOCH IDENT" (raw LISTVAL).
                ids = [ln.split()[-1] for ln in r.stdout.splitlines() if ln.strip()]
                if any("ephport-tcp/gauge-usable" in i for i in ids):
                    break
            time.sleep(0.2)
        if not ids:
            print("     collectdctl listval:", r.stdout, r.stderr, open(log.name).read())
        got = {}
        for ident in ids:
            r = ctl_run("getval", ident)
            # One data source per type here; its name is the type's own
            # ("value", "seconds" for duration); NaN is collectd's unknown.
            m = re.match(r"^[a-z_]+=(\S+)$", r.stdout.strip())
            got[ident] = float(m.group(1)) if m and r.returncode == 0 else r.stdout + r.stderr
        stop(proc)
        log.close()
        want = {}
        for proto, js in (("tcp", TCP), ("udp", UDP)):
            base = f"ephtest/ephport-{proto}/"
            want[base + "gauge-usable"] = js["range"]["usable"]
            want[base + "gauge-reserved"] = js["range"]["reserved"]
            want[base + "gauge-range_low"] = js["range"]["low"]
            want[base + "gauge-range_high"] = js["range"]["high"]
            want[base + "count-ports_used"] = js["ports_in_use"]
            want[base + "count-ports_free"] = js["ports_free"]
            want[base + "count-sockets_in_range"] = js["sockets_in_range"]
            want[base + "count-listeners_in_range"] = js["listeners_in_range"]
            want[base + "count-destinations"] = js["destinations"]
            want[base + "percent-pressure"] = js["pressure"]["percent"]
            want[base + "percent-bind_pressure"] = js["bind_pressure_percent"]
            want[base + "percent-exhaustion"] = js["exhaustion_percent"]
            if proto == "tcp":
                want[base + "count-time_wait"] = js["time_wait"]
                want[base + "percent-connect_pressure"] = js["connect_pressure_percent"]
                want[base + "count-bind_owned_ports"] = js["bind_owned_ports"]
                for st, n in js["states_in_range"].items():
                    want[base + "tcp_connections-" + st] = n
            else:
                for st, n in js["states_in_range"].items():
                    want[base + "count-state-" + st] = n
            for dst in js["top_destinations"][:5]:
                name = "dest-{}-{}-{}".format(dst["local_address"].replace(":", "_"),
                                              dst["remote_address"].replace(":", "_"),
                                              dst["remote_port"])
                want[base + f"count-{name}-sockets"] = dst["sockets"]
                want[base + f"percent-{name}"] = dst["exhaustion_percent"]
        ck.eq(f"listval: {len(ids)} identifiers, all ephport's",
              (len(ids) > 40, [i for i in ids if "/ephport-" not in i and
                               "/ephport/" not in i]), (True, []))
        ck.eq("getval: every identifier gives one number",
              {i: g for i, g in got.items() if not isinstance(g, float)}, {})
        ck.eq(f"{len(want)} values == --json",
              {k: (got.get(k), w) for k, w in want.items()
               if not isinstance(got.get(k), float) or abs(got[k] - w) > 1e-6}, {})

# --- SNMP: ephportd through snmpd ---------------------------------------------
NUM = "-On -Oe -Ot -OU"
MIBROOT = ".1.3.6.1.4.1.8072.9999.9999.7"
# ephCollections{Total,Failures}, ephNsTcpTwRecycled.1 (issue 18: read in
# every mode).  The failure counters are Counter64 too, but absent here:
# without the BPF source they are not observable.
COUNTER64 = {MIBROOT + ".1.1.5.0", MIBROOT + ".1.1.6.0", MIBROOT + ".1.2.1.9.1"}


def raw(tool_, *args, version="2c"):
    """[(oid, type, value)] with no MIB loaded: the wire values."""
    cmd = [tool_, "-m", "", "-M", "/nonexistent", "-On", "-Oe", "-Ot", "-OU",
           "-t", "2", "-r", "1", f"--clientaddr=127.0.0.1:{su.CLIENT_PORT}",
           "--clientaddrUsesPort=yes", f"-v{version}", "-c", su.COMMUNITY,
           f"127.0.0.1:{su.PORT}"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True,
                       env=dict(os.environ, MIBS="", MIBDIRS="", SNMPCONFPATH="/nonexistent"))
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    rows = []
    for line in r.stdout.splitlines():
        oid, _, rest = line.partition(" = ")
        typ, sep, val = rest.partition(": ")
        if not sep and rest == '""':    # an empty string has no type shown
            typ, val = "STRING", rest
        elif not sep:   # -Ot: TimeTicks as a bare number
            typ, val = "Timeticks", rest
        rows.append((oid, typ, val.strip('"')))
    return rows


master = agent = None
if not su.have_tools():
    for out in ("snmpwalk/bulkwalk", "pysnmp", "snmptable", "v1 walk", "check_snmp",
                "snmp_exporter"):
        verdicts.append(("snmp", out, "SKIP", "Net-SNMP tools not installed"))
else:
    master = su.Master(tmp)
    master.start()
    # One collection, then none: every walk below reads the same numbers,
    # whatever sockets the clients open meanwhile.
    agent = su.Agent(tmp, master, extra="interval 3600\n")
    agent.start()
    ck.eq("ephportd serves ok(1)", su.wait_for(
        lambda: su.values("snmpget", "ephCollectorStatus.0")["ephCollectorStatus.0"] == "1"), True)
    refresh()

    with Section("snmp", "snmpwalk vs snmpbulkwalk (-Cr 1, 3, 10, 50)") as s:
        WALK = raw("snmpwalk", MIBROOT)
        stable = [r for r in WALK if not r[0].startswith(MIBROOT + ".1.1.2.")]  # ephDataAge
        ck.eq(f"snmpwalk: {len(WALK)} rows, in order, unique",
              (len(WALK) > 100, [r[0] for r in WALK] == sorted(
                  (r[0] for r in WALK), key=lambda o: [int(x) for x in o.strip(".").split(".")]),
               len({r[0] for r in WALK}) == len(WALK)), (True, True, True))
        for n in (1, 3, 10, 50):
            bulk = raw("snmpbulkwalk", f"-Cr{n}", MIBROOT)
            ck.eq(f"snmpbulkwalk -Cr{n} == snmpwalk",
                  [r for r in bulk if not r[0].startswith(MIBROOT + ".1.1.2.")], stable)
        # The numbers: the range rows against --json.
        col = {r[0]: r[2] for r in WALK}
        for p, js in ((1, TCP), (2, UDP)):
            ck.eq(f"walk: range {p} usable, in use, pressure",
                  (col.get(f"{MIBROOT}.1.3.1.6.1.{p}"), col.get(f"{MIBROOT}.1.3.1.8.1.{p}"),
                   col.get(f"{MIBROOT}.1.3.1.30.1.{p}")),
                  (str(js["range"]["usable"]), str(js["ports_in_use"]),
                   str(bp(js["pressure"]["percent"]))))

    with Section("snmp", "pysnmp GETNEXT and GETBULK") as s:
        from pysnmp.hlapi import (CommunityData, ContextData, ObjectIdentity, ObjectType,
                                  SnmpEngine, UdpTransportTarget, bulkCmd, nextCmd)
        TYPES = {"Integer": "INTEGER", "Integer32": "INTEGER", "Gauge32": "Gauge32",
                 "Unsigned32": "Gauge32", "Counter32": "Counter32", "Counter64": "Counter64",
                 "OctetString": "STRING", "TimeTicks": "Timeticks",
                 "ObjectIdentifier": "OID", "IpAddress": "IpAddress"}

        def py_walk(bulk=None, mp=1):
            t = UdpTransportTarget(("127.0.0.1", su.PORT), timeout=2, retries=1)
            t.setLocalAddress(("127.0.0.1", PYSNMP_PORT))
            engine = SnmpEngine()
            args = (engine, CommunityData(su.COMMUNITY, mpModel=mp), t, ContextData())
            obj = ObjectType(ObjectIdentity(MIBROOT.strip(".")))
            gen = (bulkCmd(*args, 0, bulk, obj, lexicographicMode=False) if bulk else
                   nextCmd(*args, obj, lexicographicMode=False))
            rows = []
            for err_ind, err_st, _, vbs in gen:
                if err_ind or err_st:
                    raise AssertionError(f"pysnmp: {err_ind or err_st.prettyPrint()}")
                for name, value in vbs:
                    typ = TYPES.get(type(value).__name__, type(value).__name__)
                    # When the walk ends exactly at the end of a response
                    # (rows a multiple of max-repetitions) pysnmp yields
                    # the next response's endOfMibView as a row: the end.
                    if typ == "EndOfMibView":
                        continue
                    rows.append(("." + str(name), typ,
                                 value.prettyPrint() if typ != "STRING" else str(value)))
            # Free the fixed client port for the next walk.
            engine.transportDispatcher.closeDispatcher()
            return rows
        for what, rows in (("nextCmd", py_walk()), ("bulkCmd 7", py_walk(7)),
                           ("bulkCmd 25", py_walk(25))):
            ck.eq(f"pysnmp {what}: {len(rows)} varbinds == snmpwalk",
                  [r for r in rows if not r[0].startswith(MIBROOT + ".1.1.2.")], stable)
        V1_PY = py_walk(mp=0)

    with Section("snmp", "v1 walk (snmpwalk -v1, pysnmp mpModel 0)") as s:
        v1 = raw("snmpwalk", MIBROOT, version="1")
        want = [r for r in stable if r[0] not in COUNTER64]
        ck.eq("v2c walk has the three Counter64", {r[0] for r in WALK if r[1] == "Counter64"},
              COUNTER64)
        ck.eq(f"snmpwalk -v1: {len(v1)} rows == v2c less Counter64",
              [r for r in v1 if not r[0].startswith(MIBROOT + ".1.1.2.")], want)
        ck.eq("pysnmp v1 == snmpwalk -v1",
              [r for r in V1_PY if not r[0].startswith(MIBROOT + ".1.1.2.")], want)

    with Section("snmp", "snmptable by name") as s:
        tables = {"ephNamespaceTable": ".1.2", "ephRangeTable": ".1.3", "ephStateTable": ".1.4",
                  "ephDestTable": ".1.5", "ephListenerTable": ".1.6"}
        for name, sub in tables.items():
            r = su.snmp("snmptable", "-Cf", "\t", "-Ci", f"EPHEMERAL-PORT-MIB::{name}",
                        check=False)
            lines = r.stdout.splitlines()
            idx = {r_[0][len(MIBROOT + sub + ".1."):].split(".", 1)[1]
                   for r_ in WALK if r_[0].startswith(MIBROOT + sub + ".1.")}
            body = [ln for ln in lines[3:] if ln.strip()]
            ok = (r.returncode == 0 and bool(lines) and
                  lines[0] == f"SNMP table: EPHEMERAL-PORT-MIB::{name}" and
                  "No entries" not in r.stdout and "Was that a table" not in r.stderr)
            ck.eq(f"snmptable {name}: rendered, {len(idx)} rows", (ok, len(body)),
                  (True, len(idx)))
            if name == "ephRangeTable" and ok:
                head = lines[2].split("\t")
                rows = {b.split("\t")[0]: dict(zip(head, b.split("\t"))) for b in body}
                tcp_row = rows.get("1.tcp") or rows.get("1.1") or {}
                ck.eq("snmptable ephRangeTable tcp: usable, pressure (d-2), all reserved",
                      (tcp_row.get("ephRangeUsable"), tcp_row.get("ephRangePressure"),
                       tcp_row.get("ephRangeAllReserved")),
                      ("94 ports", f"{TCP['pressure']['percent']:.2f} percent", "false"))

    with Section("snmp", "check_snmp (monitoring-plugins) on ephRangePressure") as s:
        chk = tool("check_snmp", "/usr/lib/nagios/plugins/check_snmp")
        if not chk:
            s.skip("check_snmp not installed (Debian: monitoring-plugins-standard)")
        else:
            conf = os.path.join(tmp, "snmpconf")
            os.makedirs(conf, exist_ok=True)
            # check_snmp runs snmpget: a fixed client port, not one in the range.
            with open(os.path.join(conf, "snmp.conf"), "w") as f:
                f.write(f"clientaddr 127.0.0.1:{CHECK_SNMP_PORT}\nclientaddrUsesPort yes\n")
            oids = f"{MIBROOT}.1.3.1.30.1.1,{MIBROOT}.1.3.1.30.1.2".replace(".1.3.6", "1.3.6", 1)
            oids = ",".join(o.lstrip(".") for o in oids.split(","))
            for (w, c), status in CHECKS.items():
                # ephport check now, beside the agent's collection.
                status = nsutil.ephport("check", "-w", str(w), "-c", str(c),
                                        check=False).returncode
                # ephport check: WARNING at >= w.  check_snmp: at > the
                # threshold, on the wire value in hundredths.
                wt, ct = bp(w) - 1, bp(c) - 1
                r = subprocess.run([chk, "-H", "127.0.0.1", "-p", str(su.PORT), "-P", "2c",
                                    "-C", su.COMMUNITY, "-o", oids,
                                    "-w", f"{wt},{wt}", "-c", f"{ct},{ct}"],
                                   capture_output=True, text=True,
                                   env=dict(os.environ, SNMPCONFPATH=conf, MIBS="",
                                            MIBDIRS="/nonexistent"))
                ck.eq(f"check_snmp -w {wt} -c {ct} == ephport check -w {w} -c {c}: "
                      f"{r.stdout.strip()[:60]}", r.returncode, status)

    with Section("snmp", "snmp_exporter generator and exporter") as s:
        gen = tool("prometheus-snmp-generator", "snmp_exporter_generator", "generator")
        exp = tool("prometheus-snmp-exporter", "snmp_exporter")
        contrib = os.path.join(TOP, "contrib", "prometheus", "snmp_exporter")
        if not (gen and exp):
            s.skip("prometheus-snmp-exporter (generator and exporter) not installed")
        else:
            gdir = os.path.join(tmp, "generator")
            mibs = os.path.join(gdir, "mibs")
            os.makedirs(mibs)
            for m in ([os.path.join(TOP, "mibs", "EPHEMERAL-PORT-MIB.txt")] +
                      glob.glob(os.path.join(TOP, "mibs", "ietf", "*.txt")) +
                      ["/usr/share/snmp/mibs/NET-SNMP-MIB.txt"]):
                os.symlink(os.path.abspath(m), os.path.join(mibs, os.path.basename(m)))
            shutil.copy(os.path.join(contrib, "generator.yml"), gdir)
            r = subprocess.run([gen, "--fail-on-parse-errors", "generate", "-o", "snmp.yml"],
                               cwd=gdir, capture_output=True, text=True,
                               env=dict(os.environ, MIBDIRS=mibs))
            ck.eq("generator --fail-on-parse-errors: exit 0", (r.returncode, r.stderr[-300:]
                                                                if r.returncode else ""), (0, ""))
            with open(os.path.join(contrib, "snmp.yml")) as f:
                shipped = f.read()
            with open(os.path.join(gdir, "snmp.yml")) as f:
                fresh = f.read()
            ck.eq("shipped snmp.yml is the generator's output "
                  "(after a MIB change, regenerate it: generator.yml says how)",
                  fresh == shipped, True)
            if fresh != shipped:
                import difflib
                print("".join(list(difflib.unified_diff(
                    shipped.splitlines(True), fresh.splitlines(True), "shipped", "generated"))[:40]))
            # The defect the overrides fix: a module made from the MIB alone
            # has TruthValues as gauges of true(1)/false(2).
            import yaml
            bare = os.path.join(gdir, "bare")
            os.makedirs(bare)
            with open(os.path.join(bare, "generator.yml"), "w") as f:
                f.write("modules:\n  ephport:\n    walk: [ephemeralPortMIB]\n")
            subprocess.run([gen, "generate", "-o", "snmp.yml"], cwd=bare,
                           capture_output=True, env=dict(os.environ, MIBDIRS=mibs))
            types = {}
            for where, path in (("bare", os.path.join(bare, "snmp.yml")),
                                ("shipped", os.path.join(contrib, "snmp.yml"))):
                with open(path) as f:
                    types[where] = {m["name"]: m["type"]
                                    for m in yaml.safe_load(f)["ephport"]["metrics"]}
            ck.eq("ephRangeAllReserved: gauge from the MIB alone, a state set shipped",
                  (types["bare"].get("ephRangeAllReserved"),
                   types["shipped"].get("ephRangeAllReserved")), ("gauge", "EnumAsStateSet"))
            log = open(os.path.join(tmp, "snmp_exporter.log"), "w")
            proc = subprocess.Popen([exp, f"--config.file={os.path.join(contrib, 'snmp.yml')}",
                                     f"--web.listen-address=127.0.0.1:{SNMPEXP_PORT}"],
                                    stdout=log, stderr=subprocess.STDOUT)
            try:
                ck.eq("snmp_exporter listens", wait_port(SNMPEXP_PORT), True)
                st, body = http_get(SNMPEXP_PORT,
                                    f"/snmp?module=ephport&target=127.0.0.1:{su.PORT}")
            finally:
                stop(proc)
                log.close()
            ck.eq("scrape: HTTP 200", st, 200)
            if os.environ.get("EPH_SNMPEXP_SCRAPE"):   # keep it, for a look
                with open(os.environ["EPH_SNMPEXP_SCRAPE"], "w") as f:
                    f.write(body)
            fams = families(body)
            v = {}
            for f in fams:
                for x in f.samples:
                    v.setdefault(x.name, []).append((x.labels, x.value))

            def one(name, **want_labels):
                got = [val for lab, val in v.get(name, [])
                       if all(lab.get(k) == w_ for k, w_ in want_labels.items())]
                return got[0] if len(got) == 1 else got
            TRUTH = ("ephNsSettingsRead", "ephRangeAllReserved", "ephRangeDestOverflow",
                     "ephRangeTotalsExact", "ephRangeBindExact", "ephRangeOwnersExact",
                     "ephConnectAlarmEnabled")
            for t in TRUTH:
                vals = sorted((lab.get(t), val) for lab, val in v.get(t, []))
                ck.eq(f"{t}: a state set of true/false, one of them 1 per row",
                      (bool(vals), {lab for lab, _ in vals} <= {"true", "false"},
                       {val for _, val in vals} <= {0.0, 1.0},
                       sum(val for _, val in vals) * 2 == len(vals)), (True, True, True, True))
            for proto, js in (("tcp", TCP), ("udp", UDP)):
                # The index by number: 0.21 does not apply an index's enumeration.
                pn = {"tcp": "1", "udp": "2"}[proto]
                ck.eq(f"{proto}: ephRangeAllReserved true=0 false=1",
                      (one("ephRangeAllReserved", ephRangeProtocol=pn,
                           ephRangeAllReserved="true"),
                       one("ephRangeAllReserved", ephRangeProtocol=pn,
                           ephRangeAllReserved="false")), (0.0, 1.0))
                ck.eq(f"{proto}: ephRangeOwnersExact {js['owners_exact']}",
                      one("ephRangeOwnersExact", ephRangeProtocol=pn,
                          ephRangeOwnersExact="true" if js["owners_exact"] else "false"), 1.0)
                ck.eq(f"{proto}: ephRangeUsable, ephRangePortsInUse, ephRangePressure",
                      (one("ephRangeUsable", ephRangeProtocol=pn),
                       one("ephRangePortsInUse", ephRangeProtocol=pn),
                       one("ephRangePressure", ephRangeProtocol=pn)),
                      (js["range"]["usable"], js["ports_in_use"], bp(js["pressure"]["percent"])))
                ck.eq(f"{proto}: ephRangePressureKind_info names the kind",
                      one("ephRangePressureKind_info", ephRangeProtocol=pn,
                          ephRangePressureKind=js["pressure"]["kind"]), 1.0)
                ck.eq(f"{proto}: ephRangeBindAlarmState normal",
                      one("ephRangeBindAlarmState", ephRangeProtocol=pn,
                          ephRangeBindAlarmState="normal"), 1.0)
            ck.eq("ephCollectorStatus{ok} 1",
                  one("ephCollectorStatus", ephCollectorStatus="ok"), 1.0)
            ck.eq("ephSocketSource_info{netlink} 1",
                  one("ephSocketSource_info", ephSocketSource=J["source"]), 1.0)
            ck.eq("rows carry ephNsName", all("ephNsName" in lab
                                              for lab, _ in v.get("ephRangeUsable", [])), True)
            ck.eq("ephStateInRange tcp established",
                  one("ephStateInRange", ephRangeProtocol="1", ephStateIndex="1"),
                  21.0)
            ck.eq("ephDestSockets 127.0.0.1 -> 127.0.0.1:8080",
                  one("ephDestSockets", ephRangeProtocol="1", ephDestLocalAddr="127.0.0.1",
                      ephDestRemoteAddr="127.0.0.1", ephDestRemotePort="8080"), 15.0)
            ck.eq("no TruthValue or enum left as a plain gauge of 1/2",
                  [f.name for f in fams if f.name in TRUTH + ("ephCollectorStatus",)
                   and any(x.value == 2 for x in f.samples)], [])

    agent.stop()
    master.stop()

# --- Prometheus text: node_exporter's textfile collector ----------------------
with Section("prometheus text", "node_exporter textfile collector") as s:
    ne = tool("prometheus-node-exporter", "node_exporter")
    if not ne:
        s.skip("prometheus-node-exporter not installed")
    else:
        tdir = os.path.join(tmp, "textfile")
        os.makedirs(tdir)
        with open(os.path.join(tdir, "ephport.prom.tmp"), "w") as f:
            f.write(PROM)
        os.rename(os.path.join(tdir, "ephport.prom.tmp"), os.path.join(tdir, "ephport.prom"))
        log = open(os.path.join(tmp, "node_exporter.log"), "w")
        proc = subprocess.Popen([ne, "--collector.disable-defaults", "--collector.textfile",
                                 f"--collector.textfile.directory={tdir}",
                                 f"--web.listen-address=127.0.0.1:{NODE_PORT}"],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            ck.eq("node_exporter listens", wait_port(NODE_PORT), True)
            st, body = http_get(NODE_PORT, "/metrics")
        finally:
            stop(proc)
            log.close()
        ck.eq("scrape: HTTP 200", st, 200)
        fams = families(body)
        v = samples(fams, "")
        ck.eq("node_textfile_scrape_error 0", v.get(("node_textfile_scrape_error", ())), 0.0)
        ours = {k: x for k, x in v.items() if k[0].startswith("ephport_")}
        ck.eq(f"{len(PROM_SAMPLES)} ephport samples served, same values",
              {k: (ours.get(k), x) for k, x in PROM_SAMPLES.items()
               if ours.get(k) is None or not math.isclose(ours[k], x)}, {})
        helps = {f.name: f.documentation for f in families(PROM)}
        ck.eq("HELP kept", {f.name for f in fams if f.name in helps
                            and f.documentation != helps[f.name]}, set())
        ck.eq("no textfile error logged", "level=error" in open(log.name).read(), False)

for s_ in keep:
    s_.close()
shutil.rmtree(tmp, ignore_errors=True)

print("\n== consumer verdicts")
for output, consumer, verdict, note in verdicts:
    print(f"VERDICT {verdict:4} {output:16} {consumer:50} {note}")
print(f"   stage time {time.time() - STARTED:.1f}s")
if os.environ.get("CI") == "true" and any(v[2] == "SKIP" for v in verdicts):
    print("FAIL: consumers skipped in CI")
    ck.failures += 1
ck.done()
