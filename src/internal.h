/* SPDX-License-Identifier: MIT */
/* Declarations shared by the library's sources; nothing here is public. */
#ifndef MEMBIND_INTERNAL_H
#define MEMBIND_INTERNAL_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "membind.h"

#define MB_EXPORT __attribute__((visibility("default")))

/* Limits on what a sysfs tree may claim, so that a corrupt tree can never
 * make us allocate without bound.  The kernel's own maxima are 1024 nodes
 * (CONFIG_NODES_SHIFT=10) and 8192 CPUs. */
#define MB_MAX_NODES ((int)MEMBIND_MAX_BITS)
/* Both ways of reaching every thread of a process, the signal broadcast
 * (threads.c) and the remote engine (remote.c), run one orchestration: list
 * the threads, apply, list again for threads born meanwhile, and roll back
 * on failure.  This many rounds of listing at most, then -EAGAIN. */
#define MB_MAX_ROUNDS 64
#define MB_MAX_CPUS 65536

#define MB_LONGS(nbits) MEMBIND_MASK_LONGS((unsigned int)(nbits))
#define MB_BPL MEMBIND_BITS_PER_LONG

/* ---- structures that start with size_t sz (include/membind.h) ----
 * The caller sets sz to the size of its version of the structure, which
 * may be older (shorter) or newer (longer) than the library's.  One rule
 * for all of them (docs/api.md, "Structures"):
 *  - sz below min, the size of the fields every version has, is -EINVAL;
 *  - input: the library reads the first sz bytes (fields beyond them keep
 *    the defaults); bytes beyond the library's structure must be zero,
 *    else -EINVAL: a newer caller's option is never silently ignored;
 *  - output: the library writes the fields that fit in sz, never sz
 *    itself, nor any byte beyond sz or beyond its own structure. */
static inline int mb_sz_check(const void *user, size_t min)
{
	return user && *(const size_t *)user >= min ? 0 : -EINVAL;
}

/* Input: user (NULL: none) over lib, which holds the defaults and is
 * known bytes long. */
static inline int mb_sz_in(void *lib, size_t known, const void *user,
			   size_t min)
{
	size_t sz;

	if (!user)
		return 0;
	if (mb_sz_check(user, min))
		return -EINVAL;
	sz = *(const size_t *)user;
	for (size_t i = known; i < sz; i++)
		if (((const unsigned char *)user)[i])
			return -EINVAL;
	memcpy((char *)lib + sizeof(size_t), (const char *)user + sizeof(size_t),
	       (sz < known ? sz : known) - sizeof(size_t));
	return 0;
}

/* Output: lib (known bytes, filled) into user, which passed
 * mb_sz_check(). */
static inline void mb_sz_out(void *user, const void *lib, size_t known)
{
	size_t sz = *(const size_t *)user;

	memcpy((char *)user + sizeof(size_t), (const char *)lib + sizeof(size_t),
	       (sz < known ? sz : known) - sizeof(size_t));
}

/* ---- bitmap.c: bit masks of unsigned long words ---- */
static inline bool mb_test(const unsigned long *m, unsigned int bit)
{
	return (m[bit / MB_BPL] >> (bit % MB_BPL)) & 1UL;
}
static inline void mb_set(unsigned long *m, unsigned int bit)
{
	m[bit / MB_BPL] |= 1UL << (bit % MB_BPL);
}
static inline void mb_clear(unsigned long *m, unsigned int bit)
{
	m[bit / MB_BPL] &= ~(1UL << (bit % MB_BPL));
}
unsigned int mb_weight(const unsigned long *m, unsigned int nbits);
/* Index of the first set bit at or after from, or nbits. */
unsigned int mb_next(const unsigned long *m, unsigned int nbits,
		     unsigned int from);
/* Highest set bit + 1, 0 if none. */
unsigned int mb_last(const unsigned long *m, unsigned int nbits);

/* The memblks of a striped binding, stripe after stripe: the set bits of
 * mask (len bits) in turn from the lowest, round and round.  The one place
 * that says which memblk a stripe goes to (range.c sets and reads stripes,
 * alloc.c populates them). */
struct mb_stripe_iter {
	const unsigned long *mask;
	unsigned int len;
	unsigned int n; /* bits set in mask */
	unsigned int pos; /* index of m among them */
	unsigned int m; /* the current stripe's memblk */
};
/* Start at stripe idx; returns its memblk (len if mask is empty). */
unsigned int mb_stripe_start(struct mb_stripe_iter *it,
			     const unsigned long *mask, unsigned int len,
			     unsigned long idx);
/* The memblk of the next stripe. */
unsigned int mb_stripe_next(struct mb_stripe_iter *it);

/* Parse a kernel-style list ("0-3,8,10-11", blanks and a final newline
 * allowed, empty text is the empty set) of bits below nbits.  Returns the
 * number of bits set, -EINVAL for malformed text, -ERANGE for a bit at or
 * above nbits.  With mask NULL, only checks and counts (and *maxbit, if not
 * NULL, receives the highest bit + 1). */
int mb_parse_list(const char *s, size_t len, unsigned long *mask,
		  unsigned int nbits, unsigned int *maxbit);
/* Format as "0-3,8" (snprintf contract). */
int mb_format_list(const unsigned long *mask, unsigned int nbits, char *buf,
		   size_t size);

/* ---- procfs.c: the one reader of /proc and /sys ---- */
/* Files are read below a root: MB_SYS for the live system's sysfs, or a
 * captured tree that stands for it (MEMBIND_SYSFS_ROOT; a topology keeps
 * the root it was read from), and MB_PROC.  The sysfs directories are
 * named relative to that root, the same for every reader. */
#define MB_SYS "/sys"
#define MB_PROC "/proc"
#define MB_NODE_DIR "devices/system/node"
#define MB_MEMORY_DIR "devices/system/memory"

/* The largest sysfs file we read: a distance line of 1024 nodes, or a
 * meminfo, fits many times over. */
#define MB_FILE_MAX 16384

/* Open a file of /sys or /proc (or of a tree that mirrors /sys) to read:
 * path relative to dirfd (or AT_FDCWD), O_CLOEXEC, never blocking in open
 * (O_NONBLOCK).  Returns the descriptor, -EINVAL if it is not a regular
 * file (a FIFO, a device, a directory), or -errno. */
int mb_open_regular(int dirfd, const char *path);
/* Read root/path (printf-style path; root NULL: path alone), relative to
 * dirfd, into buf, NUL-terminated.  Returns the length, -ENOENT if missing,
 * -EFBIG if larger than size - 1, -EINVAL if it is not a regular file, or
 * -errno.  Never allocates. */
int mb_read_path(int dirfd, const char *root, char *buf, size_t size,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Below a root directory's path, or an open directory (fewer lookups). */
#define mb_read_file(root, buf, size, ...) \
	mb_read_path(AT_FDCWD, root, buf, size, __VA_ARGS__)
#define mb_read_fileat(dirfd, buf, size, ...) \
	mb_read_path(dirfd, NULL, buf, size, __VA_ARGS__)
/* A whole file of any size up to max bytes: in buf (size bytes; buf NULL:
 * none) when it fits, else in a malloc'ed buffer.  t->s is the text,
 * NUL-terminated, t->len its length; mb_text_free() releases it.  Returns
 * the length, -EFBIG if larger than max - 1, -EINVAL if not a regular file,
 * -ENOMEM, or -errno. */
struct mb_text {
	char *s;
	size_t len;
	char *heap; /* s when it did not fit buf */
};
int mb_read_text(struct mb_text *t, char *buf, size_t size, size_t max,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void mb_text_free(struct mb_text *t);
/* A file of any size up to MB_FILE_ALLOC_MAX (printf-style path) into
 * *out, malloc'ed and NUL-terminated, for the caller to free.  Returns the
 * length, -EFBIG if larger, -EINVAL if not a regular file, or -errno.  For
 * files without a useful bound, such as /proc/PID/status, whose Groups
 * line lists up to 65536 groups. */
#define MB_FILE_ALLOC_MAX (16UL << 20)
int mb_read_file_alloc(char **out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* MB_PROC "/PID/task/TID/file"; pid 0 is "self", tid 0 the process's own
 * file.  -ENAMETOOLONG if it does not fit. */
int mb_proc_path(char *path, size_t size, pid_t pid, pid_t tid,
		 const char *file);

/* Fields of a status file; a missing one reads as 0 ('?' for the state). */
struct mb_status {
	char state;
	pid_t tgid, tracer;
	int seccomp;
	bool has_tracer, has_seccomp; /* TracerPid:, Seccomp: were there */
	uint64_t sigpnd, shdpnd, sigblk, sigign, sigcgt;
};
void mb_status_parse(const char *text, struct mb_status *st);
/* Read and parse a status file, however long (its Groups line has no
 * useful bound): on the stack, the heap only for a long one.  0, or -errno
 * (mb_status_read(): -ESRCH for a process or thread that is not there). */
int mb_status_read_at(const char *path, struct mb_status *st);
int mb_status_read(pid_t pid, pid_t tid, struct mb_status *st);
/* The start of a stat file into buf (a prefix: its first fields are what
 * we read), and *after_comm: the text after the command name's ") ", which
 * starts with the state letter.  Returns the length, -EBADMSG without a
 * command name, or -errno.  Never allocates. */
int mb_stat_read(pid_t pid, pid_t tid, char *buf, size_t size,
		 const char **after_comm);
/* A thread's state letter (> 0), 0 if it is not there, -EBADMSG for
 * unreadable text, or -errno.  Never allocates. */
int mb_thread_state(pid_t pid, pid_t tid);

/* One line of a maps file.  name, the rest of the line after the inode
 * (blanks included, "" for none), is valid during the walk's callback
 * only; truncated: the line did not fit MB_MAPS_LINE and name is cut. */
#define MB_MAPS_LINE 4608
struct mb_mapping {
	uintptr_t lo, hi;
	uint64_t offset, inode;
	char perms[5]; /* "r-xp" */
	bool deleted;  /* name ends in " (deleted)" */
	bool truncated;
	const char *name;
};
/* Parse one line (len bytes, s[len] == '\0', no newline).  0 or -EINVAL
 * (-ERANGE for a number too large). */
int mb_maps_parse_line(char *s, size_t len, struct mb_mapping *m);
/* Call fn for each well-formed line of a maps file, in file order, lines
 * of any length; lines that do not parse are skipped.  A non-zero answer
 * of fn stops the walk and is returned; else 0, or -errno.  Never
 * allocates (a stack buffer of MB_MAPS_LINE bytes). */
int mb_maps_walk_at(const char *path,
		    int (*fn)(void *arg, const struct mb_mapping *m),
		    void *arg);
/* The same for MB_PROC/PID[/task/TID]/maps (see mb_proc_path()). */
int mb_maps_walk(pid_t pid, pid_t tid,
		 int (*fn)(void *arg, const struct mb_mapping *m), void *arg);
/* The mappings of a maps file, in address order, to look addresses up. */
struct mb_range {
	uintptr_t lo, hi;
	uint64_t offset, inode;
	char perms[5];
};
struct mb_maps {
	size_t n, cap;
	struct mb_range *r;
	size_t hint; /* the last one found */
};
/* 0 or -errno; *m is empty on failure.  mb_maps_free() releases it. */
int mb_maps_load_at(const char *path, struct mb_maps *m);
int mb_maps_load(pid_t pid, pid_t tid, struct mb_maps *m);
/* The mapping holding address a, or NULL. */
const struct mb_range *mb_maps_find(struct mb_maps *m, uintptr_t a);
void mb_maps_free(struct mb_maps *m);

/* A field of MB_PROC/meminfo ("MemTotal"), in bytes.  0, -EINVAL if it
 * is missing or malformed, or -errno. */
int mb_meminfo(const char *key, uint64_t *bytes);
/* sysroot/devices/system/memory/block_size_bytes.  0, -EINVAL if it is
 * malformed, zero or at least 2^62, or -errno. */
int mb_block_size(const char *sysroot, uint64_t *bytes);
/* sysconf(_SC_PAGESIZE), read once. */
size_t mb_page_size(void);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mb_now_ns(void);

/* ---- sysfs.c: parsers of sysfs and procfs text ---- */
/* One unsigned decimal number, optionally followed by blanks/newline.
 * -EINVAL for anything else, -ERANGE for more than max. */
int mb_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);
/* The value of a "key: X kB" line of a meminfo text (a node's lines
 * start with "Node N "), in bytes.  -EINVAL if missing or malformed. */
int mb_meminfo_field(const char *s, size_t len, const char *key,
		     uint64_t *bytes);
/* A node's meminfo: "Node N MemTotal: X kB" and "Node N MemFree: X kB"
 * lines, in bytes.  -EINVAL if either is missing or malformed. */
int mb_parse_meminfo(const char *s, size_t len, uint64_t *total,
		     uint64_t *free);
/* A distance line: blank-separated numbers (each 0..255).  Returns the
 * count written to out (at most max), -EINVAL if malformed, -E2BIG if more
 * than max. */
int mb_parse_distances(const char *s, size_t len, int *out, int max);

/* ---- topology.c ---- */
struct mb_node {
	bool online;
	int memblk; /* -1: no memory */
	int ncpus;
	unsigned long *cpus; /* cpu_limit bits; loaded on first use */
	uint64_t size, free;
	int tier, weight;
	int has_access[2];
	struct memblk_access access[2];
};

struct mb_topo {
	int node_limit; /* highest node id + 1 */
	int cpu_limit;  /* highest cpu id + 1 */
	int nmemblks;
	struct mb_node *nodes; /* node_limit entries */
	int *memblk_node;      /* nmemblks entries */
	int *node_dist;        /* node_limit^2, -1 where unknown */
	int *cpu_node;         /* cpu_limit entries, -1: none */
	unsigned long *allowed; /* memblk mask */
	bool fake_root;         /* loaded from MEMBIND_SYSFS_ROOT */
	struct mb_topo *retired_next;
	/* Loaded on first use (mb_topo_extras()): nodes[].cpus, ncpus, tier,
	 * weight, access and cpu_node.  Read them only after it returns 0. */
	char *root;
	pthread_mutex_t extras_lock;
	int extras_state; /* 0 not yet, 1 loaded, -1 failed */
	int extras_err;
};

/* The current topology, loaded on first use.  Never freed while the
 * process runs (a refresh retires the old one), so callers need no
 * reference counting.  Returns NULL and sets *err on failure. */
const struct mb_topo *mb_topo_get(int *err);
/* The topology to bind with: mb_topo_get(), or NULL with -EOPNOTSUPP in
 * *err if it is a captured tree (MEMBIND_SYSFS_ROOT), whose node ids mean
 * nothing to this kernel. */
const struct mb_topo *mb_topo_live(int *err);
/* Make sure the lazily loaded part of t is there; 0 or -errno. */
int mb_topo_extras(const struct mb_topo *t);
/* Build one from a root; for tests and the refresh. */
int mb_topo_load(const char *root, struct mb_topo **out);
void mb_topo_free(struct mb_topo *t);
int mb_topo_distance(const struct mb_topo *t, int a_node, int b_node);
/* Nearest memblk to a node (itself if it has memory); -ENOENT if none. */
int mb_topo_nearest_memblk(const struct mb_topo *t, int node);

/* Convert a memblk mask (len bits) to a node mask of t->node_limit bits.
 * -EINVAL for a bit at or above nmemblks. */
int mb_memblks_to_nodes(const struct mb_topo *t, unsigned int len,
			const unsigned long *memblks, unsigned long *nodes);
/* The inverse, for the nodes with memory; bits of memoryless nodes are
 * ignored. */
void mb_nodes_to_memblks(const struct mb_topo *t, const unsigned long *nodes,
			 unsigned int nodebits, unsigned int len,
			 unsigned long *memblks);

/* ---- policy.c: behaviors <-> kernel policies ---- */
/* A kernel memory policy: what set_mempolicy()/mbind() take. */
struct mb_kpol {
	int mode;             /* MPOL_* | mode flags */
	unsigned long nbits;  /* bits in nodes (a multiple of the word size) */
	unsigned long nodes[MB_LONGS(MB_MAX_NODES)];
};

enum mb_scope { MB_SCOPE_PROCESS, MB_SCOPE_THREAD, MB_SCOPE_RANGE };

/* Check behavior and mask for a scope, and translate them into the kernel
 * policy that implements them.  -EINVAL for bad input, -EOPNOTSUPP when the
 * running kernel lacks the mechanism. */
int mb_to_kpol(const struct mb_topo *t, enum mb_scope scope, unsigned int len,
	       const unsigned long *mask, unsigned long behavior,
	       struct mb_kpol *k);
/* mb_topo_live() and mb_to_kpol() in one: the topology to bind with, and
 * (len, mask, behavior) checked and translated for scope into *k; NULL
 * with *err set on failure. */
const struct mb_topo *mb_kpol_live(enum mb_scope scope, unsigned int len,
				   const unsigned long *mask,
				   unsigned long behavior, struct mb_kpol *k,
				   int *err);
/* The inverse: a behavior and memblk mask (len bits) for a kernel policy. */
void mb_from_kpol(const struct mb_topo *t, int mode,
		  const unsigned long *nodes, unsigned long nbits,
		  unsigned int len, unsigned long *mask,
		  unsigned long *behavior);
/* Bits to pass for node masks: node_limit rounded up to whole words. */
static inline unsigned long mb_kbits(const struct mb_topo *t)
{
	return MB_LONGS(t->node_limit) * MB_BPL;
}

/* ---- range.c: bindings of ranges ---- */
/* mem_setbinding_range() after its checks, for the library's own callers
 * (buffers, heap chunks), which have the topology and the kernel policy in
 * hand: addr page-aligned, length a non-zero multiple of the page size,
 * and k what mb_to_kpol(t, MB_SCOPE_RANGE, len, mask, behavior) gave
 * (MEMBIND_MOVE and MEMBIND_STRICT do not change it).  0 or -errno. */
int mb_bind_range(const struct mb_topo *t, void *addr, size_t length,
		  unsigned int len, const unsigned long *mask,
		  unsigned long behavior, const struct mb_kpol *k);
/* Forget that [lo, hi) was striped, before it is unmapped (a split record
 * that finds no memory keeps the part it had). */
void mb_stripes_forget(uintptr_t lo, uintptr_t hi);

/* ---- move.c: pages that exist, placed as a binding would place them ---- */
/* After mem_setbinding(pid, ... | MEMBIND_MOVE) set k: move the pages of
 * the mappings that follow the process binding.  0 or -errno. */
int mb_move_process(const struct mb_topo *t, pid_t pid, unsigned int len,
		    const unsigned long *mask, unsigned long behavior);
/* After mem_setbinding_range(... | MEMBIND_MOVE) of a spreading scheme set
 * the policy: move the range's pages.  The number of pages that could not
 * move, or -errno. */
long mb_move_range(const struct mb_topo *t, uintptr_t start, size_t length,
		   unsigned int len, const unsigned long *mask,
		   unsigned long behavior);

/* ---- threads.c: every thread of this process ---- */
/* Set k in every thread of this process.  All or nothing. */
int mb_threads_set(const struct mb_kpol *k);
/* Each thread's policy: calls fn for each thread. */
int mb_threads_get(unsigned long nbits,
		   void (*fn)(void *arg, pid_t tid, int mode,
			      const unsigned long *nodes),
		   void *arg);

/* ---- pagemap.c: mem_where() from /proc/PID/pagemap ---- */
#include <limits.h>
#include <sys/types.h>
/* A page whose answer the pagemap cannot give with certainty. */
#define MB_WHERE_UNDECIDED INT_MIN
/* What mem_where() answers, for each page, from the page frame numbers of
 * /proc/PID/pagemap and the memory blocks of sysfs; MB_WHERE_UNDECIDED for
 * the pages left to move_pages().  Returns the number of those, or -EPERM
 * (frames hidden: no CAP_SYS_ADMIN), -EOPNOTSUPP (no memory blocks, too few
 * pages, MEMBIND_NO_PAGEMAP set), -errno: then nothing is decided. */
int mb_where_pagemap(const struct mb_topo *t, pid_t pid, void *const *pages,
		     size_t count, int *memblk);
/* The same, and each page's pagemap entry in raw[i] (0 where none was
 * read; raw is left as it was when the call returns < 0). */
int mb_where_pagemap_raw(const struct mb_topo *t, pid_t pid,
			 void *const *pages, size_t count, int *memblk,
			 uint64_t *raw);
/* mem_where() after its checks, with the pagemap entries as above (zeros
 * where the pagemap was not read). */
int mb_where_raw(const struct mb_topo *t, pid_t pid, void *const *pages,
		 size_t count, int *memblk, uint64_t *raw);
/* Pages answered from the pagemap and pages left undecided, so far. */
void mb_where_pagemap_stats(unsigned long *decided, unsigned long *undecided);

/* Call add(arg, tid) for each thread of pid (0: this process), walking
 * /proc/PID/task again while a walk may have missed threads (tasks.c);
 * add() returns 1 for a thread it did not have, 0 for one it had, or
 * -errno to stop.  Returns the sum of add()'s answers, or -errno (-ESRCH:
 * no such process). */
int mb_task_scan(pid_t pid, int (*add)(void *arg, pid_t tid), void *arg);

/* fork(): the library's locks, taken before a fork and released after it
 * (fork.c has the order).  In the child, MB_FORK_CHILD also lets the
 * modules forget the threads that did not come along. */
enum mb_fork { MB_FORK_PREPARE, MB_FORK_PARENT, MB_FORK_CHILD };
void mb_fork_register(void);
void mb_remote_fork(enum mb_fork phase);
void mb_threads_fork(enum mb_fork phase);
void mb_heap_fork(enum mb_fork phase);
void mb_range_fork(enum mb_fork phase);
void mb_topo_fork(enum mb_fork phase);
void mb_pagemap_fork(enum mb_fork phase);
void mb_alloc_fork(enum mb_fork phase);

#endif /* MEMBIND_INTERNAL_H */
