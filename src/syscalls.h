/* SPDX-License-Identifier: MIT */
/* Raw memory-policy syscalls.  Each wrapper is one syscall() and turns the
 * result into a negative errno.  The kernel's maxnode argument counts one
 * more than the bits it reads: mb_maxnode() turns the number of bits of a
 * mask into it, for these wrappers, for libnuma/libnuma.c and for the
 * calls tracee.c makes a thread of another process run. */
#ifndef MEMBIND_SYSCALLS_H
#define MEMBIND_SYSCALLS_H

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Policy modes and flags; the installed headers may predate some. */
#define MB_MPOL_DEFAULT 0
#define MB_MPOL_PREFERRED 1
#define MB_MPOL_BIND 2
#define MB_MPOL_INTERLEAVE 3
#define MB_MPOL_LOCAL 4
#define MB_MPOL_PREFERRED_MANY 5 /* 5.15 */
#define MB_MPOL_WEIGHTED_INTERLEAVE 6 /* 6.9 */
#define MB_MPOL_F_NUMA_BALANCING (1 << 13) /* 5.12, MPOL_BIND since 6.?*/
#define MB_MPOL_F_RELATIVE_NODES (1 << 14)
#define MB_MPOL_F_STATIC_NODES (1 << 15)
#define MB_MPOL_MODE_FLAGS (MB_MPOL_F_NUMA_BALANCING | MB_MPOL_F_RELATIVE_NODES | MB_MPOL_F_STATIC_NODES)

#ifndef MPOL_F_NODE
#define MPOL_F_NODE (1 << 0)
#define MPOL_F_ADDR (1 << 1)
#define MPOL_F_MEMS_ALLOWED (1 << 2)
#endif
#define MB_MPOL_MF_STRICT (1 << 0)
#define MB_MPOL_MF_MOVE (1 << 1)
#define MB_MPOL_MF_MOVE_ALL (1 << 2)

#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node 450
#endif

/* The maxnode argument for a mask of nbits bits. */
static inline unsigned long mb_maxnode(unsigned long nbits)
{
	return nbits + 1;
}

static inline long mb_ret(long r)
{
	return r < 0 ? -errno : r;
}

static inline int mb_sys_set_mempolicy(int mode, const unsigned long *nodes,
				       unsigned long nbits)
{
	return (int)mb_ret(syscall(SYS_set_mempolicy, mode, nodes,
				   nodes ? mb_maxnode(nbits) : 0));
}

static inline int mb_sys_get_mempolicy(int *mode, unsigned long *nodes,
				       unsigned long nbits, void *addr,
				       unsigned long flags)
{
	return (int)mb_ret(syscall(SYS_get_mempolicy, mode, nodes,
				   nodes ? mb_maxnode(nbits) : 0, addr, flags));
}

static inline int mb_sys_mbind(void *addr, unsigned long len, int mode,
			       const unsigned long *nodes, unsigned long nbits,
			       unsigned int flags)
{
	return (int)mb_ret(syscall(SYS_mbind, addr, len, mode, nodes,
				   nodes ? mb_maxnode(nbits) : 0, flags));
}

static inline long mb_sys_move_pages(int pid, unsigned long count,
				     void **pages, const int *nodes,
				     int *status, int flags)
{
	return mb_ret(syscall(SYS_move_pages, pid, count, pages, nodes, status,
			      flags));
}

static inline long mb_sys_migrate_pages(int pid, unsigned long nbits,
					const unsigned long *from,
					const unsigned long *to)
{
	return mb_ret(syscall(SYS_migrate_pages, pid, mb_maxnode(nbits), from,
			      to));
}

static inline int mb_sys_set_mempolicy_home_node(unsigned long start,
						 unsigned long len,
						 unsigned long home,
						 unsigned long flags)
{
	return (int)mb_ret(syscall(SYS_set_mempolicy_home_node, start, len,
				   home, flags));
}

#endif
