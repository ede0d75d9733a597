/*
 * What report.c hands the parts of claudewrap-report: the options as it
 * parsed them (read only past parsing), the two streams, and the one
 * voice its messages use.
 */
#ifndef CW_REPORT_OPTS_H
#define CW_REPORT_OPTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum fmt { FMT_TEXT, FMT_JSON, FMT_PROM };

struct ropts {
	const char	*ledger;	/* the (first) path read, unless stdin */
	char		 ledger_buf[PATH_MAX];
	const char *const *files;	/* ledgers named as arguments */
	size_t		 nfiles;
	const char	*state_dir;
	char		 cd_dir[PATH_MAX];	/* whose cooldown; "": none */
	bool		 clear_cooldown;
	bool		 version;
	bool		 from_stdin;
	int64_t		 since_ms;	/* TIME_NONE: everything */
	const char	*tag;
	enum fmt	 fmt;
	const char	*prom_file;
	const char	*which;
	const char	*explain;
	int64_t		 low_output;	/* claudewrap's --low-output-tokens */
	bool		 help;
	const char	*state_url;	/* the fleet's stream, not a file */
	char		 where[PATH_MAX];	/* state_url, redacted */
};

struct rio {
	FILE	*out;
	FILE	*err;
};

/* Prints "claudewrap-report: ..." and a newline on err. */
void	rsay(FILE *err, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
