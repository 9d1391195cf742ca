/* SPDX-License-Identifier: MIT */
/*
 * check-task: run as a Slurm task, check that this process carries the
 * memory binding the job asked for.
 *
 * usage: check-task EXPECT
 *   EXPECT is SCHEME[:LIST] as --membind takes it (hard:0, soft:0,
 *   round-robin:all, weighted:all, first-touch, first-touch:0, default), or
 *   SCHEME:local (the memblks nearest this task's CPUs), SCHEME:rank (local
 *   rank SLURM_LOCALID mod the allowed memblks), SCHEME:map=A,B,... (entry
 *   SLURM_LOCALID mod the number of entries).
 *
 * Two witnesses: mem_getbinding() must give back the scheme and mask, and
 * every mapping in /proc/self/numa_maps must show the kernel policy that
 * scheme is made of.  Prints one line, "ok ..." or "FAIL ...", exit 0 or 1.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "membind.h"

#define NMASK MEMBIND_MASK_LONGS(MEMBIND_MAX_BITS)

static const char *me = "check-task";
static char tag[128];

static int fail(const char *fmt, const char *a, const char *b)
{
	printf("FAIL %s: ", tag);
	printf(fmt, a, b);
	printf("\n");
	return 1;
}

static unsigned int local_rank(void)
{
	const char *s = getenv("SLURM_LOCALID");

	return s ? (unsigned int)strtoul(s, NULL, 10) : 0;
}

/* The expected mask for the LIST part of EXPECT.  -1 on error. */
static int expected_mask(const char *list, unsigned int nbits,
			 unsigned long *mask)
{
	if (!strcmp(list, "local")) {
		cpu_set_t set;

		if (sched_getaffinity(0, sizeof(set), &set))
			return -1;
		for (int c = 0; c < CPU_SETSIZE; c++) {
			int m;

			if (!CPU_ISSET(c, &set))
				continue;
			m = cpu_to_memblk(c);
			memblk_mask_set(nbits, mask, m);
		}
		return 0;
	}
	if (!strcmp(list, "rank")) {
		unsigned long allowed[NMASK] = {0};
		int n = memblk_allowed(nbits, allowed);

		if (n <= 0)
			return -1;
		n = (int)(local_rank() % (unsigned int)n);
		for (unsigned int m = 0; m < nbits; m++)
			if (memblk_mask_test(nbits, allowed, (int)m) && n-- == 0)
				memblk_mask_set(nbits, mask, (int)m);
		return 0;
	}
	if (!strncmp(list, "map=", 4)) {
		unsigned int n = 1, i;
		const char *p = list + 4;

		for (const char *q = p; *q; q++)
			n += *q == ',';
		i = local_rank() % n;
		while (i--)
			p = strchr(p, ',') + 1;
		memblk_mask_set(nbits, mask, atoi(p));
		return 0;
	}
	return memblk_list_parse(list, nbits, mask) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long want[NMASK] = {0}, got[NMASK] = {0}, gotb = 0, scheme;
	char want_text[256] = "", got_text[256] = "", nodes_text[256] = "";
	char policy[300], line[4096], name[32];
	unsigned long nodes[NMASK] = {0};
	const char *list, *colon;
	unsigned int nbits;
	int count, lines = 0;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: %s EXPECT\n", me);
		return 2;
	}
	snprintf(tag, sizeof(tag), "task %s (pid %ld) expects %s",
		 getenv("SLURM_LOCALID") ? getenv("SLURM_LOCALID") : "?",
		 (long)getpid(), argv[1]);
	colon = strchr(argv[1], ':');
	list = colon ? colon + 1 : "";
	snprintf(name, sizeof(name), "%.*s",
		 (int)(colon ? colon - argv[1] : (long)strlen(argv[1])),
		 argv[1]);
	if (membind_scheme_parse(name, &scheme) < 0)
		return fail("bad scheme '%s'%s", name, "");
	count = memblk_count();
	if (count <= 0)
		return fail("memblk_count: %s%s", strerror(-count), "");
	nbits = (unsigned int)count;
	if (list[0] && expected_mask(list, nbits, want) < 0)
		return fail("cannot work out the mask for '%s'%s", list, "");
	memblk_list_format(nbits, want, want_text, sizeof(want_text));

	/* Witness 1: the library reads the binding back. */
	if (mem_getbinding(0, nbits, got, &gotb) < 0)
		return fail("mem_getbinding failed%s%s", "", "");
	memblk_list_format(nbits, got, got_text, sizeof(got_text));
	if ((gotb & MEMBIND_SCHEME_MASK) != scheme)
		return fail("mem_getbinding: scheme %s, mask %s",
			    membind_scheme_name(gotb) ? membind_scheme_name(gotb) : "?",
			    got_text);
	/* first-touch without a list reads back as every memblk. */
	if (list[0] && strcmp(want_text, got_text))
		return fail("mem_getbinding: mask %s, want %s", got_text,
			    want_text);

	/* Witness 2: the kernel's policy on every mapping. */
	for (unsigned int m = 0; m < nbits; m++)
		if (memblk_mask_test(nbits, want, (int)m))
			memblk_mask_set(MEMBIND_MAX_BITS, nodes,
					memblk_to_node((int)m));
	memblk_list_format(MEMBIND_MAX_BITS, nodes, nodes_text,
			   sizeof(nodes_text));
	switch (scheme) {
	case MEMBIND_DEFAULT:
		snprintf(policy, sizeof(policy), "default");
		break;
	case MEMBIND_HARD:
		snprintf(policy, sizeof(policy), "bind:%s", nodes_text);
		break;
	case MEMBIND_SOFT:
		snprintf(policy, sizeof(policy), "%s:%s",
			 strchr(nodes_text, ',') || strchr(nodes_text, '-') ?
				 "prefer (many)" :
				 "prefer",
			 nodes_text);
		break;
	case MEMBIND_ROUND_ROBIN:
		snprintf(policy, sizeof(policy), "interleave:%s", nodes_text);
		break;
	case MEMBIND_WEIGHTED:
		snprintf(policy, sizeof(policy), "weighted interleave:%s",
			 nodes_text);
		break;
	case MEMBIND_FIRST_TOUCH:
		/* MPOL_LOCAL, or a static-nodes bind on a subset */
		snprintf(policy, sizeof(policy), "%s",
			 list[0] ? "bind=static:" : "local");
		if (list[0])
			strncat(policy, nodes_text,
				sizeof(policy) - strlen(policy) - 1);
		break;
	default:
		return fail("scheme %s not checked here%s", name, "");
	}
	f = fopen("/proc/self/numa_maps", "r");
	if (!f)
		return fail("/proc/self/numa_maps: %s%s", strerror(errno), "");
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ' ');
		size_t n = strlen(policy);

		lines++;
		if (!p || strncmp(p + 1, policy, n) ||
		    (p[1 + n] != ' ' && p[1 + n] != '\n')) {
			fclose(f);
			line[strcspn(line, "\n")] = '\0';
			return fail("numa_maps shows '%s', want policy '%s'",
				    p ? p + 1 : line, policy);
		}
	}
	fclose(f);
	if (!lines)
		return fail("numa_maps is empty%s%s", "", "");
	printf("ok task %s: %s %s, numa_maps '%s' on %d mappings\n",
	       getenv("SLURM_LOCALID") ? getenv("SLURM_LOCALID") : "?",
	       membind_scheme_name(gotb), got_text, policy, lines);
	return 0;
}
