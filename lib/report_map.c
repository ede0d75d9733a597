/*
 * A string map for the report's counts: FNV-1a over the key, linear
 * probing, at most half full; the table grows by doubling, so an add
 * costs O(1) on average however many runs a ledger holds.
 */
#include "report_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t
map_hash(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return (size_t)h;
}

static struct map_ent *
map_find(const struct map *m, const char *key)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	for (i = map_hash(key) & (m->cap - 1); m->e[i].key != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (strcmp(m->e[i].key, key) == 0)
			return &m->e[i];
	return &m->e[i];
}

static int
map_grow(struct map *m)
{
	struct map old = *m;
	struct map_ent *slot;

	m->cap = old.cap == 0 ? 64 : old.cap * 2;
	if ((m->e = calloc(m->cap, sizeof(*m->e))) == NULL) {
		*m = old;
		return -1;
	}
	for (size_t i = 0; i < old.cap; i++) {
		if (old.e[i].key == NULL)
			continue;
		slot = map_find(m, old.e[i].key);
		*slot = old.e[i];
	}
	free(old.e);
	return 0;
}

void *
rmap_get(const struct map *m, const char *key)
{
	struct map_ent *e = map_find(m, key);

	return e != NULL ? e->val : NULL;
}

/* The value under key, created zeroed (size bytes) if new; NULL: ENOMEM. */
void *
rmap_add(struct map *m, const char *key, size_t size)
{
	struct map_ent *e;

	if ((m->n + 1) * 2 > m->cap && map_grow(m) == -1)
		return NULL;
	e = map_find(m, key);
	if (e->key != NULL)
		return e->val;
	if ((e->key = strdup(key)) == NULL)
		return NULL;
	if ((e->val = calloc(1, size)) == NULL) {
		free(e->key);
		e->key = NULL;
		return NULL;
	}
	m->n++;
	return e->val;
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct map_ent *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

struct map_ent **
rmap_entries(const struct map *m)
{
	struct map_ent **v = calloc(m->n + 1, sizeof(struct map_ent *));
	size_t k = 0;

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		if (m->e[i].key != NULL)
			v[k++] = &m->e[i];
	return v;
}

struct map_ent **
rmap_sorted(const struct map *m)
{
	struct map_ent **v = rmap_entries(m);

	if (v != NULL)
		qsort(v, m->n, sizeof(struct map_ent *), ent_cmp);
	return v;
}

void
rmap_free(struct map *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->e[i].key == NULL)
			continue;
		if (free_val != NULL)
			free_val(m->e[i].val);
		free(m->e[i].val);
		free(m->e[i].key);
	}
	free(m->e);
	memset(m, 0, sizeof(*m));
}
