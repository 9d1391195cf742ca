/* SPDX-License-Identifier: MIT */
/*
 * membind: where a Linux program's memory lives.
 *
 * An implementation of IBM's 2002 "Proposed Memory Binding API" (v0.4) for
 * today's Linux: mem_setbinding()/mem_getbinding() on masks of memory blocks
 * (memblks) with a behavior, the Topology API they rely on, and the seed's
 * future extensions (ranges and pages, soft bindings, round-robin, striping,
 * first-touch).
 *
 * Every call returns >= 0 on success and a negative errno on failure.  The
 * library never prints, never exits and is safe to call from many threads.
 */
#ifndef MEMBIND_H
#define MEMBIND_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMBIND_VERSION_MAJOR 0
#define MEMBIND_VERSION_MINOR 2
#define MEMBIND_VERSION_PATCH 0

/* Bits in one word of a memblk mask. */
#define MEMBIND_BITS_PER_LONG (8 * (unsigned int)sizeof(unsigned long))
/* Words needed for a mask of nbits bits. */
#define MEMBIND_MASK_LONGS(nbits)                                              \
	(((nbits) + MEMBIND_BITS_PER_LONG - 1) / MEMBIND_BITS_PER_LONG)
/* Largest mask length (bits) any call accepts: the kernel's MAX_NUMNODES
 * is at most 1 << 10 on every architecture. */
#define MEMBIND_MAX_BITS 4096u

/* ---- Mask helpers: bit `bit` of a mask of len bits (memblks or CPUs) ----
 * A bit that is negative or at or beyond len is never read or written. */
/* Set the bit.  Returns 0, or -EINVAL if it is outside the mask. */
static inline int memblk_mask_set(unsigned int len, unsigned long *mask,
				  int bit)
{
	if (bit < 0 || (unsigned int)bit >= len)
		return -EINVAL;
	mask[(unsigned int)bit / MEMBIND_BITS_PER_LONG] |=
		1UL << ((unsigned int)bit % MEMBIND_BITS_PER_LONG);
	return 0;
}

/* Clear the bit.  Returns 0, or -EINVAL if it is outside the mask. */
static inline int memblk_mask_clear(unsigned int len, unsigned long *mask,
				    int bit)
{
	if (bit < 0 || (unsigned int)bit >= len)
		return -EINVAL;
	mask[(unsigned int)bit / MEMBIND_BITS_PER_LONG] &=
		~(1UL << ((unsigned int)bit % MEMBIND_BITS_PER_LONG));
	return 0;
}

/* 1 if the bit is set, 0 if it is clear or outside the mask. */
static inline int memblk_mask_test(unsigned int len, const unsigned long *mask,
				   int bit)
{
	if (bit < 0 || (unsigned int)bit >= len)
		return 0;
	return (int)(mask[(unsigned int)bit / MEMBIND_BITS_PER_LONG] >>
		     ((unsigned int)bit % MEMBIND_BITS_PER_LONG) & 1);
}

/* Clear every bit: the MEMBIND_MASK_LONGS(len) words of the mask. */
static inline void memblk_mask_zero(unsigned int len, unsigned long *mask)
{
	for (unsigned int i = 0; i < MEMBIND_MASK_LONGS(len); i++)
		mask[i] = 0;
}

/* ---- Behaviors: the scheme in the low byte (fixed names and values) ---- */
#define MEMBIND_DEFAULT 0UL     /* system default; mask must be empty */
#define MEMBIND_HARD 1UL        /* only these memblks */
#define MEMBIND_SOFT 2UL        /* these first, then the nearest others */
#define MEMBIND_ROUND_ROBIN 3UL /* pages rotate over the mask */
#define MEMBIND_STRIPE 4UL      /* stripe i on the i-th memblk; ranges only */
#define MEMBIND_FIRST_TOUCH 5UL /* nearest the first-touching CPU */
#define MEMBIND_WEIGHTED 6UL    /* spread by weighted-interleave weights */
#define MEMBIND_SCHEME_MASK 0xffUL

/* ---- Flags (values above bit 7) ---- */
/* Also migrate pages already allocated so that they conform. */
#define MEMBIND_MOVE (1UL << 8)
/* Ranges: fail with -EIO if existing pages do not conform. */
#define MEMBIND_STRICT (1UL << 9)
/* pid 0 only: the calling thread alone. */
#define MEMBIND_THREAD (1UL << 10)
/* HARD: let NUMA balancing still move pages within the mask. */
#define MEMBIND_BALANCING (1UL << 11)
/* Reported by mem_getbinding() only: the threads of the process do not all
 * have the same binding.  The mask returned is the union of their masks, the
 * scheme the calling thread's (another thread's if the caller's is DEFAULT).
 * On input, *behavior = MEMBIND_THREAD asks about the calling thread alone. */
#define MEMBIND_MIXED (1UL << 12)

/* Stripe size: 1 << order bytes, order 12..30, in bits 16..20.  An order of
 * 0 means the default, MEMBIND_STRIPE_DEFAULT_ORDER (2 MiB). */
#define MEMBIND_STRIPE_SHIFT 16
#define MEMBIND_STRIPE_SIZE(order) ((unsigned long)(order) << MEMBIND_STRIPE_SHIFT)
#define MEMBIND_STRIPE_ORDER(behavior)                                          \
	((unsigned int)(((behavior) >> MEMBIND_STRIPE_SHIFT) & 0x1f))
#define MEMBIND_STRIPE_DEFAULT_ORDER 21
#define MEMBIND_STRIPE_MIN_ORDER 12
#define MEMBIND_STRIPE_MAX_ORDER 30

/* Every flag and field a caller may pass. */
#define MEMBIND_VALID_FLAGS                                                    \
	(MEMBIND_MOVE | MEMBIND_STRICT | MEMBIND_THREAD | MEMBIND_BALANCING |  \
	 MEMBIND_STRIPE_SIZE(0x1f))

/* The seed's structure: one binding, ready to pass around. */
struct memblk_list {
	unsigned int len;       /* bits in mask */
	unsigned long *mask;    /* bit i = memblk i */
	unsigned long behavior; /* MEMBIND_* scheme | flags */
};

/* ---- The seed's two calls ---- */
/* pid 0 or getpid(): this process, every thread of it; any other pid: that
 * process, every thread of it. */
int mem_setbinding(pid_t pid, unsigned int len, const unsigned long *mask,
		   unsigned long behavior);
/* Returns the number of mask bits in use (memblk_count()); with len too small
 * for that it fails with -EINVAL and writes nothing. */
int mem_getbinding(pid_t pid, unsigned int len, unsigned long *mask,
		   unsigned long *behavior);

/* ---- Finer-grained bindings (seed: future extension 1) ---- */
int mem_setbinding_range(void *addr, size_t length, unsigned int len,
			 const unsigned long *mask, unsigned long behavior);
int mem_getbinding_range(void *addr, unsigned int len, unsigned long *mask,
			 unsigned long *behavior);
/* memblk of each page, or -errno per page (-ENOENT: not present). */
int mem_where(pid_t pid, void *const *pages, size_t count, int *memblk);
/* Move the given pages of pid to the given memblks; status[i] receives the
 * memblk the page is on afterwards or -errno.  Returns the number of pages
 * that could not be moved. */
int mem_move_pages(pid_t pid, void *const *pages, size_t count,
		   const int *memblk, int *status);
/* Migrate every page of pid on a memblk of from to the memblks of to.
 * Returns the number of pages that could not be moved. */
int mem_migrate(pid_t pid, unsigned int len, const unsigned long *from,
		const unsigned long *to);

/* ---- Moving the pages that exist (membind 0.2) ---- */
/* Options of mem_move().  The caller sets sz to sizeof(struct
 * mem_move_opts) (MEM_MOVE_OPTS_INIT does), so that fields added at the end
 * later never break the ABI. */
struct mem_move_stats;
struct mem_move_opts {
	size_t sz;
	/* Threads that migrate, each its own part of the address space: 0
	 * for the default (MEMBIND_MOVE_THREADS in the environment, else one
	 * per CPU the caller may run on, at most 8, fewer for small moves). */
	unsigned int threads;
	unsigned long flags; /* MEM_MOVE_* */
	/* Only pages now on these memblks (from_len bits); NULL: all. */
	unsigned int from_len;
	const unsigned long *from;
	/* Called after each batch, one call at a time, from any of the
	 * threads; a non-zero return stops the move after the batches under
	 * way (mem_move() then returns -ECANCELED).  NULL: none. */
	int (*progress)(void *arg, const struct mem_move_stats *stats);
	void *arg;
};
#define MEM_MOVE_OPTS_INIT { .sz = sizeof(struct mem_move_opts) }
/* addr NULL: only the mappings of pid that follow its process binding (no
 * binding of their own), as MEMBIND_MOVE does in mem_setbinding(). */
#define MEM_MOVE_PROCESS_POLICY (1UL << 0)
#define MEM_MOVE_VALID_FLAGS MEM_MOVE_PROCESS_POLICY

/* What a move did, in pages of the base page size (set sz:
 * MEM_MOVE_STATS_INIT).  Every page looked at is in exactly one of
 * in_place, moved and failed; failed is shared + busy + nomem + other. */
struct mem_move_stats {
	size_t sz;
	uint64_t scanned;  /* present pages looked at */
	uint64_t in_place; /* already where the binding puts them */
	uint64_t moved;    /* migrated */
	uint64_t failed;   /* could not move */
	uint64_t shared;   /* mapped by another process (-EACCES) */
	uint64_t busy;     /* pinned or busy (-EBUSY, -EAGAIN) */
	uint64_t nomem;    /* no room on the target (-ENOMEM, or SOFT full) */
	uint64_t other;    /* another error */
	int first_error;   /* the first per-page error, 0 if none */
	unsigned int threads; /* threads that did the work */
	uint64_t page_size;   /* the base page size, bytes */
};
#define MEM_MOVE_STATS_INIT { .sz = sizeof(struct mem_move_stats) }

/* Move the pages that exist of pid (0: this process) so that they end
 * where behavior on mask (len bits) would have put them had they been
 * allocated under it: ROUND_ROBIN spreads each mapping's pages over the
 * mask in the kernel's interleave order, WEIGHTED by the current
 * weighted-interleave weights, STRIPE puts stripe i of each mapping (or of
 * the range) on the i-th memblk, HARD and FIRST_TOUCH move what lies
 * outside the mask, SOFT fills the mask's memblks as far as they have room.
 * addr and length: a range of pid's address space; addr NULL (length 0):
 * every mapping.  Huge pages move whole.  The binding is not changed, and
 * the process keeps running; pages are each on their old memblk or their
 * new one at every moment.  opts and stats may be NULL.  Returns the number
 * of pages that could not move (stats says why), -ECANCELED if progress
 * stopped it, or -errno. */
int mem_move(pid_t pid, void *addr, size_t length, unsigned int len,
	     const unsigned long *mask, unsigned long behavior,
	     const struct mem_move_opts *opts, struct mem_move_stats *stats);

/* ---- Topology API ---- */
int memblk_count(void);
int memblk_to_node(int memblk); /* -ENOENT if no such memblk */
int node_to_memblk(int node);   /* -ENOENT for a node without memory */
int cpu_to_node(int cpu);
int cpu_to_memblk(int cpu); /* nearest memblk of a memoryless node's CPU */
int memblk_distance(int a, int b);

/* Highest node id + 1 (node ids may be sparse). */
int membind_node_limit(void);
/* Highest possible CPU id + 1. */
int membind_cpu_limit(void);
/* CPUs local to a memblk, or to a node: writes a CPU mask of len bits and
 * returns the number of CPUs. */
int memblk_cpus(int memblk, unsigned int len, unsigned long *cpumask);
int node_cpus(int node, unsigned int len, unsigned long *cpumask);
/* Memblks this process may use (Mems_allowed; all of them under
 * MEMBIND_SYSFS_ROOT).  Returns the number allowed. */
int memblk_allowed(unsigned int len, unsigned long *mask);

/* Size and free memory of a memblk in bytes (either pointer may be NULL),
 * as of the last load or refresh of the topology. */
int memblk_size(int memblk, uint64_t *size, uint64_t *free);

/* HMAT access attributes, 0 where the firmware gives none. */
struct memblk_access {
	uint64_t read_bandwidth;  /* MB/s */
	uint64_t write_bandwidth; /* MB/s */
	uint64_t read_latency;    /* ns */
	uint64_t write_latency;   /* ns */
};

/* Everything known about one memblk.  The caller sets sz to
 * sizeof(struct memblk_info) (MEMBLK_INFO_INIT does), so that fields added
 * at the end later never break the ABI: the library fills only what fits. */
struct memblk_info {
	size_t sz;
	int id;
	int node;
	uint64_t size_bytes;  /* MemTotal of the node */
	uint64_t free_bytes;  /* MemFree of the node */
	int ncpus;            /* local CPUs; 0 for CXL, HBM, PMEM memory */
	int tier;             /* memory tier id, -1 if unknown */
	int allowed;          /* in this process's Mems_allowed */
	int weight;           /* weighted-interleave weight, 0 if unknown */
	int has_access[2];    /* access0 (any initiator), access1 (CPUs) known */
	struct memblk_access access[2];
	int nearest_cpu_node; /* nearest node with CPUs (itself if it has) */
};
#define MEMBLK_INFO_INIT { .sz = sizeof(struct memblk_info) }

int memblk_info(int memblk, struct memblk_info *info);

/* A physically contiguous piece of a memblk (the seed's definition of a
 * memory block; Linux binds whole nodes, so a memblk may have several). */
struct memblk_extent {
	uint64_t start;  /* physical address */
	uint64_t length; /* bytes */
};
/* The physical extents of a memblk, lowest first, from the memory blocks
 * of /sys/devices/system/memory.  Writes at most max and returns how many
 * there are; -ENOENT if the system does not say (no memory hotplug). */
int memblk_extents(int memblk, struct memblk_extent *out, int max);

/* Reload the topology (after hotplug, or a change of MEMBIND_SYSFS_ROOT or of
 * the cpuset).  Calls already under way finish on the old one. */
int membind_topology_refresh(void);

/* ---- memblk lists: parse and format ---- */
/* Parse a LIST into a mask of len bits: memblk ids and ranges ("0-2,5"),
 * "all", a leading '!' to invert, nodes as "n0,n2-3".  Returns the number of
 * memblks set; -EINVAL for malformed text, -ENOENT for a memblk or node that
 * does not exist (or a node without memory), -ERANGE when len is too small.
 * Nothing is written on failure. */
int memblk_list_parse(const char *text, unsigned int len, unsigned long *mask);
/* Format a mask as "0-2,5" into buf (NUL-terminated, truncated to size).
 * Returns the length of the whole text, as snprintf does. */
int memblk_list_format(unsigned int len, const unsigned long *mask, char *buf,
		       size_t size);
/* Text name of a scheme ("hard", "soft", ...), NULL if unknown. */
const char *membind_scheme_name(unsigned long behavior);
/* Scheme from its name; -EINVAL if unknown. */
int membind_scheme_parse(const char *name, unsigned long *behavior);

/* ---- Buffers on memblks (membind 0.2) ---- */
/* Options of mem_alloc().  The caller sets sz to sizeof(struct
 * mem_alloc_opts) (MEM_ALLOC_OPTS_INIT does), so that fields added at the
 * end later never break the ABI. */
struct mem_alloc_opts {
	size_t sz;
	size_t alignment;    /* a power of two; 0: the page size */
	unsigned long flags; /* MEM_ALLOC_* */
};
#define MEM_ALLOC_OPTS_INIT { .sz = sizeof(struct mem_alloc_opts) }

/* Transparent huge pages (madvise(MADV_HUGEPAGE)), 2 MiB-aligned. */
#define MEM_ALLOC_THP (1UL << 0)
/* hugetlb pages of the default huge page size (MAP_HUGETLB). */
#define MEM_ALLOC_HUGETLB (1UL << 1)
/* Allocate every page now: a binding that cannot be honoured fails with
 * -ENOMEM here instead of invoking the OOM killer at first touch. */
#define MEM_ALLOC_POPULATE (1UL << 2)
#define MEM_ALLOC_VALID_FLAGS                                                  \
	(MEM_ALLOC_THP | MEM_ALLOC_HUGETLB | MEM_ALLOC_POPULATE)

/* size bytes bound by mask (len bits) and behavior, as mem_setbinding_range()
 * would bind them, before any page is touched.  MEMBIND_DEFAULT may pass
 * len 0 and mask NULL.  opts may be NULL.  Returns NULL on failure, with the
 * reason in mem_alloc_error(). */
void *mem_alloc(size_t size, unsigned int len, const unsigned long *mask,
		unsigned long behavior, const struct mem_alloc_opts *opts);
/* Resize a buffer of mem_alloc(), keeping its binding and options; the
 * contents up to the smaller size are kept.  NULL on failure (the old buffer
 * is still valid), with the reason in mem_alloc_error(). */
void *mem_realloc(void *p, size_t size);
/* Free a buffer of mem_alloc().  0, or -EINVAL if p is not one (NULL: 0). */
int mem_free(void *p);
/* The calling thread's reason for the last allocation call (mem_alloc,
 * mem_realloc, memblk_malloc and family) that returned NULL: a negative
 * errno; 0 if none has failed.  The same value, positive, is left in
 * errno. */
int mem_alloc_error(void);

/* ---- A heap per memblk, for small objects (membind 0.2) ---- */
/* Objects of size bytes on memblk: every byte on it under the heap's
 * default HARD binding (a full memblk gives NULL with -ENOMEM), preferred
 * under SOFT (see memblk_heap_configure()).  Objects of any thread may be
 * freed by any other.  NULL on failure, with the reason in
 * mem_alloc_error(): -EINVAL for size 0 or a memblk that does not exist or
 * is not allowed. */
void *memblk_malloc(size_t size, int memblk);
void *memblk_calloc(size_t n, size_t size, int memblk);
/* alignment: a power of two. */
void *memblk_aligned_alloc(size_t alignment, size_t size, int memblk);
/* Resize p (NULL: allocate) into an object on memblk, which may differ
 * from p's: the object moves.  On failure p is untouched. */
void *memblk_realloc(void *p, size_t size, int memblk);
/* 0, or -EINVAL if p is not an object of these calls (NULL: 0). */
int memblk_free(void *p);
/* Bytes usable at p (at least the size asked for); 0 if p is not an
 * object of these calls. */
size_t memblk_usable_size(void *p);

/* How a memblk's heap gets memory for the objects allocated after the call
 * (set sz to sizeof(struct memblk_heap_opts): MEMBLK_HEAP_OPTS_INIT). */
struct memblk_heap_opts {
	size_t sz;
	unsigned long behavior; /* MEMBIND_HARD (default) or MEMBIND_SOFT */
	unsigned long flags;    /* MEMBLK_HEAP_* */
};
#define MEMBLK_HEAP_OPTS_INIT                                                 \
	{ .sz = sizeof(struct memblk_heap_opts), .behavior = MEMBIND_HARD }
/* Fault memory in at first touch instead of when the heap maps it: faster
 * to grow, but a full memblk under HARD then invokes the OOM killer
 * instead of giving NULL. */
#define MEMBLK_HEAP_NOPOPULATE (1UL << 0)
int memblk_heap_configure(int memblk, const struct memblk_heap_opts *opts);

/* Statistics of a memblk's heap (set sz: MEMBLK_HEAP_STATS_INIT). */
struct memblk_heap_stats {
	size_t sz;
	uint64_t live_bytes;   /* usable bytes of objects not yet freed */
	uint64_t live_objects; /* objects not yet freed */
	uint64_t mallocs;      /* objects ever allocated */
	uint64_t frees;        /* objects ever freed */
	uint64_t mapped_bytes; /* memory the heap holds: chunks, large objects */
	uint64_t chunks;       /* chunks of small objects */
	uint64_t large_objects; /* live objects mapped on their own */
};
#define MEMBLK_HEAP_STATS_INIT { .sz = sizeof(struct memblk_heap_stats) }
int memblk_heap_stats(int memblk, struct memblk_heap_stats *st);

/* Library version as "MAJOR.MINOR.PATCH". */
const char *membind_version(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMBIND_H */
