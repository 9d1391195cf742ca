/* SPDX-License-Identifier: MIT */
/*
 * The per-memblk heap against the allocators people choose for speed
 * (mimalloc, jemalloc, tcmalloc) and for placement (memkind, mimalloc's
 * arenas), and glibc with and without trimming.  Each sample is a fresh
 * process of bench/alloc_peer.c built for one allocator (alloc-peer-X,
 * next to this executable), so that an allocator that replaces malloc
 * does so in its own process only.  A peer whose package was missing at
 * build time has no executable and is reported as skipped.
 *
 * Cells: 64 B, 256 B, 4 KiB, 64 KiB and 1 MiB objects; batches of 16 and
 * of 256 objects (16 and 64 of 1 MiB) by 1, 2 and all CPUs' threads; a
 * producer/consumer case where every object is freed by another thread.
 * Reported: the rate, the resident memory at the end, the page faults per
 * operation, and where a last batch's pages are.  Repetitions are interleaved: repetition i of every
 * peer and cell before repetition i + 1 of any.
 */
#include "bench.h"

#include <limits.h>
#include <stdbool.h>

extern char **environ;

struct peer {
	const char *label, *exe, *variant;
	bool places; /* takes a node to put its objects on */
	bool skip;
};

static struct peer peers[] = {
	{ "memblk_malloc (membind)", "membind", "default", true, false },
	{ "glibc", "glibc", "default", false, false },
	{ "glibc, trim off", "glibc", "notrim", false, false },
	{ "mimalloc", "mimalloc", "default", false, false },
	{ "mimalloc, arena on the node", "mimalloc", "node", true, false },
	{ "jemalloc", "jemalloc", "default", false, false },
	{ "tcmalloc", "tcmalloc", "default", false, false },
	{ "memkind, MEMKIND_DEFAULT", "memkind", "default", false, false },
	{ "memkind, fixed kind on the node", "memkind", "node", true, false },
};
#define NPEERS (int)(sizeof(peers) / sizeof(peers[0]))
enum { HEAP, GLIBC, NOTRIM, MIMALLOC, MI_NODE, JEMALLOC, TCMALLOC,
       MK_DEFAULT, MK_NODE };

struct cell {
	size_t size;
	int batch, threads;
	bool pc;
};

struct result {
	double rate[64], rss[64], flt[64];
	long placed, pages;
	int n;
	bool failed;
	char from[128];
};

static char dir[PATH_MAX];

static void size_name(char *b, size_t n, size_t s)
{
	if (s >= 1 << 20)
		snprintf(b, n, "%zu MiB", s >> 20);
	else if (s >= 1024)
		snprintf(b, n, "%zu KiB", s >> 10);
	else
		snprintf(b, n, "%zu B", s);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n, double *lo, double *hi)
{
	double s[64];

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_d);
	*lo = s[0];
	*hi = s[n - 1];
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void fmt_rate(char *b, size_t n, double r)
{
	if (r >= 1e6)
		snprintf(b, n, "%.1f M/s", r / 1e6);
	else
		snprintf(b, n, "%.0f k/s", r / 1e3);
}

static void fmt_bytes(char *b, size_t n, double v)
{
	if (v >= 1 << 30)
		snprintf(b, n, "%.2f GiB", v / (1 << 30));
	else
		snprintf(b, n, "%.1f MiB", v / (1 << 20));
}

static void run_one(const struct peer *p, const struct cell *c, double secs,
		    int node, struct result *r)
{
	char exe[PATH_MAX + 32], cs[32], ss[32], ts[16], ds[32], ns[16];
	char *argv[8];
	struct bench_child ch;
	double rate, rss, rss0, flt, ops;
	long placed, pages;
	char from[128];

	snprintf(exe, sizeof(exe), "%s/alloc-peer-%s", dir, p->exe);
	snprintf(cs, sizeof(cs), "%s:%d", c->pc ? "pc" : "batch", c->batch);
	snprintf(ss, sizeof(ss), "%zu", c->size);
	snprintf(ts, sizeof(ts), "%d", c->threads);
	snprintf(ds, sizeof(ds), "%.3f", secs);
	snprintf(ns, sizeof(ns), "%d", node);
	argv[0] = exe;
	argv[1] = (char *)p->variant;
	argv[2] = cs;
	argv[3] = ss;
	argv[4] = ts;
	argv[5] = ds;
	argv[6] = ns;
	argv[7] = NULL;
	if (bench_spawn(argv, environ, &ch) ||
	    sscanf(ch.out, "ok %lf %lf %lf %lf %lf %ld %ld %127s", &rate, &rss,
		   &rss0, &flt, &ops, &placed, &pages, from) != 8) {
		r->failed = true;
		return;
	}
	if (r->n < 64) {
		r->rate[r->n] = rate;
		r->rss[r->n] = rss;
		r->flt[r->n] = ops > 0 ? flt * 1000 / ops : 0;
		r->n++;
	}
	/* the worst placement seen */
	if (pages > 0 && (r->pages == 0 ||
			  (double)placed / (double)pages <
				  (double)r->placed / (double)r->pages)) {
		r->placed = placed;
		r->pages = pages;
	}
	snprintf(r->from, sizeof(r->from), "%s", from);
}

/* The node objects are asked for: MEMBIND_BENCH_NODE, else the last node
 * with memory (in a guest of several nodes, one the threads mostly do not
 * run on). */
static int pick_node(int *nnodes)
{
	const char *e = getenv("MEMBIND_BENCH_NODE");
	FILE *f = fopen("/sys/devices/system/node/has_memory", "r");
	char buf[256] = "0", *s;
	int last = 0;

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			strcpy(buf, "0");
		fclose(f);
	}
	*nnodes = 0;
	for (s = buf; *s;) {
		long a = strtol(s, &s, 10), b = a;

		if (*s == '-')
			b = strtol(s + 1, &s, 10);
		*nnodes += (int)(b - a + 1);
		last = (int)b;
		if (*s != ',')
			break;
		s++;
	}
	return e && *e ? atoi(e) : last;
}

int main(void)
{
	static const size_t sizes[] = { 64, 256, 4096, 65536, 1 << 20 };
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), nthr = 0, thr[3];
	int runs = bench_runs(5, 2), nnodes, node = pick_node(&nnodes);
	double secs = bench_quick() ? 0.1 : 0.25;
	struct cell cells[64];
	struct result (*res)[NPEERS];
	int ncells = 0;
	char *slash;
	ssize_t len;

	len = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (len <= 0)
		return 1;
	dir[len] = '\0';
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	for (int p = 0; p < NPEERS; p++) {
		char exe[PATH_MAX + 32];

		snprintf(exe, sizeof(exe), "%s/alloc-peer-%s", dir,
			 peers[p].exe);
		peers[p].skip = access(exe, X_OK) != 0;
	}

	thr[nthr++] = 1;
	if (ncpu >= 2)
		thr[nthr++] = 2;
	if (ncpu > 2)
		thr[nthr++] = ncpu > 128 ? 128 : ncpu;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int big = sizes[k] >= (1 << 20);

		for (int b = 0; b < 2; b++)
			for (int t = 0; t < nthr; t++)
				cells[ncells++] = (struct cell){
					.size = sizes[k],
					.batch = b ? (big ? 64 : 256) : 16,
					.threads = thr[t] };
		cells[ncells++] = (struct cell){
			.size = sizes[k], .batch = big ? 16 : 256,
			.threads = ncpu >= 4 ? ncpu / 2 * 2 : 2, .pc = true };
	}
	res = calloc((size_t)ncells, sizeof(*res));
	if (!res)
		return 1;

	for (int i = 0; i < runs; i++)
		for (int c = 0; c < ncells; c++)
			for (int p = 0; p < NPEERS; p++) {
				if (peers[p].skip || res[c][p].failed)
					continue;
				run_one(&peers[p], &cells[c], secs, node,
					&res[c][p]);
			}

	printf("### The heap against other allocators\n\n");
	printf("Every sample is a process of its own (`alloc-peer-X`, one executable per allocator, linked against it alone, so that mimalloc, jemalloc and tcmalloc replace malloc there only); %d interleaved repetitions of %.2f s per peer and cell; objects asked for on node %d (%d node(s) with memory).\n\n",
	       runs, secs, node, nnodes);
	for (int p = 0; p < NPEERS; p++) {
		const char *from = "";

		for (int c = 0; c < ncells && !*from; c++)
			from = res[c][p].from;
		if (peers[p].skip)
			printf("- %s: **skipped**, not built (its package was missing when the benchmark was built)\n",
			       peers[p].label);
		else
			printf("- %s: `alloc-peer-%s %s`, malloc from `%s`\n",
			       peers[p].label, peers[p].exe, peers[p].variant,
			       *from ? from : "?");
	}
	printf("\nglibc: the defaults (`M_TRIM_THRESHOLD` 128 KiB and `M_MMAP_THRESHOLD` 128 KiB, both moving up with the sizes freed); \"trim off\": `mallopt(M_TRIM_THRESHOLD, 1 GiB)` and `mallopt(M_MMAP_THRESHOLD, 32 MiB)` first (setting one fixes both, so the mmap threshold is raised too).\n\n");
	printf("Allocations + frees per second, all threads together: median over the repetitions, ± half the min–max spread in %% of it; under it the process's resident memory at the end (workers gone, every object freed). \"batch B × T\": T threads each allocating B objects, writing the first byte of each and freeing them, in a loop; \"pc\": T/2 producers hand batches of 256 (16 of 1 MiB) to T/2 consumers that free them. Ratios: the heap's rate over the peer's (above 1: the heap is faster).\n\n");
	printf("| case |");
	for (int p = 0; p < NPEERS; p++)
		if (!peers[p].skip)
			printf(" %s |", peers[p].label);
	printf(" heap/mimalloc | heap/jemalloc | heap/tcmalloc | heap/fastest |\n|---|");
	for (int p = 0; p < NPEERS; p++)
		if (!peers[p].skip)
			printf("---:|");
	printf("---:|---:|---:|---:|\n");
	for (int c = 0; c < ncells; c++) {
		double med[NPEERS] = {0}, best = 0;
		char sz[32], rb[32], mb[32];
		int bestp = -1;

		size_name(sz, sizeof(sz), cells[c].size);
		if (cells[c].pc)
			printf("| %s, pc %d→%d |", sz, cells[c].threads / 2,
			       cells[c].threads / 2);
		else
			printf("| %s, batch %d × %d |", sz, cells[c].batch,
			       cells[c].threads);
		for (int p = 0; p < NPEERS; p++) {
			struct result *r = &res[c][p];
			double lo, hi, rlo, rhi, rss;

			if (peers[p].skip)
				continue;
			if (!r->n) {
				printf(" %s |", r->failed ? "failed" : "n/a");
				continue;
			}
			med[p] = median(r->rate, r->n, &lo, &hi);
			rss = median(r->rss, r->n, &rlo, &rhi);
			fmt_rate(rb, sizeof(rb), med[p]);
			fmt_bytes(mb, sizeof(mb), rss);
			printf(" **%s** ±%.0f%%<br>%s |", rb,
			       50 * (hi - lo) / med[p], mb);
			if (p != HEAP && med[p] > best) {
				best = med[p];
				bestp = p;
			}
		}
		for (int k = 0; k < 3; k++) {
			int p = k == 0 ? MIMALLOC : k == 1 ? JEMALLOC : TCMALLOC;

			if (med[p] > 0 && med[HEAP] > 0)
				printf(" %.2f |", med[HEAP] / med[p]);
			else
				printf(" n/a |");
		}
		if (bestp >= 0 && med[HEAP] > 0)
			printf(" %.2f (%s) |\n", med[HEAP] / best,
			       peers[bestp].label);
		else
			printf(" n/a |\n");
	}

	printf("\nMinor page faults per 1000 allocations + frees (median): how often memory given back to the kernel (or never kept) is faulted in again.\n\n| case |");
	for (int p = 0; p < NPEERS; p++)
		if (!peers[p].skip)
			printf(" %s |", peers[p].label);
	printf("\n|---|");
	for (int p = 0; p < NPEERS; p++)
		if (!peers[p].skip)
			printf("---:|");
	printf("\n");
	for (int c = 0; c < ncells; c++) {
		char sz[32];

		size_name(sz, sizeof(sz), cells[c].size);
		if (cells[c].pc)
			printf("| %s, pc %d→%d |", sz, cells[c].threads / 2,
			       cells[c].threads / 2);
		else
			printf("| %s, batch %d × %d |", sz, cells[c].batch,
			       cells[c].threads);
		for (int p = 0; p < NPEERS; p++) {
			double lo, hi;

			if (peers[p].skip)
				continue;
			if (!res[c][p].n)
				printf(" n/a |");
			else
				printf(" %.3g |", median(res[c][p].flt,
							 res[c][p].n, &lo, &hi));
		}
		printf("\n");
	}

	printf("\nPlacement: of the pages of a last batch of %s objects (every byte written, 1 thread), the share that `move_pages(2)` (nodes = NULL) finds on node %d, the worst repetition of the batch-256 cell. Peers that take no node cannot place: their share is where first touch put the pages.\n\n| allocator |",
	       "256 (64 of 1 MiB)", node);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char sz[32];

		size_name(sz, sizeof(sz), sizes[k]);
		printf(" %s |", sz);
	}
	printf("\n|---|");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		printf("---:|");
	printf("\n");
	for (int p = 0; p < NPEERS; p++) {
		if (peers[p].skip)
			continue;
		printf("| %s%s |", peers[p].label,
		       peers[p].places ? "" : " (cannot place)");
		for (int c = 0; c < ncells; c++) {
			struct result *r = &res[c][p];

			if (cells[c].pc || cells[c].threads != 1 ||
			    cells[c].batch == 16)
				continue;
			if (!r->pages)
				printf(" n/a |");
			else
				printf(" %.1f %% of %ld |",
				       100.0 * (double)r->placed /
					       (double)r->pages,
				       r->pages);
		}
		printf("\n");
	}
	free(res);
	return 0;
}
