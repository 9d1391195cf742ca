/* SPDX-License-Identifier: MIT */
/*
 * Moving 1 GiB from one memblk to another (membind's mem_move() with 1, 2
 * and 4 threads) against the kernel's own calls and numactl, with memcpy()
 * of the same amount as the ceiling:
 *
 *   membind N threads  mem_move(0, buf, HARD {to}, threads N)
 *   migrate_pages      migrate_pages(2), one call, this process {from}->{to}
 *   move_pages         move_pages(2), one call over every page, one thread
 *   migratepages       numactl's migratepages PID FROM TO on a child holding
 *                      the same amount (the command's whole run, from spawn
 *                      to exit; skipped if it is not in PATH)
 *   memcpy             memcpy() from a buffer on one memblk to a buffer
 *                      already faulted in on the other
 *
 * The buffer moves back and forth between the first two memblks, so every
 * case moves the whole amount; the cases are interleaved (run i of each
 * before run i+1 of any).  Needs two memblks with room for 2 x the amount:
 * bench/run runs it in a QEMU guest (bench/move.topo) on a one-node host,
 * where TCG emulation makes the absolute figures meaningless and runs the
 * guest's CPUs one at a time: only the ratios mean something, and threads
 * cannot go faster there.
 *
 * MEMBIND_BENCH_MOVE_MB: the amount (default 1024).
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "bench.h"
#include "membind.h"

#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1 << 1)
#endif

enum { C_T1, C_T2, C_T4, C_MIGRATE, C_MOVE_PAGES, C_NUMACTL, C_MEMCPY, NC };
static const char *const case_name[NC] = {
	"membind, 1 thread", "membind, 2 threads", "membind, 4 threads",
	"migrate_pages(2), one call", "move_pages(2), one thread",
	"numactl migratepages", "memcpy (ceiling)",
};

static size_t len, npages;
static int mb_a, mb_b;

static void die(const char *what, int err)
{
	printf("\n**failed**: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static char *map_on(int m, bool touch)
{
	unsigned long mask = 1UL << m;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret;

	if (p == MAP_FAILED)
		die("mmap", errno);
	/* 4 KiB pages: the case the kernel's per-page work matters most. */
	madvise(p, len, MADV_NOHUGEPAGE);
	ret = mem_setbinding_range(p, len, 64, &mask, MEMBIND_HARD);
	if (ret)
		die("mem_setbinding_range", ret);
	if (touch)
		for (size_t i = 0; i < len; i += 4096)
			p[i] = (char)(i >> 12) | 1;
	return p;
}

/* Pages of p not on memblk m (a sample of 1 in 64). */
static long off(char *p, int m)
{
	size_t n = npages / 64;
	void **pg = malloc(n * sizeof(*pg));
	int *st = malloc(n * sizeof(*st));
	long bad = 0;

	for (size_t i = 0; i < n; i++)
		pg[i] = p + i * 64 * 4096;
	if (mem_where(0, pg, n, st))
		bad = -1;
	for (size_t i = 0; bad >= 0 && i < n; i++)
		bad += st[i] != m;
	free(pg);
	free(st);
	return bad;
}

/* One migration of buf from memblk a to memblk b by case c; ns. */
static uint64_t run_case(int c, char *buf, int a, int b)
{
	unsigned long from = 1UL << memblk_to_node(a),
		      to = 1UL << memblk_to_node(b), mask = 1UL << b;
	uint64_t t0 = 0, t1;
	long ret = 0;

	switch (c) {
	case C_T1:
	case C_T2:
	case C_T4: {
		struct mem_move_opts o = MEM_MOVE_OPTS_INIT;
		struct mem_move_stats st = MEM_MOVE_STATS_INIT;

		o.threads = c == C_T1 ? 1 : c == C_T2 ? 2 : 4;
		t0 = bench_now_ns();
		ret = mem_move(0, buf, len, 64, &mask, MEMBIND_HARD, &o, &st);
		t1 = bench_now_ns();
		if (ret == 0 && st.threads != o.threads)
			printf("<!-- %s: %u threads ran -->\n", case_name[c],
			       st.threads);
		break;
	}
	case C_MIGRATE:
		t0 = bench_now_ns();
		ret = syscall(SYS_migrate_pages, 0, 64 + 1, &from, &to);
		t1 = bench_now_ns();
		break;
	case C_MOVE_PAGES: {
		void **pg = malloc(npages * sizeof(*pg));
		int *nodes = malloc(npages * sizeof(int)),
		    *st = malloc(npages * sizeof(int));

		for (size_t i = 0; i < npages; i++) {
			pg[i] = buf + i * 4096;
			nodes[i] = memblk_to_node(b);
		}
		t0 = bench_now_ns();
		ret = syscall(SYS_move_pages, 0, npages, pg, nodes, st,
			      MPOL_MF_MOVE);
		t1 = bench_now_ns();
		free(pg);
		free(nodes);
		free(st);
		break;
	}
	default:
		return 0;
	}
	if (ret < 0)
		die(case_name[c], ret == -1 ? errno : (int)-ret);
	/* The binding follows, so that the next case finds it on b. */
	mem_setbinding_range(buf, len, 64, &mask, MEMBIND_HARD);
	return t1 - t0;
}

/* migratepages PID A B on a child holding len bytes on a: ns, 0 if the
 * command is not there. */
static uint64_t run_numactl(int a, int b)
{
	char pidtxt[16], na[16], nb[16];
	int ready[2], status;
	pid_t child, mp;
	uint64_t t0, t1;
	char c;

	if (pipe(ready))
		die("pipe", errno);
	child = fork();
	if (child == 0) {
		map_on(a, true);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	if (read(ready[0], &c, 1) != 1)
		die("child", EIO);
	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)child);
	snprintf(na, sizeof(na), "%d", memblk_to_node(a));
	snprintf(nb, sizeof(nb), "%d", memblk_to_node(b));
	t0 = bench_now_ns();
	mp = fork();
	if (mp == 0) {
		execlp("migratepages", "migratepages", pidtxt, na, nb,
		       (char *)NULL);
		_exit(127);
	}
	waitpid(mp, &status, 0);
	t1 = bench_now_ns();
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(ready[0]);
	close(ready[1]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
		return 0;
	return t1 - t0;
}

static uint64_t run_memcpy(char *src, char *dst)
{
	uint64_t t0 = bench_now_ns();

	memcpy(dst, src, len);
	__asm__ volatile("" ::"r"(dst) : "memory");
	return bench_now_ns() - t0;
}

int main(void)
{
	const char *mb = getenv("MEMBIND_BENCH_MOVE_MB");
	struct bench_samples s[NC];
	struct bench_stats st[NC];
	int runs = bench_runs(3, 1), where = 0; /* buf's memblk */
	char *buf, *dst;
	bool have_numactl = true;

	len = (size_t)(mb && atoi(mb) > 0 ? atoi(mb) : 1024) << 20;
	npages = len / 4096;
	printf("### Moving %zu MiB between two memblks (`move`)\n\n", len >> 20);
	if (memblk_count() < 2) {
		printf("Skipped: this machine has one memblk; `bench/run` runs "
		       "this benchmark in a QEMU guest (bench/move.topo) "
		       "instead.\n");
		return 0;
	}
	mb_a = 0;
	mb_b = 1;
	memset(s, 0, sizeof(s));
	buf = map_on(mb_a, true);
	/* The ceiling: a copy from memblk a to memory already on b. */
	dst = map_on(mb_b, true);
	for (int r = 0; r < runs; r++)
		bench_add(&s[C_MEMCPY], run_memcpy(buf, dst));
	munmap(dst, len);
	for (int r = 0; r < runs; r++) {
		for (int c = C_T1; c <= C_MOVE_PAGES; c++) {
			int a = where, b = 1 - where;
			uint64_t ns = run_case(c, buf, a, b);
			long bad = off(buf, b);

			if (bad)
				printf("<!-- %s: %ld sampled pages not moved -->\n",
				       case_name[c], bad);
			bench_add(&s[c], ns);
			where = b;
		}
	}
	munmap(buf, len);
	for (int r = 0; r < runs && have_numactl; r++) {
		uint64_t ns = run_numactl(mb_a, mb_b);

		if (!ns)
			have_numactl = false;
		else
			bench_add(&s[C_NUMACTL], ns);
	}
	for (int c = 0; c < NC; c++)
		st[c] = bench_stats(&s[c]);

	printf("%d run%s of each, interleaved; median time, and MB/s of the "
	       "median.  Ratios are to membind with 1 thread (higher: "
	       "faster than it) and to memcpy of the same amount.\n\n",
	       runs, runs == 1 ? "" : "s");
	printf("| case | median | MB/s | vs membind 1 thread | of memcpy |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (int c = 0; c < NC; c++) {
		char t[32];
		double mbs;

		if (c == C_NUMACTL && !have_numactl) {
			printf("| %s | not run (no migratepages in PATH) | | | |\n",
			       case_name[c]);
			continue;
		}
		bench_fmt_time(t, sizeof(t), st[c].med);
		mbs = (double)len / 1e6 / (st[c].med / 1e9);
		printf("| %s | %s | %.0f | %.2f× | %.1f%% |\n", case_name[c], t,
		       mbs, st[C_T1].med / st[c].med,
		       100.0 * st[C_MEMCPY].med / st[c].med);
	}
	printf("\n");
	for (int c = 0; c < NC; c++)
		bench_free(&s[c]);
	return 0;
}
