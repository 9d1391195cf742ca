/* SPDX-License-Identifier: MIT */
/*
 * Description: where mem_alloc() buffers live, for every scheme.  HARD and
 * SOFT on each memblk (and HARD with MEM_ALLOC_POPULATE, pages there before
 * any touch, and with MEM_ALLOC_THP): every page on it.  ROUND_ROBIN over
 * all memblks: an even share on each.  STRIPE over all memblks with 2 MiB
 * and 64 KiB stripes: stripe i wholly on the i-th memblk of the mask.
 * FIRST_TOUCH: touched by a thread on each memblk's CPUs, every page on that
 * memblk.  WEIGHTED (6.9+): every page within the mask, some on each.
 * Placement is read from numa_maps and mem_where(), which must agree.
 *
 * Needs 2 memblks (tests/vm guests); exit 77 otherwise.  With
 * MEMBIND_TEST_WRONG=1 every buffer is bound elsewhere (the next memblk, a
 * rotated mask, a thread on another node): the test must fail.
 */
#include <errno.h>
#include <stdio.h>

#include "alloctest.h"

#define SZ (8UL << 20)

static unsigned long all_mask(int n)
{
	return n >= 64 ? ~0UL : (1UL << n) - 1;
}

static char *alloc_or_fail(const char *what, size_t sz, unsigned long mask,
			   unsigned long behavior, unsigned long flags)
{
	struct mem_alloc_opts o = MEM_ALLOC_OPTS_INIT;
	char *p;

	o.flags = flags;
	p = mem_alloc(sz, 64, &mask, behavior, &o);
	if (!p) {
		fprintf(stderr, "%s: mem_alloc: %s\n", what,
			strerror(-mem_alloc_error()));
		t_failures++;
	}
	return p;
}

static void one_memblk(int m, unsigned long scheme, unsigned long flags,
		       const char *name)
{
	long c[BT_MAX];
	char what[64];
	char *p;

	snprintf(what, sizeof(what), "%s m%d", name, m);
	p = alloc_or_fail(what, SZ, 1UL << bt_bind_to(m), scheme, flags);
	if (!p)
		return;
	if (!(flags & MEM_ALLOC_POPULATE))
		bt_touch(p, SZ);
	at_placement(what, p, SZ, c);
	CHECK_EQ(c[m], (long)(SZ / BT_PAGE));
	CHECK_EQ(mem_free(p), 0);
}

static void round_robin(int n)
{
	unsigned long mask = all_mask(n);
	long c[BT_MAX], share = (long)(SZ / BT_PAGE) / n;
	char *p;

	if (bt_wrong())
		mask &= ~1UL; /* memblk 0 left out */
	p = alloc_or_fail("round-robin", SZ, mask, MEMBIND_ROUND_ROBIN, 0);
	if (!p)
		return;
	madvise(p, SZ, MADV_NOHUGEPAGE);
	bt_touch(p, SZ);
	at_placement("round-robin", p, SZ, c);
	for (int m = 0; m < n; m++)
		CHECK(c[m] >= share - share / 8 && c[m] <= share + share / 8);
	CHECK_EQ(mem_free(p), 0);
}

static void stripe(int n, unsigned int order)
{
	unsigned long mask = all_mask(n), ss = 1UL << order;
	size_t len = 4 * n * ss + ss / 2, pages = len / BT_PAGE;
	int *st = calloc(pages, sizeof(*st));
	int mb[BT_MAX], bad = 0;
	long c[BT_MAX];
	char what[64];
	char *p;

	snprintf(what, sizeof(what), "stripe %lu KiB", ss >> 10);
	/* The i-th memblk of the mask; wrong: the mask rotated by one. */
	for (int i = 0; i < n; i++)
		mb[i] = bt_wrong() ? (i + 1) % n : i;
	p = alloc_or_fail(what, len, mask,
			  MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(order), 0);
	if (!p || !st) {
		free(st);
		return;
	}
	bt_touch(p, len);
	at_placement(what, p, len, c);
	at_where_pages(p, len, st);
	for (size_t i = 0; i < pages; i++)
		bad += st[i] != mb[(i * BT_PAGE / ss) % (size_t)n];
	printf("%s: %d of %zu pages outside their stripe's memblk\n", what,
	       bad, pages);
	CHECK_EQ(bad, 0);
	free(st);
	CHECK_EQ(mem_free(p), 0);
}

struct toucher {
	char *p;
	int node;
	bool pinned;
};

static void *touch_thread(void *arg)
{
	struct toucher *t = arg;

	t->pinned = bt_pin_node(t->node);
	if (t->pinned)
		bt_touch(t->p, SZ);
	return NULL;
}

static void first_touch(int n)
{
	for (int m = 0; m < n; m++) {
		struct memblk_info info = MEMBLK_INFO_INIT;
		struct toucher t;
		pthread_t th;
		long c[BT_MAX];
		unsigned long none = 0;
		char what[64];

		if (memblk_info(m, &info) || info.ncpus == 0)
			continue; /* no CPU of its own to touch from */
		snprintf(what, sizeof(what), "first-touch m%d", m);
		t.p = alloc_or_fail(what, SZ, none, MEMBIND_FIRST_TOUCH, 0);
		if (!t.p)
			continue;
		t.node = memblk_to_node(bt_bind_to(m));
		pthread_create(&th, NULL, touch_thread, &t);
		pthread_join(th, NULL);
		CHECK(t.pinned);
		at_placement(what, t.p, SZ, c);
		CHECK_EQ(c[m], (long)(SZ / BT_PAGE));
		CHECK_EQ(mem_free(t.p), 0);
	}
}

static void weighted(int n)
{
	unsigned long mask = all_mask(n) & ~(bt_wrong() ? 1UL : 0);
	struct mem_alloc_opts o = MEM_ALLOC_OPTS_INIT;
	long c[BT_MAX], sum = 0;
	char *p;

	p = mem_alloc(SZ, 64, &mask, MEMBIND_WEIGHTED, &o);
	if (!p && mem_alloc_error() == -EOPNOTSUPP) {
		printf("weighted: no MPOL_WEIGHTED_INTERLEAVE (6.9+), not tried\n");
		return;
	}
	CHECK(p != NULL);
	if (!p)
		return;
	madvise(p, SZ, MADV_NOHUGEPAGE);
	bt_touch(p, SZ);
	at_placement("weighted", p, SZ, c);
	for (int m = 0; m < n; m++) {
		CHECK(c[m] > 0);
		sum += c[m];
	}
	CHECK_EQ(sum, (long)(SZ / BT_PAGE));
	CHECK_EQ(mem_free(p), 0);
}

int main(void)
{
	int n;

	bt_need_memblks(2, "placement on several memblks");
	n = memblk_count();
	for (int m = 0; m < n; m++) {
		one_memblk(m, MEMBIND_HARD, 0, "hard");
		one_memblk(m, MEMBIND_SOFT, 0, "soft");
		one_memblk(m, MEMBIND_HARD, MEM_ALLOC_POPULATE, "hard+populate");
		one_memblk(m, MEMBIND_HARD, MEM_ALLOC_THP, "hard+thp");
	}
	round_robin(n);
	stripe(n, 21);
	stripe(n, 16);
	first_touch(n);
	weighted(n);
	return t_finish("test_alloc_place");
}
