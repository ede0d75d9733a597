/*
 * The payload reader alone, for make bench: reads stream-json from
 * standard input in 64 KiB pieces, as attempt.c does from the CLI's
 * pipe, writes each piece to a spool (an unlinked file in TMPDIR) and
 * feeds it, then judges. Prints the outcome's name; exit 0 when ok.
 * Compared with `cat FILE > /dev/null` it gives the reader's speed.
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "payload.h"
#include "status.h"

int
main(void)
{
	static char buf[65536];
	struct payload *p = payload_new(PL_STREAM, NULL, NULL);
	struct pl_end end = { .exited = true, .exit_code = 0 };
	struct verdict v;
	char tmpl[] = "/tmp/read_stream.XXXXXX";
	int spool = mkstemp(tmpl);
	ssize_t n;

	if (p == NULL || spool == -1)
		err(2, "setup");
	(void)unlink(tmpl);
	payload_set_spool(p, spool);
	for (;;) {
		if ((n = read(0, buf, sizeof(buf))) < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err(2, "read");
		if (n == 0)
			break;
		if (write(spool, buf, (size_t)n) != n)
			err(2, "spool");
		if (payload_feed(p, buf, (size_t)n) == -1)
			err(2, "payload_feed");
	}
	payload_judge(p, &end, &v);
	printf("%d %s\n", (int)v.oc, v.detail);
	payload_free(p);
	return v.oc == OC_OK ? 0 : 1;
}
