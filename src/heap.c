/* SPDX-License-Identifier: MIT */
/*
 * A heap per memblk for small objects.
 *
 * Each memblk has an arena of 2 MiB chunks, aligned to their size, bound to
 * the memblk (HARD, or SOFT) and populated before the first object is handed
 * out, so that a full memblk is a NULL return and never the OOM killer (see
 * mb_populate_bound()).  A chunk is cut into 64 KiB slabs; slab 0 holds the
 * chunk header, with the descriptors of all slabs, so an object finds its
 * slab by aligning its address down to the chunk.  Each slab serves one size
 * class and is owned by one thread cache (one per thread per memblk):
 *
 *  - the owner allocates from slab->free and frees into slab->local_free
 *    without a lock or an atomic instruction;
 *  - any other thread sets the object's bit in slab->remote (one atomic
 *    OR, which also catches a second free) and raises remote_pending;
 *    only the owner takes those objects back (they go home to their slab);
 *  - a thread that exits abandons its slabs to the arena, where another
 *    thread adopts them when it needs a slab of that class.
 *
 * The arena's lock is taken only to get or return a whole slab.  Objects
 * above SMALL_MAX are buffers of their own (alloc.c), bound the same way.
 * A two-level bitmap of chunk addresses tells the two kinds apart.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "alloc.h"
#include "internal.h"

#define CHUNK_SHIFT 21
#define CHUNK_SIZE (1UL << CHUNK_SHIFT)
#define SLAB_SHIFT 16
#define SLAB_SIZE (1UL << SLAB_SHIFT)
#define NSLABS (CHUNK_SIZE / SLAB_SIZE) /* slab 0 is the header */
#define ALL_SLABS ((uint32_t)(((uint64_t)1 << NSLABS) - 2))
#define SMALL_MAX 16384UL
#define CHUNK_MAGIC 0x6d656d626c6b6870ULL
#define NCLASSES 36
/* Empty chunks an arena keeps rather than unmap. */
#define KEEP_EMPTY 1
/* Full slabs a thread looks at for remote frees before it takes a new one. */
#define FULL_SCAN 8
/* After a chunk could not be had (a full memblk), further attempts fail
 * at once for this long, or until the arena gets memory back: each one
 * maps, populates and migrates 2 MiB before it fails, so a thread that
 * keeps asking (an allocation loop that counts its failures) would spend
 * nearly all its time in those failures. */
#define FAIL_NS 20000000ULL
/* Freed large objects an arena keeps for reuse. */
#define CACHE_SLOTS 256
#define CACHE_MAX (64UL << 20)

/* Bits of slab->live and slab->remote: one per 16 B. */
#define SLOT_SHIFT 4
#define SLOT_WORDS ((SLAB_SIZE >> SLOT_SHIFT) / MB_BPL)

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct tcache;

struct slab {
	void *free;       /* owner: objects to hand out */
	void *local_free; /* owner: objects it freed */
	int remote_pending; /* atomic: others set bits in remote since the
			     * owner last looked */
	struct tcache *owner; /* NULL: free in the arena or abandoned */
	struct slab *prev, *next; /* owner's lists; arena's abandoned list */
	char *start;
	uint32_t size;     /* object size */
	uint32_t capacity; /* objects in the slab */
	uint32_t carved;   /* objects cut from the slab so far */
	uint32_t used;     /* handed out and not yet freed as far as known */
	uint8_t cls;
	bool full;         /* on the owner's full list */
	/* A bit per 16 B of the slab (object sizes are multiples of 16),
	 * set at the start of each object handed out, so that a second
	 * free is refused (-EINVAL) instead of putting the object on a free
	 * list twice.  live is written by the owner alone (plain stores, no
	 * atomic instruction on the fast path) and read by the others;
	 * remote marks the objects other threads freed that the owner has
	 * not collected yet (atomic: set by them, cleared by the owner). */
	unsigned long live[SLOT_WORDS];
	unsigned long remote[SLOT_WORDS];
};

struct chunk {
	uint64_t magic;
	struct arena *arena;
	unsigned int memblk; /* the arena's, read by memblk_free() */
	struct chunk *next_free; /* arena's chunks with free slabs */
	uint32_t free_mask;      /* slabs free in the arena */
	bool listed;
	struct slab slabs[NSLABS];
};

/* The chunk header, with all the slab descriptors, lives in slab 0. */
_Static_assert(sizeof(struct chunk) <= SLAB_SIZE, "chunk header in slab 0");

/* Per size class, so that an allocation or a free adds 1 to one counter
 * (the bytes are the counts times the class sizes). */
struct counters {
	uint64_t allocs[NCLASSES], frees[NCLASSES];
};

struct arena {
	pthread_mutex_t lock;
	int memblk;
	unsigned long behavior, flags; /* for chunks mapped from now on */
	/* The kernel policy of behavior on the memblk, translated on the
	 * topology kt (NULL: not yet, or behavior changed since). */
	const struct mb_topo *kt;
	struct mb_kpol k;
	struct chunk *free_chunks;
	uint64_t chunks, empty_chunks;
	uint64_t failed_at; /* when chunk_new last failed, 0: not since */
	int failed_err;
	struct slab *abandoned[NCLASSES];
	struct tcache *tcaches; /* every live thread cache, for statistics */
	struct counters retired; /* of thread caches that are gone */
	uint64_t large_bytes, large_objects; /* atomic */
	uint64_t large_allocs, large_frees;  /* atomic */
	/* Freed large objects kept for reuse (their pages stay populated on
	 * the memblk): up to CACHE_MAX bytes. */
	struct cached { void *p; size_t usable; } cache[CACHE_SLOTS];
	int ncached;
	size_t cached_bytes;
};

struct tcache {
	struct arena *arena;
	struct slab *active[NCLASSES]; /* slabs with objects, head first */
	struct slab *fulls[NCLASSES];  /* slabs found without */
	struct counters st; /* written by the owner alone */
	struct tcache *prev, *next;
	int busy; /* the owner is moving slabs between lists (fork) */
};

struct tls {
	unsigned int n;
	/* The chunk this thread last freed into, known to be a chunk while
	 * chunk_unmaps is still hint_gen, and this thread's cache of its
	 * memblk then (NULL if none): memblk_free() skips the chunk map and
	 * the look-up of its cache for it. */
	uintptr_t hint;
	uint64_t hint_gen;
	struct tcache *hint_tc;
	struct tcache *tc[];
};

/* Chunks unmapped so far: bumped before each munmap() of a chunk, so that
 * no thread takes the address for a chunk any longer. */
static uint64_t chunk_unmaps;

/* ---- size classes: 16-byte steps to 128, then 4 per doubling ---- */
static uint32_t class_size[NCLASSES];
static uint8_t class_of16[SMALL_MAX / 16 + 1]; /* by (size + 15) / 16 */

static void classes_init(void)
{
	unsigned int c = 0;

	for (uint32_t s = 16; s <= 128; s += 16)
		class_size[c++] = s;
	for (uint32_t p = 128; p < SMALL_MAX; p *= 2)
		for (uint32_t q = 1; q <= 4; q++)
			class_size[c++] = p + q * p / 4;
	c = 0;
	for (size_t i = 0; i <= SMALL_MAX / 16; i++) {
		while (class_size[c] < i * 16)
			c++;
		class_of16[i] = (uint8_t)c;
	}
}

static inline unsigned int size_class(size_t size)
{
	return class_of16[(size + 15) >> 4];
}

/* ---- which 2 MiB units are chunks: a two-level bitmap ----
 *
 * It covers the widest user address space of the architectures we run on:
 * 57 bits (x86-64 with 5-level paging gives up to 2^56 to a process that
 * asks for addresses above 2^47; arm64 gives 2^48, or 2^52 with LVA).  The
 * first level is 2^16 pointers (512 KiB of zero pages until used); a leaf,
 * allocated on first use, has a bit for each of the 2^20 units of 2 TiB
 * (128 KiB, mapped lazily by calloc).  A process uses a leaf or two.
 */
#define ADDR_BITS 57
#define L1_BITS 16
#define L2_BITS (ADDR_BITS - CHUNK_SHIFT - L1_BITS)
static unsigned long *chunkmap[1UL << L1_BITS];
static pthread_mutex_t chunkmap_lock = PTHREAD_MUTEX_INITIALIZER;

_Static_assert(sizeof(uintptr_t) * 8 >= ADDR_BITS, "64-bit addresses");

static bool chunkmap_test(uintptr_t c)
{
	uintptr_t i = c >> CHUNK_SHIFT;
	unsigned long *leaf;

	if (c >> ADDR_BITS)
		return false;
	leaf = __atomic_load_n(&chunkmap[i >> L2_BITS], __ATOMIC_ACQUIRE);
	if (!leaf)
		return false;
	i &= (1UL << L2_BITS) - 1;
	return (__atomic_load_n(&leaf[i / MB_BPL], __ATOMIC_ACQUIRE) >>
		(i % MB_BPL)) & 1;
}

static int chunkmap_set(uintptr_t c, bool on)
{
	uintptr_t i = c >> CHUNK_SHIFT;
	unsigned long *leaf, bit;

	if (c >> ADDR_BITS)
		return -ENOMEM; /* no user address is up there */
	leaf = __atomic_load_n(&chunkmap[i >> L2_BITS], __ATOMIC_ACQUIRE);
	if (!leaf) {
		pthread_mutex_lock(&chunkmap_lock);
		leaf = chunkmap[i >> L2_BITS];
		if (!leaf) {
			leaf = calloc(MB_LONGS(1UL << L2_BITS), sizeof(long));
			if (leaf)
				__atomic_store_n(&chunkmap[i >> L2_BITS], leaf,
						 __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&chunkmap_lock);
		if (!leaf)
			return -ENOMEM;
	}
	i &= (1UL << L2_BITS) - 1;
	bit = 1UL << (i % MB_BPL);
	if (on)
		__atomic_fetch_or(&leaf[i / MB_BPL], bit, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(&leaf[i / MB_BPL], ~bit, __ATOMIC_RELEASE);
	return 0;
}

static inline struct chunk *chunk_of(const void *p)
{
	return (struct chunk *)((uintptr_t)p & ~(CHUNK_SIZE - 1));
}

static inline struct slab *slab_of(struct chunk *c, const void *p)
{
	return &c->slabs[((uintptr_t)p >> SLAB_SHIFT) & (NSLABS - 1)];
}

/* ---- arenas ---- */
static struct arena *arenas[MB_MAX_NODES];
static pthread_mutex_t arenas_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t heap_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static __thread struct tls *tls __attribute__((tls_model("initial-exec")));

static void tls_destroy(void *arg);
static void tcache_retire(struct tcache *tc);

static void heap_init(void)
{
	classes_init();
	pthread_key_create(&tls_key, tls_destroy);
	mb_fork_register();
}

/* fork(): see fork.c.  In the child only the thread that forked lives on:
 * the slabs on the lists of the other threads' caches go to their arenas
 * as at thread exit, so that they, and the objects the child frees into
 * them, serve again.  Those caches themselves are not freed: a slab that a
 * vanished thread had taken but not yet listed (or was giving back) still
 * names its cache as owner, and a freed cache's address could come back as
 * the child's own cache, which would then take that slab for one of its
 * listed ones.  Such a slab, and the caches, a few hundred bytes per
 * thread, stay with the child unused; so do all the slabs of a cache
 * whose owner was moving slabs between its lists at the fork (busy). */
void mb_heap_fork(enum mb_fork phase)
{
	struct tls *t = tls;

	if (phase == MB_FORK_PREPARE) {
		pthread_mutex_lock(&arenas_lock);
		for (int i = 0; i < MB_MAX_NODES; i++)
			if (arenas[i])
				pthread_mutex_lock(&arenas[i]->lock);
		pthread_mutex_lock(&chunkmap_lock);
		return;
	}
	pthread_mutex_unlock(&chunkmap_lock);
	for (int i = MB_MAX_NODES - 1; i >= 0; i--)
		if (arenas[i])
			pthread_mutex_unlock(&arenas[i]->lock);
	pthread_mutex_unlock(&arenas_lock);
	if (phase != MB_FORK_CHILD)
		return;
	for (int i = 0; i < MB_MAX_NODES; i++) {
		struct tcache *mine = t && (unsigned int)i < t->n ? t->tc[i] :
								    NULL;

		if (!arenas[i])
			continue;
		for (struct tcache *tc = arenas[i]->tcaches, *next; tc;
		     tc = next) {
			next = tc->next;
			/* busy: caught changing its lists, which cannot be
			 * walked; its slabs stay unused */
			if (tc != mine && !tc->busy)
				tcache_retire(tc);
		}
	}
}

/* The memblk is one this process may bind to: 0, or -EINVAL. */
static int check_memblk(int memblk)
{
	const struct mb_topo *t;
	int err = 0;

	t = mb_topo_live(&err);
	if (!t)
		return err;
	if (memblk < 0 || memblk >= t->nmemblks ||
	    !mb_test(t->allowed, (unsigned int)memblk))
		return -EINVAL;
	return 0;
}

static struct arena *arena_get(int memblk, int *err)
{
	struct arena *a;

	if (memblk >= 0 && memblk < MB_MAX_NODES) {
		a = __atomic_load_n(&arenas[memblk], __ATOMIC_ACQUIRE);
		if (a)
			return a;
	}
	*err = check_memblk(memblk);
	if (*err)
		return NULL;
	pthread_once(&heap_once, heap_init);
	pthread_mutex_lock(&arenas_lock);
	a = arenas[memblk];
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (a) {
			pthread_mutex_init(&a->lock, NULL);
			a->memblk = memblk;
			a->behavior = MEMBIND_HARD;
			__atomic_store_n(&arenas[memblk], a, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&arenas_lock);
	if (!a)
		*err = -ENOMEM;
	return a;
}

static void arena_mask(const struct arena *a, unsigned long *mask)
{
	memset(mask, 0, MB_LONGS(a->memblk + 1) * sizeof(long));
	mb_set(mask, (unsigned int)a->memblk);
}

/* The arena's binding as a kernel policy (a->k) on the current topology
 * (*t): translated once, not at every chunk.  Called with a->lock held. */
static int arena_kpol(struct arena *a, const unsigned long *mask,
		      const struct mb_topo **t)
{
	int ret, err = 0;

	*t = mb_topo_live(&err);
	if (!*t)
		return err;
	if (a->kt == *t)
		return 0;
	ret = mb_to_kpol(*t, MB_SCOPE_RANGE, (unsigned)a->memblk + 1, mask,
			 a->behavior, &a->k);
	if (!ret)
		a->kt = *t;
	return ret;
}

/* Map, bind and populate a chunk.  Called with a->lock held. */
static struct chunk *chunk_new(struct arena *a, int *err)
{
	unsigned long mask[MB_LONGS(MB_MAX_NODES)];
	const struct mb_topo *t;
	uintptr_t base, lo;
	struct chunk *c;
	void *p;
	int ret;

	if (a->failed_at && mb_now_ns() - a->failed_at < FAIL_NS) {
		*err = a->failed_err;
		return NULL;
	}
	a->failed_at = 0;
	p = mmap(NULL, 2 * CHUNK_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	base = (uintptr_t)p;
	lo = (base + CHUNK_SIZE - 1) & ~(CHUNK_SIZE - 1);
	if (lo > base)
		munmap(p, lo - base);
	munmap((void *)(lo + CHUNK_SIZE), base + CHUNK_SIZE - lo);
	c = (struct chunk *)lo;
	/* Known as a chunk before the costly part; its magic is still 0,
	 * so memblk_free() refuses pointers into it until it is ready. */
	ret = chunkmap_set(lo, true);
	if (ret) {
		munmap(c, CHUNK_SIZE);
		*err = ret;
		return NULL;
	}
	arena_mask(a, mask);
	ret = arena_kpol(a, mask, &t);
	if (!ret && (a->flags & MEMBLK_HEAP_NOPOPULATE))
		ret = mb_bind_range(t, c, CHUNK_SIZE, (unsigned)a->memblk + 1,
				    mask, a->behavior, &a->k);
	else if (!ret)
		ret = mb_populate_bound(t, c, CHUNK_SIZE,
					(unsigned)a->memblk + 1, mask,
					a->behavior, &a->k);
	if (ret) {
		chunkmap_set(lo, false);
		__atomic_fetch_add(&chunk_unmaps, 1, __ATOMIC_SEQ_CST);
		munmap(c, CHUNK_SIZE);
		a->failed_at = mb_now_ns();
		a->failed_err = ret;
		*err = ret;
		return NULL;
	}
	c->arena = a;
	c->memblk = (unsigned int)a->memblk;
	__atomic_store_n(&c->magic, CHUNK_MAGIC, __ATOMIC_RELEASE);
	c->free_mask = ALL_SLABS;
	c->listed = true;
	c->next_free = a->free_chunks;
	a->free_chunks = c;
	a->chunks++;
	a->empty_chunks++;
	return c;
}

static void chunk_unlist(struct arena *a, struct chunk *c)
{
	struct chunk **pp;

	for (pp = &a->free_chunks; *pp; pp = &(*pp)->next_free) {
		if (*pp == c) {
			*pp = c->next_free;
			break;
		}
	}
	c->listed = false;
}

/* A free slab for class cls, owned by tc from now on. */
static struct slab *slab_take(struct tcache *tc, unsigned int cls, int *err)
{
	struct arena *a = tc->arena;
	struct slab *s;
	struct chunk *c;
	unsigned int i;

	pthread_mutex_lock(&a->lock);
	s = a->abandoned[cls];
	if (s) {
		a->abandoned[cls] = s->next;
		pthread_mutex_unlock(&a->lock);
		s->prev = s->next = NULL;
		s->full = false;
		__atomic_store_n(&s->owner, tc, __ATOMIC_RELEASE);
		return s;
	}
	c = a->free_chunks;
	if (!c)
		c = chunk_new(a, err);
	if (!c) {
		pthread_mutex_unlock(&a->lock);
		return NULL;
	}
	if (c->free_mask == ALL_SLABS)
		a->empty_chunks--;
	i = (unsigned int)__builtin_ctz(c->free_mask);
	c->free_mask &= ~(1U << i);
	if (!c->free_mask)
		chunk_unlist(a, c);
	pthread_mutex_unlock(&a->lock);

	s = &c->slabs[i];
	memset(s, 0, sizeof(*s));
	s->start = (char *)c + (size_t)i * SLAB_SIZE;
	s->size = class_size[cls];
	s->capacity = (uint32_t)(SLAB_SIZE / s->size);
	s->cls = (uint8_t)cls;
	__atomic_store_n(&s->owner, tc, __ATOMIC_RELEASE);
	return s;
}

/* Give an empty slab back to its chunk; unmap the chunk if it is empty
 * and the arena keeps enough others. */
static void slab_return(struct arena *a, struct slab *s)
{
	struct chunk *c = chunk_of(s);
	unsigned int i = (unsigned int)(s - c->slabs);
	bool unmap = false;

	__atomic_store_n(&s->owner, NULL, __ATOMIC_RELEASE);
	pthread_mutex_lock(&a->lock);
	a->failed_at = 0; /* a slab back: worth trying again */
	c->free_mask |= 1U << i;
	if (!c->listed) {
		c->listed = true;
		c->next_free = a->free_chunks;
		a->free_chunks = c;
	}
	if (c->free_mask == ALL_SLABS) {
		if (a->empty_chunks >= KEEP_EMPTY) {
			chunk_unlist(a, c);
			a->chunks--;
			unmap = true;
		} else {
			a->empty_chunks++;
		}
	}
	pthread_mutex_unlock(&a->lock);
	if (unmap) {
		chunkmap_set((uintptr_t)c, false);
		c->magic = 0;
		__atomic_fetch_add(&chunk_unmaps, 1, __ATOMIC_SEQ_CST);
		munmap(c, CHUNK_SIZE);
	}
}

/* ---- thread caches ---- */
/* The owner's lists are circular, so that the full list can rotate. */
static void list_remove(struct slab **head, struct slab *s)
{
	if (s->next == s) {
		*head = NULL;
	} else {
		s->prev->next = s->next;
		s->next->prev = s->prev;
		if (*head == s)
			*head = s->next;
	}
	s->prev = s->next = NULL;
}

static void list_push(struct slab **head, struct slab *s)
{
	if (!*head) {
		s->next = s->prev = s;
	} else {
		s->next = *head;
		s->prev = (*head)->prev;
		s->prev->next = s;
		(*head)->prev = s;
	}
	*head = s;
}

/* Around every change of tc's lists, and of the slabs going to or from
 * them: a fork() that catches the owner in one leaves the child lists it
 * cannot trust, and the child then leaves that cache alone (mb_heap_fork).
 * The fences make busy visible before the changes, and the changes before
 * it clears. */
static inline void tc_enter(struct tcache *tc)
{
	__atomic_store_n(&tc->busy, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline void tc_leave(struct tcache *tc)
{
	__atomic_store_n(&tc->busy, 0, __ATOMIC_RELEASE);
}

static struct tcache *tcache_get(int memblk, int *err)
{
	struct tls *t = tls;
	struct tcache *tc;
	struct arena *a;

	if (likely(t && (unsigned int)memblk < t->n && t->tc[memblk]))
		return t->tc[memblk];
	a = arena_get(memblk, err);
	if (!a)
		return NULL;
	if (!t || (unsigned int)memblk >= t->n) {
		unsigned int n = (unsigned int)memblk + 1, old = t ? t->n : 0;
		struct tls *nt;

		if (n < 8)
			n = 8;
		nt = realloc(t, sizeof(*t) + n * sizeof(t->tc[0]));
		if (!nt) {
			*err = -ENOMEM;
			return NULL;
		}
		memset(&nt->tc[old], 0, (n - old) * sizeof(nt->tc[0]));
		if (!t)
			nt->hint = UINTPTR_MAX; /* no chunk */
		nt->n = n;
		tls = t = nt;
		pthread_setspecific(tls_key, t);
	}
	tc = calloc(1, sizeof(*tc));
	if (!tc) {
		*err = -ENOMEM;
		return NULL;
	}
	tc->arena = a;
	pthread_mutex_lock(&a->lock);
	tc->next = a->tcaches;
	if (a->tcaches)
		a->tcaches->prev = tc;
	a->tcaches = tc;
	pthread_mutex_unlock(&a->lock);
	t->tc[memblk] = tc;
	return tc;
}

/* A counter of tc's, written by its owner alone, read by others. */
static inline void stat_inc(uint64_t *c)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}

/* Where p's bit is in slab->live and slab->remote. */
static inline unsigned int slot_word(const void *p)
{
	return (unsigned int)(((uintptr_t)p & (SLAB_SIZE - 1)) >>
			      SLOT_SHIFT) / MB_BPL;
}

static inline unsigned long slot_bit(const void *p)
{
	return 1UL << ((((uintptr_t)p & (SLAB_SIZE - 1)) >> SLOT_SHIFT) %
		       MB_BPL);
}

/* The owner's changes of s->live: relaxed atomic loads and stores, plain
 * moves, since the owner is the only writer (others only read). */
static inline void live_set(struct slab *s, const void *p)
{
	unsigned long *w = &s->live[slot_word(p)];

	__atomic_store_n(w, __atomic_load_n(w, __ATOMIC_RELAXED) | slot_bit(p),
			 __ATOMIC_RELAXED);
}

static inline void live_clear(struct slab *s, const void *p)
{
	unsigned long *w = &s->live[slot_word(p)];

	__atomic_store_n(w, __atomic_load_n(w, __ATOMIC_RELAXED) & ~slot_bit(p),
			 __ATOMIC_RELAXED);
}

/* Take the objects other threads freed into s; returns how many.  Per
 * word of remote bits: the live bits go first, then the remote ones, so
 * that a second free at any moment finds one of the two set. */
static uint32_t slab_collect(struct slab *s)
{
	void *list = s->free;
	uint32_t n = 0, words;

	if (!__atomic_load_n(&s->remote_pending, __ATOMIC_RELAXED) ||
	    !__atomic_exchange_n(&s->remote_pending, 0, __ATOMIC_SEQ_CST))
		return 0;
	/* the words that cover the objects carved so far */
	words = s->carved ? (uint32_t)((((size_t)s->carved * s->size - 1) >>
					 SLOT_SHIFT) / MB_BPL) + 1 : 0;
	for (uint32_t w = 0; w < words; w++) {
		unsigned long r = __atomic_load_n(&s->remote[w],
						  __ATOMIC_ACQUIRE);

		if (!r)
			continue;
		__atomic_store_n(&s->live[w],
				 __atomic_load_n(&s->live[w], __ATOMIC_RELAXED) &
					 ~r,
				 __ATOMIC_RELAXED);
		__atomic_fetch_and(&s->remote[w], ~r, __ATOMIC_RELEASE);
		while (r) {
			char *p = s->start + (((size_t)w * MB_BPL +
					       (size_t)__builtin_ctzl(r))
					      << SLOT_SHIFT);

			r &= r - 1;
			*(void **)p = list;
			list = p;
			n++;
		}
	}
	s->free = list;
	s->used -= n;
	return n;
}

/* Find s something to hand out; false if it is full. */
static bool slab_refill(struct slab *s)
{
	if (s->free)
		return true;
	if (s->local_free) {
		s->free = s->local_free;
		s->local_free = NULL;
		return true;
	}
	if (slab_collect(s))
		return true;
	if (s->carved < s->capacity) {
		/* Cut up to 64 objects at a time: a fresh slab costs no
		 * walk over all of it. */
		uint32_t k = s->capacity - s->carved;
		char *o = s->start + (size_t)s->carved * s->size;

		if (k > 64)
			k = 64;
		for (uint32_t j = 0; j + 1 < k; j++)
			*(void **)(o + (size_t)j * s->size) =
				o + (size_t)(j + 1) * s->size;
		*(void **)(o + (size_t)(k - 1) * s->size) = NULL;
		/* carved first: a fork() between the two stores leaves the
		 * child k objects short, never handing them out twice. */
		__atomic_store_n(&s->carved, s->carved + k, __ATOMIC_RELAXED);
		__atomic_store_n(&s->free, (void *)o, __ATOMIC_RELEASE);
		return true;
	}
	return false;
}

/* Take the first free object of s, a slab of tc with one. */
static inline void *slab_pop(struct tcache *tc, struct slab *s)
{
	void *p = s->free;

	s->free = *(void **)p;
	s->used++;
	live_set(s, p);
	stat_inc(&tc->st.allocs[s->cls]);
	return p;
}

static void *alloc_slow_(struct tcache *tc, unsigned int cls, int *err)
{
	struct slab *s;

	/* Allocations come from the head of the active list; a head with
	 * nothing left moves to the full list. */
	while ((s = tc->active[cls])) {
		if (slab_refill(s))
			goto found;
		list_remove(&tc->active[cls], s);
		s->full = true;
		list_push(&tc->fulls[cls], s);
	}
	/* Full slabs that other threads have freed into: a few at a time,
	 * the list turning so that each gets its turn. */
	for (int i = 0; i < FULL_SCAN && (s = tc->fulls[cls]); i++) {
		if (slab_collect(s)) {
			list_remove(&tc->fulls[cls], s);
			s->full = false;
			list_push(&tc->active[cls], s);
			goto found;
		}
		tc->fulls[cls] = s->next;
	}
	s = slab_take(tc, cls, err);
	if (!s)
		return NULL;
	slab_collect(s); /* an adopted slab */
	if (!slab_refill(s)) { /* adopted, and still full */
		s->full = true;
		list_push(&tc->fulls[cls], s);
		return alloc_slow_(tc, cls, err);
	}
	list_push(&tc->active[cls], s);
found:
	return slab_pop(tc, s);
}

static void *alloc_slow(struct tcache *tc, unsigned int cls, int *err)
{
	void *p;

	tc_enter(tc);
	p = alloc_slow_(tc, cls, err);
	tc_leave(tc);
	return p;
}

static inline void *alloc_class(struct tcache *tc, unsigned int cls,
				int *err)
{
	struct slab *s = tc->active[cls];

	if (unlikely(!s || !s->free))
		return alloc_slow(tc, cls, err);
	return slab_pop(tc, s);
}

/* A cached large object of at least size bytes (not much more), aligned
 * to align; NULL if none. */
static void *cache_take(struct arena *a, size_t size, size_t align)
{
	void *p = NULL;

	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->ncached; i++) {
		struct cached *c = &a->cache[i];

		if (c->usable >= size && c->usable - size <= size / 4 &&
		    (uintptr_t)c->p % align == 0) {
			p = c->p;
			a->cached_bytes -= c->usable;
			*c = a->cache[--a->ncached];
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return p;
}

/* Is p in a's cache of freed large objects (freed already)? */
static bool cache_has(struct arena *a, void *p)
{
	bool has = false;

	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->ncached && !has; i++)
		has = a->cache[i].p == p;
	pthread_mutex_unlock(&a->lock);
	return has;
}

/* Keep a freed large object for reuse; false if it is not kept: the
 * cache is full, or the arena binds SOFT, whose pages may have fallen back
 * to other memblks and would stay there for the next owner. */
static bool cache_put(struct arena *a, void *p, size_t usable)
{
	bool kept = false;

	pthread_mutex_lock(&a->lock);
	if (a->ncached < CACHE_SLOTS && a->cached_bytes + usable <= CACHE_MAX &&
	    a->behavior == MEMBIND_HARD) {
		a->cache[a->ncached++] = (struct cached){ p, usable };
		a->cached_bytes += usable;
		kept = true;
	}
	pthread_mutex_unlock(&a->lock);
	return kept;
}

/* Objects above SMALL_MAX: buffers of their own.  *fresh tells whether
 * the memory is new (all zero). */
static void *alloc_large(size_t size, size_t align, int memblk, bool *fresh,
			 int *err)
{
	unsigned long mask[MB_LONGS(MB_MAX_NODES)];
	struct mem_alloc_opts o = MEM_ALLOC_OPTS_INIT;
	struct arena *a = arena_get(memblk, err);
	size_t usable;
	unsigned long tag;
	void *p;

	if (!a)
		return NULL;
	p = cache_take(a, size, align);
	*fresh = !p;
	if (!p) {
		arena_mask(a, mask);
		o.alignment = align;
		o.flags = (a->flags & MEMBLK_HEAP_NOPOPULATE) ?
				  0 :
				  MEM_ALLOC_POPULATE;
		p = mb_buf_alloc(size, (unsigned int)memblk + 1, mask,
				 __atomic_load_n(&a->behavior,
						 __ATOMIC_RELAXED),
				 &o, MB_BUF_HEAP | (unsigned long)memblk, err);
	}
	if (p && mb_buf_lookup(p, &usable, &tag)) {
		__atomic_fetch_add(&a->large_bytes, usable, __ATOMIC_RELAXED);
		__atomic_fetch_add(&a->large_objects, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&a->large_allocs, 1, __ATOMIC_RELAXED);
	}
	return p;
}

static void *heap_alloc(size_t size, size_t align, int memblk, bool *fresh)
{
	struct tcache *tc;
	unsigned int cls;
	void *p;
	int err = 0;

	if (unlikely(size == 0)) {
		mb_alloc_fail(-EINVAL);
		return NULL;
	}
	if (size > SMALL_MAX) {
		p = alloc_large(size, align, memblk, fresh, &err);
		goto out;
	}
	tc = tcache_get(memblk, &err);
	if (!tc) {
		p = NULL;
		goto out;
	}
	cls = size_class(size > align ? size : align);
	/* Objects sit at multiples of their size from a 64 KiB boundary:
	 * a class whose size is a multiple of the alignment is aligned. */
	while (class_size[cls] % align)
		cls++;
	p = alloc_class(tc, cls, &err);
out:
	if (!p)
		mb_alloc_fail(err);
	return p;
}

MB_EXPORT void *memblk_malloc(size_t size, int memblk)
{
	struct tls *t = tls;
	bool fresh;

	/* The fast path: a thread cache, a slab with a free object. */
	if (likely(t && size - 1 < SMALL_MAX && (unsigned int)memblk < t->n &&
		   t->tc[memblk])) {
		struct tcache *tc = t->tc[memblk];
		unsigned int cls = size_class(size);
		struct slab *s = tc->active[cls];

		if (likely(s && s->free)) {
			void *p = s->free;

			/* slab_pop(), with the class at hand */
			s->free = *(void **)p;
			s->used++;
			live_set(s, p);
			stat_inc(&tc->st.allocs[cls]);
			return p;
		}
	}
	return heap_alloc(size, 16, memblk, &fresh);
}

MB_EXPORT void *memblk_calloc(size_t n, size_t size, int memblk)
{
	bool fresh = false;
	size_t total;
	void *p;

	if (__builtin_mul_overflow(n, size, &total)) {
		mb_alloc_fail(-EINVAL);
		return NULL;
	}
	p = heap_alloc(total, 16, memblk, &fresh);
	/* Fresh large objects are new mappings, already zero. */
	if (p && !fresh)
		memset(p, 0, total);
	return p;
}

MB_EXPORT void *memblk_aligned_alloc(size_t alignment, size_t size,
				     int memblk)
{
	if (!alignment || (alignment & (alignment - 1))) {
		mb_alloc_fail(-EINVAL);
		return NULL;
	}
	if (alignment < 16)
		alignment = 16;
	/* Classes up to SMALL_MAX include every power of two up to it; a
	 * larger alignment goes to a buffer of its own. */
	bool fresh;

	if (size == 0) {
		mb_alloc_fail(-EINVAL);
		return NULL;
	}
	if (alignment > SMALL_MAX / 2 && size <= SMALL_MAX)
		size = SMALL_MAX + 1;
	return heap_alloc(size, alignment, memblk, &fresh);
}

/* Is p the start of an object handed out from chunk c?  (Not a pointer
 * into the middle of one, nor past what the slab has carved.) */
static bool small_object(struct chunk *c, void *p)
{
	struct slab *s = slab_of(c, p);
	uintptr_t off;

	if (c->magic != CHUNK_MAGIC || !s->size ||
	    (uintptr_t)p < (uintptr_t)s->start)
		return false;
	off = (uintptr_t)p - (uintptr_t)s->start;
	return off % s->size == 0 &&
	       off / s->size <
		       __atomic_load_n(&s->carved, __ATOMIC_RELAXED);
}

/* Is p the start of a live object of slab s (handed out, not freed by its
 * owner)?  Live bits are set at object starts only, so a pointer into an
 * object, past what the slab carved, into a free slab or into a chunk not
 * yet ready (its descriptors are zero) finds its bit clear: no division by
 * the object size.  Read by any thread; written by the owner alone. */
static inline bool live_start(const struct slab *s, const void *p)
{
	return !((uintptr_t)p & ((1UL << SLOT_SHIFT) - 1)) &&
	       (__atomic_load_n(&s->live[slot_word(p)], __ATOMIC_RELAXED) &
		slot_bit(p));
}

/* After the owner freed an object of s: s is empty (and not the slab
 * allocations come from: back to the arena) or was full (back on the
 * active list). */
static int __attribute__((noinline))
free_settle(struct tcache *me, struct arena *a, struct slab *s)
{
	if (s->used == 0 && me->active[s->cls] != s) {
		tc_enter(me);
		list_remove(s->full ? &me->fulls[s->cls] :
				      &me->active[s->cls], s);
		slab_return(a, s);
		tc_leave(me);
	} else if (s->full) {
		tc_enter(me);
		list_remove(&me->fulls[s->cls], s);
		s->full = false;
		list_push(&me->active[s->cls], s);
		tc_leave(me);
	}
	return 0;
}

/* The owner frees p, a live object of its slab s: no lock, no atomic
 * read-modify-write.  An object another thread freed and the owner has not
 * collected yet has its remote bit set: a second free, refused. */
static inline int free_own(struct tcache *me, struct slab *s, void *p)
{
	if (__atomic_load_n(&s->remote[slot_word(p)], __ATOMIC_RELAXED) &
	    slot_bit(p))
		return -EINVAL; /* freed already */
	live_clear(s, p);
	stat_inc(&me->st.frees[s->cls]);
	*(void **)p = s->local_free;
	s->local_free = p;
	if (unlikely(--s->used == 0 || s->full))
		return free_settle(me, me->arena, s);
	return 0;
}

/* Another thread's live object p of slab s goes home: its remote bit set
 * (already set: a second free, refused), the owner (or an adopter, if it
 * is abandoned) told.  (Two threads freeing the same object at the moment
 * its owner collects it may go unnoticed; a sequence of frees never
 * does.) */
static int free_remote(struct tcache *me, struct slab *s, void *p)
{
	if (__atomic_fetch_or(&s->remote[slot_word(p)], slot_bit(p),
			      __ATOMIC_SEQ_CST) & slot_bit(p))
		return -EINVAL;
	stat_inc(&me->st.frees[s->cls]);
	/* After the bit: an owner that clears remote_pending before this
	 * store sees it raised again; one that clears it after sees the
	 * bit. */
	if (!__atomic_load_n(&s->remote_pending, __ATOMIC_SEQ_CST))
		__atomic_store_n(&s->remote_pending, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Free a small object p of chunk c: 0 or -EINVAL. */
static int __attribute__((noinline)) free_small(struct chunk *c, void *p)
{
	struct slab *s = slab_of(c, p);
	struct tcache *owner, *me;
	struct arena *a;
	struct tls *t;
	int err = 0;

	if (__atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) != CHUNK_MAGIC ||
	    !live_start(s, p))
		return -EINVAL; /* not handed out, or freed by its owner */
	a = c->arena;
	t = tls;
	me = t && (unsigned int)a->memblk < t->n ? t->tc[a->memblk] : NULL;
	if (!me) {
		me = tcache_get(a->memblk, &err);
		if (!me)
			return err;
	}
	owner = __atomic_load_n(&s->owner, __ATOMIC_ACQUIRE);
	if (owner != me)
		return free_remote(me, s, p);
	return free_own(me, s, p);
}

static int __attribute__((noinline)) free_large(void *p)
{
	unsigned long tag;
	size_t usable;
	struct arena *a;
	int ret;

	if (!mb_buf_lookup(p, &usable, &tag) || !(tag & MB_BUF_HEAP) ||
	    (tag & MB_BUF_MEMBLK_MASK) >= MB_MAX_NODES)
		return -EINVAL;
	a = arenas[tag & MB_BUF_MEMBLK_MASK];
	if (!a || cache_has(a, p)) /* a second free of a cached object */
		return -EINVAL;
	if (!cache_put(a, p, usable)) {
		ret = mb_buf_free(p, MB_BUF_HEAP, NULL, NULL);
		if (ret)
			return ret;
	}
	__atomic_fetch_sub(&a->large_bytes, usable, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&a->large_objects, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&a->large_frees, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Remember c, a chunk, for t's next frees. */
static void hint_set(struct tls *t, struct chunk *c, uint64_t gen)
{
	unsigned int m = c->memblk;

	t->hint = (uintptr_t)c;
	t->hint_gen = gen;
	t->hint_tc = m < t->n ? t->tc[m] : NULL;
}

MB_EXPORT int memblk_free(void *p)
{
	struct chunk *c = chunk_of(p);
	struct tls *t = tls;
	struct slab *s;
	uint64_t gen;

	/* The fast path: p's chunk is the one this thread freed into last,
	 * the calling thread owns p's slab, and p is a live object of it.
	 * Anything else, a second free included, goes through free_small(),
	 * which looks again. */
	if (likely(t && (uintptr_t)c == t->hint && t->hint_tc &&
		   t->hint_gen == __atomic_load_n(&chunk_unmaps,
						  __ATOMIC_ACQUIRE))) {
		struct tcache *me = t->hint_tc;

		s = slab_of(c, p);
		if (likely(live_start(s, p))) {
			if (likely(__atomic_load_n(&s->owner,
						   __ATOMIC_ACQUIRE) == me))
				return free_own(me, s, p);
			return free_remote(me, s, p);
		}
		return free_small(c, p);
	}
	gen = __atomic_load_n(&chunk_unmaps, __ATOMIC_ACQUIRE);
	if (chunkmap_test((uintptr_t)c)) {
		struct tcache *owner;

		/* Only a ready chunk is remembered (its memblk is set); with
		 * no cache of its memblk yet (free_small() makes one), the
		 * next free here comes this way again and remembers it. */
		if (t && __atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) ==
				 CHUNK_MAGIC)
			hint_set(t, c, gen);
		s = slab_of(c, p);
		owner = __atomic_load_n(&s->owner, __ATOMIC_ACQUIRE);
		if (owner && t && c->memblk < t->n &&
		    t->tc[c->memblk] == owner && live_start(s, p))
			return free_own(owner, s, p);
		return free_small(c, p);
	}
	if (!p)
		return 0;
	return free_large(p);
}

MB_EXPORT size_t memblk_usable_size(void *p)
{
	struct chunk *c = chunk_of(p);
	unsigned long tag;
	size_t usable;

	if (!p)
		return 0;
	if (chunkmap_test((uintptr_t)c))
		return small_object(c, p) ? slab_of(c, p)->size : 0;
	if (mb_buf_lookup(p, &usable, &tag) && (tag & MB_BUF_HEAP) &&
	    (tag & MB_BUF_MEMBLK_MASK) < MB_MAX_NODES &&
	    !(arenas[tag & MB_BUF_MEMBLK_MASK] &&
	      cache_has(arenas[tag & MB_BUF_MEMBLK_MASK], p)))
		return usable;
	return 0;
}

static int memblk_of(void *p)
{
	struct chunk *c = chunk_of(p);
	unsigned long tag;
	size_t usable;

	if (chunkmap_test((uintptr_t)c))
		return small_object(c, p) ? c->arena->memblk : -EINVAL;
	if (mb_buf_lookup(p, &usable, &tag) && (tag & MB_BUF_HEAP))
		return (int)(tag & MB_BUF_MEMBLK_MASK);
	return -EINVAL;
}

MB_EXPORT void *memblk_realloc(void *p, size_t size, int memblk)
{
	size_t old;
	void *q;

	if (!p)
		return memblk_malloc(size, memblk);
	old = memblk_usable_size(p);
	if (!old || size == 0) {
		mb_alloc_fail(-EINVAL);
		return NULL;
	}
	/* Stay put if on the right memblk and not much too large. */
	if (size <= old && (size > old / 2 || old <= 16) &&
	    memblk_of(p) == memblk)
		return p;
	q = memblk_malloc(size, memblk);
	if (!q)
		return NULL;
	memcpy(q, p, size < old ? size : old);
	memblk_free(p);
	return q;
}

MB_EXPORT int memblk_heap_configure(int memblk,
				    const struct memblk_heap_opts *opts)
{
	struct memblk_heap_opts o = MEMBLK_HEAP_OPTS_INIT;
	struct arena *a;
	int err = 0;

	if (!opts || mb_sz_in(&o, sizeof(o), opts, sizeof(size_t)))
		return -EINVAL;
	if ((o.behavior != MEMBIND_HARD && o.behavior != MEMBIND_SOFT) ||
	    (o.flags & ~MEMBLK_HEAP_NOPOPULATE))
		return -EINVAL;
	a = arena_get(memblk, &err);
	if (!a)
		return err;
	pthread_mutex_lock(&a->lock);
	a->behavior = o.behavior;
	a->kt = NULL;
	a->flags = o.flags;
	a->failed_at = 0;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static void counters_add(struct counters *sum, const struct counters *c)
{
	for (unsigned int i = 0; i < NCLASSES; i++) {
		sum->allocs[i] += __atomic_load_n(&c->allocs[i],
						  __ATOMIC_RELAXED);
		sum->frees[i] += __atomic_load_n(&c->frees[i],
						 __ATOMIC_RELAXED);
	}
}

MB_EXPORT int memblk_heap_stats(int memblk, struct memblk_heap_stats *st)
{
	struct memblk_heap_stats out = MEMBLK_HEAP_STATS_INIT;
	struct counters sum = {0};
	struct arena *a;
	uint64_t large, cached, allocs = 0, frees = 0, alloc_bytes = 0;
	uint64_t free_bytes = 0;
	int err = 0;

	if (mb_sz_check(st, sizeof(size_t)))
		return -EINVAL;
	a = arena_get(memblk, &err);
	if (!a)
		return err;
	pthread_mutex_lock(&a->lock);
	counters_add(&sum, &a->retired);
	for (struct tcache *tc = a->tcaches; tc; tc = tc->next)
		counters_add(&sum, &tc->st);
	out.chunks = a->chunks;
	cached = a->cached_bytes;
	pthread_mutex_unlock(&a->lock);
	large = __atomic_load_n(&a->large_bytes, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < NCLASSES; i++) {
		allocs += sum.allocs[i];
		frees += sum.frees[i];
		alloc_bytes += sum.allocs[i] * class_size[i];
		free_bytes += sum.frees[i] * class_size[i];
	}
	/* Counters of other threads are read while they run: clamp what
	 * a moment's skew could make negative. */
	out.live_bytes = alloc_bytes > free_bytes ? alloc_bytes - free_bytes :
						    0;
	out.live_objects = allocs > frees ? allocs - frees : 0;
	out.large_objects = __atomic_load_n(&a->large_objects,
					    __ATOMIC_RELAXED);
	out.mallocs = allocs +
		      __atomic_load_n(&a->large_allocs, __ATOMIC_RELAXED);
	out.frees = frees +
		    __atomic_load_n(&a->large_frees, __ATOMIC_RELAXED);
	out.live_bytes += large;
	out.live_objects += out.large_objects;
	out.mapped_bytes = out.chunks * CHUNK_SIZE + large + cached;
	mb_sz_out(st, &out, sizeof(out));
	return 0;
}

/* ---- thread exit: the thread's slabs go to the arena ---- */
/* Give tc's slabs to its arena and take tc off the arena's list, its
 * counters kept; tc itself is the caller's. */
static void tcache_retire(struct tcache *tc)
{
	struct arena *a = tc->arena;

	for (unsigned int cls = 0; cls < NCLASSES; cls++) {
		struct slab **lists[2] = { &tc->active[cls], &tc->fulls[cls] };

		for (int l = 0; l < 2; l++) {
			while (*lists[l]) {
				struct slab *s = *lists[l];

				list_remove(lists[l], s);
				s->full = false;
				slab_collect(s);
				if (s->used == 0) {
					slab_return(a, s);
					continue;
				}
				/* Frees that arrive from now on set remote
				 * bits, as for any other slab. */
				__atomic_store_n(&s->owner, NULL,
						 __ATOMIC_RELEASE);
				pthread_mutex_lock(&a->lock);
				s->next = a->abandoned[cls];
				a->abandoned[cls] = s;
				pthread_mutex_unlock(&a->lock);
			}
		}
	}
	pthread_mutex_lock(&a->lock);
	counters_add(&a->retired, &tc->st);
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		a->tcaches = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	pthread_mutex_unlock(&a->lock);
}

static void tcache_abandon(struct tcache *tc)
{
	tc_enter(tc); /* never cleared: tc goes away */
	tcache_retire(tc);
	free(tc);
}

static void tls_destroy(void *arg)
{
	struct tls *t = arg;

	tls = NULL;
	for (unsigned int i = 0; i < t->n; i++)
		if (t->tc[i])
			tcache_abandon(t->tc[i]);
	free(t);
}
