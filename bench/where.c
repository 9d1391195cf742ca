/* SPDX-License-Identifier: MIT */
/*
 * Where the pages of 1 GiB are: mem_where() on 262144 touched 4-KiB pages
 * (MADV_NOHUGEPAGE), against one get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR)
 * per page, one raw move_pages() call, libnuma's numa_move_pages() and
 * hwloc's hwloc_get_area_memlocation().  A sample is one pass over the whole
 * area; the methods are interleaved pass by pass.
 *
 * mem_where, move_pages and numa_move_pages give the node of every page;
 * hwloc gives only the set of nodes the area touches (it calls move_pages
 * itself, then folds the answer).
 *
 * mem_where() reads the page frames of /proc/PID/pagemap when it may
 * (CAP_SYS_ADMIN, memory blocks in sysfs) and calls move_pages() otherwise;
 * its second row is its move_pages() path alone, measured in a worker
 * process forked before the area exists (with MEMBIND_NO_PAGEMAP=1; its own
 * 1 GiB, touched the same way), which runs one pass when told to.
 *
 * A last row is not a peer but the prototype of the pagemap path: the page
 * frame numbers from /proc/self/pagemap, mapped to nodes through the memory
 * blocks of each node in sysfs (loaded once, outside the timing).
 */
#include "bench.h"

#include <hwloc.h>
#include <membind.h>
#include <numa.h>
#include <dirent.h>
#include <numaif.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define AREA (1UL << 30)

enum {
	M_WHERE,    /* mem_where */
	M_WHERE_MP, /* mem_where, MEMBIND_NO_PAGEMAP=1 (worker process) */
	M_PERPAGE,  /* get_mempolicy per page */
	M_MOVE,     /* raw move_pages, one call */
	M_NUMA,     /* numa_move_pages */
	M_HWLOC,    /* hwloc_get_area_memlocation */
	M_PAGEMAP,  /* /proc/self/pagemap + memory blocks, by hand */
	NR_METHODS,
};

static const char *const names[NR_METHODS] = {
	"membind: `mem_where(0, pages, n, memblk)`",
	"membind: `mem_where`, its `move_pages` path (`MEMBIND_NO_PAGEMAP=1`)",
	"raw: `get_mempolicy(&node, NULL, 0, page, MPOL_F_NODE\\|MPOL_F_ADDR)` per page",
	"raw: `move_pages(0, n, pages, NULL, status, 0)`, one call",
	"libnuma: `numa_move_pages(0, n, pages, NULL, status, 0)`",
	"hwloc: `hwloc_get_area_memlocation(area, nodeset, BYNODESET)` (the set of nodes only)",
	"raw, another way: `pread(/proc/self/pagemap)` PFNs → memory block → node (needs CAP_SYS_ADMIN)",
};

/* PFN -> node through the memory blocks of each node
 * (/sys/devices/system/node/nodeN/memoryM, block_size_bytes), loaded once. */
static struct {
	short *node; /* by block id, -1: none */
	long nblocks;
	unsigned long pages_per_block;
	int fd;      /* /proc/self/pagemap */
	uint64_t *pm;
} pmap = {.fd = -1};

static int pagemap_setup(size_t n)
{
	char buf[64], path[64];
	struct dirent *de;
	FILE *f;
	DIR *d;

	f = fopen("/sys/devices/system/memory/block_size_bytes", "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	pmap.pages_per_block = strtoul(buf, NULL, 16) / (unsigned long)sysconf(_SC_PAGESIZE);
	d = opendir("/sys/devices/system/memory");
	if (!d || !pmap.pages_per_block)
		return -ENOENT;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "memory", 6) &&
		    atol(de->d_name + 6) + 1 > pmap.nblocks)
			pmap.nblocks = atol(de->d_name + 6) + 1;
	closedir(d);
	pmap.node = malloc((size_t)pmap.nblocks * sizeof(*pmap.node));
	pmap.pm = malloc(n * sizeof(*pmap.pm));
	if (!pmap.node || !pmap.pm)
		return -ENOMEM;
	for (long b = 0; b < pmap.nblocks; b++)
		pmap.node[b] = -1;
	for (int node = 0; node < 4096; node++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d",
			 node);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d)))
			if (!strncmp(de->d_name, "memory", 6) &&
			    de->d_name[6] >= '0' && de->d_name[6] <= '9' &&
			    atol(de->d_name + 6) < pmap.nblocks)
				pmap.node[atol(de->d_name + 6)] = (short)node;
		closedir(d);
	}
	pmap.fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	return pmap.fd < 0 ? -errno : 0;
}

/* The node of each page: one pread per run of consecutive pages. */
static long pagemap_where(void *const *pages, size_t n, int *status)
{
	long page = sysconf(_SC_PAGESIZE);

	for (size_t i = 0; i < n;) {
		uintptr_t base = (uintptr_t)pages[i] / (uintptr_t)page;
		size_t j = i + 1;
		ssize_t len;

		while (j < n && (uintptr_t)pages[j] / (uintptr_t)page ==
					base + (j - i))
			j++;
		len = pread(pmap.fd, pmap.pm + i, (j - i) * sizeof(*pmap.pm),
			    (off_t)(base * sizeof(*pmap.pm)));
		if (len != (ssize_t)((j - i) * sizeof(*pmap.pm)))
			return len < 0 ? -errno : -EIO;
		i = j;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t e = pmap.pm[i], pfn = e & ((1ULL << 55) - 1);
		unsigned long b = pfn / pmap.pages_per_block;

		if (!(e >> 63))
			status[i] = -ENOENT; /* not present */
		else if (!pfn)
			return -EPERM; /* PFNs hidden: no CAP_SYS_ADMIN */
		else
			status[i] = b < (unsigned long)pmap.nblocks ?
					    pmap.node[b] : -ENOENT;
	}
	return 0;
}

static void die(const char *what, long err)
{
	fprintf(stderr, "where: %s: %s\n", what,
		strerror((int)(err < 0 ? -err : err)));
	exit(1);
}

/* The worker: mem_where() without the pagemap path, one pass per command
 * byte; answers the time of the pass and the pages found on memblk 0. */
static int worker_cmd = -1, worker_res = -1;

static void worker(int cmd, int res)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t n = AREA / (size_t)page;
	char *area, c;
	void **pages;
	int *status;

	setenv("MEMBIND_NO_PAGEMAP", "1", 1);
	area = mmap(NULL, AREA, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || madvise(area, AREA, MADV_NOHUGEPAGE))
		_exit(1);
	pages = malloc(n * sizeof(*pages));
	status = malloc(n * sizeof(*status));
	if (!pages || !status)
		_exit(1);
	for (size_t i = 0; i < n; i++) {
		area[i * (size_t)page] = 1;
		pages[i] = area + i * (size_t)page;
	}
	while (read(cmd, &c, 1) == 1) {
		uint64_t r[2] = {0, 0}, t0 = bench_now_ns();

		if (mem_where(0, pages, n, status))
			_exit(1);
		r[0] = bench_now_ns() - t0;
		for (size_t i = 0; i < n; i++)
			r[1] += status[i] == 0;
		if (write(res, r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(1);
	}
	_exit(0);
}

static void worker_start(void)
{
	int a[2], b[2];
	pid_t pid;

	if (pipe(a) || pipe(b))
		die("pipe", errno);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		worker(a[0], b[1]);
	}
	close(a[0]);
	close(b[1]);
	worker_cmd = a[1];
	worker_res = b[0];
}

/* One pass in the worker: its time, and its count on memblk 0. */
static long worker_pass(uint64_t *ns, long *on0)
{
	uint64_t r[2];

	if (write(worker_cmd, "g", 1) != 1 ||
	    read(worker_res, r, sizeof(r)) != (ssize_t)sizeof(r))
		return -EPIPE;
	*ns = r[0];
	*on0 = (long)r[1];
	return 0;
}

int main(void)
{
	struct bench_samples smp[NR_METHODS] = {0};
	struct bench_stats st[NR_METHODS];
	long page = sysconf(_SC_PAGESIZE);
	size_t n = AREA / (size_t)page;
	int runs = bench_runs(40, 4);
	hwloc_topology_t topo;
	hwloc_nodeset_t set;
	char *area, buf[128], hwset[64] = "";
	void **pages;
	int *status;
	long counts[NR_METHODS] = {0}; /* pages found on memblk/node 0 */
	int node0 = memblk_to_node(0);
	uint64_t t_touch;
	bool pm_ok;

	if (node0 < 0)
		die("memblk_to_node", node0);
	worker_start(); /* before the area: it must not share our pages */
	area = mmap(NULL, AREA, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		die("mmap 1 GiB", errno);
	if (madvise(area, AREA, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE)", errno);
	t_touch = bench_now_ns();
	for (size_t i = 0; i < n; i++)
		area[i * (size_t)page] = 1;
	t_touch = bench_now_ns() - t_touch;
	pages = malloc(n * sizeof(*pages));
	status = malloc(n * sizeof(*status));
	if (!pages || !status)
		die("malloc", ENOMEM);
	for (size_t i = 0; i < n; i++)
		pages[i] = area + i * (size_t)page;

	if (numa_available() < 0)
		die("numa_available", ENOSYS);
	if (hwloc_topology_init(&topo) || hwloc_topology_load(topo))
		die("hwloc_topology_load", errno);
	set = hwloc_bitmap_alloc();
	pm_ok = pagemap_setup(n) == 0;

	for (int r = -1; r < runs; r++) { /* one warm-up pass */
		for (int k = 0; k < NR_METHODS; k++) {
			int m = (r + 1 + k) % NR_METHODS; /* rotate the order */
			uint64_t t0, t1, wns = 0;
			long ret = 0, on0 = 0, won0 = 0;

			memset(status, 0xff, n * sizeof(*status));
			t0 = bench_now_ns();
			switch (m) {
			case M_WHERE:
				ret = mem_where(0, pages, n, status);
				break;
			case M_WHERE_MP:
				ret = worker_pass(&wns, &won0);
				break;
			case M_PERPAGE:
				for (size_t i = 0; i < n && !ret; i++)
					if (syscall(SYS_get_mempolicy,
						    &status[i], NULL, 0,
						    pages[i],
						    MPOL_F_NODE | MPOL_F_ADDR))
						ret = -errno;
				break;
			case M_MOVE:
				if (syscall(SYS_move_pages, 0, n, pages, NULL,
					    status, 0))
					ret = -errno;
				break;
			case M_NUMA:
				if (numa_move_pages(0, n, pages, NULL, status,
						    0))
					ret = -errno;
				break;
			case M_PAGEMAP:
				if (!pm_ok)
					continue;
				ret = pagemap_where(pages, n, status);
				if (ret == -EPERM) {
					pm_ok = false;
					continue;
				}
				break;
			case M_HWLOC:
				if (hwloc_get_area_memlocation(
					    topo, area, AREA, set,
					    HWLOC_MEMBIND_BYNODESET))
					ret = -errno;
				break;
			}
			t1 = bench_now_ns();
			if (ret < 0)
				die(names[m], ret);
			if (r < 0)
				continue;
			if (m == M_WHERE_MP) { /* timed in the worker */
				bench_add(&smp[m], wns);
				counts[m] = won0;
				continue;
			}
			bench_add(&smp[m], t1 - t0);
			if (m == M_HWLOC) {
				hwloc_bitmap_list_snprintf(hwset, sizeof(hwset),
							   set);
				continue;
			}
			/* membind answers memblks, the others nodes. */
			for (size_t i = 0; i < n; i++)
				on0 += status[i] == (m == M_WHERE ? 0 : node0);
			counts[m] = on0;
		}
	}

	printf("### Where pages are (`where`)\n\n");
	printf("The node of each of the %zu pages of 1 GiB (4 KiB pages, "
	       "`MADV_NOHUGEPAGE`, every page touched: %.0f ms to fault them "
	       "in), one pass per sample, %d samples per method, methods "
	       "interleaved. Cells: **median** (p10 – p90) of a whole pass, "
	       "the median per page, and membind's median over the method's.\n\n",
	       n, t_touch / 1e6, runs);
	printf("| method | 1 GiB | per page | membind/method |\n");
	printf("|---|---:|---:|---:|\n");
	for (int m = 0; m < NR_METHODS; m++)
		st[m] = bench_stats(&smp[m]);
	for (int m = 0; m < NR_METHODS; m++) {
		char pp[32];

		bench_fmt_stats(buf, sizeof(buf), &st[m]);
		printf("| %s | %s |", names[m], buf);
		if (st[m].n)
			snprintf(pp, sizeof(pp), "%.1f ns",
				 st[m].med / (double)n);
		else
			snprintf(pp, sizeof(pp), "n/a");
		printf(" %s |", pp);
		bench_fmt_ratio(buf, sizeof(buf), &st[M_WHERE], &st[m]);
		printf(" %s |\n", m == M_WHERE ? "1" : buf);
	}
	printf("\nPages found on memblk 0 (node %d): membind %ld, "
	       "membind's move_pages path %ld, "
	       "get_mempolicy %ld, move_pages %ld, numa_move_pages %ld, "
	       "pagemap %ld of %zu; hwloc: nodes {%s}.\n\n",
	       node0, counts[M_WHERE], counts[M_WHERE_MP], counts[M_PERPAGE],
	       counts[M_MOVE],
	       counts[M_NUMA], counts[M_PAGEMAP], n, hwset);

	close(worker_cmd); /* the worker exits */
	while (wait(NULL) > 0)
		;
	for (int m = 0; m < NR_METHODS; m++)
		bench_free(&smp[m]);
	hwloc_bitmap_free(set);
	hwloc_topology_destroy(topo);
	free(pages);
	free(status);
	munmap(area, AREA);
	return 0;
}
