/* SPDX-License-Identifier: MIT */
/*
 * Pages that exist, placed as a binding would have placed them had they
 * been allocated under it (MEMBIND_MOVE, mem_move()).
 *
 * The kernel's own tools do not do this: migrate_pages() and mbind()'s
 * MPOL_MF_MOVE only move pages that lie outside the new nodes, so memory on
 * one node stays there when the binding becomes an interleave over all of
 * them.  Here each page gets the memblk the binding gives it, and moves
 * with move_pages() if it is elsewhere:
 *
 *   ROUND_ROBIN  the kernel's interleave order: the page's index in its
 *                mapping (vm_pgoff + offset, in units of the page's own
 *                size: a huge page is one index) modulo the mask's weight,
 *                as interleave_nid() counts it;
 *   WEIGHTED     the same index modulo the sum of the current weights of
 *                /sys/kernel/mm/mempolicy/weighted_interleave, walked as
 *                weighted_interleave_nid() walks it (weight 0 counts as 1);
 *   STRIPE       stripe i of the range (or of each mapping) on the i-th
 *                memblk;
 *   HARD         pages outside the mask, spread over it in interleave order
 *                (so that no one memblk of the mask fills first);
 *   FIRST_TOUCH  pages outside the mask, to the mask's memblk nearest the
 *                one they are on;
 *   SOFT         pages outside the mask, to the nearest memblk of the mask
 *                that still has room (its free memory as the move starts,
 *                less 1/32 of its size); the rest stay and count as nomem.
 *
 * Where a page is comes from mb_where_raw() (the pagemap, else
 * move_pages() without nodes).  Transparent huge pages are recognised by
 * /proc/kpageflags (a PMD-aligned address whose frame is the head of a THP)
 * and move whole, with the index of their order; without access to it
 * (no CAP_SYS_ADMIN), a mapping that smaps says holds huge pages is placed
 * in PMD-sized units, so that no huge page is migrated twice.  hugetlb
 * mappings are placed one huge page at a time.
 *
 * The address space is cut into work items of 8 MiB (aligned, so a huge
 * page never straddles two) that the threads take in turn: each moves its
 * own part, with its own move_pages() calls of at most BATCH pages sorted
 * by target node (the kernel migrates each run of one target node as one
 * batch; unsorted, a round-robin batch would be a migration per page).
 * move_pages() stops at the first group that fails to migrate and leaves
 * the later statuses unset: those pages are looked up again and retried,
 * the stubborn ones alone, so that one pinned page never leaves others
 * unmoved.  Every page is on its old memblk or its new one at every
 * moment: a move that stops (progress callback, a fatal error) loses
 * nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "syscalls.h"

#define CHUNK_BYTES (8UL << 20) /* one work item */
#define BATCH 1024		/* entries per move_pages() */
#define MAX_THREADS 64
#define AUTO_MAX_THREADS 8
#define PAGES_PER_THREAD 4096 /* 16 MiB of 4 KiB pages per extra thread */
#define UNSET INT_MIN

#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_PRESENT (1ULL << 63)
#define KPF_COMPOUND_HEAD 15
#define KPF_THP 22

/* One mapping, or the part of it to move. */
struct mvma {
	uintptr_t start, end; /* what to move */
	uintptr_t vstart;     /* the mapping's start */
	uint64_t pgoff;	      /* vm_pgoff: the mapping's offset, base pages */
	uintptr_t origin;     /* stripe 0 starts here */
	unsigned int order;   /* its pages are page_size << order (hugetlb) */
	bool thp_units;	      /* huge pages may be there, frames unknown */
	uint64_t present;     /* pages numa_maps counts */
};

struct item {
	size_t v;
	uintptr_t lo, hi;
};

struct job {
	const struct mb_topo *t;
	pid_t pid; /* 0: self */
	unsigned long scheme;
	int nmemblks;
	int ntargets;
	int *targets;	      /* memblks of the mask, in order */
	unsigned int *weight; /* per target (WEIGHTED) */
	unsigned int wtotal;
	unsigned int stripe_order;
	unsigned long *inmask; /* memblk bits */
	unsigned long *from;   /* memblk bits, NULL: all */
	int *nearest;	       /* per memblk: nearest target index (FIRST_TOUCH) */
	int *bydist;	       /* per memblk: target indexes nearest first (SOFT) */
	long long *room;       /* per target: pages that still fit (SOFT) */
	int mflags;	       /* MPOL_MF_MOVE[_ALL], read atomically */
	int kpf_fd;
	unsigned int pshift, thp_order;
	size_t ps;
	struct mvma *v;
	size_t nv;
	struct item *items;
	size_t nitems;
	size_t next;
	int stop;
	int err;
	uint64_t scanned, in_place, moved, shared, busy, nomem, other;
	int first_error;
	unsigned int nthreads;
	const struct mem_move_opts *opts;
	pthread_mutex_t plock;
};

/* ---- reading /proc ---- */
/* A whole /proc file of any size, or NULL with errno set. */
static char *read_all(const char *path)
{
	struct mb_text t;
	int r = mb_read_text(&t, NULL, 0, INT_MAX, "%s", path);

	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return t.heap;
}

/* A policy of numa_maps ("interleave:0-3", "bind=static:1", "default")
 * against the kernel policy k. */
static bool policy_is(const char *s, size_t n, const struct mb_kpol *k)
{
	static const char *const names[] = {
		[MB_MPOL_DEFAULT] = "default",
		[MB_MPOL_PREFERRED] = "prefer",
		[MB_MPOL_BIND] = "bind",
		[MB_MPOL_INTERLEAVE] = "interleave",
		[MB_MPOL_LOCAL] = "local",
		[MB_MPOL_PREFERRED_MANY] = "prefer (many)",
		[MB_MPOL_WEIGHTED_INTERLEAVE] = "weighted interleave",
	};
	unsigned long nodes[MB_LONGS(MB_MAX_NODES)] = {0};
	int mode = k->mode & ~MB_MPOL_MODE_FLAGS, flags = 0;
	size_t i = 0, nl;
	const char *name;

	if (mode < 0 || mode > MB_MPOL_WEIGHTED_INTERLEAVE)
		return false;
	name = names[mode];
	nl = strlen(name);
	if (n < nl || memcmp(s, name, nl))
		return false;
	i = nl;
	if (i < n && s[i] == '=') {
		size_t e = i + 1;

		while (e < n && s[e] != ':')
			e++;
		for (size_t a = i + 1; a < e;) {
			size_t b = a;

			while (b < e && s[b] != '|')
				b++;
			if (b - a == 6 && !memcmp(s + a, "static", 6))
				flags |= MB_MPOL_F_STATIC_NODES;
			else if (b - a == 8 && !memcmp(s + a, "relative", 8))
				flags |= MB_MPOL_F_RELATIVE_NODES;
			else if (b - a == 9 && !memcmp(s + a, "balancing", 9))
				flags |= MB_MPOL_F_NUMA_BALANCING;
			a = b + 1;
		}
		i = e;
	}
	if (flags != (k->mode & MB_MPOL_MODE_FLAGS))
		return false;
	if (i < n) {
		if (s[i] != ':' ||
		    mb_parse_list(s + i + 1, n - i - 1, nodes,
				  (unsigned)k->nbits, NULL) < 0)
			return false;
	} else if (i != n) {
		return false;
	}
	return !memcmp(nodes, k->nodes, MB_LONGS(k->nbits) * sizeof(long));
}

/* A mapping larger than this whose resident pages are fewer than one in
 * MV_SPARSE_RATIO is not scanned (see collect()). */
#define MV_SPARSE_MIN (64ULL << 30)
#define MV_SPARSE_RATIO 4096

static void add(uint64_t *c, uint64_t n);

/* Mappings with resident pages, from numa_maps joined with maps; only
 * those inside [lo, hi), clipped; with k, only those whose policy is k. */
static int collect(struct job *j, pid_t pid, uintptr_t lo, uintptr_t hi,
		   const struct mb_kpol *k)
{
	struct mb_maps maps;
	size_t cap = 0;
	char path[64], *buf, *s;
	int ret;

	ret = mb_maps_load(pid, 0, &maps);
	if (ret)
		return ret == -ENOENT ? -ESRCH : ret;
	mb_proc_path(path, sizeof(path), pid, 0, "numa_maps");
	buf = read_all(path);
	if (!buf) {
		ret = errno == ENOENT ? -ESRCH : -errno;
		mb_maps_free(&maps);
		return ret;
	}
	for (s = buf; *s && !ret;) {
		char *nl = strchr(s, '\n'), *e, *tok, *save = NULL, *pol;
		const struct mb_range *ml;
		uint64_t present = 0, kps = 0;
		uintptr_t a;

		if (nl)
			*nl = 0;
		a = strtoul(s, &e, 16);
		ml = *e == ' ' ? mb_maps_find(&maps, a) : NULL;
		if (!ml || ml->lo != a)
			goto next;
		pol = e + 1;
		e = strchr(pol, ' ');
		/* "weighted interleave" and "prefer (many)" hold a blank. */
		if (e && (!strncmp(pol, "weighted ", 9) ||
			  !strncmp(pol, "prefer (many)", 13)))
			e = strchr(e + 1, ' ');
		if (k && !policy_is(pol, e ? (size_t)(e - pol) : strlen(pol), k))
			goto next;
		for (tok = e ? strtok_r(e + 1, " ", &save) : NULL; tok;
		     tok = strtok_r(NULL, " ", &save)) {
			unsigned long node, pages;

			if (sscanf(tok, "N%lu=%lu", &node, &pages) == 2)
				present += pages;
			else if (!strncmp(tok, "kernelpagesize_kB=", 18))
				kps = strtoull(tok + 18, NULL, 10) * 1024;
		}
		if (!present || ml->hi <= lo || ml->lo >= hi)
			goto next;
		/*
		 * A mapping of many GiB with few resident pages (the shadow of
		 * AddressSanitizer: 20 TiB; a JVM's reserved heap) would be
		 * read from the pagemap page by page, at a cost out of all
		 * proportion to the pages it holds.  Its resident pages are
		 * counted as not moved ("other") instead (docs/design.md,
		 * "Limits").
		 */
		if (ml->hi - ml->lo > MV_SPARSE_MIN &&
		    present < (ml->hi - ml->lo) / j->ps / MV_SPARSE_RATIO) {
			add(&j->scanned, present);
			add(&j->other, present);
			goto next;
		}
		if (j->nv == cap) {
			struct mvma *nv;

			cap = cap ? 2 * cap : 64;
			nv = realloc(j->v, cap * sizeof(*nv));
			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			j->v = nv;
		}
		{
			struct mvma *v = &j->v[j->nv++];
			unsigned int order = 0;

			while (kps > (uint64_t)j->ps << order && order < 30)
				order++;
			v->vstart = ml->lo;
			v->start = ml->lo > lo ? ml->lo : lo;
			v->end = ml->hi < hi ? ml->hi : hi;
			/* A huge page is moved whole: the range is widened to
			 * whole pages of the mapping. */
			v->start &= ~(((uintptr_t)j->ps << order) - 1);
			v->end = (v->end + ((uintptr_t)j->ps << order) - 1) &
				 ~(((uintptr_t)j->ps << order) - 1);
			v->pgoff = ml->inode ? ml->offset / j->ps :
					      ml->lo / j->ps;
			v->origin = lo ? lo : ml->lo;
			v->order = order;
			v->thp_units = false;
			v->present = present;
		}
next:
		if (!nl)
			break;
		s = nl + 1;
	}
	free(buf);
	mb_maps_free(&maps);
	return ret;
}

/* Without /proc/kpageflags: which mappings hold transparent huge pages. */
static void mark_thp(struct job *j, pid_t pid)
{
	char path[64], *buf, *s;
	struct mvma *cur = NULL;
	size_t vi = 0;

	mb_proc_path(path, sizeof(path), pid, 0, "smaps");
	buf = read_all(path);
	if (!buf) {
		/* Unknown: every mapping in units, the safe side. */
		for (size_t i = 0; i < j->nv; i++)
			j->v[i].thp_units = j->v[i].order == 0;
		return;
	}
	for (s = buf; *s;) {
		char *nl = strchr(s, '\n'), *e;
		unsigned long a, kb;

		if (nl)
			*nl = 0;
		a = strtoul(s, &e, 16);
		if (*e == '-') {
			cur = NULL;
			while (vi < j->nv && j->v[vi].vstart < a)
				vi++;
			if (vi < j->nv && j->v[vi].vstart == a)
				cur = &j->v[vi];
		} else if (cur && cur->order == 0 &&
			   (sscanf(s, "AnonHugePages: %lu", &kb) == 1 ||
			    sscanf(s, "FilePmdMapped: %lu", &kb) == 1 ||
			    sscanf(s, "ShmemPmdMapped: %lu", &kb) == 1) &&
			   kb) {
			cur->thp_units = true;
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	free(buf);
}

/* ---- where a page goes ---- */
static uint64_t ilx(const struct job *j, const struct mvma *v, uintptr_t a,
		    unsigned int ord)
{
	return (v->pgoff >> ord) + ((a - v->vstart) >> (j->pshift + ord));
}

static int spread_index(const struct job *j, uint64_t x)
{
	unsigned int target;
	int i = 0;

	if (j->scheme != MEMBIND_WEIGHTED)
		return (int)(x % (uint64_t)j->ntargets);
	target = (unsigned int)(x % j->wtotal);
	while (target >= j->weight[i]) {
		target -= j->weight[i];
		i++;
	}
	return i;
}

/* Take pages from a SOFT target's room. */
static bool take_room(struct job *j, int ti, long long pages)
{
	long long r = __atomic_load_n(&j->room[ti], __ATOMIC_RELAXED);

	while (r >= pages)
		if (__atomic_compare_exchange_n(&j->room[ti], &r, r - pages,
						false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return true;
	return false;
}

/* The memblk a page on memblk cur at a (a unit of order ord) belongs on;
 * -1 if it stays (SOFT without room: -2). */
static int target_of(struct job *j, const struct mvma *v, uintptr_t a,
		     unsigned int ord, int cur, long long pages)
{
	switch (j->scheme) {
	case MEMBIND_ROUND_ROBIN:
	case MEMBIND_WEIGHTED:
		return j->targets[spread_index(j, ilx(j, v, a, ord))];
	case MEMBIND_STRIPE:
		return j->targets[((a - v->origin) >> j->stripe_order) %
				  (uintptr_t)j->ntargets];
	case MEMBIND_HARD:
		if (mb_test(j->inmask, (unsigned)cur))
			return cur;
		return j->targets[ilx(j, v, a, ord) % (uint64_t)j->ntargets];
	case MEMBIND_FIRST_TOUCH:
		if (mb_test(j->inmask, (unsigned)cur))
			return cur;
		return j->targets[j->nearest[cur]];
	case MEMBIND_SOFT:
		if (mb_test(j->inmask, (unsigned)cur))
			return cur;
		for (int i = 0; i < j->ntargets; i++) {
			int ti = j->bydist[cur * j->ntargets + i];

			if (take_room(j, ti, pages))
				return j->targets[ti];
		}
		return -2;
	default:
		return cur;
	}
}

static bool kpf_thp_head(const struct job *j, uint64_t pfn)
{
	uint64_t f;

	if (pread(j->kpf_fd, &f, sizeof(f), (off_t)(pfn * sizeof(f))) !=
	    (ssize_t)sizeof(f))
		return false;
	return (f >> KPF_THP & 1) && (f >> KPF_COMPOUND_HEAD & 1);
}

static void add(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static void fail_page(struct job *j, int err, uint64_t pages)
{
	int zero = 0;

	switch (err) {
	case -EACCES:
	case -EPERM:
		add(&j->shared, pages);
		break;
	case -EBUSY:
	case -EAGAIN:
		add(&j->busy, pages);
		break;
	case -ENOMEM:
	case -ENOSPC:
		add(&j->nomem, pages);
		break;
	default:
		add(&j->other, pages);
		break;
	}
	__atomic_compare_exchange_n(&j->first_error, &zero, err, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static void fatal(struct job *j, int err)
{
	int zero = 0;

	__atomic_compare_exchange_n(&j->err, &zero, err, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	__atomic_store_n(&j->stop, 1, __ATOMIC_RELAXED);
}

/* Per-thread buffers. */
struct wbuf {
	void *addr[CHUNK_BYTES / 4096];
	int cur[CHUNK_BYTES / 4096];
	uint64_t raw[CHUNK_BYTES / 4096];
	/* the entries to move, sorted by target */
	void *maddr[CHUNK_BYTES / 4096];
	int mtarget[CHUNK_BYTES / 4096];
	uint32_t mpages[CHUNK_BYTES / 4096];
	int node[CHUNK_BYTES / 4096];
	int st[CHUNK_BYTES / 4096];
	/* the same before sorting */
	void *qaddr[CHUNK_BYTES / 4096];
	int qtarget[CHUNK_BYTES / 4096];
	uint32_t qpages[CHUNK_BYTES / 4096];
};

/* One move_pages() of n entries from off; returns -errno for a fatal
 * error, else 0 (statuses in st, UNSET where the kernel stopped). */
static int move_call(struct job *j, struct wbuf *w, size_t off, size_t n)
{
	long r;

	for (size_t i = off; i < off + n; i++)
		w->st[i] = UNSET;
	for (;;) {
		int fl = __atomic_load_n(&j->mflags, __ATOMIC_RELAXED);

		r = mb_sys_move_pages(j->pid, n, w->maddr + off, w->node + off,
				      w->st + off, fl);
		if (r == -EPERM && (fl & MB_MPOL_MF_MOVE_ALL)) {
			/* No CAP_SYS_NICE: the pages of this process only. */
			__atomic_store_n(&j->mflags, MB_MPOL_MF_MOVE,
					 __ATOMIC_RELAXED);
			continue;
		}
		break;
	}
	return r < 0 ? (int)r : 0;
}

/* Move the n queued entries of w (sorted by target). */
static int move_entries(struct job *j, struct wbuf *w, size_t n)
{
	static const size_t batch[] = {BATCH, 64, 8, 1};
	const int rounds = (int)(sizeof(batch) / sizeof(batch[0]));
	const struct mb_topo *t = j->t;
	size_t left = n;

	for (size_t i = 0; i < n; i++)
		w->node[i] = t->memblk_node[w->mtarget[i]];
	/* Rounds: a call stops at a group that failed to migrate and leaves
	 * the statuses from there on unset.  Those pages are looked up, and
	 * what is not there yet is tried again in smaller calls, so that a
	 * pinned page holds back fewer others each round. */
	for (int round = 0; left && round < rounds; round++) {
		size_t k = 0, nq = 0;

		for (size_t off = 0; off < left;) {
			size_t c = left - off < batch[round] ? left - off :
							       batch[round];
			int ret = move_call(j, w, off, c);

			if (ret)
				return ret;
			off += c;
		}
		/* Where are the pages of unset statuses now?  One query. */
		for (size_t i = 0; i < left; i++)
			if (w->st[i] == UNSET)
				w->qaddr[nq++] = w->maddr[i];
		if (nq && mb_sys_move_pages(j->pid, nq, w->qaddr, NULL,
					    w->qtarget, 0) < 0)
			for (size_t i = 0; i < nq; i++)
				w->qtarget[i] = -ENOENT;
		nq = 0;
		for (size_t i = 0; i < left; i++) {
			bool unset = w->st[i] == UNSET;
			int s = unset ? w->qtarget[nq++] : w->st[i];

			if (s == w->node[i]) {
				add(&j->moved, w->mpages[i]);
				continue;
			}
			if (s == -ENOENT || s == -EFAULT) {
				/* Gone meanwhile (unmapped, swapped out). */
				__atomic_sub_fetch(&j->scanned, w->mpages[i],
						   __ATOMIC_RELAXED);
				continue;
			}
			if (s < 0 && s != -EBUSY && s != -EAGAIN && !unset) {
				fail_page(j, s, w->mpages[i]);
				continue;
			}
			if (round == rounds - 1) {
				fail_page(j, s < 0 ? s : -EBUSY, w->mpages[i]);
				continue;
			}
			/* Not there yet: again, in smaller calls. */
			w->maddr[k] = w->maddr[i];
			w->node[k] = w->node[i];
			w->mpages[k] = w->mpages[i];
			w->mtarget[k] = w->mtarget[i];
			k++;
		}
		left = k;
	}
	return 0;
}

/* Queue one entry. */
static void queue(struct wbuf *w, size_t *q, void *a, int target,
		  uint32_t pages)
{
	w->qaddr[*q] = a;
	w->qtarget[*q] = target;
	w->qpages[*q] = pages;
	(*q)++;
}

static int do_item(struct job *j, struct wbuf *w, const struct item *it)
{
	const struct mvma *v = &j->v[it->v];
	uintptr_t unit = (uintptr_t)j->ps << v->order;
	size_t n = (it->hi - it->lo) / unit, q = 0;
	size_t hp = (size_t)1 << j->thp_order;
	int ret;

	for (size_t i = 0; i < n; i++)
		w->addr[i] = (void *)(it->lo + i * unit);
	ret = mb_where_raw(j->t, j->pid, w->addr, n, w->cur, w->raw);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n;) {
		uintptr_t a = (uintptr_t)w->addr[i];
		size_t step = 1;
		unsigned int ord = v->order;
		bool head = false;
		uint64_t pages = (uint64_t)1 << v->order;

		if (v->order == 0 && j->thp_order && !(a & (hp * j->ps - 1)) &&
		    i + hp <= n) {
			uint64_t e = w->raw[i], pfn = e & PM_PFN_MASK;

			if (j->kpf_fd >= 0 && (e & PM_PRESENT) && pfn &&
			    pfn % hp == 0 &&
			    (w->raw[i + hp - 1] & PM_PFN_MASK) == pfn + hp - 1 &&
			    kpf_thp_head(j, pfn)) {
				head = true;
				step = hp;
				ord = j->thp_order;
				pages = hp;
			} else if (v->thp_units) {
				step = hp;
				ord = j->thp_order;
			}
		}
		if (head) {
			int cur = w->cur[i];

			if (cur >= 0 && (!j->from || mb_test(j->from, (unsigned)cur))) {
				int tg = target_of(j, v, a, ord, cur,
						   (long long)pages);

				add(&j->scanned, pages);
				if (tg == cur || tg == -1)
					add(&j->in_place, pages);
				else if (tg == -2)
					fail_page(j, -ENOMEM, pages);
				else
					queue(w, &q, w->addr[i], tg,
					      (uint32_t)pages);
			}
		} else {
			/* Each page alone; in a unit of step pages (THP
			 * fallback) all get the target of the unit's
			 * start. */
			int utg = UNSET;

			for (size_t s = i; s < i + step && s < n; s++) {
				int cur = w->cur[s], tg;
				uintptr_t ta = step > 1 ? a : (uintptr_t)w->addr[s];

				if (cur < 0 || (j->from &&
						!mb_test(j->from, (unsigned)cur)))
					continue;
				if (step > 1 && j->scheme != MEMBIND_SOFT &&
				    j->scheme != MEMBIND_HARD &&
				    j->scheme != MEMBIND_FIRST_TOUCH) {
					if (utg == UNSET)
						utg = target_of(j, v, ta, ord,
								cur,
								(long long)pages);
					tg = utg;
				} else {
					tg = target_of(j, v, ta, ord, cur,
						       (long long)pages);
				}
				add(&j->scanned, pages);
				if (tg == cur || tg == -1)
					add(&j->in_place, pages);
				else if (tg == -2)
					fail_page(j, -ENOMEM, pages);
				else
					queue(w, &q, w->addr[s], tg,
					      (uint32_t)pages);
			}
		}
		i += step;
	}
	if (!q)
		return 0;
	/* Sort by target (counting sort over the memblks). */
	{
		size_t k = 0;

		for (int m = 0; m < j->nmemblks; m++)
			for (size_t i = 0; i < q; i++)
				if (w->qtarget[i] == m) {
					w->maddr[k] = w->qaddr[i];
					w->mtarget[k] = m;
					w->mpages[k] = w->qpages[i];
					k++;
				}
	}
	return move_entries(j, w, q);
}

static void snapshot(struct job *j, struct mem_move_stats *st)
{
	struct mem_move_stats s = {0};

	s.sz = sizeof(s);
	s.scanned = __atomic_load_n(&j->scanned, __ATOMIC_RELAXED);
	s.in_place = __atomic_load_n(&j->in_place, __ATOMIC_RELAXED);
	s.moved = __atomic_load_n(&j->moved, __ATOMIC_RELAXED);
	s.shared = __atomic_load_n(&j->shared, __ATOMIC_RELAXED);
	s.busy = __atomic_load_n(&j->busy, __ATOMIC_RELAXED);
	s.nomem = __atomic_load_n(&j->nomem, __ATOMIC_RELAXED);
	s.other = __atomic_load_n(&j->other, __ATOMIC_RELAXED);
	s.failed = s.shared + s.busy + s.nomem + s.other;
	s.first_error = __atomic_load_n(&j->first_error, __ATOMIC_RELAXED);
	s.threads = j->nthreads;
	s.page_size = j->ps;
	if (st)
		mb_sz_out(st, &s, sizeof(s));
}

static void *worker(void *arg)
{
	struct job *j = arg;
	struct wbuf *w = malloc(sizeof(*w));

	if (!w) {
		fatal(j, -ENOMEM);
		return NULL;
	}
	while (!__atomic_load_n(&j->stop, __ATOMIC_RELAXED)) {
		size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
		int ret;

		if (i >= j->nitems)
			break;
		ret = do_item(j, w, &j->items[i]);
		if (ret) {
			fatal(j, ret);
			break;
		}
		if (j->opts && j->opts->progress) {
			struct mem_move_stats s = MEM_MOVE_STATS_INIT;

			pthread_mutex_lock(&j->plock);
			snapshot(j, &s);
			if (!__atomic_load_n(&j->stop, __ATOMIC_RELAXED) &&
			    j->opts->progress(j->opts->arg, &s))
				fatal(j, -ECANCELED);
			pthread_mutex_unlock(&j->plock);
		}
	}
	free(w);
	return NULL;
}

/* ---- the plan ---- */
static unsigned int read_weight(int node)
{
	char buf[32];
	uint64_t w;
	int len = mb_read_file(MB_SYS, buf, sizeof(buf),
			       "kernel/mm/mempolicy/weighted_interleave/node%d",
			       node);

	if (len < 0 || mb_parse_u64(buf, (size_t)len, 255, &w) || !w)
		return 1;
	return (unsigned int)w;
}

static uint64_t node_free_pages(int node, uint64_t *total, size_t ps)
{
	char buf[MB_FILE_MAX];
	uint64_t tot = 0, fr = 0;
	int len = mb_read_file(MB_SYS, buf, sizeof(buf),
			       MB_NODE_DIR "/node%d/meminfo", node);

	if (len < 0 || mb_parse_meminfo(buf, (size_t)len, &tot, &fr))
		tot = fr = 0;
	*total = tot / ps;
	return fr / ps;
}

static unsigned int thp_order(size_t ps)
{
	char buf[32];
	uint64_t v;
	unsigned int o = 0;
	int len = mb_read_file(MB_SYS, buf, sizeof(buf),
			       "kernel/mm/transparent_hugepage/hpage_pmd_size");

	if (len < 0 || mb_parse_u64(buf, (size_t)len, 1ULL << 40, &v) ||
	    v <= ps)
		return 0;
	while (((uint64_t)ps << o) < v)
		o++;
	return o;
}

static unsigned int default_threads(const struct job *j, uint64_t pages)
{
	const char *s = secure_getenv("MEMBIND_MOVE_THREADS");
	unsigned long n = 0;
	cpu_set_t set;

	if (s && *s) {
		char *e;

		n = strtoul(s, &e, 10);
		if (*e || !n)
			n = 0;
	}
	if (!n) {
		n = sched_getaffinity(0, sizeof(set), &set) ?
			    1 :
			    (unsigned long)CPU_COUNT(&set);
		if (n > AUTO_MAX_THREADS)
			n = AUTO_MAX_THREADS;
		if (n > pages / PAGES_PER_THREAD)
			n = pages / PAGES_PER_THREAD;
	}
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	if (n > j->nitems)
		n = j->nitems;
	return n ? (unsigned int)n : 1;
}

static void job_free(struct job *j)
{
	free(j->targets);
	free(j->weight);
	free(j->inmask);
	free(j->from);
	free(j->nearest);
	free(j->bydist);
	free(j->room);
	free(j->v);
	free(j->items);
	if (j->kpf_fd >= 0)
		close(j->kpf_fd);
	pthread_mutex_destroy(&j->plock);
}

static int job_plan(struct job *j, const struct mb_topo *t, unsigned int len,
		    const unsigned long *mask, unsigned long behavior,
		    const struct mem_move_opts *opts)
{
	int nm = t->nmemblks;
	size_t words = MB_LONGS(nm > 0 ? nm : 1);

	j->t = t;
	j->nmemblks = nm;
	j->scheme = behavior & MEMBIND_SCHEME_MASK;
	j->ps = mb_page_size();
	while (((size_t)1 << j->pshift) < j->ps)
		j->pshift++;
	j->kpf_fd = -1;
	j->opts = opts;
	pthread_mutex_init(&j->plock, NULL);
	j->targets = calloc((size_t)nm, sizeof(int));
	j->weight = calloc((size_t)nm, sizeof(unsigned int));
	j->inmask = calloc(words, sizeof(long));
	j->nearest = calloc((size_t)nm, sizeof(int));
	j->bydist = calloc((size_t)nm * (size_t)nm, sizeof(int));
	j->room = calloc((size_t)nm, sizeof(long long));
	if (!j->targets || !j->weight || !j->inmask || !j->nearest ||
	    !j->bydist || !j->room)
		return -ENOMEM;
	for (unsigned int m = mb_next(mask, len, 0); m < len;
	     m = mb_next(mask, len, m + 1)) {
		if ((int)m >= nm)
			return -EINVAL;
		mb_set(j->inmask, m);
		j->targets[j->ntargets++] = (int)m;
	}
	if (opts && opts->from) {
		j->from = calloc(words, sizeof(long));
		if (!j->from)
			return -ENOMEM;
		for (unsigned int m = mb_next(opts->from, opts->from_len, 0);
		     m < opts->from_len;
		     m = mb_next(opts->from, opts->from_len, m + 1))
			if ((int)m < nm)
				mb_set(j->from, m);
	}
	if (!j->ntargets)
		return 0;
	if (j->scheme == MEMBIND_WEIGHTED) {
		for (int i = 0; i < j->ntargets; i++) {
			j->weight[i] = read_weight(t->memblk_node[j->targets[i]]);
			j->wtotal += j->weight[i];
		}
	}
	if (j->scheme == MEMBIND_STRIPE) {
		unsigned int o = MEMBIND_STRIPE_ORDER(behavior);

		j->stripe_order = o ? o : MEMBIND_STRIPE_DEFAULT_ORDER;
	}
	/* Per memblk: the targets nearest first (stable: mask order on
	 * ties). */
	for (int m = 0; m < nm; m++) {
		int *row = j->bydist + (size_t)m * (size_t)j->ntargets;

		for (int i = 0; i < j->ntargets; i++) {
			int d = mb_topo_distance(t, t->memblk_node[m],
						 t->memblk_node[j->targets[i]]);
			int k = i;

			while (k > 0 &&
			       mb_topo_distance(t, t->memblk_node[m],
						t->memblk_node[j->targets[row[k - 1]]]) > d) {
				row[k] = row[k - 1];
				k--;
			}
			row[k] = i;
		}
		j->nearest[m] = row[0];
	}
	if (j->scheme == MEMBIND_SOFT) {
		for (int i = 0; i < j->ntargets; i++) {
			uint64_t total, fr;

			fr = node_free_pages(t->memblk_node[j->targets[i]],
					     &total, j->ps);
			j->room[i] = fr > total / 32 ? (long long)(fr - total / 32) :
						       0;
		}
	}
	j->thp_order = thp_order(j->ps);
	return 0;
}

/* Cut the mappings into items; then run the threads. */
static int job_run(struct job *j, pid_t procpid, struct mem_move_stats *st)
{
	size_t cap = 0;
	uint64_t pages = 0;
	unsigned int nt;
	pthread_t tids[MAX_THREADS];
	sigset_t all, old;
	int ret;

	if (j->thp_order) {
		j->kpf_fd = open(MB_PROC "/kpageflags", O_RDONLY | O_CLOEXEC);
		if (j->kpf_fd < 0)
			mark_thp(j, procpid);
	}
	for (size_t i = 0; i < j->nv; i++) {
		const struct mvma *v = &j->v[i];
		uintptr_t chunk = CHUNK_BYTES;

		if (((uintptr_t)j->ps << v->order) > chunk)
			chunk = (uintptr_t)j->ps << v->order;
		pages += v->present;
		for (uintptr_t lo = v->start; lo < v->end;) {
			uintptr_t hi = (lo & ~(chunk - 1)) + chunk;

			if (hi > v->end || hi < lo)
				hi = v->end;
			if (j->nitems == cap) {
				struct item *ni;

				cap = cap ? 2 * cap : 256;
				ni = realloc(j->items, cap * sizeof(*ni));
				if (!ni)
					return -ENOMEM;
				j->items = ni;
			}
			j->items[j->nitems++] = (struct item){i, lo, hi};
			lo = hi;
		}
	}
	nt = j->opts && j->opts->threads ? j->opts->threads :
					   default_threads(j, pages);
	if (nt > MAX_THREADS)
		nt = MAX_THREADS;
	if (nt > j->nitems)
		nt = j->nitems ? (unsigned int)j->nitems : 1;
	/* The helpers take no signal: they stay with the caller's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	j->nthreads = 1;
	for (unsigned int i = 1; i < nt; i++) {
		if (pthread_create(&tids[i], NULL, worker, j))
			break;
		j->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	worker(j);
	for (unsigned int i = 1; i < j->nthreads; i++)
		pthread_join(tids[i], NULL);
	snapshot(j, st);
	ret = j->err;
	if (ret)
		return ret;
	{
		uint64_t failed = j->shared + j->busy + j->nomem + j->other;

		return failed > INT32_MAX ? INT32_MAX : (int)failed;
	}
}

static long move_common(const struct mb_topo *t, pid_t pid, uintptr_t lo,
			uintptr_t hi, const struct mb_kpol *filter,
			unsigned int len, const unsigned long *mask,
			unsigned long behavior, int mflags,
			const struct mem_move_opts *opts,
			struct mem_move_stats *st)
{
	struct job j;
	pid_t procpid = pid ? pid : getpid();
	long ret;

	memset(&j, 0, sizeof(j));
	j.pid = pid;
	j.mflags = mflags;
	ret = job_plan(&j, t, len, mask, behavior, opts);
	if (!ret && j.ntargets && j.scheme != MEMBIND_DEFAULT)
		ret = collect(&j, procpid, lo, hi, filter);
	if (!ret)
		ret = job_run(&j, procpid, st);
	else
		snapshot(&j, st);
	job_free(&j);
	return ret;
}

int mb_move_process(const struct mb_topo *t, pid_t pid, unsigned int len,
		    const unsigned long *mask, unsigned long behavior)
{
	struct mb_kpol k;
	long ret;

	ret = mb_to_kpol(t, MB_SCOPE_PROCESS, len, mask,
			 behavior & ~(MEMBIND_MOVE | MEMBIND_THREAD), &k);
	if (ret)
		return (int)ret;
	ret = move_common(t, pid, 0, UINTPTR_MAX, &k, len, mask, behavior,
			  MB_MPOL_MF_MOVE_ALL, NULL, NULL);
	/* Pages that could not move are not an error of the binding. */
	return ret < 0 ? (int)ret : 0;
}

long mb_move_range(const struct mb_topo *t, uintptr_t start, size_t length,
		   unsigned int len, const unsigned long *mask,
		   unsigned long behavior)
{
	return move_common(t, 0, start, start + length, NULL, len, mask,
			   behavior, MB_MPOL_MF_MOVE, NULL, NULL);
}

MB_EXPORT int mem_move(pid_t pid, void *addr, size_t length, unsigned int len,
		       const unsigned long *mask, unsigned long behavior,
		       const struct mem_move_opts *opts,
		       struct mem_move_stats *stats)
{
	unsigned long scheme = behavior & MEMBIND_SCHEME_MASK;
	uintptr_t lo = 0, hi = UINTPTR_MAX;
	unsigned long ps = mb_page_size();
	/* Fields the caller's struct does not have are zero. */
	struct mem_move_opts o = MEM_MOVE_OPTS_INIT;
	struct mb_kpol k;
	const struct mb_topo *t;
	bool policy_only;
	long ret;
	int err = 0;

	if (stats && mb_sz_check(stats, sizeof(size_t)))
		return -EINVAL;
	if (mb_sz_in(&o, sizeof(o), opts,
		     offsetof(struct mem_move_opts, from)) ||
	    (o.flags & ~MEM_MOVE_VALID_FLAGS))
		return -EINVAL;
	if (pid < 0 || (addr && length == 0) || (!addr && length) ||
	    ((uintptr_t)addr & (ps - 1)) ||
	    (addr && (uintptr_t)addr + length < (uintptr_t)addr))
		return -EINVAL;
	policy_only = o.flags & MEM_MOVE_PROCESS_POLICY;
	if (policy_only && (addr || scheme == MEMBIND_STRIPE))
		return -EINVAL;
	if (behavior & (MEMBIND_STRICT | MEMBIND_THREAD | MEMBIND_MIXED))
		return -EINVAL;
	t = mb_topo_live(&err);
	if (!t)
		return err;
	/* The same checks as a binding of a range (every memblk allowed,
	 * the scheme known, a stripe size in bounds). */
	ret = mb_to_kpol(t, MB_SCOPE_RANGE, len, mask,
			 behavior & ~MEMBIND_MOVE, &k);
	if (ret)
		return (int)ret;
	if (policy_only) {
		ret = mb_to_kpol(t, MB_SCOPE_PROCESS, len, mask,
				 behavior & ~MEMBIND_MOVE, &k);
		if (ret)
			return (int)ret;
	}
	if (o.from && (o.from_len == 0 || o.from_len > MEMBIND_MAX_BITS))
		return -EINVAL;
	if (addr) {
		lo = (uintptr_t)addr;
		hi = lo + ((length + ps - 1) & ~(ps - 1));
	}
	/* A range moves this caller's pages alone, as mbind() does; a
	 * process also the pages it shares, as migrate_pages() does (with
	 * CAP_SYS_NICE). */
	ret = move_common(t, pid, lo, hi, policy_only ? &k : NULL, len, mask,
			  behavior,
			  addr ? MB_MPOL_MF_MOVE : MB_MPOL_MF_MOVE_ALL, &o,
			  stats);
	return (int)ret;
}
