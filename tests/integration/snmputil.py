"""A private Net-SNMP master (snmpd) and ephportd for the integration
tests, and the Net-SNMP command-line tools to query them."""
import os
import shutil
import signal
import subprocess
import time

import nsutil

PORT = 11161
CLIENT_PORT = 11170
COMMUNITY = "public"
V3_USER, V3_AUTH, V3_PRIV = "ephuser", "ephAuthPass1", "ephPrivPass1"


def mib_path():
    top = os.environ.get("top_srcdir") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    # Ours, the IETF modules it imports (shipped in mibs/ietf: Debian has
    # none) and Net-SNMP's own.
    return ":".join([os.path.join(top, "mibs"), os.path.join(top, "mibs", "ietf"),
                     "/usr/share/snmp/mibs"])


class Master:
    """snmpd on 127.0.0.1:PORT with an AgentX socket in tmpdir."""

    def __init__(self, tmpdir, port=PORT):
        self.tmpdir, self.port = tmpdir, port
        self.socket = os.path.join(tmpdir, "agentx.sock")
        self.conf = os.path.join(tmpdir, "snmpd.conf")
        self.persist = os.path.join(tmpdir, "persist")
        os.makedirs(self.persist, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(f"""agentaddress udp:127.0.0.1:{port}
master agentx
agentXSocket {self.socket}
agentXPerms 0660 0770
rocommunity {COMMUNITY} 127.0.0.1
createUser {V3_USER} SHA {V3_AUTH} AES {V3_PRIV}
rouser {V3_USER} priv
""")
        self.proc = None

    def start(self):
        env = dict(os.environ, SNMP_PERSISTENT_DIR=self.persist)
        self.log = open(os.path.join(self.tmpdir, "snmpd.log"), "a")
        self.proc = nsutil.spawn(
            ["snmpd", "-f", "-Lo", "-C", "-c", self.conf, "-p",
             os.path.join(self.tmpdir, "snmpd.pid")],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 10
        while not os.path.exists(self.socket) and time.time() < deadline:
            time.sleep(0.05)
        if not os.path.exists(self.socket):
            raise RuntimeError("snmpd did not create its AgentX socket")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.exists(self.socket):
            os.unlink(self.socket)


class Agent:
    """ephportd in the foreground with a config file in tmpdir.  Lines of
    extra replace the default of the same token (ephportd.conf refuses a
    token given twice) or are added."""

    DEFAULTS = (("interval", "1"), ("agentXPingInterval", "1"), ("topDestinations", "10"))

    def __init__(self, tmpdir, master, extra="", wrapper=(), args=(), env=None,
                 name="ephportd"):
        self.tmpdir, self.master, self.name = tmpdir, master, name
        self.conf = os.path.join(tmpdir, f"{name}.conf")
        self.write_conf(extra)
        self.wrapper, self.args, self.env = list(wrapper), list(args), env
        self.proc = None

    def write_conf(self, extra=""):
        lines = [f"{k} {v}" for k, v in self.DEFAULTS] + [f"agentXSocket {self.master.socket}"]
        for line in extra.splitlines():
            key = line.split()[0].lower() if line.split() else ""
            lines = [x for x in lines if x.split()[0].lower() != key] + [line]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        exe = os.environ.get("EPHPORTD", "./ephportd")
        self.logpath = os.path.join(self.tmpdir, f"{self.name}.log")
        self.log = open(self.logpath, "a")
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = nsutil.spawn(self.wrapper + [exe, "-f", "-Lo", "-C", "-c", self.conf]
                                 + self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                 env=env)

    def log_text(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(60)
        return self.proc.returncode if self.proc else None


TRAP_PORT = 11162


def start_trapd(tmpdir, port=TRAP_PORT, output="-OQsbU"):
    """A real snmptrapd on 127.0.0.1:port (stopped at exit), logging every
    notification as one "TRAP <varbinds>" line: (process, the log's path)."""
    conf = os.path.join(tmpdir, "snmptrapd.conf")
    with open(conf, "w") as f:
        f.write("disableAuthorization yes\n")
    log = os.path.join(tmpdir, "traps.log")
    proc = nsutil.spawn(["snmptrapd", "-f", "-C", "-c", conf, "-Lf", log,
                         "-M", mib_path(), "-m", "EPHEMERAL-PORT-MIB:SNMPv2-MIB", output,
                         "-F", "TRAP %v\\n", f"udp:127.0.0.1:{port}"],
                        env=dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=tmpdir))
    return proc, log


def snmp(tool, *args, version="2c", check=True):
    # A fixed client port below the test ranges: an autobound one would be
    # an unconnected UDP socket inside the range being measured.
    cmd = [tool, "-M", mib_path(), "-m", "EPHEMERAL-PORT-MIB", "-t", "2", "-r", "1",
           f"--clientaddr=127.0.0.1:{CLIENT_PORT}", "--clientaddrUsesPort=yes"]
    if version == "3":
        cmd += ["-v3", "-l", "authPriv", "-u", V3_USER, "-a", "SHA", "-A", V3_AUTH,
                "-x", "AES", "-X", V3_PRIV]
    else:
        cmd += ["-v2c", "-c", COMMUNITY]
    cmd += [f"127.0.0.1:{PORT}"] + list(args)
    env = dict(os.environ, MIBS="", MIBDIRS="", SNMPCONFPATH="/nonexistent")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r


def values(tool, *args, version="2c"):
    """{name.index: value} with numeric indexes and enums, no units."""
    out = snmp(tool, "-OQsbeU", *args, version=version).stdout
    result = {}
    for line in out.splitlines():
        if " = " in line:
            k, v = line.split(" = ", 1)
            result[k.strip()] = v.strip().strip('"')
    return result


def get(*names, tool="snmpget", output="-OQsbeU"):
    """{name: value} of an snmpget (a failing one is not an error) or an
    snmpwalk with the output options output (e.g. -OQsbeUt: numeric
    TimeTicks; -OQsbeUx: hex strings as such); quotes stripped, a missing
    instance ("No Such ...") None."""
    r = snmp(tool, output, *names, check=tool != "snmpget")
    out = {}
    for line in r.stdout.splitlines():
        if " = " in line:
            k, v = (x.strip() for x in line.split(" = ", 1))
            out[k] = None if v.startswith("No Such") else v.strip('"')
    return out


def rows(table, output="-OQsbeU"):
    """The rows of a table by snmpwalk ({} when it has none), as get()."""
    return {k: v for k, v in get(table, tool="snmpwalk", output=output).items()
            if v is not None}


def wait_for(cond, timeout=15, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return True
        except AssertionError:
            pass
        time.sleep(step)
    return False


def have_tools():
    return all(shutil.which(t) for t in ("snmpd", "snmpget", "snmpwalk", "snmpbulkwalk"))
