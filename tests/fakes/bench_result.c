/*
 * A fake `claude` for the benchmark: prints a fixed stream-json init and
 * result at once, in one write, and exits 0. Smaller than fakeclaude, so
 * the time measured is the wrapper's, not the fake's.
 */
#include <string.h>
#include <unistd.h>

static const char out[] =
    "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-1\","
    "\"model\":\"bench-model\"}\n"
    "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
    "\"result\":\"hello\",\"session_id\":\"s-1\",\"num_turns\":1,"
    "\"total_cost_usd\":0.001,\"usage\":{\"input_tokens\":5,"
    "\"output_tokens\":12,\"cache_read_input_tokens\":0,"
    "\"cache_creation_input_tokens\":0},\"modelUsage\":{\"bench-model\":"
    "{\"outputTokens\":12}}}\n";

int
main(void)
{
	return write(1, out, sizeof(out) - 1) == (ssize_t)(sizeof(out) - 1) ?
	    0 : 1;
}
