/*
 * The payload reader alone, for make bench: reads stream-json from
 * standard input in 64 KiB pieces, as attempt.c does from the CLI's
 * pipe, and feeds them, then judges; as for text delivery, payload
 * spools only the lines it does not hold. Prints the outcome's number
 * and detail; exit 0 when ok. Compared with `cat FILE > /dev/null` it
 * gives the reader's speed.
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_ev.h"
#include "payload.h"
#include "status.h"

int
main(void)
{
	static char buf[65536];
	struct payload *p = payload_new(PL_STREAM, NULL, NULL);
	struct pl_end end = { .exited = true, .exit_code = 0 };
	struct verdict v;
	size_t n;

	if (p == NULL)
		err(2, "setup");
	payload_own_spool(p);
	while ((n = ev_read_some(buf, sizeof(buf))) > 0)
		if (payload_feed(p, buf, n) == -1)
			err(2, "payload_feed");
	payload_judge(p, &end, &v);
	printf("%d %s\n", (int)v.oc, v.detail);
	payload_free(p);
	return v.oc == OC_OK ? 0 : 1;
}
