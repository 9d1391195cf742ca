/* SPDX-License-Identifier: MIT */
/*
 * Description: a full memblk.  The heap of the smallest memblk (with less
 * than 256 MiB free: the `tiny` topology's CPU-less 96 MiB node) is filled
 * with 4 KiB objects under HARD until memblk_malloc() gives NULL: the reason
 * is -ENOMEM, no OOM killer came, and every object handed out is on that
 * memblk.  Large objects (1 MiB) fail the same way after a few at most
 * (the heap gave up on a 2 MiB chunk: less than that was left), and so
 * does mem_alloc(MEM_ALLOC_POPULATE) under HARD.  Then the heap is configured SOFT: 16 MiB more
 * of objects are allocated, on other memblks.  Everything is freed, and
 * the statistics show no live byte.
 *
 * Needs a memblk with less than 256 MiB free; exit 77 otherwise.  With
 * MEMBIND_TEST_WRONG=1 another memblk is filled (and checked against the
 * small one): the test must fail.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "alloctest.h"

#define SMALL (256UL << 20)
#define OBJ 4096
/* Large objects tried after the memblk is full: the kernel may reclaim
 * page cache left by earlier programs meanwhile, so some may fit, but a
 * full memblk must say -ENOMEM well before this many MiB. */
#define BIG 64

static uint64_t free_of(int m)
{
	struct memblk_info info = MEMBLK_INFO_INIT;

	return memblk_info(m, &info) ? 0 : info.free_bytes;
}

static uint64_t size_of(int m)
{
	struct memblk_info info = MEMBLK_INFO_INIT;

	return memblk_info(m, &info) ? 0 : info.size_bytes;
}

int main(void)
{
	struct memblk_heap_opts ho = MEMBLK_HEAP_OPTS_INIT;
	struct memblk_heap_stats st = MEMBLK_HEAP_STATS_INIT;
	struct mem_alloc_opts ao = MEM_ALLOC_OPTS_INIT;
	size_t cap, n = 0, soft_n = 0, wrong = 0, elsewhere = 0, nbig = 0;
	void *big[BIG];
	int m = -1, b, *where;
	unsigned long mask;
	void **objs;

	bt_need_memblks(2, "a memblk to fill and others to fall back to");
	for (int x = 0; x < memblk_count(); x++)
		if (free_of(x) < SMALL && (m < 0 || free_of(x) < free_of(m)))
			m = x;
	if (m < 0) {
		printf("SKIP: no memblk with less than 256 MiB free\n");
		return T_SKIP;
	}
	b = bt_bind_to(m);
	/* Room for the whole memblk and the SOFT part: what HARD gets can
	 * be well above the free memory read now (freed pages that sit on
	 * per-CPU lists count as used until the kernel takes them back). */
	cap = (size_t)(size_of(m) / OBJ) + 8192;
	objs = calloc(cap, sizeof(*objs));
	where = calloc(cap, sizeof(*where));
	if (!objs || !where)
		return T_FAIL;
	printf("filling memblk %d (%llu MiB free) under HARD\n", m,
	       (unsigned long long)(free_of(m) >> 20));
	while (n < cap) {
		objs[n] = memblk_malloc(OBJ, b);
		if (!objs[n])
			break;
		memset(objs[n], 1, OBJ);
		n++;
	}
	printf("HARD: %zu objects (%zu MiB), then NULL with %d\n", n,
	       n * OBJ >> 20, mem_alloc_error());
	CHECK(n < cap);
	CHECK_EQ(mem_alloc_error(), -ENOMEM);
	CHECK(n * OBJ > 8UL << 20);
	/* Asking again fails fast: not a 2 MiB chunk mapped, populated and
	 * migrated for each call (minutes under emulation for 40000). */
	{
		struct timespec t0, t1;
		int again = 0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < 2000; i++) {
			void *q = memblk_malloc(OBJ, b);

			/* the kernel may have reclaimed a little since */
			again += q != NULL;
			memblk_free(q);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("HARD: 2000 more calls, %d objects, %.2f s\n", again,
		       (double)(t1.tv_sec - t0.tv_sec) +
			       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		CHECK(t1.tv_sec - t0.tv_sec < 3);
	}
	/* The heap wanted a whole 2 MiB chunk: a large object of 1 MiB may
	 * still fit in what is left (or in what the kernel reclaimed since),
	 * but the memblk must run out well before BIG of them. */
	while (nbig < BIG && (big[nbig] = memblk_malloc(1 << 20, b)))
		nbig++;
	printf("HARD: %zu large objects of 1 MiB more\n", nbig);
	CHECK(nbig < BIG);
	CHECK_EQ(mem_alloc_error(), -ENOMEM);
	/* A populated buffer of 8 MiB under HARD: NULL with -ENOMEM, or, when
	 * the kernel got pages back meanwhile (the failures above make it
	 * drain the per-CPU free lists of every CPU into the memblk), wholly
	 * on the memblk.  Never a page elsewhere. */
	mask = 1UL << b;
	ao.flags = MEM_ALLOC_POPULATE;
	{
		char *q = mem_alloc(8 << 20, 64, &mask, MEMBIND_HARD, &ao);

		if (!q) {
			CHECK_EQ(mem_alloc_error(), -ENOMEM);
		} else {
			int *st = malloc(((8 << 20) / BT_PAGE) * sizeof(*st));
			size_t off = 0;

			CHECK(st != NULL);
			if (st) {
				at_where_pages(q, 8 << 20, st);
				while (off < (8 << 20) / BT_PAGE && st[off] == m)
					off++;
				printf("HARD: 8 MiB populated after all (the kernel "
				       "found pages again): %zu of %d pages on "
				       "memblk %d\n",
				       off, (8 << 20) / (int)BT_PAGE, m);
				CHECK_EQ(off, (size_t)(8 << 20) / BT_PAGE);
				free(st);
			}
			CHECK_EQ(mem_free(q), 0);
		}
	}
	CHECK_EQ(mem_where(0, objs, n, where), 0);
	for (size_t i = 0; i < n; i++)
		wrong += where[i] != m;
	printf("HARD: %zu of %zu objects on another memblk than %d\n", wrong,
	       n, m);
	CHECK_EQ(wrong, 0);

	ho.behavior = MEMBIND_SOFT;
	CHECK_EQ(memblk_heap_configure(b, &ho), 0);
	for (size_t i = n; i < cap && soft_n < (16UL << 20) / OBJ; i++) {
		objs[i] = memblk_malloc(OBJ, b);
		if (!objs[i]) {
			printf("SOFT: NULL after %zu objects, with %d\n",
			       soft_n, mem_alloc_error());
			break;
		}
		memset(objs[i], 2, OBJ);
		soft_n++;
	}
	printf("SOFT: %zu more objects\n", soft_n);
	CHECK_EQ(soft_n, (16UL << 20) / OBJ);
	CHECK_EQ(mem_where(0, objs + n, soft_n, where), 0);
	for (size_t i = 0; i < soft_n; i++)
		elsewhere += where[i] != m && where[i] >= 0;
	printf("SOFT: %zu of them on other memblks\n", elsewhere);
	CHECK(elsewhere > soft_n / 2);

	for (size_t i = 0; i < n + soft_n; i++)
		CHECK_EQ(memblk_free(objs[i]), 0);
	for (size_t i = 0; i < nbig; i++)
		CHECK_EQ(memblk_free(big[i]), 0);
	ho.behavior = MEMBIND_HARD;
	CHECK_EQ(memblk_heap_configure(b, &ho), 0);
	CHECK_EQ(memblk_heap_stats(b, &st), 0);
	CHECK_EQ(st.live_bytes, 0);
	free(objs);
	free(where);
	return t_finish("test_heap_full");
}
