"""Finding collectd and the built ephport.so for the integration tests, and
Collectd: one `collectd -f` loading a copy of it."""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

import nsutil

STOCK_PLUGINS = "/usr/lib/collectd"
TYPES_DB = "/usr/share/collectd/types.db"
HOST = "ephtest"

# The failure counters (issue 18; ephport-collectd(5), VALUES, Failures):
# where the BPF source is not loaded, each namespace logs this once, and no
# "failures-*" value exists.  The tests of the other values leave both out
# (collectd_failures.py checks them), so they pass whether or not the host
# has pinned the counters.
NOT_OBSERVABLE = "failures: not observable without the BPF source"


def is_failure_line(line):
    """A log line about the failure counters' observability."""
    return "ephport plugin: " in line and (
        ": failures: not observable" in line or ": failures: observable" in line)


def is_failure_value(tinst):
    return tinst.startswith("failures-")


def tw_recycled(prefix=()):
    """TcpExt TWRecycled of /proc/net/netstat, read by `cat` run under
    prefix (e.g. ["ip", "netns", "exec", NAME]); None when absent."""
    text = subprocess.run(list(prefix) + ["cat", "/proc/net/netstat"],
                          capture_output=True, text=True, check=True).stdout
    lines = text.splitlines()
    for names, vals in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            row = dict(zip(names.split(), vals.split()))
            return float(row["TWRecycled"]) if "TWRecycled" in row else None
    return None


def find_plugin():
    path = os.environ.get("EPH_COLLECTD_PLUGIN")
    if path:
        return path
    bindir = os.path.dirname(os.path.abspath(os.environ.get("EPHPORT", "./ephport")))
    for cand in (os.path.join(bindir, ".libs", "ephport.so"),
                 os.path.join(bindir, "collectd-plugin", ".libs", "ephport.so")):
        if os.path.isfile(cand):
            return cand
    return None


def find_collectd():
    return shutil.which("collectd") or next(
        (p for p in ("/usr/sbin/collectd", "/usr/local/sbin/collectd")
         if os.access(p, os.X_OK)), None)


def needs_asan(plugin):
    """An --enable-sanitizers plugin needs the ASan runtime loaded first."""
    out = subprocess.run(["ldd", plugin], capture_output=True, text=True).stdout
    return "libasan" in out


def asan_runtime():
    r = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                       capture_output=True, text=True)
    path = r.stdout.strip()
    return os.path.realpath(path) if os.path.isabs(path) else None


# The rate values (ephport-collectd(5), VALUES, Rates): (type, type_instance) per
# protocol.  They change from interval to interval (NaN until there is
# history), so the tests of the snapshot values leave them out
# (values(rates=False)) and collectd_rate.py checks them.
RATE_NAMES = {
    "tcp": {("operations_per_second", "open_rate"),
            ("operations_per_second", "sustainable_rate"),
            ("gauge", "headroom"),
            ("duration", "seconds_to_exhaustion"),
            ("duration", "worst_destination_seconds_to_exhaustion")},
    "udp": {("duration", "seconds_to_exhaustion")},
}


def is_rate(type_, tinst):
    return any((type_, tinst) in names for names in RATE_NAMES.values())


def require(skip, plugins=("csv", "logfile"), tools=(),
            asan_env={"ASAN_OPTIONS": "detect_leaks=0"}):
    """(collectd, the built plugin, env) or skip(why): collectd, its stock
    plugins named, the tools named and the built plugin must be there.  env
    is None, or for an --enable-sanitizers plugin the ASan runtime
    preloaded (collectd is not instrumented: it must be loaded first) with
    asan_env."""
    collectd = find_collectd()
    if not collectd:
        skip("collectd is not installed")
    for p in plugins:
        if not os.path.isfile(os.path.join(STOCK_PLUGINS, p + ".so")):
            skip(f"collectd's {p} plugin is not in {STOCK_PLUGINS}")
    for tool in tools:
        if not shutil.which(tool):
            skip(f"{tool} is not installed")
    plugin = find_plugin()
    if not plugin:
        skip("the plugin was not built (no collectd headers?); set EPH_COLLECTD_PLUGIN")
    env = None
    if needs_asan(plugin):
        rt = asan_runtime()
        if not rt:
            skip("the plugin needs ASan but its runtime was not found")
        env = dict(asan_env, LD_PRELOAD=rt)
    return collectd, plugin, env


def parse_notifications(text, no_pinst=""):
    """[(severity, plugin_instance, type_instance, message)] of ephport's
    notifications in a logfile's text; no_pinst where it has none."""
    out = []
    for ln in text.splitlines():
        if "Notification:" not in ln or "plugin = ephport" not in ln:
            continue
        head, _, message = ln.partition(", message = ")
        fields = dict(p.partition(" = ")[::2] for p in
                      head.split("Notification: ", 1)[1].split(", "))
        out.append((fields.get("severity"),
                    fields.get("plugin_instance", no_pinst),
                    fields.get("type_instance"), message))
    return out


class Collectd:
    """collectd -f (under wrapper, e.g. valgrind) with a temp BaseDir
    (prefix), Hostname host, Interval 1, the plugin copy and the stock
    plugins named: csv always (StoreRates false: the raw counters);
    "logfile": collectd's log and the notifications go to DIR/<logfile>
    (Timestamp as timestamp), else its log lines to DIR/stderr; "unixsock":
    DIR/sock, for collectdctl.  extra (configuration text) comes before
    csv, block inside <Plugin ephport>."""

    def __init__(self, collectd, plugin, block, env=None, prefix="eph-collectd-",
                 plugins=("csv", "logfile"), logfile="log", timestamp=False,
                 extra="", wrapper=(), stop_timeout=30, host=HOST):
        self.host = host
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.stop_timeout = stop_timeout
        plugdir = os.path.join(self.dir, "plugins")
        os.mkdir(plugdir)
        # Copies, not symlinks: collectd skips symlinks in its PluginDir.
        shutil.copyfile(plugin, os.path.join(plugdir, "ephport.so"))
        for p in plugins:
            shutil.copyfile(os.path.join(STOCK_PLUGINS, p + ".so"),
                            os.path.join(plugdir, p + ".so"))
        self.csv = os.path.join(self.dir, "csv")
        self.stderr = os.path.join(self.dir, "stderr")
        self.logfile = (os.path.join(self.dir, logfile)
                        if "logfile" in plugins else None)
        self.sock = os.path.join(self.dir, "sock")
        conf = f"""Hostname "{host}"
FQDNLookup false
BaseDir "{self.dir}"
PIDFile "{self.dir}/collectd.pid"
PluginDir "{plugdir}"
TypesDB "{TYPES_DB}"
Interval 1
"""
        if self.logfile:
            conf += f"""LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{self.logfile}"
  Timestamp {"true" if timestamp else "false"}
</Plugin>
"""
        conf += extra + f"""
LoadPlugin csv
<Plugin csv>
  DataDir "{self.csv}"
  StoreRates false
</Plugin>
"""
        if "unixsock" in plugins:
            conf += f"""LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{self.sock}"
</Plugin>
"""
        conf += f"""LoadPlugin ephport
<Plugin ephport>
{block}
</Plugin>
"""
        self.conf = os.path.join(self.dir, "collectd.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        # Without logfile, collectd writes its log lines to stderr.
        self.err = open(self.stderr, "w")
        self.proc = nsutil.spawn(list(wrapper) + [collectd, "-f", "-C", self.conf],
                                 stdout=self.err, stderr=subprocess.STDOUT,
                                 env=dict(os.environ, **(env or {})))

    def stop(self, timeout=None):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout or self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.err.close()
        return rc

    def csv_files(self):
        """(plugin_instance, type, type_instance, path) of ephport's csv
        files ("" the plugin_instance of plain "ephport")."""
        for path in glob.glob(os.path.join(self.csv, self.host, "ephport*", "*")):
            d = os.path.basename(os.path.dirname(path))
            pinst = d[len("ephport-"):] if d.startswith("ephport-") else ""
            name = os.path.basename(path)[:-len("-YYYY-MM-DD")]
            type_, _, tinst = name.partition("-")
            yield pinst, type_, tinst, path

    @staticmethod
    def read_csv(path):
        """[(epoch text, value)] of one csv file, in file order."""
        out = []
        with open(path) as f:
            for line in f:
                if line.startswith("epoch"):
                    continue
                t, v = line.strip().split(",")
                out.append((t, float(v)))
        return out

    def values(self):
        """{(plugin_instance, type, type_instance): [(epoch, value)]}."""
        out = {}
        for pinst, type_, tinst, path in self.csv_files():
            out.setdefault((pinst, type_, tinst), []).extend(
                (float(t), v) for t, v in self.read_csv(path))
        for s in out.values():
            s.sort()
        return out

    def latest(self, pinst, tinst, type_="derive"):
        s = self.values().get((pinst, type_, tinst), [])
        return s[-1][1] if s else None

    def samples(self, pinst, tinst, type_="derive"):
        return self.values().get((pinst, type_, tinst), [])

    def listval(self):
        r = subprocess.run(["collectdctl", "-s", self.sock, "listval"],
                           capture_output=True, text=True, timeout=10)
        return {ln.split()[-1] for ln in r.stdout.splitlines() if ln.strip()}

    def _read(self, path):
        try:
            with open(path) as f:
                return f.read()
        except (FileNotFoundError, TypeError):
            return ""

    def log_text(self):
        """collectd's stderr, then its logfile's."""
        return self._read(self.stderr) + self._read(self.logfile)

    def log_lines(self):
        return (self._read(self.stderr).splitlines()
                + self._read(self.logfile).splitlines())

    def notifications(self, no_pinst=""):
        """parse_notifications() of the logfile."""
        return parse_notifications(self._read(self.logfile), no_pinst)

    def wait(self, pred, timeout=20):
        """Until pred(); False if collectd died or time ran out."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.2)
        return pred()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class SnapshotCollectd(Collectd):
    """Collectd whose values are keyed by epoch, leaving out the rate
    values (unless rates) and the failure counters."""

    def values(self, rates=False):
        """{(plugin_instance, type, type_instance): {epoch: value}}; the
        rate values (RATE_NAMES) only when rates; never the failure counters
        (collectd_failures.py checks them)."""
        out = {}
        for pinst, type_, tinst, path in self.csv_files():
            if not pinst:
                continue
            if not rates and is_rate(type_, tinst):
                continue
            if is_failure_value(tinst):
                continue
            out.setdefault((pinst, type_, tinst), {}).update(self.read_csv(path))
        return out

    def wait_intervals(self, n, timeout, keys=(("tcp", "gauge", "usable"),)):
        """Until every key has n values; False if collectd died or time ran
        out."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            vals = self.values()
            if all(len(vals.get(k, {})) >= n for k in keys):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.2)
        return False
