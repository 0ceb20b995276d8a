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
  - the allocation failures (ephFailureTable) in every template: Zabbix
    triggers on a new failure (a change of the Counter64 above 0, recovering
    after a quiet time) and while not observable (naming ephFailureReason),
    Counter64 items turned into changes; Nagios/Icinga services per kind
    with check_snmp --rate, CRITICAL on any new failure, hard at once, and
    one WARNING while not observable; LibreNMS count and state sensors;
    Zabbix discovery filters on macros the rule discovers;
  - live, as root in a private network namespace with snmpd + ephportd
    ('processes yes'), first without BPF (an empty pin directory, never
    the host's): every numeric OID of the templates answers at the
    instances they poll but the failure counts, which are noSuchInstance;
    the Zabbix discoveries find their rows, which pass the rules' filters
    (and, with node, the discovery JavaScript derives the macros); every
    Nagios check_snmp command line returns OK but the failure ones:
    "observable" WARNING with the reason, the counts UNKNOWN, never OK;
    then with the BPF counters loaded on a private bpffs (failutil): every
    OID answers (the last failure's age only after one), every Nagios
    service is OK, and after K, K2, K3 real failing connect(), bind(0) and
    UDP autobind calls the counts read exactly K, K2, K3, the failure
    services go CRITICAL and are OK again at the next check.  When BPF
    cannot load that part is a SKIP (exit 77 unless something failed);
    with CI=true it is a failure.
Skips (77) without snmptranslate or python3-yaml."""
import grp
import json
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
# The rows the live agent has in each table the templates poll (its own
# namespace, 1): range rows per protocol, failure rows per kind.
ROWS = {oid_of("ephRangeEntry"): ["1.1", "1.2"],
        oid_of("ephFailureEntry"): ["1.1", "1.2", "1.3"],
        oid_of("ephNamespaceEntry"): ["1"]}
# Columns that exist only while the BPF failure counters are loaded, and
# one that exists only once a failure was counted.
BPF_ONLY = {"ephFailureCount", "ephFailureDiscontinuityTime", "ephFailureOtherDest",
            "ephFailureOtherProc"}
AFTER_FAILURE = {"ephFailureLastAge"}
live_oids = set()  # numeric OIDs with instances, polled live


def rows_of(column_oid):
    """The live instances of a column (by its table), or ["0"] for a scalar."""
    return ROWS.get(column_oid.rsplit(".", 1)[0], ["0"])

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
        if oid_of(val):
            for inst in (["0"] if oid_of(tbl) == oid_of(val) else rows_of(oid_of(val))):
                live_oids.add("%s.%s" % (oid_of(val), inst))
check(nlib >= 10, "LibreNMS: %d sensors" % nlib)
check("ephFailureCount" in {d.get("value") for d in sensors.get("count", {}).get("data", [])},
      "LibreNMS: a count sensor on ephFailureCount")
check("ephFailureObservable" in {d.get("value") for d in sensors.get("state", {}).get("data", [])},
      "LibreNMS: a state sensor on ephFailureObservable (not observable is visible)")
obs = [d for d in sensors.get("state", {}).get("data", []) if d.get("value") == "ephFailureObservable"]
check(obs and {s["value"]: s["generic"] for s in obs[0].get("states", [])} == {1: 0, 2: 1},
      "LibreNMS: ephFailureObservable false(2) is a warning (generic 1), true(1) ok")

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
    zitems.append((it, None))
    triggers += it.get("triggers", [])
rules = tpl.get("discovery_rules", [])
check(len(rules) >= 3, "Zabbix: discovery rules for ranges, failures and namespaces (%d)" % len(rules))
discoveries = []  # (rule, its table entry's OID, [(macro, column OID)])
for rule in rules:
    so = rule.get("snmp_oid", "")
    m = re.fullmatch(r"discovery\[(.*)\]", so)
    entry, pairs = None, []
    if check(m is not None, "Zabbix: discovery snmp_oid %s is discovery[...]" % so):
        parts = m.group(1).split(",")
        check(len(parts) % 2 == 0, "Zabbix: discovery pairs macro,OID")
        for mac, oid in zip(parts[0::2], parts[1::2]):
            check(re.fullmatch(r"\{#[A-Z0-9_]+\}", mac) is not None, "Zabbix: %s is an LLD macro" % mac)
            b = back(oid)
            e = oid.rsplit(".", 1)[0]
            check(b is not None and e in ROWS and (entry is None or e == entry),
                  "Zabbix: discovery OID %s is a column of one of the polled tables (%s)" % (oid, b))
            entry = entry or e
            pairs.append((mac, oid))
            if b:
                live_oids.add("walk:" + oid)
    discoveries.append((rule, entry, pairs))
    for c in (rule.get("filter") or {}).get("conditions", []):
        check(c.get("macro") in [mac for mac, _ in pairs],
              "Zabbix: %s's filter macro %s is one the rule discovers" % (rule.get("key"), c.get("macro")))
    for ip in rule.get("item_prototypes", []):
        zitems.append((ip, entry))
        triggers += ip.get("trigger_prototypes", [])
    triggers += rule.get("trigger_prototypes", [])
check({e for _, e, _ in discoveries} == set(ROWS),
      "Zabbix: the rules discover ephRangeTable, ephFailureTable and ephNamespaceTable")
item_by_key = {it.get("key"): it for it, _ in zitems}
object_of = {}  # item key: MIB object
for it, entry in zitems:
    key = it.get("key", "")
    check(key not in keys, "Zabbix: key %s unique" % key)
    keys.add(key)
    m = re.match(r"EPHEMERAL-PORT-MIB::(\w+)[.,]", it.get("description", ""))
    if not check(m is not None, "Zabbix: %s's description names its object" % key):
        continue
    name = m.group(1)
    object_of[key] = name
    if it.get("type") == "DEPENDENT":
        master = item_by_key.get((it.get("master_item") or {}).get("key"))
        check(master is not None and master.get("type") == "SNMP_AGENT",
              "Zabbix: dependent %s has an SNMP master item of the template" % key)
        check(master is not None and ("EPHEMERAL-PORT-MIB::%s." % name) in master.get("description", ""),
              "Zabbix: dependent %s is derived from the same object %s as its master" % (key, name))
        check("snmp_oid" not in it, "Zabbix: dependent %s polls nothing itself" % key)
        continue
    check(it.get("type") == "SNMP_AGENT", "Zabbix: %s is an SNMP item" % key)
    inst = r"\{#SNMPINDEX\}" if entry else r"0"
    object_with_instance(it.get("snmp_oid", ""), name, inst)
    base = it.get("snmp_oid", "").replace(".{#SNMPINDEX}", "")
    if entry:
        check(base.rsplit(".", 1)[0] == entry,
              "Zabbix: prototype %s polls a column of the table its rule discovers" % key)
    for i in (rows_of(base) if entry else ["0"]):
        live_oids.add(it.get("snmp_oid", "").replace("{#SNMPINDEX}", i) if entry else it.get("snmp_oid", ""))
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
    if re.search(r"SYNTAX\s+Counter64", syntax):
        # A counter is graphed and triggered on as a change: on the item, or
        # on a dependent item of it.
        def changes(i):
            return any(p["type"] in ("SIMPLE_CHANGE", "CHANGE_PER_SECOND") for p in i.get("preprocessing", []))
        deps = [d for d, _ in zitems if (d.get("master_item") or {}).get("key") == key]
        check(changes(it) or any(changes(d) for d in deps),
              "Zabbix: Counter64 %s (%s) is turned into a change (Simple change / Change per second)" % (key, name))
    if re.search(r"SYNTAX\s+DisplayString", syntax):
        check(it.get("value_type") in ("CHAR", "TEXT") and str(it.get("trends")) == "0",
              "Zabbix: string %s is CHAR/TEXT without trends" % key)
macros = {m["macro"] for m in tpl.get("macros", [])}
trig_text = ""
for t in triggers:
    for field in ("expression", "recovery_expression", "event_name"):
        expr = t.get(field, "")
        if field == "event_name":
            expr = " ".join(re.findall(r"\{\?(.*?)\}(?:\s|$)", expr))
        trig_text += expr + "\n"
        for host, key in re.findall(r"/([^/]+)/([\w.]+(?:\[[^\]]*\])?)", expr):
            check(host == T, "Zabbix: trigger names template %s" % host)
            check(key in keys, "Zabbix: trigger item %s exists" % key)
        for mac in re.findall(r"\{\$[A-Z0-9_.]+(?::[^}]*)?\}", expr):
            check(mac.split(":")[0].rstrip("}") + "}" in macros, "Zabbix: trigger macro %s is a template macro" % mac)
for kind in ("bind", "connect"):
    ts = [t for t in triggers if "eph.range.%s.pressure" % kind in t.get("expression", "")]
    ok = any("eph.threshold.%s.rising" % kind in t["expression"] and t.get("recovery_mode") == "RECOVERY_EXPRESSION"
             and "eph.threshold.%s.falling" % kind in t.get("recovery_expression", "") for t in ts)
    check(ok, "Zabbix: the %s trigger rises at the agent's rising threshold and recovers at its falling one" % kind)
for name in ("ephRangePressure", "ephRangeBindPressure", "ephRangeConnectPressure", "ephFailureObservable",
             "ephFailureReason", "ephFailureCount", "ephFailureLastAge", "ephNsTcpTwRecycled"):
    check(any(("EPHEMERAL-PORT-MIB::%s." % name) in it.get("description", "") for it, _ in zitems),
          "Zabbix: an item on %s" % name)
# Allocation failures: a problem on any new failure (a change of the counter
# above 0) that recovers after a quiet time, and one while not observable.
new_keys = {k for k, n in object_of.items() if n == "ephFailureCount" and item_by_key[k].get("type") == "DEPENDENT"}
obs_keys = {k for k, n in object_of.items() if n == "ephFailureObservable"}
check(any(re.fullmatch(r"last\(/[^/]+/(%s)\)>0" % "|".join(map(re.escape, new_keys)) if new_keys else "x",
                       t.get("expression", "")) is not None
          and t.get("recovery_mode") == "RECOVERY_EXPRESSION"
          and re.fullmatch(r"max\(/[^/]+/(%s),[^)]+\)=0" % "|".join(map(re.escape, new_keys)) if new_keys else "x",
                           t.get("recovery_expression", "")) is not None
          and t.get("priority") in ("HIGH", "DISASTER") for t in triggers),
      "Zabbix: a HIGH trigger on new allocation failures (change > 0), recovering after a quiet time")
check(any(re.fullmatch(r"last\(/[^/]+/(%s)\)=2" % "|".join(map(re.escape, obs_keys)) if obs_keys else "x",
                       t.get("expression", "")) is not None
          and "eph.fail.reason" in t.get("event_name", "") + t.get("name", "")
          and t.get("priority") in ("INFO", "WARNING", "AVERAGE") for t in triggers),
      "Zabbix: a trigger when allocation failures are not observable, naming ephFailureReason")

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
ncommented = 0
for m in re.finditer(r"#\s*(EPHEMERAL-PORT-MIB::[^\n]*)\n(?:#[^\n]*\n)*define service \{[^}]*check_command\s+(\S+)", nag):
    named = re.findall(r"EPHEMERAL-PORT-MIB::(\w+)\.(\d+(?:\.\d+)*)", m.group(1))
    args = m.group(2).split("!")
    oids = args[1].split(",") if len(args) > 1 else []
    ncommented += 1
    check(len(oids) == len(named) and all(o.lstrip(".") == "%s.%s" % (oid_of(n), i) for o, (n, i) in zip(oids, named)),
          "Nagios: %s's OIDs %s are %s" % (args[0], oids, named))
    for o, (n, i) in zip(oids, named):
        object_with_instance(o, n, re.escape(i))
nsnmp = sum(1 for sv in services if "check_snmp" in commands.get(sv.get("check_command", "").split("!")[0], ""))
check(ncommented == nsnmp and nsnmp >= 13,
      "Nagios: each of the %d check_snmp services (%d commented) is under a comment naming its objects"
      % (nsnmp, ncommented))
fail_services = [sv for sv in services if oid_of("ephFailureCount") and
                 ("." + oid_of("ephFailureCount") + ".") in sv.get("check_command", "")]
check(sorted(sv["check_command"].split("!")[1].rsplit(".", 1)[1] for sv in fail_services) == ["1", "2", "3"],
      "Nagios: a failure service per kind (connect, bind, autobind)")
for sv in fail_services:
    line = commands.get(sv["check_command"].split("!")[0], "")
    check("--rate" in line and sv["check_command"].split("!")[2] == "~:0" and "-c $ARG2$" in line,
          "Nagios: %r is CRITICAL on any new failure (--rate, -c ~:0)" % sv["service_description"])
    check(sv.get("max_check_attempts") == "1",
          "Nagios: %r goes hard at once (max_check_attempts 1: --rate reads 0 at the retry)" % sv["service_description"])
check(any(("." + str(oid_of("ephFailureObservable")) + ".1.1,") in sv.get("check_command", "")
          and "!-w @2:2!" in sv["check_command"] for sv in services),
      "Nagios: a service WARNING while ephFailureObservable is false(2), showing ephFailureReason")
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
        check(m is not None and int(m.group(1)) >= 15, "Icinga 2: services applied to the host, the failure ones among them (%s)" % (m and m.group(1)))
else:
    print("note: icinga2 not installed: Icinga 2 syntax not checked (Debian: icinga2-bin)")


# Icinga 2: the failure services as in Nagios.
check(re.search(r'"--rate"\s*=\s*\{\s*set_if\s*=\s*"\$ephport_snmp_rate\$"\s*\}', ic) is not None,
      "Icinga 2: ephport-snmp passes --rate when vars.ephport_snmp_rate")
for k in ("1", "2", "3"):
    check(re.search(r'"failures-\w+"\s*=\s*\[\s*"\.%s\.1\.%s",\s*"~:0"' % (re.escape(oid_of("ephFailureCount") or "x"), k), ic)
          is not None, "Icinga 2: a failure service on ephFailureCount.1.%s, CRITICAL on any new failure" % k)
check("max_check_attempts = 1" in ic, "Icinga 2: the failure services go hard at once")
check(re.search(r'"\.%s\.1\.1,\.%s\.1\.1"\s*\n\s*vars\.ephport_snmp_warn = "@2:2"'
                % (re.escape(oid_of("ephFailureObservable") or "x"), re.escape(oid_of("ephFailureReason") or "x")), ic)
      is not None, "Icinga 2: failures-observable WARNING while false(2), showing ephFailureReason")


# --- live: snmpd + ephportd in a private network namespace ------------------------
K, K2, K3 = 3, 2, 4  # failing connect(), bind(0), UDP autobind


def live():
    sys.path.insert(0, HERE)
    import snmputil
    import nsutil
    import failutil
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    tmp = tempfile.mkdtemp(prefix="nms-templates.")
    master = snmputil.Master(tmp, port=161)
    agents = []
    pins = None
    exe = os.environ.get("EPHPORT", "./ephport")
    name_of = {}

    def obj(numeric):
        if numeric not in name_of:
            name_of[numeric] = ((back(numeric) or "::").split("::")[1]).split(".")[0]
        return name_of[numeric]

    def snmpget(o):
        r = subprocess.run(["snmpget", "-v2c", "-c", "public", "-On", "-t", "2", "-r", "1", "127.0.0.1", "." + o],
                           capture_output=True, text=True, env=SNMPENV)
        return r.returncode == 0 and "No Such" not in r.stdout and " = " in r.stdout, (r.stdout + r.stderr).strip()

    def value(o):
        ok, out = snmpget(o)
        return out.split(" = ", 1)[1].split(": ", 1)[-1].strip() if ok else None

    def start_agent(pin_dir, name):
        # The pin directory is this test's own (empty: no BPF), never the
        # host's /sys/fs/bpf/ephport.
        # processes yes: the process counts the templates poll exist.
        agent = snmputil.Agent(tmp, master, extra="processes yes\n", env={"EPHPORT_BPF_PIN": pin_dir}, name=name)
        agents.append(agent)
        agent.start()
        pressure = oid_of("ephRangePressure")
        observable = oid_of("ephFailureObservable")
        up = snmputil.wait_for(lambda: snmpget("%s.1.1" % pressure)[0] and snmpget("%s.1.1" % observable)[0],
                               timeout=20)
        if not check(up, "live (%s): ephportd serves ephRangePressure.1.1 and ephFailureObservable.1.1" % name):
            print(agent.log_text()[-2000:])
        return up

    def poll(phase, present):
        """Every live OID of the templates: those present(name) answer, the
        others are noSuchInstance (never a zero not measured)."""
        for n in sorted(live_oids):
            if n.startswith("walk:"):
                oid = n[5:]
                r = subprocess.run(["snmpwalk", "-v2c", "-c", "public", "-On", "127.0.0.1", "." + oid],
                                   capture_output=True, text=True, env=SNMPENV)
                idx = sorted(l.split(" ")[0][len(oid) + 2:] for l in r.stdout.splitlines()
                             if l.startswith("." + oid + "."))
                want = ROWS[oid.rsplit(".", 1)[0]]
                check(idx == want, "live %s: walking %s (%s) finds rows %s: %s" % (phase, oid, obj(oid), want, idx))
                rule, macro = next(((r, m) for r, _, pairs in discoveries for m, o in pairs if o == oid), ({}, None))
                vals = [l.split(" = ", 1)[1].split(": ", 1)[-1].strip('"') for l in r.stdout.splitlines()
                        if l.startswith("." + oid + ".") and " = " in l]
                for c in (rule.get("filter") or {}).get("conditions", []):
                    if c.get("macro") == macro:
                        check(vals and all(re.search(c["value"], v) for v in vals),
                              "live %s: every row of %s passes the filter %s %s: %s" % (phase, rule.get("key"), macro, c["value"], vals))
                if phase == "without BPF":
                    run_discovery_js(oid, idx)
                continue
            ok, out = snmpget(n)
            if present(obj(n)):
                check(ok, "live %s: %s (%s) answers: %s" % (phase, n, back(n), out))
            else:
                check(not ok and "No Such Instance" in out,
                      "live %s: %s (%s) is noSuchInstance: %s" % (phase, n, back(n), out))

    def run_discovery_js(oid, idx):
        """The rule's JavaScript preprocessing, under node, on what Zabbix
        6.0 makes of the walk: the macros it derives match the index."""
        rule = next((r for r, _, pairs in discoveries if oid in [o for _, o in pairs]), None)
        js = [p["parameters"][0] for p in (rule or {}).get("preprocessing", []) if p["type"] == "JAVASCRIPT"]
        node = shutil.which("node") or shutil.which("nodejs")
        if not js or not node:
            if not node:
                print("note: no node: the discovery JavaScript of %s not run" % rule.get("key"))
            return
        rows = [{"{#SNMPINDEX}": i} for i in idx]
        prog = "var value = %s;\nprocess.stdout.write((function (value) {\n%s\n})(value));\n" % (
            json.dumps(json.dumps(rows)), js[0])
        r = subprocess.run([node, "-e", prog], capture_output=True, text=True)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            out = None
        entry = oid.rsplit(".", 1)[0]
        if entry == oid_of("ephRangeEntry"):
            names, macro = enums("ephRangeProtocol"), "{#PROTO}"
        elif entry == oid_of("ephFailureEntry"):
            names, macro = enums("ephFailureKind"), "{#KIND}"
        else:
            names, macro = None, None
        want = [dict(r, **({"{#NSINDEX}": i.split(".")[0], macro: names[int(i.split(".")[1])]} if macro else {}))
                for r, i in zip(rows, idx)]
        check(out == want, "live: %s's JavaScript turns %s into %s: %s %s" % (rule.get("key"), rows, want, out, r.stderr))

    def command_line(s):
        args = s["check_command"].split("!")
        line = commands[args[0]]
        for i, a in enumerate(args[1:], 1):
            line = line.replace("$ARG%d$" % i, a)
        return (line.replace("$USER1$", PLUGINS).replace("$HOSTADDRESS$", "127.0.0.1")
                .replace("$USER5$", "public").replace("/usr/bin/ephport", exe))

    def run(line, state):
        env = dict(SNMPENV, MP_STATE_PATH=state)
        r = subprocess.run(["sh", "-c", line], capture_output=True, text=True, env=env)
        return r.returncode, r.stdout + r.stderr

    def snmp_services():
        return [s for s in services if "check_nrpe" not in commands[s["check_command"].split("!")[0]]]

    def services_of(name):
        o = "." + oid_of(name) + "."
        return [s for s in snmp_services() if o in s["check_command"]]

    def run_services(phase, state, expect):
        """Every Nagios SNMP service; a --rate one twice (its first run
        has no previous value).  expect(service) -> (exit, output regex)."""
        rate = []
        for s in snmp_services():
            line = command_line(s)
            rc, out = run(line, state)
            want_rc, want_re = expect(s)
            if "--rate" in line and want_rc == 0:
                check(rc == 0 and "No previous data" in out,
                      "live %s: Nagios %r first run, no previous value: %s -> %d %s"
                      % (phase, s["service_description"], line, rc, out))
                rate.append((s, line))
                continue
            check(rc == want_rc and re.search(want_re, out) is not None,
                  "live %s: Nagios %r: %s -> %d %s (want %d /%s/)"
                  % (phase, s["service_description"], line, rc, out, want_rc, want_re))
            if rc == 0 and "--multiplier" in line:
                check(re.search(r"'=\d+(\.\d+)?;80;90", out) is not None,
                      "live: %r perfdata with thresholds: %s" % (s["service_description"], out.strip()))
        if rate:
            time.sleep(1.2)  # check_snmp's state has whole seconds
        for s, line in rate:
            rc, out = run(line, state)
            check(rc == 0 and re.search(r"^SNMP RATE OK - [^|]*\|\s*'[^']*'=0;", out) is not None,
                  "live %s: Nagios %r second run, rate 0: %s -> %d %s" % (phase, s["service_description"], line, rc, out))

    try:
        master.start()
        # --- without BPF (an empty pin directory) ---
        empty = tempfile.mkdtemp(prefix="nopins.", dir=tmp)
        if not start_agent(empty, "ephportd-nobpf"):
            return
        poll("without BPF", lambda n: n not in BPF_ONLY | AFTER_FAILURE)
        reason = value("%s.1.1" % oid_of("ephFailureReason")) or ""
        check(reason.strip('"').startswith("not observable without the BPF source"),
              "live without BPF: ephFailureReason.1.1 says why: %s" % reason)
        if not os.access(os.path.join(PLUGINS, "check_snmp"), os.X_OK):
            print("note: no check_snmp (Debian: monitoring-plugins-standard): Nagios commands not run")
            return

        def expect_nobpf(s):
            if s in services_of("ephFailureObservable"):
                return 1, r"^SNMP WARNING - .*\*2\*.*not observable without the BPF source"
            if s in services_of("ephFailureCount"):
                return 3, r"No Such Instance"  # UNKNOWN: never silently OK
            return 0, r"^SNMP OK"
        run_services("without BPF", os.path.join(tmp, "state-nobpf"), expect_nobpf)
        # check_snmp calls a missing instance OK when it has no threshold:
        # the reason every failure command has one.
        rc, out = run("%s/check_snmp -H 127.0.0.1 -P 2c -C public -o .%s.1.1" % (PLUGINS, oid_of("ephFailureCount")),
                      os.path.join(tmp, "state-nobpf"))
        print("note: check_snmp without a threshold on a missing instance: %d %s" % (rc, out.strip()))
        # The scaling: ephBindThresholdRising.0 is 8000 (80.00 %): through the
        # percent command with 79/90 it must read 80 and warn.
        line = commands["check_ephport_snmp_percent"]
        for i, a in enumerate([".%s.0" % oid_of("ephBindThresholdRising"), "79", "90", "scaled"], 1):
            line = line.replace("$ARG%d$" % i, a)
        line = line.replace("$USER1$", PLUGINS).replace("$HOSTADDRESS$", "127.0.0.1").replace("$USER5$", "public")
        rc, out = run(line, os.path.join(tmp, "state-nobpf"))
        check(rc == 1 and re.search(r"'?scaled'?=80(\.0+)?;79;90", out) is not None,
              "live: --multiplier=0.01 reads 8000 hundredths as 80 %% before the thresholds: %d %s"
              % (rc, out.strip()))
        for name in ("check_ephport", "check_ephport_kinds"):
            line = commands[name].replace("/usr/bin/ephport", exe)
            for i, a in enumerate(["80", "90", "80", "90"], 1):
                line = line.replace("$ARG%d$" % i, a)
            r = subprocess.run(["sh", "-c", line], capture_output=True, text=True)
            check(r.returncode == 0, "live: Nagios command %s: %s -> %d %s%s" % (name, line, r.returncode, r.stdout, r.stderr))
        check(agents[-1].stop() == 0, "live: ephportd (no BPF) exits 0")

        # --- with the BPF failure counters (private bpffs), real failures ---
        pins, why = failutil.bpf_try_load()
        if not pins:
            if os.environ.get("CI") == "true":
                check(False, "live: BPF must load in CI: %s" % why)
            else:
                print("SKIP the BPF part (failure counters, K real failures): %s" % why)
            return
        if not start_agent(pins, "ephportd-bpf"):
            return
        cnt = oid_of("ephFailureCount")
        check(snmputil.wait_for(lambda: [value("%s.1.%d" % (cnt, k)) for k in (1, 2, 3)] == ["0", "0", "0"]),
              "live with BPF: ephFailureCount.1.1-3 read 0 before the wall (a measured zero)")
        poll("with BPF", lambda n: n not in AFTER_FAILURE)
        run_services("with BPF", os.path.join(tmp, "state-bpf"), lambda s: (0, r"^SNMP OK"))
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            saved_range = f.read().split()
        wall = failutil.hit_the_wall(K, K2, K3)
        # No SNMP while the range is full: the tools' own UDP autobind
        # would fail, and be counted.
        wall.close()
        with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
            f.write(" ".join(saved_range))
        want = [str(K), str(K2), str(K3)]
        got = []
        check(snmputil.wait_for(lambda: got.append([value("%s.1.%d" % (cnt, k)) for k in (1, 2, 3)]) or got[-1] == want,
                                timeout=15),
              "live after the wall: ephFailureCount.1.1-3 read exactly %s: %s" % (want, got[-1:]))
        poll("after the wall", lambda n: True)
        age = value("%s.1.1" % oid_of("ephFailureLastAge"))
        check(age is not None and age.isdigit() and int(age) <= 30,
              "live after the wall: ephFailureLastAge.1.1 is recent: %s" % age)

        def expect_wall(s):
            if s in services_of("ephFailureCount"):
                return 2, r"^SNMP RATE CRITICAL - [^|]*\*[0-9.e+]+\*[^|]*\|\s*'[^']*'=[1-9][0-9.e+]*;;~:0"
            return 0, r"^SNMP (RATE )?OK"
        state = os.path.join(tmp, "state-bpf")
        fails = services_of("ephFailureCount")
        for s in fails:
            rc, out = run(command_line(s), state)
            want_rc, want_re = expect_wall(s)
            check(rc == want_rc and re.search(want_re, out) is not None,
                  "live after the wall: Nagios %r is CRITICAL: %d %s" % (s["service_description"], rc, out))
        time.sleep(1.2)
        for s in fails:
            rc, out = run(command_line(s), state)
            check(rc == 0 and re.search(r"^SNMP RATE OK - [^|]*\|\s*'[^']*'=0;", out) is not None,
                  "live after the wall: Nagios %r recovers at the next check without new failures: %d %s"
                  % (s["service_description"], rc, out))
        for s in services_of("ephFailureObservable"):
            rc, out = run(command_line(s), state)
            check(rc == 0, "live after the wall: Nagios %r OK: %d %s" % (s["service_description"], rc, out))
        check(agents[-1].stop() == 0, "live: ephportd (BPF) exits 0")
    finally:
        for a in agents:
            a.stop()
        master.stop()
        nsutil.stop_spawned()
        if pins:
            failutil.bpf_unload(pins)
        shutil.rmtree(tmp, ignore_errors=True)


if len(sys.argv) > 1 and sys.argv[1] == "--live":
    passed = failed = 0
    live()
    finish()
skipped = None
if os.geteuid() == 0 and shutil.which("snmpd") and shutil.which("unshare") \
        and os.access(os.environ.get("EPHPORTD", "./ephportd"), os.X_OK):
    child = subprocess.Popen(["unshare", "-n", sys.executable, os.path.abspath(__file__), "--live"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, EPH_IN_NETNS="1"))

    # The live part stops the daemons it started (and unloads BPF) when
    # an interrupted run signals this process.
    sys.path.insert(0, HERE)
    import nsutil
    nsutil.forward_signals(child)
    out, err = child.communicate()
    sys.stdout.write("".join(l + "\n" for l in out.splitlines() if not re.match(r"\d+ passed", l)))
    m = re.search(r"(\d+) passed, (\d+) failed", out)
    if m:
        passed += int(m.group(1))
        failed += int(m.group(2))
    check(child.returncode == 0 and m is not None, "live part ran (exit %d) %s" % (child.returncode, err[-1000:]))
    sk = re.search(r"^SKIP the BPF part[^\n]*", out, re.M)
    skipped = sk.group(0) if sk else None
else:
    print("note: live part skipped (needs root, snmpd, unshare and $EPHPORTD)")
if skipped and not failed:
    # A part that did not run is never reported as a pass.
    print("%d passed, 0 failed; %s" % (passed, skipped))
    sys.exit(77)
finish()
