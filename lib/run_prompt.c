/*
 * The prompt of a run: the CLI's positional arguments and stdin, read
 * once into a spool file that every attempt is given, and hashed; the
 * prompt itself is never logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "hash.h"
#include "io.h"
#include "run_int.h"
#include "spool.h"

#define STDIN_SILENT_MS	3000	/* the CLI's own wait for a first byte */

/* What the CLI gets for stdin when there is nothing to replay. */
static int
stdin_null(struct run *r)
{
	r->pr.stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return r->pr.stdin_fd == -1 ? -1 : 0;
}

/*
 * stdin is read once, if it is not a terminal, and replayed to every
 * attempt; an empty one is /dev/null. A terminal is not handed on: the
 * CLI would wait on it. As the CLI does, a stdin that says nothing for
 * STDIN_SILENT_MS (ssh without -n, docker exec -i, a parent's unused
 * pipe) is given up; once bytes flow, reading stops only at EOF, a
 * signal or the attempt's time limit.
 */
static int
read_stdin(struct run *r, struct hash *h)
{
	char buf[65536];
	int64_t limit = r->o->timeout_ms, t0 = clock_mono_ms();
	int64_t end = limit > 0 ? t0 + limit : 0;

	if (isatty(STDIN_FILENO) || fcntl(STDIN_FILENO, F_GETFD) == -1)
		return stdin_null(r);
	for (;;) {
		struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
		    { .fd = r->sigfd, .events = POLLIN } };
		int64_t left = end ? end - clock_mono_ms() : -1;
		ssize_t n;

		if (r->pr.stdin_fd == -1) {
			int64_t quiet = t0 + STDIN_SILENT_MS - clock_mono_ms();
			if (quiet <= 0 || (end && left <= 0))
				return stdin_null(r);
			if (left < 0 || quiet < left)
				left = quiet;
		} else if (end && left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(p, 2, left > INT_MAX ? INT_MAX : (int)left) < 0 &&
		    errno != EINTR)
			return -1;
		if (p[1].revents != 0 && (r->sig = pending_signal(r)) != 0)
			return -1;
		if (p[0].revents == 0)
			continue;
		if ((n = read(STDIN_FILENO, buf, sizeof(buf))) == 0)
			return r->pr.stdin_fd != -1 ? 0 : stdin_null(r);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		/* Made at the first byte: an empty stdin costs no file. */
		if (r->pr.stdin_fd == -1 &&
		    (r->pr.stdin_fd = spool_open()) == -1)
			return -1;
		if (io_write_all(r->pr.stdin_fd, buf, (size_t)n) == -1)
			return -1;
		hash_update(h, buf, (size_t)n);
		r->pr.bytes += (uint64_t)n;
	}
}

/* The prompt: positional arguments, then stdin; hashed, never logged. */
int
run_take_prompt(struct run *r)
{
	struct hash *h = hash_new();
	int rc;

	if (h == NULL)
		return -1;
	for (int i = 0; i < r->ca.nprompt; i++)
		hash_update(h, r->ca.prompt[i], strlen(r->ca.prompt[i]));
	r->pr.bytes = r->ca.prompt_bytes;
	rc = read_stdin(r, h);
	hash_end(h, r->pr.sha);
	r->pr.sha[12] = '\0';
	return rc;
}
