/* SPDX-License-Identifier: MIT */
/*
 * Description: mem_alloc(), mem_realloc(), mem_free() and mem_alloc_error()
 * on any machine.  Bad input is -EINVAL (size 0, a memblk that does not
 * exist, an empty mask for HARD, MEMBIND_THREAD, unknown flags, THP with
 * HUGETLB, an alignment that is not a power of two, an options struct too
 * small or with unknown non-zero fields), reported by mem_alloc_error()
 * and errno; no mapping is left behind.  Buffers are aligned as asked (THP:
 * 2 MiB), bound as asked (mem_getbinding_range reads back HARD and STRIPE
 * with its size), populated with MEM_ALLOC_POPULATE; mem_realloc keeps the
 * contents and the binding, growing and shrinking; mem_free refuses a
 * pointer it did not hand out; hugetlb without a pool is -ENOMEM (or
 * -EOPNOTSUPP without hugetlb).  Many threads allocate and free at once.
 */
#include <errno.h>
#include <stdio.h>

#include <sys/mman.h>

#include "alloctest.h"

static int maps_lines(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int c, n = 0;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void bad_input(void)
{
	struct mem_alloc_opts o = MEM_ALLOC_OPTS_INIT;
	struct {
		struct mem_alloc_opts o;
		unsigned long future;
	} big = { .o = MEM_ALLOC_OPTS_INIT };
	unsigned long m0 = 1, none = 0, far = 1UL << 63;
	int before = maps_lines();

	errno = 0;
	CHECK(!mem_alloc(0, 64, &m0, MEMBIND_HARD, NULL));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK_EQ(errno, EINVAL);
	CHECK(!mem_alloc(4096, 64, &far, MEMBIND_HARD, NULL));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!mem_alloc(4096, 64, &none, MEMBIND_HARD, NULL));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!mem_alloc(4096, 64, &m0, MEMBIND_HARD | MEMBIND_THREAD, NULL));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!mem_alloc(4096, 64, &m0, 0x77, NULL));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!mem_alloc(4096, 64, &m0, MEMBIND_DEFAULT, NULL));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!mem_alloc((size_t)-1, 64, &m0, MEMBIND_HARD, NULL));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	o.flags = 1UL << 20;
	CHECK(!mem_alloc(4096, 64, &m0, MEMBIND_HARD, &o));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	o.flags = MEM_ALLOC_THP | MEM_ALLOC_HUGETLB;
	CHECK(!mem_alloc(4096, 64, &m0, MEMBIND_HARD, &o));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	o.flags = 0;
	o.alignment = 3 << 12;
	CHECK(!mem_alloc(4096, 64, &m0, MEMBIND_HARD, &o));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	o.sz = 4;
	CHECK(!mem_alloc(4096, 64, &m0, MEMBIND_HARD, &o));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	big.o.sz = sizeof(big);
	big.future = 1;
	CHECK(!mem_alloc(4096, 64, &m0, MEMBIND_HARD, &big.o));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK_EQ(maps_lines(), before);

	/* a larger struct whose unknown fields are zero is fine */
	big.future = 0;
	void *p = mem_alloc(4096, 64, &m0, MEMBIND_HARD, &big.o);
	CHECK(p != NULL);
	CHECK_EQ(mem_free(p), 0);

	CHECK_EQ(mem_free(NULL), 0);
	CHECK_EQ(mem_free(&o), -EINVAL);
	CHECK(!mem_realloc(NULL, 10));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
	CHECK(!mem_realloc(&o, 10));
	CHECK_EQ(mem_alloc_error(), -EINVAL);
}

static void binding_reads_back(void)
{
	unsigned long m0 = 1, mask[1] = {0}, b = 0;
	char *p = mem_alloc(6 << 20, 64, &m0,
			    MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(20), NULL);

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ(mem_getbinding_range(p + (3 << 20), 64, mask, &b),
		 memblk_count());
	CHECK_EQ(b, MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(20));
	CHECK_EQ(mask[0], 1);
	/* grows by mremap, keeps contents and stripes */
	at_fill(p, 6 << 20, 3);
	p = mem_realloc(p, 40 << 20);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(at_check_fill(p, 6 << 20, 3));
	b = 0;
	CHECK_EQ(mem_getbinding_range(p + (30 << 20), 64, mask, &b),
		 memblk_count());
	CHECK_EQ(b, MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(20));
	bt_touch(p + (6 << 20), 34 << 20);
	p = mem_realloc(p, 5000);
	CHECK(p != NULL);
	if (p)
		CHECK(at_check_fill(p, 5000, 3));
	CHECK_EQ(mem_free(p), 0);

	p = mem_alloc(1 << 20, 64, &m0, MEMBIND_HARD, NULL);
	CHECK(p != NULL);
	b = 0;
	CHECK_EQ(mem_getbinding_range(p, 64, mask, &b), memblk_count());
	CHECK_EQ(b, MEMBIND_HARD);
	CHECK_EQ(mem_free(p), 0);
}

static void options(void)
{
	struct mem_alloc_opts o = MEM_ALLOC_OPTS_INIT;
	unsigned long m0 = 1;
	long c[BT_MAX];
	char *p;
	int st;

	/* no binding at all */
	p = mem_alloc(100, 0, NULL, MEMBIND_DEFAULT, NULL);
	CHECK(p != NULL);
	CHECK_EQ((uintptr_t)p % 4096, 0);
	CHECK_EQ(mem_free(p), 0);

	o.alignment = 1 << 22;
	p = mem_alloc(12345, 64, &m0, MEMBIND_HARD, &o);
	CHECK(p != NULL && (uintptr_t)p % (1 << 22) == 0);
	CHECK_EQ(mem_free(p), 0);

	o.alignment = 0;
	o.flags = MEM_ALLOC_THP;
	p = mem_alloc(3 << 20, 64, &m0, MEMBIND_HARD, &o);
	CHECK(p != NULL && (uintptr_t)p % (2 << 20) == 0);
	/* realloc of an aligned buffer copies and keeps the alignment */
	if (p)
		at_fill(p, 3 << 20, 9);
	p = mem_realloc(p, 9 << 20);
	CHECK(p != NULL && (uintptr_t)p % (2 << 20) == 0);
	if (p)
		CHECK(at_check_fill(p, 3 << 20, 9));
	CHECK_EQ(mem_free(p), 0);

	o.flags = MEM_ALLOC_POPULATE;
	p = mem_alloc(1 << 20, 64, &m0, MEMBIND_HARD, &o);
	CHECK(p != NULL);
	if (p) {
		at_placement("populate", p, 1 << 20, c);
		CHECK_EQ(c[0], 256);
		at_where_pages(p, 4096, &st);
		CHECK_EQ(st, 0);
	}
	CHECK_EQ(mem_free(p), 0);

	o.flags = MEM_ALLOC_HUGETLB;
	p = mem_alloc(1 << 20, 64, &m0, MEMBIND_HARD, &o);
	if (p) {
		printf("hugetlb: a pool is configured, got %p\n", (void *)p);
		CHECK_EQ((uintptr_t)p % (2 << 20), 0);
		CHECK_EQ(mem_free(p), 0);
	} else {
		printf("hugetlb: %s\n", strerror(-mem_alloc_error()));
		CHECK(mem_alloc_error() == -ENOMEM ||
		      mem_alloc_error() == -EOPNOTSUPP);
	}
}

static void *churn(void *arg)
{
	unsigned long m0 = 1;
	void *p[16];

	(void)arg;
	for (int r = 0; r < 200; r++) {
		for (int i = 0; i < 16; i++) {
			p[i] = mem_alloc(4096 * (size_t)(i + 1), 64, &m0,
					 MEMBIND_HARD, NULL);
			if (p[i])
				memset(p[i], i, 4096);
		}
		for (int i = 0; i < 16; i++)
			if (!p[i] || mem_free(p[i]))
				return (void *)1;
	}
	return NULL;
}

static void threads(void)
{
	pthread_t th[8];
	void *r;

	for (int i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, churn, NULL);
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], &r);
		CHECK(r == NULL);
	}
}

/* A resize that cannot be done leaves the buffer as it was: 4 KiB stripes
 * over more stripes than vm.max_map_count allows. */
static void realloc_fails_cleanly(void)
{
	struct mem_alloc_opts o = MEM_ALLOC_OPTS_INIT;
	unsigned long m = 1;
	unsigned char v;
	char *p = mem_alloc(8 * 4096, 64, &m,
			    MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(12), &o);

	CHECK(p != NULL);
	if (!p)
		return;
	memset(p, 7, 8 * 4096);
	CHECK(mem_realloc(p, 300000UL * 4096) == NULL);
	CHECK_EQ(mem_alloc_error(), -ENOMEM);
	CHECK_EQ(mincore(p, 4096, &v), 0); /* still mapped */
	CHECK_EQ(p[5], 7);
	CHECK_EQ(mem_free(p), 0);
}

int main(void)
{
	if (memblk_count() < 1 || memblk_count() > BT_MAX) {
		printf("SKIP: no usable topology\n");
		return T_SKIP;
	}
	bad_input();
	binding_reads_back();
	options();
	threads();
	realloc_fails_cleanly();
	return t_finish("test_alloc_api");
}
