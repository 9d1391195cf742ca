/* SPDX-License-Identifier: MIT */
/*
 * Description: loading broken trees.  Each case starts from a good tree,
 * breaks one thing (missing or garbage online list, distance garbage or
 * count mismatch, zeros or a node farther from itself than from
 * another, huge node and CPU ids, meminfo missing for a node with
 * memory, oversize files, bad HMAT/tier/weight files, a FIFO or a
 * directory in place of a file, ...) and expects
 * mb_topo_load to return the right negative errno, leave its output alone
 * and not crash or leak (run under ASan in CI).  Also the public API on a
 * broken root: every call fails with the errno, and works once repaired.
 */
#include <sys/wait.h>

#include "internal.h"
#include "testutil.h"

typedef void (*breaker)(const char *root);

static struct mb_topo sentinel;

static void load_expect(const char *name, breaker fn, int err)
{
	char root[4096];
	struct mb_topo *t = &sentinel;
	int ret;

	t_tmpdir(root, sizeof(root));
	t_std_tree(root);
	fn(root);
	ret = mb_topo_load(root, &t);
	if (!ret) {
		/* The CPUs, HMAT files, weights and tiers load on first use:
		 * a broken one fails that, not the load. */
		int e = mb_topo_extras(t);

		if (e) {
			mb_topo_free(t);
			t = &sentinel;
			ret = e;
		}
	}
	if (ret != err)
		fprintf(stderr, "  %s: mb_topo_load = %d, want %d\n", name, ret,
			err);
	CHECK(ret == err);
	if (err) {
		CHECK(t == &sentinel);
	} else {
		CHECK(t != &sentinel && t != NULL);
		if (t != &sentinel)
			mb_topo_free(t);
	}
	t_rmtree(root);
}

#define ND STD_ND
static void b_nothing(const char *r) { (void)r; }
static void b_no_online(const char *r) { t_unlink(r, ND "/online"); }
static void b_empty_online(const char *r) { t_write(r, ND "/online", "\n"); }
static void b_garbage_online(const char *r) { t_write(r, ND "/online", "zero\n"); }
static void b_bad_range_online(const char *r) { t_write(r, ND "/online", "7-0\n"); }
static void b_no_has_memory(const char *r) { t_unlink(r, ND "/has_memory"); }
static void b_garbage_has_memory(const char *r) { t_write(r, ND "/has_memory", "0,,2\n"); }
static void b_huge_node(const char *r) { t_write(r, ND "/online", "0,2,5,7,5000\n"); }
static void b_huger_node(const char *r) { t_write(r, ND "/online", "0,99999999999999999999\n"); }
static void b_huge_has_memory(const char *r) { t_write(r, ND "/has_memory", "0,4096\n"); }
static void b_huge_possible(const char *r) { t_write(r, ND "/possible", "0-4096\n"); }
static void b_garbage_possible(const char *r) { t_write(r, ND "/possible", "0-\n"); }
static void b_no_possible(const char *r) { t_unlink(r, ND "/possible"); }
static void b_no_cpu_possible(const char *r) { t_unlink(r, "devices/system/cpu/possible"); }
static void b_garbage_cpu_possible(const char *r) { t_write(r, "devices/system/cpu/possible", "all\n"); }
static void b_huge_cpu_possible(const char *r) { t_write(r, "devices/system/cpu/possible", "0-65536\n"); }
static void b_online_node_dir_missing(const char *r)
{
	/* Node 3 online, with distances for five nodes, but no node3/. */
	t_write(r, ND "/online", "0,2,3,5,7\n");
	t_write(r, ND "/node0/distance", "10 20 30 30 40\n");
	t_write(r, ND "/node2/distance", "20 10 30 25 35\n");
	t_write(r, ND "/node5/distance", "30 25 30 10 15\n");
	t_write(r, ND "/node7/distance", "40 35 30 15 10\n");
}
static void b_no_cpulist(const char *r) { t_unlink(r, ND "/node2/cpulist"); }
static void b_garbage_cpulist(const char *r) { t_write(r, ND "/node2/cpulist", "2-3x\n"); }
static void b_cpu_beyond_possible(const char *r) { t_write(r, ND "/node2/cpulist", "2-8\n"); }
static void b_huge_cpu(const char *r) { t_write(r, ND "/node2/cpulist", "70000\n"); }
static void b_no_distance(const char *r) { t_unlink(r, ND "/node7/distance"); }
static void b_garbage_distance(const char *r) { t_write(r, ND "/node2/distance", "20 ten 25 35\n"); }
static void b_distance_short(const char *r) { t_write(r, ND "/node2/distance", "20 10 25\n"); }
static void b_distance_long(const char *r) { t_write(r, ND "/node2/distance", "20 10 25 35 40\n"); }
static void b_distance_empty(const char *r) { t_write(r, ND "/node5/distance", "%s", ""); }
static void b_distance_huge(const char *r) { t_write(r, ND "/node0/distance", "10 20 30 99999999999999999999\n"); }
static void b_distance_256(const char *r) { t_write(r, ND "/node0/distance", "10 20 30 256\n"); }
static void b_distance_oversize(const char *r)
{
	static char big[MB_FILE_MAX + 10];

	memset(big, ' ', sizeof(big));
	memcpy(big, "10 20 30 40", 11);
	t_write_n(r, ND "/node0/distance", big, sizeof(big));
}
static void b_distance_1025(const char *r)
{
	static char big[MB_FILE_MAX];
	size_t n = 0;

	for (int i = 0; i < 4097; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "1 ");
	t_write_n(r, ND "/node0/distance", big, n);
}
/* Distances the kernel never gives: zeros, a node farther from itself than
 * from another.  Remote distances equal to the local one it does give
 * (numa=fake), and those load. */
static void b_distance_zeros(const char *r)
{
	t_write(r, ND "/node0/distance", "0 0 0 0\n");
	t_write(r, ND "/node2/distance", "0 0 0 0\n");
	t_write(r, ND "/node5/distance", "0 0 0 0\n");
	t_write(r, ND "/node7/distance", "0 0 0 0\n");
}
static void b_distance_one_zero(const char *r) { t_write(r, ND "/node0/distance", "10 0 30 40\n"); }
static void b_distance_local_zero(const char *r) { t_write(r, ND "/node5/distance", "30 25 0 15\n"); }
static void b_distance_local_far(const char *r) { t_write(r, ND "/node7/distance", "40 35 15 20\n"); }
static void b_distance_local_equal(const char *r)
{
	t_write(r, ND "/node2/distance", "20 10 10 35\n");
	t_write(r, ND "/node5/distance", "30 10 10 15\n");
}
static void b_no_meminfo_mem(const char *r) { t_unlink(r, ND "/node2/meminfo"); }
static void b_garbage_meminfo_mem(const char *r) { t_write(r, ND "/node7/meminfo", "Node 7 MemTotal: lots\n"); }
static void b_truncated_meminfo(const char *r) { t_write(r, ND "/node0/meminfo", "Node 0 MemTotal: 1048576 kB\nNode 0 MemFr"); }
static void b_no_meminfo_memless(const char *r) { t_unlink(r, ND "/node5/meminfo"); }
static void b_garbage_meminfo_memless(const char *r) { t_write(r, ND "/node5/meminfo", "\x01\x02"); }
static void b_hmat_garbage(const char *r) { t_write(r, ND "/node7/access0/initiators/read_latency", "fast\n"); }
static void b_hmat_huge(const char *r) { t_write(r, ND "/node7/access0/initiators/read_bandwidth", "4294967296\n"); }
static void b_hmat_partial(const char *r) { t_unlink(r, ND "/node7/access0/initiators/write_latency"); }
static void b_weight_garbage(const char *r) { t_write(r, "kernel/mm/mempolicy/weighted_interleave/node0", "x\n"); }
static void b_weight_huge(const char *r) { t_write(r, "kernel/mm/mempolicy/weighted_interleave/node0", "256\n"); }
static void b_tier_garbage(const char *r) { t_write(r, "devices/virtual/memory_tiering/memory_tier4/nodelist", "0,,2\n"); }
static void b_tier_node_too_big(const char *r) { t_write(r, "devices/virtual/memory_tiering/memory_tier4/nodelist", "0,2,8\n"); }
static void b_tier_no_nodelist(const char *r) { t_unlink(r, "devices/virtual/memory_tiering/memory_tier4/nodelist"); }
static void b_tier_odd_name(const char *r) { t_write(r, "devices/virtual/memory_tiering/memory_tierX/nodelist", "garbage\n"); }
static void b_tier_huge_id(const char *r) { t_write(r, "devices/virtual/memory_tiering/memory_tier99999999999/nodelist", "garbage\n"); }
static void b_memory_not_online(const char *r) { t_write(r, ND "/has_memory", "0,1,2,7\n"); }
/* A file replaced by a FIFO (opening one for reading waits for a writer)
 * or by a directory: not a file of the tree. */
static void t_fifo(const char *r, const char *rel)
{
	char path[8192];

	t_unlink(r, rel);
	snprintf(path, sizeof(path), "%s/%s", r, rel);
	if (mkfifo(path, 0644)) {
		perror(path);
		exit(T_FAIL);
	}
}
static void b_fifo_meminfo(const char *r) { t_fifo(r, ND "/node0/meminfo"); }
static void b_fifo_meminfo_memless(const char *r) { t_fifo(r, ND "/node5/meminfo"); }
static void b_fifo_distance(const char *r) { t_fifo(r, ND "/node2/distance"); }
static void b_fifo_online(const char *r) { t_fifo(r, ND "/online"); }
static void b_fifo_cpulist(const char *r) { t_fifo(r, ND "/node2/cpulist"); }
static void b_fifo_weight(const char *r) { t_fifo(r, "kernel/mm/mempolicy/weighted_interleave/node0"); }
static void b_dir_distance(const char *r)
{
	char path[8192];

	t_unlink(r, ND "/node7/distance");
	snprintf(path, sizeof(path), "%s/" ND "/node7/distance", r);
	if (t_mkdirs(path)) {
		perror(path);
		exit(T_FAIL);
	}
}

static void test_loads(void)
{
	static const struct {
		const char *name;
		breaker fn;
		int err;
	} cases[] = {
		{"intact", b_nothing, 0},
		{"no online", b_no_online, -ENOENT},
		{"empty online", b_empty_online, -EINVAL},
		{"garbage online", b_garbage_online, -EINVAL},
		{"reversed range online", b_bad_range_online, -EINVAL},
		{"no has_memory", b_no_has_memory, -ENOENT},
		{"garbage has_memory", b_garbage_has_memory, -EINVAL},
		{"node 5000 online", b_huge_node, -ERANGE},
		{"node 1e20 online", b_huger_node, -ERANGE},
		{"node 4096 has_memory", b_huge_has_memory, -ERANGE},
		{"possible 0-4096", b_huge_possible, -ERANGE},
		{"garbage possible", b_garbage_possible, -EINVAL},
		{"no possible", b_no_possible, 0},
		{"no cpu/possible", b_no_cpu_possible, 0},
		{"garbage cpu/possible", b_garbage_cpu_possible, -EINVAL},
		{"cpu/possible 0-65536", b_huge_cpu_possible, -ERANGE},
		{"online node without dir", b_online_node_dir_missing, -ENOENT},
		{"no cpulist", b_no_cpulist, -ENOENT},
		{"garbage cpulist", b_garbage_cpulist, -EINVAL},
		{"cpu beyond possible", b_cpu_beyond_possible, -ERANGE},
		{"cpu 70000", b_huge_cpu, -ERANGE},
		{"no distance", b_no_distance, -ENOENT},
		{"garbage distance", b_garbage_distance, -EINVAL},
		{"distance count short", b_distance_short, -EINVAL},
		{"distance count long", b_distance_long, -EINVAL},
		{"distance empty", b_distance_empty, -EINVAL},
		{"distance huge", b_distance_huge, -EINVAL},
		{"distance 256", b_distance_256, -EINVAL},
		{"distance oversize file", b_distance_oversize, -EFBIG},
		{"distance 4097 entries", b_distance_1025, -E2BIG},
		{"distances all zero", b_distance_zeros, -EINVAL},
		{"one distance zero", b_distance_one_zero, -EINVAL},
		{"local distance zero", b_distance_local_zero, -EINVAL},
		{"local distance above a remote one", b_distance_local_far, -EINVAL},
		{"remote distance equal to local", b_distance_local_equal, 0},
		{"no meminfo, node with memory", b_no_meminfo_mem, -ENOENT},
		{"garbage meminfo, node with memory", b_garbage_meminfo_mem, -EINVAL},
		{"truncated meminfo", b_truncated_meminfo, -EINVAL},
		{"no meminfo, memoryless node", b_no_meminfo_memless, 0},
		{"garbage meminfo, memoryless node", b_garbage_meminfo_memless, 0},
		{"garbage HMAT latency", b_hmat_garbage, -EINVAL},
		{"HMAT bandwidth > u32", b_hmat_huge, -ERANGE},
		{"HMAT partial", b_hmat_partial, 0},
		{"garbage weight", b_weight_garbage, -EINVAL},
		{"weight 256", b_weight_huge, -ERANGE},
		{"garbage tier nodelist", b_tier_garbage, -EINVAL},
		{"tier node beyond limit", b_tier_node_too_big, -ERANGE},
		{"tier without nodelist", b_tier_no_nodelist, -ENOENT},
		{"tier dir with odd name", b_tier_odd_name, 0},
		{"tier id beyond int", b_tier_huge_id, 0},
		{"memory on offline node", b_memory_not_online, 0},
		{"meminfo a FIFO", b_fifo_meminfo, -EINVAL},
		{"meminfo a FIFO, memoryless node", b_fifo_meminfo_memless, 0},
		{"distance a FIFO", b_fifo_distance, -EINVAL},
		{"online a FIFO", b_fifo_online, -EINVAL},
		{"cpulist a FIFO", b_fifo_cpulist, -EINVAL},
		{"weight a FIFO", b_fifo_weight, -EINVAL},
		{"distance a directory", b_dir_distance, -EINVAL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		load_expect(cases[i].name, cases[i].fn, cases[i].err);
}

/* Details of the cases that load: what they load as. */
static void test_tolerated(void)
{
	char root[4096];
	struct mb_topo *t = NULL;

	t_tmpdir(root, sizeof(root));
	t_std_tree(root);
	b_no_possible(root);
	b_no_cpu_possible(root);
	b_memory_not_online(root);
	b_no_meminfo_memless(root);
	b_hmat_partial(root);
	CHECK_EQ(mb_topo_load(root, &t), 0);
	if (t) {
		CHECK_EQ(t->node_limit, 8); /* highest online + 1 */
		CHECK_EQ(t->cpu_limit, 5);  /* highest CPU in a cpulist + 1 */
		CHECK_EQ(t->nmemblks, 3);   /* node 1 is not online */
		CHECK_EQ(t->nodes[1].memblk, -1);
		CHECK(t->nodes[5].size == 0);
		CHECK_EQ(t->nodes[7].has_access[0], 1);
		CHECK(t->nodes[7].access[0].write_latency == 0);
		CHECK(t->nodes[7].access[0].read_latency == 300);
		mb_topo_free(t);
	}
	t_rmtree(root);
}

/* The public calls on a broken root, in a child so that the lazy first
 * load is really the first. */
static void test_public_api(void)
{
	char root[4096];
	pid_t pid;
	int status;

	t_tmpdir(root, sizeof(root));
	t_std_tree(root);
	b_no_distance(root);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		unsigned long m[1] = {0};
		struct memblk_info in = MEMBLK_INFO_INIT;

		t_failures = 0; /* count only the child's own checks */
		setenv("MEMBIND_SYSFS_ROOT", root, 1);
		CHECK_EQ(memblk_count(), -ENOENT);
		CHECK_EQ(memblk_to_node(0), -ENOENT);
		CHECK_EQ(membind_node_limit(), -ENOENT);
		CHECK_EQ(memblk_distance(0, 0), -ENOENT);
		CHECK_EQ(memblk_info(0, &in), -ENOENT);
		CHECK_EQ(memblk_list_parse("0", 64, m), -ENOENT);
		CHECK_EQ(membind_topology_refresh(), -ENOENT);
		t_write(root, ND "/node7/distance", "garbage\n");
		CHECK_EQ(memblk_count(), -EINVAL);
		/* Repaired: the next call loads it. */
		t_write(root, ND "/node7/distance", "40 35 15 10\n");
		CHECK_EQ(memblk_count(), 3);
		CHECK_EQ(memblk_distance(2, 0), 40);
		/* Not there at all. */
		setenv("MEMBIND_SYSFS_ROOT", "/nonexistent/membind", 1);
		CHECK_EQ(membind_topology_refresh(), -ENOENT);
		CHECK_EQ(memblk_count(), 3);
		_exit(t_failures ? T_FAIL : T_PASS);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	t_rmtree(root);
}

int main(void)
{
	/* A FIFO in a tree used to block the load for ever: fail instead. */
	alarm(60);
	test_loads();
	test_tolerated();
	test_public_api();
	return t_finish("test_topo_broken");
}
