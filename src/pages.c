/* SPDX-License-Identifier: MIT */
/* Pages one by one: where they are (mem_where()) and moving them
 * (mem_move_pages(), mem_migrate()). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "syscalls.h"

/* Kernel answers (node ids or -errno) into memblk ids, in place. */
static void status_to_memblks(const struct mb_topo *t, int *st, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (st[i] < 0)
			continue;
		st[i] = st[i] < t->node_limit && t->nodes[st[i]].memblk >= 0 ?
				t->nodes[st[i]].memblk :
				-ENOENT;
	}
}

/* Kernels before 6.12 (seen on 6.1) report a page never touched in an
 * anonymous mapping as -EFAULT, as for an address outside every mapping
 * (move_pages() used follow_page(FOLL_DUMP)).  Tell the two apart from the
 * process's maps: inside a mapping it is -ENOENT, not present. */
static void efault_to_enoent(pid_t pid, void *const *pages, size_t count,
			     int *st)
{
	struct mb_maps maps;
	size_t first = 0;

	while (first < count && st[first] != -EFAULT)
		first++;
	if (first == count || mb_maps_load(pid, 0, &maps))
		return;
	for (size_t i = first; i < count; i++)
		if (st[i] == -EFAULT && mb_maps_find(&maps, (uintptr_t)pages[i]))
			st[i] = -ENOENT;
	mb_maps_free(&maps);
}

/* The move_pages() path: one syscall for the whole batch (the kernel walks
 * it in chunks). */
static int where_move(const struct mb_topo *t, pid_t pid, void *const *pages,
		      size_t count, int *memblk)
{
	long ret = mb_sys_move_pages(pid, count, (void **)pages, NULL, memblk,
				     0);

	if (ret < 0)
		return (int)ret;
	efault_to_enoent(pid, pages, count, memblk);
	status_to_memblks(t, memblk, count);
	return 0;
}

MB_EXPORT int mem_where(pid_t pid, void *const *pages, size_t count,
			int *memblk)
{
	const struct mb_topo *t;
	int err = 0;

	if (pid < 0 || !pages || !memblk || count == 0 ||
	    count > (size_t)INT32_MAX)
		return -EINVAL;
	t = mb_topo_live(&err);
	if (!t)
		return err;
	return mb_where_raw(t, pid, pages, count, memblk, NULL);
}

int mb_where_raw(const struct mb_topo *t, pid_t pid, void *const *pages,
		 size_t count, int *memblk, uint64_t *raw)
{
	void **sub;
	size_t k = 0;
	int *st, n, ret;

	if (raw)
		memset(raw, 0, count * sizeof(*raw));
	/* The page frames of /proc/PID/pagemap when we may see them (see
	 * pagemap.c); move_pages() for what they leave undecided. */
	n = mb_where_pagemap_raw(t, pid, pages, count, memblk, raw);
	if (n == 0)
		return 0;
	if (n < 0)
		return where_move(t, pid, pages, count, memblk);
	sub = malloc((size_t)n * (sizeof(*sub) + sizeof(*st)));
	if (!sub)
		return where_move(t, pid, pages, count, memblk);
	st = (int *)(sub + n);
	for (size_t i = 0; i < count; i++)
		if (memblk[i] == MB_WHERE_UNDECIDED)
			sub[k++] = pages[i];
	ret = where_move(t, pid, sub, (size_t)n, st);
	k = 0;
	for (size_t i = 0; i < count && !ret; i++)
		if (memblk[i] == MB_WHERE_UNDECIDED)
			memblk[i] = st[k++];
	free(sub);
	return ret;
}

MB_EXPORT int mem_move_pages(pid_t pid, void *const *pages, size_t count,
			     const int *memblk, int *status)
{
	const struct mb_topo *t;
	int *nodes, failed = 0, err = 0;
	long ret;

	if (pid < 0 || !pages || !memblk || !status || count == 0 ||
	    count > (size_t)INT32_MAX)
		return -EINVAL;
	t = mb_topo_live(&err);
	if (!t)
		return err;
	nodes = malloc(count * sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		if (memblk[i] < 0 || memblk[i] >= t->nmemblks ||
		    !mb_test(t->allowed, (unsigned)memblk[i])) {
			free(nodes);
			return -EINVAL;
		}
		nodes[i] = t->memblk_node[memblk[i]];
	}
	ret = mb_sys_move_pages(pid, count, (void **)pages, nodes, status,
				MB_MPOL_MF_MOVE);
	free(nodes);
	if (ret < 0)
		return (int)ret;
	status_to_memblks(t, status, count);
	for (size_t i = 0; i < count; i++)
		failed += status[i] != memblk[i];
	return failed;
}

MB_EXPORT int mem_migrate(pid_t pid, unsigned int len,
			  const unsigned long *from, const unsigned long *to)
{
	unsigned long fn[MB_LONGS(MB_MAX_NODES)] = {0};
	unsigned long tn[MB_LONGS(MB_MAX_NODES)] = {0};
	const struct mb_topo *t;
	long ret;
	int err = 0;

	if (pid < 0 || !from || !to || len == 0 || len > MEMBIND_MAX_BITS)
		return -EINVAL;
	t = mb_topo_live(&err);
	if (!t)
		return err;
	if (mb_memblks_to_nodes(t, len, from, fn) ||
	    mb_memblks_to_nodes(t, len, to, tn) || !mb_weight(fn, MB_MAX_NODES) ||
	    !mb_weight(tn, MB_MAX_NODES))
		return -EINVAL;
	for (unsigned int m = mb_next(to, len, 0); m < len;
	     m = mb_next(to, len, m + 1))
		if (!mb_test(t->allowed, m))
			return -EINVAL;
	ret = mb_sys_migrate_pages(pid ? pid : getpid(), mb_kbits(t), fn, tn);
	return ret < 0 ? (int)ret : (int)(ret > INT32_MAX ? INT32_MAX : ret);
}
