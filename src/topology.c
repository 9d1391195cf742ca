/* SPDX-License-Identifier: MIT */
/* The Topology API: memblks over the nodes that have memory, read once from
 * sysfs (or MEMBIND_SYSFS_ROOT), lazily and thread-safely. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "syscalls.h"


static pthread_mutex_t topo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mb_topo *topo_cur;  /* published with release semantics */
static struct mb_topo *topo_retired;

void mb_topo_free(struct mb_topo *t)
{
	if (!t)
		return;
	if (t->nodes)
		for (int n = 0; n < t->node_limit; n++)
			free(t->nodes[n].cpus);
	free(t->nodes);
	free(t->memblk_node);
	free(t->node_dist);
	free(t->cpu_node);
	free(t->allowed);
	free(t->root);
	pthread_mutex_destroy(&t->extras_lock);
	free(t);
}

/* A list file into a fresh mask of nbits bits; maxbit gets highest + 1. */
static int read_list(const char *root, const char *rel, unsigned long *mask,
		     unsigned int nbits, unsigned int *maxbit)
{
	char *buf = malloc(MB_FILE_MAX); /* not on the caller's stack */
	int len;

	if (!buf)
		return -ENOMEM;
	len = mb_read_file(root, buf, MB_FILE_MAX, "%s", rel);
	if (len >= 0)
		len = mb_parse_list(buf, (size_t)len, mask, nbits, maxbit);
	free(buf);
	return len;
}

/* Highest bit + 1 of a list file, without keeping the mask. */
static int list_limit(const char *root, const char *rel, unsigned int cap,
		      unsigned int *limit)
{
	int ret = read_list(root, rel, NULL, cap, limit);

	return ret < 0 ? ret : 0;
}

static int read_u64(int dirfd, uint64_t max, uint64_t *out, const char *fmt,
		    int node, int acc, const char *name)
{
	char buf[256];
	int len = mb_read_fileat(dirfd, buf, sizeof(buf), fmt, node, acc, name);

	if (len < 0)
		return len;
	return mb_parse_u64(buf, (size_t)len, max, out);
}

/* HMAT attributes of one access class; absent files mean "not known". */
static int load_access(int nodefd, struct mb_node *nd, int node, int acc)
{
	static const char *const names[4] = {
		"read_bandwidth", "write_bandwidth", "read_latency",
		"write_latency"};
	uint64_t v[4];
	char dir[64];
	int known = 0;

	/* Most machines have no HMAT: one lookup rather than four. */
	snprintf(dir, sizeof(dir), "node%d/access%d/initiators", node, acc);
	if (faccessat(nodefd, dir, F_OK, 0))
		return errno == ENOENT ? 0 : -errno;
	for (int i = 0; i < 4; i++) {
		int ret = read_u64(nodefd, UINT32_MAX, &v[i],
				   "node%d/access%d/initiators/%s", node, acc,
				   names[i]);
		if (ret == -ENOENT) {
			v[i] = 0;
			continue;
		}
		if (ret)
			return ret;
		known = 1;
	}
	nd->has_access[acc] = known;
	nd->access[acc] = (struct memblk_access){
		.read_bandwidth = v[0],
		.write_bandwidth = v[1],
		.read_latency = v[2],
		.write_latency = v[3],
	};
	return 0;
}

static int load_weight(int wfd, struct mb_node *nd, int node)
{
	char buf[64];
	uint64_t w;
	int len;

	if (wfd < 0)
		return 0; /* no weighted interleave in this kernel */
	len = mb_read_fileat(wfd, buf, sizeof(buf), "node%d", node);
	if (len == -ENOENT)
		return 0;
	if (len < 0)
		return len;
	len = mb_parse_u64(buf, (size_t)len, 255, &w);
	if (len)
		return len;
	nd->weight = (int)w;
	return 0;
}

static int load_tiers(const char *root, struct mb_topo *t)
{
	char path[4096];
	struct dirent *de;
	unsigned long *mask;
	DIR *dir;
	int ret = 0;

	if ((size_t)snprintf(path, sizeof(path),
			     "%s/devices/virtual/memory_tiering", root) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	mask = calloc(MB_LONGS(t->node_limit), sizeof(*mask));
	if (!mask) {
		closedir(dir);
		return -ENOMEM;
	}
	while ((de = readdir(dir))) {
		const char *id = de->d_name + 11;
		uint64_t tier;
		char rel[512];

		if (strncmp(de->d_name, "memory_tier", 11) ||
		    mb_parse_u64(id, strlen(id), INT32_MAX, &tier))
			continue;
		snprintf(rel, sizeof(rel),
			 "devices/virtual/memory_tiering/%s/nodelist",
			 de->d_name);
		ret = read_list(root, rel, mask, (unsigned)t->node_limit, NULL);
		if (ret < 0)
			break;
		ret = 0;
		for (int n = 0; n < t->node_limit; n++)
			if (mb_test(mask, (unsigned)n))
				t->nodes[n].tier = (int)tier;
	}
	free(mask);
	closedir(dir);
	return ret;
}

/* Buffers for a load, from the heap: a library call must not need tens
 * of KiB of its caller's stack (threads may have small ones). */
struct scratch {
	char buf[MB_FILE_MAX];
	int dist[MB_MAX_NODES];
	int online_ids[MB_MAX_NODES];
};

/*
 * Node n's distances (one per online node) as the kernel can give them, or
 * -EINVAL.  The kernel's local distance is 10 (LOCAL_DISTANCE): x86 and the
 * generic arch_numa code refuse any other in numa_set_distance(); ACPI
 * drops a SLIT whose local distances are not 10 or whose remote ones are
 * not above 10, and the device-tree parser refuses such a map; without a
 * table the kernel uses 10 and 20.  Remote distances equal to the local one
 * do occur: numa=fake gives the emulated nodes of one physical node
 * distance 10 from each other.  So a distance of 0 (no kernel prints one;
 * a matrix of zeros is a broken or hand-made tree), or a node farther from
 * itself than from another node, is refused: the whole load fails with
 * -EINVAL, as for any other malformed distance file, rather than going on
 * with distances nothing could be ranked by (nearest memblk, the order of
 * fallback) or with made-up ones.  docs/design.md, "Topology snapshots".
 */
static int check_distances(int n, const int *online_ids, int nonline,
			   const int *dist)
{
	int local = -1;

	for (int i = 0; i < nonline; i++)
		if (online_ids[i] == n)
			local = dist[i];
	if (local <= 0)
		return -EINVAL;
	for (int i = 0; i < nonline; i++)
		if (dist[i] == 0 || dist[i] < local)
			return -EINVAL;
	return 0;
}

/* What every call needs: distances and sizes. */
static int load_node_core(int nodefd, struct mb_topo *t, int n,
			  const int *online_ids, int nonline,
			  struct scratch *sc)
{
	struct mb_node *nd = &t->nodes[n];
	char *buf = sc->buf;
	int *dist = sc->dist;
	int ret, len;

	len = mb_read_fileat(nodefd, buf, MB_FILE_MAX, "node%d/distance", n);
	if (len < 0)
		return len;
	ret = mb_parse_distances(buf, (size_t)len, dist, MB_MAX_NODES);
	if (ret < 0)
		return ret;
	/* The kernel prints one distance per online node, in node order. */
	if (ret != nonline)
		return -EINVAL;
	ret = check_distances(n, online_ids, nonline, dist);
	if (ret)
		return ret;
	for (int i = 0; i < nonline; i++)
		t->node_dist[n * t->node_limit + online_ids[i]] = dist[i];

	len = mb_read_fileat(nodefd, buf, MB_FILE_MAX, "node%d/meminfo", n);
	if (len >= 0)
		ret = mb_parse_meminfo(buf, (size_t)len, &nd->size, &nd->free);
	else
		ret = len;
	return nd->memblk >= 0 ? ret : 0;
}

/* The rest, loaded on first use: CPUs, HMAT attributes, weights. */
static int load_node_extras(int nodefd, int wfd, struct mb_topo *t, int n,
			    unsigned int cpubits, struct scratch *sc)
{
	struct mb_node *nd = &t->nodes[n];
	char *buf = sc->buf;
	int ret, len;

	nd->cpus = calloc(MB_LONGS(cpubits), sizeof(unsigned long));
	if (!nd->cpus)
		return -ENOMEM;
	len = mb_read_fileat(nodefd, buf, MB_FILE_MAX, "node%d/cpulist", n);
	if (len < 0)
		return len;
	ret = mb_parse_list(buf, (size_t)len, nd->cpus, cpubits, NULL);
	if (ret < 0)
		return ret;
	nd->ncpus = ret;
	for (int acc = 0; acc < 2; acc++) {
		ret = load_access(nodefd, nd, n, acc);
		if (ret)
			return ret;
	}
	return load_weight(wfd, nd, n);
}

static int open_dir(const char *root, const char *rel)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int load_allowed(struct mb_topo *t)
{
	unsigned long *nodes;
	int ret;

	if (t->fake_root) {
		for (int m = 0; m < t->nmemblks; m++)
			mb_set(t->allowed, (unsigned)m);
		return 0;
	}
	nodes = calloc(MB_LONGS(MB_MAX_NODES), sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	ret = mb_sys_get_mempolicy(NULL, nodes, MB_MAX_NODES, NULL,
				   MPOL_F_MEMS_ALLOWED);
	if (ret == -ENOSYS) {
		/* A kernel without NUMA: everything there is, is allowed. */
		for (int n = 0; n < t->node_limit; n++)
			mb_set(nodes, (unsigned)n);
		ret = 0;
	}
	if (!ret)
		mb_nodes_to_memblks(t, nodes, MB_MAX_NODES,
				    (unsigned)t->nmemblks, t->allowed);
	free(nodes);
	return ret;
}

/* Is root there, with a devices/system but no node directory in it? */
static bool no_node_dir(const char *root)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/devices/system/node",
			     root) >= sizeof(path))
		return false;
	if (!access(path, F_OK) || errno != ENOENT)
		return false;
	path[strlen(path) - 5] = '\0'; /* devices/system itself is there */
	return access(path, F_OK) == 0;
}

/* MemTotal and MemFree of the whole machine, from /proc/meminfo. */
static void machine_meminfo(uint64_t *total, uint64_t *free)
{
	uint64_t v;

	if (!mb_meminfo("MemTotal", &v))
		*total = v;
	if (!mb_meminfo("MemFree", &v))
		*free = v;
}

static int synth_one_node(const char *root, struct mb_topo *t)
{
	unsigned int climit = 0;
	int ret;

	ret = list_limit(root, "devices/system/cpu/possible", MB_MAX_CPUS,
			 &climit);
	if (ret < 0 && ret != -ENOENT)
		return ret;
	if (!climit) {
		long n = sysconf(_SC_NPROCESSORS_CONF);

		climit = n > 0 && n < MB_MAX_CPUS ? (unsigned)n : 1;
	}
	t->node_limit = 1;
	t->cpu_limit = (int)climit;
	t->nmemblks = 1;
	t->nodes = calloc(1, sizeof(*t->nodes));
	t->node_dist = malloc(sizeof(int));
	t->memblk_node = calloc(1, sizeof(int));
	t->allowed = calloc(1, sizeof(unsigned long));
	t->cpu_node = calloc(climit, sizeof(int));
	if (!t->nodes || !t->node_dist || !t->memblk_node || !t->allowed ||
	    !t->cpu_node)
		return -ENOMEM;
	t->nodes[0].cpus = calloc(MB_LONGS(climit), sizeof(unsigned long));
	if (!t->nodes[0].cpus)
		return -ENOMEM;
	ret = read_list(root, "devices/system/cpu/online", t->nodes[0].cpus,
			climit, NULL);
	if (ret < 0) {
		for (unsigned int c = 0; c < climit; c++)
			mb_set(t->nodes[0].cpus, c);
		ret = (int)climit;
	}
	t->nodes[0].online = true;
	t->nodes[0].ncpus = ret;
	t->extras_state = 1;
	t->nodes[0].tier = -1;
	t->node_dist[0] = 10;
	mb_set(t->allowed, 0);
	if (!t->fake_root)
		machine_meminfo(&t->nodes[0].size, &t->nodes[0].free);
	return 0;
}

/* CPUs of each node, HMAT attributes, weights and tiers: what only some
 * calls need, loaded by the first of them (see mb_topo_extras()). */
static int load_extras(struct mb_topo *t)
{
	unsigned int cpubits = t->cpu_limit ? (unsigned)t->cpu_limit :
					      MB_MAX_CPUS;
	struct scratch *sc = malloc(sizeof(*sc));
	int nodefd, wfd, ret;

	if (!sc)
		return -ENOMEM;
	nodefd = open_dir(t->root, MB_NODE_DIR);
	if (nodefd < 0) {
		ret = -errno;
		free(sc);
		return ret;
	}
	wfd = open_dir(t->root, "kernel/mm/mempolicy/weighted_interleave");
	ret = 0;
	for (int n = 0; !ret && n < t->node_limit; n++)
		if (t->nodes[n].online)
			ret = load_node_extras(nodefd, wfd, t, n, cpubits, sc);
	close(nodefd);
	if (wfd >= 0)
		close(wfd);
	free(sc);
	if (ret)
		return ret;
	if (!t->cpu_limit) {
		unsigned int top = 1;

		for (int n = 0; n < t->node_limit; n++) {
			unsigned int l = t->nodes[n].online ?
						 mb_last(t->nodes[n].cpus,
							 cpubits) :
						 0;
			if (l > top)
				top = l;
		}
		t->cpu_limit = (int)top;
	}
	t->cpu_node = malloc((size_t)t->cpu_limit * sizeof(int));
	if (!t->cpu_node)
		return -ENOMEM;
	for (int c = 0; c < t->cpu_limit; c++)
		t->cpu_node[c] = -1;
	for (int n = 0; n < t->node_limit; n++)
		for (int c = 0; t->nodes[n].online && c < t->cpu_limit; c++)
			if (mb_test(t->nodes[n].cpus, (unsigned)c))
				t->cpu_node[c] = n;
	return load_tiers(t->root, t);
}

int mb_topo_extras(const struct mb_topo *ct)
{
	struct mb_topo *t = (struct mb_topo *)ct;
	int st = __atomic_load_n(&t->extras_state, __ATOMIC_ACQUIRE);

	if (!st) {
		pthread_mutex_lock(&t->extras_lock);
		st = t->extras_state;
		if (!st) {
			t->extras_err = load_extras(t);
			st = t->extras_err ? -1 : 1;
			__atomic_store_n(&t->extras_state, st,
					 __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&t->extras_lock);
	}
	/* A failure stays with this snapshot; a refresh tries again. */
	return st > 0 ? 0 : t->extras_err;
}

int mb_topo_load(const char *root, struct mb_topo **out)
{
	unsigned long online[MB_LONGS(MB_MAX_NODES)] = {0};
	unsigned long memory[MB_LONGS(MB_MAX_NODES)] = {0};
	unsigned int limit = 0, plimit = 0, climit = 0;
	struct scratch *sc = NULL;
	struct mb_topo *t;
	int *online_ids, ret, nonline = 0, nodefd;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->extras_lock, NULL);
	t->fake_root = strcmp(root, MB_SYS) != 0;

	ret = read_list(root, MB_NODE_DIR "/online", online, MB_MAX_NODES,
			&limit);
	if (ret == -ENOENT && no_node_dir(root)) {
		/* A kernel built without NUMA has no node directory: it is
		 * one node with all the memory, and so one memblk. */
		ret = synth_one_node(root, t);
		if (ret)
			goto err;
		*out = t;
		return 0;
	}
	if (ret < 0)
		goto err;
	if (ret == 0) {
		ret = -EINVAL; /* some node is always online */
		goto err;
	}
	ret = read_list(root, MB_NODE_DIR "/has_memory", memory, MB_MAX_NODES,
			NULL);
	if (ret < 0)
		goto err;
	/* possible may exceed online; a missing one is not an error. */
	ret = list_limit(root, MB_NODE_DIR "/possible", MB_MAX_NODES, &plimit);
	if (ret < 0 && ret != -ENOENT)
		goto err;
	t->node_limit = (int)(plimit > limit ? plimit : limit);

	ret = list_limit(root, "devices/system/cpu/possible", MB_MAX_CPUS,
			 &climit);
	if (ret < 0 && ret != -ENOENT)
		goto err;
	/* 0 until the CPU lists say, for a tree without cpu/possible. */
	t->cpu_limit = (int)climit;

	ret = -ENOMEM;
	t->nodes = calloc((size_t)t->node_limit, sizeof(*t->nodes));
	t->node_dist = malloc((size_t)t->node_limit * (size_t)t->node_limit *
			      sizeof(int));
	t->memblk_node = calloc((size_t)t->node_limit, sizeof(int));
	t->allowed = calloc(MB_LONGS(t->node_limit), sizeof(unsigned long));
	sc = malloc(sizeof(*sc));
	if (!t->nodes || !t->node_dist || !t->memblk_node || !t->allowed ||
	    !sc)
		goto err;
	online_ids = sc->online_ids;
	for (int i = 0; i < t->node_limit * t->node_limit; i++)
		t->node_dist[i] = -1;

	for (int n = 0; n < t->node_limit; n++) {
		struct mb_node *nd = &t->nodes[n];

		nd->memblk = -1;
		nd->tier = -1;
		if (!mb_test(online, (unsigned)n))
			continue;
		nd->online = true;
		online_ids[nonline++] = n;
		if (mb_test(memory, (unsigned)n)) {
			nd->memblk = t->nmemblks;
			t->memblk_node[t->nmemblks++] = n;
		}
	}
	nodefd = open_dir(root, MB_NODE_DIR);
	ret = nodefd < 0 ? -errno : 0;
	for (int i = 0; !ret && i < nonline; i++)
		ret = load_node_core(nodefd, t, online_ids[i], online_ids,
				     nonline, sc);
	if (nodefd >= 0)
		close(nodefd);
	free(sc);
	sc = NULL;
	if (ret)
		goto err;
	ret = load_allowed(t);
	if (ret)
		goto err;
	ret = -ENOMEM;
	t->root = strdup(root);
	if (!t->root)
		goto err;
	/* Without cpu/possible only the CPU lists tell how many CPUs there
	 * can be: load them now, since membind_cpu_limit() is core. */
	if (!climit) {
		ret = load_extras(t);
		if (ret)
			goto err;
		t->extras_state = 1;
	}
	*out = t;
	return 0;
err:
	free(sc);
	mb_topo_free(t);
	return ret;
}

/* secure_getenv(): in a set-user-ID or set-group-ID program (or one with
 * file capabilities) the environment is its caller's, and a tree of the
 * caller's choosing must not describe the machine to it. */
static const char *sysfs_root(void)
{
	const char *root = secure_getenv("MEMBIND_SYSFS_ROOT");

	return root && *root ? root : MB_SYS;
}

/* fork(): see fork.c.  The current snapshot's extras_lock is taken too
 * (a load of the extras in progress); topo_lock keeps the snapshot. */
static struct mb_topo *topo_forking;

void mb_topo_fork(enum mb_fork phase)
{
	if (phase == MB_FORK_PREPARE) {
		pthread_mutex_lock(&topo_lock);
		topo_forking = topo_cur;
		if (topo_forking)
			pthread_mutex_lock(&topo_forking->extras_lock);
		return;
	}
	if (topo_forking)
		pthread_mutex_unlock(&topo_forking->extras_lock);
	pthread_mutex_unlock(&topo_lock);
}

const struct mb_topo *mb_topo_get(int *err)
{
	struct mb_topo *t = __atomic_load_n(&topo_cur, __ATOMIC_ACQUIRE);
	int ret = 0;

	if (t)
		return t;
	mb_fork_register();
	pthread_mutex_lock(&topo_lock);
	t = topo_cur;
	if (!t) {
		ret = mb_topo_load(sysfs_root(), &t);
		if (!ret)
			__atomic_store_n(&topo_cur, t, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&topo_lock);
	if (ret) {
		*err = ret;
		return NULL;
	}
	return t;
}

const struct mb_topo *mb_topo_live(int *err)
{
	const struct mb_topo *t = mb_topo_get(err);

	if (t && t->fake_root) {
		*err = -EOPNOTSUPP;
		return NULL;
	}
	return t;
}

MB_EXPORT int membind_topology_refresh(void)
{
	struct mb_topo *t, *old;
	int ret;

	mb_fork_register();
	pthread_mutex_lock(&topo_lock);
	ret = mb_topo_load(sysfs_root(), &t);
	if (!ret) {
		old = topo_cur;
		__atomic_store_n(&topo_cur, t, __ATOMIC_RELEASE);
		/* Other threads may still read the old one: keep it. */
		if (old) {
			old->retired_next = topo_retired;
			topo_retired = old;
		}
	}
	pthread_mutex_unlock(&topo_lock);
	return ret;
}

int mb_topo_distance(const struct mb_topo *t, int a, int b)
{
	if (a < 0 || b < 0 || a >= t->node_limit || b >= t->node_limit)
		return -ENOENT;
	return t->node_dist[a * t->node_limit + b];
}

int mb_topo_nearest_memblk(const struct mb_topo *t, int node)
{
	int best = -ENOENT, bestd = 0;

	if (node < 0 || node >= t->node_limit || !t->nodes[node].online)
		return -ENOENT;
	if (t->nodes[node].memblk >= 0)
		return t->nodes[node].memblk;
	for (int m = 0; m < t->nmemblks; m++) {
		int d = mb_topo_distance(t, node, t->memblk_node[m]);

		if (d < 0)
			d = 256; /* unknown: after every known distance */
		if (best < 0 || d < bestd) {
			best = m;
			bestd = d;
		}
	}
	return best;
}

int mb_memblks_to_nodes(const struct mb_topo *t, unsigned int len,
			const unsigned long *memblks, unsigned long *nodes)
{
	memset(nodes, 0, MB_LONGS(t->node_limit) * sizeof(*nodes));
	for (unsigned int m = mb_next(memblks, len, 0); m < len;
	     m = mb_next(memblks, len, m + 1)) {
		if (m >= (unsigned)t->nmemblks)
			return -EINVAL;
		mb_set(nodes, (unsigned)t->memblk_node[m]);
	}
	return 0;
}

void mb_nodes_to_memblks(const struct mb_topo *t, const unsigned long *nodes,
			 unsigned int nodebits, unsigned int len,
			 unsigned long *memblks)
{
	memset(memblks, 0, MB_LONGS(len) * sizeof(*memblks));
	for (int m = 0; m < t->nmemblks && (unsigned)m < len; m++) {
		unsigned int n = (unsigned)t->memblk_node[m];

		if (n < nodebits && mb_test(nodes, n))
			mb_set(memblks, (unsigned)m);
	}
}

/* ---- public calls ---- */

#define GET_TOPO(t)                                                            \
	int err_ = 0;                                                          \
	const struct mb_topo *t = mb_topo_get(&err_);                          \
	if (!t)                                                                \
	return err_

/* The same, for calls that need the CPUs, HMAT, weights or tiers. */
#define GET_TOPO_EXTRAS(t)                                                     \
	GET_TOPO(t);                                                           \
	do {                                                                   \
		int e_ = mb_topo_extras(t);                                    \
		if (e_)                                                        \
			return e_;                                             \
	} while (0)

MB_EXPORT int memblk_count(void)
{
	GET_TOPO(t);
	return t->nmemblks;
}

MB_EXPORT int membind_node_limit(void)
{
	GET_TOPO(t);
	return t->node_limit;
}

MB_EXPORT int membind_cpu_limit(void)
{
	GET_TOPO(t);
	return t->cpu_limit;
}

MB_EXPORT int memblk_to_node(int memblk)
{
	GET_TOPO(t);
	if (memblk < 0 || memblk >= t->nmemblks)
		return -ENOENT;
	return t->memblk_node[memblk];
}

MB_EXPORT int node_to_memblk(int node)
{
	GET_TOPO(t);
	if (node < 0 || node >= t->node_limit || t->nodes[node].memblk < 0)
		return -ENOENT;
	return t->nodes[node].memblk;
}

MB_EXPORT int cpu_to_node(int cpu)
{
	GET_TOPO_EXTRAS(t);
	if (cpu < 0 || cpu >= t->cpu_limit || t->cpu_node[cpu] < 0)
		return -ENOENT;
	return t->cpu_node[cpu];
}

MB_EXPORT int cpu_to_memblk(int cpu)
{
	GET_TOPO_EXTRAS(t);
	if (cpu < 0 || cpu >= t->cpu_limit || t->cpu_node[cpu] < 0)
		return -ENOENT;
	return mb_topo_nearest_memblk(t, t->cpu_node[cpu]);
}

MB_EXPORT int memblk_distance(int a, int b)
{
	GET_TOPO(t);
	if (a < 0 || b < 0 || a >= t->nmemblks || b >= t->nmemblks)
		return -ENOENT;
	return mb_topo_distance(t, t->memblk_node[a], t->memblk_node[b]);
}

static int copy_cpus(const struct mb_topo *t, int node, unsigned int len,
		     unsigned long *cpumask)
{
	const struct mb_node *nd = &t->nodes[node];

	if (!cpumask || len == 0 || len > MB_MAX_CPUS)
		return -EINVAL;
	if (mb_last(nd->cpus, (unsigned)t->cpu_limit) > len)
		return -ERANGE;
	memset(cpumask, 0, MB_LONGS(len) * sizeof(*cpumask));
	for (unsigned int c = mb_next(nd->cpus, (unsigned)t->cpu_limit, 0);
	     c < (unsigned)t->cpu_limit;
	     c = mb_next(nd->cpus, (unsigned)t->cpu_limit, c + 1))
		mb_set(cpumask, c);
	return nd->ncpus;
}

MB_EXPORT int memblk_cpus(int memblk, unsigned int len, unsigned long *cpumask)
{
	GET_TOPO_EXTRAS(t);
	if (memblk < 0 || memblk >= t->nmemblks)
		return -ENOENT;
	return copy_cpus(t, t->memblk_node[memblk], len, cpumask);
}

MB_EXPORT int node_cpus(int node, unsigned int len, unsigned long *cpumask)
{
	GET_TOPO_EXTRAS(t);
	if (node < 0 || node >= t->node_limit || !t->nodes[node].online)
		return -ENOENT;
	return copy_cpus(t, node, len, cpumask);
}

MB_EXPORT int memblk_allowed(unsigned int len, unsigned long *mask)
{
	GET_TOPO(t);
	if (!mask || len == 0 || len > MEMBIND_MAX_BITS)
		return -EINVAL;
	if (len < (unsigned)t->nmemblks)
		return -ERANGE;
	memset(mask, 0, MB_LONGS(len) * sizeof(*mask));
	memcpy(mask, t->allowed, MB_LONGS(t->nmemblks) * sizeof(*mask));
	return (int)mb_weight(mask, len);
}

MB_EXPORT int memblk_size(int memblk, uint64_t *size, uint64_t *free)
{
	GET_TOPO(t);
	if (memblk < 0 || memblk >= t->nmemblks)
		return -ENOENT;
	if (!size && !free)
		return -EINVAL;
	if (size)
		*size = t->nodes[t->memblk_node[memblk]].size;
	if (free)
		*free = t->nodes[t->memblk_node[memblk]].free;
	return 0;
}

MB_EXPORT int memblk_info(int memblk, struct memblk_info *info)
{
	struct memblk_info full = {.sz = sizeof(full)};
	const struct mb_node *nd;
	GET_TOPO_EXTRAS(t);

	if (mb_sz_check(info, offsetof(struct memblk_info, size_bytes)))
		return -EINVAL;
	if (memblk < 0 || memblk >= t->nmemblks)
		return -ENOENT;
	nd = &t->nodes[t->memblk_node[memblk]];
	full.id = memblk;
	full.node = t->memblk_node[memblk];
	full.size_bytes = nd->size;
	full.free_bytes = nd->free;
	full.ncpus = nd->ncpus;
	full.tier = nd->tier;
	full.allowed = mb_test(t->allowed, (unsigned)memblk);
	full.weight = nd->weight;
	for (int a = 0; a < 2; a++) {
		full.has_access[a] = nd->has_access[a];
		full.access[a] = nd->access[a];
	}
	full.nearest_cpu_node = -1;
	for (int n = 0, bestd = 0; n < t->node_limit; n++) {
		int d = mb_topo_distance(t, full.node, n);

		if (!t->nodes[n].ncpus)
			continue;
		if (d < 0)
			d = 256;
		if (full.nearest_cpu_node < 0 || d < bestd ||
		    (n == full.node && d <= bestd)) {
			full.nearest_cpu_node = n;
			bestd = d;
		}
	}
	mb_sz_out(info, &full, sizeof(full));
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

MB_EXPORT int memblk_extents(int memblk, struct memblk_extent *out, int max)
{
	const char *root;
	uint64_t bs = 0, *ids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	char path[4096];
	int ret, count = 0;
	DIR *dir;
	GET_TOPO(t);

	if (max < 0 || (max && !out))
		return -EINVAL;
	if (memblk < 0 || memblk >= t->nmemblks)
		return -ENOENT;
	root = t->root ? t->root : MB_SYS; /* the snapshot's, not the env's */
	ret = mb_block_size(root, &bs);
	if (ret)
		return ret;
	if ((size_t)snprintf(path, sizeof(path), "%s/" MB_NODE_DIR "/node%d",
			     root, t->memblk_node[memblk]) >= sizeof(path))
		return -ENAMETOOLONG;
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		uint64_t id;

		if (strncmp(de->d_name, "memory", 6) ||
		    mb_parse_u64(de->d_name + 6, strlen(de->d_name + 6),
				 UINT64_MAX / bs - 1, &id))
			continue;
		if (n == cap) {
			uint64_t *i2;

			cap = cap ? 2 * cap : 64;
			i2 = realloc(ids, cap * sizeof(*ids));
			if (!i2) {
				free(ids);
				closedir(dir);
				return -ENOMEM;
			}
			ids = i2;
		}
		ids[n++] = id;
	}
	closedir(dir);
	if (n > 1) /* ids is NULL when the node lists no block */
		qsort(ids, n, sizeof(*ids), cmp_u64);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && ids[j + 1] == ids[j] + 1)
			j++;
		if (count < max)
			out[count] = (struct memblk_extent){
				.start = ids[i] * bs,
				.length = (ids[j] - ids[i] + 1) * bs,
			};
		count++;
		i = j + 1;
	}
	free(ids);
	return count;
}
