/* SPDX-License-Identifier: MIT */
/*
 * Description: where pages are, and moving them.  mem_where() agrees with
 * numa_maps on a range spread round-robin over every memblk (an even
 * split); a page never touched is -ENOENT and an unmapped address -EFAULT,
 * page by page; mem_where() on another process (a child binds and touches
 * a buffer, sends its address through a pipe and waits) gives that buffer's
 * placement.  mem_move_pages() moves given pages to given memblks (status
 * equals the targets, mem_where() agrees) and rejects a memblk that does not
 * exist with -EINVAL, moving nothing.  mem_migrate(0, {A}, {B}) moves a
 * buffer from A to B; mem_setbinding(0, HARD {B} | MEMBIND_MOVE) moves a
 * buffer touched on A to B.
 *
 * Needs two memblks (exit 77 otherwise).  With MEMBIND_TEST_WRONG=1 every
 * binding and move goes elsewhere than where the test looks: it must fail.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>

#include "bindtest.h"

#define LEN (8UL << 20)
#define NPAGES (LEN / BT_PAGE)

static int n;
static void *pages[NPAGES];
static int st[NPAGES], want[NPAGES];

static char *map_bound(size_t len, unsigned long mask, unsigned long b)
{
	char *p = bt_map(len);

	CHECK_EQ(mem_setbinding_range(p, len, BT_MAX, &mask, b), 0);
	bt_touch(p, len);
	for (size_t i = 0; i < len / BT_PAGE; i++)
		pages[i] = p + i * BT_PAGE;
	return p;
}

/* Pages of [0, count) that mem_where(pid) puts elsewhere than on m. */
static long off_memblk(pid_t pid, size_t count, int m)
{
	long bad = 0;

	CHECK_EQ(mem_where(pid, pages, count, st), 0);
	for (size_t i = 0; i < count; i++)
		bad += st[i] != m;
	return bad;
}

static void test_where(void)
{
	unsigned long all = n == 64 ? ~0UL : (1UL << n) - 1;
	char *p = map_bound(LEN, bt_wrong() ? all & ~1UL : all,
			    MEMBIND_ROUND_ROBIN);
	char *q = bt_map(3 * BT_PAGE), *gone = bt_map(BT_PAGE);
	void *odd[3] = {q, q + BT_PAGE, gone};
	int own[NPAGES];
	long c[BT_MAX];

	bt_placement("round-robin", p, LEN, c); /* mem_where == numa_maps */
	for (int m = 0; m < n; m++)
		CHECK(c[m] * n >= (long)NPAGES - n && c[m] * n <= (long)NPAGES + n);
	CHECK_EQ(mem_where(getpid(), pages, NPAGES, own), 0);
	CHECK_EQ(mem_where(0, pages, NPAGES, st), 0);
	CHECK(!memcmp(own, st, sizeof(st)));
	munmap(p, LEN);

	q[0] = 1;
	munmap(gone, BT_PAGE);
	CHECK_EQ(mem_where(0, odd, 3, st), 0);
	CHECK(st[0] >= 0 && st[0] < n);
	CHECK_EQ(st[1], -ENOENT);
	CHECK_EQ(st[2], -EFAULT);
	munmap(q, 3 * BT_PAGE);
}

/* A child binds a buffer to memblk m; we look at it from outside. */
static void test_other_pid(int m)
{
	int addr[2], go[2];
	char *p = NULL;
	pid_t pid;

	if (pipe(addr) || pipe(go)) {
		perror("pipe");
		exit(T_FAIL);
	}
	pid = fork();
	if (pid == 0) {
		p = map_bound(LEN, 1UL << bt_bind_to(m), MEMBIND_HARD);
		if (write(addr[1], &p, sizeof(p)) != sizeof(p))
			_exit(1);
		close(go[1]);
		while (read(go[0], &p, 1) > 0)
			; /* until the parent closes it */
		_exit(0);
	}
	close(addr[1]);
	close(go[0]);
	CHECK(pid > 0);
	CHECK_EQ(read(addr[0], &p, sizeof(p)), (long)sizeof(p));
	for (size_t i = 0; i < NPAGES; i++)
		pages[i] = p + i * BT_PAGE;
	printf("child %d: %ld of %lu pages off memblk %d\n", (int)pid,
	       off_memblk(pid, NPAGES, m), NPAGES, m);
	CHECK_EQ(off_memblk(pid, NPAGES, m), 0);
	close(go[1]);
	close(addr[0]);
	waitpid(pid, NULL, 0);
}

static void test_move_pages(void)
{
	enum { COUNT = 64 };
	char *p = map_bound(COUNT * BT_PAGE, 0, MEMBIND_DEFAULT);
	int target[COUNT], before[COUNT];
	long bad = 0;

	for (int i = 0; i < COUNT; i++) {
		want[i] = i % n;
		target[i] = bt_bind_to(want[i]);
	}
	CHECK_EQ(mem_move_pages(0, pages, COUNT, target, st), 0);
	for (int i = 0; i < COUNT; i++)
		bad += st[i] != want[i];
	CHECK_EQ(bad, 0);
	CHECK_EQ(mem_where(0, pages, COUNT, before), 0);
	CHECK(!memcmp(before, want, sizeof(before)));

	/* One memblk that does not exist: -EINVAL, and nothing moves. */
	for (int i = 0; i < COUNT; i++)
		target[i] = (before[i] + 1) % n;
	target[COUNT / 2] = bt_wrong() ? 0 : n;
	CHECK_EQ(mem_move_pages(0, pages, COUNT, target, st), -EINVAL);
	CHECK_EQ(mem_where(0, pages, COUNT, st), 0);
	CHECK(!memcmp(st, before, sizeof(before)));
	munmap(p, COUNT * BT_PAGE);
}

/* A buffer on a, no binding left; then the given move to b. */
static void test_migrate(int a, int b, bool process)
{
	unsigned long from = 1UL << a, to = 1UL << bt_bind_to(b), none = 0;
	char *p = map_bound(LEN, from, MEMBIND_HARD);
	int ret;

	CHECK_EQ(mem_setbinding_range(p, LEN, BT_MAX, &none, MEMBIND_DEFAULT), 0);
	CHECK_EQ(off_memblk(0, NPAGES, a), 0);
	if (process) {
		CHECK_EQ(mem_setbinding(0, BT_MAX, &to, MEMBIND_HARD | MEMBIND_MOVE), 0);
		CHECK_EQ(mem_setbinding(0, BT_MAX, &none, MEMBIND_DEFAULT), 0);
	} else {
		ret = mem_migrate(0, BT_MAX, &from, &to);
		CHECK(ret >= 0);
	}
	printf("%s %d -> %d: %ld of %lu pages not on %d\n",
	       process ? "mem_setbinding HARD | MOVE" : "mem_migrate", a, b,
	       off_memblk(0, NPAGES, b), NPAGES, b);
	CHECK_EQ(off_memblk(0, NPAGES, b), 0);
	munmap(p, LEN);
}

int main(void)
{
	bt_need_memblks(2, "nowhere to move to");
	n = memblk_count();
	test_where();
	test_other_pid(n - 1);
	test_move_pages();
	test_migrate(0, n - 1, false);
	test_migrate(n - 1, 0, true);
	return t_finish("test_where_move");
}
