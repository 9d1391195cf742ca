/* SPDX-License-Identifier: MIT */
/*
 * Description: randomized stress of the per-memblk heap (run under ASan
 * and UBSan by the CI).  Threads (8, or HEAP_STRESS_THREADS) each keep a
 * table of objects of random sizes (1 B .. 1 MiB, log-uniform) on random
 * memblks, and at random allocate, free, realloc (sometimes onto another
 * memblk), or hand an object to another thread through a locked mailbox,
 * which frees or keeps it.  Every object is filled with a pattern of its
 * own, checked before each free and after each realloc: an overflow, a
 * double hand-out or a lost copy shows.  At the end everything is freed
 * and the statistics of every memblk show no live byte and as many frees
 * as allocations.
 */
#include <errno.h>
#include <stdio.h>

#include "alloctest.h"

#define SLOTS 256
#define OPS 40000
#define MAILBOX 64

struct obj {
	unsigned char *p;
	size_t size;
	unsigned char seed;
};

static int nthreads = 8, nmemblks;
static struct mailbox {
	pthread_mutex_t lock;
	struct obj o[MAILBOX];
	int n;
} *boxes;
static int errors;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t rand_size(uint64_t *s)
{
	unsigned int bits = (unsigned int)(rnd(s) % 21); /* up to 1 MiB */

	return 1 + (size_t)(rnd(s) & ((1UL << bits) - 1));
}

/* Fill only the ends of big objects (head: seed, tail: seed + 1): cheap,
 * and still shows an overflow into a neighbour. */
static size_t head_len(size_t size)
{
	return size < 4096 ? size : 4096;
}

static size_t tail_len(size_t size)
{
	size_t rest = size - head_len(size);

	return rest < 4096 ? rest : 4096;
}

static void fill(struct obj *o)
{
	size_t t = tail_len(o->size);

	at_fill(o->p, head_len(o->size), o->seed);
	at_fill(o->p + o->size - t, t, (unsigned char)(o->seed + 1));
}

static bool check(const struct obj *o)
{
	size_t t = tail_len(o->size);

	return at_check_fill(o->p, head_len(o->size), o->seed) &&
	       at_check_fill(o->p + o->size - t, t,
			     (unsigned char)(o->seed + 1));
}

static void drop(struct obj *o)
{
	if (!check(o)) {
		fprintf(stderr, "pattern of a %zu-byte object broken\n",
			o->size);
		__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	}
	if (memblk_free(o->p)) {
		fprintf(stderr, "memblk_free failed\n");
		__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	}
	o->p = NULL;
}

static void *worker(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);
	struct obj objs[SLOTS] = {{0}};
	int me = (int)(uintptr_t)arg;

	for (int op = 0; op < OPS; op++) {
		struct obj *o = &objs[rnd(&s) % SLOTS];
		unsigned int what = (unsigned int)(rnd(&s) % 8);
		int m = (int)(rnd(&s) % (uint64_t)nmemblks);

		if (!o->p) {
			o->size = rand_size(&s);
			o->seed = (unsigned char)rnd(&s);
			o->p = (what & 1) ? memblk_calloc(1, o->size, m) :
					    memblk_malloc(o->size, m);
			if (!o->p) {
				fprintf(stderr, "alloc %zu: %d\n", o->size,
					mem_alloc_error());
				__atomic_fetch_add(&errors, 1,
						   __ATOMIC_RELAXED);
				continue;
			}
			if ((what & 1) && o->p[o->size - 1]) {
				fprintf(stderr, "calloc not zero\n");
				__atomic_fetch_add(&errors, 1,
						   __ATOMIC_RELAXED);
			}
			fill(o);
		} else if (what < 3) {
			drop(o);
		} else if (what < 5) {
			size_t to = rand_size(&s);
			unsigned char *q;

			if (!check(o)) {
				__atomic_fetch_add(&errors, 1,
						   __ATOMIC_RELAXED);
				fprintf(stderr, "pattern broken before realloc\n");
			}
			q = memblk_realloc(o->p, to, m);
			if (!q) {
				__atomic_fetch_add(&errors, 1,
						   __ATOMIC_RELAXED);
				continue;
			}
			/* the first min(old, new) bytes are kept */
			if (!at_check_fill(q, head_len(o->size < to ? o->size :
								   to),
					   o->seed)) {
				__atomic_fetch_add(&errors, 1,
						   __ATOMIC_RELAXED);
				fprintf(stderr, "realloc lost contents\n");
			}
			o->p = q;
			o->size = to;
			fill(o);
		} else {
			/* to another thread's mailbox, which frees it */
			struct mailbox *b = &boxes[(me + 1 + (int)(rnd(&s) %
						    (uint64_t)(nthreads))) %
						   nthreads];

			pthread_mutex_lock(&b->lock);
			if (b->n < MAILBOX) {
				b->o[b->n++] = *o;
				o->p = NULL;
			}
			pthread_mutex_unlock(&b->lock);
		}
		if (op % 16 == 0) {
			struct mailbox *b = &boxes[me];
			struct obj got[MAILBOX];
			int n;

			pthread_mutex_lock(&b->lock);
			n = b->n;
			memcpy(got, b->o, (size_t)n * sizeof(got[0]));
			b->n = 0;
			pthread_mutex_unlock(&b->lock);
			for (int i = 0; i < n; i++)
				drop(&got[i]);
		}
	}
	for (int i = 0; i < SLOTS; i++)
		if (objs[i].p)
			drop(&objs[i]);
	return NULL;
}

int main(void)
{
	const char *e = getenv("HEAP_STRESS_THREADS");
	pthread_t th[64];

	nmemblks = memblk_count();
	if (nmemblks < 1 || nmemblks > BT_MAX) {
		printf("SKIP: no usable topology\n");
		return T_SKIP;
	}
	if (e && atoi(e) > 0 && atoi(e) <= 64)
		nthreads = atoi(e);
	boxes = calloc((size_t)nthreads, sizeof(*boxes));
	for (int i = 0; i < nthreads; i++)
		pthread_mutex_init(&boxes[i].lock, NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < nthreads; i++)
		for (int j = 0; j < boxes[i].n; j++)
			drop(&boxes[i].o[j]);
	CHECK_EQ(errors, 0);
	for (int m = 0; m < nmemblks; m++) {
		struct memblk_heap_stats st = MEMBLK_HEAP_STATS_INIT;

		CHECK_EQ(memblk_heap_stats(m, &st), 0);
		printf("memblk %d: %llu allocations, %llu frees, %llu live bytes, %llu chunks\n",
		       m, (unsigned long long)st.mallocs,
		       (unsigned long long)st.frees,
		       (unsigned long long)st.live_bytes,
		       (unsigned long long)st.chunks);
		CHECK_EQ(st.live_bytes, 0);
		CHECK_EQ(st.live_objects, 0);
		CHECK_EQ(st.mallocs, st.frees);
		CHECK(st.mallocs > 0);
	}
	free(boxes);
	return t_finish("test_heap_stress");
}
