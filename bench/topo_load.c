/* SPDX-License-Identifier: MIT */
/*
 * Topology load in a cold process: from just before the first call to having
 * the memblk (node-with-memory) count, each one's size and the distance
 * matrix, for membind, libnuma, hwloc and a hand-written sysfs reader.
 *
 * This file builds twice over.  With BENCH_PEER defined it is a child,
 * topo_load-PEER, linked only against its peer's library, that does the work
 * once when started as "topo_load-PEER load [ROOT]" and prints
 *
 *     NS COUNT BYTES DISTSUM
 *
 * (NS: its own time from just before the first call to the end; the rest is
 * a checksum so that the peers can be seen to agree), or nothing but zeros
 * with "noop" (the cost of exec and dynamic linking alone).  Without
 * BENCH_PEER it is the driver, topo_load, which starts every child in a fresh
 * process for every sample, on this machine's /sys and on a captured tree.
 */
#include "bench.h"

#define PEER_NONE -1
#ifndef BENCH_PEER
#define BENCH_PEER PEER_NONE
#endif

struct topo_sum {
	int count;          /* memblks, i.e. nodes with memory */
	uint64_t bytes;     /* sum of their sizes */
	uint64_t dist;      /* sum of the distance matrix between them */
};

#if BENCH_PEER == PEER_MEMBIND
#include <membind.h>

static int topo_load(const char *root, struct topo_sum *s)
{
	int n = memblk_count();

	(void)root; /* MEMBIND_SYSFS_ROOT, set by the driver */
	if (n < 0)
		return n;
	s->count = n;
	for (int m = 0; m < n; m++) {
		uint64_t size;
		int ret = memblk_size(m, &size, NULL);

		if (ret < 0)
			return ret;
		s->bytes += size;
	}
	for (int a = 0; a < n; a++)
		for (int b = 0; b < n; b++) {
			int d = memblk_distance(a, b);

			if (d < 0)
				return d;
			s->dist += (uint64_t)d;
		}
	return 0;
}

#elif BENCH_PEER == PEER_LIBNUMA
#include <numa.h>

static int topo_load(const char *root, struct topo_sum *s)
{
	int nodes[4096], n = 0, max;

	(void)root; /* libnuma reads only the real /sys */
	if (numa_available() < 0)
		return -ENOSYS;
	(void)numa_num_configured_nodes();
	max = numa_max_node();
	for (int i = 0; i <= max && n < 4096; i++) {
		long long size = numa_node_size64(i, NULL);

		if (size <= 0)
			continue; /* no such node, or no memory */
		nodes[n++] = i;
		s->bytes += (uint64_t)size;
	}
	s->count = n;
	for (int a = 0; a < n; a++)
		for (int b = 0; b < n; b++)
			s->dist += (uint64_t)numa_distance(nodes[a], nodes[b]);
	return 0;
}

#elif BENCH_PEER == PEER_HWLOC
#include <hwloc.h>

static int topo_load(const char *root, struct topo_sum *s)
{
	struct hwloc_distances_s *d = NULL;
	hwloc_topology_t topo;
	unsigned int nr = 1;
	int n;

	(void)root; /* HWLOC_FSROOT, set by the driver */
	if (hwloc_topology_init(&topo) || hwloc_topology_load(topo))
		return -errno;
	n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	for (int i = 0; i < n; i++) {
		hwloc_obj_t o = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE,
						      (unsigned)i);

		if (o->attr->numanode.local_memory) {
			s->count++;
			s->bytes += o->attr->numanode.local_memory;
		}
	}
	/* The SLIT: latency-like distances from the OS between NUMA nodes.
	 * hwloc has none on a machine of one node. */
	if (!hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &nr, &d,
					 HWLOC_DISTANCES_KIND_FROM_OS |
						 HWLOC_DISTANCES_KIND_MEANS_LATENCY,
					 0) &&
	    nr) {
		for (unsigned int i = 0; i < d->nbobjs; i++)
			for (unsigned int j = 0; j < d->nbobjs; j++)
				if (d->objs[i]->attr->numanode.local_memory &&
				    d->objs[j]->attr->numanode.local_memory)
					s->dist += d->values[i * d->nbobjs + j];
		hwloc_distances_release(topo, d);
	}
	return 0;
}

#elif BENCH_PEER == PEER_RAW
/* The least one can do: read the files with no library at all. */
static int raw_read(const char *root, const char *rel, char *buf, size_t size)
{
	char path[4096];
	ssize_t r, n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/devices/system/node/%s", root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((r = read(fd, buf + n, size - 1 - (size_t)n)) > 0)
		n += r;
	close(fd);
	if (r < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

/* A list "0-3,7" into a bitmap of 4096 bits; returns the bits set. */
static int raw_list(const char *s, unsigned char *bits)
{
	int count = 0;

	while (*s >= '0' && *s <= '9') {
		char *e;
		long lo = strtol(s, &e, 10), hi = lo;

		if (*e == '-')
			hi = strtol(e + 1, &e, 10);
		for (long i = lo; i <= hi && i < 4096; i++, count++)
			bits[i] = 1;
		s = *e == ',' ? e + 1 : e;
	}
	return count;
}

static int topo_load(const char *root, struct topo_sum *s)
{
	unsigned char online[4096] = {0}, memory[4096] = {0};
	static char buf[65536];
	char rel[64];

	if (raw_read(root, "online", buf, sizeof(buf)) < 0)
		return -errno;
	raw_list(buf, online);
	if (raw_read(root, "has_memory", buf, sizeof(buf)) < 0)
		return -errno;
	raw_list(buf, memory);
	for (int n = 0; n < 4096; n++) {
		char *p, *e;

		if (!memory[n])
			continue;
		s->count++;
		snprintf(rel, sizeof(rel), "node%d/meminfo", n);
		if (raw_read(root, rel, buf, sizeof(buf)) < 0)
			return -errno;
		p = strstr(buf, "MemTotal:");
		if (!p)
			return -EINVAL;
		s->bytes += strtoull(p + 9, NULL, 10) * 1024;
		snprintf(rel, sizeof(rel), "node%d/distance", n);
		if (raw_read(root, rel, buf, sizeof(buf)) < 0)
			return -errno;
		p = buf;
		/* One distance per online node, in node order. */
		for (int m = 0; m < 4096; m++) {
			unsigned long v;

			if (!online[m])
				continue;
			v = strtoul(p, &e, 10);
			if (e == p)
				return -EINVAL;
			p = e;
			if (memory[m])
				s->dist += v;
		}
	}
	return 0;
}
#endif

#if BENCH_PEER != PEER_NONE
/* ---- the child ---- */
int main(int argc, char **argv)
{
	struct topo_sum s = {0};
	uint64_t t0 = bench_now_ns(), t1;
	int ret;

	if (argc < 2 || !strcmp(argv[1], "noop")) {
		printf("0 0 0 0\n");
		return 0;
	}
	ret = topo_load(argc > 2 ? argv[2] : "/sys", &s);
	t1 = bench_now_ns();
	if (ret < 0) {
		printf("error %d (%s)\n", ret, strerror(-ret));
		return 1;
	}
	printf("%" PRIu64 " %d %" PRIu64 " %" PRIu64 "\n", t1 - t0, s.count,
	       s.bytes, s.dist);
	return 0;
}

#else
/* ---- the driver ---- */
#include <limits.h>

extern char **environ;

enum topo_row {
	ROW_CALL,    /* in-process: first call to done */
	ROW_PROCESS, /* spawn to exit, with the load */
	ROW_NOOP,    /* spawn to exit, without it */
	NR_ROWS,
};

static const char *const row_names[NR_ROWS] = {
	"first call → count, sizes, distances (in-process)",
	"cold process with the load (spawn → exit)",
	"cold process without the load (exec + dynamic linking)",
};

static char child_path[NR_PEERS][PATH_MAX];

static void find_children(void)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0) {
		perror("topo_load: /proc/self/exe");
		exit(2);
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	for (int p = 0; p < NR_PEERS; p++)
		snprintf(child_path[p], sizeof(child_path[p]),
			 "%.3000s/topo_load-%s", self, bench_peer_names[p]);
}

/*
 * One table: every peer that can read root (NULL: this machine's /sys),
 * runs samples each, interleaved.  hwloc_root is the HWLOC_FSROOT for the
 * tree.
 */
static int measure(const char *title, const char *root, const char *hwloc_root,
		   int runs)
{
	static const char *const drop[] = {"MEMBIND_SYSFS_ROOT",
					   "HWLOC_FSROOT", NULL};
	struct bench_samples smp[NR_ROWS][NR_PEERS] = {0};
	char sum[NR_PEERS][128] = {{0}}, why[NR_PEERS][160] = {{0}};
	unsigned long long dsum[NR_PEERS] = {0};
	int nodist = 0;
	char *const *env[NR_PEERS];
	int can[NR_PEERS], agree = 1, first = -1;
	char mb_env[PATH_MAX + 32], hw_env[PATH_MAX + 32];
	const char *add_mb[] = {mb_env, NULL}, *add_hw[] = {hw_env, NULL};

	snprintf(mb_env, sizeof(mb_env), "MEMBIND_SYSFS_ROOT=%s", root ? root : "");
	snprintf(hw_env, sizeof(hw_env), "HWLOC_FSROOT=%s",
		 hwloc_root ? hwloc_root : "");
	for (int p = 0; p < NR_PEERS; p++) {
		can[p] = 1;
		env[p] = bench_env(environ, drop, NULL);
	}
	if (root) {
		env[PEER_MEMBIND] = bench_env(environ, drop, add_mb);
		env[PEER_HWLOC] = bench_env(environ, drop, add_hw);
		can[PEER_LIBNUMA] = 0; /* reads only the real /sys */
		snprintf(why[PEER_LIBNUMA], sizeof(why[PEER_LIBNUMA]),
			 "cannot be pointed at a captured tree");
		if (!hwloc_root) {
			can[PEER_HWLOC] = 0;
			snprintf(why[PEER_HWLOC], sizeof(why[PEER_HWLOC]),
				 "no HWLOC_FSROOT (MEMBIND_BENCH_HWLOC_ROOT)");
		}
	}

	/* Warm the page cache and the dynamic loader's files, unmeasured.  A
	 * peer that fails here (hwloc on a tree it cannot read) is left out. */
	for (int w = 0; w < 3; w++)
		for (int p = 0; p < NR_PEERS; p++) {
			char *argv[] = {child_path[p], "load",
					(char *)(root ? root : "/sys"), NULL};
			struct bench_child c;

			if (can[p] && bench_spawn(argv, env[p], &c)) {
				can[p] = 0;
				snprintf(why[p], sizeof(why[p]), "failed: %.120s",
					 c.out[0] ? c.out : "(no output)");
				why[p][strcspn(why[p], "\n")] = '\0';
			}
		}

	for (int i = 0; i < runs; i++)
		for (int k = 0; k < NR_PEERS; k++) {
			int p = (i + k) % NR_PEERS; /* rotate who goes first */
			char *load[] = {child_path[p], "load",
					(char *)(root ? root : "/sys"), NULL};
			char *noop[] = {child_path[p], "noop", NULL};
			unsigned long long ns, bytes, dist;
			struct bench_child c;
			int count;

			if (!can[p])
				continue;
			if (bench_spawn(load, env[p], &c))
				return -1;
			if (sscanf(c.out, "%llu %d %llu %llu", &ns, &count,
				   &bytes, &dist) != 4) {
				fprintf(stderr, "topo_load: %s said: %s\n",
					bench_peer_names[p], c.out);
				return -1;
			}
			bench_add(&smp[ROW_CALL][p], ns);
			bench_add(&smp[ROW_PROCESS][p], c.wall_ns);
			if (!sum[p][0]) {
				snprintf(sum[p], sizeof(sum[p]),
					 "%d memblks, %llu MiB", count,
					 bytes >> 20);
				dsum[p] = dist;
			}
			if (bench_spawn(noop, env[p], &c))
				return -1;
			bench_add(&smp[ROW_NOOP][p], c.wall_ns);
		}

	printf("#### %s\n\n", title);
	bench_table_head("case");
	for (int r = 0; r < NR_ROWS; r++) {
		struct bench_stats st[NR_PEERS];

		for (int p = 0; p < NR_PEERS; p++) {
			st[p] = bench_stats(&smp[r][p]);
			bench_free(&smp[r][p]);
		}
		bench_table_row(row_names[r], st);
	}
	printf("\n%d cold processes per peer and case. What each peer "
	       "found:\n\n",
	       runs);
	for (int p = 0; p < NR_PEERS; p++) {
		if (!can[p]) {
			printf("- %s: n/a, %s\n", bench_peer_names[p], why[p]);
			continue;
		}
		if (!dsum[p] && p == PEER_HWLOC) {
			/* hwloc keeps no matrix for a single node */
			printf("- %s: %s, no distance matrix\n",
			       bench_peer_names[p], sum[p]);
			nodist = 1;
		} else {
			printf("- %s: %s, distance sum %llu\n",
			       bench_peer_names[p], sum[p], dsum[p]);
		}
		if (first < 0)
			first = p;
		else if (strcmp(sum[p], sum[first]) ||
			 (dsum[p] != dsum[first] && dsum[p] && dsum[first]))
			agree = 0;
	}
	printf("\n%s%s\n\n",
	       agree ? "The peers agree." : "**The peers disagree** (see above).",
	       nodist ? " (hwloc builds no distance matrix for one NUMA node.)" :
			"");
	return 0;
}

int main(void)
{
	const char *tree = getenv("MEMBIND_BENCH_TREE");
	const char *name = getenv("MEMBIND_BENCH_TREE_NAME");
	const char *hwroot = getenv("MEMBIND_BENCH_HWLOC_ROOT");
	int runs = bench_runs(400, 20);
	char title[512];

	find_children();
	printf("### Topology load in a cold process (`topo_load`)\n\n");
	printf("Each sample is a fresh process (posix_spawn) that links only "
	       "its peer's library and gets the memblk count, every memblk's "
	       "size and the distance matrix between memblks: membind "
	       "`memblk_count`, `memblk_size`, `memblk_distance`; libnuma "
	       "`numa_available`, `numa_num_configured_nodes`, "
	       "`numa_node_size64`, `numa_distance`; hwloc "
	       "`hwloc_topology_init` + `hwloc_topology_load`, NUMA node "
	       "`local_memory`, `hwloc_distances_get_by_type`; raw: "
	       "`online`, `has_memory`, `nodeN/meminfo`, `nodeN/distance` read "
	       "by hand. Cells: **median** (p10 – p90). The first row is timed "
	       "inside the child from just before its first call; the others "
	       "by the parent from posix_spawn() to waitpid(). libnuma does "
	       "part of its work in an ELF constructor, before main, which "
	       "only the process rows see. On a captured tree membind reads "
	       "`MEMBIND_SYSFS_ROOT`, hwloc `HWLOC_FSROOT` (a copy of the tree "
	       "as `sys/`), raw the tree's path; libnuma can read only the real "
	       "/sys, so there the comparison is membind vs hwloc.\n\n");
	if (measure("This machine (/sys)", NULL, NULL, runs))
		return 1;
	if (tree && *tree) {
		snprintf(title, sizeof(title), "Tree: %s",
			 name && *name ? name : tree);
		if (measure(title, tree, hwroot && *hwroot ? hwroot : NULL,
			    runs))
			return 1;
	}
	return 0;
}
#endif
