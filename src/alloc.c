/* SPDX-License-Identifier: MIT */
/* Buffers on memblks: one mapping per buffer, bound before any page is
 * touched, under any scheme.
 *
 * The size and binding of each buffer live in a side table keyed by
 * address, not in a header page: a header would cost a whole huge page
 * under MEM_ALLOC_HUGETLB, break the alignment callers ask for, and let a
 * wrong pointer reach into unrelated memory.  The table is split into
 * shards with a lock each; its cost is small next to mmap and munmap.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc.h"
#include "internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* 5.14 */
#endif

#define THP_SIZE (2UL << 20)
/* Sizes above this are refused outright (-EINVAL): no mapping is larger. */
#define MAX_SIZE ((size_t)1 << 56)

static __thread int last_error;

void mb_alloc_fail(int err)
{
	last_error = err;
	errno = -err;
}

MB_EXPORT int mem_alloc_error(void)
{
	return last_error;
}

/* ---- the side table ---- */
struct mb_buf {
	uintptr_t addr;
	size_t maplen; /* bytes mapped at addr */
	size_t size;   /* bytes asked for */
	unsigned long behavior;
	unsigned long flags; /* MEM_ALLOC_* */
	unsigned long tag;   /* 0 or MB_BUF_HEAP | memblk */
	size_t alignment;
	unsigned int len;    /* bits in mask */
	unsigned long *mask; /* NULL for no binding */
	struct mb_buf *next;
};

#define NSHARDS 64
static struct shard {
	pthread_mutex_t lock;
	struct mb_buf **tab;
	size_t cap, n; /* cap: a power of two, or 0 */
} shards[NSHARDS];
static pthread_once_t shards_once = PTHREAD_ONCE_INIT;

static void shards_init(void)
{
	for (int i = 0; i < NSHARDS; i++)
		pthread_mutex_init(&shards[i].lock, NULL);
	mb_fork_register(); /* mem_free() may come before the topology */
}

/* fork(): see fork.c.  The shard locks are never nested. */
void mb_alloc_fork(enum mb_fork phase)
{
	pthread_once(&shards_once, shards_init);
	for (int i = 0; i < NSHARDS; i++)
		if (phase == MB_FORK_PREPARE)
			pthread_mutex_lock(&shards[i].lock);
		else
			pthread_mutex_unlock(&shards[NSHARDS - 1 - i].lock);
}

static uint64_t hash(uintptr_t a)
{
	return ((uint64_t)a >> 12) * 0x9e3779b97f4a7c15ULL;
}

static struct shard *shard_of(uintptr_t a)
{
	pthread_once(&shards_once, shards_init);
	return &shards[hash(a) >> 58];
}

static size_t slot(const struct shard *s, uintptr_t a)
{
	return (size_t)(hash(a) >> 20) & (s->cap - 1);
}

/* Called with s->lock held. */
static int table_insert(struct shard *s, struct mb_buf *b)
{
	size_t i;

	if (s->n >= s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct mb_buf **tab = calloc(cap, sizeof(*tab));

		if (!tab)
			return -ENOMEM;
		for (size_t j = 0; j < s->cap; j++) {
			while (s->tab[j]) {
				struct mb_buf *x = s->tab[j];

				s->tab[j] = x->next;
				i = (size_t)(hash(x->addr) >> 20) & (cap - 1);
				x->next = tab[i];
				tab[i] = x;
			}
		}
		free(s->tab);
		s->tab = tab;
		s->cap = cap;
	}
	i = slot(s, b->addr);
	b->next = s->tab[i];
	s->tab[i] = b;
	s->n++;
	return 0;
}

/* Called with s->lock held; unlinks when remove is true. */
static struct mb_buf *table_find(struct shard *s, uintptr_t a, bool remove)
{
	struct mb_buf **pp;

	if (!s->cap)
		return NULL;
	for (pp = &s->tab[slot(s, a)]; *pp; pp = &(*pp)->next) {
		struct mb_buf *b = *pp;

		if (b->addr != a)
			continue;
		if (remove) {
			*pp = b->next;
			s->n--;
		}
		return b;
	}
	return NULL;
}

static int record(struct mb_buf *b)
{
	struct shard *s = shard_of(b->addr);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = table_insert(s, b);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static struct mb_buf *unrecord(uintptr_t a)
{
	struct shard *s = shard_of(a);
	struct mb_buf *b;

	pthread_mutex_lock(&s->lock);
	b = table_find(s, a, true);
	pthread_mutex_unlock(&s->lock);
	return b;
}

bool mb_buf_lookup(const void *p, size_t *usable, unsigned long *tag)
{
	struct shard *s = shard_of((uintptr_t)p);
	struct mb_buf *b;

	pthread_mutex_lock(&s->lock);
	b = table_find(s, (uintptr_t)p, false);
	if (b) {
		*usable = b->maplen;
		*tag = b->tag;
	}
	pthread_mutex_unlock(&s->lock);
	return b != NULL;
}

/* ---- pages ---- */
/* The default hugetlb page size, 0 if the kernel has no hugetlb. */
static size_t hugetlb_size(void)
{
	static size_t cached = 1; /* 1: not read yet */
	size_t hs = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	uint64_t bytes;

	if (hs != 1)
		return hs;
	hs = mb_meminfo("Hugepagesize", &bytes) ? 0 : (size_t)bytes;
	__atomic_store_n(&cached, hs, __ATOMIC_RELAXED);
	return hs;
}

/* Allocate every page of [p, p + len) now, under whatever policy it has. */
static int populate(void *p, size_t len)
{
	size_t ps = mb_page_size();

	if (!madvise(p, len, MADV_POPULATE_WRITE))
		return 0;
	if (errno != EINVAL)
		return errno == EFAULT || errno == EHWPOISON ? -ENOMEM : -errno;
	/* Before 5.14: touch each page.  The memory is fresh, all zero. */
	for (size_t i = 0; i < len; i += ps)
		__atomic_store_n((char *)p + i, 0, __ATOMIC_RELAXED);
	return 0;
}

static bool bind_like(unsigned long behavior, unsigned int len,
		      const unsigned long *mask)
{
	switch (behavior & MEMBIND_SCHEME_MASK) {
	case MEMBIND_HARD:
	case MEMBIND_STRIPE:
		return true;
	case MEMBIND_FIRST_TOUCH:
		return mask && mb_weight(mask, len) > 0;
	default:
		return false;
	}
}

/*
 * A page fault that cannot be served on a MPOL_BIND memblk invokes the OOM
 * killer (MADV_POPULATE_WRITE too: it faults the pages in).  Migration does
 * not: its target pages are allocated with __GFP_RETRY_MAYFAIL.  So the
 * pages are first allocated under a policy that may fall back (SOFT on the
 * same memblks, nearest first as a bind would choose), and the real binding
 * is then applied with MOVE | STRICT: pages that went elsewhere move, and
 * if one cannot, the kernel says -EIO, which means the memblks are full.
 */
int mb_populate_bound(const struct mb_topo *t, void *p, size_t len,
		      unsigned int mlen, const unsigned long *mask,
		      unsigned long behavior, const struct mb_kpol *k)
{
	unsigned long scheme = behavior & MEMBIND_SCHEME_MASK;
	struct mb_kpol soft;
	int ret;

	if (!bind_like(behavior, mlen, mask)) {
		if (mask) {
			ret = mb_bind_range(t, p, len, mlen, mask, behavior,
					    k);
			if (ret)
				return ret;
		}
		/* A binding that may fall back has no OOM killer to fear
		 * from later faults: if memory is too short to populate now
		 * (a full memblk, reclaim racing), the pages come at first
		 * touch instead, still by the binding. */
		ret = populate(p, len);
		return ret == -ENOMEM ? 0 : ret;
	}
	if (scheme == MEMBIND_STRIPE) {
		unsigned int order = MEMBIND_STRIPE_ORDER(behavior);
		unsigned long one[MB_LONGS(MEMBIND_MAX_BITS)];
		struct mb_stripe_iter it;
		unsigned int m = mb_stripe_start(&it, mask, mlen, 0);
		size_t ss;

		ss = 1UL << (order ? order : MEMBIND_STRIPE_DEFAULT_ORDER);
		if (ss < mb_page_size())
			return -EINVAL;
		for (size_t off = 0; off < len;
		     off += ss, m = mb_stripe_next(&it)) {
			memset(one, 0, MB_LONGS(mlen) * sizeof(long));
			mb_set(one, m);
			ret = mb_to_kpol(t, MB_SCOPE_RANGE, mlen, one,
					 MEMBIND_SOFT, &soft);
			if (!ret)
				ret = mb_bind_range(t, (char *)p + off,
						    len - off < ss ? len - off :
								     ss,
						    mlen, one, MEMBIND_SOFT,
						    &soft);
			if (ret)
				return ret;
		}
	} else {
		unsigned long fallback = MEMBIND_SOFT;

		ret = mb_to_kpol(t, MB_SCOPE_RANGE, mlen, mask, fallback,
				 &soft);
		if (ret == -EOPNOTSUPP) { /* no PREFERRED_MANY before 5.15 */
			fallback = MEMBIND_ROUND_ROBIN;
			ret = mb_to_kpol(t, MB_SCOPE_RANGE, mlen, mask,
					 fallback, &soft);
		}
		if (!ret)
			ret = mb_bind_range(t, p, len, mlen, mask, fallback,
					    &soft);
		if (ret)
			return ret;
	}
	ret = populate(p, len);
	if (ret)
		return ret;
	ret = mb_bind_range(t, p, len, mlen, mask,
			    behavior | MEMBIND_MOVE | MEMBIND_STRICT, k);
	return ret == -EIO ? -ENOMEM : ret;
}

/* Bind (and populate) a whole buffer, as recorded in b.  t and k: its
 * binding checked and translated (check_binding()), or NULL to do it
 * here. */
static int place(struct mb_buf *b, const struct mb_topo *t,
		 const struct mb_kpol *k)
{
	void *p = (void *)b->addr;
	struct mb_kpol kb;
	int err = 0;

	if (b->flags & MEM_ALLOC_THP) {
		if (madvise(p, b->maplen, MADV_HUGEPAGE))
			return errno == EINVAL ? -EOPNOTSUPP : -errno;
	}
	if (!b->mask && !(b->flags & MEM_ALLOC_POPULATE))
		return 0;
	if (b->mask && !k) {
		t = mb_kpol_live(MB_SCOPE_RANGE, b->len, b->mask, b->behavior,
				 &kb, &err);
		if (!t)
			return err;
		k = &kb;
	}
	if (b->flags & MEM_ALLOC_POPULATE)
		return mb_populate_bound(t, p, b->maplen, b->len, b->mask,
					 b->behavior, k);
	return mb_bind_range(t, p, b->maplen, b->len, b->mask, b->behavior,
			     k);
}

/* Forget a striped range's record in range.c before it is unmapped. */
static void unstripe(struct mb_buf *b, uintptr_t from)
{
	if ((b->behavior & MEMBIND_SCHEME_MASK) == MEMBIND_STRIPE &&
	    from < b->addr + b->maplen)
		mb_stripes_forget(from, b->addr + b->maplen);
}

/* A mapping of len bytes aligned to align (>= the mapping's granule). */
static void *map_aligned(size_t len, size_t align, size_t granule, int hflag,
			 int *err)
{
	size_t extra = align > granule ? align - granule : 0;
	uintptr_t a, lo;
	void *p;

	if (len + extra < len) {
		*err = -ENOMEM;
		return NULL;
	}
	p = mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | hflag, -1, 0);
	if (p == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	a = (uintptr_t)p;
	lo = (a + align - 1) & ~(uintptr_t)(align - 1);
	if (lo > a)
		munmap(p, lo - a);
	if (a + extra > lo)
		munmap((void *)(lo + len), a + extra - lo);
	return (void *)lo;
}

static int check_opts(const struct mem_alloc_opts *opts,
		      struct mem_alloc_opts *o)
{
	*o = (struct mem_alloc_opts)MEM_ALLOC_OPTS_INIT;
	if (mb_sz_in(o, sizeof(*o), opts, sizeof(size_t)))
		return -EINVAL;
	if (o->flags & ~MEM_ALLOC_VALID_FLAGS)
		return -EINVAL;
	if ((o->flags & MEM_ALLOC_THP) && (o->flags & MEM_ALLOC_HUGETLB))
		return -EINVAL;
	if (o->alignment & (o->alignment - 1))
		return -EINVAL;
	return 0;
}

/* Check a binding before anything is mapped, so that bad input costs no
 * system call, and translate it for place() (*t, k).  A binding with no
 * mask bits and DEFAULT is no binding: 1, *t left NULL. */
static int check_binding(unsigned int len, const unsigned long *mask,
			 unsigned long behavior, const struct mb_topo **t,
			 struct mb_kpol *k)
{
	int err = 0;

	*t = NULL;
	if ((behavior & MEMBIND_SCHEME_MASK) == MEMBIND_DEFAULT && !mask &&
	    !len)
		return (behavior & ~MEMBIND_SCHEME_MASK) ? -EINVAL : 1;
	if (behavior & MEMBIND_THREAD)
		return -EINVAL;
	*t = mb_kpol_live(MB_SCOPE_RANGE, len, mask, behavior, k, &err);
	return *t ? 0 : err;
}

void *mb_buf_alloc(size_t size, unsigned int len, const unsigned long *mask,
		   unsigned long behavior, const struct mem_alloc_opts *opts,
		   unsigned long tag, int *err)
{
	struct mem_alloc_opts o;
	struct mb_buf *b = NULL;
	const struct mb_topo *t;
	struct mb_kpol k;
	size_t granule = mb_page_size(), align;
	void *p = NULL;
	int ret;

	ret = check_opts(opts, &o);
	if (ret)
		goto err;
	ret = -EINVAL;
	if (size == 0 || size > MAX_SIZE)
		goto err;
	ret = check_binding(len, mask, behavior, &t, &k);
	if (ret < 0)
		goto err;
	if (o.flags & MEM_ALLOC_HUGETLB) {
		granule = hugetlb_size();
		ret = -EOPNOTSUPP;
		if (!granule)
			goto err;
	}
	align = o.alignment > granule ? o.alignment : granule;
	if ((o.flags & MEM_ALLOC_THP) && align < THP_SIZE)
		align = THP_SIZE;

	ret = -ENOMEM;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto err;
	b->size = size;
	b->maplen = (size + granule - 1) & ~(granule - 1);
	b->behavior = behavior;
	b->flags = o.flags;
	b->alignment = align;
	b->tag = tag;
	if (mask) {
		b->len = len;
		b->mask = malloc(MB_LONGS(len) * sizeof(long));
		if (!b->mask)
			goto err;
		memcpy(b->mask, mask, MB_LONGS(len) * sizeof(long));
	}
	p = map_aligned(b->maplen, align, granule,
			(o.flags & MEM_ALLOC_HUGETLB) ? MAP_HUGETLB : 0, &ret);
	if (!p)
		goto err;
	b->addr = (uintptr_t)p;
	ret = place(b, t, b->mask ? &k : NULL);
	if (!ret)
		ret = record(b);
	if (ret)
		goto err;
	return p;
err:
	if (p) {
		unstripe(b, b->addr);
		munmap(p, b->maplen);
	}
	if (b)
		free(b->mask);
	free(b);
	*err = ret;
	return NULL;
}

static void buf_destroy(struct mb_buf *b)
{
	unstripe(b, b->addr);
	munmap((void *)b->addr, b->maplen);
	free(b->mask);
	free(b);
}

int mb_buf_free(void *p, unsigned long tag, size_t *usable,
		unsigned long *tagp)
{
	struct shard *s = shard_of((uintptr_t)p);
	struct mb_buf *b;

	pthread_mutex_lock(&s->lock);
	b = table_find(s, (uintptr_t)p, false);
	if (b && (tag & MB_BUF_HEAP) != (b->tag & MB_BUF_HEAP))
		b = NULL;
	if (b)
		table_find(s, (uintptr_t)p, true);
	pthread_mutex_unlock(&s->lock);
	if (!b)
		return -EINVAL;
	if (usable)
		*usable = b->maplen;
	if (tagp)
		*tagp = b->tag;
	buf_destroy(b);
	return 0;
}

MB_EXPORT void *mem_alloc(size_t size, unsigned int len,
			  const unsigned long *mask, unsigned long behavior,
			  const struct mem_alloc_opts *opts)
{
	int err = 0;
	void *p = mb_buf_alloc(size, len, mask, behavior, opts, 0, &err);

	if (!p)
		mb_alloc_fail(err);
	return p;
}

MB_EXPORT int mem_free(void *p)
{
	if (!p)
		return 0;
	return mb_buf_free(p, 0, NULL, NULL);
}

/* Grow or shrink b in place; -EAGAIN: copy instead.  On any other error
 * b is as it was. */
static int resize(struct mb_buf *b, size_t size)
{
	size_t granule = b->flags & MEM_ALLOC_HUGETLB ? hugetlb_size() :
							 mb_page_size();
	size_t maplen = (size + granule - 1) & ~(granule - 1);
	uintptr_t old = b->addr;
	size_t oldlen = b->maplen, oldsize = b->size;
	void *q;
	int ret;

	if (maplen <= oldlen) {
		if (maplen < oldlen) {
			unstripe(b, old + maplen);
			munmap((void *)(old + maplen), oldlen - maplen);
		}
		b->maplen = maplen;
		b->size = size;
		return 0;
	}
	/* A move could lose the alignment; hugetlb mremap is recent. */
	if (b->alignment > mb_page_size() || (b->flags & MEM_ALLOC_HUGETLB))
		return -EAGAIN;
	/* Grow in place only: a mapping that must move goes the copy way,
	 * where a failure leaves the caller's buffer as it was. */
	q = mremap((void *)old, oldlen, maplen, 0);
	if (q == MAP_FAILED)
		return -EAGAIN;
	b->maplen = maplen;
	b->size = size;
	/* The tail inherited the policy of the last piece (one stripe);
	 * bind the whole again.  Pages already there conform. */
	ret = place(b, NULL, NULL);
	if (ret) {
		/* Give the buffer back as it was: its length and binding. */
		mremap((void *)old, maplen, oldlen, 0);
		b->maplen = oldlen;
		b->size = oldsize;
		place(b, NULL, NULL);
	}
	return ret;
}

MB_EXPORT void *mem_realloc(void *p, size_t size)
{
	struct mem_alloc_opts o;
	struct mb_buf *b;
	void *q;
	int ret;

	if (!p || size == 0 || size > MAX_SIZE) {
		mb_alloc_fail(-EINVAL);
		return NULL;
	}
	b = unrecord((uintptr_t)p);
	if (!b || (b->tag & MB_BUF_HEAP)) {
		if (b)
			record(b); /* the table had room for it */
		mb_alloc_fail(-EINVAL);
		return NULL;
	}
	ret = resize(b, size);
	if (!ret) {
		ret = record(b);
		if (ret) {
			buf_destroy(b);
			mb_alloc_fail(ret);
			return NULL;
		}
		return (void *)b->addr;
	}
	if (ret != -EAGAIN) {
		/* Not resized: the buffer is as it was (resize() undid it). */
		record(b);
		mb_alloc_fail(ret);
		return NULL;
	}
	o = (struct mem_alloc_opts){ .sz = sizeof(o),
				     .alignment = b->alignment,
				     .flags = b->flags };
	q = mb_buf_alloc(size, b->len, b->mask, b->behavior, &o, b->tag, &ret);
	if (!q) {
		record(b);
		mb_alloc_fail(ret);
		return NULL;
	}
	memcpy(q, p, size < b->size ? size : b->size);
	buf_destroy(b);
	return q;
}
