/* SPDX-License-Identifier: MIT */
/*
 * bindcheck - proves the VM test bed works, with raw syscalls only.
 *
 * usage: bindcheck [--wrong] [NODE]
 *
 * Binds (mbind, MPOL_BIND) a 16 MiB anonymous mapping to NODE, touches it,
 * then reads this mapping's N<node>=<pages> fields in /proc/self/numa_maps
 * and checks that every page is on NODE. The default NODE is the highest
 * node with memory that is not the node of the CPU we run on (or the
 * highest node with memory if all are local). With --wrong the mapping is
 * bound to another node than the one checked, so the check must fail.
 *
 * exit status: 0 pass, 1 fail, 77 skip (fewer than 2 nodes with memory).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MPOL_BIND_ 2
#define MAP_LEN (16UL << 20)
#define MAX_NODES 1024

static int parse_nodelist(const char *s, unsigned char *set)
{
	int count = 0;

	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0 || a >= MAX_NODES)
			return -1;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b >= MAX_NODES)
				return -1;
			s = end;
		}
		for (long i = a; i <= b; i++) {
			set[i] = 1;
			count++;
		}
		if (*s == ',')
			s++;
	}
	return count;
}

static int read_nodelist(const char *path, unsigned char *set)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	int n;

	if (!f) {
		fprintf(stderr, "bindcheck: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	n = parse_nodelist(buf, set);
	if (n < 0)
		fprintf(stderr, "bindcheck: cannot parse %s: %s", path, buf);
	return n;
}

/* Node of a CPU, from /sys/devices/system/cpu/cpuN/nodeM. */
static int cpu_node(unsigned int cpu)
{
	char path[128];

	for (int n = 0; n < MAX_NODES; n++) {
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/node%d", cpu, n);
		if (access(path, F_OK) == 0)
			return n;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static unsigned char has_memory[MAX_NODES];
	unsigned long mask[MAX_NODES / (8 * sizeof(unsigned long))];
	unsigned int cpu = 0, node_of_cpu = 0;
	int wrong = 0, target = -1, bind_to, nmem, found = 0, status;
	long pages[MAX_NODES] = { 0 };
	long total = 0, pagesz = sysconf(_SC_PAGESIZE);
	char line[8192], addr[32];
	FILE *f;
	char *p;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wrong") == 0) {
			wrong = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: bindcheck [--wrong] [NODE]\n");
			return 0;
		} else {
			char *end;

			target = (int)strtol(argv[i], &end, 10);
			if (*end || end == argv[i] || target < 0 || target >= MAX_NODES) {
				fprintf(stderr, "bindcheck: bad node '%s'\n", argv[i]);
				return 2;
			}
		}
	}

	nmem = read_nodelist("/sys/devices/system/node/has_memory", has_memory);
	if (nmem < 0)
		return 1;
	if (nmem < 2) {
		printf("SKIP: only %d node(s) with memory, need 2\n", nmem);
		return 77;
	}
	if (syscall(SYS_getcpu, &cpu, &node_of_cpu, NULL) != 0) {
		fprintf(stderr, "bindcheck: getcpu: %s\n", strerror(errno));
		return 1;
	}
	if ((int)node_of_cpu != cpu_node(cpu))
		printf("note: getcpu says node %u, sysfs says node %d for cpu %u\n",
		       node_of_cpu, cpu_node(cpu), cpu);

	if (target < 0) {
		for (int n = MAX_NODES - 1; n >= 0 && target < 0; n--)
			if (has_memory[n] && n != (int)node_of_cpu)
				target = n;
	} else if (!has_memory[target]) {
		printf("FAIL: node %d has no memory\n", target);
		return 1;
	}
	bind_to = target;
	if (wrong) {
		for (int n = 0; n < MAX_NODES; n++)
			if (has_memory[n] && n != target) {
				bind_to = n;
				break;
			}
	}
	printf("running on cpu %u (node %u); nodes with memory: %d; binding to node %d, "
	       "checking node %d%s\n",
	       cpu, node_of_cpu, nmem, bind_to, target, wrong ? " (--wrong)" : "");

	char *buf = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "bindcheck: mmap: %s\n", strerror(errno));
		return 1;
	}
	memset(mask, 0, sizeof(mask));
	mask[bind_to / (8 * sizeof(unsigned long))] |= 1UL << (bind_to % (8 * sizeof(unsigned long)));
	/* maxnode counts bits; the kernel reads maxnode - 1 of them. */
	if (syscall(SYS_mbind, buf, MAP_LEN, MPOL_BIND_, mask, (unsigned long)MAX_NODES, 0UL) != 0) {
		printf("FAIL: mbind(MPOL_BIND, node %d): %s\n", bind_to, strerror(errno));
		return 1;
	}
	for (unsigned long off = 0; off < MAP_LEN; off += (unsigned long)pagesz)
		buf[off] = (char)off | 1;

	f = fopen("/proc/self/numa_maps", "r");
	if (!f) {
		fprintf(stderr, "bindcheck: /proc/self/numa_maps: %s\n", strerror(errno));
		return 1;
	}
	snprintf(addr, sizeof(addr), "%" PRIxPTR " ", (uintptr_t)buf);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, addr, strlen(addr)) != 0)
			continue;
		found = 1;
		line[strcspn(line, "\n")] = 0;
		printf("numa_maps: %s\n", line);
		for (p = strtok(line, " "); p; p = strtok(NULL, " ")) {
			int n;
			long cnt;

			if (sscanf(p, "N%d=%ld", &n, &cnt) == 2 && n >= 0 && n < MAX_NODES) {
				pages[n] += cnt;
				total += cnt;
			}
		}
	}
	fclose(f);
	if (!found) {
		printf("FAIL: mapping %p not found in /proc/self/numa_maps\n", (void *)buf);
		return 1;
	}

	status = 0;
	for (int n = 0; n < MAX_NODES; n++) {
		if (!pages[n])
			continue;
		printf("node %d: %ld pages%s\n", n, pages[n], n == target ? " (target)" : "");
		if (n != target)
			status = 1;
	}
	if (total * pagesz < (long)MAP_LEN) {
		printf("FAIL: only %ld of %lu pages resident\n", total, MAP_LEN / (unsigned long)pagesz);
		status = 1;
	}
	if (status)
		printf("FAIL: %ld pages expected on node %d, found %ld there\n",
		       (long)(MAP_LEN / (unsigned long)pagesz), target, pages[target]);
	else
		printf("PASS: all %ld pages on node %d\n", total, target);
	munmap(buf, MAP_LEN);
	return status;
}
