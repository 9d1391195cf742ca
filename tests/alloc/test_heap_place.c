/* SPDX-License-Identifier: MIT */
/*
 * Description: the per-memblk heap puts every object on the memblk asked
 * for, under many threads with cross-thread frees.  For each memblk m, 4
 * threads, pinned to the CPUs of different nodes in turn, each allocate
 * 10000 objects of mixed sizes (16 B .. 2000 B, and every 97th one above the
 * small-object limit) on m, write them, and pass half of them to the next thread (on
 * another node), which frees them; then each frees the rest.  Every page of
 * every object is on m by mem_where(), and the heap's chunks are on m by
 * numa_maps; the statistics of m show no live byte at the end.
 *
 * Needs 2 memblks (tests/vm guests); exit 77 otherwise.  With
 * MEMBIND_TEST_WRONG=1 the objects are allocated on the next memblk and
 * looked for on m: the test must fail.
 *
 * A watchdog ends the test (exit 1) if a memblk takes more than
 * HEAP_PLACE_DEADLINE seconds (default 40, below the guests' per-test
 * limit): it prints what each thread was doing, so that a hang shows where
 * it is instead of being killed without a word.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "alloctest.h"

#define THREADS 4
#define OBJS 10000

enum phase { P_START, P_ALLOC, P_CHECK, P_BAR1, P_REMOTE, P_BAR2, P_LOCAL,
	     P_DONE };
static const char *const phase_name[] = {
	"starting", "allocating", "checking", "at barrier 1",
	"freeing the next thread's objects", "at barrier 2",
	"freeing its own objects", "done",
};

struct worker {
	int id, memblk, node;
	void **objs;
	size_t *sizes;
	long wrong_pages, pages;
	int failed_allocs;
	int phase, at; /* progress, for the watchdog (atomic) */
	pthread_barrier_t *bar;
	struct worker *all;
};

/* The memblk under test and its workers, for the watchdog. */
static struct worker *current;
static int current_m = -1;

static void progress(struct worker *w, enum phase ph, int at)
{
	__atomic_store_n(&w->at, at, __ATOMIC_RELAXED);
	__atomic_store_n(&w->phase, (int)ph, __ATOMIC_RELEASE);
}

static void *watchdog(void *arg)
{
	const char *e = getenv("HEAP_PLACE_DEADLINE");
	int limit = e && atoi(e) > 0 ? atoi(e) : 40, last = -2, secs = 0;

	(void)arg;
	for (;;) {
		int m = __atomic_load_n(&current_m, __ATOMIC_ACQUIRE);

		if (m != last) {
			last = m;
			secs = 0;
		}
		if (secs++ >= limit)
			break;
		sleep(1);
	}
	printf("watchdog: memblk %d not done after %d s; threads:\n", last,
	       limit);
	for (int i = 0; i < THREADS; i++) {
		struct worker *all = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
		struct worker *w;

		if (!all)
			break;
		w = &all[i];
		int ph = __atomic_load_n(&w->phase, __ATOMIC_ACQUIRE);

		printf("  thread %d (node %d): %s, object %d\n", i, w->node,
		       phase_name[ph], __atomic_load_n(&w->at, __ATOMIC_RELAXED));
	}
	fflush(stdout);
	_exit(T_FAIL);
}

/* Mixed sizes, about 40 MiB in all per memblk: the guests' nodes are
 * small.  Every 97th object is above the small-object limit. */
static size_t size_of(int i)
{
	static const size_t s[] = { 16, 24, 64, 100, 256, 700, 1024, 2000 };

	if (i % 97 == 0)
		return 20000;
	return s[(unsigned int)i * 7 % (sizeof(s) / sizeof(s[0]))];
}

/* Pages of each object, by mem_where(): a call for many objects at once
 * (a call per object made 40000 calls per memblk, slow under TCG). */
static void check_objects(struct worker *w, int from, int to)
{
	enum { MAXP = 4096, OBJP = 64 };
	void *pages[MAXP];
	int st[MAXP];
	size_t n = 0;

	for (int i = from; i <= to; i++) {
		uintptr_t a, end;

		/* a batch that is full, or the last one */
		if (n && (i == to || n + OBJP > MAXP)) {
			if (mem_where(0, pages, n, st)) {
				w->wrong_pages += (long)n;
			} else {
				for (size_t k = 0; k < n; k++)
					w->wrong_pages += st[k] != w->memblk;
				w->pages += (long)n;
			}
			n = 0;
		}
		if (i == to || !w->objs[i])
			continue;
		progress(w, P_CHECK, i);
		a = (uintptr_t)w->objs[i] & ~(BT_PAGE - 1);
		end = (uintptr_t)w->objs[i] + w->sizes[i];
		for (size_t k = 0; a < end && k < OBJP; a += BT_PAGE, k++)
			pages[n++] = (void *)a;
	}
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct worker *next = &w->all[(w->id + 1) % THREADS];

	bt_pin_node(w->node);
	for (int i = 0; i < OBJS; i++) {
		progress(w, P_ALLOC, i);
		w->sizes[i] = size_of(i + w->id);
		w->objs[i] = memblk_malloc(w->sizes[i], bt_bind_to(w->memblk));
		if (!w->objs[i]) {
			w->failed_allocs++;
			continue;
		}
		memset(w->objs[i], w->id + 1, w->sizes[i]);
	}
	check_objects(w, 0, OBJS);
	progress(w, P_BAR1, 0);
	pthread_barrier_wait(w->bar);
	/* the odd objects of the next thread: freed from here */
	for (int i = 1; i < OBJS; i += 2) {
		progress(w, P_REMOTE, i);
		memblk_free(next->objs[i]);
		next->objs[i] = NULL;
	}
	progress(w, P_BAR2, 0);
	pthread_barrier_wait(w->bar);
	for (int i = 0; i < OBJS; i++) {
		progress(w, P_LOCAL, i);
		memblk_free(w->objs[i]);
	}
	progress(w, P_DONE, 0);
	return NULL;
}

static void one_memblk(int m, int *cpu_nodes, int ncpu_nodes)
{
	struct memblk_heap_stats st = MEMBLK_HEAP_STATS_INIT;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	pthread_barrier_t bar;
	long wrong = 0, pages = 0, c[BT_MAX];
	int failed = 0;

	pthread_barrier_init(&bar, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .id = i, .memblk = m,
					.node = cpu_nodes[i % ncpu_nodes],
					.bar = &bar, .all = w };
		w[i].objs = calloc(OBJS, sizeof(void *));
		w[i].sizes = calloc(OBJS, sizeof(size_t));
	}
	__atomic_store_n(&current, w, __ATOMIC_RELEASE);
	__atomic_store_n(&current_m, m, __ATOMIC_RELEASE);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, run, &w[i]);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		wrong += w[i].wrong_pages;
		pages += w[i].pages;
		failed += w[i].failed_allocs;
		free(w[i].objs);
		free(w[i].sizes);
	}
	__atomic_store_n(&current, NULL, __ATOMIC_RELEASE);
	pthread_barrier_destroy(&bar);
	printf("memblk %d: %d threads x %d objects, %ld pages checked, %ld on another memblk, %d failed allocations\n",
	       m, THREADS, OBJS, pages, wrong, failed);
	CHECK_EQ(failed, 0);
	CHECK(pages > 0);
	CHECK_EQ(wrong, 0);
	CHECK_EQ(memblk_heap_stats(bt_bind_to(m), &st), 0);
	printf("memblk %d: %llu live bytes after the frees, %llu chunks kept\n",
	       m, (unsigned long long)st.live_bytes,
	       (unsigned long long)st.chunks);
	CHECK_EQ(st.live_bytes, 0);
	(void)c;
}

int main(void)
{
	int n, nodes[BT_MAX], nn = 0;
	pthread_t dog;

	bt_need_memblks(2, "placement on several memblks");
	n = memblk_count();
	for (int node = 0; node < membind_node_limit() && nn < BT_MAX; node++) {
		unsigned long cpus[64] = {0};

		if (membind_cpu_limit() <= 64 * 64 &&
		    node_cpus(node, (unsigned)membind_cpu_limit(), cpus) > 0)
			nodes[nn++] = node;
	}
	if (nn == 0) {
		printf("SKIP: no node with CPUs\n");
		return T_SKIP;
	}
	if (pthread_create(&dog, NULL, watchdog, NULL) == 0)
		pthread_detach(dog);
	for (int m = 0; m < n; m++)
		one_memblk(m, nodes, nn);
	return t_finish("test_heap_place");
}
