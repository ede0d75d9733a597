/* For the bench fakes: all of b to stdout, or -1. */
#ifndef CW_FAKE_PUT_H
#define CW_FAKE_PUT_H

#include <errno.h>
#include <unistd.h>

static int
put(const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

#endif
