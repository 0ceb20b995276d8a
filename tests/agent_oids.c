/* agent_oids - print "NAME .OID" for every object ephportd serves, for
 * tests/agent-oids.sh to compare with the MIB file. */
#include <stdio.h>

#include "mib.h"

int main(void)
{
	for (size_t i = 0; ephd_objects[i].name; i++) {
		ephd_oid oid[EPHD_OID_MAX];
		size_t n = ephd_object_oid(i, oid);

		printf("%s ", ephd_objects[i].name);
		for (size_t k = 0; k < n; k++)
			printf(".%u", oid[k]);
		putchar('\n');
	}
	return 0;
}
