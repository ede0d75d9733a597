/*
 * The summary of claudewrap-report as report.c aggregates it, and its
 * three renderings: a text table for a person, --json for a program,
 * --prom (to stdout, or to a file put in place atomically) for
 * node_exporter's textfile collector.
 */
#ifndef CW_REPORT_OUT_H
#define CW_REPORT_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report_map.h"
#include "report_opts.h"
#include "report_rec.h"
#include "report_scan.h"

struct sums {
	int64_t	runs;
	int64_t	input;
	int64_t	output;
	int64_t	cache_read;
	int64_t	cache_creation;
	int64_t	cost_micro;	/* US dollars * 1e6: sums stay exact */
};

struct day {
	struct sums	st[NST];
};

struct tagstat {
	struct sums	st[NST];
	bool		have_ok;
	int64_t		last_ok_ms;
	int64_t		lost;
	bool		have_machine;	/* a record carried the two below */
	int64_t		peak_rss_kb;	/* the largest of one run's tree */
	int64_t		cpu_ms;		/* of every run's tree */
};

/* A run as its records show it, keyed by run id. */
struct run_seen {
	bool	started;
	bool	done;
	int64_t	start_ms;
	int64_t	pid;
	char	*tag;
	char	*host;
};

struct agg {
	const struct ropts *o;
	struct map	 runs;		/* run_seen by run id */
	struct map	 days;		/* day by "YYYY-MM-DD" */
	struct map	 tags;		/* tagstat by tag, "" for none */
	struct map	 hosts;		/* --state-url only: tagstat by host */
	struct sums	 total[NST];
	int64_t		 running;	/* no done record, and still running */
	struct rview	*view;		/* failures, tags, sparklines */
	bool		 oom;
};

/*
 * Prints a in the format a->o asks for: days sorted, lost runs oldest
 * first. The exit status.
 */
int	rout_print(const struct agg *a, struct map_ent **days,
	    struct map_ent **lost, size_t nlost, const struct rscan_stats *ss,
	    struct rio *io);

#endif
