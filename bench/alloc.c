/* SPDX-License-Identifier: MIT */
/*
 * Allocating on a memblk: the per-memblk heap (memblk_malloc/memblk_free)
 * against libnuma's numa_alloc_onnode/numa_free, hwloc's
 * hwloc_alloc_membind/hwloc_free (both bind to node 0) and glibc's
 * malloc/free (which does not place), for 64 B, 4 KiB and 1 MiB objects,
 * from 1 thread to the machine's CPU count.  Each thread allocates a batch
 * of objects, writes the first byte of each, and frees them, again and
 * again for a fixed time; the figure is allocations + frees per second over
 * all threads.  Then the time to allocate, touch every 4 KiB page of, and
 * free a 1 GiB buffer bound HARD to memblk 0: mem_alloc/mem_free against
 * mmap + mbind + munmap by hand, numa_alloc_onnode and hwloc_alloc_membind
 * (median of the runs).
 */
#include "bench.h"

#include <hwloc.h>
#include <membind.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

enum { P_HEAP, P_MALLOC, P_LIBNUMA, P_HWLOC, NP };
static const char *const pname[NP] = { "memblk_malloc (membind)",
				       "glibc malloc", "numa_alloc_onnode",
				       "hwloc_alloc_membind" };

static hwloc_topology_t topo;
static hwloc_nodeset_t node0;
static double duration;

static void *peer_alloc(int p, size_t size)
{
	switch (p) {
	case P_HEAP:
		return memblk_malloc(size, 0);
	case P_MALLOC:
		return malloc(size);
	case P_LIBNUMA:
		return numa_alloc_onnode(size, 0);
	default:
		return hwloc_alloc_membind(topo, size, node0, HWLOC_MEMBIND_BIND,
					   HWLOC_MEMBIND_BYNODESET);
	}
}

static void peer_free(int p, void *x, size_t size)
{
	switch (p) {
	case P_HEAP:
		memblk_free(x);
		break;
	case P_MALLOC:
		free(x);
		break;
	case P_LIBNUMA:
		numa_free(x, size);
		break;
	default:
		hwloc_free(topo, x, size);
		break;
	}
}

struct job {
	int peer;
	size_t size;
	int batch;
	uint64_t ops;
	pthread_barrier_t *bar;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	void **v = calloc((size_t)j->batch, sizeof(*v));
	uint64_t end;

	pthread_barrier_wait(j->bar);
	end = bench_now_ns() + (uint64_t)(duration * 1e9);
	while (bench_now_ns() < end) {
		for (int i = 0; i < j->batch; i++) {
			v[i] = peer_alloc(j->peer, j->size);
			if (!v[i])
				abort();
			*(volatile char *)v[i] = 1;
		}
		for (int i = 0; i < j->batch; i++)
			peer_free(j->peer, v[i], j->size);
		j->ops += 2 * (uint64_t)j->batch;
	}
	free(v);
	return NULL;
}

static double ops_per_sec(int peer, size_t size, int threads)
{
	struct job j[64];
	pthread_t th[64];
	pthread_barrier_t bar;
	uint64_t ops = 0, t0;
	double secs;

	pthread_barrier_init(&bar, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++) {
		j[i] = (struct job){ .peer = peer, .size = size, .bar = &bar,
				     .batch = size >= (1 << 20) ? 16 : 256 };
		pthread_create(&th[i], NULL, worker, &j[i]);
	}
	pthread_barrier_wait(&bar);
	t0 = bench_now_ns();
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		ops += j[i].ops;
	}
	secs = (double)(bench_now_ns() - t0) / 1e9;
	pthread_barrier_destroy(&bar);
	return (double)ops / secs;
}

static void fmt_rate(char *buf, size_t n, double r)
{
	if (r >= 1e6)
		snprintf(buf, n, "%.1f M/s", r / 1e6);
	else
		snprintf(buf, n, "%.0f k/s", r / 1e3);
}

/* ---- 1 GiB ---- */
#define BIG (1UL << 30)
enum { B_MEMBIND, B_RAW, B_LIBNUMA, B_HWLOC, NB };
static const char *const bname[NB] = { "mem_alloc + mem_free",
				       "mmap + mbind + munmap by hand",
				       "numa_alloc_onnode + numa_free",
				       "hwloc_alloc_membind + hwloc_free" };

static uint64_t big_once(int how)
{
	unsigned long m0 = 1;
	uint64_t t0 = bench_now_ns();
	char *p = NULL;

	switch (how) {
	case B_MEMBIND:
		p = mem_alloc(BIG, 64, &m0, MEMBIND_HARD, NULL);
		break;
	case B_RAW:
		p = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED ||
		    mbind(p, BIG, MPOL_BIND, &m0, 64, 0))
			p = NULL;
		break;
	case B_LIBNUMA:
		p = numa_alloc_onnode(BIG, 0);
		break;
	default:
		p = hwloc_alloc_membind(topo, BIG, node0, HWLOC_MEMBIND_BIND,
					HWLOC_MEMBIND_BYNODESET);
		break;
	}
	if (!p)
		abort();
	for (size_t i = 0; i < BIG; i += 4096)
		p[i] = 1;
	switch (how) {
	case B_MEMBIND:
		mem_free(p);
		break;
	case B_RAW:
		munmap(p, BIG);
		break;
	case B_LIBNUMA:
		numa_free(p, BIG);
		break;
	default:
		hwloc_free(topo, p, BIG);
		break;
	}
	return bench_now_ns() - t0;
}

int main(void)
{
	static const size_t sizes[] = { 64, 4096, 1 << 20 };
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), runs;
	struct bench_samples s[NB] = {{0}};

	if (ncpu > 64)
		ncpu = 64;
	duration = bench_quick() ? 0.1 : 0.5;
	if (numa_available() < 0 || hwloc_topology_init(&topo) ||
	    hwloc_topology_load(topo)) {
		printf("### Allocation on memblks\n\nskipped: no libnuma or hwloc\n");
		return 0;
	}
	node0 = hwloc_bitmap_alloc();
	hwloc_bitmap_set(node0, 0);

	printf("### Allocation on memblks\n\n");
	printf("Allocations + frees per second, all threads together (batches of 256, 16 for 1 MiB; first byte written), %.1f s per cell.\n\n",
	       duration);
	printf("| size | threads |");
	for (int p = 0; p < NP; p++)
		printf(" %s |", pname[p]);
	printf(" heap / malloc | heap / numa_alloc_onnode |\n|---|---|");
	for (int p = 0; p < NP + 2; p++)
		printf("---|");
	printf("\n");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (int t = 1; t <= ncpu; t++) {
			double r[NP];
			char buf[32];

			printf("| %s | %d |", sizes[k] == 64 ? "64 B" :
					     sizes[k] == 4096 ? "4 KiB" :
								"1 MiB", t);
			for (int p = 0; p < NP; p++) {
				r[p] = ops_per_sec(p, sizes[k], t);
				fmt_rate(buf, sizeof(buf), r[p]);
				printf(" %s |", buf);
			}
			printf(" %.2f× | %.0f× |\n", r[P_HEAP] / r[P_MALLOC],
			       r[P_HEAP] / r[P_LIBNUMA]);
			fflush(stdout);
		}
	}

	runs = bench_runs(5, 2);
	for (int i = 0; i < runs; i++)
		for (int b = 0; b < NB; b++)
			bench_add(&s[b], big_once(b));
	printf("\nAllocate, touch every 4 KiB page of, and free 1 GiB bound to memblk 0 (median of %d; p10–p90):\n\n| method | time |\n|---|---|\n",
	       runs);
	for (int b = 0; b < NB; b++) {
		struct bench_stats st = bench_stats(&s[b]);
		char buf[160];

		bench_fmt_stats(buf, sizeof(buf), &st);
		printf("| %s | %s |\n", bname[b], buf);
		bench_free(&s[b]);
	}
	hwloc_bitmap_free(node0);
	hwloc_topology_destroy(topo);
	return 0;
}
