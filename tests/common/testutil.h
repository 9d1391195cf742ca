/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the unit tests and the fuzz targets: checks that
 * report and count failures, and a writer of sysfs-like trees in a
 * temporary directory.  Header-only so that every test stays one program.
 */
#ifndef MEMBIND_TESTUTIL_H
#define MEMBIND_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

static int t_failures;
static int t_checks;

#define CHECK(cond)                                                            \
	do {                                                                   \
		t_checks++;                                                    \
		if (!(cond)) {                                                 \
			t_failures++;                                          \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

/* Integer equality, printing both sides on failure. */
#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		t_checks++;                                                    \
		if (a_ != b_) {                                                \
			t_failures++;                                          \
			fprintf(stderr,                                        \
				"%s:%d: check failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, a_, b_);           \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		t_checks++;                                                    \
		if (strcmp(a_, b_)) {                                          \
			t_failures++;                                          \
			fprintf(stderr,                                        \
				"%s:%d: check failed: %s == %s (\"%s\" != \"%s\")\n", \
				__FILE__, __LINE__, #a, #b, a_, b_);           \
		}                                                              \
	} while (0)

static inline int t_finish(const char *name)
{
	if (t_checks == 0) {
		fprintf(stderr, "%s: no checks ran\n", name);
		return T_FAIL;
	}
	fprintf(stderr, "%s: %d checks, %d failed\n", name, t_checks,
		t_failures);
	return t_failures ? T_FAIL : T_PASS;
}

/* ---- temporary sysfs-like trees ---- */

static inline int t_mkdirs(const char *path)
{
	char tmp[8192];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return (mkdir(tmp, 0755) && errno != EEXIST) ? -1 : 0;
}

/* Write len bytes to root/rel, creating directories; exits on failure
 * (a test that cannot build its input cannot say anything). */
static inline void t_write_n(const char *root, const char *rel,
			     const void *data, size_t len)
{
	char path[8192], dir[8192];
	char *slash;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >=
	    (int)sizeof(path)) {
		fprintf(stderr, "t_write: path too long\n");
		exit(T_FAIL);
	}
	memcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		if (t_mkdirs(dir)) {
			perror(dir);
			exit(T_FAIL);
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		exit(T_FAIL);
	}
	while (len) {
		ssize_t w = write(fd, data, len);

		if (w <= 0) {
			perror(path);
			exit(T_FAIL);
		}
		data = (const char *)data + w;
		len -= (size_t)w;
	}
	close(fd);
}

static inline void t_write(const char *root, const char *rel, const char *fmt,
			   ...) __attribute__((format(printf, 3, 4)));
static inline void t_write(const char *root, const char *rel, const char *fmt,
			   ...)
{
	char buf[65536];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		fprintf(stderr, "t_write: %s too long\n", rel);
		exit(T_FAIL);
	}
	t_write_n(root, rel, buf, (size_t)n);
}

static inline void t_unlink(const char *root, const char *rel)
{
	char path[8192];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (unlink(path) && errno != ENOENT) {
		perror(path);
		exit(T_FAIL);
	}
}

static inline int t_rm_one(const char *path, const struct stat *sb, int flag,
			   struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void t_rmtree(const char *root)
{
	nftw(root, t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh empty directory; path receives its name. */
static inline void t_tmpdir(char *path, size_t size)
{
	const char *base = getenv("TMPDIR");

	snprintf(path, size, "%s/membind-test-XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		exit(T_FAIL);
	}
}

/*
 * The standard small tree used by several tests (paths below root, which
 * mirrors /sys):
 *
 *   node  online  memory        cpus   memblk
 *   0     yes     1024M/512M    0-1    0
 *   2     yes     2048M/1000M   2-3    1
 *   5     yes     none          4      -      (memoryless, CPU only)
 *   7     yes     512M/128M     none   2      (memory only, like CXL)
 *
 * possible nodes 0-7, cpus 0-7 possible.  Distances (online order 0,2,5,7):
 *   0: 10 20 30 40   2: 20 10 25 35   5: 30 25 10 15   7: 40 35 15 10
 * memory tiers: memory_tier4 = 0,2; memory_tier22 = 7.  HMAT access0 on
 * node 7 (bw 8000/6000 MB/s, lat 300/400 ns).  Weights: node0 3, node2 2,
 * node7 1.
 */
#define STD_ND "devices/system/node"
static inline void t_std_meminfo(const char *root, int node,
				 unsigned long long total_kb,
				 unsigned long long free_kb)
{
	char rel[128];

	snprintf(rel, sizeof(rel), STD_ND "/node%d/meminfo", node);
	t_write(root, rel,
		"Node %d MemTotal:       %8llu kB\n"
		"Node %d MemFree:        %8llu kB\n"
		"Node %d MemUsed:        %8llu kB\n"
		"Node %d Active:                0 kB\n"
		"Node %d HugePages_Total:     0\n",
		node, total_kb, node, free_kb, node, total_kb - free_kb, node,
		node);
}

static inline void t_std_tree(const char *root)
{
	t_write(root, STD_ND "/possible", "0-7\n");
	t_write(root, STD_ND "/online", "0,2,5,7\n");
	t_write(root, STD_ND "/has_memory", "0,2,7\n");
	t_write(root, STD_ND "/has_normal_memory", "0,2\n");
	t_write(root, STD_ND "/has_cpu", "0,2,5\n");
	t_write(root, "devices/system/cpu/possible", "0-7\n");
	t_write(root, "devices/system/cpu/online", "0-4\n");
	t_write(root, "devices/system/cpu/present", "0-4\n");

	t_write(root, STD_ND "/node0/cpulist", "0-1\n");
	t_write(root, STD_ND "/node0/distance", "10 20 30 40\n");
	t_std_meminfo(root, 0, 1048576, 524288);
	t_write(root, STD_ND "/node2/cpulist", "2-3\n");
	t_write(root, STD_ND "/node2/distance", "20 10 25 35\n");
	t_std_meminfo(root, 2, 2097152, 1024000);
	t_write(root, STD_ND "/node5/cpulist", "4\n");
	t_write(root, STD_ND "/node5/distance", "30 25 10 15\n");
	t_std_meminfo(root, 5, 0, 0);
	t_write(root, STD_ND "/node7/cpulist", "\n");
	t_write(root, STD_ND "/node7/distance", "40 35 15 10\n");
	t_std_meminfo(root, 7, 524288, 131072);

	t_write(root, "devices/virtual/memory_tiering/memory_tier4/nodelist",
		"0,2\n");
	t_write(root, "devices/virtual/memory_tiering/memory_tier22/nodelist",
		"7\n");
	t_write(root, STD_ND "/node7/access0/initiators/read_bandwidth",
		"8000\n");
	t_write(root, STD_ND "/node7/access0/initiators/write_bandwidth",
		"6000\n");
	t_write(root, STD_ND "/node7/access0/initiators/read_latency", "300\n");
	t_write(root, STD_ND "/node7/access0/initiators/write_latency",
		"400\n");
	t_write(root, "kernel/mm/mempolicy/weighted_interleave/node0", "3\n");
	t_write(root, "kernel/mm/mempolicy/weighted_interleave/node2", "2\n");
	t_write(root, "kernel/mm/mempolicy/weighted_interleave/node7", "1\n");
}

#endif
