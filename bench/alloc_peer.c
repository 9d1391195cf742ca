/* SPDX-License-Identifier: MIT */
/*
 * One allocator doing one cell of the allocator comparison, in a process
 * of its own (bench/alloc_peers.c is the driver).  Built once per
 * allocator with -DAP_PEER=AP_X and linked against that allocator alone,
 * so that mimalloc, jemalloc and tcmalloc replace malloc in their
 * executable only; memkind and the membind heap are called by their own
 * API.
 *
 *   alloc-peer-X VARIANT CASE SIZE THREADS SECONDS NODE
 *
 *   VARIANT  default; glibc: notrim (mallopt before the work); memkind,
 *            mimalloc: node (a kind or arena on an area bound to NODE)
 *   CASE     batch:N  each thread allocates N objects, writes their first
 *                     byte, frees them, again and again
 *            pc:N     THREADS/2 producer threads allocate batches of N and
 *                     hand them to as many consumer threads, which free
 *                     them (every free is by another thread)
 *
 * Prints one line: "ok OPS_PER_S RSS_END RSS_START FAULTS OPS PLACED PAGES
 * MALLOC_FROM": allocations + frees per second (all threads), the
 * process's resident bytes at the end (workers joined, every object freed)
 * and before the work, minor page faults during the work, operations done,
 * the pages of a last batch (every byte written) found on NODE by
 * move_pages(2) with nodes = NULL and how many pages it has, and the file
 * that malloc resolves to (to show that the replacement took).
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define AP_GLIBC 0
#define AP_MEMBIND 1
#define AP_MIMALLOC 2
#define AP_JEMALLOC 3
#define AP_TCMALLOC 4
#define AP_MEMKIND 5

#ifndef AP_PEER
#define AP_PEER AP_GLIBC
#endif

#if AP_PEER == AP_GLIBC
#include <malloc.h>
#elif AP_PEER == AP_MEMBIND
#include <membind.h>
#elif AP_PEER == AP_MIMALLOC
#include <mimalloc.h>
#elif AP_PEER == AP_MEMKIND
#include <memkind.h>
#endif

/* An area for the placing variants of mimalloc and memkind: mapped
 * without reserve and bound to the node with mbind(MPOL_BIND). */
#define AREA_SIZE (4UL << 30)

static int node;
static bool on_node; /* the variant places on node */
#if AP_PEER == AP_MEMBIND
static int memblk; /* the memblk of node */
#endif

#if AP_PEER == AP_MEMKIND
static memkind_t kind;
#endif
#if AP_PEER == AP_MIMALLOC
static mi_arena_id_t arena;
static __thread mi_heap_t *my_heap;
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void *ap_alloc(size_t size)
{
#if AP_PEER == AP_MEMBIND
	return memblk_malloc(size, memblk);
#elif AP_PEER == AP_MEMKIND
	return memkind_malloc(kind, size);
#elif AP_PEER == AP_MIMALLOC
	if (on_node) {
		if (!my_heap)
			my_heap = mi_heap_new_in_arena(arena);
		return my_heap ? mi_heap_malloc(my_heap, size) : NULL;
	}
	return malloc(size);
#else
	return malloc(size);
#endif
}

static inline void ap_free(void *p)
{
#if AP_PEER == AP_MEMBIND
	memblk_free(p);
#elif AP_PEER == AP_MEMKIND
	memkind_free(kind, p);
#else
	free(p); /* mimalloc's own in its executable, also for its heaps */
#endif
}

#if AP_PEER == AP_MIMALLOC || AP_PEER == AP_MEMKIND
static void *bound_area(void)
{
	unsigned long mask[16] = {0};
	const uintptr_t align = 64UL << 20; /* mimalloc: segment-aligned */
	char *p = mmap(NULL, AREA_SIZE + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || node < 0 || node >= 1024)
		return NULL;
	p = (char *)(((uintptr_t)p + align - 1) & ~(align - 1));
	mask[node / 64] = 1UL << (node % 64);
	/* mbind(2), MPOL_BIND = 2 */
	if (syscall(SYS_mbind, p, AREA_SIZE, 2, mask, 1025UL, 0UL))
		return NULL;
	return p;
}
#endif

static int setup(const char *variant)
{
	on_node = false;
#if AP_PEER == AP_GLIBC
	if (!strcmp(variant, "notrim")) {
		/* Keep freed memory: the heap top is never trimmed, and
		 * objects up to 32 MiB (the most glibc allows) come from the
		 * heap, not from mmap(). */
		if (!mallopt(M_TRIM_THRESHOLD, 1 << 30) ||
		    !mallopt(M_MMAP_THRESHOLD, 32 << 20))
			return -1;
		return 0;
	}
#elif AP_PEER == AP_MEMBIND
	memblk = node_to_memblk(node);
	on_node = true;
	return memblk < 0 || strcmp(variant, "default") ? -1 : 0;
#elif AP_PEER == AP_MIMALLOC
	if (!strcmp(variant, "node")) {
		void *a = bound_area();

		/* NUMA node -1: mimalloc does not second-guess the
		 * binding (with the node given, it aborted in a guest when
		 * the thread ran on another node). */
		if (!a || !mi_manage_os_memory_ex(a, AREA_SIZE, true, false,
						  true, -1, true, &arena))
			return -1;
		on_node = true;
		return 0;
	}
#elif AP_PEER == AP_MEMKIND
	if (!strcmp(variant, "node")) {
		void *a = bound_area();

		if (!a || memkind_create_fixed(a, AREA_SIZE, &kind))
			return -1;
		on_node = true;
		return 0;
	}
	kind = MEMKIND_DEFAULT;
#endif
	return strcmp(variant, "default") ? -1 : 0;
}

static size_t obj_size;
static int batch;
static uint64_t end_ns; /* atomic: 0 until every thread is warm */

/* One-time costs (an allocator's set-up, a thread's first cache) are not
 * timed: each thread allocates and frees a batch first, then waits for the
 * start. */
static void warm_up(pthread_barrier_t *bar)
{
	void **v = calloc((size_t)batch, sizeof(*v));

	if (!v)
		abort();
	for (int i = 0; i < batch; i++) {
		v[i] = ap_alloc(obj_size);
		if (!v[i])
			abort();
		*(volatile char *)v[i] = 1;
	}
	for (int i = 0; i < batch; i++)
		ap_free(v[i]);
	free(v);
	pthread_barrier_wait(bar);
	while (!__atomic_load_n(&end_ns, __ATOMIC_ACQUIRE))
		sched_yield();
}

struct worker {
	pthread_t th;
	uint64_t ops;
	struct pcq *q;
	pthread_barrier_t *bar;
};

static void *batch_worker(void *arg)
{
	struct worker *w = arg;
	void **v = calloc((size_t)batch, sizeof(*v));

	if (!v)
		abort();
	warm_up(w->bar);
	while (now_ns() < end_ns) {
		for (int i = 0; i < batch; i++) {
			v[i] = ap_alloc(obj_size);
			if (!v[i])
				abort();
			*(volatile char *)v[i] = 1;
		}
		for (int i = 0; i < batch; i++)
			ap_free(v[i]);
		w->ops += 2 * (uint64_t)batch;
	}
	free(v);
	return NULL;
}

/* Producer to consumer: NQ batch slots that go round. */
#define NQ 4
struct pcq {
	void **slot[NQ];
	int full[NQ]; /* atomic */
	int done;     /* atomic: the producer has stopped */
};

static void wait_for(int *flag, int want, int *done)
{
	for (unsigned int spins = 0;
	     __atomic_load_n(flag, __ATOMIC_ACQUIRE) != want; spins++) {
		if (done && __atomic_load_n(done, __ATOMIC_ACQUIRE) &&
		    __atomic_load_n(flag, __ATOMIC_ACQUIRE) != want)
			return;
		if (spins > 64)
			sched_yield();
	}
}

static void *producer(void *arg)
{
	struct worker *w = arg;
	struct pcq *q = w->q;

	warm_up(w->bar);
	for (unsigned int k = 0; now_ns() < end_ns; k = (k + 1) % NQ) {
		wait_for(&q->full[k], 0, NULL);
		for (int i = 0; i < batch; i++) {
			void *p = ap_alloc(obj_size);

			if (!p)
				abort();
			*(volatile char *)p = 1;
			q->slot[k][i] = p;
		}
		__atomic_store_n(&q->full[k], 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&q->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *consumer(void *arg)
{
	struct worker *w = arg;
	struct pcq *q = w->q;

	pthread_barrier_wait(w->bar);
	while (!__atomic_load_n(&end_ns, __ATOMIC_ACQUIRE))
		sched_yield();
	for (unsigned int k = 0;; k = (k + 1) % NQ) {
		wait_for(&q->full[k], 1, &q->done);
		if (!__atomic_load_n(&q->full[k], __ATOMIC_ACQUIRE))
			break; /* done, and this slot was never filled */
		for (int i = 0; i < batch; i++)
			ap_free(q->slot[k][i]);
		w->ops += 2 * (uint64_t)batch;
		__atomic_store_n(&q->full[k], 0, __ATOMIC_RELEASE);
	}
	return NULL;
}

static long rss_bytes(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * sysconf(_SC_PAGESIZE);
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* A batch with every byte written: of its distinct pages, how many are on
 * node (*placed) out of how many (*pages). */
static int placement(long *placed, long *pages)
{
	long psz = sysconf(_SC_PAGESIZE);
	size_t per = (obj_size + (size_t)psz - 1) / (size_t)psz + 1, n = 0, u;
	void **v = calloc((size_t)batch, sizeof(*v));
	void **pg = calloc((size_t)batch * per, sizeof(*pg));
	int *st;

	if (!v || !pg)
		return -1;
	for (int i = 0; i < batch; i++) {
		uintptr_t a, e;

		v[i] = ap_alloc(obj_size);
		if (!v[i])
			return -1;
		memset(v[i], 1, obj_size);
		a = (uintptr_t)v[i] & ~(uintptr_t)(psz - 1);
		e = (uintptr_t)v[i] + obj_size;
		for (; a < e; a += (uintptr_t)psz)
			pg[n++] = (void *)a;
	}
	qsort(pg, n, sizeof(*pg), cmp_ptr);
	for (size_t i = u = 0; i < n; i++)
		if (!u || pg[i] != pg[u - 1])
			pg[u++] = pg[i];
	st = calloc(u, sizeof(*st));
	if (!st)
		return -1;
	/* move_pages(pid 0, count, pages, nodes NULL: only ask, status) */
	if (syscall(SYS_move_pages, 0, (unsigned long)u, pg, NULL, st, 0))
		return -1;
	*placed = 0;
	for (size_t i = 0; i < u; i++)
		*placed += st[i] == node;
	*pages = (long)u;
	for (int i = 0; i < batch; i++)
		ap_free(v[i]);
	free(st);
	free(pg);
	free(v);
	return 0;
}

int main(int argc, char **argv)
{
	struct worker w[256];
	struct pcq q[128];
	pthread_barrier_t bar;
	int threads, pc, nw;
	long rss0, rss1, flt0, flt, placed = -1, pages = 0;
	uint64_t ops = 0, t0;
	double secs;
	Dl_info di = {0};
	void *m;

	if (argc != 7) {
		fprintf(stderr, "usage: %s VARIANT batch:N|pc:N SIZE THREADS SECONDS NODE\n",
			argv[0]);
		return 2;
	}
	pc = !strncmp(argv[2], "pc:", 3);
	batch = atoi(strchr(argv[2], ':') ? strchr(argv[2], ':') + 1 : "0");
	obj_size = strtoul(argv[3], NULL, 0);
	threads = atoi(argv[4]);
	secs = atof(argv[5]);
	node = atoi(argv[6]);
	if (batch <= 0 || !obj_size || threads <= 0 || threads > 256 ||
	    (pc && threads < 2)) {
		fprintf(stderr, "%s: bad arguments\n", argv[0]);
		return 2;
	}
	if (setup(argv[1])) {
		printf("unsupported\n");
		return 0;
	}
	m = dlsym(RTLD_DEFAULT, "malloc");
	if (!m || !dladdr(m, &di) || !di.dli_fname)
		di.dli_fname = "?";

	rss0 = rss_bytes();
	nw = pc ? threads / 2 * 2 : threads;
	pthread_barrier_init(&bar, NULL, (unsigned int)nw + 1);
	for (int i = 0; i < nw; i++) {
		w[i] = (struct worker){ .bar = &bar };
		if (pc) {
			struct pcq *qq = &q[i / 2];

			if (i % 2 == 0) {
				*qq = (struct pcq){0};
				for (int k = 0; k < NQ; k++) {
					qq->slot[k] = calloc((size_t)batch,
							     sizeof(void *));
					if (!qq->slot[k])
						abort();
				}
			}
			w[i].q = qq;
		}
		if (pthread_create(&w[i].th, NULL,
				   !pc ? batch_worker :
				   i % 2 ? consumer : producer, &w[i]))
			abort();
	}
	pthread_barrier_wait(&bar);
	flt0 = minflt();
	t0 = now_ns();
	__atomic_store_n(&end_ns, t0 + (uint64_t)(secs * 1e9), __ATOMIC_RELEASE);
	for (int i = 0; i < nw; i++) {
		pthread_join(w[i].th, NULL);
		ops += w[i].ops;
	}
	secs = (double)(now_ns() - t0) / 1e9;
	flt = minflt() - flt0;
	rss1 = rss_bytes();
	if (pc)
		for (int i = 0; i < nw; i += 2)
			for (int k = 0; k < NQ; k++)
				free(q[i / 2].slot[k]);
	pthread_barrier_destroy(&bar);
	if (!pc && placement(&placed, &pages))
		placed = -1;
	printf("ok %.0f %ld %ld %ld %" PRIu64 " %ld %ld %s\n",
	       (double)ops / secs, rss1, rss0, flt, ops, placed, pages,
	       di.dli_fname);
	return 0;
}
