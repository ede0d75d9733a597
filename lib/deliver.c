#include "deliver.h"

#include <string.h>

#include "io.h"

/* Text mode: `result`, plus a newline unless it already ends with one. */
static int
deliver_text(const struct attempt_res *res, int fd)
{
	size_t len = 0;
	const char *text = payload_result_text(res->pl, &len);

	if (text == NULL)
		text = "";
	if (io_write_all(fd, text, len) == -1)
		return -1;
	if (len == 0 || text[len - 1] != '\n')
		return io_write_all(fd, "\n", 1);
	return 0;
}

int
deliver_fd(const struct attempt_res *res, const struct cliargs *ca,
    bool passthrough, int fd)
{
	if (passthrough || ca->user_format == PL_STREAM)
		return io_copy(res->spool_fd, 0, res->out_bytes, fd);
	if (ca->user_format == PL_TEXT)
		return deliver_text(res, fd);
	/* json: the result line is the object json mode prints. */
	if (io_copy(res->spool_fd, res->v.result_off,
	    (off_t)res->v.result_len, fd) == -1)
		return -1;
	return io_write_all(fd, "\n", 1);
}
