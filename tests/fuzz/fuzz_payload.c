/*
 * libFuzzer harness for lib/payload.c and the judging it hands to
 * lib/judge.c (scripts/fuzz.sh). Every input is fed through each of the
 * three formats twice, once whole and once in
 * chunks whose sizes are drawn from the input itself, and each payload is
 * judged as every kind of ending. stream-json is fed twice more, in other
 * chunks, through a spool (a memfd, each chunk written before it is fed):
 * once with every line and result string read back from the spool
 * instead of held, once with limits drawn from the input, so that some
 * are held and some not. Every line is read by the one scanner
 * (jscan.c): held, from memory in one piece, with its result kept whole;
 * read back, from the spool in 64 KiB pieces, with strings cut to their
 * heads. Those must judge alike, as must any chunking.
 * Besides what the sanitizers catch, it aborts when chunking or the spool
 * changes a verdict, the events or the result text, when a hook's line is
 * not the input's bytes at its offset, when judging twice disagrees, or
 * when a verdict breaks the contract (ok without a result, a timeout
 * judged as anything else when no result was read).
 *
 * Built with -DFUZZ_REPLAY_MAIN it is instead a plain program that runs
 * each file (or each file of each directory) named on its command line
 * through the same checks once: the corpus as a regression test, no
 * clang needed.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	CHECK(ev->line_size > 0);
	/* A line read back from the spool is not handed over. */
	CHECK(ev->line != NULL ? ev->line_len == ev->line_size :
	    ev->line_len == 0);
	CHECK(ev->line_off >= 0 && (size_t)ev->line_off <= s->size);
	CHECK(ev->line_size <= s->size - (size_t)ev->line_off);
	CHECK(ev->line == NULL ||
	    memcmp(ev->line, s->data + ev->line_off, ev->line_len) == 0);
	s->events++;
	mix(&s->sum, (uint64_t)ev->kind);
	mix(&s->sum, (uint64_t)ev->line_off);
	mix(&s->sum, ev->line_size);
	mix_str(&s->sum, ev->model);
	mix_str(&s->sum, ev->session);
	mix_str(&s->sum, ev->from_model);
	mix_str(&s->sum, ev->error);
	mix_str(&s->sum, ev->limit_status);
	mix_str(&s->sum, ev->tool);
	mix_str(&s->sum, ev->skill);
	mix_str(&s->sum, ev->msg_id);
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

/* Feeds data in chunks of sizes drawn from seed; to the spool first. */
static void
feed_chunks(struct payload *p, int spool, const uint8_t *data, size_t size,
    uint64_t *seed)
{
	size_t i, n;

	for (i = 0; i < size; i += n) {
		unsigned bits = (unsigned)(rng(seed) % 11);

		n = (size_t)(rng(seed) % ((uint64_t)1 << bits)) + 1;
		if (n > size - i)
			n = size - i;
		if (spool != -1)
			CHECK(pwrite(spool, data + i, n, (off_t)i) == (ssize_t)n);
		CHECK(payload_feed(p, (const char *)data + i, n) == 0);
	}
}

/* What payload_write_result wrote, in a fresh buffer; its size in *n. */
static char *
written_result(const struct payload *p, size_t *n, bool *ends_nl)
{
	int fd = memfd_create("fuzz_result", MFD_CLOEXEC);
	off_t end;
	char *b;

	CHECK(fd != -1);
	CHECK(payload_write_result(p, fd, ends_nl) == 0);
	CHECK((end = lseek(fd, 0, SEEK_END)) >= 0);
	*n = (size_t)end;
	CHECK((b = malloc(*n + 1)) != NULL);
	CHECK(pread(fd, b, *n, 0) == (ssize_t)*n);
	b[*n] = '\0';
	close(fd);
	return b;
}

/*
 * The result text, as held (t, up to cJSON's NUL) and as written, held
 * or read back from the spool (all of it, NULs included).
 */
static void
same_text(const char *t, size_t len, const struct payload *p)
{
	size_t n;
	bool nl;
	char *w = written_result(p, &n, &nl);

	if (t == NULL)
		CHECK(n == 0);
	else
		CHECK(n >= len && memcmp(w, t, len) == 0 &&
		    (n == len || w[len] == '\0'));
	CHECK(nl == (n > 0 && w[n - 1] == '\n'));
	free(w);
}

/*
 * stream-json through a spool, lines longer than line_hold and result
 * strings longer than str_hold not held: judged as the held payload
 * `whole` was, with the same events and result. A result `whole` could
 * not hold (it has a NUL, which cJSON's copy would end at) is written
 * from the spool only: then what is written must be ref's, another
 * spooled reading's (NULL: this is the first; *got: what was written).
 */
/*
 * With own, the payload writes its spool itself, the lines it does not
 * hold only (payload_own_spool, as for text delivery).
 */
static void
spooled(const struct payload *whole, const struct seen *sw,
    const struct verdict *want, const uint8_t *data, size_t size,
    size_t line_hold, size_t str_hold, bool own, uint64_t seed,
    const char *ref, size_t ref_len, char **got, size_t *got_len)
{
	bool nl;
	static const struct pl_end end = { .exited = true, .exit_code = 0 };
	struct seen ss = { data, size, 0, 0 };
	struct payload *p = payload_new(PL_STREAM, hook, &ss);
	int spool = memfd_create("fuzz_spool", MFD_CLOEXEC);
	struct verdict v;
	const char *t;
	size_t len;

	CHECK(p != NULL && spool != -1);
	if (own)
		payload_own_spool(p);
	else
		payload_set_spool(p, spool);
	payload_set_limits(p, line_hold, str_hold);
	feed_chunks(p, own ? -1 : spool, data, size, &seed);
	payload_judge(p, &end, &v);
	same(want, &v);
	CHECK(sw->events == ss.events && sw->sum == ss.sum);
	t = payload_result_text(whole, &len);
	if (t != NULL || payload_result_text(p, NULL) != NULL) {
		same_text(t, len, p);
		same_text(t, len, whole);
	}
	*got = written_result(p, got_len, &nl);
	if (ref != NULL)
		CHECK(*got_len == ref_len && memcmp(*got, ref, ref_len) == 0);
	payload_free(p);
	close(spool);
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
	char *w1, *w2;
	size_t len, i, n1, n2;

	CHECK(whole != NULL && chunked != NULL);
	/* Every line through cJSON: the others pass lines over by type. */
	payload_set_thorough(whole);
	if (size > 0)
		CHECK(payload_feed(whole, (const char *)data, size) == 0);
	feed_chunks(chunked, -1, data, size, &seed);
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		payload_judge(whole, &ends[i], &a);
		payload_judge(chunked, &ends[i], &b);
		payload_judge(whole, &ends[i], &c);
		sane(fmt, &ends[i], &a, data, size);
		same(&a, &b);
		same(&a, &c);
	}
	CHECK(sw.events == sc.events && sw.sum == sc.sum);
	if (fmt == PL_STREAM) {
		/* Judged as exit 0 last: the verdict to compare with. */
		payload_judge(whole, &ends[0], &a);
		/* Every line read back, then some lines and strings held. */
		spooled(whole, &sw, &a, data, size, 1, 1, false, seed, NULL,
		    0, &w1, &n1);
		spooled(whole, &sw, &a, data, size,
		    (size_t)(rng(&seed) % 200) + 1,
		    (size_t)(rng(&seed) % 40) + 1, false, seed, w1, n1, &w2,
		    &n2);
		free(w2);
		/* The sparse spool: only the lines not held are written. */
		spooled(whole, &sw, &a, data, size,
		    (size_t)(rng(&seed) % 200) + 1,
		    (size_t)(rng(&seed) % 40) + 1, true, seed, w1, n1, &w2,
		    &n2);
		free(w1);
		free(w2);
	}
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
