/*
 * A fake `claude` for the benchmark: one init line, then one result line
 * whose `result` string is BENCH_RESULT_BYTES (default 50 MiB) long, with
 * an escaped newline every 80 bytes. Written in 64 KiB pieces, so the
 * fake itself stays small.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "put.h"

int
main(void)
{
	static char block[65536];
	static const char head[] = "{\"type\":\"system\",\"subtype\":\"init\","
	    "\"session_id\":\"s-1\",\"model\":\"bench-model\"}\n"
	    "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
	    "\"result\":\"";
	static const char tail[] = "\",\"session_id\":\"s-1\",\"num_turns\":1,"
	    "\"total_cost_usd\":0.001,\"usage\":{\"input_tokens\":5,"
	    "\"output_tokens\":12000,\"cache_read_input_tokens\":0,"
	    "\"cache_creation_input_tokens\":0}}\n";
	const char *env = getenv("BENCH_RESULT_BYTES");
	long long want = env != NULL ? atoll(env) : 50LL << 20, done = 0;
	size_t i;

	/* 78 letters and "\n" (two bytes in JSON): 80-byte lines. */
	for (i = 0; i + 80 <= sizeof(block); i += 80) {
		memset(block + i, 'a' + (char)(i / 80 % 26), 78);
		block[i + 78] = '\\';
		block[i + 79] = 'n';
	}
	if (put(head, sizeof(head) - 1) == -1)
		return 1;
	for (; done + (long long)i <= want; done += (long long)i)
		if (put(block, i) == -1)
			return 1;
	if (want > done && put(block, (size_t)(want - done) / 80 * 80) == -1)
		return 1;
	return put(tail, sizeof(tail) - 1) == -1;
}
