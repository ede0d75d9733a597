/*
 * claudewrap-report: the same binary under another name. Reads the
 * ledger (or claudewrap's stderr lines on stdin) and prints runs per day
 * and status with lost runs (text, --json, --prom for node_exporter's
 * textfile collector); --which FILE names the run that wrote FILE's
 * current content; --explain RUN walks the five questions of the
 * debugging loop for one run; --clear-cooldown ends the shared cooldown
 * by hand.
 *
 * Exit status: 0; 1 when the ledger cannot be read, --which finds no
 * run that wrote the file, --explain finds no such run, or the cooldown
 * cannot be cleared; 125 on a usage error (a bad option value, named
 * with the value).
 */
#ifndef CW_REPORT_H
#define CW_REPORT_H

#include <stdio.h>

/* main() of claudewrap-report; returns the exit status. */
int	report_main(int argc, char **argv);
/* The same with its streams given (the tests pass memory streams). */
int	report_run(int argc, char **argv, FILE *in, FILE *out, FILE *err);

#endif
