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
 *
 * The cases where Debian's libnuma 2.0.16 answers otherwise are marked
 * "libnuma:" below and listed in docs/libnuma.md.
 */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Exported but not in <numa.h> (numactl's own tests declare it too). */
extern int numa_parse_bitmap(char *line, struct bitmask *mask);

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
	} else if (!strcmp(mode, "guest")) {
		int r = test_guest();

		if (r == 77)
			return 77;
	} else {
		fprintf(stderr, "usage: %s api | tree NAME | guest\n", argv[0]);
		return 2;
	}
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
