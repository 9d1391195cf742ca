/* SPDX-License-Identifier: MIT */
/*
 * What the remote engine's two halves share (docs/design.md, "Source map"):
 * - tracee.c works on one thread under ptrace: seize it, wait for its stop,
 *   check it, inject the calls, put it back, detach (mb_tracee_*);
 * - remote.c runs the whole operation in the helper process: the threads
 *   and the rounds of rescans, the late threads, the rollback, the helper
 *   itself and the library's entry points.
 * Here: the architecture's part, the per-thread outcomes and limits, and the
 * operation's structures.
 */
#ifndef MEMBIND_REMOTE_ENGINE_H
#define MEMBIND_REMOTE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

#if defined(__x86_64__)
#include "arch/x86_64.h"
#define MB_REMOTE_ARCH 1
#elif defined(__aarch64__)
#include "arch/aarch64.h"
#define MB_REMOTE_ARCH 1
#endif

#ifdef MB_REMOTE_ARCH

/* See arch/aarch64.h: 1 where a thread stopped at a syscall instruction
 * must run into that call's entry stop (the kernel's restart setup comes
 * after our stop), and injecting happens there. */
#ifndef MB_ARCH_RESTART_AT_ENTRY
#define MB_ARCH_RESTART_AT_ENTRY 0
#endif

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

/* Outcomes of the per-thread steps besides 0 and -errno. */
#define MB_GONE 1  /* the thread exited: skip it */
#define MB_RETRY 2 /* a signal arrived first: it was delivered, do again */
#define MB_STALLED 4 /* resumed for our call, the thread did not reach it
		      * (a frozen cgroup): put back, -ETIMEDOUT */
#define MB_LATE 5 /* did not stop promptly: left for later (run_all) */
#define MB_EXECED 3 /* the image the operation was set up for is gone (an
		     * exec): nothing injected; the operation starts over */

/* A thread that has not stopped this long after our PTRACE_INTERRUPT is
 * blocked in the kernel (D state: a vfork parent, slow I/O): it is worked
 * on after the others, so that no healthy thread is held while we wait. */
#define MB_PROMPT_NS 1000000ULL
/* How long such a thread is waited for before the call fails with
 * -ETIMEDOUT (MEMBIND_STOP_TIMEOUT_MS overrides it). */
#define MB_LATE_DEFAULT_MS 5000
/* How often an exec during the call makes it start over before -EAGAIN. */
#define MB_MAX_EXEC_RESTARTS 8

/* How many times one thread is retried because signals keep arriving
 * (the rescans of /proc/PID/task: MB_MAX_ROUNDS, internal.h). */
#define MB_MAX_RETRIES 200
/* Event stops (traps of a group stop, or of an interrupt) one injected call
 * lets pass before it gives up and starts the thread over. */
#define MB_MAX_EVENT_TRAPS 8

/* How long wait_tid() polls without a pause, and its longest pause. */
#define MB_WAIT_SPIN_NS 200000
#define MB_WAIT_MAX_PAUSE_NS 1000000L

/* How long a thread resumed with our registers may take to reach the
 * injected call's entry stop.  It normally takes microseconds; a thread of
 * a frozen cgroup (cgroup.freeze, docker pause) freezes on its way
 * instead, holding our registers: we take it back (PTRACE_INTERRUPT
 * breaks the freeze with a trap) and put its own registers back. */
#define MB_ENTRY_LIMIT_NS 500000000ULL
/* Stalls of one thread (each put back and tried again: a loaded machine
 * can be that slow once) before the call gives up with -ETIMEDOUT. */
#define MB_MAX_STALLS 3

struct rthread {
	pid_t tid;
	bool done;    /* handled (or gone) */
	bool late;    /* seized and interrupted, but not stopped promptly
		       * (blocked in the kernel): done after the others */
	uint64_t late_until; /* give up on it then */
	bool changed; /* runs the new policy: undo on failure */
	bool saved;   /* old policy known */
	int old_mode;
	unsigned long *old_nodes; /* op->save_bits bits */
};

struct rop {
	pid_t pid;
	pid_t live_tid;     /* a thread that was alive at the start (the leader
			     * may have exited: its maps are empty) */
	unsigned long insn; /* address of a syscall instruction */
	unsigned long vdso; /* the vdso's address (AT_SYSINFO_EHDR), 0: none */
	unsigned long vdso_end;
	int memfd;          /* /proc/PID/task/TID/mem: holds the image's mm; it
			     * reads nothing once that mm is gone (exec, exit) */
	bool suspend_seccomp; /* we have CAP_SYS_ADMIN: PTRACE_O_SUSPEND_SECCOMP
			       * keeps a thread's filter off our calls */
	uint64_t late_ns;   /* how long a blocked thread is waited for */
	int why;            /* with MB_EXECED from op_init(): what would be
			     * reported if it keeps happening */
	uint64_t ignored;   /* process-wide SigIgn and SigCgt */
	uint64_t caught;
	unsigned long save_bits; /* >= the kernel's nr_node_ids */
	struct rthread *t;
	size_t n, cap;
	size_t n_first; /* threads found by the first scan */
};

/* What to run in one thread. */
struct job {
	bool get;             /* get_mempolicy into get_mode/get_nodes */
	bool got;             /* and they are filled in */
	int get_mode;
	unsigned long *get_nodes; /* op->save_bits bits */
	bool set;             /* then set_mempolicy */
	int set_mode;
	const unsigned long *set_nodes;
	unsigned long set_bits;
	long set_ret;
	bool set_done; /* set_mempolicy returned 0 in the thread: it runs the
			* new policy, whatever failed after that */
};

enum stop_kind { STOP_GONE, STOP_EVENT, STOP_SYSCALL, STOP_SIGNAL, STOP_LATE };

/* Figures of the last operation, for the benchmark and the tests. */
struct mb_rstats {
	unsigned long threads, over_1ms;
	uint64_t max_pause_ns;
	/* The window in which a thread's registers or stack are ours: from
	 * the first write to the last restore.  Only a SIGKILL of the helper
	 * process inside such a window can harm the target (docs/remote.md). */
	uint64_t inject_max_ns, inject_total_ns;
	pid_t tid[2];
	uint64_t since[2];
};
extern struct mb_rstats mb_rstats;
/* The test hook's count (mb_remote_test_fault_after_set()). */
extern int mb_rfault_after_set;

/* tracee.c: one thread.  Each returns 0, -errno or one of the MB_*
 * outcomes above; see the definitions. */
int mb_tracee_status(pid_t pid, pid_t tid, struct mb_status *st);
int mb_tracee_stolen_report(pid_t tid, int *status);
enum stop_kind mb_tracee_wait_until(pid_t tid, int *sig, uint64_t until);
int mb_tracee_mem_io(pid_t pid, unsigned long addr, void *buf, size_t len,
		     bool write);
int mb_tracee_image_vdso(pid_t pid, pid_t tid, unsigned long *base);
int mb_tracee_ours_again(const struct rop *op, pid_t tid);
void mb_tracee_stats_begin(pid_t tid);
void mb_tracee_stats_drop(pid_t tid);
int mb_tracee_begin(const struct rop *op, pid_t tid);
int mb_tracee_complete(const struct rop *op, pid_t tid, struct job *job,
		       enum stop_kind k, int sig);
int mb_tracee_cancel(const struct rop *op, pid_t tid);

#endif /* MB_REMOTE_ARCH */
#endif
