/* SPDX-License-Identifier: MIT */
/*
 * The common part of membind's benchmarks: a clock, repetitions, order
 * statistics, cold-process sampling and a Markdown table that puts the peers
 * side by side.
 *
 * A benchmark is one bench/NAME.c registered in bench/meson.build with
 * benchmark('NAME', exe).  bench/run runs every registered benchmark and
 * pastes what it prints on stdout (a Markdown section starting with "### ")
 * into the report.  The environment tells a benchmark how to run:
 *
 *   MEMBIND_BENCH_QUICK=1       few repetitions, for a smoke run
 *   MEMBIND_BENCH_RUNS=N        repetitions per peer and case (overrides)
 *   MEMBIND_BENCH_TREE=DIR      a captured sysfs tree (as MEMBIND_SYSFS_ROOT)
 *   MEMBIND_BENCH_TREE_NAME=S   its name in the report
 *   MEMBIND_BENCH_HWLOC_ROOT=D  a root for HWLOC_FSROOT whose sys/ is the tree
 *
 * Every case is measured for every peer in the same run, interleaved
 * (run i of each peer before run i+1 of any), so that drift of the machine
 * touches all peers alike.  Benchmarks only report; nothing here asserts a
 * time.
 */
#ifndef MEMBIND_BENCH_H
#define MEMBIND_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The peers every benchmark compares, in table order.  Macros rather than
 * an enum, so that a file built once per peer (-DBENCH_PEER=PEER_X) can
 * choose its code with #if. */
#define PEER_MEMBIND 0
#define PEER_LIBNUMA 1
#define PEER_HWLOC 2
#define PEER_RAW 3 /* the same work by hand on the kernel interfaces */
#define NR_PEERS 4

static const char *const bench_peer_names[NR_PEERS] = {
	"membind", "libnuma", "hwloc", "raw",
};

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int bench_quick(void)
{
	const char *q = getenv("MEMBIND_BENCH_QUICK");

	return q && *q && strcmp(q, "0");
}

/* Repetitions: MEMBIND_BENCH_RUNS, else full or quick. */
static inline int bench_runs(int full, int quick)
{
	const char *r = getenv("MEMBIND_BENCH_RUNS");

	if (r && atoi(r) > 0)
		return atoi(r);
	return bench_quick() ? quick : full;
}

/* Samples of one peer in one case. */
struct bench_samples {
	uint64_t *ns;
	int n, cap;
};

static inline void bench_add(struct bench_samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->ns = realloc(s->ns, (size_t)s->cap * sizeof(*s->ns));
		if (!s->ns) {
			perror("bench: realloc");
			exit(2);
		}
	}
	s->ns[s->n++] = ns;
}

static inline void bench_free(struct bench_samples *s)
{
	free(s->ns);
	*s = (struct bench_samples){0};
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct bench_stats {
	int n;
	double med, p10, p90; /* ns */
};

/* Quantile q in [0,1] of sorted v, linearly interpolated. */
static inline double bench_quantile(const uint64_t *v, int n, double q)
{
	double pos = q * (n - 1);
	int i = (int)pos;
	double f = pos - i;

	if (i + 1 >= n)
		return (double)v[n - 1];
	return (double)v[i] * (1 - f) + (double)v[i + 1] * f;
}

static inline struct bench_stats bench_stats(struct bench_samples *s)
{
	struct bench_stats st = {.n = s->n};

	if (!s->n)
		return st;
	qsort(s->ns, (size_t)s->n, sizeof(*s->ns), bench_cmp_u64);
	st.med = bench_quantile(s->ns, s->n, 0.5);
	st.p10 = bench_quantile(s->ns, s->n, 0.1);
	st.p90 = bench_quantile(s->ns, s->n, 0.9);
	return st;
}

/* A time in a unit that keeps three significant digits. */
static inline void bench_fmt_time(char *buf, size_t size, double ns)
{
	if (ns < 1e3)
		snprintf(buf, size, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, size, "%.3g µs", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, size, "%.3g ms", ns / 1e6);
	else
		snprintf(buf, size, "%.3g s", ns / 1e9);
}

/* "median (p10–p90)", or "n/a" for a peer that cannot do the case. */
static inline void bench_fmt_stats(char *buf, size_t size,
				   const struct bench_stats *st)
{
	char m[32], lo[32], hi[32];

	if (!st->n) {
		snprintf(buf, size, "n/a");
		return;
	}
	bench_fmt_time(m, sizeof(m), st->med);
	bench_fmt_time(lo, sizeof(lo), st->p10);
	bench_fmt_time(hi, sizeof(hi), st->p90);
	snprintf(buf, size, "**%s** (%s – %s)", m, lo, hi);
}

/* The ratio columns of a table: membind's median over each of these. */
static const int bench_ratio_vs[] = {PEER_LIBNUMA, PEER_HWLOC};
#define BENCH_NR_RATIOS (sizeof(bench_ratio_vs) / sizeof(bench_ratio_vs[0]))

/* "0.05 (20× faster)": the ratio of medians m / o, or "n/a". */
static inline void bench_fmt_ratio(char *buf, size_t size,
				   const struct bench_stats *m,
				   const struct bench_stats *o)
{
	double q;

	if (!m->n || !o->n || m->med <= 0 || o->med <= 0) {
		snprintf(buf, size, "n/a");
		return;
	}
	q = m->med / o->med;
	if (q <= 1)
		snprintf(buf, size, "%.3g (%.3g× faster)", q, 1 / q);
	else
		snprintf(buf, size, "%.3g (%.3g× slower)", q, q);
}

/* A table whose ratio columns are membind over each peer in vs[0..nvs). */
static inline void bench_table_head_vs(const char *first, const int *vs,
				       size_t nvs)
{
	printf("| %s |", first);
	for (int p = 0; p < NR_PEERS; p++)
		printf(" %s |", bench_peer_names[p]);
	for (size_t r = 0; r < nvs; r++)
		printf(" membind/%s |", bench_peer_names[vs[r]]);
	printf("\n|---|");
	for (size_t c = 0; c < NR_PEERS + nvs; c++)
		printf("---:|");
	printf("\n");
}

/* One row: the medians (p10 – p90) of every peer and the ratios of the
 * medians, "0.05 (20× faster)". */
static inline void bench_table_row_vs(const char *name,
				      const struct bench_stats st[NR_PEERS],
				      const int *vs, size_t nvs)
{
	char buf[128];

	printf("| %s |", name);
	for (int p = 0; p < NR_PEERS; p++) {
		bench_fmt_stats(buf, sizeof(buf), &st[p]);
		printf(" %s |", buf);
	}
	for (size_t r = 0; r < nvs; r++) {
		bench_fmt_ratio(buf, sizeof(buf), &st[PEER_MEMBIND], &st[vs[r]]);
		printf(" %s |", buf);
	}
	printf("\n");
}

/* The same with the ratio columns membind/libnuma and membind/hwloc. */
static inline void bench_table_head(const char *first)
{
	bench_table_head_vs(first, bench_ratio_vs, BENCH_NR_RATIOS);
}

static inline void bench_table_row(const char *name,
				   const struct bench_stats st[NR_PEERS])
{
	bench_table_row_vs(name, st, bench_ratio_vs, BENCH_NR_RATIOS);
}

/* What a cold-process sample gives back. */
struct bench_child {
	uint64_t wall_ns; /* posix_spawn() to waitpid(), seen by the parent */
	char out[512];    /* the child's stdout, NUL-terminated */
};

/*
 * Run argv[0] (a path) in a fresh process with environment envp, capture its
 * stdout and time it from just before posix_spawn() to the end of waitpid().
 * Returns 0, or -1 after printing why (the child failed or said nothing).
 */
static inline int bench_spawn(char *const argv[], char *const envp[],
			      struct bench_child *res)
{
	posix_spawn_file_actions_t fa;
	int pfd[2], status, ret;
	size_t n = 0;
	uint64_t t0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC)) {
		perror("bench: pipe");
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	t0 = bench_now_ns();
	ret = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (ret) {
		fprintf(stderr, "bench: spawn %s: %s\n", argv[0], strerror(ret));
		close(pfd[0]);
		return -1;
	}
	for (;;) {
		ssize_t r = read(pfd[0], res->out + n, sizeof(res->out) - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof(res->out) - 1)
			break;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("bench: waitpid");
			return -1;
		}
	res->wall_ns = bench_now_ns() - t0;
	res->out[n] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) || !n) {
		fprintf(stderr, "bench: %s %s failed (status %#x): %s\n",
			argv[0], argv[1] ? argv[1] : "", status, res->out);
		return -1;
	}
	return 0;
}

/* envp with every NAME=... in drop removed and the strings in add (NAME=V)
 * appended.  The result lives until exit. */
static inline char **bench_env(char *const *base, const char *const *drop,
			       const char *const *add)
{
	size_t nb = 0, na = 0, k = 0;
	char **env;

	while (base[nb])
		nb++;
	while (add && add[na])
		na++;
	env = calloc(nb + na + 1, sizeof(*env));
	if (!env) {
		perror("bench: calloc");
		exit(2);
	}
	for (size_t i = 0; i < nb; i++) {
		int skip = 0;

		for (size_t d = 0; drop && drop[d]; d++) {
			size_t l = strlen(drop[d]);

			if (!strncmp(base[i], drop[d], l) && base[i][l] == '=')
				skip = 1;
		}
		if (!skip)
			env[k++] = base[i];
	}
	for (size_t i = 0; i < na; i++)
		env[k++] = (char *)add[i];
	env[k] = NULL;
	return env;
}

#endif /* MEMBIND_BENCH_H */
