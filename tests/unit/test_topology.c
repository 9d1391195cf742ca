/* SPDX-License-Identifier: MIT */
/*
 * Description: the Topology API on a well-formed tree with sparse node ids,
 * a memoryless node and a memory-only node: memblk/node/CPU mappings,
 * distances by memblk, CPU masks, sizes, tiers, HMAT, weights, allowed
 * memblks, refresh after the tree changes, and the same tree loaded
 * directly with mb_topo_load.
 */
#include "internal.h"
#include "testutil.h"

static char root[4096];

static void test_mappings(void)
{
	CHECK_EQ(memblk_count(), 3);
	CHECK_EQ(membind_node_limit(), 8);
	CHECK_EQ(membind_cpu_limit(), 8);

	CHECK_EQ(memblk_to_node(0), 0);
	CHECK_EQ(memblk_to_node(1), 2);
	CHECK_EQ(memblk_to_node(2), 7);
	CHECK_EQ(memblk_to_node(3), -ENOENT);
	CHECK_EQ(memblk_to_node(-1), -ENOENT);

	CHECK_EQ(node_to_memblk(0), 0);
	CHECK_EQ(node_to_memblk(1), -ENOENT); /* offline */
	CHECK_EQ(node_to_memblk(2), 1);
	CHECK_EQ(node_to_memblk(5), -ENOENT); /* no memory */
	CHECK_EQ(node_to_memblk(7), 2);
	CHECK_EQ(node_to_memblk(8), -ENOENT);
	CHECK_EQ(node_to_memblk(-1), -ENOENT);
	CHECK_EQ(node_to_memblk(1 << 30), -ENOENT);

	CHECK_EQ(cpu_to_node(0), 0);
	CHECK_EQ(cpu_to_node(1), 0);
	CHECK_EQ(cpu_to_node(2), 2);
	CHECK_EQ(cpu_to_node(3), 2);
	CHECK_EQ(cpu_to_node(4), 5);
	CHECK_EQ(cpu_to_node(5), -ENOENT); /* possible, in no node */
	CHECK_EQ(cpu_to_node(8), -ENOENT);
	CHECK_EQ(cpu_to_node(-1), -ENOENT);

	CHECK_EQ(cpu_to_memblk(0), 0);
	CHECK_EQ(cpu_to_memblk(3), 1);
	/* Node 5 has no memory: nearest is node 7 (15) before 2 (25). */
	CHECK_EQ(cpu_to_memblk(4), 2);
	CHECK_EQ(cpu_to_memblk(5), -ENOENT);
}

static void test_distances(void)
{
	static const int d[3][3] = {{10, 20, 40}, {20, 10, 35}, {40, 35, 10}};

	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++)
			CHECK_EQ(memblk_distance(a, b), d[a][b]);
	CHECK_EQ(memblk_distance(0, 3), -ENOENT);
	CHECK_EQ(memblk_distance(-1, 0), -ENOENT);
}

static void test_cpus(void)
{
	unsigned long m[2] = {~0UL, ~0UL};

	CHECK_EQ(memblk_cpus(0, 128, m), 2);
	CHECK(m[0] == 0x3 && m[1] == 0);
	CHECK_EQ(memblk_cpus(1, 8, m), 2);
	CHECK(m[0] == 0xc);
	CHECK_EQ(memblk_cpus(2, 8, m), 0);
	CHECK(m[0] == 0);
	CHECK_EQ(memblk_cpus(3, 8, m), -ENOENT);
	CHECK_EQ(memblk_cpus(0, 0, m), -EINVAL);
	CHECK_EQ(memblk_cpus(0, 8, NULL), -EINVAL);
	m[0] = 0x55;
	CHECK_EQ(memblk_cpus(1, 3, m), -ERANGE); /* cpu 3 does not fit */
	CHECK(m[0] == 0x55);

	CHECK_EQ(node_cpus(5, 8, m), 1);
	CHECK(m[0] == 0x10);
	CHECK_EQ(node_cpus(7, 8, m), 0);
	CHECK_EQ(node_cpus(1, 8, m), -ENOENT);
	CHECK_EQ(node_cpus(8, 8, m), -ENOENT);
	CHECK_EQ(node_cpus(-3, 8, m), -ENOENT);

	m[0] = 0;
	m[1] = ~0UL;
	CHECK_EQ(memblk_allowed(128, m), 3);
	CHECK(m[0] == 0x7 && m[1] == 0);
	CHECK_EQ(memblk_allowed(2, m), -ERANGE);
	CHECK_EQ(memblk_allowed(0, m), -EINVAL);
	CHECK_EQ(memblk_allowed(8, NULL), -EINVAL);
}

static void test_info(void)
{
	struct memblk_info in = MEMBLK_INFO_INIT;

	CHECK_EQ(memblk_info(0, &in), 0);
	CHECK_EQ(in.id, 0);
	CHECK_EQ(in.node, 0);
	CHECK(in.size_bytes == 1048576ULL * 1024);
	CHECK(in.free_bytes == 524288ULL * 1024);
	CHECK_EQ(in.ncpus, 2);
	CHECK_EQ(in.tier, 4);
	CHECK_EQ(in.allowed, 1);
	CHECK_EQ(in.weight, 3);
	CHECK_EQ(in.has_access[0], 0);
	CHECK_EQ(in.has_access[1], 0);
	CHECK_EQ(in.nearest_cpu_node, 0);

	CHECK_EQ(memblk_info(1, &in), 0);
	CHECK_EQ(in.node, 2);
	CHECK(in.size_bytes == 2097152ULL * 1024);
	CHECK(in.free_bytes == 1024000ULL * 1024);
	CHECK_EQ(in.weight, 2);

	CHECK_EQ(memblk_info(2, &in), 0);
	CHECK_EQ(in.id, 2);
	CHECK_EQ(in.node, 7);
	CHECK(in.size_bytes == 524288ULL * 1024);
	CHECK(in.free_bytes == 131072ULL * 1024);
	CHECK_EQ(in.ncpus, 0);
	CHECK_EQ(in.tier, 22);
	CHECK_EQ(in.weight, 1);
	CHECK_EQ(in.has_access[0], 1);
	CHECK_EQ(in.has_access[1], 0);
	CHECK(in.access[0].read_bandwidth == 8000);
	CHECK(in.access[0].write_bandwidth == 6000);
	CHECK(in.access[0].read_latency == 300);
	CHECK(in.access[0].write_latency == 400);
	/* Nearest node with CPUs: 5 (15), not 2 (35) or 0 (40). */
	CHECK_EQ(in.nearest_cpu_node, 5);

	CHECK_EQ(memblk_info(3, &in), -ENOENT);
	CHECK_EQ(memblk_info(-1, &in), -ENOENT);
	CHECK_EQ(memblk_info(0, NULL), -EINVAL);
}

static void test_size_extents(void)
{
	struct memblk_extent e[4];
	uint64_t size = 0, free = 0;

	/* memblk_size: the same figures as memblk_info, without the rest. */
	CHECK_EQ(memblk_size(1, &size, &free), 0);
	CHECK(size == 2097152ULL * 1024);
	CHECK(free == 1024000ULL * 1024);
	CHECK_EQ(memblk_size(2, &size, NULL), 0);
	CHECK(size == 524288ULL * 1024);
	CHECK_EQ(memblk_size(3, &size, &free), -ENOENT);
	CHECK_EQ(memblk_size(0, NULL, NULL), -EINVAL);

	/* No memory blocks in the tree: the system does not say. */
	CHECK_EQ(memblk_extents(0, e, 4), -ENOENT);
	/* Blocks of 128 MiB (the kernel writes the size in hex): 0, 1 and 3
	 * on node 0 are two extents; 5 on node 7 (memblk 2) is one. */
	t_write(root, "devices/system/memory/block_size_bytes", "8000000\n");
	t_write(root, STD_ND "/node0/memory0", "%s", "");
	t_write(root, STD_ND "/node0/memory1", "%s", "");
	t_write(root, STD_ND "/node0/memory3", "%s", "");
	t_write(root, STD_ND "/node7/memory5", "%s", "");
	CHECK_EQ(memblk_extents(0, e, 4), 2);
	CHECK(e[0].start == 0 && e[0].length == 2ULL << 27);
	CHECK(e[1].start == 3ULL << 27 && e[1].length == 1ULL << 27);
	CHECK_EQ(memblk_extents(0, e, 1), 2); /* the count, one written */
	CHECK_EQ(memblk_extents(2, e, 4), 1);
	CHECK(e[0].start == 5ULL << 27 && e[0].length == 1ULL << 27);
	CHECK_EQ(memblk_extents(1, e, 4), 0);
	CHECK_EQ(memblk_extents(3, e, 4), -ENOENT);
	CHECK_EQ(memblk_extents(0, NULL, 4), -EINVAL);
}

static void test_refresh(void)
{
	/* Node 5 gains memory: memblks 0,2,5,7 -> 4, node 7 becomes memblk 3. */
	t_write(root, STD_ND "/has_memory", "0,2,5,7\n");
	t_std_meminfo(root, 5, 4096, 2048);
	CHECK_EQ(memblk_count(), 3); /* not re-read until a refresh */
	CHECK_EQ(membind_topology_refresh(), 0);
	CHECK_EQ(memblk_count(), 4);
	CHECK_EQ(memblk_to_node(2), 5);
	CHECK_EQ(memblk_to_node(3), 7);
	CHECK_EQ(cpu_to_memblk(4), 2);
	CHECK_EQ(memblk_distance(2, 3), 15);

	/* A refresh that fails keeps the old topology. */
	t_write(root, STD_ND "/online", "garbage\n");
	CHECK_EQ(membind_topology_refresh(), -EINVAL);
	CHECK_EQ(memblk_count(), 4);
	CHECK_EQ(memblk_to_node(3), 7);

	/* A new root. */
	{
		char other[4096];

		t_tmpdir(other, sizeof(other));
		t_write(other, STD_ND "/online", "0\n");
		t_write(other, STD_ND "/has_memory", "0\n");
		t_write(other, STD_ND "/node0/cpulist", "0-3\n");
		t_write(other, STD_ND "/node0/distance", "10\n");
		t_std_meminfo(other, 0, 1000, 10);
		setenv("MEMBIND_SYSFS_ROOT", other, 1);
		CHECK_EQ(membind_topology_refresh(), 0);
		CHECK_EQ(memblk_count(), 1);
		CHECK_EQ(membind_cpu_limit(), 4); /* no cpu/possible */
		CHECK_EQ(cpu_to_memblk(3), 0);
		CHECK_EQ(memblk_distance(0, 0), 10);
		t_rmtree(other);
	}
}

static void test_direct_load(void)
{
	struct mb_topo *t = NULL;

	t_std_tree(root);
	CHECK_EQ(mb_topo_load(root, &t), 0);
	if (!t)
		return;
	CHECK_EQ(t->node_limit, 8);
	CHECK_EQ(t->cpu_limit, 8);
	CHECK_EQ(t->nmemblks, 3);
	CHECK(t->fake_root);
	CHECK(t->nodes[5].online && t->nodes[5].memblk == -1);
	CHECK(!t->nodes[1].online && t->nodes[1].memblk == -1);
	CHECK_EQ(mb_topo_distance(t, 5, 7), 15);
	CHECK_EQ(mb_topo_distance(t, 0, 1), -1); /* offline: unknown */
	CHECK_EQ(mb_topo_distance(t, 0, 8), -ENOENT);
	CHECK_EQ(mb_topo_nearest_memblk(t, 5), 2);
	CHECK_EQ(mb_topo_nearest_memblk(t, 1), -ENOENT);
	{
		unsigned long mb[1] = {0x5}, nodes[1] = {0}, back[1] = {0};

		CHECK_EQ(mb_memblks_to_nodes(t, 3, mb, nodes), 0);
		CHECK(nodes[0] == ((1UL << 0) | (1UL << 7)));
		mb_nodes_to_memblks(t, nodes, 8, 3, back);
		CHECK(back[0] == 0x5);
		mb[0] = 0x8;
		CHECK_EQ(mb_memblks_to_nodes(t, 4, mb, nodes), -EINVAL);
		nodes[0] = 0xff; /* memoryless and offline nodes ignored */
		mb_nodes_to_memblks(t, nodes, 8, 64, back);
		CHECK(back[0] == 0x7);
	}
	mb_topo_free(t);
}

int main(void)
{
	t_tmpdir(root, sizeof(root));
	t_std_tree(root);
	setenv("MEMBIND_SYSFS_ROOT", root, 1);
	test_mappings();
	test_distances();
	test_cpus();
	test_info();
	test_size_extents();
	test_direct_load();
	test_refresh();
	t_rmtree(root);
	return t_finish("test_topology");
}
