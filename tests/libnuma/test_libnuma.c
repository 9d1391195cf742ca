/* SPDX-License-Identifier: MIT */
/*
 * membind's libnuma.so.1 against numa(3), compiled with libnuma-dev's
 * <numa.h> as any libnuma program is.
 *
 *   test_libnuma api          bitmasks, parsing, hooks, policies (this host)
 *   test_libnuma tree NAME    topology queries on a captured tree
 *                             (MEMBIND_SYSFS_ROOT must point at it)
 *   test_libnuma guest        placement on a multi-node guest: memoryless and
 *                             CPU-less nodes as numa(3) describes them
 *   test_libnuma weighted     the weighted interleave calls (numactl 2.0.19
 *                             and after): placement by the kernel's weights
 *                             where there are two nodes with memory; in a
 *                             tests/vm guest it sets the weights first
 *
 * The cases where Debian's libnuma 2.0.16 answers otherwise are marked
 * "libnuma:" below and listed in docs/libnuma.md.
 */
#include <dlfcn.h>
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Exported but not in <numa.h> (numactl's own tests declare it too). */
extern int numa_parse_bitmap(char *line, struct bitmask *mask);

/* After 2.0.16: libnuma-dev 2.0.16's headers do not declare them, and
 * they are looked up by name and version, so that this program still runs
 * on Debian's libnuma (the guests' "for comparison" run). */
static void (*set_wi_mask)(struct bitmask *);
static struct bitmask *(*get_wi_mask)(void);
static void *(*alloc_wi)(size_t);
static void *(*alloc_wi_subset)(size_t, struct bitmask *);
static void (*wi_memory)(void *, size_t, struct bitmask *);
static int (*has_home_node)(void);
static int (*set_home_node)(void *, unsigned long, int, int);

static void *later(const char *name, const char *version)
{
	void *f = dlvsym(RTLD_DEFAULT, name, version);

	if (!f)
		fprintf(stderr, "no %s@%s\n", name, version);
	return f;
}

/* Every later call with numactl's version; 0 if one is missing. */
static int find_later(void)
{
	*(void **)&set_wi_mask = later("numa_set_weighted_interleave_mask", "libnuma_2.1");
	*(void **)&get_wi_mask = later("numa_get_weighted_interleave_mask", "libnuma_2.1");
	*(void **)&alloc_wi = later("numa_alloc_weighted_interleaved", "libnuma_2.1");
	*(void **)&alloc_wi_subset = later("numa_alloc_weighted_interleaved_subset", "libnuma_2.1");
	*(void **)&wi_memory = later("numa_weighted_interleave_memory", "libnuma_2.1");
	*(void **)&has_home_node = later("numa_has_home_node", "libnuma_1.7");
	*(void **)&set_home_node = later("numa_set_mempolicy_home_node", "libnuma_1.7");
	return set_wi_mask && get_wi_mask && alloc_wi && alloc_wi_subset &&
	       wi_memory && has_home_node && set_home_node;
}
#ifndef MPOL_WEIGHTED_INTERLEAVE
#define MPOL_WEIGHTED_INTERLEAVE 6
#endif

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: FAIL %s\n", __FILE__,          \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

/* The program's own hooks: the library must call these, not its own. */
static int errors_seen, warnings_seen;
static char last_where[128];

void numa_error(char *where)
{
	errors_seen++;
	snprintf(last_where, sizeof(last_where), "%s", where);
}

void numa_warn(int num, char *fmt, ...)
{
	(void)num;
	(void)fmt;
	warnings_seen++;
}

static int list_is(struct bitmask *b, const char *want)
{
	char buf[512] = "";
	size_t len = 0;

	for (unsigned i = 0; i < b->size; i++)
		if (numa_bitmask_isbitset(b, i))
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
						"%s%u", len ? "," : "", i);
	if (strcmp(buf, want)) {
		fprintf(stderr, "  mask is '%s', want '%s'\n", buf, want);
		return 0;
	}
	return 1;
}

static int parse_is(struct bitmask *(*fn)(const char *), const char *s,
		    const char *want)
{
	struct bitmask *b = fn(s);
	int ok;

	if (!want)
		ok = b == NULL;
	else
		ok = b && list_is(b, want);
	if (!ok)
		fprintf(stderr, "  parse '%s' -> %s\n", s,
			b ? "a mask" : "NULL");
	numa_bitmask_free(b);
	return ok;
}

static void test_bitmasks(void)
{
	struct bitmask *a = numa_bitmask_alloc(100), *b = numa_bitmask_alloc(300);
	nodemask_t nm;
	char line[] = "00000000,00000001,80000000\n";

	CHECK(a && b && a->size == 100 && b->size == 300);
	CHECK(numa_bitmask_nbytes(a) == 2 * sizeof(long));
	CHECK(numa_bitmask_weight(a) == 0);
	numa_bitmask_setbit(a, 99);
	numa_bitmask_setbit(a, 100); /* beyond the size: nothing */
	CHECK(numa_bitmask_isbitset(a, 99) && !numa_bitmask_isbitset(a, 100));
	CHECK(!numa_bitmask_isbitset(a, 5000));
	CHECK(numa_bitmask_weight(a) == 1);
	CHECK(!numa_bitmask_equal(a, b));
	numa_bitmask_setbit(b, 99);
	CHECK(numa_bitmask_equal(a, b)); /* missing bits count as 0 */
	numa_bitmask_setall(a);
	CHECK(numa_bitmask_weight(a) == 100);
	numa_bitmask_clearbit(a, 0);
	CHECK(numa_bitmask_weight(a) == 99 && !numa_bitmask_isbitset(a, 0));
	numa_bitmask_clearall(a);
	CHECK(numa_bitmask_weight(a) == 0);

	numa_bitmask_setbit(b, 200);
	copy_bitmask_to_nodemask(b, &nm); /* truncated to 128 bits */
	CHECK(nodemask_isset_compat(&nm, 99) && !nodemask_isset_compat(&nm, 127));
	numa_bitmask_setall(a);
	copy_nodemask_to_bitmask(&nm, a);
	CHECK(list_is(a, "99"));
	copy_bitmask_to_bitmask(b, a); /* truncated to a's words */
	CHECK(list_is(a, "99"));

	CHECK(numa_parse_bitmap(line, b) == 0);
	CHECK(list_is(b, "31,32"));
	CHECK(numa_parse_bitmap((char[]){ "zz" }, b) < 0);
	numa_bitmask_free(a);
	numa_bitmask_free(b);

	errno = 0;
	errors_seen = 0;
	CHECK(numa_bitmask_alloc(0) == NULL && errno == EINVAL);
	CHECK(errors_seen == 1);
}

/* This host: one node or more, policies of the calling thread. */
static void test_api(void)
{
	int pagesize = getpagesize(), mode = -1, node0, status = -1;
	struct bitmask *b, *m;
	char *p;

	CHECK(numa_available() == 0);
	CHECK(numa_pagesize() == pagesize);
	CHECK(numa_max_node() >= 0);
	CHECK(numa_num_possible_nodes() >= numa_max_node() + 1);
	CHECK(numa_max_possible_node() == numa_num_possible_nodes() - 1);
	CHECK(numa_num_configured_cpus() >= numa_num_task_cpus());
	CHECK(numa_num_task_cpus() == CPU_COUNT(&(cpu_set_t){0}) ||
	      numa_num_task_cpus() > 0);
	CHECK(numa_all_nodes_ptr && numa_nodes_ptr && numa_no_nodes_ptr &&
	      numa_all_cpus_ptr);
	CHECK(numa_bitmask_weight(numa_no_nodes_ptr) == 0);
	CHECK(numa_all_cpus_ptr->size == (unsigned long)numa_num_possible_cpus());
	CHECK(numa_all_nodes_ptr->size ==
	      (unsigned long)numa_num_possible_nodes());
	node0 = (int)numa_bitmask_isbitset(numa_nodes_ptr, 0) ? 0 : -1;
	for (int n = 0; node0 < 0 && n <= numa_max_node(); n++)
		if (numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned)n))
			node0 = n;
	CHECK(node0 >= 0);
	CHECK(numa_distance(node0, node0) == 10);
	CHECK(numa_distance(node0, numa_max_possible_node()) == 0);
	CHECK(numa_node_of_cpu(-1) == -1 && errno == EINVAL);
	CHECK(numa_node_of_cpu(sched_getcpu()) >= 0);

	b = numa_allocate_cpumask();
	CHECK(numa_node_to_cpus(numa_node_of_cpu(0), b) == 0 &&
	      numa_bitmask_isbitset(b, 0));
	errno = 0;
	CHECK(numa_node_to_cpus(numa_max_possible_node(), b) == -1 &&
	      errno == EINVAL);
	CHECK(numa_sched_getaffinity(0, b) > 0 && numa_bitmask_weight(b) > 0);
	numa_bitmask_free(b);

	/* Parsing. */
	CHECK(parse_is(numa_parse_nodestring, "0", "0"));
	CHECK(parse_is(numa_parse_nodestring, "", ""));
	warnings_seen = 0;
	CHECK(parse_is(numa_parse_nodestring, "1-0", NULL));
	CHECK(parse_is(numa_parse_nodestring, "x", NULL));
	CHECK(parse_is(numa_parse_nodestring, "1000000", NULL));
	CHECK(warnings_seen == 3); /* through the program's numa_warn */
	CHECK(parse_is(numa_parse_cpustring_all, "0", "0"));
	CHECK(parse_is(numa_parse_cpustring, "+0", "0"));
	b = numa_parse_nodestring("all");
	CHECK(b && numa_bitmask_equal(b, numa_all_nodes_ptr));
	numa_bitmask_free(b);

	/* Sizes. */
	{
		long long fr = 0, sz = numa_node_size64(node0, &fr);
		long lfr = 0;

		CHECK(sz > 0 && fr > 0 && fr <= sz);
		CHECK(numa_node_size(node0, &lfr) == (long)sz && lfr > 0);
		CHECK(numa_node_size64(numa_max_possible_node(), &fr) == -1);
	}

	/* A call that succeeds leaves errno alone: numactl tests errno after
	 * calls that return nothing (checkerror()). */
	{
		struct bitmask *c = numa_allocate_cpumask(), *r;
		char *q;

		numa_node_to_cpu_update();
		errno = 4242;
		CHECK(numa_node_to_cpus(node0, c) == 0);
		r = numa_parse_nodestring("0");
		numa_bitmask_free(r);
		r = numa_parse_cpustring_all("0");
		numa_bitmask_free(r);
		r = numa_get_run_node_mask();
		numa_bitmask_free(r);
		CHECK(numa_run_on_node_mask_all(numa_all_nodes_ptr) == 0);
		numa_set_localalloc();
		numa_set_preferred(-1);
		(void)numa_has_preferred_many();
		(void)numa_num_configured_cpus();
		(void)numa_preferred();
		q = numa_alloc_local((size_t)pagesize);
		numa_free(q, (size_t)pagesize);
		CHECK(errno == 4242);
		numa_bitmask_free(c);
	}

	/* Task policy: the calling thread's. */
	m = numa_allocate_nodemask();
	numa_bitmask_setbit(m, (unsigned)node0);
	numa_set_membind(m);
	CHECK(get_mempolicy(&mode, NULL, 0, NULL, 0) == 0 && mode == MPOL_BIND);
	b = numa_get_membind();
	CHECK(numa_bitmask_equal(b, m));
	numa_bitmask_free(b);
	CHECK(numa_preferred() == node0);
	b = numa_preferred_many();
	CHECK(numa_bitmask_equal(b, m));
	numa_bitmask_free(b);
	numa_set_interleave_mask(m);
	CHECK(get_mempolicy(&mode, NULL, 0, NULL, 0) == 0 &&
	      mode == MPOL_INTERLEAVE);
	b = numa_get_interleave_mask();
	CHECK(numa_bitmask_equal(b, m));
	numa_bitmask_free(b);
	CHECK(numa_get_interleave_node() == node0);
	numa_set_preferred(node0);
	CHECK(get_mempolicy(&mode, NULL, 0, NULL, 0) == 0 &&
	      mode == MPOL_PREFERRED && numa_preferred() == node0);
	numa_set_localalloc();
	CHECK(get_mempolicy(&mode, NULL, 0, NULL, 0) == 0 &&
	      (mode == MPOL_LOCAL || mode == MPOL_DEFAULT));
	b = numa_get_interleave_mask();
	CHECK(numa_bitmask_weight(b) == 0);
	numa_bitmask_free(b);
	b = numa_get_membind(); /* not bound: every allowed node */
	CHECK(numa_bitmask_equal(b, numa_all_nodes_ptr));
	numa_bitmask_free(b);
	numa_set_membind_balancing(m);
	CHECK(get_mempolicy(&mode, NULL, 0, NULL, 0) == 0 &&
	      (mode & 0xff) == MPOL_BIND);
	numa_set_interleave_mask(numa_no_nodes_ptr);
	CHECK(get_mempolicy(&mode, NULL, 0, NULL, 0) == 0 &&
	      mode == MPOL_DEFAULT);

	/* A failing call goes to the program's numa_error, errno kept. */
	errors_seen = 0;
	numa_set_membind(numa_no_nodes_ptr);
	CHECK(errors_seen == 1 && !strcmp(last_where, "set_mempolicy"));
	CHECK(errno == EINVAL);
	CHECK(get_mempolicy(&mode, NULL, 0, NULL, 0) == 0 &&
	      mode == MPOL_DEFAULT);

	/* Memory. */
	p = numa_alloc_onnode(4 * (size_t)pagesize, node0);
	CHECK(p != NULL);
	if (p) {
		void *pg = p;

		p[0] = 1;
		CHECK(numa_move_pages(0, 1, &pg, NULL, &status, 0) == 0 &&
		      status == node0);
		CHECK(get_mempolicy(&mode, NULL, 0, p, MPOL_F_ADDR) == 0 &&
		      mode == MPOL_BIND);
		p = numa_realloc(p, 4 * (size_t)pagesize, 64 * (size_t)pagesize);
		CHECK(p && p[0] == 1);
		if (p) {
			CHECK(get_mempolicy(&mode, NULL, 0, p + 63 * pagesize,
					    MPOL_F_ADDR) == 0 &&
			      mode == MPOL_BIND);
			numa_free(p, 64 * (size_t)pagesize);
		}
	}
	numa_set_bind_policy(0);
	p = numa_alloc_onnode((size_t)pagesize, node0);
	CHECK(p && get_mempolicy(&mode, NULL, 0, p, MPOL_F_ADDR) == 0 &&
	      mode == MPOL_PREFERRED);
	numa_free(p, (size_t)pagesize);
	numa_set_bind_policy(1);
	p = numa_alloc_interleaved(3 * (size_t)pagesize);
	CHECK(p && get_mempolicy(&mode, NULL, 0, p, MPOL_F_ADDR) == 0 &&
	      mode == MPOL_INTERLEAVE);
	if (p)
		numa_police_memory(p, 3 * (size_t)pagesize);
	numa_free(p, 3 * (size_t)pagesize);
	p = numa_alloc_local((size_t)pagesize);
	CHECK(p && get_mempolicy(&mode, NULL, 0, p, MPOL_F_ADDR) == 0 &&
	      (mode == MPOL_LOCAL || mode == MPOL_PREFERRED));
	numa_free(p, (size_t)pagesize);
	p = numa_alloc((size_t)pagesize);
	CHECK(p != NULL);
	numa_free(p, (size_t)pagesize);
	errors_seen = 0;
	CHECK(numa_alloc_interleaved_subset((size_t)pagesize,
					    numa_no_nodes_ptr) == NULL);
	CHECK(errors_seen == 1);

	/* CPUs. */
	b = numa_get_run_node_mask();
	CHECK(numa_bitmask_isbitset(b, (unsigned)numa_node_of_cpu(sched_getcpu())));
	numa_bitmask_free(b);
	CHECK(numa_run_on_node(numa_node_of_cpu(0)) == 0);
	CHECK(numa_run_on_node(-1) == 0);
	CHECK(numa_run_on_node_mask(numa_all_nodes_ptr) == 0);
	errno = 0;
	CHECK(numa_run_on_node(numa_max_possible_node()) == -1 &&
	      errno == EINVAL);
	numa_bind(m);
	CHECK(get_mempolicy(&mode, NULL, 0, NULL, 0) == 0 && mode == MPOL_BIND);
	numa_set_localalloc();
	CHECK(numa_run_on_node(-1) == 0);
	numa_bitmask_free(m);
	CHECK(errors_seen == 1);

	/* numactl 2.0.19's home node calls (set_mempolicy_home_node, Linux
	 * 5.17): a home node for a range bound to a node; an interleaved
	 * range is refused (EOPNOTSUPP) through numa_error(). */
	{
		size_t ps = (size_t)getpagesize();
		int node = numa_node_of_cpu(sched_getcpu());
		char *r = numa_alloc_onnode(4 * ps, node);
		int found = find_later();

		CHECK(r != NULL);
		CHECK(found);
		if (r && found && has_home_node()) {
			CHECK(set_home_node(r, 4 * ps, node, 0) == 0);
			numa_free(r, 4 * ps);
			r = numa_alloc_interleaved(4 * ps);
			errno = 0;
			CHECK(r && set_home_node(r, 4 * ps, node, 0) == -1 &&
			      errno == EOPNOTSUPP && errors_seen == 2 &&
			      !strcmp(last_where, "set_mempolicy_home_node"));
		} else if (r && found) {
			printf("(no set_mempolicy_home_node in this kernel: not checked)\n");
		}
		if (r)
			numa_free(r, 4 * ps);
	}
}

static const char *tree;

/* A captured tree (MEMBIND_SYSFS_ROOT): the topology numa(3) describes. */
static void test_tree(void)
{
	struct bitmask *c = numa_allocate_cpumask();
	long long fr;

	if (!strcmp(tree, "sparse")) {
		/* nodes 0,2,5,7; 5 has no CPU */
		CHECK(numa_max_node() == 7);
		CHECK(list_is(numa_nodes_ptr, "0,2,5,7"));
		CHECK(list_is(numa_all_nodes_ptr, "0,2,5,7"));
		CHECK(numa_num_configured_nodes() == 4);
		CHECK(numa_distance(0, 7) == 32 && numa_distance(7, 0) == 32);
		CHECK(numa_distance(5, 2) == 41 && numa_distance(2, 7) == 21);
		CHECK(numa_distance(1, 0) == 0 && numa_distance(0, 6) == 0);
		CHECK(numa_node_to_cpus(7, c) == 0 && list_is(c, "4,5"));
		CHECK(numa_node_to_cpus(5, c) == 0 && list_is(c, ""));
		errno = 0;
		CHECK(numa_node_to_cpus(1, c) == -1 && errno == EINVAL);
		CHECK(numa_node_of_cpu(4) == 7 && numa_node_of_cpu(2) == 2);
		CHECK(numa_node_size64(5, &fr) == 16777216LL * 1024);
		CHECK(numa_node_size64(1, &fr) == -1);
		CHECK(parse_is(numa_parse_nodestring, "5,7", "5,7"));
		CHECK(parse_is(numa_parse_nodestring, "1", NULL));
		CHECK(parse_is(numa_parse_nodestring, "!0", "2,5,7"));
		CHECK(parse_is(numa_parse_nodestring, "+1-2", "2,5"));
		CHECK(parse_is(numa_parse_nodestring, "all", "0,2,5,7"));
		CHECK(parse_is(numa_parse_nodestring_all, "0-1", NULL));
		CHECK(numa_num_configured_cpus() >= 6);
	} else if (!strcmp(tree, "memless")) {
		/* 0: memory + cpu0; 1: cpu1, no memory; 2: memory, no CPU */
		CHECK(numa_max_node() == 2);
		CHECK(list_is(numa_nodes_ptr, "0,1,2"));
		CHECK(list_is(numa_all_nodes_ptr, "0,2"));
		CHECK(numa_num_configured_nodes() == 2);
		CHECK(numa_node_to_cpus(1, c) == 0 && list_is(c, "1"));
		CHECK(numa_node_to_cpus(2, c) == 0 && list_is(c, ""));
		CHECK(numa_node_of_cpu(1) == 1);
		CHECK(numa_distance(1, 2) == 25);
		CHECK(numa_node_size64(1, &fr) == 0 && fr == 0);
		/* libnuma: "1" is refused (not in Mems_allowed), so
		 * numactl --cpunodebind=1 fails on a memoryless node. */
		CHECK(parse_is(numa_parse_nodestring, "1", "1"));
		CHECK(parse_is(numa_parse_nodestring, "!0", "2"));
		CHECK(parse_is(numa_parse_nodestring, "all", "0,2"));
	} else if (!strcmp(tree, "cxl")) {
		CHECK(numa_max_node() == 3 && numa_num_configured_nodes() == 4);
		CHECK(numa_node_to_cpus(2, c) == 0 && list_is(c, ""));
		CHECK(numa_node_to_cpus(1, c) == 0 && list_is(c, "1"));
		CHECK(numa_distance(0, 3) == 28 && numa_distance(1, 3) == 24);
		CHECK(numa_node_of_cpu(2) == -1);
	} else if (!strcmp(tree, "no-node0")) {
		/* libnuma assumes a node 0 in places */
		CHECK(numa_max_node() == 2);
		CHECK(list_is(numa_nodes_ptr, "1,2"));
		CHECK(numa_node_to_cpus(0, c) == -1);
		CHECK(numa_node_of_cpu(0) == 1 && numa_node_of_cpu(7) == 2);
		CHECK(numa_distance(1, 2) == 40 && numa_distance(0, 1) == 0);
		CHECK(parse_is(numa_parse_nodestring, "0", NULL));
		CHECK(parse_is(numa_parse_nodestring, "+0", "1"));
	} else {
		fprintf(stderr, "no checks for tree %s\n", tree);
		failures++;
	}
	numa_bitmask_free(c);
}

/* The node of a page, or -errno. */
static int page_node(void *p)
{
	int st = -1;

	if (numa_move_pages(0, 1, &p, NULL, &st, 0) < 0)
		return -errno;
	return st;
}

/* A multi-node guest: what numa(3) says on memoryless and CPU-less
 * nodes (tests/vm topologies memless and cxl). */
static int test_guest(void)
{
	int pagesize = getpagesize(), mode = -1;
	struct bitmask *b;
	char *p;

	if (numa_max_node() < 1) {
		printf("SKIP: one node\n");
		return 77;
	}
	/* Every node exists; every one with memory takes a page. */
	for (int n = 0; n <= numa_max_node(); n++) {
		long long sz = numa_node_size64(n, NULL);

		if (!numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)n))
			continue;
		p = numa_alloc_onnode((size_t)pagesize, n);
		CHECK(p != NULL);
		if (!p)
			continue;
		p[0] = 1;
		if (sz > 0) {
			CHECK(page_node(p) == n);
		} else {
			/* memoryless: the nearest node with memory.
			 * libnuma: mbind() fails, numa_error() prints and
			 * the page lands wherever the policy puts it. */
			int near = -1, best = 1 << 30;

			for (int m = 0; m <= numa_max_node(); m++)
				if (numa_bitmask_isbitset(numa_all_nodes_ptr,
							  (unsigned)m) &&
				    numa_distance(n, m) < best) {
					best = numa_distance(n, m);
					near = m;
				}
			CHECK(page_node(p) == near);
			printf("memoryless node %d: page on node %d\n", n,
			       page_node(p));
		}
		numa_free(p, (size_t)pagesize);
	}
	/* Each node with CPUs can be run on; a CPU-less one cannot. */
	b = numa_allocate_cpumask();
	for (int n = 0; n <= numa_max_node(); n++) {
		if (!numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)n))
			continue;
		CHECK(numa_node_to_cpus(n, b) == 0);
		if (numa_bitmask_weight(b)) {
			struct bitmask *r;

			CHECK(numa_run_on_node(n) == 0);
			r = numa_get_run_node_mask();
			/* libnuma: a memoryless node is left out */
			CHECK(list_is(r, (char[8]){ (char)('0' + n), 0 }));
			numa_bitmask_free(r);
			CHECK(numa_node_of_cpu(sched_getcpu()) == n);
			if (numa_node_size64(n, NULL) == 0) {
				/* "the node on which the kernel preferably
				 * allocates": a memoryless node's CPUs get
				 * the nearest memory */
				int pref = numa_preferred();

				p = numa_alloc_local((size_t)pagesize);
				CHECK(p != NULL);
				if (p) {
					p[0] = 1;
					CHECK(page_node(p) == pref);
					numa_free(p, (size_t)pagesize);
				}
				CHECK(numa_bitmask_isbitset(numa_all_nodes_ptr,
							    (unsigned)pref));
			}
		} else {
			errno = 0;
			CHECK(numa_run_on_node(n) == -1 && errno == EINVAL);
		}
	}
	CHECK(numa_run_on_node_mask(numa_all_nodes_ptr) == 0);
	CHECK(numa_sched_getaffinity(0, b) > 0 &&
	      numa_bitmask_weight(b) == (unsigned)numa_num_configured_cpus());
	numa_bitmask_free(b);

	/* Interleave over every node with memory. */
	p = numa_alloc_interleaved(16 * (size_t)pagesize);
	CHECK(p && get_mempolicy(&mode, NULL, 0, p, MPOL_F_ADDR) == 0 &&
	      mode == MPOL_INTERLEAVE);
	if (p) {
		struct bitmask *seen = numa_allocate_nodemask();

		for (int i = 0; i < 16; i++) {
			p[i * pagesize] = 1;
			if (page_node(p + i * pagesize) >= 0)
				numa_bitmask_setbit(seen, (unsigned)page_node(
							   p + i * pagesize));
		}
		CHECK(numa_bitmask_equal(seen, numa_all_nodes_ptr));
		numa_bitmask_free(seen);
		numa_free(p, 16 * (size_t)pagesize);
	}
	/* numa_migrate_pages: every page of ours from one node to another */
	{
		struct bitmask *from = numa_allocate_nodemask();
		struct bitmask *to = numa_allocate_nodemask();
		int first = -1, last = -1;

		for (int n = 0; n <= numa_max_node(); n++)
			if (numa_bitmask_isbitset(numa_all_nodes_ptr,
						  (unsigned)n)) {
				if (first < 0)
					first = n;
				last = n;
			}
		p = numa_alloc_onnode(8 * (size_t)pagesize, first);
		numa_set_bind_policy(0);
		if (p) {
			memset(p, 1, 8 * (size_t)pagesize);
			CHECK(page_node(p) == first);
			numa_free(p, 8 * (size_t)pagesize);
		}
		p = numa_alloc(8 * (size_t)pagesize);
		if (p) {
			void *pages[8];
			int nodes[8], st[8];

			memset(p, 1, 8 * (size_t)pagesize);
			for (int i = 0; i < 8; i++) {
				pages[i] = p + i * pagesize;
				nodes[i] = last;
			}
			CHECK(numa_move_pages(0, 8, pages, nodes, st,
					      MPOL_MF_MOVE) == 0);
			CHECK(page_node(p) == last && page_node(pages[7]) == last);
			numa_bitmask_setbit(from, (unsigned)last);
			numa_bitmask_setbit(to, (unsigned)first);
			CHECK(numa_migrate_pages(0, from, to) >= 0);
			CHECK(page_node(p) == first);
			numa_free(p, 8 * (size_t)pagesize);
		}
		numa_set_bind_policy(1);
		numa_bitmask_free(from);
		numa_bitmask_free(to);
	}
	return 0;
}

#define WI_DIR "/sys/kernel/mm/mempolicy/weighted_interleave/node"

/* The kernel's weight for a node (1 when it has no file: the default). */
static int wi_weight(int node)
{
	char path[96];
	FILE *f;
	int w = 1;

	snprintf(path, sizeof(path), WI_DIR "%d", node);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &w) != 1)
			w = -1;
		fclose(f);
	}
	return w;
}

static int wi_set_weight(int node, int w)
{
	char path[96];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), WI_DIR "%d", node);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = fprintf(f, "%d\n", w) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Pages of p[0..pages) per node: counts[node] += 1. */
static void count_pages(char *p, int pages, int *counts, int max)
{
	for (int i = 0; i < pages; i++) {
		int n = page_node(p + (size_t)i * (size_t)getpagesize());

		if (n >= 0 && n <= max)
			counts[n]++;
		else
			CHECK(n >= 0 && n <= max);
	}
}

/* numa_set_weighted_interleave_mask() and the rest.  With weights w[n]
 * over the mask's nodes (sum W), a range's page i goes by (its interleave
 * index mod W): k*W pages put exactly k*w[n] on node n.  A task policy
 * moves a per-thread rotor that the kernel's own allocations for this task
 * move too, so there the count may be off by up to W. */
static int test_weighted(void)
{
	size_t ps = (size_t)getpagesize();
	int max = numa_max_node(), mode = -1, first = -1, second = -1;
	struct bitmask *mask = numa_allocate_nodemask(), *got;
	int *w = calloc((size_t)max + 1, sizeof(int));
	int *saved = calloc((size_t)max + 1, sizeof(int));
	int *counts = calloc((size_t)max + 1, sizeof(int));
	bool vm = getenv("MEMBIND_VM_TOPOLOGY") != NULL;
	int total = 0, k = 8, ret = 0;
	char *p;

	if (!mask || !w || !saved || !counts || !find_later()) {
		printf("FAIL: out of memory, or a call is missing\n");
		return 1;
	}
	for (int n = 0; n <= max; n++)
		if (numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned)n)) {
			if (first < 0)
				first = n;
			else if (second < 0)
				second = n;
		}
	numa_bitmask_setbit(mask, (unsigned)first);
	if (second >= 0)
		numa_bitmask_setbit(mask, (unsigned)second);

	if (set_mempolicy(MPOL_WEIGHTED_INTERLEAVE, mask->maskp,
			  mask->size + 1) < 0) {
		/* numa(3): errors go through numa_error(); NULL, no policy */
		int before = errors_seen;

		CHECK(errno == EINVAL);
		CHECK(alloc_wi(ps) == NULL);
		CHECK(alloc_wi_subset(ps, mask) == NULL);
		set_wi_mask(mask);
		CHECK(get_mempolicy(&mode, NULL, 0, NULL, 0) == 0 &&
		      mode == MPOL_DEFAULT);
		got = get_wi_mask();
		CHECK(got && numa_bitmask_weight(got) == 0);
		numa_bitmask_free(got);
		CHECK(errors_seen == before + 3);
		printf("SKIP: this kernel has no MPOL_WEIGHTED_INTERLEAVE (Linux 6.9+); the calls fail through numa_error() as numa(3) says (%d check(s) failed)\n",
		       failures);
		ret = failures ? 1 : 77;
		goto out;
	}
	set_mempolicy(MPOL_DEFAULT, NULL, 0);

	/* The task policy: set, read back, turned off by an empty mask. */
	set_wi_mask(mask);
	CHECK(get_mempolicy(&mode, NULL, 0, NULL, 0) == 0 &&
	      mode == MPOL_WEIGHTED_INTERLEAVE);
	got = get_wi_mask();
	CHECK(got && numa_bitmask_equal(got, mask));
	numa_bitmask_free(got);
	got = numa_get_interleave_mask();
	CHECK(got && numa_bitmask_weight(got) == 0);
	numa_bitmask_free(got);
	set_wi_mask(numa_no_nodes_ptr);
	CHECK(get_mempolicy(&mode, NULL, 0, NULL, 0) == 0 &&
	      mode == MPOL_DEFAULT);

	if (second < 0) {
		p = alloc_wi(4 * ps);
		CHECK(p != NULL);
		if (p) {
			memset(p, 1, 4 * ps);
			CHECK(page_node(p) == first);
			numa_free(p, 4 * ps);
		}
		printf("SKIP: one node with memory: the weighted placement was not checked (%d check(s) failed)\n",
		       failures);
		ret = failures ? 1 : 77;
		goto out;
	}

	/* In a guest, distinct weights (restored after): 3 and 1. */
	for (int n = 0; n <= max; n++)
		saved[n] = wi_weight(n);
	if (vm) {
		CHECK(wi_set_weight(first, 3) == 0);
		CHECK(wi_set_weight(second, 1) == 0);
	}
	w[first] = wi_weight(first);
	w[second] = wi_weight(second);
	CHECK(w[first] > 0 && w[second] > 0);
	total = w[first] + w[second];
	printf("weights: node %d %d, node %d %d\n", first, w[first], second,
	       w[second]);

	/* A range: alloc_wi_subset() */
	p = alloc_wi_subset((size_t)(k * total) * ps,
						   mask);
	CHECK(p && get_mempolicy(&mode, NULL, 0, p, MPOL_F_ADDR) == 0 &&
	      mode == MPOL_WEIGHTED_INTERLEAVE);
	if (p) {
		memset(p, 1, (size_t)(k * total) * ps);
		memset(counts, 0, ((size_t)max + 1) * sizeof(int));
		count_pages(p, k * total, counts, max);
		printf("numa_alloc_weighted_interleaved_subset: %d pages, node %d %d, node %d %d\n",
		       k * total, first, counts[first], second, counts[second]);
		CHECK(counts[first] == k * w[first]);
		CHECK(counts[second] == k * w[second]);
		numa_free(p, (size_t)(k * total) * ps);
	}
	/* wi_memory() on a mapping not touched yet */
	p = mmap(NULL, (size_t)(k * total) * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	if (p != MAP_FAILED) {
		wi_memory(p, (size_t)(k * total) * ps,
						mask);
		memset(p, 1, (size_t)(k * total) * ps);
		memset(counts, 0, ((size_t)max + 1) * sizeof(int));
		count_pages(p, k * total, counts, max);
		CHECK(counts[first] == k * w[first]);
		CHECK(counts[second] == k * w[second]);
		munmap(p, (size_t)(k * total) * ps);
	}
	/* alloc_wi(): every node with memory */
	p = alloc_wi(16 * ps);
	CHECK(p && get_mempolicy(&mode, NULL, 0, p, MPOL_F_ADDR) == 0 &&
	      mode == MPOL_WEIGHTED_INTERLEAVE);
	if (p)
		numa_free(p, 16 * ps);
	/* The task policy: pages faulted in under it */
	p = mmap(NULL, (size_t)(k * total) * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	if (p != MAP_FAILED) {
		set_wi_mask(mask);
		memset(p, 1, (size_t)(k * total) * ps);
		set_wi_mask(numa_no_nodes_ptr);
		memset(counts, 0, ((size_t)max + 1) * sizeof(int));
		count_pages(p, k * total, counts, max);
		printf("numa_set_weighted_interleave_mask: %d pages, node %d %d, node %d %d\n",
		       k * total, first, counts[first], second, counts[second]);
		CHECK(abs(counts[first] - k * w[first]) <= total);
		CHECK(counts[first] + counts[second] == k * total);
		munmap(p, (size_t)(k * total) * ps);
	}
	/* An empty mask is an error (EINVAL), through numa_error() */
	{
		int before = errors_seen;

		CHECK(alloc_wi_subset(ps, numa_no_nodes_ptr) == NULL);
		CHECK(errors_seen == before + 1);
	}
	if (vm)
		for (int n = 0; n <= max; n++)
			if (saved[n] > 0 && saved[n] != wi_weight(n))
				wi_set_weight(n, saved[n]);
out:
	numa_bitmask_free(mask);
	free(w);
	free(saved);
	free(counts);
	return ret;
}

int main(int argc, char **argv)
{
	/* In a tests/vm guest, with no arguments: api, then guest. */
	const char *mode = argc > 1 ? argv[1]
				    : getenv("MEMBIND_VM_TOPOLOGY") ? "vm" : "api";

	if (numa_available() < 0) {
		printf("SKIP: no NUMA in this kernel\n");
		return 77;
	}
	if (!strcmp(mode, "api")) {
		test_bitmasks();
		test_api();
	} else if (!strcmp(mode, "tree") && argc > 2) {
		tree = argv[2];
		test_tree();
	} else if (!strcmp(mode, "vm")) {
		test_bitmasks();
		test_api();
		if (test_guest() == 77)
			printf("(one node: the multi-node checks did not run)\n");
	} else if (!strcmp(mode, "weighted")) {
		int r = test_weighted();

		if (r == 77)
			return 77;
	} else if (!strcmp(mode, "guest")) {
		int r = test_guest();

		if (r == 77)
			return 77;
	} else {
		fprintf(stderr, "usage: %s api | tree NAME | guest | weighted\n", argv[0]);
		return 2;
	}
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
