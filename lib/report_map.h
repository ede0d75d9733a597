/*
 * The report's string map: open addressing, keys copied, each value a
 * zeroed block of the size its first add asked for. Runs, days, tags
 * and hosts are each one map (report.c); the renderings walk them in
 * key order (report_out.c).
 */
#ifndef CW_REPORT_MAP_H
#define CW_REPORT_MAP_H

#include <stddef.h>

struct map_ent {
	char	*key;
	void	*val;
};

/* Zeroed is empty. Read n; the slots are the map's own. */
struct map {
	struct map_ent	*e;
	size_t		 n;
	size_t		 cap;
};

void		 *rmap_get(const struct map *, const char *key);
/* The value under key, created zeroed (size bytes) if new; NULL: ENOMEM. */
void		 *rmap_add(struct map *, const char *key, size_t size);
/* The entries, NULL-terminated (free the array, not them); NULL: ENOMEM. */
struct map_ent	**rmap_entries(const struct map *);
/* The same sorted by key. */
struct map_ent	**rmap_sorted(const struct map *);
/* free_val, when not NULL, frees what a value points to, not the value. */
void		  rmap_free(struct map *, void (*free_val)(void *));

#endif
