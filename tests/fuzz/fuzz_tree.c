/* SPDX-License-Identifier: MIT */
/*
 * Description: libFuzzer target for the topology loader: the first input
 * byte picks a file of node 2 in a good tree (distance, meminfo, cpulist,
 * the online list, has_memory, an HMAT value, a tier nodelist), the rest
 * becomes its contents, and mb_topo_load must either fail with a negative
 * errno or produce a topology whose invariants hold.
 */
#include <stdint.h>

#include "internal.h"
#include "testutil.h"

static char root[4096];
#define NFILES 8
static char orig[NFILES][MB_FILE_MAX];
static int orig_len[NFILES];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cleanup(void)
{
	t_rmtree(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	t_tmpdir(root, sizeof(root));
	atexit(cleanup);
	t_std_tree(root);
	return 0;
}

static const char *const files[] = {
	STD_ND "/node2/distance",
	STD_ND "/node2/meminfo",
	STD_ND "/node2/cpulist",
	STD_ND "/online",
	STD_ND "/has_memory",
	STD_ND "/node7/access0/initiators/read_latency",
	"devices/virtual/memory_tiering/memory_tier4/nodelist",
	"devices/system/cpu/possible",
};
_Static_assert(sizeof(files) / sizeof(files[0]) == NFILES, "NFILES");

static void check(const struct mb_topo *t)
{
	if (t->node_limit <= 0 || t->node_limit > MB_MAX_NODES ||
	    t->cpu_limit <= 0 || t->cpu_limit > MB_MAX_CPUS ||
	    t->nmemblks < 0 || t->nmemblks > t->node_limit)
		abort();
	for (int m = 0; m < t->nmemblks; m++) {
		int n = t->memblk_node[m];

		if (n < 0 || n >= t->node_limit || t->nodes[n].memblk != m ||
		    !t->nodes[n].online)
			abort();
		if (m && t->memblk_node[m - 1] >= n)
			abort();
		if (t->nodes[n].free > t->nodes[n].size)
			abort();
	}
	for (int a = 0; a < t->node_limit; a++)
		for (int b = 0; b < t->node_limit; b++) {
			int d = mb_topo_distance(t, a, b);

			if (d < -1 || d > 255)
				abort();
		}
	for (int n = 0; n < t->node_limit; n++) {
		int m = mb_topo_nearest_memblk(t, n);

		if (m >= t->nmemblks || (m < 0 && m != -ENOENT))
			abort();
	}
	/* The CPUs, HMAT, weights and tiers load on first use; a broken file
	 * there fails that load, and then there is nothing more to check. */
	if (mb_topo_extras(t))
		return;
	for (int c = 0; c < t->cpu_limit; c++) {
		int n = t->cpu_node[c];

		if (n >= t->node_limit || (n >= 0 && !t->nodes[n].online))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_topo *t = NULL;
	int ret;

	size_t which;

	if (size < 1)
		return 0;
	which = data[0] % NFILES;
	if (!orig_len[which]) {
		orig_len[which] = mb_read_file(root, orig[which], MB_FILE_MAX,
					       "%s", files[which]);
		if (orig_len[which] <= 0)
			abort();
	}
	t_write_n(root, files[which], data + 1, size - 1);
	ret = mb_topo_load(root, &t);
	/* Put the good file back for the next input. */
	t_write_n(root, files[which], orig[which], (size_t)orig_len[which]);
	if (ret > 0 || (ret < 0 && t) || (ret == 0 && !t))
		abort();
	if (t) {
		check(t);
		mb_topo_free(t);
	}
	return 0;
}
