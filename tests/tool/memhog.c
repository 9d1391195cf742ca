/* SPDX-License-Identifier: MIT */
/* memhog MB [THREAD_MEMBLK]: a workload for the membind tool tests.
 * Maps and touches MB MiB of anonymous memory, optionally starts a thread
 * that binds itself alone to THREAD_MEMBLK (so that the process's threads
 * differ), prints "ready" and sleeps until killed.  The memory is in small
 * pages, or with MEMHOG_THP=1 in the environment 2 MiB-aligned and advised
 * MADV_HUGEPAGE (transparent huge pages where the kernel has them).  With
 * MEMHOG_FILE=PATH it also maps the file PATH (created, 64 KiB) and writes
 * it. */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "membind.h"

#define HUGE (2UL << 20)

static int thread_memblk = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int bound;

static void *thread_main(void *arg)
{
	unsigned long mask[MEMBIND_MASK_LONGS(MEMBIND_MAX_BITS)] = { 0 };
	int ret;

	(void)arg;
	mask[0] = 1UL << thread_memblk;
	ret = mem_setbinding(0, MEMBIND_MAX_BITS, mask,
			     MEMBIND_HARD | MEMBIND_THREAD);
	pthread_mutex_lock(&lock);
	bound = ret < 0 ? ret : 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	size_t mb, len;
	pthread_t t;
	bool thp;
	char *p;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: memhog MB [THREAD_MEMBLK]\n");
		return 2;
	}
	mb = strtoul(argv[1], NULL, 10);
	len = mb << 20;
	thp = getenv("MEMHOG_THP") && !strcmp(getenv("MEMHOG_THP"), "1");
	p = mmap(NULL, (len ? len : 4096) + (thp ? HUGE : 0),
		 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("memhog: mmap");
		return 1;
	}
	if (thp) {
		p = (char *)(((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
		madvise(p, len, MADV_HUGEPAGE);
	} else {
		/* Small pages, so that every page counts the same. */
		madvise(p, len, MADV_NOHUGEPAGE);
	}
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	if (getenv("MEMHOG_FILE")) {
		/* A file mapped and written: a row of where --maps. */
		const char *path = getenv("MEMHOG_FILE");
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		char *f;

		if (fd < 0 || ftruncate(fd, 65536)) {
			perror("memhog: MEMHOG_FILE");
			return 1;
		}
		f = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 0);
		if (f == MAP_FAILED) {
			perror("memhog: mmap MEMHOG_FILE");
			return 1;
		}
		close(fd);
		memset(f, 1, 65536);
	}
	if (argc == 3) {
		thread_memblk = atoi(argv[2]);
		if (pthread_create(&t, NULL, thread_main, NULL))
			return 1;
		pthread_mutex_lock(&lock);
		while (!bound)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		if (bound < 0) {
			fprintf(stderr, "memhog: thread binding: %s\n",
				strerror(-bound));
			return 1;
		}
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}
