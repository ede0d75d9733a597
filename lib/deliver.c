#include "deliver.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

/*
 * Text mode: `result`, plus a newline unless it already ends with one.
 * A long result comes decoded from the spool, so memory stays flat.
 */
static int
deliver_text(const struct attempt_res *res, int fd)
{
	bool ends_nl;

	if (payload_write_result(res->pl, fd, &ends_nl) == -1)
		return -1;
	return ends_nl ? 0 : io_write_all(fd, "\n", 1);
}

/*
 * json mode with --verbose (or verbose in the user's settings) prints one
 * array of every event: "[" + the stream's lines joined by "," + "]\n".
 * Built from the spool as it streams by, so memory stays flat.
 */
static int
deliver_json_array(const struct attempt_res *res, int fd)
{
	char in[65536], out[65536 + 1];
	off_t off = 0;
	bool first = true, pending = false;

	if (io_write_all(fd, "[", 1) == -1)
		return -1;
	while (off < res->out_bytes) {
		ssize_t n = pread(res->spool_fd, in, sizeof(in), off);
		size_t k = 0;
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0)
				errno = EIO;
			return -1;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (in[i] == '\n') {
				pending = !first;
				continue;
			}
			if (pending)
				out[k++] = ',';
			pending = false;
			first = false;
			out[k++] = in[i];
			if (k >= sizeof(out) - 1) {
				if (io_write_all(fd, out, k) == -1)
					return -1;
				k = 0;
			}
		}
		if (io_write_all(fd, out, k) == -1)
			return -1;
		off += n;
	}
	return io_write_all(fd, "]\n", 2);
}

int
deliver_fd(const struct attempt_res *res, const struct cliargs *ca,
    bool passthrough, int fd)
{
	if (passthrough || ca->user_format == PL_STREAM)
		return io_copy(res->spool_fd, 0, res->out_bytes, fd);
	if (ca->user_format == PL_TEXT)
		return deliver_text(res, fd);
	if (ca->user_verbose)
		return deliver_json_array(res, fd);
	/* json: the result line is the object json mode prints. */
	if (io_copy(res->spool_fd, res->v.result_off,
	    (off_t)res->v.result_len, fd) == -1)
		return -1;
	return io_write_all(fd, "\n", 1);
}
