/* SPDX-License-Identifier: MIT */
/*
 * libnuma.so.1 on libmembind: the binary interface of numactl 2.0.16's
 * libnuma (every function and variable, the libnuma_1.1 ... libnuma_1.6
 * symbol versions and the version 1 compatibility symbols), written from
 * numa(3) and from what programs built against libnuma-dev expect.  None
 * of libnuma's code is used.
 *
 * The topology (nodes, CPUs, distances, sparse ids, memoryless and CPU-less
 * nodes) comes from libmembind's loader, so MEMBIND_SYSFS_ROOT works here
 * too; policies are the kernel's, set with raw system calls on the calling
 * thread, as numa(3) documents ("the current task").
 *
 * As numa(3) documents, failures are reported through numa_error() and
 * numa_warn(), which a program may override; the defaults print to stderr
 * and exit only when numa_exit_on_error / numa_exit_on_warn is set.  This
 * is the one part of the project that prints: libmembind itself never does.
 *
 * docs/libnuma.md lists where this library deliberately differs.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "syscalls.h"
#include "numa-abi.h"

#define API __attribute__((visibility("default")))
/* The compatibility symbol NAME@VER implemented by FN. */
#define SYMVER(fn, name) __asm__(".symver " #fn "," #name)

/* Warning numbers, passed as numa_warn()'s first argument. */
enum {
	W_NODEPARSE = 1,
	W_CPUPARSE,
	W_NOMEM,
	W_BADNODE,
	W_BADCPU,
	W_DISTANCE,
	W_CPUMAP,
	W_PREFMANY,
};

/* ---- The exported variables ---------------------------------------- */
API int numa_exit_on_error = 0;
API int numa_exit_on_warn = 0;
API struct bitmask *numa_all_nodes_ptr = NULL;
API struct bitmask *numa_nodes_ptr = NULL;
API struct bitmask *numa_all_cpus_ptr = NULL;
API struct bitmask *numa_no_nodes_ptr = NULL;
API nodemask_t numa_all_nodes;
API nodemask_t numa_no_nodes;

/* Filled once, in the constructor. */
static unsigned int possible_nodes = 64; /* bits in the kernel's nodemask */
static unsigned int possible_cpus = 64;  /* bits in the kernel's cpumask */
static int max_node;                     /* highest node that exists */
static struct bitmask *memory_nodes;     /* nodes with memory */
static int pagesize;
/* numa_set_bind_policy(), numa_set_strict(): process-wide, as documented */
static int bind_mode = MB_MPOL_BIND;
static int mbind_flags;

/* ---- Error hooks (weak: a program's own definitions win) ----------- */
API __attribute__((weak)) void numa_error(char *where)
{
	int e = errno;

	fprintf(stderr, "%s: %s\n", where, strerror(e));
	if (numa_exit_on_error)
		exit(1);
	errno = e;
}

API __attribute__((weak)) void numa_warn(int num, char *fmt, ...)
{
	/* Each warning once per process, as <numa.h> says. */
	static unsigned long long warned;
	int e = errno;
	va_list ap;

	if (num > 0 && num < 64) {
		unsigned long long bit = 1ULL << num;

		if (__atomic_fetch_or(&warned, bit, __ATOMIC_RELAXED) & bit)
			goto out;
	}
	va_start(ap, fmt);
	fputs("libnuma: Warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (numa_exit_on_warn)
		exit(1);
out:
	errno = e;
}

/* Report a failed system call through the (possibly overridden) hook,
 * keeping errno. */
static void fail(const char *where)
{
	int e = errno;

	numa_error((char *)where);
	errno = e;
}

/* ---- Kernel interface: numaif.h's five calls (weak, as libnuma's) -- */
API __attribute__((weak)) long get_mempolicy(int *mode, unsigned long *nmask,
					     unsigned long maxnode, void *addr,
					     unsigned flags)
{
	return syscall(SYS_get_mempolicy, mode, nmask, maxnode, addr, flags);
}

API __attribute__((weak)) long mbind(void *start, unsigned long len, int mode,
				     const unsigned long *nmask,
				     unsigned long maxnode, unsigned flags)
{
	return syscall(SYS_mbind, start, len, mode, nmask, maxnode, flags);
}

API __attribute__((weak)) long set_mempolicy(int mode,
					     const unsigned long *nmask,
					     unsigned long maxnode)
{
	return syscall(SYS_set_mempolicy, mode, nmask, maxnode);
}

API __attribute__((weak)) long migrate_pages(int pid, unsigned long maxnode,
					     const unsigned long *frommask,
					     const unsigned long *tomask)
{
	return syscall(SYS_migrate_pages, pid, maxnode, frommask, tomask);
}

API __attribute__((weak)) long move_pages(int pid, unsigned long count,
					  void **pages, const int *nodes,
					  int *status, int flags)
{
	return syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
}

/* The kernel's maxnode for b's bits (0 for no mask). */
static unsigned long maxnode_of(const struct bitmask *b)
{
	return b ? mb_maxnode(b->size) : 0;
}

/* ---- struct bitmask ------------------------------------------------- */
static size_t words_for(unsigned long bits)
{
	return (bits + MB_BPL - 1) / MB_BPL;
}

API int numa_bitmask_isbitset(const struct bitmask *b, unsigned int n)
{
	if (n >= b->size)
		return 0;
	return mb_test(b->maskp, n) ? 1 : 0;
}

API struct bitmask *numa_bitmask_setall(struct bitmask *b)
{
	for (unsigned long i = 0; i < b->size; i++)
		mb_set(b->maskp, (unsigned int)i);
	return b;
}

API struct bitmask *numa_bitmask_clearall(struct bitmask *b)
{
	memset(b->maskp, 0, words_for(b->size) * sizeof(unsigned long));
	return b;
}

API struct bitmask *numa_bitmask_setbit(struct bitmask *b, unsigned int n)
{
	if (n < b->size)
		mb_set(b->maskp, n);
	return b;
}

API struct bitmask *numa_bitmask_clearbit(struct bitmask *b, unsigned int n)
{
	if (n < b->size)
		mb_clear(b->maskp, n);
	return b;
}

API unsigned int numa_bitmask_nbytes(struct bitmask *b)
{
	return (unsigned int)(words_for(b->size) * sizeof(unsigned long));
}

API unsigned int numa_bitmask_weight(const struct bitmask *b)
{
	return mb_weight(b->maskp, (unsigned int)b->size);
}

API struct bitmask *numa_bitmask_alloc(unsigned int n)
{
	struct bitmask *b;

	if (n < 1) {
		errno = EINVAL;
		fail("request to allocate mask for invalid number");
		return NULL;
	}
	b = malloc(sizeof(*b));
	if (b) {
		b->size = n;
		b->maskp = calloc(words_for(n), sizeof(unsigned long));
		if (b->maskp)
			return b;
		free(b);
	}
	errno = ENOMEM;
	fail("Out of memory allocating bitmask");
	return NULL;
}

API void numa_bitmask_free(struct bitmask *b)
{
	if (!b)
		return;
	free(b->maskp);
	b->maskp = NULL;
	free(b);
}

API int numa_bitmask_equal(const struct bitmask *a, const struct bitmask *b)
{
	unsigned long n = a->size > b->size ? a->size : b->size;

	for (unsigned long i = 0; i < n; i++)
		if (numa_bitmask_isbitset(a, (unsigned int)i) !=
		    numa_bitmask_isbitset(b, (unsigned int)i))
			return 0;
	return 1;
}

/* Copy whole words, zero-filling or truncating to the receiver. */
static void copy_words(unsigned long *to, size_t tobytes,
		       const unsigned long *from, size_t frombytes)
{
	if (frombytes >= tobytes) {
		memcpy(to, from, tobytes);
	} else {
		memcpy(to, from, frombytes);
		memset((char *)to + frombytes, 0, tobytes - frombytes);
	}
}

API void copy_bitmask_to_nodemask(struct bitmask *b, nodemask_t *nm)
{
	copy_words(nm->n, sizeof(*nm), b->maskp, numa_bitmask_nbytes(b));
}

API void copy_nodemask_to_bitmask(nodemask_t *nm, struct bitmask *b)
{
	copy_words(b->maskp, numa_bitmask_nbytes(b), nm->n, sizeof(*nm));
}

API void copy_bitmask_to_bitmask(struct bitmask *from, struct bitmask *to)
{
	copy_words(to->maskp, numa_bitmask_nbytes(to), from->maskp,
		   numa_bitmask_nbytes(from));
}

API struct bitmask *numa_allocate_nodemask(void)
{
	return numa_bitmask_alloc(possible_nodes);
}

API struct bitmask *numa_allocate_cpumask(void)
{
	return numa_bitmask_alloc(possible_cpus);
}

static struct bitmask *dup_mask(const struct bitmask *src)
{
	struct bitmask *b = numa_bitmask_alloc((unsigned int)src->size);

	if (b)
		memcpy(b->maskp, src->maskp, numa_bitmask_nbytes(b));
	return b;
}

/* ---- Topology ---------------------------------------------------------- */
/* The topology, or NULL if there is none to be had (then one node 0). */
/* The library never changes errno when a call succeeds: numactl, for one,
 * tests errno after calls that return nothing.  Loading the topology reads
 * optional files, so these keep errno as they found it. */
static const struct mb_topo *topo(void)
{
	int err, e = errno;
	const struct mb_topo *t = mb_topo_get(&err);

	errno = e;
	return t;
}

static const char *sysfs_root(void)
{
	const struct mb_topo *t = topo();

	return t && t->root ? t->root : "/sys";
}

static bool node_exists(const struct mb_topo *t, int node)
{
	if (!t)
		return node == 0;
	return node >= 0 && node < t->node_limit && t->nodes[node].online;
}

static bool node_has_memory(int node)
{
	return node >= 0 && numa_bitmask_isbitset(memory_nodes,
						  (unsigned int)node);
}

/* The node whose memory serves a node: itself if it has memory, else the
 * nearest node that has (a memoryless node's CPUs allocate there). */
static int memory_node_for(int node)
{
	const struct mb_topo *t = topo();
	int m;

	if (!t || node_has_memory(node) || !node_exists(t, node))
		return node;
	m = mb_topo_nearest_memblk(t, node);
	return m >= 0 ? t->memblk_node[m] : node;
}

/* Bits of a "Name:\t0000ffff,00000001" line of /proc/self/status. */
static unsigned int status_mask(const char *status, const char *name,
				struct bitmask *out)
{
	const char *p = strstr(status, name);
	const char *end;
	unsigned int digits = 0, bit = 0;

	if (!p)
		return 0;
	p += strlen(name);
	while (*p == ' ' || *p == '\t')
		p++;
	for (end = p; isxdigit((unsigned char)*end) || *end == ','; end++)
		if (*end != ',')
			digits++;
	if (out) {
		for (const char *q = end; q > p; q--) {
			int c = q[-1], v;

			if (c == ',')
				continue;
			v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
			for (int i = 0; i < 4; i++, bit++)
				if (v & (1 << i))
					numa_bitmask_setbit(out, bit);
		}
	}
	return digits * 4;
}

static unsigned int round_words(unsigned int bits)
{
	return (unsigned int)(words_for(bits) * MB_BPL);
}

__attribute__((constructor)) static void numa_abi_init(void)
{
	const struct mb_topo *t;
	char *status = NULL;
	unsigned int bits;
	int limit = 1, saved_errno = errno;

	pagesize = (int)sysconf(_SC_PAGESIZE);
	t = topo();
	if (mb_read_file_alloc(&status, "/proc/self/status") < 0)
		status = NULL;
	if (t)
		limit = t->node_limit;
	if (status && (bits = status_mask(status, "Mems_allowed:", NULL)))
		possible_nodes = bits;
	if (possible_nodes < (unsigned)limit)
		possible_nodes = round_words((unsigned)limit);
	/* NR_CPUS, "the kernel's cpu mask" of numa(3): kernel_max + 1;
	 * else the width of Cpus_allowed (nr_cpu_ids). */
	{
		char kmax[32];
		uint64_t v;
		int len = mb_read_file(t && t->root ? t->root : "/sys", kmax,
				       sizeof(kmax), "devices/system/cpu/kernel_max");

		if (len > 0 && !mb_parse_u64(kmax, (size_t)len, MB_MAX_CPUS - 1, &v))
			possible_cpus = (unsigned int)v + 1;
		else if (status && (bits = status_mask(status, "Cpus_allowed:",
						      NULL)))
			possible_cpus = bits;
	}
	if (t && possible_cpus < (unsigned)t->cpu_limit)
		possible_cpus = (unsigned)t->cpu_limit;

	numa_all_nodes_ptr = numa_allocate_nodemask();
	numa_nodes_ptr = numa_allocate_nodemask();
	numa_no_nodes_ptr = numa_allocate_nodemask();
	memory_nodes = numa_allocate_nodemask();
	numa_all_cpus_ptr = numa_allocate_cpumask();
	if (!numa_all_nodes_ptr || !numa_nodes_ptr || !numa_no_nodes_ptr ||
	    !memory_nodes || !numa_all_cpus_ptr)
		goto out;

	max_node = 0;
	for (int n = 0; n < limit; n++) {
		if (!node_exists(t, n))
			continue;
		numa_bitmask_setbit(numa_nodes_ptr, (unsigned)n);
		if (!t || t->nodes[n].memblk >= 0)
			numa_bitmask_setbit(memory_nodes, (unsigned)n);
		max_node = n;
	}
	/* The nodes this task may allocate from: Mems_allowed (all memory
	 * nodes of a captured tree under MEMBIND_SYSFS_ROOT). */
	if (t && t->fake_root) {
		copy_bitmask_to_bitmask(memory_nodes, numa_all_nodes_ptr);
	} else if (!status || !status_mask(status, "Mems_allowed:",
					   numa_all_nodes_ptr)) {
		copy_bitmask_to_bitmask(memory_nodes, numa_all_nodes_ptr);
	}
	/* The CPUs it may run on: Cpus_allowed (every CPU of a tree). */
	if (t && t->fake_root) {
		for (int c = 0; c < t->cpu_limit; c++)
			numa_bitmask_setbit(numa_all_cpus_ptr, (unsigned)c);
	} else if (!status || !status_mask(status, "Cpus_allowed:",
					   numa_all_cpus_ptr)) {
		if (syscall(SYS_sched_getaffinity, 0,
			    numa_bitmask_nbytes(numa_all_cpus_ptr),
			    numa_all_cpus_ptr->maskp) < 0)
			numa_bitmask_setall(numa_all_cpus_ptr);
	}
	copy_bitmask_to_nodemask(numa_all_nodes_ptr, &numa_all_nodes);
	memset(&numa_no_nodes, 0, sizeof(numa_no_nodes));
out:
	free(status);
	errno = saved_errno;
}

API int numa_available(void)
{
	if (syscall(SYS_get_mempolicy, NULL, NULL, 0UL, NULL, 0UL) < 0 &&
	    (errno == ENOSYS || errno == EPERM))
		return -1;
	return 0;
}

API int numa_max_node(void)
{
	return max_node;
}

API int numa_num_possible_nodes(void)
{
	return (int)possible_nodes;
}

API int numa_max_possible_node(void)
{
	return (int)possible_nodes - 1;
}

API int numa_num_possible_cpus(void)
{
	return (int)possible_cpus;
}

/* "the number of memory nodes in the system" */
API int numa_num_configured_nodes(void)
{
	int n = (int)numa_bitmask_weight(memory_nodes);

	return n > 0 ? n : 1;
}

/* CPUs the system has, online or not: the cpuN directories. */
API int numa_num_configured_cpus(void)
{
	static int cached = -1;
	char path[4096];
	struct dirent *de;
	int n = 0, e = errno;
	DIR *d;

	if (cached > 0)
		return cached;
	snprintf(path, sizeof(path), "%s/devices/system/cpu", sysfs_root());
	d = opendir(path);
	if (d) {
		while ((de = readdir(d))) {
			char *end;

			if (strncmp(de->d_name, "cpu", 3) ||
			    !isdigit((unsigned char)de->d_name[3]))
				continue;
			strtoul(de->d_name + 3, &end, 10);
			if (!*end)
				n++;
		}
		closedir(d);
	}
	if (n == 0 && topo())
		n = topo()->cpu_limit; /* a captured tree without cpuN */
	if (n == 0)
		n = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (n <= 0)
		n = 1;
	errno = e;
	__atomic_store_n(&cached, n, __ATOMIC_RELAXED);
	return n;
}

API int numa_num_task_cpus(void)
{
	return (int)numa_bitmask_weight(numa_all_cpus_ptr);
}

API int numa_num_thread_cpus(void)
{
	return numa_num_task_cpus();
}

API int numa_num_task_nodes(void)
{
	return (int)numa_bitmask_weight(numa_all_nodes_ptr);
}

API int numa_num_thread_nodes(void)
{
	return numa_num_task_nodes();
}

API int numa_pagesize(void)
{
	return pagesize;
}

API long long numa_node_size64(int node, long long *freep)
{
	char buf[MB_FILE_MAX];
	uint64_t total, freeb;
	int len;

	if (freep)
		*freep = -1;
	if (node < 0 || node >= MB_MAX_NODES)
		return -1;
	len = mb_read_file(sysfs_root(), buf, sizeof(buf),
			   "devices/system/node/node%d/meminfo", node);
	if (len < 0 || mb_parse_meminfo(buf, (size_t)len, &total, &freeb))
		return -1;
	if (freep)
		*freep = (long long)freeb;
	return (long long)total;
}

API long numa_node_size(int node, long *freep)
{
	long long f, s = numa_node_size64(node, freep ? &f : NULL);

	if (freep)
		*freep = (long)f;
	return (long)s;
}

API int numa_distance(int a, int b)
{
	const struct mb_topo *t = topo();
	int d;

	if (!t)
		return a == 0 && b == 0 ? 10 : 0;
	if (!node_exists(t, a) || !node_exists(t, b))
		return 0;
	d = mb_topo_distance(t, a, b);
	return d > 0 ? d : 0;
}

/* CPUs of each node, from nodeN/cpulist: all that numa_node_to_cpus() and
 * numa_node_of_cpu() need, loaded once (again after
 * numa_node_to_cpu_update()), without the rest of libmembind's lazily
 * loaded topology (tiers, HMAT attributes, weights). */
struct cpumap {
	const struct mb_topo *t;
	size_t words;           /* per node */
	unsigned long *cpus;    /* node_limit x words */
	int *cpu_node;          /* cpu_limit entries, -1: none */
};
static struct cpumap *cpumap_cur;
static pthread_mutex_t cpumap_lock = PTHREAD_MUTEX_INITIALIZER;

static struct cpumap *cpumap_load(const struct mb_topo *t)
{
	struct cpumap *m = calloc(1, sizeof(*m));
	char buf[MB_FILE_MAX];

	if (!m)
		return NULL;
	m->t = t;
	m->words = words_for((unsigned long)t->cpu_limit);
	m->cpus = calloc((size_t)t->node_limit * m->words, sizeof(long));
	m->cpu_node = malloc((size_t)t->cpu_limit * sizeof(int));
	if (!m->cpus || !m->cpu_node) {
		free(m->cpus);
		free(m->cpu_node);
		free(m);
		return NULL;
	}
	for (int c = 0; c < t->cpu_limit; c++)
		m->cpu_node[c] = -1;
	for (int n = 0; n < t->node_limit; n++) {
		unsigned long *cpus = m->cpus + (size_t)n * m->words;
		int len;

		if (!t->nodes[n].online)
			continue;
		len = mb_read_file(t->root ? t->root : "/sys", buf, sizeof(buf),
				   "devices/system/node/node%d/cpulist", n);
		if (len < 0 || mb_parse_list(buf, (size_t)len, cpus,
					     (unsigned)t->cpu_limit, NULL) < 0) {
			memset(cpus, 0, m->words * sizeof(long));
			continue;
		}
		for (int c = 0; c < t->cpu_limit; c++)
			if (mb_test(cpus, (unsigned)c) && m->cpu_node[c] < 0)
				m->cpu_node[c] = n;
	}
	return m;
}

/* The map for the current topology, or NULL (then: one node 0). */
static const struct cpumap *cpumap(void)
{
	const struct mb_topo *t = topo();
	struct cpumap *m = __atomic_load_n(&cpumap_cur, __ATOMIC_ACQUIRE);
	int e = errno;

	if (!t)
		return NULL;
	if (m && m->t == t)
		return m;
	pthread_mutex_lock(&cpumap_lock);
	m = cpumap_cur;
	if (!m || m->t != t) {
		/* an older map stays allocated: another thread may read it */
		struct cpumap *n = cpumap_load(t);

		if (n) {
			__atomic_store_n(&cpumap_cur, n, __ATOMIC_RELEASE);
			m = n;
		}
	}
	pthread_mutex_unlock(&cpumap_lock);
	errno = e;
	return m && m->t == t ? m : NULL;
}

API int numa_node_of_cpu(int cpu)
{
	const struct cpumap *m = cpumap();

	if (!m) {
		if (cpu >= 0 && cpu < numa_num_configured_cpus())
			return 0;
	} else if (cpu >= 0 && cpu < m->t->cpu_limit && m->cpu_node[cpu] >= 0) {
		return m->cpu_node[cpu];
	}
	errno = EINVAL;
	return -1;
}

/* The CPUs of a node into b: 0, or -1 with errno (EINVAL: no such node,
 * ERANGE: b too short for its CPUs). */
static int node_cpus_into(int node, struct bitmask *b)
{
	const struct cpumap *m = cpumap();
	const unsigned long *cpus;
	unsigned limit;

	if (!m) {
		if (node != 0) {
			errno = EINVAL;
			return -1;
		}
		numa_bitmask_clearall(b);
		for (int c = 0; c < numa_num_configured_cpus(); c++)
			numa_bitmask_setbit(b, (unsigned)c);
		return 0;
	}
	if (!node_exists(m->t, node)) {
		errno = EINVAL;
		return -1;
	}
	cpus = m->cpus + (size_t)node * m->words;
	limit = (unsigned)m->t->cpu_limit;
	if (mb_last(cpus, limit) > b->size) {
		errno = ERANGE;
		return -1;
	}
	numa_bitmask_clearall(b);
	for (unsigned c = mb_next(cpus, limit, 0); c < limit;
	     c = mb_next(cpus, limit, c + 1))
		mb_set(b->maskp, c);
	return 0;
}

API int numa_node_to_cpus_v2(int node, struct bitmask *b)
{
	return node_cpus_into(node, b);
}
SYMVER(numa_node_to_cpus_v2, numa_node_to_cpus@@libnuma_1.2);

API int numa_node_to_cpus_v1(int node, unsigned long *buf, int buflen)
{
	struct bitmask b = { (unsigned long)buflen * 8, buf };

	return buflen > 0 ? node_cpus_into(node, &b) : (errno = ERANGE, -1);
}
SYMVER(numa_node_to_cpus_v1, numa_node_to_cpus@libnuma_1.1);

API void numa_node_to_cpu_update(void)
{
	int e = errno;

	/* a new topology, and with it a new CPU map on next use */
	membind_topology_refresh();
	errno = e;
}

/* ---- Parsing ------------------------------------------------------------ */
static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A cpumap-style hex mask ("0000000f,ffffffff\n"), lowest bits last. */
static int parse_bitmap(const char *line, struct bitmask *b)
{
	const char *end = line + strlen(line);
	unsigned long bit = 0;

	while (end > line && isspace((unsigned char)end[-1]))
		end--;
	if (end == line)
		return -1;
	numa_bitmask_clearall(b);
	for (const char *p = end; p > line; p--) {
		int v = hexval(p[-1]);

		if (p[-1] == ',')
			continue;
		if (v < 0)
			return -1;
		for (int i = 0; i < 4; i++, bit++) {
			if (!(v & (1 << i)))
				continue;
			if (bit >= b->size)
				return -1;
			mb_set(b->maskp, (unsigned)bit);
		}
	}
	return 0;
}

API int numa_parse_bitmap_v2(char *line, struct bitmask *b)
{
	return parse_bitmap(line, b);
}
SYMVER(numa_parse_bitmap_v2, numa_parse_bitmap@@libnuma_1.2);

API int numa_parse_bitmap_v1(char *line, unsigned long *mask, int ncpus)
{
	struct bitmask b = { (unsigned long)(ncpus > 0 ? ncpus : 0), mask };

	return ncpus > 0 ? parse_bitmap(line, &b) : -1;
}
SYMVER(numa_parse_bitmap_v1, numa_parse_bitmap@libnuma_1.1);

/* "1-5,7,10", "!4-5", "+0-3", "all": ids checked against valid (may use),
 * "all" and "!" meaning allowed, "+" counting within allowed. */
static struct bitmask *parse_list(const char *s, bool cpus,
				  const struct bitmask *valid,
				  const struct bitmask *allowed, int limit)
{
	struct bitmask *b = cpus ? numa_allocate_cpumask()
				 : numa_allocate_nodemask();
	bool invert = false, relative = false;
	const char *p = s;
	int e = errno;

	if (!b)
		return NULL;
	if (!s)
		goto bad;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '!') {
		invert = true;
		p++;
	}
	if (*p == '+') {
		relative = true;
		p++;
	}
	if (!strcmp(p, "all")) {
		copy_bitmask_to_bitmask((struct bitmask *)allowed, b);
		if (!invert)
			return b;
		numa_bitmask_clearall(b);
		return b;
	}
	if (!*p)
		return b; /* empty: no nodes */
	errno = 0;
	for (;;) {
		unsigned long lo, hi;
		char *end;

		if (!isdigit((unsigned char)*p))
			goto bad;
		lo = strtoul(p, &end, 10);
		hi = lo;
		if (errno)
			goto bad;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				goto bad;
			hi = strtoul(p, &end, 10);
			if (errno || hi < lo)
				goto bad;
			p = end;
		}
		for (unsigned long i = lo; i <= hi; i++) {
			unsigned long id = i;

			if (relative) {
				/* the i-th id of the allowed set */
				unsigned long k = 0, j;

				for (j = 0; j < allowed->size; j++)
					if (numa_bitmask_isbitset(allowed,
								  (unsigned)j) &&
					    k++ == i)
						break;
				if (j >= allowed->size)
					goto bad_id;
				id = j;
			}
			if (id >= (unsigned long)limit ||
			    !numa_bitmask_isbitset(valid, (unsigned)id))
				goto bad_id;
			numa_bitmask_setbit(b, (unsigned)id);
		}
		if (*p == ',') {
			p++;
			continue;
		}
		while (isspace((unsigned char)*p))
			p++;
		if (*p)
			goto bad;
		break;
	}
	if (invert) {
		for (unsigned long i = 0; i < b->size; i++) {
			if (numa_bitmask_isbitset(b, (unsigned)i) ||
			    !numa_bitmask_isbitset(allowed, (unsigned)i))
				numa_bitmask_clearbit(b, (unsigned)i);
			else
				numa_bitmask_setbit(b, (unsigned)i);
		}
	}
	errno = e;
	return b;
bad_id:
	numa_warn(cpus ? W_CPUPARSE : W_NODEPARSE, cpus ?
		  "cpu argument %s is out of range\n" :
		  "node argument %s is out of range\n", s);
	goto out;
bad:
	numa_warn(cpus ? W_CPUPARSE : W_NODEPARSE, "unparseable %s string: %s",
		  cpus ? "cpu" : "node", s ? s : "(null)");
out:
	numa_bitmask_free(b);
	return NULL;
}

/* Nodes a list may name: those with memory this task may use and every
 * node without memory (a CPU-only node is a fine --cpunodebind). */
static struct bitmask *nodes_nameable(bool all)
{
	struct bitmask *v = dup_mask(numa_nodes_ptr);

	if (!v || all)
		return v;
	for (unsigned i = 0; i < v->size; i++)
		if (node_has_memory((int)i) &&
		    !numa_bitmask_isbitset(numa_all_nodes_ptr, i))
			numa_bitmask_clearbit(v, i);
	return v;
}

API struct bitmask *numa_parse_nodestring(const char *s)
{
	struct bitmask *v = nodes_nameable(false), *b;

	if (!v)
		return NULL;
	b = parse_list(s, false, v, numa_all_nodes_ptr, max_node + 1);
	numa_bitmask_free(v);
	return b;
}

API struct bitmask *numa_parse_nodestring_all(const char *s)
{
	struct bitmask *v = nodes_nameable(true), *b;

	if (!v)
		return NULL;
	b = parse_list(s, false, v, numa_nodes_ptr, max_node + 1);
	numa_bitmask_free(v);
	return b;
}

API struct bitmask *numa_parse_cpustring(const char *s)
{
	return parse_list(s, true, numa_all_cpus_ptr, numa_all_cpus_ptr,
			  (int)possible_cpus);
}

API struct bitmask *numa_parse_cpustring_all(const char *s)
{
	struct bitmask *all = numa_allocate_cpumask(), *b;
	int n = numa_num_configured_cpus();

	if (!all)
		return NULL;
	for (int c = 0; c < n; c++)
		numa_bitmask_setbit(all, (unsigned)c);
	b = parse_list(s, true, all, all, (int)possible_cpus);
	numa_bitmask_free(all);
	return b;
}

/* ---- Task memory policy (the calling thread, as the kernel's) -------- */

static int setpol(int mode, const struct bitmask *b)
{
	if (syscall(SYS_set_mempolicy, mode, b ? b->maskp : NULL,
		    maxnode_of(b)) < 0) {
		fail("set_mempolicy");
		return -1;
	}
	return 0;
}

/* The calling thread's policy; mask may be NULL. */
static int getpol(int *mode, struct bitmask *mask)
{
	if (syscall(SYS_get_mempolicy, mode, mask ? mask->maskp : NULL,
		    maxnode_of(mask), NULL, 0UL) < 0) {
		fail("get_mempolicy");
		return -1;
	}
	return 0;
}

API void numa_set_localalloc(void);

static struct bitmask *one_node(int node)
{
	struct bitmask *b = numa_allocate_nodemask();

	if (b && node >= 0)
		numa_bitmask_setbit(b, (unsigned)node);
	return b;
}

static void set_interleave_v2(struct bitmask *b)
{
	if (!b || numa_bitmask_weight(b) == 0)
		setpol(MB_MPOL_DEFAULT, NULL);
	else
		setpol(MB_MPOL_INTERLEAVE, b);
}

API void numa_set_interleave_mask_v2(struct bitmask *b)
{
	set_interleave_v2(b);
}
SYMVER(numa_set_interleave_mask_v2, numa_set_interleave_mask@@libnuma_1.2);

API void numa_set_interleave_mask_v1(nodemask_t *nm)
{
	struct bitmask b = { sizeof(*nm) * 8, nm->n };

	set_interleave_v2(&b);
}
SYMVER(numa_set_interleave_mask_v1, numa_set_interleave_mask@libnuma_1.1);

static struct bitmask *policy_mask_if(int want1, int want2, int want3)
{
	struct bitmask *b = numa_allocate_nodemask();
	int mode = 0;

	if (!b)
		return NULL;
	if (getpol(&mode, b) < 0 ||
	    (mode != want1 && mode != want2 && mode != want3))
		numa_bitmask_clearall(b);
	return b;
}

API struct bitmask *numa_get_interleave_mask_v2(void)
{
	return policy_mask_if(MB_MPOL_INTERLEAVE, -1, -1);
}
SYMVER(numa_get_interleave_mask_v2, numa_get_interleave_mask@@libnuma_1.2);

static nodemask_t to_nodemask(struct bitmask *b)
{
	nodemask_t nm;

	memset(&nm, 0, sizeof(nm));
	if (b) {
		copy_bitmask_to_nodemask(b, &nm);
		numa_bitmask_free(b);
	}
	return nm;
}

API nodemask_t numa_get_interleave_mask_v1(void)
{
	return to_nodemask(numa_get_interleave_mask_v2());
}
SYMVER(numa_get_interleave_mask_v1, numa_get_interleave_mask@libnuma_1.1);

API int numa_get_interleave_node(void)
{
	int nd = 0;

	if (syscall(SYS_get_mempolicy, &nd, NULL, 0UL, NULL, MPOL_F_NODE) < 0)
		return 0;
	return nd;
}

API void numa_set_preferred(int node)
{
	struct bitmask *b;

	if (node < 0) {
		/* -1: local allocation */
		numa_set_localalloc();
		return;
	}
	b = one_node(memory_node_for(node));
	if (b) {
		setpol(MB_MPOL_PREFERRED, b);
		numa_bitmask_free(b);
	}
}

API int numa_has_preferred_many(void)
{
	static int known = -1;
	struct bitmask *b;
	void *p;
	int has, e = errno;

	has = __atomic_load_n(&known, __ATOMIC_RELAXED);
	if (has >= 0)
		return has;
	/* MPOL_PREFERRED_MANY came with 5.15: try it on a page of a
	 * throwaway mapping, leaving the thread's own policy alone. */
	p = mmap(NULL, (size_t)pagesize, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	b = dup_mask(numa_all_nodes_ptr);
	has = b && syscall(SYS_mbind, p, (unsigned long)pagesize,
			   MB_MPOL_PREFERRED_MANY, b->maskp, maxnode_of(b),
			   0UL) == 0;
	numa_bitmask_free(b);
	munmap(p, (size_t)pagesize);
	errno = e;
	__atomic_store_n(&known, has, __ATOMIC_RELAXED);
	return has;
}

API void numa_set_preferred_many(struct bitmask *b)
{
	if (!numa_has_preferred_many()) {
		/* Before 5.15: the first node of the set, as documented. */
		unsigned first = mb_next(b->maskp, (unsigned)b->size, 0);

		numa_warn(W_PREFMANY, "Unable to handle MPOL_PREFERRED_MANY "
			  "policy, falling back to MPOL_PREFERRED");
		numa_set_preferred(first < b->size ? (int)first : -1);
		return;
	}
	setpol(MB_MPOL_PREFERRED_MANY, b);
}

API struct bitmask *numa_preferred_many(void)
{
	return policy_mask_if(MB_MPOL_PREFERRED, MB_MPOL_PREFERRED_MANY,
			      MB_MPOL_BIND);
}

/* The node of the CPU we run on, or the nearest with memory. */
static int local_memory_node(void)
{
	int cpu = sched_getcpu();
	int node = cpu >= 0 ? numa_node_of_cpu(cpu) : -1;

	if (node < 0) {
		unsigned n = mb_next(numa_all_nodes_ptr->maskp,
				     (unsigned)numa_all_nodes_ptr->size, 0);

		return n < numa_all_nodes_ptr->size ? (int)n : 0;
	}
	return memory_node_for(node);
}

/* "the node on which the kernel preferably allocates memory" */
API int numa_preferred(void)
{
	struct bitmask *b = numa_allocate_nodemask();
	int mode = 0, node = -1;

	if (b && getpol(&mode, b) == 0 &&
	    (mode == MB_MPOL_PREFERRED || mode == MB_MPOL_PREFERRED_MANY ||
	     mode == MB_MPOL_BIND)) {
		unsigned n = mb_next(b->maskp, (unsigned)b->size, 0);

		if (n < b->size)
			node = (int)n;
	}
	numa_bitmask_free(b);
	return node >= 0 ? node : local_memory_node();
}

API void numa_set_localalloc(void)
{
	int e = errno;

	/* MPOL_LOCAL (3.8); MPOL_DEFAULT, the same thing, before it */
	if (syscall(SYS_set_mempolicy, MB_MPOL_LOCAL, NULL, 0UL) == 0 ||
	    setpol(MB_MPOL_DEFAULT, NULL) == 0)
		errno = e;
}

static void set_membind_v2(struct bitmask *b)
{
	setpol(MB_MPOL_BIND, b);
}

API void numa_set_membind_v2(struct bitmask *b)
{
	set_membind_v2(b);
}
SYMVER(numa_set_membind_v2, numa_set_membind@@libnuma_1.2);

API void numa_set_membind_v1(const nodemask_t *nm)
{
	struct bitmask b = { sizeof(*nm) * 8, (unsigned long *)nm->n };

	set_membind_v2(&b);
}
SYMVER(numa_set_membind_v1, numa_set_membind@libnuma_1.1);

API void numa_set_membind_balancing(struct bitmask *b)
{
	/* MPOL_F_NUMA_BALANCING with MPOL_BIND: 5.15; plain MPOL_BIND where
	 * the kernel lacks it ("if the feature is supported"). */
	int e = errno;

	if (syscall(SYS_set_mempolicy, MB_MPOL_BIND | MB_MPOL_F_NUMA_BALANCING,
		    b->maskp, maxnode_of(b)) == 0)
		return;
	if (errno != EINVAL)
		fail("set_mempolicy");
	else if (setpol(MB_MPOL_BIND, b) == 0)
		errno = e;
}

API struct bitmask *numa_get_membind_v2(void)
{
	struct bitmask *b = numa_allocate_nodemask();
	int mode = 0;

	if (!b)
		return NULL;
	if (getpol(&mode, b) == 0 && mode == MB_MPOL_BIND)
		return b;
	copy_bitmask_to_bitmask(numa_all_nodes_ptr, b);
	return b;
}
SYMVER(numa_get_membind_v2, numa_get_membind@@libnuma_1.2);

API nodemask_t numa_get_membind_v1(void)
{
	return to_nodemask(numa_get_membind_v2());
}
SYMVER(numa_get_membind_v1, numa_get_membind@libnuma_1.1);

API struct bitmask *numa_get_mems_allowed(void)
{
	struct bitmask *b = numa_allocate_nodemask();

	if (!b)
		return NULL;
	if (syscall(SYS_get_mempolicy, NULL, b->maskp, maxnode_of(b), NULL,
		    MPOL_F_MEMS_ALLOWED) < 0) {
		fail("get_mempolicy");
		copy_bitmask_to_bitmask(numa_all_nodes_ptr, b);
	}
	return b;
}

API void numa_set_bind_policy(int strict)
{
	__atomic_store_n(&bind_mode, strict ? MB_MPOL_BIND : MB_MPOL_PREFERRED,
			 __ATOMIC_RELAXED);
}

API void numa_set_strict(int flag)
{
	__atomic_store_n(&mbind_flags, flag ? MB_MPOL_MF_STRICT : 0,
			 __ATOMIC_RELAXED);
}

/* ---- Memory ranges ---------------------------------------------------------- */
static int range_policy(void *mem, size_t size, int mode,
			const struct bitmask *b)
{
	if (syscall(SYS_mbind, mem, (unsigned long)size, mode,
		    b ? b->maskp : NULL, maxnode_of(b),
		    (unsigned long)__atomic_load_n(&mbind_flags,
						   __ATOMIC_RELAXED)) < 0) {
		fail("mbind");
		return -1;
	}
	return 0;
}

/* MPOL_PREFERRED of one node where a bind to it is not strict; a
 * memoryless node stands for the nearest node with memory. */
static int to_node(void *mem, size_t size, int node)
{
	struct bitmask *b = one_node(memory_node_for(node));
	int ret;

	if (!b)
		return -1;
	ret = range_policy(mem, size,
			   __atomic_load_n(&bind_mode, __ATOMIC_RELAXED), b);
	numa_bitmask_free(b);
	return ret;
}

static int to_local(void *mem, size_t size)
{
	int e = errno;

	if (syscall(SYS_mbind, mem, (unsigned long)size, MB_MPOL_LOCAL, NULL,
		    0UL, 0UL) == 0)
		return 0;
	if (range_policy(mem, size, MB_MPOL_PREFERRED, NULL) < 0)
		return -1;
	errno = e;
	return 0;
}

API void numa_interleave_memory_v2(void *mem, size_t size, struct bitmask *b)
{
	range_policy(mem, size, MB_MPOL_INTERLEAVE, b);
}
SYMVER(numa_interleave_memory_v2, numa_interleave_memory@@libnuma_1.2);

API void numa_interleave_memory_v1(void *mem, size_t size,
				   const nodemask_t *nm)
{
	struct bitmask b = { sizeof(*nm) * 8, (unsigned long *)nm->n };

	range_policy(mem, size, MB_MPOL_INTERLEAVE, &b);
}
SYMVER(numa_interleave_memory_v1, numa_interleave_memory@libnuma_1.1);

API void numa_tonode_memory(void *mem, size_t size, int node)
{
	to_node(mem, size, node);
}

API void numa_tonodemask_memory_v2(void *mem, size_t size, struct bitmask *b)
{
	range_policy(mem, size, __atomic_load_n(&bind_mode, __ATOMIC_RELAXED),
		     b);
}
SYMVER(numa_tonodemask_memory_v2, numa_tonodemask_memory@@libnuma_1.2);

API void numa_tonodemask_memory_v1(void *mem, size_t size,
				   const nodemask_t *nm)
{
	struct bitmask b = { sizeof(*nm) * 8, (unsigned long *)nm->n };

	numa_tonodemask_memory_v2(mem, size, &b);
}
SYMVER(numa_tonodemask_memory_v1, numa_tonodemask_memory@libnuma_1.1);

API void numa_setlocal_memory(void *mem, size_t size)
{
	to_local(mem, size);
}

API void numa_police_memory(void *mem, size_t size)
{
	volatile char *p = mem;

	for (size_t off = 0; off < size; off += (size_t)pagesize)
		p[off] = p[off];
}

/* ---- Allocation --------------------------------------------------------- */
static void *map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Undo a mapping whose policy could not be set; NULL with errno kept. */
static void *unmap_fail(void *p, size_t size)
{
	int e = errno;

	munmap(p, size);
	errno = e;
	return NULL;
}

API void *numa_alloc(size_t size)
{
	return map(size);
}

API void *numa_alloc_onnode(size_t size, int node)
{
	void *p = map(size);

	if (p && to_node(p, size, node) < 0)
		return unmap_fail(p, size);
	return p;
}

API void *numa_alloc_local(size_t size)
{
	void *p = map(size);

	if (p && to_local(p, size) < 0)
		return unmap_fail(p, size);
	return p;
}

/* mode: MPOL_INTERLEAVE or MPOL_WEIGHTED_INTERLEAVE. */
static void *alloc_mode(size_t size, int mode, const struct bitmask *b)
{
	void *p = map(size);

	if (p && range_policy(p, size, mode, b) < 0)
		return unmap_fail(p, size);
	return p;
}

static void *alloc_interleaved(size_t size, const struct bitmask *b)
{
	return alloc_mode(size, MB_MPOL_INTERLEAVE, b);
}

API void *numa_alloc_interleaved(size_t size)
{
	return alloc_interleaved(size, numa_all_nodes_ptr);
}

API void *numa_alloc_interleaved_subset_v2(size_t size, struct bitmask *b)
{
	return alloc_interleaved(size, b);
}
SYMVER(numa_alloc_interleaved_subset_v2,
       numa_alloc_interleaved_subset@@libnuma_1.2);

API void *numa_alloc_interleaved_subset_v1(size_t size, const nodemask_t *nm)
{
	struct bitmask b = { sizeof(*nm) * 8, (unsigned long *)nm->n };

	return alloc_interleaved(size, &b);
}
SYMVER(numa_alloc_interleaved_subset_v1,
       numa_alloc_interleaved_subset@libnuma_1.1);

API void *numa_realloc(void *old, size_t old_size, size_t new_size)
{
	void *p = mremap(old, old_size, new_size, MREMAP_MAYMOVE);

	return p == MAP_FAILED ? NULL : p;
}

API void numa_free(void *mem, size_t size)
{
	munmap(mem, size);
}

/* ---- CPU affinity ------------------------------------------------------------ */
API int numa_sched_getaffinity_v2(pid_t pid, struct bitmask *b)
{
	/* The system call's own result: the bytes it wrote. */
	return (int)syscall(SYS_sched_getaffinity, pid,
			    numa_bitmask_nbytes(b), b->maskp);
}
SYMVER(numa_sched_getaffinity_v2, numa_sched_getaffinity@@libnuma_1.2);

API int numa_sched_setaffinity_v2(pid_t pid, struct bitmask *b)
{
	return (int)syscall(SYS_sched_setaffinity, pid,
			    numa_bitmask_nbytes(b), b->maskp);
}
SYMVER(numa_sched_setaffinity_v2, numa_sched_setaffinity@@libnuma_1.2);

API int numa_sched_getaffinity_v1(pid_t pid, unsigned len, unsigned long *m)
{
	return (int)syscall(SYS_sched_getaffinity, pid, len, m);
}
SYMVER(numa_sched_getaffinity_v1, numa_sched_getaffinity@libnuma_1.1);

API int numa_sched_setaffinity_v1(pid_t pid, unsigned len, unsigned long *m)
{
	return (int)syscall(SYS_sched_setaffinity, pid, len, m);
}
SYMVER(numa_sched_setaffinity_v1, numa_sched_setaffinity@libnuma_1.1);

/* Run on the CPUs of the nodes in b.  A mask holding every node of
 * numa_all_nodes_ptr means every CPU (numa(3): passing numa_all_nodes
 * lets the task run everywhere again, memoryless nodes' CPUs included). */
static int run_on_nodes(const struct bitmask *b)
{
	struct bitmask *cpus = numa_allocate_cpumask(), *one = NULL;
	bool all = true;
	int ret = -1;

	if (!cpus)
		return -1;
	for (unsigned i = 0; i < numa_all_nodes_ptr->size; i++)
		if (numa_bitmask_isbitset(numa_all_nodes_ptr, i) &&
		    !numa_bitmask_isbitset(b, i))
			all = false;
	if (all) {
		numa_bitmask_setall(cpus);
	} else {
		one = numa_allocate_cpumask();
		if (!one)
			goto out;
		for (unsigned i = 0; i < b->size; i++) {
			if (!numa_bitmask_isbitset(b, i))
				continue;
			if (node_cpus_into((int)i, one) < 0) {
				if (errno == ERANGE)
					goto out;
				errno = EINVAL;
				goto out;
			}
			for (unsigned w = 0; w < words_for(cpus->size); w++)
				cpus->maskp[w] |= one->maskp[w];
		}
		if (numa_bitmask_weight(cpus) == 0) {
			errno = EINVAL; /* only CPU-less nodes, or none */
			goto out;
		}
	}
	ret = numa_sched_setaffinity_v2(0, cpus);
	if (ret > 0)
		ret = 0;
out:
	numa_bitmask_free(one);
	numa_bitmask_free(cpus);
	return ret < 0 ? -1 : 0;
}

API int numa_run_on_node_mask_v2(struct bitmask *b)
{
	return run_on_nodes(b);
}
SYMVER(numa_run_on_node_mask_v2, numa_run_on_node_mask@@libnuma_1.2);

API int numa_run_on_node_mask_v1(const nodemask_t *nm)
{
	struct bitmask b = { sizeof(*nm) * 8, (unsigned long *)nm->n };

	return run_on_nodes(&b);
}
SYMVER(numa_run_on_node_mask_v1, numa_run_on_node_mask@libnuma_1.1);

API int numa_run_on_node_mask_all(struct bitmask *b)
{
	return run_on_nodes(b);
}

API int numa_run_on_node(int node)
{
	struct bitmask *b;
	int ret;

	if (node == -1) {
		b = numa_allocate_cpumask();
		if (!b)
			return -1;
		numa_bitmask_setall(b);
		ret = numa_sched_setaffinity_v2(0, b);
		numa_bitmask_free(b);
		return ret < 0 ? -1 : 0;
	}
	if (!node_exists(topo(), node)) {
		errno = EINVAL;
		return -1;
	}
	b = one_node(node);
	if (!b)
		return -1;
	/* Not run_on_nodes(): one node is never "all nodes" by accident. */
	{
		struct bitmask *cpus = numa_allocate_cpumask();

		ret = -1;
		if (cpus && node_cpus_into(node, cpus) == 0) {
			if (numa_bitmask_weight(cpus) == 0)
				errno = EINVAL;
			else
				ret = numa_sched_setaffinity_v2(0, cpus) < 0
					      ? -1 : 0;
		}
		numa_bitmask_free(cpus);
	}
	numa_bitmask_free(b);
	return ret;
}

/* Nodes with a CPU this task may run on (memoryless nodes included). */
API struct bitmask *numa_get_run_node_mask_v2(void)
{
	struct bitmask *nodes = numa_allocate_nodemask();
	struct bitmask *aff = numa_allocate_cpumask();
	struct bitmask *cpus = numa_allocate_cpumask();

	if (!nodes || !aff || !cpus)
		goto out;
	if (numa_sched_getaffinity_v2(0, aff) < 0) {
		fail("sched_getaffinity");
		goto out;
	}
	for (int n = 0; n <= max_node; n++) {
		if (!numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)n) ||
		    node_cpus_into(n, cpus) < 0)
			continue;
		for (unsigned w = 0; w < words_for(cpus->size); w++)
			if (cpus->maskp[w] & aff->maskp[w]) {
				numa_bitmask_setbit(nodes, (unsigned)n);
				break;
			}
	}
out:
	numa_bitmask_free(aff);
	numa_bitmask_free(cpus);
	return nodes;
}
SYMVER(numa_get_run_node_mask_v2, numa_get_run_node_mask@@libnuma_1.2);

API nodemask_t numa_get_run_node_mask_v1(void)
{
	return to_nodemask(numa_get_run_node_mask_v2());
}
SYMVER(numa_get_run_node_mask_v1, numa_get_run_node_mask@libnuma_1.1);

static void bind_v2(struct bitmask *b)
{
	if (run_on_nodes(b) < 0)
		fail("sched_setaffinity");
	set_membind_v2(b);
}

API void numa_bind_v2(struct bitmask *b)
{
	bind_v2(b);
}
SYMVER(numa_bind_v2, numa_bind@@libnuma_1.2);

API void numa_bind_v1(const nodemask_t *nm)
{
	struct bitmask b = { sizeof(*nm) * 8, (unsigned long *)nm->n };

	bind_v2(&b);
}
SYMVER(numa_bind_v1, numa_bind@libnuma_1.1);

/* ---- Pages ---------------------------------------------------------------- */
API int numa_migrate_pages(int pid, struct bitmask *from, struct bitmask *to)
{
	unsigned long bits = from->size > to->size ? from->size : to->size;
	size_t words = words_for(bits);
	unsigned long *f = calloc(words, sizeof(*f));
	unsigned long *t = calloc(words, sizeof(*t));
	long ret = -1;

	if (f && t) {
		memcpy(f, from->maskp, numa_bitmask_nbytes(from));
		memcpy(t, to->maskp, numa_bitmask_nbytes(to));
		ret = syscall(SYS_migrate_pages, pid, mb_maxnode(bits), f, t);
	} else {
		errno = ENOMEM;
	}
	{
		int e = errno;

		free(f);
		free(t);
		errno = e;
	}
	return (int)ret;
}

API int numa_move_pages(int pid, unsigned long count, void **pages,
			const int *nodes, int *status, int flags)
{
	return (int)syscall(SYS_move_pages, pid, count, pages, nodes, status,
			    flags);
}

/* ---- After 2.0.16: numactl 2.0.19 (libnuma_1.7, libnuma_2.1) and the
 * rest of weighted interleave (libnuma_2.1, numactl after 2.0.19) --------
 * MPOL_WEIGHTED_INTERLEAVE needs Linux 6.9, set_mempolicy_home_node 5.17;
 * on an older kernel the calls fail through numa_error(), as any policy
 * call the kernel refuses. */

#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node 450 /* every architecture */
#endif

API int numa_has_home_node(void)
{
	int e = errno;
	/* an empty range is accepted before anything is looked at; an
	 * invalid node only shows that the call exists */
	long r = syscall(SYS_set_mempolicy_home_node, 0UL, 0UL, ~0UL, 0UL);
	int has = r == 0 || errno != ENOSYS;

	errno = e;
	return has;
}

API int numa_set_mempolicy_home_node(void *start, unsigned long len,
				     int home_node, int flags)
{
	if (syscall(SYS_set_mempolicy_home_node, start, len,
		    (unsigned long)home_node, (unsigned long)flags) < 0) {
		fail("set_mempolicy_home_node");
		return -1;
	}
	return 0;
}

API void numa_set_weighted_interleave_mask(struct bitmask *b)
{
	if (!b || numa_bitmask_weight(b) == 0)
		setpol(MB_MPOL_DEFAULT, NULL);
	else
		setpol(MB_MPOL_WEIGHTED_INTERLEAVE, b);
}

API struct bitmask *numa_get_weighted_interleave_mask(void)
{
	return policy_mask_if(MB_MPOL_WEIGHTED_INTERLEAVE, -1, -1);
}

API void numa_weighted_interleave_memory(void *mem, size_t size,
					 struct bitmask *b)
{
	range_policy(mem, size, MB_MPOL_WEIGHTED_INTERLEAVE, b);
}

API void *numa_alloc_weighted_interleaved(size_t size)
{
	return alloc_mode(size, MB_MPOL_WEIGHTED_INTERLEAVE, numa_all_nodes_ptr);
}

API void *numa_alloc_weighted_interleaved_subset(size_t size,
						 struct bitmask *b)
{
	return alloc_mode(size, MB_MPOL_WEIGHTED_INTERLEAVE, b);
}
