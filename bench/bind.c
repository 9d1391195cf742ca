/* SPDX-License-Identifier: MIT */
/*
 * The cost of binding calls, in one process.
 *
 * Thread scope: mem_setbinding(0, ..., scheme | MEMBIND_THREAD) and
 * mem_getbinding(0, ...) with MEMBIND_THREAD on input, against libnuma
 * (numa_set_membind / numa_set_interleave_mask, numa_get_membind), hwloc
 * (hwloc_set_membind / hwloc_get_membind with HWLOC_MEMBIND_THREAD) and the
 * raw syscalls (set_mempolicy / get_mempolicy).  Every set really changes
 * the policy: calls alternate between a hard binding (MPOL_BIND) and a
 * round-robin one (MPOL_INTERLEAVE) on the same memblk, so that this works
 * on a machine of one node.  A sample is a batch of calls timed together;
 * the table gives ns per call.
 *
 * Process scope: mem_setbinding(0, ...) without MEMBIND_THREAD binds every
 * thread of the process (a signal to each other thread, see src/threads.c),
 * with 1, 8 and 64 threads in the process, the others blocked in a
 * condition wait or spinning.  No peer can do this (libnuma and hwloc bind
 * the calling thread only; hwloc answers ENOSYS for a process binding on
 * Linux), so the raw column is a lower bound: N set_mempolicy() calls made
 * one after the other by one thread, the syscalls alone without any
 * signalling.
 */
#include "bench.h"

#include <hwloc.h>
#include <membind.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <sys/syscall.h>

#define MASK_BITS MEMBIND_BITS_PER_LONG /* one word: mask[0] */
#define BATCH 1000                      /* calls per thread-scope sample */

static const int vs_all[] = {PEER_RAW, PEER_LIBNUMA, PEER_HWLOC};
static const int vs_raw[] = {PEER_RAW};

/* What every peer needs: the first memblk (node) as each one spells it. */
static struct {
	unsigned long mb_mask[1];  /* membind: memblk mask */
	unsigned long node_mask[1]; /* raw: kernel node mask */
	unsigned long maxnode;      /* raw: bits + 1, as membind passes */
	struct bitmask *numa_bm;    /* libnuma */
	hwloc_topology_t topo;      /* hwloc */
	hwloc_nodeset_t hw_set;
	int hwloc_ok;
} g;

static void die(const char *what, long err)
{
	fprintf(stderr, "bind: %s: %s\n", what, strerror((int)(err < 0 ? -err : err)));
	exit(1);
}

static void setup(void)
{
	int node;

	node = memblk_to_node(0);
	if (node < 0)
		die("memblk_to_node(0)", node);
	if (node >= (int)MASK_BITS) {
		fprintf(stderr, "bind: node %d of memblk 0 is beyond one word\n",
			node);
		exit(1);
	}
	g.mb_mask[0] = 1UL;
	g.node_mask[0] = 1UL << node;
	/* membind passes node_limit rounded up to whole words (+ 1). */
	g.maxnode = MEMBIND_MASK_LONGS((unsigned)membind_node_limit()) *
			    MEMBIND_BITS_PER_LONG + 1;

	if (numa_available() < 0)
		die("numa_available", ENOSYS);
	g.numa_bm = numa_allocate_nodemask();
	numa_bitmask_setbit(g.numa_bm, (unsigned)node);

	if (hwloc_topology_init(&g.topo) || hwloc_topology_load(g.topo))
		die("hwloc_topology_load", errno);
	g.hw_set = hwloc_bitmap_alloc();
	hwloc_bitmap_only(g.hw_set, (unsigned)node);
	g.hwloc_ok = 1;
}

/* ---- thread scope ---- */

/* One set of the calling thread's policy by peer p: hard if i is even,
 * round-robin if odd.  Returns 0 or an error. */
static inline long set_thread(int p, int i)
{
	switch (p) {
	case PEER_MEMBIND:
		return mem_setbinding(0, MASK_BITS, g.mb_mask,
				      (i & 1 ? MEMBIND_ROUND_ROBIN :
					       MEMBIND_HARD) |
					      MEMBIND_THREAD);
	case PEER_LIBNUMA:
		/* Both return void and print on failure. */
		if (i & 1)
			numa_set_interleave_mask(g.numa_bm);
		else
			numa_set_membind(g.numa_bm);
		return 0;
	case PEER_HWLOC:
		return hwloc_set_membind(g.topo, g.hw_set,
					 i & 1 ? HWLOC_MEMBIND_INTERLEAVE :
						 HWLOC_MEMBIND_BIND,
					 HWLOC_MEMBIND_THREAD |
						 HWLOC_MEMBIND_BYNODESET) ?
			       -errno :
			       0;
	default:
		return syscall(SYS_set_mempolicy,
			       i & 1 ? MPOL_INTERLEAVE : MPOL_BIND,
			       g.node_mask, g.maxnode) ?
			       -errno :
			       0;
	}
}

/* One read of the calling thread's policy by peer p. */
static inline long get_thread(int p)
{
	unsigned long mask[1], b = MEMBIND_THREAD, nodes[1];
	hwloc_membind_policy_t pol;
	struct bitmask *bm;
	int mode;
	long ret;

	switch (p) {
	case PEER_MEMBIND:
		ret = mem_getbinding(0, MASK_BITS, mask, &b);
		return ret < 0 ? ret : (long)(mask[0] + b);
	case PEER_LIBNUMA:
		bm = numa_get_membind();
		ret = bm ? (long)bm->maskp[0] : -ENOMEM;
		numa_bitmask_free(bm);
		return ret;
	case PEER_HWLOC:
		if (hwloc_get_membind(g.topo, g.hw_set, &pol,
				      HWLOC_MEMBIND_THREAD |
					      HWLOC_MEMBIND_BYNODESET))
			return -errno;
		return pol;
	default:
		if (syscall(SYS_get_mempolicy, &mode, nodes, g.maxnode, NULL,
			    0))
			return -errno;
		return (long)nodes[0] + mode;
	}
}

static void thread_scope(int runs)
{
	struct bench_samples smp[2][NR_PEERS] = {{{0}}};
	static const char *const rows[2] = {
		"set, this thread (hard ⇄ round-robin on memblk 0)",
		"get, this thread",
	};
	static const char *const how[NR_PEERS] = {
		"`mem_setbinding(0, 64, {0}, HARD|THREAD)` ⇄ `ROUND_ROBIN|THREAD`; "
		"`mem_getbinding(0, 64, mask, &b)` with `b = MEMBIND_THREAD`",
		"`numa_set_membind(bm)` ⇄ `numa_set_interleave_mask(bm)`; "
		"`numa_get_membind()` + `numa_bitmask_free()`",
		"`hwloc_set_membind(set, BIND|INTERLEAVE, THREAD|BYNODESET)`; "
		"`hwloc_get_membind(THREAD|BYNODESET)`",
		"`syscall(SYS_set_mempolicy, MPOL_BIND|MPOL_INTERLEAVE, mask, "
		"maxnode)`; `syscall(SYS_get_mempolicy, &mode, mask, maxnode, "
		"NULL, 0)`",
	};
	long sink = 0;

	/* Warm up every path (first calls probe, fault, load). */
	for (int p = 0; p < NR_PEERS; p++)
		for (int i = 0; i < BATCH; i++) {
			long r = set_thread(p, i);

			if (r < 0)
				die(bench_peer_names[p], r);
			sink += get_thread(p);
		}

	for (int r = 0; r < runs; r++)
		for (int k = 0; k < NR_PEERS; k++) {
			int p = (r + k) % NR_PEERS; /* rotate who goes first */
			uint64_t t0, t1;
			long err = 0;

			t0 = bench_now_ns();
			for (int i = 0; i < BATCH; i++)
				err |= set_thread(p, i);
			t1 = bench_now_ns();
			if (err < 0)
				die(bench_peer_names[p], err);
			bench_add(&smp[0][p], (t1 - t0) / BATCH);

			t0 = bench_now_ns();
			for (int i = 0; i < BATCH; i++)
				sink += get_thread(p);
			t1 = bench_now_ns();
			bench_add(&smp[1][p], (t1 - t0) / BATCH);
		}
	mem_setbinding(0, MASK_BITS, g.mb_mask, MEMBIND_DEFAULT | MEMBIND_THREAD);

	printf("#### Thread scope: one call, the calling thread only\n\n");
	printf("Cells: **median** (p10 – p90) of the time per call, each sample "
	       "a batch of %d calls; %d samples per peer and case, peers "
	       "interleaved. The calls:\n\n",
	       BATCH, runs);
	for (int p = 0; p < NR_PEERS; p++)
		printf("- %s: %s\n", bench_peer_names[p], how[p]);
	printf("\n");
	bench_table_head_vs("case", vs_all, 3);
	for (int c = 0; c < 2; c++) {
		struct bench_stats st[NR_PEERS];

		for (int p = 0; p < NR_PEERS; p++)
			st[p] = bench_stats(&smp[c][p]);
		bench_table_row_vs(rows[c], st, vs_all, 3);
		for (int p = 0; p < NR_PEERS; p++)
			bench_free(&smp[c][p]);
	}
	printf("\n");
	if (sink == 42)
		printf("\n"); /* keep the reads */
}

/* ---- process scope ---- */

enum { IDLE, BUSY };

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;  /* under lock for IDLE; atomic for BUSY */
	int ready; /* atomic */
} w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void *idle_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&w.lock);
	__atomic_add_fetch(&w.ready, 1, __ATOMIC_SEQ_CST);
	while (!w.stop)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	return NULL;
}

static void *busy_worker(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&w.ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&w.stop, __ATOMIC_RELAXED))
		__asm__ volatile("pause" ::: "memory");
	return NULL;
}

static pthread_t *start_workers(int n, int kind)
{
	pthread_t *t = calloc((size_t)n + 1, sizeof(*t));

	if (!t)
		die("calloc", ENOMEM);
	w.stop = 0;
	w.ready = 0;
	for (int i = 0; i < n; i++) {
		int ret = pthread_create(&t[i], NULL,
					 kind == IDLE ? idle_worker : busy_worker,
					 NULL);

		if (ret)
			die("pthread_create", ret);
	}
	while (__atomic_load_n(&w.ready, __ATOMIC_SEQ_CST) < n)
		sched_yield();
	return t;
}

static void stop_workers(pthread_t *t, int n)
{
	pthread_mutex_lock(&w.lock);
	__atomic_store_n(&w.stop, 1, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.lock);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
}

/* Per thread count and kind: one process-wide set (and get) of membind
 * per sample, against nthreads raw syscalls in a row. */
struct proc_case {
	int nthreads, kind;
	int full, quick; /* samples */
};

static const struct proc_case proc_cases[] = {
	{1, IDLE, 400, 20},  {8, IDLE, 400, 20},  {64, IDLE, 200, 10},
	{8, BUSY, 100, 10},  {64, BUSY, 40, 5},
};
#define NR_PROC_CASES (sizeof(proc_cases) / sizeof(proc_cases[0]))

static int proc_runs(const struct proc_case *c)
{
	const char *r = getenv("MEMBIND_BENCH_RUNS");

	/* MEMBIND_BENCH_RUNS scales the busy cases down as the defaults do. */
	if (r && atoi(r) > 0)
		return (int)((long)atoi(r) * c->full / 400) ?: 1;
	return bench_quick() ? c->quick : c->full;
}

static void process_scope(void)
{
	struct bench_stats st[NR_PROC_CASES][2][NR_PEERS];
	int nsamples[NR_PROC_CASES];
	char name[128], mixed[NR_PROC_CASES][64];

	for (size_t ci = 0; ci < NR_PROC_CASES; ci++) {
		const struct proc_case *c = &proc_cases[ci];
		struct bench_samples smp[2][NR_PEERS] = {{{0}}};
		int runs = proc_runs(c), n = c->nthreads - 1;
		pthread_t *t = start_workers(n, c->kind);
		unsigned long mask[1], b = 0;
		long ret;

		nsamples[ci] = runs;
		for (int r = -2; r < runs; r++) { /* two warm-up rounds */
			uint64_t t0, t1, t2;

			t0 = bench_now_ns();
			ret = mem_setbinding(0, MASK_BITS, g.mb_mask,
					     r & 1 ? MEMBIND_ROUND_ROBIN :
						     MEMBIND_HARD);
			t1 = bench_now_ns();
			if (ret < 0)
				die("mem_setbinding (process)", ret);
			b = 0;
			ret = mem_getbinding(0, MASK_BITS, mask, &b);
			t2 = bench_now_ns();
			if (ret < 0)
				die("mem_getbinding (process)", ret);
			if (r >= 0) {
				bench_add(&smp[0][PEER_MEMBIND], t1 - t0);
				bench_add(&smp[1][PEER_MEMBIND], t2 - t1);
			}

			/* The floor: the same number of syscalls, no
			 * signals, in this thread. */
			ret = 0;
			t0 = bench_now_ns();
			for (int i = 0; i < c->nthreads; i++)
				ret |= set_thread(PEER_RAW, r + i);
			t1 = bench_now_ns();
			for (int i = 0; i < c->nthreads; i++)
				ret |= get_thread(PEER_RAW) < 0 ? -EIO : 0;
			t2 = bench_now_ns();
			if (ret < 0)
				die("raw", ret);
			if (r >= 0) {
				bench_add(&smp[0][PEER_RAW], t1 - t0);
				bench_add(&smp[1][PEER_RAW], t2 - t1);
			}
		}
		/* Every thread took a last set (no MEMBIND_MIXED); the raw
		 * floor above changed this thread alone. */
		ret = mem_setbinding(0, MASK_BITS, g.mb_mask, MEMBIND_HARD);
		b = 0;
		if (ret >= 0)
			ret = mem_getbinding(0, MASK_BITS, mask, &b);
		snprintf(mixed[ci], sizeof(mixed[ci]), "%s%s",
			 ret < 0 ? "error" :
				   membind_scheme_name(b) ?: "?",
			 b & MEMBIND_MIXED ? ", MIXED" : "");
		stop_workers(t, n);
		for (int k = 0; k < 2; k++)
			for (int p = 0; p < NR_PEERS; p++) {
				st[ci][k][p] = bench_stats(&smp[k][p]);
				bench_free(&smp[k][p]);
			}
	}
	mem_setbinding(0, MASK_BITS, g.mb_mask, MEMBIND_DEFAULT);

	printf("#### Process scope: every thread of the process\n\n");
	printf("One `mem_setbinding(0, 64, {0}, HARD)` ⇄ `ROUND_ROBIN` (no "
	       "`MEMBIND_THREAD`: every thread, by a signal to each other "
	       "thread) and one process-wide `mem_getbinding()` per sample, "
	       "with N threads in the process: the caller and N − 1 others, "
	       "either blocked in `pthread_cond_wait()` (idle) or spinning "
	       "(busy). libnuma and hwloc have no such call (they bind the "
	       "calling thread only; hwloc answers ENOSYS for "
	       "`HWLOC_MEMBIND_PROCESS` on Linux). The raw column is a lower "
	       "bound, not a peer: N `set_mempolicy()` (or `get_mempolicy()`) "
	       "calls in a row in one thread, the syscalls alone. Cells: "
	       "**median** (p10 – p90) per call.\n\n");
	bench_table_head_vs("case", vs_raw, 1);
	for (size_t ci = 0; ci < NR_PROC_CASES; ci++) {
		const struct proc_case *c = &proc_cases[ci];

		for (int k = 0; k < 2; k++) {
			snprintf(name, sizeof(name), "%s, %d thread%s%s",
				 k ? "get" : "set", c->nthreads,
				 c->nthreads > 1 ? "s" : "",
				 c->nthreads == 1 ? "" :
				 c->kind == IDLE  ? " (idle)" :
						    " (busy)");
			bench_table_row_vs(name, st[ci][k], vs_raw, 1);
		}
	}
	printf("\nSamples per case:");
	for (size_t ci = 0; ci < NR_PROC_CASES; ci++)
		printf(" %d%s", nsamples[ci],
		       ci + 1 < NR_PROC_CASES ? "," : "");
	printf(" (in table order). A process-wide get after a last set of "
	       "hard read back:");
	for (size_t ci = 0; ci < NR_PROC_CASES; ci++)
		printf(" %s%s", mixed[ci], ci + 1 < NR_PROC_CASES ? ";" : ".");
	printf("\n\n");
}

int main(void)
{
	printf("### Binding calls (`bind`)\n\n");
	setup();
	thread_scope(bench_runs(400, 20));
	process_scope();
	hwloc_bitmap_free(g.hw_set);
	hwloc_topology_destroy(g.topo);
	numa_bitmask_free(g.numa_bm);
	return 0;
}
