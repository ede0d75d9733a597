/* For the fakes: append a pid to the file named by an environment variable. */
#ifndef CW_FAKE_NOTE_H
#define CW_FAKE_NOTE_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

/* The test reads the file to check, and to kill, what the fake started. */
static void
note_pid_in(const char *env, pid_t pid)
{
	const char *f = getenv(env);
	FILE *fp;

	if (f == NULL || (fp = fopen(f, "a")) == NULL)
		return;
	fprintf(fp, "%d\n", (int)pid);
	fclose(fp);
}

#endif
