/* SPDX-License-Identifier: MIT */
/*
 * Description: a second memblk_free() of an object is refused with -EINVAL
 * and changes nothing: not the statistics, and the object is never handed
 * out twice afterwards.  Small objects freed twice by the thread that owns
 * their slab, by another thread, by one and then the other, after other
 * frees in between, after their slab went back to the arena, in a slab
 * abandoned by a thread that exited; large objects freed twice whether the
 * first free kept them in the cache of freed large objects or unmapped
 * them.  (Before the fix, a second free of a small object returned 0 and
 * put it on a free list twice: it came back from every later allocation,
 * or the slab's list turned into a loop.)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "alloctest.h"

#define MANY 4096

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a;
	uintptr_t y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

/* Allocate MANY objects of size: none may be handed out twice, nor be
 * one of the live objects in keep[0..nkeep).  Frees them again. */
static void no_duplicates(const char *what, size_t size, void **keep,
			  int nkeep)
{
	void **v = calloc(MANY + (size_t)nkeep, sizeof(*v));
	int dup = 0;

	CHECK(v != NULL);
	if (!v)
		return;
	for (int i = 0; i < MANY; i++) {
		v[i] = memblk_malloc(size, 0);
		CHECK(v[i] != NULL);
	}
	for (int i = 0; i < nkeep; i++)
		v[MANY + i] = keep[i];
	qsort(v, MANY + (size_t)nkeep, sizeof(*v), cmp_ptr);
	for (int i = 1; i < MANY + nkeep; i++)
		dup += v[i] && v[i] == v[i - 1];
	if (dup)
		fprintf(stderr, "%s: %d objects handed out twice\n", what,
			dup);
	CHECK_EQ(dup, 0);
	/* Free each distinct object once (a duplicate was reported above). */
	for (int i = 0; i < MANY + nkeep; i++) {
		bool kept = false;

		if (!v[i] || (i && v[i] == v[i - 1]))
			continue;
		for (int k = 0; k < nkeep; k++)
			kept |= v[i] == keep[k];
		if (!kept)
			CHECK_EQ(memblk_free(v[i]), 0);
	}
	free(v);
}

static struct memblk_heap_stats stats_now(void)
{
	struct memblk_heap_stats st = MEMBLK_HEAP_STATS_INIT;

	CHECK_EQ(memblk_heap_stats(0, &st), 0);
	return st;
}

/* A refused free must not count: same frees, same live objects. */
static void same_stats(const struct memblk_heap_stats *a,
		       const struct memblk_heap_stats *b)
{
	CHECK_EQ(a->frees, b->frees);
	CHECK_EQ(a->live_objects, b->live_objects);
	CHECK_EQ(a->live_bytes, b->live_bytes);
}

/* The owner frees twice, at once and with other frees in between. */
static void owner_twice(void)
{
	struct memblk_heap_stats s0, s1;
	char *a = memblk_malloc(64, 0), *b = memblk_malloc(64, 0);

	CHECK(a && b);
	CHECK_EQ(memblk_free(a), 0);
	s0 = stats_now();
	CHECK_EQ(memblk_free(a), -EINVAL);
	s1 = stats_now();
	same_stats(&s0, &s1);
	CHECK_EQ(memblk_free(b), 0);
	CHECK_EQ(memblk_free(a), -EINVAL);
	CHECK_EQ(memblk_free(b), -EINVAL);
	no_duplicates("owner", 64, NULL, 0);
	/* Freed, handed out again (the same address), freed: once only. */
	a = memblk_malloc(64, 0);
	CHECK(a != NULL);
	CHECK_EQ(memblk_free(a), 0);
	CHECK_EQ(memblk_free(a), -EINVAL);
}

struct remote_job {
	void *p;
	int ret[2];
	int nfree;
};

static void *remote_free(void *arg)
{
	struct remote_job *j = arg;

	for (int i = 0; i < j->nfree; i++)
		j->ret[i] = memblk_free(j->p);
	return NULL;
}

static void run_remote(struct remote_job *j)
{
	pthread_t t;

	CHECK_EQ(pthread_create(&t, NULL, remote_free, j), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
}

/* Another thread frees an object of this thread's slab. */
static void remote_twice(void)
{
	struct remote_job j = { .nfree = 2 };
	struct memblk_heap_stats s0, s1;
	void *keep;

	/* Twice by another thread; then by the owner, before and after it
	 * took the object back. */
	keep = memblk_malloc(48, 0);
	j.p = memblk_malloc(48, 0);
	CHECK(j.p != NULL);
	run_remote(&j);
	CHECK_EQ(j.ret[0], 0);
	CHECK_EQ(j.ret[1], -EINVAL);
	s0 = stats_now();
	CHECK_EQ(memblk_free(j.p), -EINVAL);
	s1 = stats_now();
	same_stats(&s0, &s1);
	no_duplicates("remote", 48, &keep, 1);
	CHECK_EQ(memblk_free(j.p), -EINVAL);
	CHECK_EQ(memblk_free(keep), 0);

	/* Freed by the owner, then by another thread. */
	j.p = memblk_malloc(48, 0);
	CHECK(j.p != NULL);
	CHECK_EQ(memblk_free(j.p), 0);
	j.nfree = 1;
	j.ret[0] = 1;
	run_remote(&j);
	CHECK_EQ(j.ret[0], -EINVAL);
	no_duplicates("owner, then remote", 48, NULL, 0);
}

static void *alloc_and_exit(void *arg)
{
	void **p = arg;

	p[0] = memblk_malloc(208, 0);
	p[1] = memblk_malloc(208, 0);
	return NULL;
}

/* Objects of a slab whose owner exited (abandoned, then adopted). */
static void abandoned_twice(void)
{
	void *p[2] = { NULL, NULL };
	pthread_t t;

	CHECK_EQ(pthread_create(&t, NULL, alloc_and_exit, p), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK(p[0] && p[1]);
	CHECK_EQ(memblk_free(p[0]), 0);
	CHECK_EQ(memblk_free(p[0]), -EINVAL);
	/* The slab is adopted by this thread's allocations. */
	no_duplicates("abandoned", 208, &p[1], 1);
	CHECK_EQ(memblk_free(p[0]), -EINVAL);
	CHECK_EQ(memblk_free(p[1]), 0);
	CHECK_EQ(memblk_free(p[1]), -EINVAL);
}

/* An object whose slab emptied and went back to the arena (or whose chunk
 * was unmapped). */
static void returned_slab(void)
{
	enum { N = 64 }; /* 3 KiB objects: 21 a slab, so several slabs */
	void *v[N];

	for (int i = 0; i < N; i++) {
		v[i] = memblk_malloc(3000, 0);
		CHECK(v[i] != NULL);
	}
	for (int i = 0; i < N; i++)
		CHECK_EQ(memblk_free(v[i]), 0);
	for (int i = 0; i < N; i++)
		CHECK_EQ(memblk_free(v[i]), -EINVAL);
	no_duplicates("returned slab", 3000, NULL, 0);
}

/* Large objects: kept in the cache by the first free, or unmapped (the
 * cache holds 16). */
static void large_twice(void)
{
	enum { N = 20 };
	struct memblk_heap_stats s0, s1;
	void *v[N];

	for (int i = 0; i < N; i++) {
		v[i] = memblk_malloc(100000, 0);
		CHECK(v[i] != NULL);
	}
	for (int i = 0; i < N; i++)
		CHECK_EQ(memblk_free(v[i]), 0);
	s0 = stats_now();
	for (int i = 0; i < N; i++)
		CHECK_EQ(memblk_free(v[i]), -EINVAL);
	s1 = stats_now();
	same_stats(&s0, &s1);
	CHECK_EQ(s0.large_objects, s1.large_objects);
}

int main(void)
{
	int n = memblk_count();

	if (n < 1) {
		printf("SKIP: no usable topology\n");
		return T_SKIP;
	}
	/* Before the fix a slab's list could turn into a loop: fail rather
	 * than spin until meson's timeout. */
	alarm(60);
	owner_twice();
	remote_twice();
	abandoned_twice();
	returned_slab();
	large_twice();
	return t_finish("test_heap_double_free");
}
