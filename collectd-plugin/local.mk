# collectd-plugin/local.mk - the collectd read plugin ephport.so, its unit
# and integration tests, its man page and example config.
#
# Included from the top Makefile.am, *after* UNIT_TESTS, INTEGRATION_TESTS,
# EXTRA_DIST and dist_man_MANS are defined (it appends to them):
#   include $(srcdir)/collectd-plugin/local.mk
# Paths here are relative to the top source directory.

# Distributed whatever configure found, so `make dist` on a host without
# collectd-dev still makes a complete tarball.
EXTRA_DIST += contrib/collectd/ephport.conf doc/ephport-collectd.5 \
	tests/integration/collectd_netns.py tests/integration/collectdutil.py \
	tests/integration/collectd_allns.py tests/integration/collectd_rate.py \
	tests/integration/collectd_failures.py \
	tests/integration/collectd_processes.py

if HAVE_COLLECTD
# Where collectd looks for plugins.  Debian's collectd uses /usr/lib/collectd:
# configure --libdir=/usr/lib, or make install collectdplugindir=/usr/lib/collectd.
# It stays under $(libdir) by default so that distcheck (and any --prefix
# install) works without root.
collectdplugindir = $(libdir)/collectd
collectdplugin_LTLIBRARIES = ephport.la
ephport_la_SOURCES = collectd-plugin/ephport.c
# COLLECTD_CFLAGS carries -DHAVE_CONFIG_H so collectd.h reads collectd's
# own config.h (DATA_MAX_NAME_LEN ...); the plugin never includes ours.
ephport_la_CPPFLAGS = $(AM_CPPFLAGS) $(COLLECTD_CFLAGS)
ephport_la_CFLAGS = $(AM_CFLAGS)
# module_register is the only symbol collectd needs; hiding the rest keeps
# libephport's names from clashing with other plugins' (check: nm -D).
ephport_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-export-symbols-regex '^module_register$$'
ephport_la_LIBADD = libephport.la

dist_man_MANS += doc/ephport-collectd.5

# The unit test compiles the plugin source in, against a mock of collectd's
# plugin and config API (so it needs the same headers).
UNIT_TESTS += tests/check_collectd_plugin
tests_check_collectd_plugin_SOURCES = tests/check_collectd_plugin.c
tests_check_collectd_plugin_CPPFLAGS = $(AM_CPPFLAGS) $(COLLECTD_CFLAGS)
tests_check_collectd_plugin_CFLAGS = $(TEST_CFLAGS)
tests_check_collectd_plugin_LDADD = $(TEST_LDADD) -lm

# Finds the plugin at .libs/ephport.so next to $EPHPORT (or at
# $EPH_COLLECTD_PLUGIN); skips (77) without collectd or root.
INTEGRATION_TESTS += tests/integration/collectd_netns.py
# Every network namespace through collectd (issue 12): needs root and ip.
INTEGRATION_TESTS += tests/integration/collectd_allns.py
# Rates and time to exhaustion against a real ramp to exhaustion (issue 14):
# needs root; about 30 s.
INTEGRATION_TESTS += tests/integration/collectd_rate.py
# The failure counters (issue 18): derives and notifications with the BPF
# source (ephport-bpf load on a private bpffs), none without it.  Needs
# root; about 25 s; SKIP (77) when ephport-bpf is not built or cannot load.
INTEGRATION_TESTS += tests/integration/collectd_failures.py
# Who holds the ports (issue 18): Processes true from /proc and from the
# BPF pin, two children holding 30 and 70, against ss -tanp.  Needs root;
# about 40 s; SKIP (77) when ephport-bpf is not built or cannot load (the
# parts without it still run).
INTEGRATION_TESTS += tests/integration/collectd_processes.py
endif
