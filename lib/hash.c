#include "hash.h"
#include "io.h"

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <sha2.h>
#include <stdlib.h>
#include <unistd.h>

struct hash {
	SHA2_CTX ctx;
};

struct hash *
hash_new(void)
{
	struct hash *h = malloc(sizeof(*h));

	if (h != NULL)
		SHA256Init(&h->ctx);
	return h;
}

void
hash_update(struct hash *h, const void *buf, size_t n)
{
	SHA256Update(&h->ctx, buf, n);
}

void
hash_end(struct hash *h, char hex[HASH_HEX_LEN])
{
	SHA256End(&h->ctx, hex);
	free(h);
}

int
hash_file(const char *path, char hex[HASH_HEX_LEN], uint64_t *size)
{
	SHA2_CTX ctx;
	uint8_t buf[65536];
	uint64_t total = 0;
	ssize_t r;
	int fd, saved;

	if ((fd = io_open_regular(path, O_RDONLY, 0)) == -1)
		return -1;
	SHA256Init(&ctx);
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		SHA256Update(&ctx, buf, (size_t)r);
		total += (uint64_t)r;
	}
	close(fd);
	SHA256End(&ctx, hex);
	if (size != NULL)
		*size = total;
	return 0;
}
