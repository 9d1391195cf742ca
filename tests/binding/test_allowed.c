/* SPDX-License-Identifier: MIT */
/*
 * Description: memblks outside this process's Mems_allowed.  The test puts
 * itself in a cgroup-v2 cpuset whose cpuset.mems holds only the first
 * memblk's node; then memblk_allowed() and memblk_info().allowed say so,
 * and a binding naming another memblk fails with -EINVAL and changes
 * nothing.  Needs two memblks, root and a cgroup-v2 cpuset (the guests of
 * tests/vm have them); skips otherwise.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include "bindtest.h"

#define CG "/sys/fs/cgroup"

static int put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

int main(void)
{
	unsigned long mask[1], allowed[1], got[1], b;
	char mems[32], pid[32];
	struct memblk_info in = MEMBLK_INFO_INIT;
	int nm;

	bt_need_memblks(2, "a memblk outside Mems_allowed");
	nm = memblk_count();
	if (access(CG "/cgroup.controllers", F_OK))
		mount("none", CG, "cgroup2", 0, NULL);
	if (put(CG "/cgroup.subtree_control", "+cpuset") ||
	    (mkdir(CG "/membind-test", 0755) && errno != EEXIST)) {
		printf("SKIP: no cgroup-v2 cpuset to restrict Mems_allowed\n");
		return T_SKIP;
	}
	snprintf(mems, sizeof(mems), "%d", memblk_to_node(0));
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (put(CG "/membind-test/cpuset.mems", mems) ||
	    put(CG "/membind-test/cgroup.procs", pid)) {
		printf("SKIP: cannot move into a cpuset (%s)\n", strerror(errno));
		return T_SKIP;
	}
	CHECK_EQ(membind_topology_refresh(), 0);

	CHECK_EQ(memblk_allowed(64, allowed), 1);
	CHECK_EQ(allowed[0], 1UL);
	CHECK_EQ(memblk_info(1, &in), 0);
	CHECK_EQ(in.allowed, 0);

	bt_mask(mask, 0);
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_HARD), 0);
	/* Under MEMBIND_TEST_WRONG the "forbidden" memblk is the allowed
	 * one, so the -EINVAL checks fail. */
	bt_mask(mask, bt_wrong() ? 0 : 1);
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_HARD), -EINVAL);
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_SOFT), -EINVAL);
	mask[0] |= 1;
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_ROUND_ROBIN),
		 -EINVAL);
	{
		char *p = bt_map(1 << 20);

		CHECK_EQ(mem_setbinding_range(p, 1 << 20, (unsigned)nm, mask,
					      MEMBIND_HARD), -EINVAL);
		bt_unmap(p, 1 << 20);
	}
	b = 0;
	CHECK_EQ(mem_getbinding(0, (unsigned)nm, got, &b), nm);
	CHECK_EQ(b, MEMBIND_HARD);
	CHECK_EQ(got[0], 1UL);

	/* Leave the cgroup so that it can be removed. */
	put(CG "/cgroup.procs", pid);
	rmdir(CG "/membind-test");
	return t_finish("test_allowed");
}
