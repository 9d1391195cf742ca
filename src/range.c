/* SPDX-License-Identifier: MIT */
/* Bindings of ranges (the seed's first future extension): set, read back,
 * and the stripes this process set. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "syscalls.h"

/* ---- the stripes this process set, so that they read back as stripes ----
 * The kernel sees a striped range as many MPOL_BIND ranges of one node
 * each; we remember [lo, hi) with the stripe geometry.  A later binding of
 * part of the range trims the record. */
struct stripe_rec {
	uintptr_t base, lo, hi;
	unsigned int order;
	unsigned int len;
	unsigned long mask[MB_LONGS(MEMBIND_MAX_BITS)];
	struct stripe_rec *next;
};

static pthread_mutex_t stripe_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stripe_rec *stripes;
/* stripes != NULL, readable without the lock (set under it). */
static bool stripes_any;

static void stripes_changed(void)
{
	__atomic_store_n(&stripes_any, stripes != NULL, __ATOMIC_RELEASE);
}

/* Forget [lo, hi); returns -ENOMEM if a record had to split and could not. */
static int stripes_forget(uintptr_t lo, uintptr_t hi)
{
	struct stripe_rec **pp = &stripes;

	while (*pp) {
		struct stripe_rec *r = *pp;

		if (r->hi <= lo || r->lo >= hi) {
			pp = &r->next;
			continue;
		}
		if (r->lo < lo && r->hi > hi) {
			struct stripe_rec *tail = malloc(sizeof(*tail));

			if (!tail)
				return -ENOMEM;
			*tail = *r;
			tail->lo = hi;
			r->hi = lo;
			r->next = tail;
			pp = &tail->next;
		} else if (r->lo < lo) {
			r->hi = lo;
			pp = &r->next;
		} else if (r->hi > hi) {
			r->lo = hi;
			pp = &r->next;
		} else {
			*pp = r->next;
			free(r);
		}
	}
	stripes_changed();
	return 0;
}

void mb_stripes_forget(uintptr_t lo, uintptr_t hi)
{
	if (!__atomic_load_n(&stripes_any, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&stripe_lock);
	stripes_forget(lo, hi);
	pthread_mutex_unlock(&stripe_lock);
}

static int count_one(void *arg, const struct mb_mapping *m)
{
	(void)m;
	++*(int *)arg;
	return 0;
}

static int stripes_count_maps(void)
{
	int lines = 0, r = mb_maps_walk(0, 0, count_one, &lines);

	return r < 0 ? r : lines;
}

/* Each stripe becomes a mapping of its own: make sure the process's limit
 * (vm.max_map_count) leaves room, rather than fail half way. */
static int stripes_fit(unsigned long nstripes)
{
	char buf[64];
	uint64_t max;
	int len, maps;

	len = mb_read_file(MB_PROC "/sys/vm", buf, sizeof(buf), "max_map_count");
	if (len < 0 || mb_parse_u64(buf, (size_t)len, INT32_MAX, &max))
		return 0; /* unknown limit: let the kernel decide */
	maps = stripes_count_maps();
	if (maps < 0)
		return 0;
	/* Splitting one mapping adds up to nstripes + 1 mappings. */
	return (uint64_t)maps + nstripes + 1 > max ? -ENOMEM : 0;
}

/* Pages of [start, start + length) that are not on a node of nodes: 0, a
 * count, or -errno.  (MPOL_MF_STRICT alone would change the policy and then
 * report -EIO; we must report without changing anything.) */
static long nonconforming(uintptr_t start, size_t length,
			  const unsigned long *nodes, unsigned long nbits)
{
	enum { BATCH = 512 }; /* 6 KiB of stack */
	void *pages[BATCH];
	int status[BATCH];
	unsigned long ps = mb_page_size(), n = length / ps;
	long bad = 0;

	for (unsigned long i = 0; i < n; i += BATCH) {
		unsigned long c = n - i < BATCH ? n - i : BATCH;
		long r;

		for (unsigned long j = 0; j < c; j++)
			pages[j] = (void *)(start + (i + j) * ps);
		r = mb_sys_move_pages(0, c, pages, NULL, status, 0);
		if (r < 0)
			return r;
		for (unsigned long j = 0; j < c; j++)
			if (status[j] >= 0 &&
			    ((unsigned long)status[j] >= nbits ||
			     !mb_test(nodes, (unsigned)status[j])))
				bad++;
	}
	return bad;
}

struct cover {
	uintptr_t covered, end;
};

static int cover_one(void *arg, const struct mb_mapping *m)
{
	struct cover *c = arg;

	if (m->lo > c->covered)
		return 1; /* a hole before the next mapping */
	if (m->hi > c->covered)
		c->covered = m->hi;
	return c->covered >= c->end;
}

/* Is all of [start, end) mapped?  A stripe over a hole would fail half
 * way; the kernel checks a whole range before it changes anything, and
 * so must we. */
static int range_mapped(uintptr_t start, uintptr_t end)
{
	struct cover c = { start, end };
	int r = mb_maps_walk(0, 0, cover_one, &c);

	if (r < 0)
		return r;
	return c.covered >= end ? 0 : -EFAULT;
}

static int set_stripes(const struct mb_topo *t, uintptr_t start, size_t length,
		       unsigned int len, const unsigned long *mask,
		       unsigned long behavior, unsigned int mflags)
{
	unsigned int order = MEMBIND_STRIPE_ORDER(behavior);
	unsigned long ss, nstripes, nodes[MB_LONGS(MB_MAX_NODES)];
	unsigned long old_nodes[MB_LONGS(MB_MAX_NODES)];
	struct mb_stripe_iter it;
	unsigned int m;
	bool strict = (behavior & MEMBIND_STRICT) &&
		      !(behavior & MEMBIND_MOVE);
	struct stripe_rec *rec;
	int ret = 0, old_mode;

	if (!order)
		order = MEMBIND_STRIPE_DEFAULT_ORDER;
	ss = 1UL << order;
	if (ss < mb_page_size())
		return -EINVAL;
	nstripes = (length + ss - 1) / ss;
	if (nstripes > 1) {
		ret = stripes_fit(nstripes);
		if (ret)
			return ret;
	}
	ret = range_mapped(start, start + length);
	if (ret)
		return ret;
	/* STRICT without MOVE: every stripe's pages on its own memblk, or
	 * -EIO before anything changes. */
	m = mb_stripe_start(&it, mask, len, 0);
	for (unsigned long i = 0; strict && i < nstripes;
	     i++, m = mb_stripe_next(&it)) {
		uintptr_t a = start + i * ss;
		size_t l = length - i * ss < ss ? length - i * ss : ss;
		long bad;

		memset(nodes, 0, sizeof(nodes));
		mb_set(nodes, (unsigned)t->memblk_node[m]);
		bad = nonconforming(a, l, nodes, mb_kbits(t));
		if (bad)
			return bad < 0 ? (int)bad : -EIO;
	}
	/* What to give the range back if a stripe fails after all. */
	memset(old_nodes, 0, sizeof(old_nodes));
	ret = mb_sys_get_mempolicy(&old_mode, old_nodes, mb_kbits(t),
				   (void *)start, MPOL_F_ADDR);
	if (ret)
		return ret;
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	m = mb_stripe_start(&it, mask, len, 0);
	for (unsigned long i = 0; i < nstripes;
	     i++, m = mb_stripe_next(&it)) {
		uintptr_t a = start + i * ss;
		size_t l = length - i * ss < ss ? length - i * ss : ss;

		memset(nodes, 0, sizeof(nodes));
		mb_set(nodes, (unsigned)t->memblk_node[m]);
		ret = mb_sys_mbind((void *)a, l, MB_MPOL_BIND, nodes,
				   mb_kbits(t), mflags);
		if (ret) {
			/* Undo: the range gets back the binding its start
			 * had (exact when the range had one binding before;
			 * see mem_setbinding_range(3)). */
			mb_sys_mbind((void *)start, length, old_mode,
				     old_mode == MB_MPOL_DEFAULT ? NULL :
								  old_nodes,
				     old_mode == MB_MPOL_DEFAULT ? 0 :
								  mb_kbits(t),
				     0);
			free(rec);
			return ret;
		}
	}
	rec->base = rec->lo = start;
	rec->hi = start + length;
	rec->order = order;
	rec->len = len;
	memcpy(rec->mask, mask, MB_LONGS(len) * sizeof(long));
	if (len % MB_BPL) /* only the caller's len bits */
		rec->mask[len / MB_BPL] &= (1UL << (len % MB_BPL)) - 1;
	pthread_mutex_lock(&stripe_lock);
	ret = stripes_forget(rec->lo, rec->hi);
	rec->next = stripes;
	stripes = rec;
	stripes_changed();
	pthread_mutex_unlock(&stripe_lock);
	return ret;
}

int mb_bind_range(const struct mb_topo *t, void *addr, size_t length,
		  unsigned int len, const unsigned long *mask,
		  unsigned long behavior, const struct mb_kpol *k)
{
	uintptr_t start = (uintptr_t)addr;
	unsigned long scheme = behavior & MEMBIND_SCHEME_MASK;
	unsigned int mflags = 0;
	bool spread;
	int ret;

	if (behavior & MEMBIND_MOVE)
		mflags |= MB_MPOL_MF_MOVE;
	if (!mb_weight(k->nodes, (unsigned)k->nbits)) {
		/* DEFAULT, or FIRST_TOUCH anywhere: every page conforms,
		 * and there is nothing to move. */
		mflags = 0;
	} else if ((behavior & MEMBIND_STRICT) &&
		   !(behavior & MEMBIND_MOVE)) {
		/* For stripes, set_stripes() checks each stripe. */
		long bad = scheme == MEMBIND_STRIPE ?
				   0 :
				   nonconforming(start, length, k->nodes,
						 k->nbits);

		if (bad)
			return bad < 0 ? (int)bad : -EIO;
	} else if (behavior & MEMBIND_STRICT) {
		mflags |= MB_MPOL_MF_STRICT;
	}

	if (scheme == MEMBIND_STRIPE)
		return set_stripes(t, start, length, len, mask, behavior,
				   mflags);
	/* The kernel's MPOL_MF_MOVE leaves the pages already on a memblk of
	 * an interleave where they are: those schemes move here after the
	 * binding, in the kernel's interleave order (move.c). */
	spread = (mflags & MB_MPOL_MF_MOVE) &&
		 (scheme == MEMBIND_ROUND_ROBIN || scheme == MEMBIND_WEIGHTED);
	if (spread)
		mflags = 0;
	ret = mb_sys_mbind(addr, length, k->mode,
			   k->mode == MB_MPOL_DEFAULT ? NULL : k->nodes,
			   k->mode == MB_MPOL_DEFAULT ? 0 : k->nbits, mflags);
	if (ret)
		return ret;
	/* Most processes never stripe: no lock then. */
	if (__atomic_load_n(&stripes_any, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&stripe_lock);
		ret = stripes_forget(start, start + length);
		pthread_mutex_unlock(&stripe_lock);
	}
	if (!ret && spread) {
		long failed = mb_move_range(t, start, length, len, mask,
					    behavior);

		if (failed < 0)
			ret = (int)failed;
		else if (failed && (behavior & MEMBIND_STRICT))
			ret = -EIO;
	}
	return ret;
}

MB_EXPORT int mem_setbinding_range(void *addr, size_t length, unsigned int len,
				   const unsigned long *mask,
				   unsigned long behavior)
{
	uintptr_t start = (uintptr_t)addr;
	unsigned long ps = mb_page_size();
	const struct mb_topo *t;
	struct mb_kpol k;
	int err = 0;

	if (!addr || (start & (ps - 1)) || length == 0 ||
	    length > SIZE_MAX - ps || start + length < start)
		return -EINVAL;
	length = (length + ps - 1) & ~(ps - 1);
	t = mb_kpol_live(MB_SCOPE_RANGE, len, mask, behavior, &k, &err);
	if (!t)
		return err;
	return mb_bind_range(t, addr, length, len, mask, behavior, &k);
}

/* The memblk the stripe holding address a of record r is on. */
static unsigned int stripe_memblk(const struct stripe_rec *r, uintptr_t a)
{
	struct mb_stripe_iter it;

	return mb_stripe_start(&it, r->mask, r->len,
			       (a - r->base) >> r->order);
}

/* Is the page at a bound by the kernel as r says (hard, to its stripe's
 * memblk alone)?  Under stripe_lock. */
static bool stripe_holds(const struct mb_topo *t, const struct stripe_rec *r,
			 uintptr_t a)
{
	unsigned long nodes[MB_LONGS(MB_MAX_NODES)] = {0};
	unsigned long out[MB_LONGS(MEMBIND_MAX_BITS)];
	unsigned long b;
	int mode;

	if (mb_sys_get_mempolicy(&mode, nodes, mb_kbits(t), (void *)a,
				 MPOL_F_ADDR))
		return false;
	mb_from_kpol(t, mode, nodes, mb_kbits(t), r->len, out, &b);
	return b == MEMBIND_HARD && mb_weight(out, r->len) == 1 &&
	       mb_test(out, stripe_memblk(r, a));
}

MB_EXPORT int mem_getbinding_range(void *addr, unsigned int len,
				   unsigned long *mask, unsigned long *behavior)
{
	unsigned long nodes[MB_LONGS(MB_MAX_NODES)] = {0};
	unsigned long out[MB_LONGS(MEMBIND_MAX_BITS)];
	uintptr_t a = (uintptr_t)addr;
	const struct mb_topo *t;
	unsigned long b;
	int mode, ret, err = 0;

	if (!addr || !mask || !behavior || len == 0 || len > MEMBIND_MAX_BITS)
		return -EINVAL;
	t = mb_topo_live(&err);
	if (!t)
		return err;
	if (len < (unsigned)t->nmemblks)
		return -EINVAL;
	ret = mb_sys_get_mempolicy(&mode, nodes, mb_kbits(t), addr,
				   MPOL_F_ADDR);
	if (ret)
		return ret;
	mb_from_kpol(t, mode, nodes, mb_kbits(t), len, out, &b);

	/* One memblk bound hard, inside a stripe record, on the memblk that
	 * stripe should have, and the record's first and last stripes still
	 * bound as they were: it is that stripe.  A record whose ends no
	 * longer match (the range was unmapped or rebound behind our back)
	 * is dropped here, so a new mapping at the same address is not taken
	 * for the old stripes. */
	if (b == MEMBIND_HARD && mb_weight(out, len) == 1) {
		pthread_mutex_lock(&stripe_lock);
		for (struct stripe_rec **pp = &stripes; *pp; pp = &(*pp)->next) {
			struct stripe_rec *r = *pp;

			if (a < r->lo || a >= r->hi)
				continue;
			if (!mb_test(out, stripe_memblk(r, a)))
				break;
			if (!stripe_holds(t, r, r->lo) ||
			    !stripe_holds(t, r, r->hi - 1)) {
				*pp = r->next;
				free(r);
				stripes_changed();
				break;
			}
			memset(out, 0, MB_LONGS(len) * sizeof(long));
			memcpy(out, r->mask,
			       MB_LONGS(r->len < len ? r->len : len) *
				       sizeof(long));
			b = MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(r->order);
			break;
		}
		pthread_mutex_unlock(&stripe_lock);
	}
	memcpy(mask, out, MB_LONGS(len) * sizeof(long));
	*behavior = b;
	return t->nmemblks;
}

/* fork(): see fork.c. */
void mb_range_fork(enum mb_fork phase)
{
	if (phase == MB_FORK_PREPARE)
		pthread_mutex_lock(&stripe_lock);
	else
		pthread_mutex_unlock(&stripe_lock);
}
