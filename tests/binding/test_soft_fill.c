/* SPDX-License-Identifier: MIT */
/*
 * Description: a soft binding on a memblk that fills up.  SOFT {m} on a
 * small memblk m (with CPUs, and two other memblks at different distances
 * from it) on a range larger than m's free memory (+ 48 MiB): the range
 * fills m first (of the first free-memory-of-m bytes touched, at least 60%
 * land on m; the first half of them all do), and the pages that did not
 * fit go elsewhere, the largest share to the memblk nearest m.  Then SOFT
 * over two memblks (MPOL_PREFERRED_MANY, Linux 5.15+) from m's CPUs: every
 * page on one of the two, all on the nearer.  HARD on a full memblk (OOM)
 * is not tried.
 *
 * Needs a memblk with less than 256 MiB free (the `tiny` topology of
 * tests/vm): exit 77 otherwise.  With MEMBIND_TEST_WRONG=1 the range is
 * bound to the memblk farthest from m (the next one, bt_bind_to(), may be
 * the nearest, where overflow would go anyway): the test must fail.
 */
#include <errno.h>
#include <stdio.h>

#include "bindtest.h"

#define SMALL (256UL << 20)
#define MARGIN (48UL << 20)

static char *map_region(size_t len)
{
	char *p = mmap(NULL, len + 2 * BT_PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || mprotect(p + BT_PAGE, len, PROT_READ | PROT_WRITE)) {
		perror("mmap");
		exit(T_FAIL);
	}
	madvise(p + BT_PAGE, len, MADV_NOHUGEPAGE);
	return p + BT_PAGE;
}

/* Pages per memblk of [p, p + len) by mem_where (as bt_where(), which
 * GCC 12 at -O2 warns about when called with these sizes). */
static void where(char *p, size_t len, long *c)
{
	size_t n = len / BT_PAGE;
	void **pages = calloc(n, sizeof(*pages));
	int *st = calloc(n, sizeof(*st));

	memset(c, 0, BT_MAX * sizeof(long));
	if (!pages || !st) {
		fprintf(stderr, "out of memory\n");
		exit(T_FAIL);
	}
	for (size_t i = 0; i < n; i++)
		pages[i] = p + i * BT_PAGE;
	/* Every page was touched: -ENOENT is a page being migrated (the
	 * kernel compacts the full node), seen a moment later where it is. */
	for (int tries = 0; tries < 10; tries++) {
		size_t absent = 0;

		CHECK_EQ(mem_where(0, pages, n, st), 0);
		for (size_t i = 0; i < n; i++)
			absent += st[i] == -ENOENT;
		if (!absent)
			break;
		printf("(%zu pages in migration: read again)\n", absent);
		usleep(50000);
	}
	for (size_t i = 0; i < n; i++)
		if (st[i] >= 0 && st[i] < BT_MAX)
			c[st[i]]++;
	free(pages);
	free(st);
}

/* The memblk nearest m (sign 1) or farthest from it (sign -1). */
static int extreme(int m, int sign)
{
	int best = -1;

	for (int x = 0; x < memblk_count(); x++)
		if (x != m && (best < 0 || sign * memblk_distance(m, x) <
						   sign * memblk_distance(m, best)))
			best = x;
	return best;
}

static uint64_t free_of(int m)
{
	struct memblk_info info = MEMBLK_INFO_INIT;

	return memblk_info(m, &info) ? 0 : info.free_bytes;
}

/* A small memblk with CPUs and others at two distances; of several, the
 * one whose nearest neighbour has the most room for the overflow. */
static int pick(void)
{
	int best = -1;

	for (int m = 0; m < memblk_count(); m++) {
		struct memblk_info info = MEMBLK_INFO_INIT;
		int near = extreme(m, 1), far = extreme(m, -1);

		if (memblk_info(m, &info) || !info.ncpus ||
		    info.free_bytes >= SMALL || info.free_bytes < (16UL << 20) ||
		    near < 0 || memblk_distance(m, near) == memblk_distance(m, far))
			continue;
		if (best < 0 || free_of(near) > free_of(extreme(best, 1)))
			best = m;
	}
	return best;
}

static void fill(int m, int near, int far)
{
	uint64_t before = free_of(m);
	size_t len = before + MARGIN, npages = len / BT_PAGE;
	size_t prefix = before & ~(BT_PAGE - 1);
	unsigned long mask = 1UL << (bt_wrong() ? far : m), got, b;
	char *p = map_region(len);
	long c[BT_MAX], pre[BT_MAX], half[BT_MAX];
	int n = memblk_count();

	printf("SOFT {%d}: %llu MiB free there; touching %zu MiB; nearest %d (%llu MiB free), farthest %d\n",
	       m, (unsigned long long)before >> 20, len >> 20, near,
	       (unsigned long long)free_of(near) >> 20, far);
	CHECK_EQ(mem_setbinding_range(p, len, BT_MAX, &mask, MEMBIND_SOFT), 0);
	bt_touch(p, len);
	bt_placement("whole range", p, len, c);
	where(p, prefix, pre);
	where(p, prefix / 2 & ~(BT_PAGE - 1), half);
	bt_print("first free-of-m bytes", pre, n);
	CHECK(pre[m] * 10 >= (long)(prefix / BT_PAGE) * 6);
	CHECK_EQ(half[m], (long)(prefix / 2 / BT_PAGE));
	CHECK(c[m] < (long)npages); /* some did not fit */
	for (int x = 0; x < n; x++) {
		if (x == m || x == near)
			continue;
		if (c[near] <= c[x])
			fprintf(stderr, "overflow: %ld pages on nearest %d, %ld on %d\n",
				c[near], near, c[x], x);
		CHECK(c[near] > c[x]);
	}
	CHECK_EQ(mem_getbinding_range(p, BT_MAX, &got, &b), n);
	CHECK_EQ(got, 1UL << m);
	CHECK_EQ(b, MEMBIND_SOFT);
	munmap(p - BT_PAGE, len + 2 * BT_PAGE);
}

/* SOFT {near, far} touched from m's CPUs: all on near. */
static void soft_many(int m, int near, int far)
{
	size_t len = 16UL << 20, npages = len / BT_PAGE;
	unsigned long want = 1UL << near | 1UL << far, got, b;
	unsigned long mask = bt_wrong() ? 1UL << m | 1UL << far : want;
	char *p = map_region(len);
	long c[BT_MAX];
	int ret;

	ret = mem_setbinding_range(p, len, BT_MAX, &mask, MEMBIND_SOFT);
	if (ret)
		fprintf(stderr, "SOFT over two memblks: %s\n", strerror(-ret));
	CHECK_EQ(ret, 0);
	bt_touch(p, len);
	bt_placement("SOFT over two", p, len, c);
	CHECK_EQ(c[near] + c[far], (long)npages);
	CHECK_EQ(c[near], (long)npages);
	CHECK_EQ(mem_getbinding_range(p, BT_MAX, &got, &b), memblk_count());
	CHECK_EQ(got, want);
	CHECK_EQ(b, MEMBIND_SOFT);
	munmap(p - BT_PAGE, len + 2 * BT_PAGE);
}

int main(void)
{
	int m, near, far;

	bt_need_memblks(3, "a small memblk and two others to overflow to");
	CHECK_EQ(membind_topology_refresh(), 0);
	m = pick();
	if (m < 0) {
		printf("SKIP: no memblk with CPUs, less than %lu MiB free and others at two distances (run in the 'tiny' topology)\n",
		       SMALL >> 20);
		return T_SKIP;
	}
	near = extreme(m, 1);
	far = extreme(m, -1);
	if (!bt_pin_node(memblk_to_node(m))) {
		printf("cannot run on memblk %d's CPUs\n", m);
		return T_FAIL;
	}
	fill(m, near, far);
	soft_many(m, near, far);
	return t_finish("test_soft_fill");
}
