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
 */
#include <errno.h>
#include <stdio.h>

#include "alloctest.h"

#define THREADS 4
#define OBJS 10000

struct worker {
	int id, memblk, node;
	void **objs;
	size_t *sizes;
	long wrong_pages, pages;
	int failed_allocs;
	pthread_barrier_t *bar;
	struct worker *all;
};

/* Mixed sizes, about 40 MiB in all per memblk: the guests' nodes are
 * small.  Every 97th object is above the small-object limit. */
static size_t size_of(int i)
{
	static const size_t s[] = { 16, 24, 64, 100, 256, 700, 1024, 2000 };

	if (i % 97 == 0)
		return 20000;
	return s[(unsigned int)i * 7 % (sizeof(s) / sizeof(s[0]))];
}

/* Pages of each object, by mem_where(). */
static void check_objects(struct worker *w, int from, int to)
{
	enum { MAXP = 64 };
	void *pages[MAXP];
	int st[MAXP];

	for (int i = from; i < to; i++) {
		uintptr_t a = (uintptr_t)w->objs[i] & ~(BT_PAGE - 1);
		uintptr_t end = (uintptr_t)w->objs[i] + w->sizes[i];
		size_t n = 0;

		if (!w->objs[i])
			continue;
		for (; a < end && n < MAXP; a += BT_PAGE)
			pages[n++] = (void *)a;
		if (mem_where(0, pages, n, st)) {
			w->wrong_pages += (long)n;
			continue;
		}
		for (size_t k = 0; k < n; k++)
			w->wrong_pages += st[k] != w->memblk;
		w->pages += (long)n;
	}
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct worker *next = &w->all[(w->id + 1) % THREADS];

	bt_pin_node(w->node);
	for (int i = 0; i < OBJS; i++) {
		w->sizes[i] = size_of(i + w->id);
		w->objs[i] = memblk_malloc(w->sizes[i], bt_bind_to(w->memblk));
		if (!w->objs[i]) {
			w->failed_allocs++;
			continue;
		}
		memset(w->objs[i], w->id + 1, w->sizes[i]);
	}
	check_objects(w, 0, OBJS);
	pthread_barrier_wait(w->bar);
	/* the odd objects of the next thread: freed from here */
	for (int i = 1; i < OBJS; i += 2) {
		memblk_free(next->objs[i]);
		next->objs[i] = NULL;
	}
	pthread_barrier_wait(w->bar);
	for (int i = 0; i < OBJS; i++)
		memblk_free(w->objs[i]);
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
	for (int m = 0; m < n; m++)
		one_memblk(m, nodes, nn);
	return t_finish("test_heap_place");
}
