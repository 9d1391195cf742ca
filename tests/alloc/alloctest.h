/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the allocation tests (on top of tests/binding/bindtest.h):
 * placement of a buffer that may span several mappings (stripes) or share
 * one with its neighbours, read from numa_maps and from mem_where().
 */
#ifndef MEMBIND_ALLOCTEST_H
#define MEMBIND_ALLOCTEST_H

#include <pthread.h>

#include "bindtest.h"

/* Pages per memblk of the mappings that start in [p, p + len), from
 * numa_maps.  A mapping that starts before p and covers it, or one that
 * runs past the end, is a failure: the buffer would share it. */
static inline long at_numa_maps(const void *p, size_t len, long *per_memblk)
{
	uintptr_t lo = (uintptr_t)p, hi = lo + len;
	char line[8192];
	FILE *f = fopen("/proc/self/numa_maps", "r");
	long total = 0;

	memset(per_memblk, 0, BT_MAX * sizeof(long));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t start = strtoul(line, NULL, 16);
		char *tok, *save;

		if (start < lo || start >= hi)
			continue;
		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save)) {
			int node, m;
			long pages;

			if (sscanf(tok, "N%d=%ld", &node, &pages) != 2)
				continue;
			/* numa_maps counts huge pages by their size */
			if (strstr(save ? save : "", "kernelpagesize_kB=2048"))
				pages *= 512;
			m = node_to_memblk(node);
			if (m >= 0 && m < BT_MAX)
				per_memblk[m] += pages;
			total += pages;
		}
	}
	fclose(f);
	return total;
}

/* memblk of each 4 KiB page of [p, p + len) into st (-errno if absent). */
static inline void at_where_pages(char *p, size_t len, int *st)
{
	size_t n = len / BT_PAGE;
	void **pages = calloc(n, sizeof(*pages));

	if (!pages) {
		fprintf(stderr, "out of memory\n");
		exit(T_FAIL);
	}
	for (size_t i = 0; i < n; i++)
		pages[i] = p + i * BT_PAGE;
	CHECK_EQ(mem_where(0, pages, n, st), 0);
	free(pages);
}

/* Both accounts of [p, p + len), which must agree; numa_maps into c. */
static inline void at_placement(const char *what, char *p, size_t len,
				long *c)
{
	size_t n = len / BT_PAGE;
	int *st = calloc(n, sizeof(*st));
	long w[BT_MAX] = {0};
	char label[256];

	if (!st) {
		fprintf(stderr, "out of memory\n");
		exit(T_FAIL);
	}
	at_where_pages(p, len, st);
	for (size_t i = 0; i < n; i++)
		if (st[i] >= 0 && st[i] < BT_MAX)
			w[st[i]]++;
	free(st);
	at_numa_maps(p, len, c);
	snprintf(label, sizeof(label), "%s numa_maps", what);
	bt_print(label, c, memblk_count());
	for (int m = 0; m < memblk_count(); m++)
		CHECK_EQ(w[m], c[m]);
}

static inline void at_fill(void *p, size_t len, unsigned char seed)
{
	for (size_t i = 0; i < len; i++)
		((unsigned char *)p)[i] = (unsigned char)(seed + i * 7);
}

static inline bool at_check_fill(const void *p, size_t len,
				 unsigned char seed)
{
	for (size_t i = 0; i < len; i++)
		if (((const unsigned char *)p)[i] != (unsigned char)(seed + i * 7))
			return false;
	return true;
}

#endif
