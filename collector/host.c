/* host.c - host facts (hostname, OS name and release) via libstatgrab. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <statgrab.h>

#include "ephport.h"

int eph_host_read(struct eph_host *h)
{
	sg_host_info *info;
	size_t n = 0;

	memset(h, 0, sizeof(*h));
	/* sg_init() is reference counted; the matching sg_shutdown() keeps
	 * long-running callers from holding libstatgrab state. */
	if (sg_init(0) != SG_ERROR_NONE)
		return -EIO;
	info = sg_get_host_info_r(&n);
	if (!info || n == 0) {
		sg_shutdown();
		return -EIO;
	}
	snprintf(h->hostname, sizeof(h->hostname), "%s",
		 info->hostname ? info->hostname : "");
	snprintf(h->os_name, sizeof(h->os_name), "%s",
		 info->os_name ? info->os_name : "");
	snprintf(h->os_release, sizeof(h->os_release), "%s",
		 info->os_release ? info->os_release : "");
	sg_free_host_info(info);
	sg_shutdown();
	return 0;
}
