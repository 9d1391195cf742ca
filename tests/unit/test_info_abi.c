/* SPDX-License-Identifier: MIT */
/*
 * Description: struct memblk_info ABI growth.  A caller built against an
 * older, smaller struct passes a smaller sz: only that prefix is filled and
 * every byte after it is left alone; a caller with a larger (future) struct
 * gets today's fields and its tail untouched; sz itself is never written;
 * an sz too small to hold the first fields is -EINVAL.
 */
#include <stddef.h>

#include "membind.h"
#include "testutil.h"

#define PAD 64
#define FILL 0xa5

struct big {
	struct memblk_info in;
	unsigned char tail[PAD];
};

static int untouched(const unsigned char *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != FILL) {
			fprintf(stderr, "  byte %zu was written\n", i);
			return 0;
		}
	return 1;
}

/* Memblk 2 of the standard tree: node 7, 512 MiB, 128 MiB free, tier 22,
 * no CPUs, HMAT access0. */
static void test_prefix(size_t sz, int want_ret)
{
	union {
		struct big b;
		unsigned char raw[sizeof(struct big)];
	} u;
	struct memblk_info *in = &u.b.in;
	int ret;

	memset(u.raw, FILL, sizeof(u.raw));
	in->sz = sz;
	ret = memblk_info(2, in);
	if (ret != want_ret)
		fprintf(stderr, "  sz %zu: ret %d, want %d\n", sz, ret,
			want_ret);
	CHECK(ret == want_ret);
	CHECK(in->sz == sz);
	if (ret) {
		CHECK(untouched(u.raw, sizeof(in->sz), sizeof(u.raw)));
		return;
	}
	size_t filled = sz < sizeof(*in) ? sz : sizeof(*in);

	CHECK(untouched(u.raw, filled, sizeof(u.raw)));
	/* Every field that fits has its value. */
#define FITS(f) (offsetof(struct memblk_info, f) + sizeof(in->f) <= filled)
	if (FITS(id))
		CHECK_EQ(in->id, 2);
	if (FITS(node))
		CHECK_EQ(in->node, 7);
	if (FITS(size_bytes))
		CHECK(in->size_bytes == 524288ULL * 1024);
	if (FITS(free_bytes))
		CHECK(in->free_bytes == 131072ULL * 1024);
	if (FITS(ncpus))
		CHECK_EQ(in->ncpus, 0);
	if (FITS(tier))
		CHECK_EQ(in->tier, 22);
	if (FITS(allowed))
		CHECK_EQ(in->allowed, 1);
	if (FITS(weight))
		CHECK_EQ(in->weight, 1);
	if (FITS(has_access))
		CHECK(in->has_access[0] == 1 && in->has_access[1] == 0);
	if (FITS(access))
		CHECK(in->access[0].read_bandwidth == 8000 &&
		      in->access[0].write_latency == 400 &&
		      in->access[1].read_bandwidth == 0);
	if (FITS(nearest_cpu_node))
		CHECK_EQ(in->nearest_cpu_node, 5);
#undef FITS
}

int main(void)
{
	static const size_t cuts[] = {
		offsetof(struct memblk_info, size_bytes),
		offsetof(struct memblk_info, free_bytes),
		offsetof(struct memblk_info, ncpus),
		offsetof(struct memblk_info, tier),
		offsetof(struct memblk_info, weight),
		offsetof(struct memblk_info, has_access),
		offsetof(struct memblk_info, access),
		offsetof(struct memblk_info, nearest_cpu_node),
		sizeof(struct memblk_info),
		sizeof(struct memblk_info) + 8,
		sizeof(struct memblk_info) + PAD,
	};
	char root[4096];

	t_tmpdir(root, sizeof(root));
	t_std_tree(root);
	setenv("MEMBIND_SYSFS_ROOT", root, 1);

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		test_prefix(cuts[i], 0);
	/* Too small for id, node and the first size field: refused. */
	test_prefix(0, -EINVAL);
	test_prefix(sizeof(size_t), -EINVAL);
	test_prefix(offsetof(struct memblk_info, size_bytes) - 1, -EINVAL);
	/* The first fields sit where older callers expect them. */
	CHECK_EQ(offsetof(struct memblk_info, sz), 0);
	CHECK(offsetof(struct memblk_info, id) >= sizeof(size_t));
	/* MEMBLK_INFO_INIT sets sz to the full size. */
	{
		struct memblk_info in = MEMBLK_INFO_INIT;

		CHECK(in.sz == sizeof(in));
	}
	t_rmtree(root);
	return t_finish("test_info_abi");
}
