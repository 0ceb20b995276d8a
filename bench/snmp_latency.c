/*
 * snmp_latency - time N SNMP GET (or GETNEXT) requests against an agent,
 * one at a time on one session, and print the distribution as JSON.
 *   snmp_latency HOST:PORT COMMUNITY N SPACING_US OID [next]
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	netsnmp_session base, *ss;
	oid name[MAX_OID_LEN];
	size_t name_len = MAX_OID_LEN;
	int n, spacing, next, errors = 0;
	double *lat;

	if (argc < 6) {
		fprintf(stderr, "usage: snmp_latency HOST:PORT COMMUNITY N "
				"SPACING_US OID [next]\n");
		return 2;
	}
	n = atoi(argv[3]);
	spacing = atoi(argv[4]);
	next = argc > 6 && strcmp(argv[6], "next") == 0;
	lat = calloc((size_t)n, sizeof(*lat));
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	setenv("MIBS", "", 1);
	init_snmp("snmp_latency");
	if (!read_objid(argv[5], name, &name_len)) {
		fprintf(stderr, "snmp_latency: bad OID %s\n", argv[5]);
		return 2;
	}
	snmp_sess_init(&base);
	base.peername = argv[1];
	base.version = SNMP_VERSION_2c;
	base.community = (u_char *)argv[2];
	base.community_len = strlen(argv[2]);
	base.timeout = 2000000;
	base.retries = 0;
	ss = snmp_open(&base);
	if (!ss) {
		snmp_perror("snmp_open");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		netsnmp_pdu *pdu =
		    snmp_pdu_create(next ? SNMP_MSG_GETNEXT : SNMP_MSG_GET);
		netsnmp_pdu *resp = NULL;
		double t0;
		int status;

		snmp_add_null_var(pdu, name, name_len);
		t0 = now_us();
		status = snmp_synch_response(ss, pdu, &resp);
		lat[i] = now_us() - t0;
		if (status != STAT_SUCCESS || !resp ||
		    resp->errstat != SNMP_ERR_NOERROR ||
		    resp->variables->type == SNMP_NOSUCHOBJECT ||
		    resp->variables->type == SNMP_NOSUCHINSTANCE ||
		    resp->variables->type == SNMP_ENDOFMIBVIEW)
			errors++;
		if (resp)
			snmp_free_pdu(resp);
		if (spacing > 0)
			usleep((useconds_t)spacing);
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("{\"n\": %d, \"errors\": %d, \"median_us\": %.0f, \"p99_us\": "
	       "%.0f, "
	       "\"max_us\": %.0f, \"min_us\": %.0f}\n",
	       n, errors, lat[n / 2], lat[(n * 99) / 100], lat[n - 1], lat[0]);
	snmp_close(ss);
	free(lat);
	return errors ? 1 : 0;
}
