/* output.h - the ephport command's output formats. */
#ifndef EPH_CLI_OUTPUT_H
#define EPH_CLI_OUTPUT_H

#include <stdio.h>

#include "ephport.h"

struct eph_report {
	const struct eph_snapshot *snap;
	const struct eph_host *host; /* NULL when libstatgrab failed */
	unsigned top_n;
};

void eph_print_text(FILE *f, const struct eph_report *r);
void eph_print_json(FILE *f, const struct eph_report *r);
void eph_print_prometheus(FILE *f, const struct eph_report *r);
/* `ephport check`: prints the status line, returns 0, 1 or 2. */
int eph_print_check(FILE *f, const struct eph_snapshot *s, uint32_t warn_bp,
		    uint32_t crit_bp);

#endif
