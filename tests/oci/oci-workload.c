/* SPDX-License-Identifier: MIT */
/*
 * oci-workload THREADS MB: the program tests/oci/run-oci-test runs in its
 * containers (statically linked: the container's root holds only busybox).
 * The main thread maps and touches MB MiB, starts THREADS threads that each
 * touch MB MiB of their own, and every thread prints the binding it sees
 * from inside, as mem_getbinding(0, ..., MEMBIND_THREAD) gives it:
 *     thread TID SCHEME LIST
 * then "ready", and all sleep until killed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "membind.h"

static size_t bytes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int done;

static void touch_and_report(void)
{
	unsigned long mask[MEMBIND_MASK_LONGS(MEMBIND_MAX_BITS)] = { 0 };
	unsigned long behavior = MEMBIND_THREAD;
	char list[256] = "";
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int n;

	if (p == MAP_FAILED) {
		perror("oci-workload: mmap");
		exit(1);
	}
	memset(p, 0x5a, bytes);
	n = mem_getbinding(0, MEMBIND_MAX_BITS, mask, &behavior);
	if (n > 0)
		memblk_list_format((unsigned int)n, mask, list, sizeof(list));
	pthread_mutex_lock(&lock);
	if (n < 0)
		printf("thread %ld error %s\n", (long)syscall(SYS_gettid),
		       strerror(-n));
	else
		printf("thread %ld %s %s\n", (long)syscall(SYS_gettid),
		       membind_scheme_name(behavior), list[0] ? list : "-");
	fflush(stdout);
	done++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void *thread_main(void *arg)
{
	(void)arg;
	touch_and_report();
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int threads;

	if (argc != 3) {
		fprintf(stderr, "usage: oci-workload THREADS MB\n");
		return 2;
	}
	threads = atoi(argv[1]);
	bytes = strtoul(argv[2], NULL, 10) << 20;
	if (threads < 0 || threads > 64 || bytes == 0) {
		fprintf(stderr, "oci-workload: bad arguments\n");
		return 2;
	}
	touch_and_report();
	for (int i = 0; i < threads; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, thread_main, NULL)) {
			fprintf(stderr, "oci-workload: pthread_create failed\n");
			return 1;
		}
	}
	pthread_mutex_lock(&lock);
	while (done < threads + 1)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
