/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the binding tests, which run on the host (one node: most of
 * them skip) and inside the multi-node guests (tests/vm).  Placement is
 * read twice, independently: from /proc/self/numa_maps (the kernel's
 * accounting) and from mem_where() (ours), and the two must agree.
 *
 * MEMBIND_TEST_WRONG=1 makes a test bind somewhere other than where it
 * then looks (the memblk after the intended one), so that each test can be
 * shown to fail; tests/binding/negative-control.sh runs them that way.
 */
#ifndef MEMBIND_BINDTEST_H
#define MEMBIND_BINDTEST_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include "membind.h"
#include "testutil.h"

#define BT_MAX 64 /* memblks the tests handle */
#define BT_PAGE 4096UL

static inline bool bt_wrong(void)
{
	const char *w = getenv("MEMBIND_TEST_WRONG");

	return w && *w == '1';
}

/* The memblk to bind when the test means m. */
static inline int bt_bind_to(int m)
{
	int n = memblk_count();

	return bt_wrong() ? (m + 1) % n : m;
}

/* The binding tests use one-word masks: a memblk beyond the word is not
 * written, and the binding then fails the test. */
static inline void bt_mask(unsigned long *mask, int m)
{
	memblk_mask_zero(MEMBIND_BITS_PER_LONG, mask);
	memblk_mask_set(MEMBIND_BITS_PER_LONG, mask, m);
}

/* Skip (exit 77) unless there are at least n memblks. */
static inline void bt_need_memblks(int n, const char *why)
{
	int c = memblk_count();

	if (c < n) {
		printf("SKIP: needs %d memblks, this machine has %d (%s)\n", n,
		       c, why);
		exit(T_SKIP);
	}
	if (c > BT_MAX) {
		printf("SKIP: more than %d memblks\n", BT_MAX);
		exit(T_SKIP);
	}
}

/* An anonymous mapping between two PROT_NONE guard pages, so that it never
 * merges with a neighbour and has a numa_maps line of its own. */
static inline char *bt_map(size_t len)
{
	char *p = mmap(NULL, len + 2 * BT_PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED ||
	    mprotect(p + BT_PAGE, len, PROT_READ | PROT_WRITE)) {
		perror("mmap");
		exit(T_FAIL);
	}
	p += BT_PAGE;
	/* Count 4 KiB pages: interleaving is per page, not per huge page. */
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

static inline void bt_unmap(char *p, size_t len)
{
	munmap(p - BT_PAGE, len + 2 * BT_PAGE);
}

static inline void bt_touch(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += BT_PAGE)
		((volatile char *)p)[i] = (char)i | 1;
}

/* Pages per memblk of the mapping that starts at p, from numa_maps.
 * Returns the total, or -1 if the mapping is not there. */
static inline long bt_numa_maps(const void *p, long *per_memblk)
{
	char line[8192];
	FILE *f = fopen("/proc/self/numa_maps", "r");
	long total = -1;

	memset(per_memblk, 0, BT_MAX * sizeof(long));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *tok, *save;

		if (strtoul(line, NULL, 16) != (uintptr_t)p)
			continue;
		total = 0;
		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save)) {
			int node, m;
			long pages;

			if (sscanf(tok, "N%d=%ld", &node, &pages) != 2)
				continue;
			m = node_to_memblk(node);
			if (m >= 0 && m < BT_MAX)
				per_memblk[m] += pages;
			total += pages;
		}
		break;
	}
	fclose(f);
	return total;
}

/* Pages per memblk of [p, p + len) from mem_where(); not-present pages are
 * not counted.  Returns the total counted. */
static inline long bt_where(char *p, size_t len, long *per_memblk)
{
	size_t n = len / BT_PAGE;
	void **pages = calloc(n, sizeof(*pages));
	int *st = calloc(n, sizeof(*st));
	long total = 0;
	int ret;

	memset(per_memblk, 0, BT_MAX * sizeof(long));
	if (!pages || !st) {
		fprintf(stderr, "out of memory\n");
		exit(T_FAIL);
	}
	for (size_t i = 0; i < n; i++)
		pages[i] = p + i * BT_PAGE;
	ret = mem_where(0, pages, n, st);
	if (ret) {
		fprintf(stderr, "mem_where: %s\n", strerror(-ret));
		t_failures++;
	}
	for (size_t i = 0; !ret && i < n; i++)
		if (st[i] >= 0 && st[i] < BT_MAX) {
			per_memblk[st[i]]++;
			total++;
		}
	free(pages);
	free(st);
	return total;
}

static inline void bt_print(const char *what, const long *c, int n)
{
	printf("%s:", what);
	for (int m = 0; m < n; m++)
		printf(" m%d=%ld", m, c[m]);
	printf("\n");
}

/* Placement of [p, p + len) by both accounts, which must agree; the
 * numa_maps counts are returned in per_memblk. */
static inline void bt_placement(const char *what, char *p, size_t len,
				long *per_memblk)
{
	long w[BT_MAX];
	int n = memblk_count();
	char label[256];

	/* The two accounts are read one after the other.  On a nearly full
	 * node the kernel compacts memory meanwhile, and a page being
	 * migrated (a migration entry: neither account sees it) is missing
	 * from one read and not the other: read both again, a few times,
	 * until they agree.  A real disagreement stays and fails. */
	for (int tries = 1;; tries++) {
		bool same = true;

		bt_numa_maps(p, per_memblk);
		bt_where(p, len, w);
		for (int m = 0; m < n; m++)
			same = same && w[m] == per_memblk[m];
		if (same || tries == 10) {
			if (tries > 1)
				printf("%s: the accounts %s after %d reads "
				       "(pages in migration)\n", what,
				       same ? "agreed" : "still differ", tries);
			break;
		}
		usleep(50000);
	}
	snprintf(label, sizeof(label), "%s numa_maps", what);
	bt_print(label, per_memblk, n);
	for (int m = 0; m < n; m++)
		CHECK_EQ(w[m], per_memblk[m]);
}

/* Pin the calling thread to the CPUs of a node; false if it has none. */
static inline bool bt_pin_node(int node)
{
	unsigned long cpus[MEMBIND_MASK_LONGS(CPU_SETSIZE)] = {0};
	cpu_set_t set;
	int limit = membind_cpu_limit(), n;

	if (limit > CPU_SETSIZE)
		return false;
	n = node_cpus(node, (unsigned)limit, cpus);
	if (n <= 0)
		return false;
	CPU_ZERO(&set);
	for (int c = 0; c < limit; c++)
		if (memblk_mask_test((unsigned)limit, cpus, c))
			CPU_SET(c, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

#endif
