/* SPDX-License-Identifier: MIT */
/*
 * Description: mem_where() from /proc/PID/pagemap (src/pagemap.c) answers
 * exactly what the move_pages() path answers, page by page.  A mixture of
 * pages: a range round-robin over every memblk, pages never touched,
 * read-faulted pages (the shared zero page), a file mapping read and a
 * memfd written, unmapped holes, a MADV_HUGEPAGE region written (THP) and
 * one read (the huge zero page, if THP gives it), pages shared with a
 * forked child (copy on write), the stack, the heap, [vdso], [vvar],
 * [vsyscall], unaligned addresses and addresses no process can map.  Each
 * answer of mem_where() must equal a raw move_pages() of the same pages,
 * turned into memblks the way the library documents it (-EFAULT inside a
 * mapping is -ENOENT, not present; nodes without a memblk -ENOENT).  Done
 * in order and in a strided order, for pid 0, our pid and a forked child's
 * pid; then as uid 65534 (the frames are hidden: the pagemap path must
 * step aside) and in a process run with MEMBIND_NO_PAGEMAP=1.
 *
 * As root with memory blocks in sysfs, the pagemap path must have decided
 * pages (else the test proves nothing about it and says so).  Runs on any
 * number of memblks; no swap is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "bindtest.h"
#include "internal.h"

#define MAXP 4096
#define HS (2UL << 20)

static void *pages[MAXP];
static const char *kind[MAXP];
static int np;
static int ref[MAXP], ref2[MAXP], got[MAXP];

static void add(const char *k, const void *p)
{
	if (np < MAXP) {
		kind[np] = k;
		pages[np++] = (void *)p;
	}
}

static void add_range(const char *k, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add(k, p + i * BT_PAGE);
}

/* The move_pages() answer, as mem_where() documents it. */
static int reference(pid_t pid, void **pg, int n, int *st)
{
	unsigned long lo[1024], hi[1024];
	int nm = 0;
	char path[64], line[4608];
	FILE *f;

	if (syscall(SYS_move_pages, pid, (unsigned long)n, pg, NULL, st, 0))
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid ? pid : getpid());
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (nm < 1024 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo[nm], &hi[nm]) == 2)
			nm++;
	fclose(f);
	for (int i = 0; i < n; i++) {
		if (st[i] == -EFAULT)
			for (int m = 0; m < nm; m++)
				if ((uintptr_t)pg[i] >= lo[m] &&
				    (uintptr_t)pg[i] < hi[m])
					st[i] = -ENOENT;
		if (st[i] >= 0)
			st[i] = node_to_memblk(st[i]);
	}
	return 0;
}

/* mem_where(pid) over pg (n pages) equals the reference; returns the
 * pages the pagemap path decided. */
static unsigned long compare(const char *what, pid_t pid, void **pg,
			     const char **kd, int n)
{
	unsigned long d0, u0, d1, u1;
	int bad = 0, tries = 0;

	do { /* a stable reference, around the call */
		CHECK_EQ(reference(pid, pg, n, ref), 0);
		mb_where_pagemap_stats(&d0, &u0);
		CHECK_EQ(mem_where(pid, pg, (size_t)n, got), 0);
		mb_where_pagemap_stats(&d1, &u1);
		CHECK_EQ(reference(pid, pg, n, ref2), 0);
	} while (memcmp(ref, ref2, (size_t)n * sizeof(int)) && ++tries < 5);
	CHECK(!memcmp(ref, ref2, (size_t)n * sizeof(int)));
	for (int i = 0; i < n; i++) {
		if (got[i] == ref[i])
			continue;
		if (bad++ < 10)
			fprintf(stderr, "%s: page %d (%s, %p): mem_where %d, "
				"move_pages %d\n", what, i, kd[i], pg[i],
				got[i], ref[i]);
	}
	CHECK_EQ(bad, 0);
	printf("%s: %d pages equal: %d; pagemap decided %lu, left %lu to "
	       "move_pages\n", what, n, n - bad, d1 - d0, u1 - u0);
	return d1 - d0;
}

/* Which kinds of pages the pagemap path leaves to move_pages(). */
static void undecided_kinds(void)
{
	int err = 0, n = mb_where_pagemap(mb_topo_live(&err), 0, pages,
					  (size_t)np, got);

	printf("pagemap path alone: %d", n);
	for (int i = 0; n > 0 && i < np; i++) {
		int c = 0;

		if (got[i] != MB_WHERE_UNDECIDED ||
		    (i && !strcmp(kind[i], kind[i - 1])))
			continue;
		for (int j = i; j < np && !strcmp(kind[j], kind[i]); j++)
			c += got[j] == MB_WHERE_UNDECIDED;
		printf(", %s %d", kind[i], c);
	}
	printf("\n");
}

static bool fast_expected(void)
{
	return geteuid() == 0 &&
	       !access("/sys/devices/system/memory/block_size_bytes", R_OK);
}

static void build(void)
{
	int n = memblk_count(), fd;
	unsigned long all = n >= 64 ? ~0UL : (1UL << n) - 1;
	char *a = bt_map(512 * BT_PAGE), *b = bt_map(64 * BT_PAGE),
	     *c = bt_map(64 * BT_PAGE), *e = bt_map(64 * BT_PAGE), *f, *g,
	     *h, *m;
	FILE *maps;
	char line[512];
	static int stack_var;
	char *heap = malloc(3 * BT_PAGE);

	/* Round-robin over every memblk, touched. */
	CHECK_EQ(mem_setbinding_range(a, 512 * BT_PAGE, BT_MAX, &all,
				      MEMBIND_ROUND_ROBIN), 0);
	bt_touch(a, 512 * BT_PAGE);
	add_range("round-robin", a, 512);
	add_range("untouched", b, 64);
	for (int i = 0; i < 64; i++)
		(void)((volatile char *)c)[i * BT_PAGE];
	add_range("zero page", c, 64);

	/* Our own executable, read; a memfd, written. */
	fd = open("/proc/self/exe", O_RDONLY);
	f = fd < 0 ? MAP_FAILED :
		     mmap(NULL, 16 * BT_PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f != MAP_FAILED) {
		for (int i = 0; i < 16; i++)
			(void)((volatile char *)f)[i * BT_PAGE];
		add_range("file", f, 16);
	}
	if (fd >= 0)
		close(fd);
	fd = memfd_create("where_fast", MFD_CLOEXEC);
	m = fd < 0 || ftruncate(fd, 64 * BT_PAGE) ? MAP_FAILED :
		mmap(NULL, 64 * BT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		     fd, 0);
	if (m != MAP_FAILED) {
		bt_touch(m, 48 * BT_PAGE);
		add_range("memfd", m, 64);
	}
	if (fd >= 0)
		close(fd);

	/* Holes. */
	bt_touch(e, 64 * BT_PAGE);
	munmap(e + 16 * BT_PAGE, 32 * BT_PAGE);
	add_range("holes", e, 64);

	/* THP written, THP read (the huge zero page). */
	g = mmap(NULL, 3 * HS, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g != MAP_FAILED) {
		h = (char *)(((uintptr_t)g + HS - 1) & ~(HS - 1));
		madvise(h, 2 * HS, MADV_HUGEPAGE);
		bt_touch(h, HS);
		for (size_t i = 0; i < HS; i += BT_PAGE)
			(void)((volatile char *)h)[HS + i];
		add_range("thp", h, HS / BT_PAGE);
		add_range("huge zero", h + HS, HS / BT_PAGE);
	}

	/* Special places. */
	add("stack", &line);
	add("data", &stack_var);
	if (heap) {
		heap[0] = heap[BT_PAGE] = 1;
		add("heap", heap);
		add("heap", heap + BT_PAGE);
	}
	maps = fopen("/proc/self/maps", "r");
	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (strstr(line, "[vdso]"))
			add("vdso", (void *)lo);
		if (strstr(line, "[vvar]"))
			add("vvar", (void *)lo);
		if (strstr(line, "[vvar_vclock]"))
			add("vvar", (void *)lo);
		if (strstr(line, "[vsyscall]"))
			add("vsyscall", (void *)lo);
	}
	if (maps)
		fclose(maps);
	for (int i = 0; i < 64; i++)
		add("unaligned", a + i * BT_PAGE + 123);
	add("null", NULL);
	add("low", (void *)0x1000);
	add("kernel", (void *)0xffff888000000000UL);
	add("top of user space", (void *)0x7ffffffff000UL);
}

/* Even indices, then odd ones: runs with gaps. */
static void strided(void **pg, const char **kd)
{
	int k = 0;

	for (int s = 0; s < 2; s++)
		for (int i = s; i < np; i += 2) {
			pg[k] = pages[i];
			kd[k++] = kind[i];
		}
}

static void *spg[MAXP];
static const char *skd[MAXP];

int main(int argc, char **argv)
{
	char *cow = bt_map(64 * BT_PAGE);
	int sync_pipe[2], go_pipe[2], status;
	unsigned long fast;
	pid_t sleeper, child;
	char x = 0;

	if (memblk_count() < 1 || memblk_count() > BT_MAX) {
		printf("SKIP: memblk_count() %d\n", memblk_count());
		return T_SKIP;
	}
	/* Pages shared with a child that sleeps: copy on write. */
	bt_touch(cow, 64 * BT_PAGE);
	if (pipe(sync_pipe) || pipe(go_pipe))
		return T_FAIL;
	sleeper = fork();
	if (sleeper == 0) {
		(void)!read(go_pipe[0], &x, 1);
		_exit(0);
	}
	build();
	add_range("cow-shared", cow, 64);

	if (argc > 1 && !strcmp(argv[1], "no-pagemap")) {
		CHECK_EQ(compare("MEMBIND_NO_PAGEMAP=1", 0, pages, kind, np), 0);
		(void)!write(go_pipe[1], &x, 1);
		waitpid(sleeper, NULL, 0);
		return t_finish("test_where_fast (MEMBIND_NO_PAGEMAP=1)");
	}

	fast = compare("pid 0", 0, pages, kind, np);
	if (fast_expected())
		CHECK(fast >= 512);
	else
		printf("note: not root or no memory blocks in sysfs: the "
		       "pagemap path is not available here\n");
	undecided_kinds();
	compare("own pid", getpid(), pages, kind, np);
	strided(spg, skd);
	compare("pid 0, strided", 0, spg, skd, np);
	compare("pid 0, 40 pages", 0, pages, kind, 40);
	compare("pid 0, 20 pages", 0, pages, kind, 20);

	/* A child that writes its copy of the round-robin pages. */
	child = fork();
	if (child == 0) {
		for (int i = 0; i < np; i++)
			if (!strcmp(kind[i], "round-robin"))
				*(volatile char *)pages[i] = 2;
		(void)!write(sync_pipe[1], &x, 1);
		pause();
		_exit(0);
	}
	(void)!read(sync_pipe[0], &x, 1);
	compare("child's pid", child, pages, kind, np);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	/* Without CAP_SYS_ADMIN, on a private copy. */
	child = fork();
	if (child == 0) {
		if (setgid(65534) || setuid(65534)) {
			printf("SKIP part: cannot become uid 65534\n");
			fflush(NULL);
			_exit(0);
		}
		CHECK_EQ(compare("uid 65534", 0, pages, kind, np), 0);
		fflush(NULL);
		_exit(t_failures ? 1 : 0);
	}
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The switch, read once per process: a new process. */
	child = fork();
	if (child == 0) {
		char *args[] = {argv[0], "no-pagemap", NULL};

		setenv("MEMBIND_NO_PAGEMAP", "1", 1);
		execv("/proc/self/exe", args);
		_exit(127);
	}
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	(void)!write(go_pipe[1], &x, 1);
	waitpid(sleeper, NULL, 0);
	return t_finish("test_where_fast");
}
