/*
 * libFuzzer harness for lib/payload.c (scripts/fuzz.sh). Every input is
 * fed through each of the three formats twice, once whole and once in
 * chunks whose sizes are drawn from the input itself, and each payload is
 * judged as every kind of ending. Besides what the sanitizers catch, it
 * aborts when chunking changes a verdict or the events, when a hook's line
 * is not the input's bytes at its offset, when judging twice disagrees, or
 * when a verdict breaks the contract (ok without a result, a timeout
 * judged as anything else when no result was read).
 *
 * Built with -DFUZZ_REPLAY_MAIN it is instead a plain program that runs
 * each file (or each file of each directory) named on its command line
 * through the same checks once: the corpus as a regression test, no
 * clang needed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "status.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct seen {
	const uint8_t	*data;
	size_t		 size;
	int		 events;
	uint64_t	 sum;		/* a digest of everything the hook got */
};

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_payload: check failed: %s (line %d)\n", \
		    #cond, __LINE__);					\
		abort();						\
	}								\
} while (0)

static void
mix(uint64_t *h, uint64_t v)
{
	*h = (*h ^ v) * UINT64_C(0x100000001b3);
}

static void
mix_str(uint64_t *h, const char *s)
{
	if (s == NULL) {
		mix(h, 0x5a);
		return;
	}
	for (; *s != '\0'; s++)
		mix(h, (unsigned char)*s);
	mix(h, 0xa5);
}

/* Reads every pointer it is given: a dangling one is ASan's to catch. */
static void
hook(void *ctx, const struct pl_event *ev)
{
	struct seen *s = ctx;

	CHECK(ev->kind >= PLE_EVENT && ev->kind <= PLE_RESULT);
	CHECK(ev->line != NULL && ev->line_len > 0);
	CHECK(ev->line_off >= 0 && (size_t)ev->line_off <= s->size);
	CHECK(ev->line_len <= s->size - (size_t)ev->line_off);
	CHECK(memcmp(ev->line, s->data + ev->line_off, ev->line_len) == 0);
	s->events++;
	mix(&s->sum, (uint64_t)ev->kind);
	mix(&s->sum, (uint64_t)ev->line_off);
	mix(&s->sum, ev->line_len);
	mix_str(&s->sum, ev->model);
	mix_str(&s->sum, ev->session);
	mix_str(&s->sum, ev->from_model);
	mix_str(&s->sum, ev->error);
	mix_str(&s->sum, ev->limit_status);
	mix_str(&s->sum, ev->tool);
	mix_str(&s->sum, ev->skill);
	mix(&s->sum, (uint64_t)ev->retry_attempt);
	mix(&s->sum, (uint64_t)ev->retry_max);
	mix(&s->sum, (uint64_t)ev->error_status);
	mix(&s->sum, (uint64_t)ev->resets_at);
	/* The caller turns the delay into an integer. */
	CHECK(ev->retry_delay_ms >= 0 && ev->retry_delay_ms <= 1e15);
}

static uint64_t
rng(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static void
same(const struct verdict *a, const struct verdict *b)
{
	CHECK(a->oc == b->oc);
	CHECK(strcmp(a->detail, b->detail) == 0);
	CHECK(a->reset_at == b->reset_at);
	CHECK(a->have_result == b->have_result);
	CHECK(a->result_off == b->result_off);
	CHECK(a->result_len == b->result_len);
	CHECK(a->usage.have == b->usage.have);
	CHECK(strcmp(a->usage.model, b->usage.model) == 0);
	CHECK(strcmp(a->usage.session, b->usage.session) == 0);
	CHECK(a->usage.input_tokens == b->usage.input_tokens);
	CHECK(a->usage.output_tokens == b->usage.output_tokens);
	CHECK(a->usage.cache_read == b->usage.cache_read);
	CHECK(a->usage.cache_creation == b->usage.cache_creation);
	CHECK(a->usage.num_turns == b->usage.num_turns);
}

static void
sane(enum pl_format fmt, const struct pl_end *end, const struct verdict *v,
    const uint8_t *data, size_t size)
{
	CHECK(v->oc >= OC_OK && v->oc < OC__COUNT);
	CHECK(memchr(v->detail, '\0', sizeof(v->detail)) != NULL);
	CHECK(memchr(v->usage.model, '\0', sizeof(v->usage.model)) != NULL);
	CHECK(memchr(v->usage.session, '\0', sizeof(v->usage.session)) != NULL);
	CHECK(v->reset_at >= 0);
	if (v->oc == OC_OK) {
		if (fmt == PL_TEXT)
			CHECK(end->exited && end->exit_code == 0 &&
			    !end->timed_out);
		else
			CHECK(v->have_result);
	}
	if (!v->have_result && end->timed_out)
		CHECK(v->oc == OC_TIMEOUT);
	if (fmt == PL_STREAM && v->have_result) {
		size_t off = (size_t)v->result_off, n = v->result_len;

		CHECK(v->result_off >= 0 && off <= size && n <= size - off &&
		    n > 0);
		/* The exact line: a newline (or the end) follows it. */
		CHECK(off + n == size || data[off + n] == '\n');
		CHECK(off == 0 || data[off - 1] == '\n');
		CHECK(memchr(data + off, '\n', n) == NULL);
	}
	if (fmt != PL_STREAM)
		CHECK(v->result_off == 0 && v->result_len == 0);
}

static void
one_format(enum pl_format fmt, const uint8_t *data, size_t size,
    uint64_t seed)
{
	static const struct pl_end ends[] = {
		{ .exited = true, .exit_code = 0 },
		{ .exited = true, .exit_code = 1 },
		{ .exited = false, .term_sig = 9 },
		{ .exited = false, .term_sig = 9, .timed_out = true },
		{ .exited = true, .exit_code = 143, .timed_out = true },
	};
	struct seen sw = { data, size, 0, 0 }, sc = { data, size, 0, 0 };
	struct payload *whole = payload_new(fmt, hook, &sw);
	struct payload *chunked = payload_new(fmt, hook, &sc);
	struct verdict a, b, c;
	const char *t;
	size_t len, i, n;

	CHECK(whole != NULL && chunked != NULL);
	if (size > 0)
		CHECK(payload_feed(whole, (const char *)data, size) == 0);
	for (i = 0; i < size; i += n) {
		unsigned bits = (unsigned)(rng(&seed) % 11);

		n = (size_t)(rng(&seed) % ((uint64_t)1 << bits)) + 1;
		if (n > size - i)
			n = size - i;
		CHECK(payload_feed(chunked, (const char *)data + i, n) == 0);
	}
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		payload_judge(whole, &ends[i], &a);
		payload_judge(chunked, &ends[i], &b);
		payload_judge(whole, &ends[i], &c);
		sane(fmt, &ends[i], &a, data, size);
		same(&a, &b);
		same(&a, &c);
		CHECK(payload_has_result(whole) == a.have_result ||
		    fmt == PL_TEXT);
	}
	CHECK(sw.events == sc.events && sw.sum == sc.sum);
	len = 12345;
	t = payload_result_text(whole, &len);
	if (t != NULL)
		CHECK(strlen(t) == len && fmt != PL_TEXT);
	else
		CHECK(len == 0);
	payload_free(whole);
	payload_free(chunked);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = UINT64_C(0xcbf29ce484222325);

	/* Chunk sizes come from the input, so a crash replays exactly. */
	for (size_t i = 0; i < size; i++)
		mix(&seed, data[i]);
	seed |= 1;
	one_format(PL_STREAM, data, size, seed);
	one_format(PL_JSON, data, size, seed);
	one_format(PL_TEXT, data, size, seed);
	return 0;
}

#ifdef FUZZ_REPLAY_MAIN
#include <dirent.h>
#include <sys/stat.h>

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	do {
		if (n == cap) {
			uint8_t *nb;

			cap = cap == 0 ? 65536 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				perror("realloc");
				exit(2);
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	if (ferror(f)) {
		perror(path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int
replay(const char *path, int *count)
{
	struct stat st;
	struct dirent **names;
	char sub[4096];
	int n, bad = 0;

	if (stat(path, &st) == -1) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	/* Sorted, so that a failure is found at the same file every time. */
	if ((n = scandir(path, &names, NULL, alphasort)) == -1) {
		perror(path);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' &&
		    snprintf(sub, sizeof(sub), "%s/%s", path,
		    names[i]->d_name) < (int)sizeof(sub) &&
		    replay(sub, count) == -1)
			bad = -1;
		free(names[i]);
	}
	free(names);
	return bad;
}

int
main(int argc, char **argv)
{
	int count = 0, bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (replay(argv[i], &count) == -1)
			bad = 1;
	printf("fuzz_payload: %d inputs replayed\n", count);
	return bad;
}
#endif
