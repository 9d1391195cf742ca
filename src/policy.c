/* SPDX-License-Identifier: MIT */
/* The seed's two calls: behaviors on memblk masks, translated to the
 * kernel's memory policies, for this process, one thread, or another
 * process.
 *
 * The translation is chosen so that the kernel's policy alone says which
 * scheme was set, and a binding reads back exactly, even from another
 * process where no library state can be consulted:
 *   DEFAULT      MPOL_DEFAULT
 *   HARD         MPOL_BIND [| MPOL_F_NUMA_BALANCING]
 *   SOFT         MPOL_PREFERRED (one memblk), MPOL_PREFERRED_MANY (more)
 *   ROUND_ROBIN  MPOL_INTERLEAVE
 *   FIRST_TOUCH  MPOL_LOCAL (empty mask), MPOL_BIND | MPOL_F_STATIC_NODES
 *                (a mask: the zonelist of the faulting CPU's node, filtered
 *                by the mask, is nearest-first; STATIC_NODES only marks it)
 *   WEIGHTED     MPOL_WEIGHTED_INTERLEAVE
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "remote.h"
#include "syscalls.h"

/* ---- kernel feature probes, run once ---- */
enum { FEAT_PREFERRED_MANY, FEAT_WEIGHTED, FEAT_BALANCING, FEAT_COUNT };
static int feat_state[FEAT_COUNT]; /* 0 unknown, 1 supported, -1 missing */

/* Try the mode on a scratch mapping: mbind() validates a mode exactly as
 * set_mempolicy() does, without touching any thread's policy. */
static bool feat_supported(const struct mb_topo *t, int feat)
{
	static const int modes[FEAT_COUNT] = {
		[FEAT_PREFERRED_MANY] = MB_MPOL_PREFERRED_MANY,
		[FEAT_WEIGHTED] = MB_MPOL_WEIGHTED_INTERLEAVE,
		[FEAT_BALANCING] = MB_MPOL_BIND | MB_MPOL_F_NUMA_BALANCING,
	};
	int st = __atomic_load_n(&feat_state[feat], __ATOMIC_RELAXED);
	unsigned long nodes[MB_LONGS(MB_MAX_NODES)] = {0};
	long page = (long)mb_page_size();
	void *p;
	int ret;

	if (st)
		return st > 0;
	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false; /* don't cache: try again next time */
	mb_set(nodes, (unsigned)t->memblk_node[mb_next(t->allowed,
						       (unsigned)t->nmemblks,
						       0)]);
	ret = mb_sys_mbind(p, (unsigned long)page, modes[feat], nodes,
			   mb_kbits(t), 0);
	munmap(p, (size_t)page);
	/* Only EINVAL says the kernel lacks the mode; anything else (a
	 * seccomp filter's EPERM, ENOMEM) is not worth caching. */
	if (ret && ret != -EINVAL)
		return false;
	st = ret == 0 ? 1 : -1;
	__atomic_store_n(&feat_state[feat], st, __ATOMIC_RELAXED);
	return st > 0;
}

int mb_to_kpol(const struct mb_topo *t, enum mb_scope scope, unsigned int len,
	       const unsigned long *mask, unsigned long behavior,
	       struct mb_kpol *k)
{
	unsigned long scheme = behavior & MEMBIND_SCHEME_MASK;
	unsigned int order = MEMBIND_STRIPE_ORDER(behavior);
	unsigned int n;

	if (behavior & ~(MEMBIND_SCHEME_MASK | MEMBIND_VALID_FLAGS))
		return -EINVAL;
	if (scheme > MEMBIND_WEIGHTED)
		return -EINVAL;
	if (!mask || len == 0 || len > MEMBIND_MAX_BITS)
		return -EINVAL;
	if (order && (scheme != MEMBIND_STRIPE ||
		      order < MEMBIND_STRIPE_MIN_ORDER ||
		      order > MEMBIND_STRIPE_MAX_ORDER))
		return -EINVAL;
	if ((behavior & MEMBIND_BALANCING) && scheme != MEMBIND_HARD)
		return -EINVAL;
	if (scope != MB_SCOPE_RANGE &&
	    (scheme == MEMBIND_STRIPE || (behavior & MEMBIND_STRICT)))
		return -EINVAL;
	if (scope == MB_SCOPE_RANGE && (behavior & MEMBIND_THREAD))
		return -EINVAL;

	/* Check and translate in one pass over the words, without clearing
	 * more than the node words the kernel reads (this is the whole
	 * library-side cost of a thread-scope call).  Every bit must name an
	 * allowed memblk.  Readers of k look at nodes[] up to nbits only. */
	k->mode = MB_MPOL_DEFAULT;
	k->nbits = mb_kbits(t);
	memset(k->nodes, 0, MB_LONGS(k->nbits) * sizeof(k->nodes[0]));
	n = 0;
	for (unsigned int i = 0; i < MB_LONGS(len); i++) {
		unsigned long w = mask[i];
		unsigned int lo = i * MB_BPL;

		if (len - lo < MB_BPL)
			w &= (1UL << (len - lo)) - 1; /* bits past len */
		if (!w)
			continue;
		if (lo >= (unsigned)t->nmemblks)
			return -EINVAL;
		if ((unsigned)t->nmemblks - lo < MB_BPL &&
		    (w >> ((unsigned)t->nmemblks - lo)))
			return -EINVAL; /* a memblk that does not exist */
		/* allowed has node_limit >= nmemblks bits: word i exists. */
		if (w & ~t->allowed[i])
			return -EINVAL;
		for (; w; w &= w - 1, n++)
			mb_set(k->nodes, (unsigned)t->memblk_node[
						 lo + (unsigned)__builtin_ctzl(w)]);
	}
	if (scheme == MEMBIND_DEFAULT ? n != 0 :
					(n == 0 && scheme != MEMBIND_FIRST_TOUCH))
		return -EINVAL;

	switch (scheme) {
	case MEMBIND_DEFAULT:
		k->mode = MB_MPOL_DEFAULT;
		break;
	case MEMBIND_HARD:
	case MEMBIND_STRIPE: /* each stripe: BIND to one node, see range.c */
		k->mode = MB_MPOL_BIND;
		if (behavior & MEMBIND_BALANCING) {
			if (!feat_supported(t, FEAT_BALANCING))
				return -EOPNOTSUPP;
			k->mode |= MB_MPOL_F_NUMA_BALANCING;
		}
		break;
	case MEMBIND_SOFT:
		if (n == 1) {
			k->mode = MB_MPOL_PREFERRED;
		} else {
			/* Never narrow a soft binding to one memblk. */
			if (!feat_supported(t, FEAT_PREFERRED_MANY))
				return -EOPNOTSUPP;
			k->mode = MB_MPOL_PREFERRED_MANY;
		}
		break;
	case MEMBIND_ROUND_ROBIN:
		k->mode = MB_MPOL_INTERLEAVE;
		break;
	case MEMBIND_FIRST_TOUCH:
		k->mode = n ? MB_MPOL_BIND | MB_MPOL_F_STATIC_NODES :
			      MB_MPOL_LOCAL;
		break;
	case MEMBIND_WEIGHTED:
		if (!feat_supported(t, FEAT_WEIGHTED))
			return -EOPNOTSUPP;
		k->mode = MB_MPOL_WEIGHTED_INTERLEAVE;
		break;
	}
	return 0;
}

const struct mb_topo *mb_kpol_live(enum mb_scope scope, unsigned int len,
				   const unsigned long *mask,
				   unsigned long behavior, struct mb_kpol *k,
				   int *err)
{
	const struct mb_topo *t = mb_topo_live(err);
	int ret;

	if (!t)
		return NULL;
	ret = mb_to_kpol(t, scope, len, mask, behavior, k);
	if (ret) {
		*err = ret;
		return NULL;
	}
	return t;
}

void mb_from_kpol(const struct mb_topo *t, int mode,
		  const unsigned long *nodes, unsigned long nbits,
		  unsigned int len, unsigned long *mask,
		  unsigned long *behavior)
{
	int flags = mode & MB_MPOL_MODE_FLAGS;
	unsigned long b;

	mb_nodes_to_memblks(t, nodes, (unsigned)nbits, len, mask);
	switch (mode & ~MB_MPOL_MODE_FLAGS) {
	case MB_MPOL_BIND:
		if (flags & MB_MPOL_F_STATIC_NODES)
			b = MEMBIND_FIRST_TOUCH;
		else
			b = MEMBIND_HARD;
		if (flags & MB_MPOL_F_NUMA_BALANCING)
			b |= MEMBIND_BALANCING;
		break;
	case MB_MPOL_PREFERRED:
		/* An empty preferred mask is the old spelling of local. */
		b = mb_weight(mask, len) ? MEMBIND_SOFT : MEMBIND_FIRST_TOUCH;
		break;
	case MB_MPOL_PREFERRED_MANY:
		b = MEMBIND_SOFT;
		break;
	case MB_MPOL_INTERLEAVE:
		b = MEMBIND_ROUND_ROBIN;
		break;
	case MB_MPOL_WEIGHTED_INTERLEAVE:
		b = MEMBIND_WEIGHTED;
		break;
	case MB_MPOL_LOCAL:
		b = MEMBIND_FIRST_TOUCH;
		memset(mask, 0, MB_LONGS(len) * sizeof(*mask));
		break;
	default:
		b = MEMBIND_DEFAULT;
		memset(mask, 0, MB_LONGS(len) * sizeof(*mask));
		break;
	}
	*behavior = b;
}

static bool is_self(pid_t pid)
{
	return pid == 0 || pid == getpid();
}

/* MEMBIND_THREAD | MEMBIND_MOVE: the pages on memblks outside the new mask
 * move into it (the thread's pages are the process's: see mem_setbinding(3)). */
static int move_existing(const struct mb_topo *t, pid_t pid,
			 const struct mb_kpol *k)
{
	unsigned long from[MB_LONGS(MB_MAX_NODES)] = {0};
	unsigned long to[MB_LONGS(MB_MAX_NODES)] = {0};
	long ret;

	if (!mb_weight(k->nodes, (unsigned)k->nbits))
		return 0; /* DEFAULT, FIRST_TOUCH everywhere: all conform */
	for (int m = 0; m < t->nmemblks; m++) {
		unsigned int node = (unsigned)t->memblk_node[m];

		if (mb_test(k->nodes, node))
			mb_set(to, node);
		else
			mb_set(from, node);
	}
	if (!mb_weight(from, (unsigned)k->nbits))
		return 0;
	ret = mb_sys_migrate_pages(pid ? pid : getpid(), k->nbits, from, to);
	/* A positive count is pages that could not move: busy or pinned
	 * pages are not an error of the binding. */
	return ret < 0 ? (int)ret : 0;
}

MB_EXPORT int mem_setbinding(pid_t pid, unsigned int len,
			     const unsigned long *mask, unsigned long behavior)
{
	enum mb_scope scope = (behavior & MEMBIND_THREAD) ? MB_SCOPE_THREAD :
							      MB_SCOPE_PROCESS;
	const struct mb_topo *t;
	struct mb_kpol k;
	int ret, err = 0;

	if (pid < 0)
		return -EINVAL;
	if (scope == MB_SCOPE_THREAD && !is_self(pid))
		return -EINVAL;
	t = mb_kpol_live(scope, len, mask, behavior, &k, &err);
	if (!t)
		return err;

	if (scope == MB_SCOPE_THREAD)
		ret = mb_sys_set_mempolicy(k.mode, k.nodes, k.nbits);
	else if (is_self(pid))
		ret = mb_threads_set(&k);
	else
		ret = mb_remote_set_mempolicy(pid, k.mode, k.nodes, k.nbits);
	if (ret)
		return ret;
	if (!(behavior & MEMBIND_MOVE))
		return 0;
	/* Every page ends where the new binding puts new ones (move.c). */
	if (scope == MB_SCOPE_THREAD)
		return move_existing(t, 0, &k);
	return mb_move_process(t, is_self(pid) ? 0 : pid, len, mask, behavior);
}

struct getctx {
	const struct mb_topo *t;
	unsigned int len;
	unsigned long *mask; /* union */
	unsigned long behavior;
	unsigned long tmp[MB_LONGS(MB_MAX_NODES)];
	int nthreads;
	bool mixed;
	int first_mode;
	unsigned long first_nodes[MB_LONGS(MB_MAX_NODES)];
};

static void collect(void *arg, pid_t tid, int mode, const unsigned long *nodes)
{
	struct getctx *c = arg;
	unsigned long b;

	(void)tid;
	mb_from_kpol(c->t, mode, nodes, mb_kbits(c->t), c->len, c->tmp, &b);
	if (c->nthreads++ == 0) {
		c->first_mode = mode;
		memcpy(c->first_nodes, nodes,
		       MB_LONGS(mb_kbits(c->t)) * sizeof(long));
		c->behavior = b;
	} else if (mode != c->first_mode ||
		   memcmp(nodes, c->first_nodes,
			  MB_LONGS(mb_kbits(c->t)) * sizeof(long))) {
		c->mixed = true;
		if ((c->behavior & MEMBIND_SCHEME_MASK) == MEMBIND_DEFAULT)
			c->behavior = b;
	}
	for (unsigned int i = 0; i < MB_LONGS(c->len); i++)
		c->mask[i] |= c->tmp[i];
}

/* Another process: ask each of its threads (under ptrace, see remote.c). */
static int remote_collect(const struct mb_topo *t, pid_t pid,
			  struct getctx *c)
{
	struct mb_thread_policy *pol = NULL;
	unsigned long *nodes = NULL;
	size_t words = MB_LONGS(mb_kbits(t));
	int max = 64, n;

	for (;;) {
		struct mb_thread_policy *p2;
		unsigned long *n2;

		p2 = realloc(pol, (size_t)max * sizeof(*pol));
		if (p2)
			pol = p2;
		n2 = realloc(nodes, (size_t)max * words * sizeof(long));
		if (n2)
			nodes = n2;
		if (!p2 || !n2) {
			n = -ENOMEM;
			break;
		}
		for (int i = 0; i < max; i++)
			pol[i].nodes = nodes + (size_t)i * words;
		n = mb_remote_get_mempolicy(pid, pol, max, mb_kbits(t));
		if (n <= max)
			break;
		max = n + 16; /* threads were created meanwhile */
	}
	for (int i = 0; i < n; i++)
		collect(c, pol[i].tid, pol[i].mode, pol[i].nodes);
	free(pol);
	free(nodes);
	return n < 0 ? n : 0;
}

MB_EXPORT int mem_getbinding(pid_t pid, unsigned int len, unsigned long *mask,
			     unsigned long *behavior)
{
	unsigned long out[MB_LONGS(MEMBIND_MAX_BITS)];
	struct getctx c;
	const struct mb_topo *t;
	bool thread;
	int ret, err = 0;

	if (pid < 0 || !mask || !behavior || len == 0 ||
	    len > MEMBIND_MAX_BITS)
		return -EINVAL;
	/* *behavior is read for one flag: MEMBIND_THREAD asks about the
	 * calling thread alone. */
	thread = (*behavior & MEMBIND_THREAD) != 0;
	if (thread && !is_self(pid))
		return -EINVAL;
	t = mb_topo_live(&err);
	if (!t)
		return err;
	if (len < (unsigned)t->nmemblks)
		return -EINVAL;

	if (thread) {
		/* The calling thread alone: what collect() would give for one
		 * thread, without its bookkeeping. */
		unsigned long nodes[MB_LONGS(MB_MAX_NODES)];
		unsigned long b;
		int mode;

		memset(nodes, 0, MB_LONGS(mb_kbits(t)) * sizeof(*nodes));
		ret = mb_sys_get_mempolicy(&mode, nodes, mb_kbits(t), NULL, 0);
		if (ret)
			return ret;
		mb_from_kpol(t, mode, nodes, mb_kbits(t), len, mask, &b);
		*behavior = b;
		return t->nmemblks;
	}

	/* Only the words in use need a clear start: collect() fills tmp and
	 * first_nodes before it reads them. */
	memset(out, 0, MB_LONGS(len) * sizeof(*out));
	c.t = t;
	c.len = len;
	c.mask = out; /* copied to the caller's mask once nothing can fail */
	c.behavior = 0;
	c.nthreads = 0;
	c.mixed = false;
	c.first_mode = 0;
	if (is_self(pid)) {
		ret = mb_threads_get(mb_kbits(t), collect, &c);
	} else {
		ret = remote_collect(t, pid, &c);
	}
	if (ret)
		return ret;
	memcpy(mask, out, MB_LONGS(len) * sizeof(*mask));
	*behavior = c.behavior | (c.mixed ? MEMBIND_MIXED : 0);
	return t->nmemblks;
}
