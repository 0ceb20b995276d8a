#!/usr/bin/env python3
"""The NMS templates of contrib/ name only what EPHEMERAL-PORT-MIB has, and
parse:
  - every object name they use resolves (`snmptranslate -M +mibs:mibs/ietf
    -m EPHEMERAL-PORT-MIB -On EPHEMERAL-PORT-MIB::NAME`), every numeric OID
    is the OID of the object named beside it (plus an instance suffix) and
    resolves back into the MIB, value maps match the MIB's enumerations;
  - contrib/librenms/ephport.yaml: YAML with LibreNMS's discovery keys;
  - contrib/zabbix/ephport_template.yaml: YAML in Zabbix 6.0 export form,
    unique UUIDv4s, triggers naming only items of the template, bind and
    connect triggers whose recovery uses the agent's falling threshold;
  - contrib/nagios/ephport.cfg: `nagios4 -v` on a minimal main config;
  - contrib/icinga2/ephport.conf: `icinga2 daemon -C` on a minimal config;
  (either validator skipped with a note when not installed);
  - live, as root in a private network namespace with snmpd + ephportd:
    every Nagios service's check_snmp command line returns OK, every
    numeric OID of the Zabbix and LibreNMS templates answers at the
    instances they poll, and the Zabbix discovery finds the tcp and udp
    rows.
Skips (77) without snmptranslate or python3-yaml."""
import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("top_srcdir") or os.path.join(HERE, "..", "..")
MIBDIRS = "+%s:%s" % (os.path.join(TOP, "mibs"), os.path.join(TOP, "mibs", "ietf"))
MOD = "EPHEMERAL-PORT-MIB"
ROOT_OID = "1.3.6.1.4.1.8072.9999.9999.7"
LIBRENMS = os.path.join(TOP, "contrib", "librenms", "ephport.yaml")
ZABBIX = os.path.join(TOP, "contrib", "zabbix", "ephport_template.yaml")
NAGIOS = os.path.join(TOP, "contrib", "nagios", "ephport.cfg")
ICINGA = os.path.join(TOP, "contrib", "icinga2", "ephport.conf")
PLUGINS = "/usr/lib/nagios/plugins"

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml not installed")
    sys.exit(77)
if not shutil.which("snmptranslate"):
    print("SKIP: snmptranslate not installed (Debian: snmp)")
    sys.exit(77)

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)
    return ok


def finish():
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


SNMPENV = dict(os.environ, MIBS="", MIBDIRS="", SNMPCONFPATH="/nonexistent")


def translate(*args):
    r = subprocess.run(["snmptranslate", "-M", MIBDIRS, "-m", MOD] + list(args),
                       capture_output=True, text=True, env=SNMPENV)
    return r.stdout.strip() if r.returncode == 0 else None


_oids, _defs = {}, {}


def oid_of(name):
    """The numeric OID of MIB object NAME (no leading dot), or None."""
    if name not in _oids:
        out = translate("-On", "%s::%s" % (MOD, name))
        _oids[name] = out.lstrip(".") if out else None
    return _oids[name]


def definition(name):
    if name not in _defs:
        _defs[name] = translate("-Td", "%s::%s" % (MOD, name)) or ""
    return _defs[name]


def readable(name):
    return re.search(r"MAX-ACCESS\s+read-only", definition(name)) is not None


def enums(name):
    m = re.search(r"SYNTAX\s+[\w-]+\s*\{([^}]*)\}", definition(name))
    return {int(v): k for k, v in re.findall(r"(\w[\w-]*)\((\d+)\)", m.group(1))} if m else {}


def back(numeric):
    """MODULE::name.instance of a numeric OID, or None."""
    out = translate("-OS", "." + numeric.lstrip("."))
    return out if out and out.startswith(MOD + "::") else None


def object_with_instance(numeric, name, instance_re):
    """NUMERIC is the OID of NAME followed by an instance matching INSTANCE_RE."""
    base = oid_of(name)
    if not check(base is not None, "%s resolves in %s" % (name, MOD)):
        return False
    check(readable(name), "%s is a readable object" % name)
    numeric = numeric.lstrip(".")
    ok = numeric.startswith(base + ".") and re.fullmatch(instance_re, numeric[len(base) + 1:])
    check(bool(ok), "%s is %s.<instance> (%s)" % (numeric, name, base))
    b = back(numeric.replace("{#SNMPINDEX}", "1.1").replace("{{ $index }}", "1.1"))
    check(b is not None and b.split("::")[1].split(".")[0] == name,
          "%s translates back to %s::%s (got %s)" % (numeric, MOD, name, b))
    return bool(ok)


check(oid_of("ephemeralPortMIB") == ROOT_OID, "the MIB resolves from the repository (%s)" % oid_of("ephemeralPortMIB"))
range_entry = oid_of("ephRangeEntry")
live_oids = set()  # numeric OIDs with instances, polled live

# --- LibreNMS -----------------------------------------------------------------
lib = yaml.safe_load(open(LIBRENMS))
check(lib.get("mib") == MOD, "LibreNMS: mib: %s" % MOD)
sensors = lib.get("modules", {}).get("sensors", {})
check(set(sensors) <= {"percent", "count", "state", "temperature", "load", "gauge"} and sensors,
      "LibreNMS: sensor classes %s" % sorted(sensors))
nlib = 0
for cls, body in sensors.items():
    for d in body.get("data", []):
        nlib += 1
        where = "LibreNMS %s %s" % (cls, d.get("value"))
        for k in ("oid", "value", "num_oid", "descr", "index"):
            check(k in d, "%s has %s" % (where, k))
        val, tbl = d.get("value", ""), d.get("oid", "")
        check(oid_of(tbl) is not None, "%s: oid %s resolves" % (where, tbl))
        num = d.get("num_oid", "")
        check(num.endswith(".{{ $index }}"), "%s: num_oid ends with .{{ $index }}" % where)
        base = num[:-len(".{{ $index }}")].lstrip(".")
        check(base == oid_of(val), "%s: num_oid %s is %s (%s)" % (where, base, val, oid_of(val)))
        check(readable(val), "%s: %s is readable" % (where, val))
        check(oid_of(val) is not None and oid_of(tbl) is not None and (oid_of(val) == oid_of(tbl) or oid_of(val).startswith(oid_of(tbl) + ".")),
              "%s: %s is in %s" % (where, val, tbl))
        check(d.get("index", "").startswith(val + "."), "%s: index starts with %s" % (where, val))
        for ref in re.findall(r"\{\{\s*\$(\w+)\s*\}\}", d.get("descr", "")):
            if re.fullmatch(r"index|subindex\d", ref):
                continue
            check(oid_of(ref) is not None and oid_of(ref).rsplit(".", 1)[0] == oid_of(val).rsplit(".", 1)[0],
                  "%s: descr's %s is a column of the same table" % (where, ref))
        for lim in ("low_limit", "low_warn_limit", "warn_limit", "high_limit"):
            if isinstance(d.get(lim), str):
                check(oid_of(d[lim]) is not None, "%s: %s %s resolves" % (where, lim, d[lim]))
        for sv in d.get("skip_values", []) or []:
            check(oid_of(sv.get("oid", "")) is not None, "%s: skip_values oid %s resolves" % (where, sv.get("oid")))
        if cls == "state":
            check(d.get("state_name") == val, "%s: state_name is the object" % where)
            mib_enums = enums(val)
            got = {s["value"]: s["descr"] for s in d.get("states", [])}
            check(got == mib_enums, "%s: states %s are the MIB's %s" % (where, got, mib_enums))
        inst = "0" if oid_of(tbl) == oid_of(val) else "1.1"
        live_oids.add("%s.%s" % (oid_of(val), inst))
check(nlib >= 8, "LibreNMS: %d sensors" % nlib)

# --- Zabbix -------------------------------------------------------------------
z = yaml.safe_load(open(ZABBIX)).get("zabbix_export", {})
check(z.get("version") == "6.0", "Zabbix: export version 6.0")
uuids = []


def collect_uuids(o):
    if isinstance(o, dict):
        if "uuid" in o:
            uuids.append(o["uuid"])
        for v in o.values():
            collect_uuids(v)
    elif isinstance(o, list):
        for v in o:
            collect_uuids(v)


collect_uuids(z)
check(all(re.fullmatch(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}", str(u)) for u in uuids),
      "Zabbix: every uuid is a UUIDv4 in 32 hex digits")
check(len(uuids) == len(set(uuids)), "Zabbix: uuids are unique")
groups = {g["name"] for g in z.get("groups", [])}
tpls = z.get("templates", [])
check(len(tpls) == 1, "Zabbix: one template")
tpl = tpls[0]
T = tpl["template"]
check({g["name"] for g in tpl.get("groups", [])} <= groups, "Zabbix: template groups are exported")
vmaps = {v["name"]: {int(m["value"]): m["newvalue"] for m in v["mappings"]} for v in tpl.get("valuemaps", [])}
keys, zitems, triggers = set(), [], []
for it in tpl.get("items", []):
    zitems.append((it, False))
    triggers += it.get("triggers", [])
rules = tpl.get("discovery_rules", [])
check(len(rules) >= 1, "Zabbix: a discovery rule")
for rule in rules:
    so = rule.get("snmp_oid", "")
    m = re.fullmatch(r"discovery\[(.*)\]", so)
    if check(m is not None, "Zabbix: discovery snmp_oid %s is discovery[...]" % so):
        parts = m.group(1).split(",")
        check(len(parts) % 2 == 0, "Zabbix: discovery pairs macro,OID")
        for mac, oid in zip(parts[0::2], parts[1::2]):
            check(re.fullmatch(r"\{#[A-Z0-9_]+\}", mac) is not None, "Zabbix: %s is an LLD macro" % mac)
            b = back(oid)
            check(b is not None and oid.rsplit(".", 1)[0] == range_entry,
                  "Zabbix: discovery OID %s is a column of ephRangeTable (%s)" % (oid, b))
            if b:
                live_oids.add("walk:" + oid)
    for ip in rule.get("item_prototypes", []):
        zitems.append((ip, True))
    triggers += [(t) for t in rule.get("trigger_prototypes", [])]
for it, proto in zitems:
    key = it.get("key", "")
    check(key not in keys, "Zabbix: key %s unique" % key)
    keys.add(key)
    check(it.get("type") == "SNMP_AGENT", "Zabbix: %s is an SNMP item" % key)
    m = re.match(r"EPHEMERAL-PORT-MIB::(\w+)\.", it.get("description", ""))
    if not check(m is not None, "Zabbix: %s's description names its object" % key):
        continue
    name = m.group(1)
    inst = r"\{#SNMPINDEX\}" if proto else r"0"
    object_with_instance(it.get("snmp_oid", ""), name, inst)
    live_oids.add(it["snmp_oid"].replace("{#SNMPINDEX}", "1.1"))
    if "valuemap" in it:
        vm = it["valuemap"]["name"]
        check(vm in vmaps, "Zabbix: %s's value map %s exists" % (key, vm))
        check(vmaps.get(vm) == enums(name), "Zabbix: value map %s %s is %s's %s"
              % (vm, vmaps.get(vm), name, enums(name)))
    syntax = definition(name)
    if "EphPercent" in syntax:
        pre = [(p["type"], p.get("parameters")) for p in it.get("preprocessing", [])]
        check(("MULTIPLIER", ["0.01"]) in pre and it.get("value_type") == "FLOAT" and it.get("units") == "%",
              "Zabbix: %s (EphPercent, hundredths) is scaled to %% as FLOAT" % key)
trig_text = ""
for t in triggers:
    for field in ("expression", "recovery_expression"):
        expr = t.get(field, "")
        trig_text += expr + "\n"
        for host, key in re.findall(r"/([^/]+)/([\w.]+(?:\[[^\]]*\])?)", expr):
            check(host == T, "Zabbix: trigger names template %s" % host)
            check(key in keys, "Zabbix: trigger item %s exists" % key)
for kind in ("bind", "connect"):
    ts = [t for t in triggers if "eph.range.%s.pressure" % kind in t.get("expression", "")]
    ok = any("eph.threshold.%s.rising" % kind in t["expression"] and t.get("recovery_mode") == "RECOVERY_EXPRESSION"
             and "eph.threshold.%s.falling" % kind in t.get("recovery_expression", "") for t in ts)
    check(ok, "Zabbix: the %s trigger rises at the agent's rising threshold and recovers at its falling one" % kind)
for name in ("ephRangePressure", "ephRangeBindPressure", "ephRangeConnectPressure"):
    check(any(("EPHEMERAL-PORT-MIB::%s." % name) in it.get("description", "") for it, _ in zitems),
          "Zabbix: an item on %s" % name)

# --- Nagios ---------------------------------------------------------------------
nag = open(NAGIOS).read()
objs = re.findall(r"define\s+(\w+)\s*\{([^}]*)\}", nag)
commands, services = {}, []
for typ, body in objs:
    attrs = dict(re.findall(r"^\s*(\w+)\s+(.*?)\s*$", body, re.M))
    if typ == "command":
        commands[attrs["command_name"]] = attrs["command_line"]
    elif typ == "service" and attrs.get("register") != "0":
        services.append(attrs)
check(len(services) >= 5, "Nagios: %d services" % len(services))
for m in re.finditer(r"#\s*EPHEMERAL-PORT-MIB::(\w+)\.([\d.]+)[^\n]*\n(?:#[^\n]*\n)*define service \{[^}]*check_command\s+(\S+)", nag):
    name, inst, cmd = m.group(1), m.group(2), m.group(3)
    args = cmd.split("!")
    check(len(args) > 1 and args[1].lstrip(".") == "%s.%s" % (oid_of(name), inst),
          "Nagios: %s's OID %s is %s.%s" % (args[0], args[1] if len(args) > 1 else None, name, inst))
    object_with_instance(args[1], name, re.escape(inst))
for n in re.findall(r"\.1\.3\.6\.1\.4\.1\.8072\.9999\.9999\.7[\d.]*", nag):
    check(back(n) is not None, "Nagios: %s resolves in %s" % (n, MOD))
    live_oids.add(n.lstrip("."))
for s in services:
    cmd = s.get("check_command", "").split("!")[0]
    check(cmd in commands, "Nagios: service %r runs a defined command %s" % (s.get("service_description"), cmd))
nagios = shutil.which("nagios4") or shutil.which("nagios")
if nagios:
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)  # nagios reads it as its own user
        for sub in ("var", "spool", "tmp"):
            os.makedirs(os.path.join(d, sub))
            os.chmod(os.path.join(d, sub), 0o1777)
        with open(os.path.join(d, "objects.cfg"), "w") as f:
            f.write("""define timeperiod {
    timeperiod_name 24x7
    alias 24x7
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
    sunday 00:00-24:00
}
define contact {
    contact_name admin
    service_notification_period 24x7
    host_notification_period 24x7
    service_notification_options n
    host_notification_options n
    service_notification_commands notify-none
    host_notification_commands notify-none
}
define contactgroup {
    contactgroup_name admins
    members admin
}
define command {
    command_name notify-none
    command_line /bin/true
}
define command {
    command_name check-host-alive
    command_line /bin/true
}
define service {
    name generic-service
    check_period 24x7
    notification_period 24x7
    contact_groups admins
    max_check_attempts 3
    check_interval 5
    retry_interval 1
    register 0
}
define host {
    host_name web1
    address 127.0.0.1
    hostgroups ephport-hosts
    check_command check-host-alive
    check_period 24x7
    notification_period 24x7
    contact_groups admins
    max_check_attempts 3
}
""")
        with open(os.path.join(d, "nagios.cfg"), "w") as f:
            f.write("\n".join([
                "log_file=%s/var/nagios.log" % d,
                "cfg_file=%s/objects.cfg" % d,
                "cfg_file=%s/ephport.cfg" % d,
                "resource_file=%s/resource.cfg" % d,
                "status_file=%s/var/status.dat" % d,
                "temp_file=%s/tmp/nagios.tmp" % d,
                "temp_path=%s/tmp" % d,
                "lock_file=%s/var/nagios.lock" % d,
                "check_result_path=%s/spool" % d,
                "state_retention_file=%s/var/retention.dat" % d,
                "object_cache_file=%s/var/objects.cache" % d,
                "precached_object_file=%s/var/objects.precache" % d,
                "command_file=%s/var/nagios.cmd" % d,
                "illegal_macro_output_chars=`~$&|'\"<>",
                ""]))
        shutil.copy(NAGIOS, os.path.join(d, "ephport.cfg"))  # readable by nagios
        with open(os.path.join(d, "resource.cfg"), "w") as f:
            f.write("$USER1$=%s\n$USER5$=public\n" % PLUGINS)
        r = subprocess.run([nagios, "-v", os.path.join(d, "nagios.cfg")], capture_output=True, text=True)
        check(r.returncode == 0 and "Total Errors:   0" in r.stdout,
              "Nagios: nagios -v accepts contrib/nagios/ephport.cfg:\n" + r.stdout[-1500:] + r.stderr)
        w = re.search(r"Total Warnings:\s+(\d+)", r.stdout)
        check(w is not None and w.group(1) == "0", "Nagios: nagios -v reports no warnings:\n" + r.stdout[-1500:])
else:
    print("note: nagios4 not installed: Nagios syntax not checked (Debian: nagios4-core)")

# --- Icinga 2 --------------------------------------------------------------------
ic = open(ICINGA).read()
for n in re.findall(r"\.1\.3\.6\.1\.4\.1\.8072\.9999\.9999\.7[\d.]*", ic):
    check(back(n) is not None, "Icinga 2: %s resolves in %s" % (n, MOD))
    live_oids.add(n.lstrip("."))
for name in re.findall(r"EPHEMERAL-PORT-MIB::(\w+)", ic):
    check(oid_of(name) is not None, "Icinga 2: %s resolves" % name)
named = dict((oid_of(n), n) for n in re.findall(r"EPHEMERAL-PORT-MIB::(\w+)", ic))
for n in set(re.findall(r"\.1\.3\.6\.1\.4\.1\.8072\.9999\.9999\.7[\d.]*", ic)):
    obj = (back(n) or "::").split("::")[1].split(".")[0]
    check(obj in named.values(), "Icinga 2: %s (%s) is named in a comment" % (n, obj))
icinga = shutil.which("icinga2")
if icinga:
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "main.conf"), "w") as f:
            f.write('const PluginDir = "%s"\ninclude <itl>\ninclude <plugins>\n'
                    'object Host "web1" {\n  address = "127.0.0.1"\n  check_command = "dummy"\n'
                    '  vars.ephport = true\n  vars.ephport_snmp = true\n}\ninclude "%s"\n'
                    % (PLUGINS, os.path.abspath(ICINGA)))
        r = subprocess.run([icinga, "daemon", "-C", "-c", os.path.join(d, "main.conf"),
                            "-DRunAsUser=%s" % pwd.getpwuid(os.getuid()).pw_name,
                            "-DRunAsGroup=%s" % grp.getgrgid(os.getgid()).gr_name,
                            "-DVarsPath=%s/vars" % d, "-DObjectsPath=%s/objects" % d],
                           capture_output=True, text=True)
        out = r.stdout + r.stderr
        check(r.returncode == 0, "Icinga 2: icinga2 daemon -C accepts contrib/icinga2/ephport.conf:\n" + out[-1500:])
        m = re.search(r"Instantiated (\d+) Services?", out)
        check(m is not None and int(m.group(1)) >= 5, "Icinga 2: services applied to the host (%s)" % (m and m.group(1)))
else:
    print("note: icinga2 not installed: Icinga 2 syntax not checked (Debian: icinga2-bin)")


# --- live: snmpd + ephportd in a private network namespace ------------------------
def live():
    sys.path.insert(0, HERE)
    import snmputil
    import nsutil
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    tmp = tempfile.mkdtemp(prefix="nms-templates.")
    master = snmputil.Master(tmp, port=161)
    agent = snmputil.Agent(tmp, master)
    try:
        master.start()
        agent.start()
        pressure = oid_of("ephRangePressure")

        def up():
            r = subprocess.run(["snmpget", "-v2c", "-c", "public", "-On", "-t", "1", "-r", "0",
                                "127.0.0.1", ".%s.1.1" % pressure], capture_output=True, text=True, env=SNMPENV)
            return r.returncode == 0 and "No Such" not in r.stdout
        if not check(snmputil.wait_for(up, timeout=20), "live: ephportd serves ephRangePressure.1.1"):
            print(open(os.path.join(tmp, "ephportd.log")).read()[-2000:])
            return
        for n in sorted(live_oids):
            if n.startswith("walk:"):
                oid = n[5:]
                r = subprocess.run(["snmpwalk", "-v2c", "-c", "public", "-On", "127.0.0.1", "." + oid],
                                   capture_output=True, text=True, env=SNMPENV)
                idx = sorted(l.split(" ")[0][len(oid) + 2:] for l in r.stdout.splitlines() if l.startswith("." + oid + "."))
                check(idx == ["1.1", "1.2"], "live: walking %s finds rows 1.1 (tcp) and 1.2 (udp): %s" % (oid, idx))
                continue
            inst = [n] if not n.endswith(".1.1") else [n, n[:-1] + "2"]
            for o in inst:
                r = subprocess.run(["snmpget", "-v2c", "-c", "public", "-On", "127.0.0.1", "." + o],
                                   capture_output=True, text=True, env=SNMPENV)
                check(r.returncode == 0 and "No Such" not in r.stdout and " = " in r.stdout,
                      "live: %s (%s) answers: %s" % (o, back(o), (r.stdout + r.stderr).strip()))
        if not os.access(os.path.join(PLUGINS, "check_snmp"), os.X_OK):
            print("note: no check_snmp (Debian: monitoring-plugins-standard): Nagios commands not run")
            return
        exe = os.environ.get("EPHPORT", "./ephport")
        for s in services:
            args = s["check_command"].split("!")
            line = commands[args[0]]
            if "check_nrpe" in line:
                continue
            for i, a in enumerate(args[1:], 1):
                line = line.replace("$ARG%d$" % i, a)
            line = (line.replace("$USER1$", PLUGINS).replace("$HOSTADDRESS$", "127.0.0.1")
                    .replace("$USER5$", "public").replace("/usr/bin/ephport", exe))
            r = subprocess.run(["sh", "-c", line], capture_output=True, text=True, env=SNMPENV)
            check(r.returncode == 0 and r.stdout.startswith("SNMP OK"),
                  "live: Nagios %r: %s -> %d %s%s" % (s["service_description"], line, r.returncode, r.stdout, r.stderr))
            if "--multiplier" in line:
                check(re.search(r"'=\d+(\.\d+)?;80;90", r.stdout) is not None,
                      "live: %r perfdata with thresholds: %s" % (s["service_description"], r.stdout.strip()))
        # The scaling: ephBindThresholdRising.0 is 8000 (80.00 %): through the
        # percent command with 79/90 it must read 80 and warn.
        line = commands["check_ephport_snmp_percent"]
        for i, a in enumerate([".%s.0" % oid_of("ephBindThresholdRising"), "79", "90", "scaled"], 1):
            line = line.replace("$ARG%d$" % i, a)
        line = line.replace("$USER1$", PLUGINS).replace("$HOSTADDRESS$", "127.0.0.1").replace("$USER5$", "public")
        r = subprocess.run(["sh", "-c", line], capture_output=True, text=True, env=SNMPENV)
        check(r.returncode == 1 and re.search(r"'?scaled'?=80(\.0+)?;79;90", r.stdout) is not None,
              "live: --multiplier=0.01 reads 8000 hundredths as 80 %% before the thresholds: %d %s"
              % (r.returncode, r.stdout.strip()))
        for name in ("check_ephport", "check_ephport_kinds"):
            line = commands[name].replace("/usr/bin/ephport", exe)
            for i, a in enumerate(["80", "90", "80", "90"], 1):
                line = line.replace("$ARG%d$" % i, a)
            r = subprocess.run(["sh", "-c", line], capture_output=True, text=True)
            check(r.returncode == 0, "live: Nagios command %s: %s -> %d %s%s" % (name, line, r.returncode, r.stdout, r.stderr))
    finally:
        agent.stop()
        master.stop()
        nsutil.stop_spawned()
        shutil.rmtree(tmp, ignore_errors=True)


if len(sys.argv) > 1 and sys.argv[1] == "--live":
    passed = failed = 0
    live()
    finish()
if os.geteuid() == 0 and shutil.which("snmpd") and shutil.which("unshare") \
        and os.access(os.environ.get("EPHPORTD", "./ephportd"), os.X_OK):
    r = subprocess.run(["unshare", "-n", sys.executable, os.path.abspath(__file__), "--live"],
                       capture_output=True, text=True, env=dict(os.environ, EPH_IN_NETNS="1"))
    sys.stdout.write("".join(l + "\n" for l in r.stdout.splitlines() if not re.match(r"\d+ passed", l)))
    m = re.search(r"(\d+) passed, (\d+) failed", r.stdout)
    if m:
        passed += int(m.group(1))
        failed += int(m.group(2))
    check(r.returncode == 0 and m is not None, "live part ran (exit %d) %s" % (r.returncode, r.stderr[-1000:]))
else:
    print("note: live part skipped (needs root, snmpd, unshare and $EPHPORTD)")
finish()
