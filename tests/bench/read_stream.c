/*
 * The payload reader alone, for make bench: reads stream-json from
 * standard input in 64 KiB pieces, as attempt.c does from the CLI's
 * pipe, and feeds them, then judges; as for text delivery, payload
 * spools only the lines it does not hold. Prints the outcome's number
 * and detail; exit 0 when ok. Compared with `cat FILE > /dev/null` it
 * gives the reader's speed.
 *
 * With -h, the cost of a line alone: the whole lines of the first 64 KiB
 * of standard input are fed REPS times (4096) from memory that stays in
 * the cache, and the best of 7 rounds is printed in ns a line. Unlike a
 * pipe, it varies by a nanosecond or two from run to run, so it shows
 * what a change to the reader does (BENCHMARKS.md: flat events must take
 * about 100 ns for the stream read to keep up with cat).
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_ev.h"
#include "payload.h"
#include "status.h"

#define ROUNDS	7

static void
count_event(void *ctx, const struct pl_event *ev)
{
	(void)ev;
	(*(size_t *)ctx)++;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The first size bytes of standard input, cut after its last newline. */
static size_t
read_piece(char *buf, size_t size)
{
	size_t n = 0, k;

	while (n < size && (k = ev_read_some(buf + n, size - n)) > 0)
		n += k;
	while (n > 0 && buf[n - 1] != '\n')
		n--;
	return n;
}

static int
hot(long reps)
{
	static char buf[65536];
	size_t n = read_piece(buf, sizeof(buf)), lines = 0, events = 0;
	double best = 0;

	for (size_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	if (lines == 0)
		errx(2, "no whole line in the first 64 KiB");
	for (int r = 0; r < ROUNDS; r++) {
		struct payload *p = payload_new(PL_STREAM, count_event, &events);
		double t0, ns;

		if (p == NULL)
			err(2, "setup");
		t0 = now_ns();
		for (long i = 0; i < reps; i++)
			if (payload_feed(p, buf, n) == -1)
				err(2, "payload_feed");
		ns = (now_ns() - t0) / ((double)lines * (double)reps);
		if (r == 0 || ns < best)
			best = ns;
		payload_free(p);
	}
	if (events == 0)
		errx(2, "no line was an event");
	printf("%.1f ns a line (%zu lines of %zu bytes, best of %d rounds)\n",
	    best, lines, n, ROUNDS);
	return 0;
}

int
main(int argc, char **argv)
{
	static char buf[65536];
	struct payload *p;
	struct pl_end end = { .exited = true, .exit_code = 0 };
	struct verdict v;
	size_t n;

	if (argc >= 2 && strcmp(argv[1], "-h") == 0)
		return hot(argc >= 3 ? atol(argv[2]) : 4096);
	if ((p = payload_new(PL_STREAM, NULL, NULL)) == NULL)
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
