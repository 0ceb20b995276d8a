/*
 * watch.c - `ephport --watch [SECONDS]` and `ephport top [SECONDS]`: a
 * live view that collects every SECONDS and shows, per protocol (and per
 * namespace with --netns, --all-namespaces), a bar for each pressure with
 * what it predicts will fail, the busiest destinations by connect
 * pressure, and the trend since the previous refresh.
 *
 * On a terminal: the alternate screen, cleared and redrawn from the home
 * position at each refresh (plain ANSI sequences, no curses), the cursor
 * hidden; SIGINT, SIGTERM and SIGHUP restore the screen and the cursor.
 * Elsewhere (a pipe, a file): one plain block per refresh, no escape
 * sequence, flushed after each block.
 *
 * Signals are blocked outside ppoll(), so one arriving during a collection
 * ends the wait at once instead of being lost.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netns.h"
#include "output.h"

#define WATCH_MAX_MS (86400u * 1000u)
#define WATCH_MIN_MS 100u

#define ESC_ALT_ON  "\033[?1049h"
#define ESC_ALT_OFF "\033[?1049l"
#define ESC_HIDE    "\033[?25l"
#define ESC_SHOW    "\033[?25h"
#define ESC_HOME    "\033[H"
#define ESC_CLEAR   "\033[2J"

static volatile sig_atomic_t stop_sig, winch;

static void on_stop(int sig)
{
	stop_sig = sig;
}

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

int eph_watch_parse_interval(const char *s, unsigned *ms)
{
	unsigned long v = 0;
	unsigned frac = 0, scale = 1000;
	const char *p = s;

	if (!s || !*s)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > WATCH_MAX_MS / 1000)
			return -1;
	}
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale == 1)
				return -1; /* finer than a millisecond */
			scale /= 10;
			frac += (unsigned)(*p - '0') * scale;
		}
	} else if (p == s) {
		return -1;
	}
	if (*p)
		return -1;
	v = v * 1000 + frac;
	if (v < WATCH_MIN_MS || v > WATCH_MAX_MS)
		return -1;
	*ms = (unsigned)v;
	return 0;
}

/* One namespace's sample (the default mode has one, inode 0). */
struct sample {
	struct eph_snapshot snap;
	struct eph_netns ns;
	int64_t at_us; /* CLOCK_MONOTONIC */
};

struct watch {
	const struct eph_cli_ns *o;
	struct eph_config cfg;
	unsigned interval_ms, top_n;
	bool tty;
	struct eph_collector *c;
	struct eph_netns *list; /* o->spec: [0]; o->all: the listing */
	struct sample *cur, *prev;
	size_t n_cur, n_prev, cap;
	unsigned long refresh;
	char error[512]; /* the last failed refresh, "" if none */
	struct eph_host host;
	bool have_host;
};

static const char *pct(uint32_t bp, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%02u%%", bp / 100, bp % 100);
	return buf;
}

static void bar(FILE *f, uint32_t bp, unsigned width)
{
	unsigned fill = (unsigned)((uint64_t)bp * width / EPH_BP_FULL);

	fputc('[', f);
	for (unsigned i = 0; i < width; i++)
		fputc(i < fill ? '#' : '.', f);
	fputc(']', f);
}

/* "connect to 10.0.0.5:443 from 10.0.0.1 fails at 100%" */
static void predicts_connect(FILE *f, const struct eph_proto_stats *s)
{
	char a[64], b[80];

	if (s->has_worst)
		fprintf(
		    f, "connect to %s from %s",
		    eph_endpoint(&s->worst.raddr, s->worst.rport, b, sizeof(b)),
		    eph_addr_format(&s->worst.laddr, a, sizeof(a)));
	else
		fputs("connect to a new destination", f);
	fputs(" fails at 100%", f);
}

static void predicts_bind(FILE *f, enum eph_proto p)
{
	fprintf(f, "%s fails at 100%%",
		p == EPH_TCP ? "bind(0)" : "bind(0) or autobind");
}

static void pressure_line(FILE *f, const char *label, uint32_t bp,
			  unsigned width)
{
	char c[16];

	fprintf(f, "     %-9s %7s ", label, pct(bp, c, sizeof(c)));
	bar(f, bp, width);
	fputs("  ", f);
}

/* A change in hundredths of a percent as "+1.25 pp". */
static void delta_bp(FILE *f, int64_t d, double secs)
{
	uint64_t m = (uint64_t)(d < 0 ? -d : d);
	double rate = secs > 0 ? (double)d / 100.0 / secs : 0;

	fprintf(f, "%c%llu.%02llu pp (%+.2f pp/s)", d < 0 ? '-' : '+',
		(unsigned long long)(m / 100), (unsigned long long)(m % 100),
		rate);
}

static int by_connect(const void *a, const void *b)
{
	const struct eph_dest *x = a, *y = b;

	if (x->connect_bp != y->connect_bp)
		return x->connect_bp < y->connect_bp ? 1 : -1;
	if (x->sockets != y->sockets)
		return x->sockets < y->sockets ? 1 : -1;
	return 0;
}

static void proto_block(FILE *f, const struct watch *w, enum eph_proto p,
			const struct sample *cur, const struct sample *prev)
{
	const struct eph_proto_stats *s = &cur->snap.proto[p];
	const struct eph_proto_stats *o =
	    prev && prev->snap.proto[p].collected ? &prev->snap.proto[p] : NULL;
	struct eph_dest top[EPH_TOP_MAX];
	unsigned width = 30, n;
	char a[64], b[80], c[16];

	fprintf(f,
		"%s  ports in use %u of %u usable (range %u-%u, %u reserved), "
		"free %u; TIME-WAIT %llu\n",
		p == EPH_TCP ? "TCP" : "UDP", s->ports_in_use, s->usable,
		s->low, s->high, s->reserved, s->ports_free,
		(unsigned long long)s->time_wait);
	pressure_line(f, "pressure", s->pressure_bp, width);
	if (s->pressure_kind == EPH_KIND_CONNECT)
		predicts_connect(f, s);
	else
		predicts_bind(f, p);
	fputc('\n', f);
	pressure_line(f, "bind", s->bind_bp, width);
	predicts_bind(f, p);
	fputs(s->bind_exact ? "\n" : " (upper bound: ip_autobind_reuse)\n", f);
	if (p == EPH_TCP) {
		pressure_line(f, "connect", s->connect_bp, width);
		predicts_connect(f, s);
		fprintf(f, "%s; new destination %s\n",
			s->owners_exact ? ""
			: s->source == EPH_SOURCE_PROCFS
			    ? " (lower bound: /proc)"
			    : " (lower bound: netlink)",
			pct(s->connect_new_bp, c, sizeof(c)));
	}
	if (o) {
		double secs = (double)(cur->at_us - prev->at_us) / 1e6;
		int64_t du = (int64_t)s->ports_in_use - o->ports_in_use;

		fprintf(f,
			"     trend over %.2f s: ports in use %+lld (%+.2f/s)",
			secs, (long long)du, secs > 0 ? (double)du / secs : 0);
		fputs(", pressure ", f);
		delta_bp(f, (int64_t)s->pressure_bp - o->pressure_bp, secs);
		fputs(", bind ", f);
		delta_bp(f, (int64_t)s->bind_bp - o->bind_bp, secs);
		if (p == EPH_TCP) {
			fputs(", connect ", f);
			delta_bp(f, (int64_t)s->connect_bp - o->connect_bp,
				 secs);
		}
		fputc('\n', f);
	} else {
		fputs("     trend: from the next refresh\n", f);
	}
	n = s->n_top < EPH_TOP_MAX ? s->n_top : EPH_TOP_MAX;
	memcpy(top, s->top, n * sizeof(top[0]));
	qsort(top, n, sizeof(top[0]), by_connect);
	if (n > w->top_n)
		n = w->top_n;
	if (!w->top_n)
		return;
	if (!n) {
		fputs("     busiest destinations: none\n", f);
		return;
	}
	fprintf(f, "     busiest destinations (%u of %llu%s) by %s:\n", n,
		(unsigned long long)s->destinations,
		s->dest_overflow ? "+" : "",
		p == EPH_TCP ? "connect pressure" : "sockets");
	if (p == EPH_TCP)
		fprintf(f, "     %8s %8s %8s  %s\n", "connect", "sockets", "tw",
			"local -> remote:port");
	else
		fprintf(f, "     %8s  %s\n", "sockets", "local -> remote:port");
	for (unsigned i = 0; i < n; i++) {
		const struct eph_dest *t = &top[i];

		if (p == EPH_TCP)
			fprintf(f, "     %8s %8u %8u",
				pct(t->connect_bp, c, sizeof(c)), t->sockets,
				t->time_wait);
		else
			fprintf(f, "     %8u", t->sockets);
		fprintf(f, "  %s -> %s\n",
			eph_addr_format(&t->laddr, a, sizeof(a)),
			eph_endpoint(&t->raddr, t->rport, b, sizeof(b)));
	}
}

static const struct sample *find_prev(const struct watch *w,
				      const struct sample *s)
{
	for (size_t i = 0; i < w->n_prev; i++)
		if (w->prev[i].ns.inode == s->ns.inode &&
		    w->prev[i].ns.dev == s->ns.dev)
			return &w->prev[i];
	return NULL;
}

/* Names come from containers and ip netns: no control characters. */
static void safe_name(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void render(FILE *f, const struct watch *w)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	fprintf(f, "ephport %s", PACKAGE_VERSION);
	if (w->have_host) {
		fputs(" on ", f);
		safe_name(f, w->host.hostname);
	}
	fprintf(f, ": %s, refresh %lu every %u.%03u s", when, w->refresh,
		w->interval_ms / 1000, w->interval_ms % 1000);
	if (w->n_cur)
		fprintf(f, ", source %s",
			eph_source_name(w->cur[0].snap.source));
	fputc('\n', f);
	if (w->error[0])
		fprintf(f, "refresh failed: %s\n", w->error);
	for (size_t i = 0; i < w->n_cur; i++) {
		const struct sample *s = &w->cur[i];
		const struct sample *pv = find_prev(w, s);
		bool first = true;

		if (w->o->spec || w->o->all) {
			fputs("\n=== netns ", f);
			safe_name(f, eph_ns_display_name(&s->ns));
			fprintf(f, " (inode %llu, %s) ===\n",
				(unsigned long long)s->ns.inode,
				eph_ns_kind_name(s->ns.kind));
		}
		for (int p = 0; p < EPH_PROTO_COUNT; p++) {
			if (!s->snap.proto[p].collected)
				continue;
			fputs(first && !(w->o->spec || w->o->all) ? "\n" : "",
			      f);
			if (!first)
				fputc('\n', f);
			first = false;
			proto_block(f, w, (enum eph_proto)p, s, pv);
		}
	}
}

/* Write a frame: on a terminal from home on a cleared screen, each line
 * cut to the width and the frame to the height. */
static int emit(const struct watch *w, const char *buf, size_t len)
{
	struct winsize ws = {0};
	unsigned cols = 80, rows = 24, lines = 0, line = 0, col = 0;
	FILE *out = stdout;

	if (!w->tty) {
		fwrite(buf, 1, len, out);
		fputc('\n', out);
		return fflush(out) == 0 && !ferror(out) ? 0 : -1;
	}
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col &&
	    ws.ws_row) {
		cols = ws.ws_col;
		rows = ws.ws_row;
	}
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	fputs(ESC_HOME ESC_CLEAR, out);
	for (size_t i = 0; i < len; i++) {
		if (line + 1 == rows && lines > rows) {
			/* More than the screen holds. */
			fprintf(out,
				"... %u more lines (a taller terminal, "
				"--top, --protocol)",
				lines - line);
			break;
		}
		if (buf[i] == '\n') {
			if (++line >= rows)
				break;
			/* The last line without a newline: no scrolling. */
			if (i + 1 < len)
				fputs("\r\n", out);
			col = 0;
			continue;
		}
		if (col++ < cols)
			fputc(buf[i], out);
	}
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

static void collector_says(struct watch *w, const char *what, int err)
{
	const char *why = eph_collector_error(w->c);

	snprintf(w->error, sizeof(w->error), "%s%s%s", what, *what ? ": " : "",
		 *why ? why : strerror(-err));
}

/* One refresh into w->cur.  0, or -1 with w->error set. */
static int collect(struct watch *w)
{
	size_t n = 1;
	int err;

	w->error[0] = '\0';
	if (w->o->all) {
		err = eph_netns_list(w->cfg.proc_root, NULL, w->list,
				     EPH_NETNS_MAX, &n);
		if (err < 0 && err != -ENOSPC) {
			snprintf(w->error, sizeof(w->error),
				 "cannot list the network namespaces: %s",
				 strerror(-err));
			return -1;
		}
	}
	w->n_cur = 0;
	for (size_t i = 0; i < n; i++) {
		struct sample *s = &w->cur[w->n_cur];

		if (w->o->spec || w->o->all)
			err = eph_collect_in(w->c, &w->list[i], &s->snap);
		else
			err = eph_collect(w->c, &s->snap);
		s->at_us = eph_mono_us();
		if (err == 0) {
			if (w->o->spec || w->o->all)
				s->ns = w->list[i];
			else
				memset(&s->ns, 0, sizeof(s->ns));
			w->n_cur++;
			continue;
		}
		if (err == -EPERM) {
			snprintf(w->error, sizeof(w->error),
				 "%s needs CAP_SYS_ADMIN to enter other "
				 "network namespaces (setns()); run it as "
				 "root or give it that capability",
				 w->o->all ? "--all-namespaces" : "--netns");
			return -1;
		}
		if (w->o->all && w->list[i].kind != EPH_NS_SELF) {
			if (w->o->verbose && !w->tty)
				fprintf(stderr,
					"ephport: skipped: netns %s: %s\n",
					eph_ns_display_name(&w->list[i]),
					strerror(-err));
			continue; /* gone since it was listed */
		}
		collector_says(w, "", err);
		return -1;
	}
	return 0;
}

static void swap_samples(struct watch *w)
{
	struct sample *t = w->prev;

	w->prev = w->cur;
	w->n_prev = w->n_cur;
	w->cur = t;
	w->n_cur = 0;
}

static void restore_tty(void)
{
	fputs(ESC_SHOW ESC_ALT_OFF, stdout);
	fflush(stdout);
}

/* Render and write the current frame; 0 or -1 (stdout failed). */
static int show(struct watch *w)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int r;

	if (!m)
		return -1;
	render(m, w);
	if (fclose(m) != 0) {
		free(buf);
		return -1;
	}
	r = emit(w, buf, len);
	free(buf);
	return r;
}

int eph_watch_run(const struct eph_config *cfg, const struct eph_cli_ns *o,
		  unsigned interval_ms)
{
	struct watch w = {0};
	struct sigaction sa = {0};
	sigset_t block, orig;
	int64_t next;
	int status = 1;

	w.o = o;
	w.cfg = *cfg;
	w.top_n = cfg->top_n;
	/* Every destination the snapshot can carry: the busiest by connect
	 * pressure need not be the busiest by sockets. */
	w.cfg.top_n = EPH_TOP_MAX;
	w.interval_ms = interval_ms;
	w.tty = isatty(STDOUT_FILENO) == 1;
	w.cap = o->all ? EPH_NETNS_MAX : 1;
	w.list = calloc(w.cap, sizeof(*w.list));
	w.cur = calloc(w.cap, sizeof(*w.cur));
	w.prev = calloc(w.cap, sizeof(*w.prev));
	if (!w.list || !w.cur || !w.prev) {
		fprintf(stderr, "ephport: out of memory\n");
		goto out;
	}
	if (o->spec) {
		int err =
		    eph_netns_resolve(cfg->proc_root, NULL, o->spec, w.list);

		if (err < 0) {
			fprintf(stderr, "ephport: --netns: '%s' %s\n", o->spec,
				err == -ENOENT || err == -EINVAL
				    ? "is no network namespace (an ip netns "
				      "name, a PID, a path to a namespace "
				      "file or a name --all-namespaces "
				      "lists)"
				    : strerror(-err));
			status = err == -ENOENT || err == -EINVAL ? 2 : 1;
			goto out;
		}
	}
	w.c = eph_collector_new(&w.cfg);
	if (!w.c) {
		fprintf(stderr, "ephport: cannot set up the collector: %s\n",
			strerror(errno));
		goto out;
	}
	w.have_host = eph_host_read(&w.host) == 0;

	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGWINCH);
	sigprocmask(SIG_BLOCK, &block, &orig);

	/* The first collection fails as the one-shot command does. */
	if (collect(&w) < 0) {
		fprintf(stderr, "ephport: %s\n", w.error);
		goto out_sig;
	}
	w.refresh = 1;
	if (w.tty)
		fputs(ESC_ALT_ON ESC_HIDE, stdout);
	next = eph_mono_us() + (int64_t)interval_ms * 1000;
	status = 0;
	if (show(&w) < 0)
		goto write_failed;
	while (!stop_sig) {
		int64_t left = next - eph_mono_us();
		struct timespec ts;

		if (left > 0) {
			ts.tv_sec = (time_t)(left / 1000000);
			ts.tv_nsec = (long)(left % 1000000) * 1000;
			if (ppoll(NULL, 0, &ts, &orig) < 0 && errno == EINTR) {
				if (winch && !stop_sig) {
					winch = 0;
					if (w.tty && show(&w) < 0)
						goto write_failed;
				}
				continue;
			}
		}
		/* Late (a slow collection, a stopped process): the next
		 * refresh is one interval from now, not a burst. */
		next += (int64_t)interval_ms * 1000;
		if (next < eph_mono_us())
			next = eph_mono_us() + (int64_t)interval_ms * 1000;
		swap_samples(&w);
		w.refresh++;
		if (collect(&w) < 0) {
			/* Keep the last numbers on screen, say why; the
			 * trend stays against the refresh before them. */
			struct sample *t = w.cur;

			if (!w.tty)
				fprintf(stderr, "ephport: %s\n", w.error);
			w.cur = w.prev;
			w.n_cur = w.n_prev;
			w.prev = t;
			w.n_prev = 0;
		}
		if (show(&w) < 0)
			goto write_failed;
	}
	goto done;
write_failed:
	if (errno != EPIPE)
		fprintf(stderr, "ephport: writing output: %s\n",
			strerror(errno));
	status = 1;
done:
	if (w.tty)
		restore_tty();
out_sig:
	sigprocmask(SIG_SETMASK, &orig, NULL);
out:
	eph_collector_free(w.c);
	free(w.list);
	free(w.cur);
	free(w.prev);
	return status;
}
