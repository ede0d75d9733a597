/*
 * A fake `claude` for the benchmark: BENCH_BYTES (default 1 GiB) of
 * stream-json event lines, then a result. By default the lines are
 * assistant text events of about 1 KiB, written from one 64 KiB block;
 * with BENCH_LINE_BYTES=N they are tool results (a `user` event) whose
 * content is N bytes, written in 64 KiB pieces. The fake stays small.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "put.h"

static char block[65536];

/* Small lines: as many whole ones as fit in the block, block after block. */
static long long
small_lines(long long want)
{
	char line[1100], text[801];
	long long done = 0;
	size_t len = 0, n;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	n = (size_t)snprintf(line, sizeof(line), "{\"type\":\"assistant\","
	    "\"message\":{\"id\":\"msg_1\",\"role\":\"assistant\",\"content\":"
	    "[{\"type\":\"text\",\"text\":\"%s\"}],\"usage\":{\"input_tokens\":1,"
	    "\"output_tokens\":2}},\"session_id\":\"s-1\"}\n", text);
	while (len + n <= sizeof(block)) {
		memcpy(block + len, line, n);
		len += n;
	}
	for (; done < want; done += (long long)len)
		if (put(block, len) == -1)
			return -1;
	return done;
}

/* Big lines: a tool result of size bytes each, written piece by piece. */
static long long
big_lines(long long want, long long size)
{
	static const char head[] = "{\"type\":\"user\",\"message\":{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
	    "\"toolu_1\",\"content\":\"";
	static const char tail[] = "\"}]},\"session_id\":\"s-1\"}\n";
	long long done = 0;

	memset(block, 'y', sizeof(block));
	while (done < want) {
		long long left = size;

		if (put(head, sizeof(head) - 1) == -1)
			return -1;
		while (left > 0) {
			size_t k = left < (long long)sizeof(block) ?
			    (size_t)left : sizeof(block);

			if (put(block, k) == -1)
				return -1;
			left -= (long long)k;
		}
		if (put(tail, sizeof(tail) - 1) == -1)
			return -1;
		done += size + (long long)(sizeof(head) + sizeof(tail) - 2);
	}
	return done;
}

int
main(void)
{
	static const char init[] = "{\"type\":\"system\",\"subtype\":"
	    "\"init\",\"session_id\":\"s-1\",\"model\":\"bench-model\"}\n";
	const char *env = getenv("BENCH_BYTES"), *lenv = getenv("BENCH_LINE_BYTES");
	long long want = env != NULL ? atoll(env) : 1LL << 30;
	long long line = lenv != NULL ? atoll(lenv) : 0, done;
	char last[512];
	size_t n;

	if (put(init, sizeof(init) - 1) == -1)
		return 1;
	done = line > 0 ? big_lines(want, line) : small_lines(want);
	if (done < 0)
		return 1;
	n = (size_t)snprintf(last, sizeof(last), "{\"type\":\"result\","
	    "\"subtype\":\"success\",\"is_error\":false,\"result\":\"streamed "
	    "%lld bytes\",\"session_id\":\"s-1\",\"num_turns\":1,"
	    "\"total_cost_usd\":0.001,\"usage\":{\"input_tokens\":5,"
	    "\"output_tokens\":12,\"cache_read_input_tokens\":0,"
	    "\"cache_creation_input_tokens\":0}}\n", done);
	return put(last, n) == -1;
}
