/* SPDX-License-Identifier: MIT */
/*
 * Description: FIRST_TOUCH puts each page on the memblk nearest the CPU that
 * first touches it: threads pinned to the CPUs of different nodes get their
 * local memblk (cpu_to_memblk(): for a node without memory, the nearest),
 * with an empty mask (MPOL_LOCAL) and with a mask of all memblks.  A mask of
 * some memblks keeps pages inside it.
 */
#include <pthread.h>

#include "bindtest.h"

#define LEN (4UL << 20)

struct job {
	int node;
	int want;
};

static void *toucher(void *arg)
{
	struct job *j = arg;
	long c[BT_MAX];
	char label[64];
	char *p;

	if (!bt_pin_node(j->node)) {
		fprintf(stderr, "cannot pin to node %d\n", j->node);
		t_failures++;
		return NULL;
	}
	p = bt_map(LEN);
	bt_touch(p, LEN);
	snprintf(label, sizeof(label), "node %d toucher", j->node);
	bt_placement(label, p, LEN, c);
	CHECK_EQ(c[j->want], (long)(LEN / BT_PAGE));
	bt_unmap(p, LEN);
	return NULL;
}

/* One pinned toucher per node with CPUs, in turn; want: the memblk its
 * pages must be on, or -1 for the nearest to its CPUs. */
static int touch_from_every_node(int want)
{
	int limit = membind_node_limit(), cpus = membind_cpu_limit(), ran = 0;

	for (int n = 0; n < limit; n++) {
		unsigned long mask[64];
		struct job j = {.node = n, .want = want};
		pthread_t t;
		int first;

		if (node_cpus(n, (unsigned)cpus, mask) <= 0)
			continue;
		first = __builtin_ctzl(mask[0]); /* tests use < 64 CPUs */
		if (want < 0)
			j.want = cpu_to_memblk(first);
		pthread_create(&t, NULL, toucher, &j);
		pthread_join(t, NULL);
		ran++;
	}
	return ran;
}

int main(void)
{
	unsigned long mask[1] = {0}, got[1], b;
	int nm, cpu_nodes;

	bt_need_memblks(2, "first touch across nodes");
	nm = memblk_count();
	if (membind_cpu_limit() > 64) {
		printf("SKIP: more than 64 CPUs\n");
		return T_SKIP;
	}
	if (bt_wrong()) {
		/* Everything on a memblk that is not local to the CPUs of the
		 * first node that has some. */
		unsigned long cpus[64];

		for (int n = 0; n < membind_node_limit(); n++)
			if (node_cpus(n, (unsigned)membind_cpu_limit(), cpus) > 0) {
				bt_mask(mask, (cpu_to_memblk(__builtin_ctzl(
						       cpus[0])) + 1) % nm);
				break;
			}
		CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_HARD),
			 0);
	}
	else
		CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask,
					MEMBIND_FIRST_TOUCH), 0);
	cpu_nodes = touch_from_every_node(-1);
	if (cpu_nodes < 2) {
		printf("SKIP: needs two nodes with CPUs\n");
		return T_SKIP;
	}

	/* A mask of every memblk reads back as given and is still local. */
	mask[0] = (1UL << nm) - 1;
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_FIRST_TOUCH), 0);
	b = 0;
	CHECK_EQ(mem_getbinding(0, (unsigned)nm, got, &b), nm);
	CHECK_EQ(b, MEMBIND_FIRST_TOUCH);
	CHECK_EQ(got[0], mask[0]);
	if (!bt_wrong())
		touch_from_every_node(-1);

	/* A mask of one memblk: every toucher gets that one. */
	bt_mask(mask, nm - 1);
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, mask, MEMBIND_FIRST_TOUCH), 0);
	touch_from_every_node(nm - 1);
	return t_finish("test_first_touch");
}
