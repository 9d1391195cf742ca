/* SPDX-License-Identifier: MIT */
/*
 * Description: fork() in a process whose other threads use the library.
 *
 * Locks: 3 threads allocate and free heap objects (small, and large ones,
 * which go through the arena's cache under its lock) and mem_alloc()
 * buffers, refresh the topology and bind the whole process (a signal to
 * every thread), without a pause, while the main thread forks
 * FORKS times.  Each child, with only the forking thread, does the same
 * calls once and exits; a lock inherited held would hang it, and an alarm
 * makes that a failure.
 *
 * Caches: 3 threads allocate OBJS objects of 64 B each and stay alive over
 * a fork.  The child frees all of them (objects of threads it does not
 * have) and allocates as many again: the slabs of the threads left behind
 * serve again, so the heap maps no new chunk.  Without the fork handling
 * they stayed owned by caches without a thread.
 *
 * Runs on memblk 0 of any machine.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloctest.h"

#define THREADS 3
#define FORKS 300
#define OBJS 20000
#define CHILD_SECS 30

static volatile int stop;

/* A buffer of size bytes bound hard to memblk 0. */
static void *buffer(size_t size)
{
	unsigned long m = 1;

	return mem_alloc(size, 1, &m, MEMBIND_HARD, NULL);
}

/* Every thread of the process bound hard to memblk 0 (a signal to each,
 * threads.c). */
static int bind_process(void)
{
	unsigned long m = 1;

	return mem_setbinding(0, 1, &m, MEMBIND_HARD);
}

/* Everything a child calls: heap objects small and large, a buffer, the
 * topology.  0 if all went as it should. */
static int use_library(void)
{
	void *small = memblk_malloc(64, 0), *large = memblk_malloc(20000, 0);
	void *buf = buffer(1 << 16);
	int bad = !small || !large || !buf;

	bad |= memblk_free(small) != 0 || memblk_free(large) != 0;
	bad |= buf && mem_free(buf) != 0;
	bad |= membind_topology_refresh() != 0 || memblk_count() < 1;
	bad |= bind_process() != 0;
	return bad;
}

static void *hammer(void *arg)
{
	long i = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		void *a = memblk_malloc(64 + (size_t)(i % 512), 0);
		void *b = memblk_malloc(20000 + (size_t)(i % 4096), 0);
		void *c = buffer(4096);

		memblk_free(a);
		memblk_free(b);
		if (c)
			mem_free(c);
		if (++i % 256 == 0)
			membind_topology_refresh();
		if (i % 64 == 0)
			bind_process();
	}
	return NULL;
}

/* Wait for a child; 0 if it exited with status 0. */
static int reap(pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		fprintf(stderr, "%s: child hung for %d s (a lock held over fork)\n",
			what, CHILD_SECS);
	else
		fprintf(stderr, "%s: child status %#x\n", what, status);
	return 1;
}

static void test_locks(void)
{
	pthread_t th[THREADS];
	int hung = 0, n = 0;

	stop = 0;
	for (int i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, hammer, NULL), 0);
	for (; n < FORKS && !hung; n++) {
		pid_t pid = fork();

		if (pid == 0) {
			alarm(CHILD_SECS);
			_exit(use_library());
		}
		CHECK(pid > 0);
		if (pid < 0)
			break;
		hung = reap(pid, "locks");
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	printf("locks: %d forks under %d busy threads, %s\n", n, THREADS,
	       hung ? "a child failed" : "every child went on");
	CHECK_EQ(hung, 0);
}

static void *objs[THREADS][OBJS];
static pthread_barrier_t filled, done;

static void *fill(void *arg)
{
	void **o = arg;

	for (int i = 0; i < OBJS; i++)
		o[i] = memblk_malloc(64, 0);
	pthread_barrier_wait(&filled);
	pthread_barrier_wait(&done); /* alive over the fork */
	for (int i = 0; i < OBJS; i++)
		memblk_free(o[i]);
	return NULL;
}

static int child_caches(uint64_t chunks_before)
{
	struct memblk_heap_stats st = MEMBLK_HEAP_STATS_INIT;
	static void *again[THREADS * OBJS];
	int bad = 0;

	alarm(CHILD_SECS);
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < OBJS; i++)
			bad += !objs[t][i] || memblk_free(objs[t][i]) != 0;
	for (int i = 0; i < THREADS * OBJS; i++)
		bad += !(again[i] = memblk_malloc(64, 0));
	if (memblk_heap_stats(0, &st))
		return 1;
	printf("caches: child freed %d objects of 3 threads it does not have "
	       "and allocated as many: %llu chunks (%llu before the fork), "
	       "%d failures\n",
	       THREADS * OBJS, (unsigned long long)st.chunks,
	       (unsigned long long)chunks_before, bad);
	fflush(stdout);
	return bad || st.chunks > chunks_before;
}

static void test_caches(void)
{
	struct memblk_heap_stats st = MEMBLK_HEAP_STATS_INIT;
	pthread_t th[THREADS];
	pid_t pid;

	pthread_barrier_init(&filled, NULL, THREADS + 1);
	pthread_barrier_init(&done, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, fill, objs[i]), 0);
	pthread_barrier_wait(&filled);
	CHECK_EQ(memblk_heap_stats(0, &st), 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(child_caches(st.chunks));
	CHECK(pid > 0);
	if (pid > 0)
		CHECK_EQ(reap(pid, "caches"), 0);
	pthread_barrier_wait(&done);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&filled);
	pthread_barrier_destroy(&done);
}

int main(void)
{
	if (memblk_count() < 1) {
		printf("SKIP: no memblk\n");
		return T_SKIP;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_caches();
	test_locks();
	return t_finish("test_heap_fork");
}
