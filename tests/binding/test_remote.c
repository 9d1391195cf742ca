/* SPDX-License-Identifier: MIT */
/*
 * Description: mem_setbinding(pid) on another running process (under
 * ptrace, src/remote.c): the child's new pages land on the memblk it was
 * bound to, from every thread; with MEMBIND_MOVE its old pages move too;
 * every process-scope scheme round-trips through mem_getbinding(pid).
 * Placement is read from the child's numa_maps and from mem_where(pid).
 */
#include <poll.h>
#include <pthread.h>
#include <sys/wait.h>

#include "bindtest.h"

#define LEN (2UL << 20) /* small: the nodes of some guests are */

static int to_child[2], from_child[2];

/* The child: on each byte read, map and touch LEN bytes (from a new
 * thread when the byte is 't'), and answer with the address. */
static void *alloc_once(void *arg)
{
	char *p = bt_map(LEN);

	bt_touch(p, LEN);
	*(char **)arg = p;
	return NULL;
}

static void child(void)
{
	char cmd;

	close(to_child[1]);
	close(from_child[0]);
	while (read(to_child[0], &cmd, 1) == 1) {
		char *p = NULL;

		if (cmd == 't') {
			pthread_t t;

			pthread_create(&t, NULL, alloc_once, &p);
			pthread_join(t, NULL);
		} else {
			alloc_once(&p);
		}
		if (write(from_child[1], &p, sizeof(p)) != sizeof(p))
			_exit(1);
	}
	_exit(0);
}

static char *child_alloc(char how)
{
	struct pollfd pfd = {.fd = from_child[0], .events = POLLIN};
	char *p;

	/* A child killed (say, by the OOM killer) must fail the test, not
	 * hang it. */
	if (write(to_child[1], &how, 1) != 1 || poll(&pfd, 1, 60000) != 1 ||
	    read(from_child[0], &p, sizeof(p)) != sizeof(p)) {
		fprintf(stderr, "child did not answer\n");
		exit(T_FAIL);
	}
	return p;
}

/* Pages per memblk of the child's mapping at p, by numa_maps and by
 * mem_where(pid), which must agree. */
static void child_placement(pid_t pid, const char *what, char *p, long *c)
{
	long w[BT_MAX] = {0};
	size_t n = LEN / BT_PAGE;
	void **pages = malloc(n * sizeof(*pages));
	int *st = malloc(n * sizeof(*st)), nm = memblk_count();
	char path[64], line[8192];
	FILE *f;

	memset(c, 0, BT_MAX * sizeof(long));
	snprintf(path, sizeof(path), "/proc/%d/numa_maps", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *tok, *save;

		if (strtoul(line, NULL, 16) != (uintptr_t)p)
			continue;
		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save)) {
			int node;
			long pg;

			if (sscanf(tok, "N%d=%ld", &node, &pg) == 2 &&
			    node_to_memblk(node) >= 0)
				c[node_to_memblk(node)] += pg;
		}
	}
	if (f)
		fclose(f);
	for (size_t i = 0; i < n; i++)
		pages[i] = p + i * BT_PAGE;
	CHECK_EQ(mem_where(pid, pages, n, st), 0);
	for (size_t i = 0; i < n; i++)
		if (st[i] >= 0 && st[i] < BT_MAX)
			w[st[i]]++;
	bt_print(what, c, nm);
	for (int m = 0; m < nm; m++)
		CHECK_EQ(w[m], c[m]);
	free(pages);
	free(st);
}

static void round_trip(pid_t pid, unsigned long scheme, unsigned long mask)
{
	unsigned long m[1] = {mask}, got[1] = {0}, b = 0;
	int nm = memblk_count(), ret;

	ret = mem_setbinding(pid, (unsigned)nm, m, scheme);
	if (ret == -EOPNOTSUPP && scheme == MEMBIND_WEIGHTED) {
		printf("weighted: -EOPNOTSUPP on this kernel\n");
		return;
	}
	CHECK_EQ(ret, 0);
	CHECK_EQ(mem_getbinding(pid, (unsigned)nm, got, &b), nm);
	CHECK_EQ(b, scheme);
	CHECK_EQ(got[0], mask);
}

int main(void)
{
	unsigned long mask[1];
	long c[BT_MAX];
	char *a, *b, *t;
	int nm, home, m, m2, st;
	pid_t pid;

	bt_need_memblks(2, "rebinding another process");
	nm = memblk_count();
	if (pipe(to_child) || pipe(from_child))
		return T_FAIL;
	pid = fork();
	if (pid == 0)
		child();

	a = child_alloc('m');
	child_placement(pid, "before", a, c);
	home = 0;
	for (int i = 1; i < nm; i++)
		if (c[i] > c[home])
			home = i;
	/* Targets: the two other memblks with the most free memory. */
	m = m2 = -1;
	for (int i = 0, best = -1; i < 2; i++, best = -1) {
		uint64_t most = 0;

		membind_topology_refresh();
		for (int j = 0; j < nm; j++) {
			struct memblk_info in = MEMBLK_INFO_INIT;

			if (j == home || j == m || memblk_info(j, &in))
				continue;
			if (best < 0 || in.free_bytes > most) {
				best = j;
				most = in.free_bytes;
			}
		}
		if (i == 0)
			m = best;
		else
			m2 = best < 0 ? home : best;
	}

	/* New pages follow the new binding, from any thread. */
	bt_mask(mask, bt_bind_to(m));
	CHECK_EQ(mem_setbinding(pid, (unsigned)nm, mask, MEMBIND_HARD), 0);
	b = child_alloc('m');
	child_placement(pid, "after set (main thread)", b, c);
	CHECK_EQ(c[m], (long)(LEN / BT_PAGE));
	t = child_alloc('t');
	child_placement(pid, "after set (new thread)", t, c);
	CHECK_EQ(c[m], (long)(LEN / BT_PAGE));

	/* MOVE: the old pages follow too. */
	bt_mask(mask, bt_bind_to(m2));
	CHECK_EQ(mem_setbinding(pid, (unsigned)nm, mask,
				MEMBIND_HARD | MEMBIND_MOVE), 0);
	child_placement(pid, "after move (first buffer)", a, c);
	CHECK_EQ(c[m2], (long)(LEN / BT_PAGE));
	child_placement(pid, "after move (second buffer)", b, c);
	CHECK_EQ(c[m2], (long)(LEN / BT_PAGE));

	/* Every process-scope scheme reads back as set. */
	round_trip(pid, MEMBIND_HARD, 1UL << m);
	round_trip(pid, MEMBIND_SOFT, 1UL << m);
	round_trip(pid, MEMBIND_SOFT, 3UL);
	round_trip(pid, MEMBIND_ROUND_ROBIN, (1UL << nm) - 1);
	round_trip(pid, MEMBIND_WEIGHTED, (1UL << nm) - 1);
	round_trip(pid, MEMBIND_FIRST_TOUCH, 0);
	round_trip(pid, MEMBIND_FIRST_TOUCH, 1UL << m);
	round_trip(pid, MEMBIND_DEFAULT, 0);

	close(to_child[1]);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return t_finish("test_remote");
}
