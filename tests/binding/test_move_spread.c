/* SPDX-License-Identifier: MIT */
/*
 * Description: MEMBIND_MOVE and mem_move() put the pages that exist where
 * the binding puts new ones.  Every placement is read page by page with
 * move_pages(2) and nodes = NULL, a query independent of the library.
 *
 *   - A child process with 32 MiB on one memblk (HARD), rebound from
 *     outside with mem_setbinding(pid, ROUND_ROBIN all | MOVE): each
 *     memblk then holds its share of the pages within 5 percentage points,
 *     as does a fresh child that ran under ROUND_ROBIN all from the start;
 *     the child checks its memory all along (a counter per page) and finds
 *     every value it wrote.
 *   - The same with WEIGHTED, the first memblk weighted 3, the others 1
 *     (Linux 6.9 or later; weights restored afterwards).
 *   - mem_move() of a range with STRIPE (1 MiB): every page on its
 *     stripe's memblk; with ROUND_ROBIN and 4 threads: every page on the
 *     memblk of the kernel's interleave order, (address / page) mod n, and
 *     the threads reported; the contents intact.
 *   - A mem_alloc() buffer populated on one memblk and rebound with
 *     mem_setbinding_range(ROUND_ROBIN all | MOVE): spread.
 *   - HARD | MOVE and SOFT | MOVE at process scope: the pages outside the
 *     mask move into it.
 *   - Pages shared with a child (MAP_SHARED) cannot move as a range: every
 *     one is counted (stats.shared, the return value).
 *   - A move stopped by its progress callback returns -ECANCELED, with
 *     every page present and intact.
 *   - Transparent huge pages spread by mem_move() stay whole (all 512
 *     pieces of each on one memblk) and migrate once each.
 *
 * Needs two memblks (exit 77 otherwise).  With MEMBIND_TEST_WRONG=1 the
 * moves are given a mask without the first memblk: the test must fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "bindtest.h"

#define LEN (32UL << 20)
#define NPAGES (LEN / BT_PAGE)

static int n;
static int home; /* the memblk the pages start on */
static unsigned long all;

static void *pg[NPAGES];
static int st[NPAGES];

/* The mask a move is given: every memblk, or under MEMBIND_TEST_WRONG
 * every memblk but the first. */
static unsigned long move_mask(void)
{
	return bt_wrong() ? all & ~1UL : all;
}

/* memblk of each page of [p, p + len) of pid by move_pages(2) itself. */
static void query(pid_t pid, char *p, size_t len, int *out)
{
	size_t cnt = len / BT_PAGE;

	for (size_t i = 0; i < cnt; i++)
		pg[i] = p + i * BT_PAGE;
	if (syscall(SYS_move_pages, pid, cnt, pg, NULL, out, 0) < 0) {
		perror("move_pages");
		exit(T_FAIL);
	}
	for (size_t i = 0; i < cnt; i++)
		if (out[i] >= 0)
			out[i] = node_to_memblk(out[i]);
}

static void count(const int *where, size_t cnt, long *c)
{
	memset(c, 0, BT_MAX * sizeof(long));
	for (size_t i = 0; i < cnt; i++)
		if (where[i] >= 0 && where[i] < BT_MAX)
			c[where[i]]++;
}

/* Each memblk within 5 points of its share (share[m] of total). */
static void check_shares(const char *what, const long *c, const double *share)
{
	long total = 0;

	for (int m = 0; m < n; m++)
		total += c[m];
	printf("%-34s", what);
	for (int m = 0; m < n; m++)
		printf(" m%d=%.1f%%(%.1f)", m, 100.0 * (double)c[m] / (double)total,
		       100.0 * share[m]);
	printf("\n");
	CHECK_EQ(total, (long)NPAGES);
	for (int m = 0; m < n; m++) {
		double got = total ? (double)c[m] / (double)total : 0;

		CHECK(got > share[m] - 0.05 && got < share[m] + 0.05);
	}
}

/* ---- a child that holds LEN bytes and checks them all along ---- */
struct child {
	pid_t pid;
	char *p;
	int stop; /* write end: closing it stops the child */
};

static void child_main(unsigned long mask, unsigned long b, int addr_fd,
		       int stop_fd)
{
	unsigned int *v;
	char *p;
	long round = 0, bad = 0;

	if (mem_setbinding(0, BT_MAX, &mask, b))
		_exit(4);
	p = bt_map(LEN);
	v = (unsigned int *)p;
	for (size_t i = 0; i < NPAGES; i++)
		v[i * (BT_PAGE / sizeof(*v))] = 1;
	if (write(addr_fd, &p, sizeof(p)) != sizeof(p))
		_exit(5);
	fcntl(stop_fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		char c;

		for (size_t i = 0; i < NPAGES; i++) {
			unsigned int *x = &v[i * (BT_PAGE / sizeof(*v))];

			bad += *x != (unsigned int)round + 1;
			*x = (unsigned int)round + 2;
		}
		round++;
		if (read(stop_fd, &c, 1) == 0)
			break;
		usleep(1000);
	}
	_exit(bad ? 3 : 0);
}

static void child_start(struct child *ch, unsigned long mask, unsigned long b)
{
	int addr[2], stop[2];

	if (pipe(addr) || pipe(stop)) {
		perror("pipe");
		exit(T_FAIL);
	}
	ch->pid = fork();
	if (ch->pid == 0) {
		close(addr[0]);
		close(stop[1]);
		child_main(mask, b, addr[1], stop[0]);
	}
	close(addr[1]);
	close(stop[0]);
	ch->stop = stop[1];
	if (ch->pid < 0 || read(addr[0], &ch->p, sizeof(ch->p)) != sizeof(ch->p)) {
		fprintf(stderr, "child did not start\n");
		exit(T_FAIL);
	}
	close(addr[0]);
}

/* Stop the child; it must have found every value it wrote. */
static void child_end(struct child *ch, const char *what)
{
	int status = 0;

	close(ch->stop);
	waitpid(ch->pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		printf("%s: child ended with status 0x%x\n", what, status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A child on home, rebound from outside with b | MOVE; and a child under
 * b from the start.  Both spreads against the shares. */
static void test_process(unsigned long b, const double *share,
			 const char *name)
{
	unsigned long one = 1UL << home, mask = move_mask();
	struct child moved, fresh;
	long c[BT_MAX];
	char label[64];

	child_start(&moved, one, MEMBIND_HARD);
	query(moved.pid, moved.p, LEN, st);
	count(st, NPAGES, c);
	snprintf(label, sizeof(label), "%s: before the move", name);
	bt_print(label, c, n);
	CHECK_EQ(c[home], (long)NPAGES);
	CHECK_EQ(mem_setbinding(moved.pid, BT_MAX, &mask, b | MEMBIND_MOVE), 0);
	query(moved.pid, moved.p, LEN, st);
	count(st, NPAGES, c);
	snprintf(label, sizeof(label), "%s: set --move", name);
	check_shares(label, c, share);
	child_end(&moved, label);

	child_start(&fresh, all, b);
	query(fresh.pid, fresh.p, LEN, st);
	count(st, NPAGES, c);
	snprintf(label, sizeof(label), "%s: fresh", name);
	check_shares(label, c, share);
	child_end(&fresh, label);
}

static int weights_saved[BT_MAX];

static int weight_rw(int node, int set)
{
	char path[128], buf[16];
	int fd, v = -1;
	ssize_t r;

	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/mempolicy/weighted_interleave/node%d", node);
	fd = open(path, set >= 0 ? O_WRONLY : O_RDONLY);
	if (fd < 0)
		return -1;
	if (set >= 0) {
		int l = snprintf(buf, sizeof(buf), "%d", set);

		v = write(fd, buf, (size_t)l) == l ? set : -1;
	} else if ((r = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[r] = 0;
		v = atoi(buf);
	}
	close(fd);
	return v;
}

static void test_weighted(void)
{
	double share[BT_MAX];
	unsigned long one = 1;
	int first = 0;

	if (mem_setbinding(0, BT_MAX, &one, MEMBIND_WEIGHTED | MEMBIND_THREAD) ==
	    -EOPNOTSUPP) {
		printf("weighted: skipped, no MPOL_WEIGHTED_INTERLEAVE (Linux 6.9)\n");
		return;
	}
	{
		unsigned long none = 0;

		CHECK_EQ(mem_setbinding(0, BT_MAX, &none,
					MEMBIND_DEFAULT | MEMBIND_THREAD), 0);
	}
	for (int m = 0; m < n; m++) {
		weights_saved[m] = weight_rw(memblk_to_node(m), -1);
		if (weights_saved[m] < 0 ||
		    weight_rw(memblk_to_node(m), m == first ? 3 : 1) < 0) {
			printf("weighted: skipped, cannot set the weights\n");
			for (int k = 0; k < m; k++)
				weight_rw(memblk_to_node(k), weights_saved[k]);
			return;
		}
	}
	for (int m = 0; m < n; m++)
		share[m] = (m == first ? 3.0 : 1.0) / (double)(n + 2);
	test_process(MEMBIND_WEIGHTED, share, "weighted 3:1");
	for (int m = 0; m < n; m++)
		weight_rw(memblk_to_node(m), weights_saved[m]);
}

static void fill(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += BT_PAGE)
		*(uint64_t *)(p + i) = 0x9e3779b97f4a7c15ULL * (i / BT_PAGE + 1);
}

static long damaged(const char *p, size_t len)
{
	long bad = 0;

	for (size_t i = 0; i < len; i += BT_PAGE)
		bad += *(const uint64_t *)(p + i) !=
		       0x9e3779b97f4a7c15ULL * (i / BT_PAGE + 1);
	return bad;
}

/* A range of len on home, filled. */
static char *on_home(size_t len)
{
	unsigned long one = 1UL << home;
	char *p = bt_map(len);

	CHECK_EQ(mem_setbinding_range(p, len, BT_MAX, &one, MEMBIND_HARD), 0);
	fill(p, len);
	return p;
}

static int nth(unsigned long mask, long i)
{
	int w = __builtin_popcountl(mask), m = -1;

	i %= w;
	for (long k = 0; k <= i; k++)
		do
			m++;
		while (!(mask >> m & 1));
	return m;
}

static void test_stripes(void)
{
	unsigned long mask = move_mask();
	struct mem_move_stats s = MEM_MOVE_STATS_INIT;
	char *p = on_home(LEN);
	long off = 0, ret;

	ret = mem_move(0, p, LEN, BT_MAX, &mask,
		       MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(20), NULL, &s);
	CHECK_EQ(ret, 0);
	query(0, p, LEN, st);
	for (size_t i = 0; i < NPAGES; i++)
		off += st[i] != nth(all, (long)(i * BT_PAGE >> 20));
	printf("stripes of 1 MiB: %ld of %lu pages off their stripe's memblk "
	       "(moved %llu, in place %llu)\n",
	       off, NPAGES, (unsigned long long)s.moved,
	       (unsigned long long)s.in_place);
	CHECK_EQ(off, 0);
	CHECK_EQ(damaged(p, LEN), 0);
	bt_unmap(p, LEN);
}

static void test_threads(void)
{
	unsigned long mask = move_mask();
	struct mem_move_opts o = MEM_MOVE_OPTS_INIT;
	struct mem_move_stats s = MEM_MOVE_STATS_INIT;
	char *p = on_home(LEN);
	long off = 0, ret;
	long c[BT_MAX];
	double share[BT_MAX];

	o.threads = 4;
	ret = mem_move(0, p, LEN, BT_MAX, &mask, MEMBIND_ROUND_ROBIN, &o, &s);
	CHECK_EQ(ret, 0);
	CHECK_EQ(s.threads, 4);
	CHECK_EQ(s.failed, 0);
	CHECK_EQ(s.scanned, s.moved + s.in_place);
	query(0, p, LEN, st);
	for (size_t i = 0; i < NPAGES; i++)
		off += st[i] != nth(all, (long)((uintptr_t)(p + i * BT_PAGE) /
						BT_PAGE));
	printf("round-robin, %u threads: %ld of %lu pages off the interleave "
	       "order; moved %llu, in place %llu\n",
	       s.threads, off, NPAGES, (unsigned long long)s.moved,
	       (unsigned long long)s.in_place);
	CHECK_EQ(off, 0);
	count(st, NPAGES, c);
	for (int m = 0; m < n; m++)
		share[m] = 1.0 / n;
	check_shares("mem_move round-robin", c, share);
	CHECK_EQ(damaged(p, LEN), 0);
	bt_unmap(p, LEN);
}

static void test_alloc_buffer(void)
{
	struct mem_alloc_opts ao = MEM_ALLOC_OPTS_INIT;
	unsigned long one = 1UL << home, mask = move_mask();
	double share[BT_MAX];
	long c[BT_MAX];
	char *p;

	ao.flags = MEM_ALLOC_POPULATE;
	p = mem_alloc(LEN, BT_MAX, &one, MEMBIND_HARD, &ao);
	CHECK(p != NULL);
	if (!p)
		return;
	fill(p, LEN);
	CHECK_EQ(mem_setbinding_range(p, LEN, BT_MAX, &mask,
				      MEMBIND_ROUND_ROBIN | MEMBIND_MOVE), 0);
	query(0, p, LEN, st);
	count(st, NPAGES, c);
	for (int m = 0; m < n; m++)
		share[m] = 1.0 / n;
	check_shares("mem_alloc buffer, range --move", c, share);
	CHECK_EQ(damaged(p, LEN), 0);
	mem_free(p);
}

/* HARD and SOFT at process scope: a buffer on home goes to the other. */
static void test_hard_soft(unsigned long scheme)
{
	int to = home == n - 1 ? 0 : n - 1;
	unsigned long none = 0, mask = 1UL << bt_bind_to(to);
	char *p = bt_map(8UL << 20);
	unsigned long one = 1UL << home;
	long c[BT_MAX];

	CHECK_EQ(mem_setbinding_range(p, 8UL << 20, BT_MAX, &one,
				      MEMBIND_HARD), 0);
	fill(p, 8UL << 20);
	/* No binding of its own: the range follows the process's. */
	CHECK_EQ(mem_setbinding_range(p, 8UL << 20, BT_MAX, &none,
				      MEMBIND_DEFAULT), 0);
	CHECK_EQ(mem_setbinding(0, BT_MAX, &mask, scheme | MEMBIND_MOVE), 0);
	query(0, p, 8UL << 20, st);
	count(st, 2048, c);
	printf("%s --move to %d:", scheme == MEMBIND_HARD ? "hard" : "soft", to);
	bt_print("", c, n);
	CHECK_EQ(c[to], 2048);
	CHECK_EQ(damaged(p, 8UL << 20), 0);
	CHECK_EQ(mem_setbinding(0, BT_MAX, &none, MEMBIND_DEFAULT), 0);
	bt_unmap(p, 8UL << 20);
}

/* Shared pages cannot move as a range: all counted. */
static void test_shared(void)
{
	size_t len = 4UL << 20, cnt = len / BT_PAGE;
	unsigned long one = 1UL << home, mask = move_mask();
	struct mem_move_stats s = MEM_MOVE_STATS_INIT;
	int go[2], ready[2];
	char *p, c;
	pid_t pid;
	long ret;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		 -1, 0);
	CHECK(p != MAP_FAILED);
	if (p == MAP_FAILED || pipe(go) || pipe(ready))
		return;
	CHECK_EQ(mem_setbinding_range(p, len, BT_MAX, &one, MEMBIND_HARD), 0);
	fill(p, len);
	pid = fork();
	if (pid == 0) {
		volatile long sum = 0;

		close(go[1]);
		for (size_t i = 0; i < len; i += BT_PAGE)
			sum += p[i];
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		if (read(go[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	CHECK_EQ(read(ready[0], &c, 1), 1);
	ret = mem_move(0, p, len, BT_MAX, &mask, MEMBIND_ROUND_ROBIN, NULL, &s);
	printf("shared with a child: returned %ld; scanned %llu, in place "
	       "%llu, moved %llu, failed %llu (shared %llu), first error %d\n",
	       ret, (unsigned long long)s.scanned,
	       (unsigned long long)s.in_place, (unsigned long long)s.moved,
	       (unsigned long long)s.failed, (unsigned long long)s.shared,
	       s.first_error);
	/* Those that would go elsewhere than home: all stay, all counted. */
	CHECK_EQ(ret, (long)s.failed);
	CHECK_EQ(s.moved, 0);
	CHECK_EQ(s.shared, s.failed);
	CHECK_EQ(s.failed + s.in_place, (uint64_t)cnt);
	CHECK(s.failed >= (uint64_t)cnt / 2 / (unsigned)n);
	CHECK_EQ(s.first_error, -EACCES);
	close(go[1]);
	close(ready[0]);
	waitpid(pid, NULL, 0);
	CHECK_EQ(damaged(p, len), 0);
	munmap(p, len);
}

/* Stop once something moved (the first batch may hold only pages that
 * are in place). */
static int stop_at_first(void *arg, const struct mem_move_stats *s)
{
	(*(int *)arg)++;
	return s->moved > 0;
}

static void test_interrupt(void)
{
	unsigned long mask = move_mask();
	struct mem_move_opts o = MEM_MOVE_OPTS_INIT;
	struct mem_move_stats s = MEM_MOVE_STATS_INIT;
	char *p = on_home(LEN);
	int calls = 0, present = 0;
	long ret;

	o.threads = 1;
	o.progress = stop_at_first;
	o.arg = &calls;
	ret = mem_move(0, p, LEN, BT_MAX, &mask, MEMBIND_ROUND_ROBIN, &o, &s);
	printf("stopped after the first batch that moved: returned %ld, %d progress calls, "
	       "moved %llu of %lu pages\n",
	       ret, calls, (unsigned long long)s.moved, NPAGES);
	CHECK_EQ(ret, -ECANCELED);
	CHECK(calls >= 1 && calls <= 2);
	CHECK(s.moved > 0 && s.moved < NPAGES / 2);
	query(0, p, LEN, st);
	for (size_t i = 0; i < NPAGES; i++)
		present += st[i] >= 0;
	CHECK_EQ(present, (long)NPAGES);
	CHECK_EQ(damaged(p, LEN), 0);
	bt_unmap(p, LEN);
}

static unsigned long vmstat(const char *key)
{
	char line[256];
	unsigned long v = 0;
	size_t kl = strlen(key);
	FILE *f = fopen("/proc/vmstat", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ' ')
			v = strtoul(line + kl + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static long anon_huge_kb(void)
{
	char line[256];
	long kb = 0;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void test_thp(void)
{
	size_t huge = 2UL << 20, len = 16UL << 20, nb = len / huge;
	unsigned long one = 1UL << home, mask = move_mask();
	unsigned long before, after;
	long whole = 0, used = 0, c[BT_MAX] = {0}, hkb;
	char *raw, *p;

	raw = mmap(NULL, len + huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return;
	p = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
	if (madvise(p, len, MADV_HUGEPAGE) ||
	    mem_setbinding_range(p, len, BT_MAX, &one, MEMBIND_HARD)) {
		printf("thp: skipped, no MADV_HUGEPAGE\n");
		munmap(raw, len + huge);
		return;
	}
	hkb = anon_huge_kb();
	fill(p, len);
	hkb = anon_huge_kb() - hkb;
	before = vmstat("thp_migration_success");
	if (hkb < (long)(len >> 10) / 2) {
		printf("thp: skipped, only %ld kB in huge pages\n", hkb);
		munmap(raw, len + huge);
		return;
	}
	CHECK(mem_move(0, p, len, BT_MAX, &mask, MEMBIND_ROUND_ROBIN, NULL,
		       NULL) >= 0);
	after = vmstat("thp_migration_success");
	query(0, p, len, st);
	for (size_t b = 0; b < nb; b++) {
		bool same = true;

		for (size_t i = 1; i < huge / BT_PAGE; i++)
			same &= st[b * huge / BT_PAGE + i] == st[b * huge / BT_PAGE];
		whole += same;
		if (st[b * huge / BT_PAGE] >= 0 && !c[st[b * huge / BT_PAGE]]++)
			used++;
	}
	printf("thp: %ld of %zu huge pages whole on one memblk, %ld memblks "
	       "used, %lu huge page migrations\n",
	       whole, nb, used, after - before);
	CHECK_EQ(whole, (long)nb);
	CHECK_EQ(used, (long)(n < (int)nb ? n : (int)nb));
	CHECK(after - before <= nb);
	CHECK_EQ(damaged(p, len), 0);
	munmap(raw, len + huge);
}

static int count_calls(void *arg, const struct mem_move_stats *s)
{
	(*(int *)arg)++;
	(void)s;
	return 0;
}

/* What runs on one memblk too: arguments, counts, threads, callbacks. */
static void test_api(void)
{
	size_t len = 16UL << 20, cnt = len / BT_PAGE;
	unsigned long one = 1, bad = 1UL << memblk_count();
	struct mem_move_opts o = MEM_MOVE_OPTS_INIT;
	struct mem_move_stats s = MEM_MOVE_STATS_INIT;
	char *p = bt_map(len);
	int calls = 0;

	fill(p, len);
	o.threads = 3;
	o.progress = count_calls;
	o.arg = &calls;
	CHECK_EQ(mem_move(0, p, len, BT_MAX, &one, MEMBIND_ROUND_ROBIN, &o, &s),
		 0);
	printf("api: one memblk, %u threads, %d progress calls: scanned %llu, "
	       "in place %llu, moved %llu\n",
	       s.threads, calls, (unsigned long long)s.scanned,
	       (unsigned long long)s.in_place, (unsigned long long)s.moved);
	CHECK(s.threads >= 1 && s.threads <= 3);
	CHECK(calls >= 2);
	CHECK_EQ(s.scanned, cnt);
	CHECK_EQ(s.in_place + s.moved, cnt);
	CHECK_EQ(s.page_size, BT_PAGE);
	/* the whole process, HARD on memblk 0 (nothing outside on one).  Not
	 * under AddressSanitizer: its shadow is a mapping of about 20 TiB with
	 * resident pages here and there, and a move reads the pagemap of every
	 * page of a mapping that has any (docs/design.md, mem_move). */
#ifndef __SANITIZE_ADDRESS__
	CHECK(mem_move(0, NULL, 0, BT_MAX, &one, MEMBIND_HARD, NULL, NULL) >= 0);
	o.flags = MEM_MOVE_PROCESS_POLICY;
	CHECK(mem_move(0, NULL, 0, BT_MAX, &one, MEMBIND_HARD, &o, NULL) >= 0);
#else
	printf("api: whole-process moves left out under AddressSanitizer\n");
	o.flags = MEM_MOVE_PROCESS_POLICY;
#endif
	CHECK_EQ(mem_move(0, p, len, BT_MAX, &one, MEMBIND_HARD, &o, NULL),
		 -EINVAL);
	o.flags = 1UL << 5;
	CHECK_EQ(mem_move(0, NULL, 0, BT_MAX, &one, MEMBIND_HARD, &o, NULL),
		 -EINVAL);
	CHECK_EQ(mem_move(0, p + 1, len, BT_MAX, &one, MEMBIND_HARD, NULL, NULL),
		 -EINVAL);
	CHECK_EQ(mem_move(0, p, 0, BT_MAX, &one, MEMBIND_HARD, NULL, NULL),
		 -EINVAL);
	CHECK_EQ(mem_move(0, NULL, len, BT_MAX, &one, MEMBIND_HARD, NULL, NULL),
		 -EINVAL);
	CHECK_EQ(mem_move(-1, NULL, 0, BT_MAX, &one, MEMBIND_HARD, NULL, NULL),
		 -EINVAL);
	CHECK_EQ(mem_move(0, p, len, BT_MAX, &bad, MEMBIND_HARD, NULL, NULL),
		 -EINVAL);
	CHECK_EQ(mem_move(0, p, len, BT_MAX, &one, MEMBIND_HARD | MEMBIND_STRICT,
			  NULL, NULL), -EINVAL);
	CHECK_EQ(mem_move(0, p, len, BT_MAX, &one, 99, NULL, NULL), -EINVAL);
	CHECK_EQ(mem_move(0x3fffffff, NULL, 0, BT_MAX, &one, MEMBIND_HARD, NULL,
			  NULL), -ESRCH);
	CHECK_EQ(damaged(p, len), 0);
	bt_unmap(p, len);
}

int main(void)
{
	double share[BT_MAX];
	long best = -1;

	test_api();
	if (t_failures)
		return t_finish("test_move_spread");
	bt_need_memblks(2, "nowhere to move to");
	n = memblk_count();
	all = n == 64 ? ~0UL : (1UL << n) - 1;
	/* home: the memblk with the most free memory. */
	for (int m = 0; m < n; m++) {
		uint64_t fr = 0;

		if (!memblk_size(m, NULL, &fr) && (long)(fr >> 20) > best) {
			best = (long)(fr >> 20);
			home = m;
		}
	}
	printf("%d memblks, pages start on memblk %d\n", n, home);
	for (int m = 0; m < n; m++)
		share[m] = 1.0 / n;
	test_process(MEMBIND_ROUND_ROBIN, share, "round-robin");
	test_weighted();
	test_stripes();
	test_threads();
	test_alloc_buffer();
	test_hard_soft(MEMBIND_HARD);
	test_hard_soft(MEMBIND_SOFT);
	test_shared();
	test_interrupt();
	test_thp();
	return t_finish("test_move_spread");
}
