/* SPDX-License-Identifier: MIT */
/* Running memory-policy syscalls inside another process's threads, under
 * ptrace: the only way Linux offers to set another process's policy. */
#ifndef MEMBIND_REMOTE_H
#define MEMBIND_REMOTE_H

#include <sys/types.h>

/* Make every thread of pid (including threads created while this runs)
 * execute set_mempolicy(mode, nodes, nbits + 1).  nodes is a node mask of
 * nbits bits (may be NULL with nbits 0).  All or nothing: on failure every
 * thread that took the new policy gets its old one back, and no thread is
 * left stopped or traced.  Returns 0 or a negative errno:
 * -ESRCH no such process / zombie, -EPERM not permitted (ptrace rules,
 * seccomp), -EBUSY already traced, -EOPNOTSUPP foreign ABI, -EINVAL kernel
 * thread, or the errno set_mempolicy returned in the target. */
int mb_remote_set_mempolicy(pid_t pid, int mode, const unsigned long *nodes,
			    unsigned long nbits);

/* One thread's policy as get_mempolicy(&mode, nodes, nbits + 1, 0, 0)
 * returns it inside that thread. */
struct mb_thread_policy {
	pid_t tid;
	int mode; /* MPOL_* with mode flags */
	unsigned long *nodes; /* nbits bits, allocated by the caller */
};

/* Ask every thread of pid for its policy.  Fills up to max entries (each
 * entry's nodes buffer must hold nbits bits) and returns the number of
 * threads, or a negative errno; if there are more than max threads it
 * returns the count without filling the rest. */
int mb_remote_get_mempolicy(pid_t pid, struct mb_thread_policy *out, int max,
			    unsigned long nbits);

#endif
