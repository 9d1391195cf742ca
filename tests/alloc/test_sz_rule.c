/* SPDX-License-Identifier: MIT */
/*
 * Description: the one rule of the structures that start with size_t sz
 * (docs/api.md, "Structures"), for every call that takes one on this
 * machine's memblk 0: mem_alloc_opts, memblk_heap_opts and mem_move_opts
 * as input, memblk_heap_stats and mem_move_stats as output (memblk_info:
 * test_info_abi).  An sz below the fields every version has is -EINVAL; an
 * input structure longer than the library's is accepted when its unknown
 * tail is zero and refused (-EINVAL) when it is not, mem_move() included;
 * an output structure gets only what fits in its sz: its sz is never
 * written, nor a byte beyond sz or beyond the library's structure.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "membind.h"
#include "testutil.h"

#define PAD 32
#define FILL 0xa5

static unsigned long m0 = 1;

static int filled_with(const void *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (((const unsigned char *)p)[i] != FILL) {
			fprintf(stderr, "  byte %zu was written\n", i);
			return 0;
		}
	return 1;
}

static void alloc_opts(void)
{
	struct {
		struct mem_alloc_opts o;
		unsigned char tail[PAD];
	} big;
	void *p;

	memset(&big, 0, sizeof(big));
	big.o = (struct mem_alloc_opts)MEM_ALLOC_OPTS_INIT;
	big.o.sz = sizeof(big);
	p = mem_alloc(4096, 64, &m0, MEMBIND_HARD, &big.o);
	CHECK(p != NULL);
	CHECK_EQ(mem_free(p), 0);
	big.tail[PAD - 1] = 1;
	CHECK(!mem_alloc(4096, 64, &m0, MEMBIND_HARD, &big.o));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	big.tail[PAD - 1] = 0;
	big.o.sz = sizeof(size_t) - 1;
	CHECK(!mem_alloc(4096, 64, &m0, MEMBIND_HARD, &big.o));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	/* An older caller: only sz; the rest are the defaults. */
	big.o.sz = sizeof(size_t);
	big.o.flags = ~0UL; /* beyond sz: not read */
	p = mem_alloc(4096, 64, &m0, MEMBIND_HARD, &big.o);
	CHECK(p != NULL);
	CHECK_EQ(mem_free(p), 0);
}

static void heap_opts_and_stats(void)
{
	struct {
		struct memblk_heap_opts o;
		unsigned char tail[PAD];
	} big;
	union {
		struct {
			struct memblk_heap_stats st;
			unsigned char tail[PAD];
		} s;
		unsigned char raw[sizeof(struct memblk_heap_stats) + PAD];
	} u;
	size_t cut = offsetof(struct memblk_heap_stats, mallocs);
	void *p;

	memset(&big, 0, sizeof(big));
	big.o = (struct memblk_heap_opts)MEMBLK_HEAP_OPTS_INIT;
	big.o.sz = sizeof(big);
	CHECK_EQ(memblk_heap_configure(0, &big.o), 0);
	big.tail[0] = 1;
	CHECK_EQ(memblk_heap_configure(0, &big.o), -EINVAL);
	big.tail[0] = 0;
	big.o.sz = 0;
	CHECK_EQ(memblk_heap_configure(0, &big.o), -EINVAL);
	CHECK_EQ(memblk_heap_configure(0, NULL), -EINVAL);

	p = memblk_malloc(100, 0);
	CHECK(p != NULL);
	/* Longer than the library's: its tail and its sz stay as they are. */
	memset(u.raw, FILL, sizeof(u.raw));
	u.s.st.sz = sizeof(u.raw);
	CHECK_EQ(memblk_heap_stats(0, &u.s.st), 0);
	CHECK(u.s.st.sz == sizeof(u.raw));
	CHECK(u.s.st.live_objects >= 1 && u.s.st.mallocs >= 1);
	CHECK(filled_with(u.raw, sizeof(struct memblk_heap_stats),
			  sizeof(u.raw)));
	/* Shorter: only what fits. */
	memset(u.raw, FILL, sizeof(u.raw));
	u.s.st.sz = cut;
	CHECK_EQ(memblk_heap_stats(0, &u.s.st), 0);
	CHECK(u.s.st.sz == cut);
	CHECK(u.s.st.live_objects >= 1);
	CHECK(filled_with(u.raw, cut, sizeof(u.raw)));
	/* Too short: refused, nothing written. */
	memset(u.raw, FILL, sizeof(u.raw));
	u.s.st.sz = sizeof(size_t) - 1;
	CHECK_EQ(memblk_heap_stats(0, &u.s.st), -EINVAL);
	CHECK(filled_with(u.raw, sizeof(size_t), sizeof(u.raw)));
	CHECK_EQ(memblk_heap_stats(0, NULL), -EINVAL);
	memblk_free(p);
}

static void move_opts_and_stats(void)
{
	struct {
		struct mem_move_opts o;
		unsigned char tail[PAD];
	} big;
	union {
		struct {
			struct mem_move_stats st;
			unsigned char tail[PAD];
		} s;
		unsigned char raw[sizeof(struct mem_move_stats) + PAD];
	} u;
	size_t len = 16 * 4096, cut = offsetof(struct mem_move_stats, failed);
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret;

	CHECK(buf != MAP_FAILED);
	if (buf == MAP_FAILED)
		return;
	memset(buf, 1, len);
	memset(&big, 0, sizeof(big));
	big.o = (struct mem_move_opts)MEM_MOVE_OPTS_INIT;
	big.o.sz = sizeof(big);
	memset(u.raw, FILL, sizeof(u.raw));
	u.s.st.sz = sizeof(u.raw);
	ret = mem_move(0, buf, len, 1, &m0, MEMBIND_HARD, &big.o, &u.s.st);
	if (ret == -EPERM || ret == -ENOSYS) {
		/* move_pages() refused here (a seccomp filter): the checks
		 * before it still run below. */
		fprintf(stderr, "  mem_move: %s, output not checked\n",
			strerror(-ret));
	} else {
		CHECK(ret >= 0);
		CHECK(u.s.st.sz == sizeof(u.raw));
		CHECK(u.s.st.scanned == len / 4096 || u.s.st.page_size != 4096);
		CHECK(filled_with(u.raw, sizeof(struct mem_move_stats),
				  sizeof(u.raw)));
		memset(u.raw, FILL, sizeof(u.raw));
		u.s.st.sz = cut;
		CHECK(mem_move(0, buf, len, 1, &m0, MEMBIND_HARD, NULL,
			       &u.s.st) >= 0);
		CHECK(u.s.st.sz == cut);
		CHECK(filled_with(u.raw, cut, sizeof(u.raw)));
	}
	/* A newer caller's option this library does not know: refused, not
	 * ignored. */
	big.tail[3] = 1;
	CHECK_EQ(mem_move(0, buf, len, 1, &m0, MEMBIND_HARD, &big.o, NULL),
		 -EINVAL);
	big.tail[3] = 0;
	big.o.sz = offsetof(struct mem_move_opts, from) - 1;
	CHECK_EQ(mem_move(0, buf, len, 1, &m0, MEMBIND_HARD, &big.o, NULL),
		 -EINVAL);
	u.s.st.sz = sizeof(size_t) - 1;
	CHECK_EQ(mem_move(0, buf, len, 1, &m0, MEMBIND_HARD, NULL, &u.s.st),
		 -EINVAL);
	munmap(buf, len);
}

int main(void)
{
	alloc_opts();
	heap_opts_and_stats();
	move_opts_and_stats();
	return t_finish("test_sz_rule");
}
