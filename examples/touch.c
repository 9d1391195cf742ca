/* SPDX-License-Identifier: MIT */
/*
 * membind-touch MIB [SECONDS]: allocate and touch some memory, say where it
 * landed per memblk (using mem_where()), and hold it for SECONDS.  Start it under a binding to see the
 * binding at work:
 *
 *     membind run --round-robin all -- membind-touch 64
 *
 * A short example of the library: the topology, mem_getbinding() and
 * mem_where() in a few lines each.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <membind.h>

int main(int argc, char **argv)
{
	unsigned long mask[MEMBIND_MASK_LONGS(MEMBIND_MAX_BITS)] = {0};
	unsigned long behavior = 0;
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	unsigned int hold = argc > 2 ? (unsigned int)atoi(argv[2]) : 0;
	size_t len = mib << 20, page = (size_t)sysconf(_SC_PAGESIZE);
	size_t npages = len / page;
	int n = memblk_count(), ret;
	long *count;
	void **pages;
	char list[256];
	int *where;
	char *p;

	if (n < 0 || mib == 0) {
		fprintf(stderr, "membind-touch: %s\n",
			n < 0 ? strerror(-n) : "usage: membind-touch MIB");
		return 1;
	}
	ret = mem_getbinding(0, MEMBIND_MAX_BITS, mask, &behavior);
	if (ret < 0) {
		fprintf(stderr, "membind-touch: mem_getbinding: %s\n",
			strerror(-ret));
		return 1;
	}
	memblk_list_format((unsigned)n, mask, list, sizeof(list));
	printf("binding: %s%s%s%s\n", membind_scheme_name(behavior),
	       *list ? " " : "", list,
	       behavior & MEMBIND_MIXED ? " (threads differ)" : "");

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pages = calloc(npages, sizeof(*pages));
	where = calloc(npages, sizeof(*where));
	count = calloc((size_t)n, sizeof(*count));
	if (p == MAP_FAILED || !pages || !where || !count) {
		fprintf(stderr, "membind-touch: out of memory\n");
		return 1;
	}
	madvise(p, len, MADV_NOHUGEPAGE); /* count pages one by one */
	for (size_t i = 0; i < npages; i++) {
		p[i * page] = 1;
		pages[i] = p + i * page;
	}
	ret = mem_where(0, pages, npages, where);
	if (ret < 0) {
		fprintf(stderr, "membind-touch: mem_where: %s\n",
			strerror(-ret));
		return 1;
	}
	for (size_t i = 0; i < npages; i++)
		if (where[i] >= 0 && where[i] < n)
			count[where[i]]++;
	printf("touched %zu MiB:", mib);
	for (int m = 0; m < n; m++)
		if (count[m])
			printf("  memblk %d (node %d): %.1f MiB", m,
			       memblk_to_node(m),
			       (double)count[m] * (double)page / (1 << 20));
	printf("\n");
	/* Optionally keep the memory for a while, for `membind where`. */
	fflush(stdout);
	if (hold)
		sleep(hold);
	return 0;
}
