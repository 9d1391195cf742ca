/* SPDX-License-Identifier: MIT */
/*
 * The common libnuma calls, timed: one program, compiled once against
 * libnuma-dev's <numa.h>, run by bench/libnuma-compat with Debian's
 * libnuma.so.1 and with membind's (LD_LIBRARY_PATH), in turns.
 *
 *   libnuma_compat cold N     spawn N cold processes of "topo" (each:
 *                             numa_available() and the topology: nodes,
 *                             sizes, CPUs, distances), print the median
 *                             spawn-to-exit time in ns
 *   libnuma_compat hot N      N repetitions of each hot call; prints
 *                             "CASE median_ns" lines
 *   libnuma_compat topo       the cold child
 */
#define _GNU_SOURCE
#include <numa.h>
#include <numaif.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* What a program does first: is there NUMA, and what does it look like. */
static int topo(void)
{
	struct bitmask *cpus;
	long long sum = 0;
	int max;

	if (numa_available() < 0)
		return 1;
	max = numa_max_node();
	cpus = numa_allocate_cpumask();
	for (int n = 0; n <= max; n++) {
		long long fr;

		if (!numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)n))
			continue;
		sum += numa_node_size64(n, &fr);
		numa_node_to_cpus(n, cpus);
		for (int m = 0; m <= max; m++)
			sum += numa_distance(n, m);
	}
	sum += numa_num_configured_cpus() + numa_num_configured_nodes();
	numa_bitmask_free(cpus);
	return sum > 0 ? 0 : 1;
}

static int cold(const char *self, int n)
{
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	char *argv[] = { (char *)self, "topo", NULL };

	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		pid_t pid;
		int st;

		if (posix_spawn(&pid, self, NULL, NULL, argv, environ))
			return 1;
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			return 1;
		t[i] = now_ns() - t0;
	}
	printf("cold %llu\n", (unsigned long long)median(t, n));
	free(t);
	return 0;
}

#define BATCH 64

static int hot(int n)
{
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	long pagesize = sysconf(_SC_PAGESIZE);
	struct bitmask *mask = numa_allocate_nodemask();
	int node = numa_node_of_cpu(0) >= 0 ? numa_node_of_cpu(0) : 0;
	void *pages[64];
	int status[64], nodes[64];
	char *buf;

	numa_bitmask_setbit(mask, (unsigned)node);

	/* numa_alloc_onnode + first touch + numa_free, 64 KiB */
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		for (int k = 0; k < BATCH; k++) {
			char *p = numa_alloc_onnode(65536, node);

			p[0] = 1;
			numa_free(p, 65536);
		}
		t[i] = (now_ns() - t0) / BATCH;
	}
	printf("alloc_onnode_free %llu\n", (unsigned long long)median(t, n));

	/* numa_set_membind, then back to local allocation */
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		for (int k = 0; k < BATCH; k++) {
			numa_set_membind(mask);
			numa_set_localalloc();
		}
		t[i] = (now_ns() - t0) / BATCH;
	}
	printf("set_membind_localalloc %llu\n",
	       (unsigned long long)median(t, n));

	/* numa_move_pages: 64 pages to the node they are on, and a query */
	buf = numa_alloc_onnode(64 * (size_t)pagesize, node);
	memset(buf, 1, 64 * (size_t)pagesize);
	for (int k = 0; k < 64; k++) {
		pages[k] = buf + k * pagesize;
		nodes[k] = node;
	}
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		for (int k = 0; k < BATCH / 8; k++) {
			numa_move_pages(0, 64, pages, nodes, status,
					MPOL_MF_MOVE);
			numa_move_pages(0, 64, pages, NULL, status, 0);
		}
		t[i] = (now_ns() - t0) / (BATCH / 8);
	}
	printf("move_pages_64 %llu\n", (unsigned long long)median(t, n));
	numa_free(buf, 64 * (size_t)pagesize);

	/* the small calls programs make in loops */
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		volatile int sink = 0;

		for (int k = 0; k < BATCH; k++)
			sink += numa_node_of_cpu(k & 1) + numa_distance(0, 0) +
				numa_max_node();
		t[i] = (now_ns() - t0) / BATCH;
		(void)sink;
	}
	printf("node_of_cpu_distance_max %llu\n",
	       (unsigned long long)median(t, n));
	numa_bitmask_free(mask);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 100;

	if (n < 1)
		n = 1;
	if (argc > 1 && !strcmp(argv[1], "topo"))
		return topo();
	if (numa_available() < 0) {
		printf("SKIP: no NUMA\n");
		return 77;
	}
	if (argc > 1 && !strcmp(argv[1], "cold"))
		return cold("/proc/self/exe", n);
	if (argc > 1 && !strcmp(argv[1], "hot"))
		return hot(n);
	fprintf(stderr, "usage: %s cold|hot N\n", argv[0]);
	return 2;
}
