/*
 * The watcher of the kill benchmark, not a fake CLI: bench_gone FILE N
 * waits until FILE lists N pids, then polls /proc every 200 us until
 * every one of them is dead, and prints two CLOCK_REALTIME times in
 * milliseconds (the same clock as claudewrap's `ts`): when the last one
 * stopped running (gone or a zombie) and when the last one was reaped
 * (no /proc entry left). Exits 1 if that takes more than 30 s.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXP	256

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* 0: gone; 1: a zombie, not yet reaped; 2: running. */
static int
state(int pid)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return 0;
	return p[2] == 'Z' || p[2] == 'X' ? 1 : 2;
}

static int
read_pids(const char *file, int *pids, int max)
{
	FILE *fp = fopen(file, "r");
	int n = 0;

	if (fp == NULL)
		return 0;
	while (n < max && fscanf(fp, "%d", &pids[n]) == 1)
		n++;
	fclose(fp);
	return n;
}

int
main(int argc, char **argv)
{
	int pids[MAXP], want, n = 0;
	double start = now_ms(), dead_at = 0;

	if (argc != 3 || (want = atoi(argv[2])) <= 0 || want > MAXP) {
		fprintf(stderr, "usage: bench_gone FILE N\n");
		return 2;
	}
	while ((n = read_pids(argv[1], pids, MAXP)) < want) {
		if (now_ms() - start > 30000)
			return 1;
		usleep(1000);
	}
	for (;;) {
		int worst = 0;

		for (int i = 0; i < n; i++) {
			int s = state(pids[i]);

			if (s > worst)
				worst = s;
		}
		if (worst < 2 && dead_at == 0)
			dead_at = now_ms();
		if (worst == 0)
			break;
		if (now_ms() - start > 30000)
			return 1;
		usleep(200);
	}
	printf("%.3f %.3f\n", dead_at, now_ms());
	return 0;
}
