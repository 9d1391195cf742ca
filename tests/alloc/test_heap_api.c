/* SPDX-License-Identifier: MIT */
/*
 * Description: the per-memblk heap's calls on any machine.  Size 0, a
 * memblk that does not exist, a bad alignment, calloc overflow: NULL with
 * -EINVAL from mem_alloc_error().  Every size class and large objects:
 * usable size at least the size asked, contents kept by memblk_realloc
 * (growing, shrinking, across the small/large boundary), memblk_calloc
 * zeroes recycled memory, memblk_aligned_alloc honours 16 B .. 1 MiB.
 * memblk_free refuses pointers it did not hand out (a mem_alloc buffer, the
 * stack, the middle of an object).  Statistics count objects and bytes and
 * come back to zero live bytes; memblk_heap_configure checks its input.
 */
#include <errno.h>
#include <stdio.h>

#include "alloctest.h"

static void bad_input(void)
{
	struct memblk_heap_opts o = MEMBLK_HEAP_OPTS_INIT;
	struct memblk_heap_stats st = MEMBLK_HEAP_STATS_INIT;
	int n = memblk_count(), x;

	CHECK(!memblk_malloc(0, 0));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!memblk_malloc(16, n));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!memblk_malloc(16, -1));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!memblk_malloc(1 << 20, n));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!memblk_calloc(SIZE_MAX / 2, 4, 0));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!memblk_aligned_alloc(24, 16, 0));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!memblk_realloc(&x, 16, 0));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK_EQ(memblk_free(&x), -EINVAL);
	CHECK_EQ(memblk_free(NULL), 0);
	CHECK_EQ(memblk_usable_size(&x), 0);
	CHECK_EQ(memblk_heap_stats(n, &st), -EINVAL);
	CHECK_EQ(memblk_heap_stats(0, NULL), -EINVAL);
	o.behavior = MEMBIND_ROUND_ROBIN;
	CHECK_EQ(memblk_heap_configure(0, &o), -EINVAL);
	o.behavior = MEMBIND_HARD;
	o.flags = 4;
	CHECK_EQ(memblk_heap_configure(0, &o), -EINVAL);
	o.flags = 0;
	CHECK_EQ(memblk_heap_configure(n, &o), -EINVAL);
	CHECK_EQ(memblk_heap_configure(0, &o), 0);

	/* a buffer of mem_alloc is not a heap object, nor the reverse */
	void *b = mem_alloc(1 << 20, 0, NULL, MEMBIND_DEFAULT, NULL);
	CHECK_EQ(memblk_free(b), -EINVAL);
	CHECK_EQ(mem_free(b), 0);
	b = memblk_malloc(1 << 20, 0);
	CHECK_EQ(mem_free(b), -EINVAL);
	CHECK_EQ(memblk_free(b), 0);
	/* the middle of an object */
	char *c = memblk_malloc(64, 0);
	CHECK_EQ(memblk_free(c + 8), -EINVAL);
	CHECK_EQ(memblk_free(c), 0);
}

static void sizes(int m)
{
	static const size_t sz[] = { 1, 15, 16, 17, 100, 128, 129, 1000, 4096,
				     5000, 16384, 16385, 100000, 1 << 20 };
	void *p[sizeof(sz) / sizeof(sz[0])];
	size_t k = sizeof(sz) / sizeof(sz[0]);

	for (size_t i = 0; i < k; i++) {
		p[i] = memblk_malloc(sz[i], m);
		CHECK(p[i] != NULL);
		if (!p[i])
			return;
		CHECK(memblk_usable_size(p[i]) >= sz[i]);
		CHECK_EQ((uintptr_t)p[i] % 16, 0);
		at_fill(p[i], sz[i], (unsigned char)i);
	}
	for (size_t i = 0; i < k; i++) {
		size_t to = sz[(i + 5) % k];

		CHECK(at_check_fill(p[i], sz[i], (unsigned char)i));
		p[i] = memblk_realloc(p[i], to, m);
		CHECK(p[i] != NULL);
		if (p[i])
			CHECK(at_check_fill(p[i], to < sz[i] ? to : sz[i],
					    (unsigned char)i));
	}
	for (size_t i = 0; i < k; i++)
		CHECK_EQ(memblk_free(p[i]), 0);

	for (size_t al = 16; al <= (1 << 20); al *= 4) {
		void *a = memblk_aligned_alloc(al, 100, m);
		void *b2 = memblk_aligned_alloc(al, 3 * al, m);

		CHECK(a && (uintptr_t)a % al == 0);
		CHECK(b2 && (uintptr_t)b2 % al == 0);
		CHECK_EQ(memblk_free(a), 0);
		CHECK_EQ(memblk_free(b2), 0);
	}

	/* calloc zeroes memory that was in use */
	unsigned char *d = memblk_malloc(200, m);
	memset(d, 0xee, 200);
	memblk_free(d);
	d = memblk_calloc(10, 20, m);
	CHECK(d != NULL);
	for (int i = 0; d && i < 200; i++)
		if (d[i]) {
			CHECK(!"calloc memory not zero");
			break;
		}
	memblk_free(d);
}

static void stats(int m)
{
	struct memblk_heap_stats s0 = MEMBLK_HEAP_STATS_INIT, s1 = s0, s2 = s0;
	void *p[100];

	CHECK_EQ(memblk_heap_stats(m, &s0), 0);
	for (int i = 0; i < 100; i++)
		p[i] = memblk_malloc(i < 99 ? 100 : 50000, m);
	CHECK_EQ(memblk_heap_stats(m, &s1), 0);
	CHECK_EQ(s1.live_objects - s0.live_objects, 100);
	CHECK(s1.live_bytes - s0.live_bytes >= 99 * 100 + 50000);
	CHECK(s1.mapped_bytes >= s1.live_bytes);
	CHECK(s1.chunks >= 1);
	CHECK_EQ(s1.large_objects - s0.large_objects, 1);
	for (int i = 0; i < 100; i++)
		memblk_free(p[i]);
	CHECK_EQ(memblk_heap_stats(m, &s2), 0);
	CHECK_EQ(s2.live_objects, s0.live_objects);
	CHECK_EQ(s2.live_bytes, s0.live_bytes);
	CHECK_EQ(s2.mallocs - s0.mallocs, 100);
	CHECK_EQ(s2.frees - s0.frees, 100);
}

/* Pointers that are not objects: the middle of one, a second free. */
static void not_objects(void)
{
	char *p = memblk_malloc(100, 0), *big;

	CHECK(p != NULL);
	CHECK_EQ(memblk_usable_size(p + 8), 0);
	CHECK(memblk_realloc(p + 8, 1000, 0) == NULL);
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK_EQ(memblk_free(p + 8), -EINVAL);
	CHECK_EQ(memblk_free(p), 0);
	CHECK(memblk_aligned_alloc(16384, 0, 0) == NULL);
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	big = memblk_malloc(200000, 0);
	CHECK(big != NULL);
	CHECK_EQ(memblk_free(big), 0);
	/* It may sit in the cache of freed large objects: still not one. */
	CHECK_EQ(memblk_free(big), -EINVAL);
	CHECK_EQ(memblk_usable_size(big), 0);
}

int main(void)
{
	int n = memblk_count();

	if (n < 1 || n > BT_MAX) {
		printf("SKIP: no usable topology\n");
		return T_SKIP;
	}
	bad_input();
	not_objects();
	for (int m = 0; m < n; m++) {
		sizes(m);
		stats(m);
	}
	return t_finish("test_heap_api");
}
