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
	pid_t		 pid;
	pid_t		 ppid;
	long long	 rss_pages;
};

int
tree_make_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1);
}

/* What claudewrap reads of one /proc/PID/stat. */
struct stat_info {
	char		 state;
	pid_t		 ppid;
	unsigned long long start;	/* clock ticks since boot */
	long long	 rss_pages;
	char		 comm[TREE_COMM_LEN];
};

/*
 * Reads /proc/PID/stat into si, zombies included; -1 if it is gone or
 * cannot be parsed.
 */
static int
parse_stat(pid_t pid, struct stat_info *si)
{
	char path[64], buf[1024], *p, *open_paren, *end;
	long ppid_l;
	size_t clen;
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
	 * (field 3), the parent's pid (4), ..., starttime (22), vsize (23),
	 * rss (24, in pages).
	 */
	if ((open_paren = strchr(buf, '(')) == NULL ||
	    (p = strrchr(buf, ')')) == NULL || p < open_paren ||
	    p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
		return -1;
	clen = (size_t)(p - open_paren - 1);
	if (clen >= sizeof(si->comm))
		clen = sizeof(si->comm) - 1;
	memcpy(si->comm, open_paren + 1, clen);
	si->comm[clen] = '\0';
	si->state = p[2];
	errno = 0;
	ppid_l = strtol(p + 4, &end, 10);
	if (errno != 0 || end == p + 4 || *end != ' ' || ppid_l < 0 ||
	    ppid_l > INT_MAX)
		return -1;
	si->ppid = (pid_t)ppid_l;
	for (int at = 4; at < 22; at++) {	/* at: the field end is in */
		if ((end = strchr(end, ' ')) == NULL)
			return -1;
		end++;
	}
	p = end;
	errno = 0;
	si->start = strtoull(p, &end, 10);
	if (errno != 0 || end == p || *end != ' ')
		return -1;
	/* vsize, then rss. */
	if ((end = strchr(end + 1, ' ')) == NULL)
		return -1;
	p = end + 1;
	si->rss_pages = strtoll(p, &end, 10);
	return errno != 0 || end == p || si->rss_pages < 0 ? -1 : 0;
}

/* parse_stat for a live process: -1 for a zombie too. */
static int
read_stat(pid_t pid, struct stat_info *si)
{
	if (parse_stat(pid, si) == -1 || si->state == 'Z' || si->state == 'X')
		return -1;
	return 0;
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
	struct stat_info si;
	long hz = sysconf(_SC_CLK_TCK);
	int64_t bt;

	if (hz <= 0 || read_stat(pid, &si) == -1 || (bt = boot_time()) < 0)
		return -1;
	return bt * 1000 + (int64_t)(si.start * 1000 / (unsigned long long)hz);
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
		struct stat_info si;
		pid_t pid;
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (read_stat(pid, &si) == -1)
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
		v[n].ppid = si.ppid;
		v[n++].rss_pages = si.rss_pages;
	}
	closedir(d);
	*count = n;
	return v != NULL ? v : calloc(1, sizeof(*v));
}

/*
 * Moves the descendants of the calling process to the front of v, in
 * the order they were found; returns how many there are.
 */
static size_t
gather_tree(struct proc *v, size_t n, pid_t root)
{
	size_t nt = 0;
	bool grew = true;

	/* The tree is small: grow it to a fixed point. */
	while (grew) {
		grew = false;
		for (size_t i = nt; i < n; i++) {
			bool ours = v[i].ppid == root;
			for (size_t j = 0; !ours && j < nt; j++)
				ours = v[i].ppid == v[j].pid;
			if (!ours)
				continue;
			struct proc t = v[nt];
			v[nt++] = v[i];
			v[i] = t;
			grew = true;
		}
	}
	return nt;
}

/*
 * Live descendants of root (zombies excluded), at most max of them into
 * pids; returns how many there are, or -1 with errno.
 */
static int
tree_descendants(pid_t root, pid_t *pids, size_t max)
{
	size_t n, nt;
	struct proc *v = scan_procs(&n);

	if (v == NULL)
		return -1;
	nt = gather_tree(v, n, root);
	for (size_t j = 0; j < nt && j < max; j++)
		pids[j] = v[j].pid;
	free(v);
	return (int)nt;
}

int64_t
tree_rss_kb(pid_t root, pid_t *pids, size_t max, int *count)
{
	size_t n, nt;
	struct proc *v = scan_procs(&n);
	long page_kb = sysconf(_SC_PAGESIZE) / 1024;
	int64_t sum = 0;

	if (v == NULL)
		return -1;
	nt = gather_tree(v, n, root);
	for (size_t j = 0; j < nt; j++) {
		sum += v[j].rss_pages * page_kb;
		if (j < max)
			pids[j] = v[j].pid;
	}
	free(v);
	*count = (int)nt;
	return sum;
}

int64_t
tree_rss_kb_of(pid_t *pids, int *n)
{
	struct stat_info si;
	long page_kb = sysconf(_SC_PAGESIZE) / 1024;
	int64_t sum = 0;
	int kept = 0;

	for (int i = 0; i < *n; i++) {
		if (read_stat(pids[i], &si) == -1)
			continue;
		sum += si.rss_pages * page_kb;
		pids[kept++] = pids[i];
	}
	*n = kept;
	return sum;
}

int
tree_comm(pid_t pid, char *buf, size_t size)
{
	struct stat_info si;

	if (parse_stat(pid, &si) == -1)
		return -1;
	strlcpy(buf, si.comm, size);
	return 0;
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
