#include "tree.h"

#include <sys/prctl.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct proc {
	pid_t	pid;
	pid_t	ppid;
};

int
tree_make_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1);
}

/*
 * Reads the parent's pid and, if start is not NULL, the start time (in
 * clock ticks since boot) from /proc/PID/stat; -1 if gone or a zombie.
 */
static int
read_stat(pid_t pid, pid_t *ppid, unsigned long long *start)
{
	char path[64], buf[1024], *p, *end;
	char state;
	long ppid_l;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/*
	 * comm (field 2) may hold spaces and parentheses: the fields after
	 * its last ')' are one space apart, ") S 1234 ...": the state
	 * (field 3), the parent's pid (4), ..., starttime (22).
	 */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0' ||
	    p[3] != ' ')
		return -1;
	state = p[2];
	errno = 0;
	ppid_l = strtol(p + 4, &end, 10);
	if (errno != 0 || end == p + 4 || *end != ' ' || ppid_l < 0 ||
	    ppid_l > INT_MAX)
		return -1;
	if (state == 'Z' || state == 'X')
		return -1;
	*ppid = (pid_t)ppid_l;
	if (start == NULL)
		return 0;
	for (int at = 4; at < 22; at++) {	/* at: the field end is in */
		if ((end = strchr(end, ' ')) == NULL)
			return -1;
		end++;
	}
	p = end;
	errno = 0;
	*start = strtoull(p, &end, 10);
	return errno != 0 || end == p || *end != ' ' ? -1 : 0;
}

/* The system's boot time in epoch seconds, from /proc/stat; -1 if unknown. */
static int64_t
boot_time(void)
{
	char line[256];
	const char *err;
	long long bt = -1;
	FILE *f = fopen("/proc/stat", "re");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "btime ", 6) == 0) {
			line[strcspn(line, "\n")] = '\0';
			bt = strtonum(line + 6, 0, LLONG_MAX, &err);
			if (err != NULL)
				bt = -1;
			break;
		}
	fclose(f);
	return bt;
}

int64_t
tree_started_ms(pid_t pid)
{
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	int64_t bt;
	pid_t ppid;

	if (hz <= 0 || read_stat(pid, &ppid, &ticks) == -1 ||
	    (bt = boot_time()) < 0)
		return -1;
	return bt * 1000 + (int64_t)(ticks * 1000 / (unsigned long long)hz);
}

/* Every live process on the system with its parent. */
static struct proc *
scan_procs(size_t *count)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	struct proc *v = NULL, *nv;
	size_t n = 0, cap = 0;

	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		pid_t pid, ppid;
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (read_stat(pid, &ppid, NULL) == -1)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				free(v);
				closedir(d);
				return NULL;
			}
			v = nv;
		}
		v[n].pid = pid;
		v[n++].ppid = ppid;
	}
	closedir(d);
	*count = n;
	return v != NULL ? v : calloc(1, sizeof(*v));
}

int
tree_descendants(pid_t root, pid_t *pids, size_t max)
{
	size_t n, found = 0;
	struct proc *v = scan_procs(&n);
	bool grew = true;
	pid_t *all;
	size_t nall = 0;

	if (v == NULL)
		return -1;
	/* The set of ancestors is small: grow it to a fixed point. */
	if ((all = calloc(n + 1, sizeof(*all))) == NULL) {
		free(v);
		return -1;
	}
	all[nall++] = root;
	while (grew) {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			if (v[i].pid == 0)
				continue;
			for (size_t j = 0; j < nall; j++) {
				if (v[i].ppid != all[j])
					continue;
				all[nall++] = v[i].pid;
				v[i].pid = 0;	/* taken */
				grew = true;
				break;
			}
		}
	}
	for (size_t j = 1; j < nall; j++, found++)
		if (found < max)
			pids[found] = all[j];
	free(all);
	free(v);
	return (int)found;
}

int
tree_signal(pid_t root, pid_t pgid, int sig, pid_t *pids, size_t max)
{
	pid_t local[512];
	int n;

	if (pgid > 0)
		(void)kill(-pgid, sig);
	n = tree_descendants(root, local, sizeof(local) / sizeof(local[0]));
	for (int i = 0; i < n && i < 512; i++) {
		(void)kill(local[i], sig);
		if (sig != SIGKILL && sig != SIGCONT)
			(void)kill(local[i], SIGCONT);
		if ((size_t)i < max)
			pids[i] = local[i];
	}
	if (pgid > 0 && sig != SIGKILL && sig != SIGCONT)
		(void)kill(-pgid, SIGCONT);
	return n < 0 ? 0 : n;
}
