/* SPDX-License-Identifier: MIT */
/*
 * Description: fork() in a process whose other threads use the library.
 *
 * Locks: 3 threads allocate and free heap objects (small, and large ones,
 * which go through the arena's cache under its lock) and mem_alloc()
 * buffers, refresh the topology and read its extras, ask where pages are,
 * read another process's binding (ptrace) and bind the whole process (a
 * signal to every thread), without a pause, while the main thread forks
 * FORKS times.  Each child, with only the forking thread, starts a thread
 * of its own, does the same calls once (its process-wide binding signals
 * that thread) and exits; a lock inherited held would hang it, and the
 * parent kills a child that takes more than CHILD_SECS and fails.
 *
 * Caches: 3 threads allocate OBJS objects of 64 B each and stay alive over
 * a fork.  The child frees all of them (objects of threads it does not
 * have) and allocates as many again: the slabs of the threads left behind
 * serve again, so the heap maps no new chunk.  Without the fork handling
 * they stayed owned by caches without a thread.
 *
 * Runs on memblk 0 of any machine.  The locks case is left out under
 * AddressSanitizer, whose allocator here is not fork-safe (see main()).
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

#ifdef __SANITIZE_ADDRESS__
static const bool under_asan = true;
#else
static const bool under_asan = false;
#endif

static volatile int stop;
static int hammer_errors, hammer_bits; /* bits as of other_locks() */
static int last_remote_err; /* of mem_getbinding(sleeper), bit 32 */
static pid_t sleeper; /* a process whose binding the threads read */
static char *where_pages; /* WHERE_PAGES pages, touched */
#define WHERE_PAGES 64

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

/* The calls that take the library's other locks: the topology's extras,
 * the pagemap table of mem_where(), the remote engine.  0 if all went
 * as they should, else a bit for each that did not (8, 16, 32). */
static int other_locks(void)
{
	struct memblk_info info = MEMBLK_INFO_INIT;
	unsigned long m = 0, b = 0;
	void *pages[WHERE_PAGES];
	int st[WHERE_PAGES], bad = 0, r;

	for (int i = 0; i < WHERE_PAGES; i++)
		pages[i] = where_pages + (size_t)i * BT_PAGE;
	if (memblk_info(0, &info) != 0)
		bad |= 8;
	if (mem_where(0, pages, WHERE_PAGES, st) != 0 || st[0] != 0)
		bad |= 16;
	/* -EBUSY: a child or the parent has the sleeper traced right now */
	r = mem_getbinding(sleeper, 64, &m, &b);
	if (r < 1 && r != -EBUSY)
		bad |= 32, last_remote_err = r;
	return bad;
}

/* Everything a child calls: heap objects small and large, a buffer, the
 * topology, the other locks, a process-wide binding.  0 if all went as it
 * should, else a bit for each part that did not: 1 heap, 2 buffer, 4
 * topology, 8-32 other_locks(), 64 the binding. */
static int use_library(void)
{
	void *small = memblk_malloc(64, 0), *large = memblk_malloc(20000, 0);
	void *buf = buffer(1 << 16);
	int bad = 0;

	if (!small || !large || memblk_free(small) || memblk_free(large))
		bad |= 1;
	if (!buf || mem_free(buf))
		bad |= 2;
	if (membind_topology_refresh() != 0 || memblk_count() < 1)
		bad |= 4;
	bad |= other_locks();
	if (bind_process() != 0)
		bad |= 64;
	return bad;
}

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* A child: a thread of its own, then the library. */
static int child_main(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, idle, NULL))
		return 2;
	return use_library();
}

static void *hammer(void *arg)
{
	long i = 0;
	int bad;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		void *a = memblk_malloc(64 + (size_t)(i % 512), 0);
		void *b = memblk_malloc(20000 + (size_t)(i % 4096), 0);
		void *c = buffer(4096);

		memblk_free(a);
		memblk_free(b);
		if (c)
			mem_free(c);
		if (++i % 256 == 0 && membind_topology_refresh())
			__atomic_add_fetch(&hammer_errors, 1, __ATOMIC_RELAXED);
		if (i % 64 == 0 && bind_process())
			__atomic_add_fetch(&hammer_errors, 1, __ATOMIC_RELAXED);
		if (i % 16 == 0 && (bad = other_locks())) {
			__atomic_add_fetch(&hammer_errors, 1, __ATOMIC_RELAXED);
			__atomic_fetch_or(&hammer_bits, bad, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

/* Wait for a child, at most CHILD_SECS (then it is killed: it hung, in
 * the library or in fork's own handlers); 0 if it exited with status 0. */
static int reap(pid_t pid, const char *what)
{
	struct timespec t0, t;
	int status;
	pid_t r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((r = waitpid(pid, &status, WNOHANG)) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= CHILD_SECS) {
			fprintf(stderr, "%s: child hung for %d s (a lock held over fork)\n",
				what, CHILD_SECS);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return 1;
		}
		usleep(200);
	}
	if (r != pid) {
		perror("waitpid");
		return 1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		fprintf(stderr, "%s: child exit status %d\n", what,
			WEXITSTATUS(status));
	else
		fprintf(stderr, "%s: child status %#x\n", what, status);
	return 1;
}

static void test_locks(void)
{
	pthread_t th[THREADS];
	int failed = 0, n = 0;

	stop = 0;
	for (int i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, hammer, NULL), 0);
	for (; n < FORKS && !failed; n++) {
		pid_t pid = fork();

		if (pid == 0) {
			int r = child_main();

			if (r & 32)
				fprintf(stderr, "child: mem_getbinding: %d\n",
					last_remote_err);
			_exit(r);
		}
		CHECK(pid > 0);
		if (pid < 0)
			break;
		failed = reap(pid, "locks");
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	printf("locks: %d forks under %d busy threads, %s; %d failed calls "
	       "in the threads (other_locks() bits %#x)\n",
	       n, THREADS, failed ? "a child failed" : "every child went on",
	       hammer_errors, hammer_bits);
	CHECK_EQ(failed, 0);
	CHECK_EQ(hammer_errors, 0);
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
	where_pages = mmap(NULL, WHERE_PAGES * BT_PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(where_pages != MAP_FAILED);
	if (where_pages == MAP_FAILED)
		return T_FAIL;
	memset(where_pages, 1, WHERE_PAGES * BT_PAGE);
	sleeper = fork();
	if (sleeper == 0) {
		for (;;)
			pause();
	}
	CHECK(sleeper > 0);
	test_caches();
	if (under_asan) {
		/* The caches case forks while the other threads wait at a barrier;
		 * this one forks while they allocate, and the sanitizer's allocator
		 * of GCC 12 takes no lock around fork(): a child can hang in ASan's
		 * own malloc (seen: a child waiting in SizeClassAllocator64 from
		 * mem_where's malloc).  Fixed upstream in LLVM 18 (llvm-project
		 * pull request 75290).  The plain build runs it. */
		printf("locks: not run under AddressSanitizer (its allocator "
		       "is not fork-safe in this compiler's runtime)\n");
	} else {
		test_locks();
	}
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);
	return t_finish("test_heap_fork");
}
