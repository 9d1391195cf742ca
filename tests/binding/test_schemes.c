/* SPDX-License-Identifier: MIT */
/*
 * Description: every process- and thread-scope scheme places touched pages
 * where it promises (HARD and SOFT all on the mask, ROUND_ROBIN even to a
 * page, WEIGHTED in proportion to the weights), by numa_maps and mem_where,
 * and reads back through mem_getbinding exactly as it was set.
 */
#include <pthread.h>

#include "bindtest.h"

#define LEN (16UL << 20)
#define PAGES (LEN / BT_PAGE)

static int nm;

/* Bind (process or thread scope), allocate, touch, check, unbind. */
static void run_case(const char *name, unsigned long scheme,
		     const unsigned long *bind_mask, const unsigned long *want,
		     unsigned long flags)
{
	unsigned long got[1] = {0}, b = flags & MEMBIND_THREAD;
	long c[BT_MAX], weights[BT_MAX], wsum = 0;
	char label[128];
	char *p;
	int ret;

	ret = mem_setbinding(0, (unsigned)nm, bind_mask, scheme | flags);
	if (ret == -EOPNOTSUPP && scheme == MEMBIND_WEIGHTED) {
		printf("%s: weighted interleave not in this kernel "
		       "(-EOPNOTSUPP, as it must be)\n", name);
		return;
	}
	CHECK_EQ(ret, 0);
	ret = mem_getbinding(0, (unsigned)nm, got, &b);
	CHECK_EQ(ret, nm);
	CHECK_EQ(b, scheme);
	CHECK_EQ(got[0], bind_mask[0]);

	p = bt_map(LEN);
	bt_touch(p, LEN);
	snprintf(label, sizeof(label), "%s", name);
	bt_placement(label, p, LEN, c);
	for (int m = 0; m < nm; m++) {
		struct memblk_info in = MEMBLK_INFO_INIT;

		memblk_info(m, &in);
		weights[m] = !(*want >> m & 1) ? 0 :
			     scheme == MEMBIND_WEIGHTED && in.weight ? in.weight :
								       1;
		wsum += weights[m];
	}
	for (int m = 0; m < nm; m++) {
		long expect = (long)PAGES * weights[m] / wsum;
		/* Interleaving rotates per page (and per weight for
		 * WEIGHTED): each memblk is within one round of even. */
		long slack = scheme == MEMBIND_HARD || scheme == MEMBIND_SOFT ?
				     0 :
				     (scheme == MEMBIND_WEIGHTED ? wsum : 1);

		if (c[m] < expect - slack || c[m] > expect + slack) {
			fprintf(stderr, "%s: memblk %d has %ld pages, want %ld"
				"+-%ld\n", name, m, c[m], expect, slack);
			t_failures++;
		}
		t_checks++;
	}
	bt_unmap(p, LEN);
	{
		unsigned long none[1] = {0};

		CHECK_EQ(mem_setbinding(0, (unsigned)nm, none,
					MEMBIND_DEFAULT | flags), 0);
	}
}

/* Uneven weights make WEIGHTED distinguishable from ROUND_ROBIN; where the
 * sysfs files cannot be written the kernel's defaults stay. */
static void set_weights(void)
{
	for (int m = 0; m < nm; m++) {
		char path[128];
		FILE *f;

		snprintf(path, sizeof(path),
			 "/sys/kernel/mm/mempolicy/weighted_interleave/node%d",
			 memblk_to_node(m));
		f = fopen(path, "w");
		if (!f)
			continue;
		fprintf(f, "%d\n", m % 3 + 1);
		fclose(f);
	}
	membind_topology_refresh();
}

static void run_all(unsigned long flags)
{
	unsigned long one[1] = {0}, want[1] = {0}, all[1], two[1];
	int last = nm - 1;

	all[0] = (1UL << nm) - 1;
	two[0] = 3;
	if (bt_wrong()) {
		/* Bind elsewhere, or fewer, than what is checked. */
		all[0] = two[0] = 1UL << 1;
	}
	bt_mask(one, bt_bind_to(last));
	bt_mask(want, last);
	run_case("hard", MEMBIND_HARD, one, want, flags);
	run_case("soft", MEMBIND_SOFT, one, want, flags);
	want[0] = (1UL << nm) - 1;
	run_case("round-robin", MEMBIND_ROUND_ROBIN, all, want, flags);
	run_case("weighted", MEMBIND_WEIGHTED, all, want, flags);
	want[0] = 3;
	run_case("round-robin-2", MEMBIND_ROUND_ROBIN, two, want, flags);
}

static void *thread_scope(void *arg)
{
	(void)arg;
	run_all(MEMBIND_THREAD);
	return NULL;
}

int main(void)
{
	pthread_t t;

	bt_need_memblks(2, "placement over memblks");
	nm = memblk_count();
	set_weights();
	printf("-- process scope\n");
	run_all(0);
	printf("-- thread scope\n");
	pthread_create(&t, NULL, thread_scope, NULL);
	pthread_join(t, NULL);
	return t_finish("test_schemes");
}
