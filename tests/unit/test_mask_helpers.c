/* SPDX-License-Identifier: MIT */
/*
 * Description: the public mask helpers of <membind.h> (memblk_mask_set,
 * _clear, _test, _zero): each touches exactly its bit, in any word of a
 * mask wider than one word; a bit that is negative or at or beyond the
 * mask's length is never written (the words around the mask are guards
 * that must keep their pattern) and tests as clear; zero clears the
 * MEMBIND_MASK_LONGS(len) words and no more.
 */
#include <string.h>

#include "membind.h"
#include "testutil.h"

#define LEN 130 /* bits: three words on LP64, the last one partial */
#define GUARD 0xa5a5a5a5UL

/* A mask of LEN bits with a guard word on each side. */
struct guarded {
	unsigned long before;
	unsigned long mask[MEMBIND_MASK_LONGS(LEN)];
	unsigned long after;
};

static void guards_intact(const struct guarded *g)
{
	CHECK_EQ(g->before, GUARD);
	CHECK_EQ(g->after, GUARD);
}

static void test_each_bit(void)
{
	struct guarded g = { GUARD, { 0 }, GUARD };

	for (int b = 0; b < LEN; b++) {
		CHECK_EQ(memblk_mask_set(LEN, g.mask, b), 0);
		CHECK_EQ(memblk_mask_test(LEN, g.mask, b), 1);
		/* only bit b is set */
		for (int o = 0; o < LEN; o++)
			if (o != b && memblk_mask_test(LEN, g.mask, o)) {
				fprintf(stderr, "  setting bit %d set bit %d\n", b, o);
				CHECK(!"another bit set");
				break;
			}
		CHECK_EQ(g.mask[b / MEMBIND_BITS_PER_LONG],
			 1UL << (b % MEMBIND_BITS_PER_LONG));
		CHECK_EQ(memblk_mask_clear(LEN, g.mask, b), 0);
		CHECK_EQ(memblk_mask_test(LEN, g.mask, b), 0);
		for (unsigned int w = 0; w < MEMBIND_MASK_LONGS(LEN); w++)
			CHECK_EQ(g.mask[w], 0UL);
	}
	guards_intact(&g);
}

static void test_bounds(void)
{
	struct guarded g = { GUARD, { 0 }, GUARD };
	const int outside[] = { -1, -64, LEN, LEN + 1,
				(int)(MEMBIND_MASK_LONGS(LEN) * MEMBIND_BITS_PER_LONG),
				1 << 30 };

	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		CHECK_EQ(memblk_mask_set(LEN, g.mask, outside[i]), -EINVAL);
		CHECK_EQ(memblk_mask_clear(LEN, g.mask, outside[i]), -EINVAL);
	}
	guards_intact(&g);
	for (unsigned int w = 0; w < MEMBIND_MASK_LONGS(LEN); w++)
		CHECK_EQ(g.mask[w], 0UL);

	/* Bits past len in the last word are neither written nor read. */
	memset(g.mask, 0xff, sizeof(g.mask));
	CHECK_EQ(memblk_mask_test(LEN, g.mask, LEN), 0);
	CHECK_EQ(memblk_mask_test(LEN, g.mask, -1), 0);
	CHECK_EQ(memblk_mask_test(LEN, g.mask, LEN - 1), 1);
	CHECK_EQ(memblk_mask_clear(LEN, g.mask, LEN), -EINVAL);
	CHECK_EQ(g.mask[MEMBIND_MASK_LONGS(LEN) - 1], ~0UL);

	/* A mask of length 0 has no bit at all. */
	CHECK_EQ(memblk_mask_set(0, g.mask, 0), -EINVAL);
	CHECK_EQ(memblk_mask_test(0, g.mask, 0), 0);
	guards_intact(&g);
}

static void test_zero(void)
{
	struct guarded g = { GUARD, { 0 }, GUARD };

	memset(g.mask, 0xff, sizeof(g.mask));
	memblk_mask_zero(LEN, g.mask);
	for (unsigned int w = 0; w < MEMBIND_MASK_LONGS(LEN); w++)
		CHECK_EQ(g.mask[w], 0UL);
	guards_intact(&g);

	/* len 1: the first word only. */
	memset(g.mask, 0xff, sizeof(g.mask));
	memblk_mask_zero(1, g.mask);
	CHECK_EQ(g.mask[0], 0UL);
	CHECK_EQ(g.mask[1], ~0UL);
	guards_intact(&g);
}

int main(void)
{
	test_each_bit();
	test_bounds();
	test_zero();
	return t_finish("test_mask_helpers");
}
