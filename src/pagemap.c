/* SPDX-License-Identifier: MIT */
/*
 * mem_where() without a walk of the page table per page: the page frame
 * numbers of /proc/PID/pagemap (read in bulk, one pread per run of nearby
 * pages), mapped to nodes through the memory blocks of sysfs
 * (/sys/devices/system/memory/memoryN, linked under nodes/nodeM).
 *
 * It must answer exactly what the move_pages() path answers, so a page is
 * decided here only when the pagemap entry leaves no doubt:
 *
 *   - not present, not swapped: -ENOENT inside a mapping of
 *     /proc/PID/maps, -EFAULT outside (what efault_to_enoent() makes of
 *     move_pages() on 6.1 and 6.12 alike);
 *   - swapped (bit 62: swap, migration and device entries): -ENOENT;
 *   - the shared zero page, or the huge zero page, whose frames are found
 *     once by faulting them in here (move_pages() says -EFAULT for both,
 *     inside a mapping: -ENOENT);
 *   - present, anonymous (bit 61 clear) and mapped once (bit 56): the
 *     kernel had a struct page for it (vm_normal_page()), which is what
 *     move_pages() reports the node of;
 *   - present, file or shared memory (bit 61): likewise, once the huge zero
 *     page is known (a PMD of it reads as a file page on 6.9 and later).
 *
 * Then the frame's memory block must be linked under exactly one node, and
 * still be the block we read (the inode number of memoryN changes when a
 * block is removed and added again).  Anything else (a page shared after
 * fork(), special mappings, frames outside every block, a short read) is
 * left undecided, for one move_pages() call over those pages only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "syscalls.h"

#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_EXCLUSIVE (1ULL << 56)
#define PM_FILE (1ULL << 61)
#define PM_SWAP (1ULL << 62)
#define PM_PRESENT (1ULL << 63)

#define CHUNK 8192	  /* entries per pread: 64 KiB */
#define GAP 64		  /* pages skipped rather than start another pread */
#define MIN_PAGES 32	  /* below this, one move_pages() is cheaper */
#define MIN_PER_READ 8	  /* pages per pread on average, or move_pages() */
#define MAX_BLOCKS (1UL << 22)
#define HUGE_PAGES 512	  /* 4-KiB frames of a PMD */
#define REFRESH_NS 1000000000ULL /* at most one re-read of sysfs a second */

/* Frames belong to the live system's memory blocks, whatever tree the
 * topology was read from: mem_where() runs on the live topology only. */
#define LIVE_MEMORY_DIR MB_SYS "/" MB_MEMORY_DIR
#define LIVE_NODE_DIR MB_SYS "/" MB_NODE_DIR

/* ---- memory blocks: block id -> node ---- */
struct blk_table {
	uint64_t frames;   /* frames per block */
	size_t n;	   /* block ids below n */
	int *node;	   /* -1: no block or no node, -2: several nodes */
	uint64_t *ino;	   /* inode of memoryN when read */
	struct blk_table *retired_next;
};

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct blk_table *tab;	  /* read with __atomic_load_n */
static struct blk_table *retired; /* readers may still hold them */
static uint64_t tab_loaded_ns;
static int tab_err;

/* "memory123" -> 123; -1 for anything else. */
static long block_id(const char *name)
{
	uint64_t id;

	if (strncmp(name, "memory", 6) ||
	    mb_parse_u64(name + 6, strlen(name + 6), MAX_BLOCKS - 1, &id))
		return -1;
	return (long)id;
}

static int grow(struct blk_table *b, size_t want)
{
	size_t n = b->n ? b->n : 64;
	int *node;
	uint64_t *ino;

	while (n < want)
		n *= 2;
	if (n == b->n)
		return 0;
	node = realloc(b->node, n * sizeof(*node));
	if (node)
		b->node = node;
	ino = realloc(b->ino, n * sizeof(*ino));
	if (ino)
		b->ino = ino;
	if (!node || !ino)
		return -ENOMEM;
	for (size_t i = b->n; i < n; i++) {
		b->node[i] = -1;
		b->ino[i] = 0;
	}
	b->n = n;
	return 0;
}

static void blk_free(struct blk_table *b)
{
	if (b) {
		free(b->node);
		free(b->ino);
		free(b);
	}
}

/* Blocks from memoryN entries (inode numbers), then nodes from the
 * nodeM/memoryN links. */
static int blk_load(struct blk_table **out)
{
	struct blk_table *b;
	struct dirent *de;
	uint64_t bs, ps = mb_page_size();
	int ret, links = 0;
	DIR *d;

	ret = mb_block_size(MB_SYS, &bs);
	if (ret)
		return ret == -ENOENT || ret == -EINVAL ? -EOPNOTSUPP : ret;
	if (bs < ps || bs % ps)
		return -EOPNOTSUPP;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->frames = bs / ps;

	d = opendir(LIVE_MEMORY_DIR);
	if (!d) {
		blk_free(b);
		return -EOPNOTSUPP;
	}
	while (!ret && (de = readdir(d))) {
		long id = block_id(de->d_name);

		if (id < 0)
			continue;
		ret = grow(b, (size_t)id + 1);
		if (!ret)
			b->ino[id] = de->d_ino;
	}
	closedir(d);

	d = opendir(LIVE_NODE_DIR);
	if (!d && !ret)
		ret = -EOPNOTSUPP;
	while (!ret && (de = readdir(d))) {
		struct dirent *me;
		char path[320];
		uint64_t nid;
		DIR *nd;

		if (strncmp(de->d_name, "node", 4) ||
		    mb_parse_u64(de->d_name + 4, strlen(de->d_name + 4),
				 MB_MAX_NODES - 1, &nid))
			continue;
		snprintf(path, sizeof(path), LIVE_NODE_DIR "/%s", de->d_name);
		nd = opendir(path);
		if (!nd)
			continue; /* a node going offline: its blocks stay unknown */
		while ((me = readdir(nd))) {
			long id = block_id(me->d_name);

			/* A block not listed in memory/ (added since): unknown. */
			if (id < 0 || (size_t)id >= b->n || !b->ino[id])
				continue;
			b->node[id] = b->node[id] == -1 ? (int)nid : -2;
			links++;
		}
		closedir(nd);
	}
	if (d)
		closedir(d);
	if (!ret && !links)
		ret = -EOPNOTSUPP;
	if (ret) {
		blk_free(b);
		return ret;
	}
	*out = b;
	return 0;
}

/* The current table, loading it on first use; or a fresher one than old
 * (old NULL: any), at most once per REFRESH_NS.  NULL if there is none. */
static struct blk_table *blk_get(struct blk_table *old)
{
	struct blk_table *b = __atomic_load_n(&tab, __ATOMIC_ACQUIRE), *nb;

	if (b && b != old)
		return b;
	pthread_mutex_lock(&tab_lock);
	b = tab;
	if (b && b != old)
		goto out;
	if (tab_loaded_ns && mb_now_ns() - tab_loaded_ns < REFRESH_NS &&
	    (b || tab_err == -EOPNOTSUPP))
		goto out; /* too soon: the caller's pages stay undecided */
	tab_loaded_ns = mb_now_ns();
	tab_err = blk_load(&nb);
	if (tab_err)
		goto out;
	if (b) {
		b->retired_next = retired;
		retired = b;
	}
	__atomic_store_n(&tab, nb, __ATOMIC_RELEASE);
	b = nb;
out:
	pthread_mutex_unlock(&tab_lock);
	return b == old ? NULL : b;
}

/* ---- the zero pages, found once ---- */
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static uint64_t zero_pfn;	/* 0: unknown */
static uint64_t huge_zero_pfn; /* 0: unknown (then file pages are undecided) */

static uint64_t self_entry(int fd, const void *addr)
{
	uint64_t e;
	off_t off = (off_t)((uintptr_t)addr / (uintptr_t)mb_page_size() *
			    sizeof(e));

	if (pread(fd, &e, sizeof(e), off) != (ssize_t)sizeof(e))
		return 0;
	return e;
}

/* Read-fault addr (in a fresh private anonymous mapping): the frame it got
 * if move_pages() calls it a special page (-EFAULT), else 0. */
static uint64_t zero_frame(int fd, char *addr)
{
	void *p = addr;
	uint64_t e;
	int st = 0;

	(void)*(volatile char *)addr;
	e = self_entry(fd, addr);
	if ((e & (PM_PRESENT | PM_SWAP)) != PM_PRESENT || !(e & PM_PFN_MASK))
		return 0;
	if (mb_sys_move_pages(0, 1, &p, NULL, &st, 0) || st != -EFAULT)
		return 0;
	return e & PM_PFN_MASK;
}

static void probe(void)
{
	size_t ps = mb_page_size(), hs = HUGE_PAGES * ps;
	int fd = open(MB_PROC "/self/pagemap", O_RDONLY | O_CLOEXEC);
	char *p;

	if (fd < 0)
		return;
	p = mmap(NULL, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		zero_pfn = zero_frame(fd, p);
		munmap(p, ps);
	}
	/* The huge zero page stays allocated while an mm that used it lives
	 * (MMF_HUGE_ZERO_PAGE), so its frame cannot change under us. */
	p = mmap(NULL, 2 * hs, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (zero_pfn && p != MAP_FAILED) {
		char *a = (char *)(((uintptr_t)p + hs - 1) & ~(uintptr_t)(hs - 1));
		uint64_t f;

		if (!madvise(a, hs, MADV_HUGEPAGE) &&
		    (f = zero_frame(fd, a)) && f != zero_pfn &&
		    f % HUGE_PAGES == 0 &&
		    zero_frame(fd, a + hs - ps) == f + HUGE_PAGES - 1)
			huge_zero_pfn = f;
	}
	if (p != MAP_FAILED)
		munmap(p, 2 * hs);
	close(fd);
}

/* ---- one call ---- */
struct where_call {
	const struct mb_topo *t;
	pid_t pid;
	struct blk_table *b;
	bool refreshed;
	int memfd;	       /* LIVE_MEMORY_DIR, opened on first use */
	uint64_t seen[64];     /* blocks checked in this call, id + 1 */
	struct mb_maps maps;   /* /proc/PID/maps, read when first needed */
	int maps_state;	       /* 0 not read, 1 read, -1 failed */
};

/* The memblk of a frame, or MB_WHERE_UNDECIDED. */
static int frame_memblk(struct where_call *c, uint64_t pfn)
{
	for (int tries = 0; tries < 2; tries++) {
		struct blk_table *b = c->b;
		uint64_t id = pfn / b->frames;
		int node = id < b->n ? b->node[id] : -1;
		struct stat st;
		char name[32];

		if (node >= 0 && c->seen[id % 64] == id + 1)
			goto found;
		if (node >= 0) {
			if (c->memfd < 0)
				c->memfd = open(LIVE_MEMORY_DIR, O_RDONLY |
						O_DIRECTORY | O_CLOEXEC);
			snprintf(name, sizeof(name), "memory%llu",
				 (unsigned long long)id);
			if (c->memfd >= 0 &&
			    !fstatat(c->memfd, name, &st, 0) &&
			    (uint64_t)st.st_ino == b->ino[id]) {
				c->seen[id % 64] = id + 1;
				goto found;
			}
		}
		if (node == -2 || c->refreshed)
			return MB_WHERE_UNDECIDED;
		/* An unknown block, or one added again: read sysfs again. */
		c->refreshed = true;
		b = blk_get(c->b);
		if (!b)
			return MB_WHERE_UNDECIDED;
		c->b = b;
		memset(c->seen, 0, sizeof(c->seen));
		continue;
found:
		if (node >= c->t->node_limit || c->t->nodes[node].memblk < 0)
			return MB_WHERE_UNDECIDED;
		return c->t->nodes[node].memblk;
	}
	return MB_WHERE_UNDECIDED;
}

/* The answer for one entry; -EPERM if frames are hidden from us. */
static int decide(struct where_call *c, uint64_t e, uintptr_t addr)
{
	uint64_t pfn = e & PM_PFN_MASK;

	if (!(e & PM_PRESENT)) {
		if (e & PM_SWAP)
			return -ENOENT;
		if (!c->maps_state)
			c->maps_state =
				mb_maps_load(c->pid, 0, &c->maps) ? -1 : 1;
		if (c->maps_state < 0)
			return MB_WHERE_UNDECIDED;
		return mb_maps_find(&c->maps, addr) ? -ENOENT : -EFAULT;
	}
	if (!pfn)
		return -EPERM;
	if (zero_pfn && pfn == zero_pfn)
		return -ENOENT;
	if (huge_zero_pfn && pfn - huge_zero_pfn < HUGE_PAGES)
		return -ENOENT;
	if (e & PM_FILE) {
		if (!huge_zero_pfn)
			return MB_WHERE_UNDECIDED;
	} else if (!(e & PM_EXCLUSIVE)) {
		return MB_WHERE_UNDECIDED;
	}
	return frame_memblk(c, pfn);
}

static int no_pagemap;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static unsigned long stat_decided, stat_undecided;

static void read_env(void)
{
	const char *s = secure_getenv("MEMBIND_NO_PAGEMAP");

	no_pagemap = s && *s && strcmp(s, "0");
}

void mb_where_pagemap_stats(unsigned long *decided, unsigned long *undecided)
{
	*decided = __atomic_load_n(&stat_decided, __ATOMIC_RELAXED);
	*undecided = __atomic_load_n(&stat_undecided, __ATOMIC_RELAXED);
}

int mb_where_pagemap(const struct mb_topo *t, pid_t pid, void *const *pages,
		     size_t count, int *memblk)
{
	return mb_where_pagemap_raw(t, pid, pages, count, memblk, NULL);
}

int mb_where_pagemap_raw(const struct mb_topo *t, pid_t pid,
			 void *const *pages, size_t count, int *memblk,
			 uint64_t *raw)
{
	uintptr_t ps = (uintptr_t)mb_page_size();
	struct where_call c = {.t = t, .pid = pid, .memfd = -1};
	size_t reads = 0, undecided = 0;
	uint64_t *buf = NULL;
	char path[64];
	int fd, ret = 0;

	pthread_once(&env_once, read_env);
	if (no_pagemap || count < MIN_PAGES)
		return -EOPNOTSUPP;
	/* How many preads: too many for the pages, and move_pages() wins. */
	for (size_t i = 1; i < count; i++) {
		uintptr_t a = (uintptr_t)pages[i - 1] / ps,
			  b = (uintptr_t)pages[i] / ps;

		reads += b < a || b - a > GAP;
	}
	if ((reads + 1) * MIN_PER_READ > count)
		return -EOPNOTSUPP;
	c.b = blk_get(NULL);
	if (!c.b)
		return -EOPNOTSUPP;
	pthread_once(&probe_once, probe);

	mb_proc_path(path, sizeof(path), pid, 0, "pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES ? -EPERM : -EOPNOTSUPP;
	buf = malloc(CHUNK * sizeof(*buf));
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count && !ret;) {
		uintptr_t base = (uintptr_t)pages[i] / ps, last = base;
		size_t j = i + 1, got;
		ssize_t len;

		/* Pages in increasing order, close together, within a chunk. */
		while (j < count) {
			uintptr_t p = (uintptr_t)pages[j] / ps;

			if (p < last || p - last > GAP || p - base >= CHUNK)
				break;
			last = p;
			j++;
		}
		len = pread(fd, buf, (last - base + 1) * sizeof(*buf),
			    (off_t)(base * sizeof(*buf)));
		if (len < 0 && errno != EINVAL && errno != EFAULT) {
			ret = -errno;
			break;
		}
		/* Beyond the task's address space the read is short. */
		got = len > 0 ? (size_t)len / sizeof(*buf) : 0;
		for (; i < j; i++) {
			uintptr_t p = (uintptr_t)pages[i] / ps;
			int r = p - base < got ?
					decide(&c, buf[p - base],
					       (uintptr_t)pages[i]) :
					MB_WHERE_UNDECIDED;

			if (r == -EPERM) {
				ret = -EPERM;
				break;
			}
			memblk[i] = r;
			if (raw)
				raw[i] = p - base < got ? buf[p - base] : 0;
			undecided += r == MB_WHERE_UNDECIDED;
		}
	}
	free(buf);
	mb_maps_free(&c.maps);
	close(fd);
	if (c.memfd >= 0)
		close(c.memfd);
	if (ret)
		return ret;
	__atomic_add_fetch(&stat_decided, count - undecided, __ATOMIC_RELAXED);
	__atomic_add_fetch(&stat_undecided, undecided, __ATOMIC_RELAXED);
	return (int)undecided;
}

/* fork(): see fork.c. */
void mb_pagemap_fork(enum mb_fork phase)
{
	if (phase == MB_FORK_PREPARE)
		pthread_mutex_lock(&tab_lock);
	else
		pthread_mutex_unlock(&tab_lock);
}
