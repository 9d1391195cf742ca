/* SPDX-License-Identifier: MIT */
/*
 * The remote engine: make every thread of another process run
 * set_mempolicy()/get_mempolicy() itself, under ptrace.  Linux has no other
 * way to set another process's memory policy.
 *
 * For each thread: PTRACE_SEIZE, PTRACE_INTERRUPT, wait for the stop, save
 * the registers, point them at a "syscall" instruction the target already
 * has mapped (found once per call in its vdso or text), run the syscall
 * between its entry and exit stops, restore the registers exactly (and the
 * few stack bytes below the red zone that carried the arguments), detach.
 * docs/remote.md explains the details: syscall restart, signals that arrive
 * meanwhile, all-or-nothing, new threads, and what is refused and why.
 */
#include <elf.h>
#include <linux/capability.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "remote.h"
#include "syscalls.h"

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

/* How many times one thread is retried because signals keep arriving, and
 * how many rescans of /proc/PID/task may still find new threads. */
#define MB_MAX_RETRIES 200
#define MB_MAX_ROUNDS 64
/* Event stops (traps of a group stop, or of an interrupt) one injected call
 * lets pass before it gives up and starts the thread over. */
#define MB_MAX_EVENT_TRAPS 8

/* One lock for every remote operation: ptrace ties a tracee to the tracer
 * thread, and two operations on one target would fight anyway. */
static pthread_mutex_t remote_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- figures for the benchmark ---- */

/* Per operation: threads worked on, and the longest a thread was held:
 * from our PTRACE_INTERRUPT (an upper bound on when it stopped) to its
 * detach.  At most two threads are held at once (current and next). */
static struct {
	unsigned long threads, over_1ms;
	uint64_t max_pause_ns;
	/* The window in which a thread's registers or stack are ours: from
	 * the first write to the last restore.  Only a SIGKILL of the helper
	 * process inside such a window can harm the target (docs/remote.md). */
	uint64_t inject_max_ns, inject_total_ns;
	pid_t tid[2];
	uint64_t since[2];
} stats;

static void stats_begin(pid_t tid)
{
	int i = stats.tid[0] == 0 ? 0 : 1;

	stats.tid[i] = tid;
	stats.since[i] = mb_now_ns();
}

/* A thread that is late to stop (blocked in the kernel) is not held: its
 * time counts from when it is seen stopped. */
static void stats_drop(pid_t tid)
{
	for (int i = 0; i < 2; i++)
		if (stats.tid[i] == tid)
			stats.tid[i] = 0;
}

static void inject_stats(uint64_t ns)
{
	if (ns > stats.inject_max_ns)
		stats.inject_max_ns = ns;
	stats.inject_total_ns += ns;
}

static void stats_end(pid_t tid)
{
	for (int i = 0; i < 2; i++) {
		if (stats.tid[i] == tid) {
			uint64_t d = mb_now_ns() - stats.since[i];

			if (d > stats.max_pause_ns)
				stats.max_pause_ns = d;
			if (d > 1000000)
				stats.over_1ms++;
			stats.tid[i] = 0;
			stats.threads++;
		}
	}
}

/* For the benchmark (tests/remote/bench-remote.c): figures of the last
 * mb_remote_*() call.  Internal; not exported by the shared library. */
void mb_remote_last_stats(unsigned long *threads, unsigned long *over_1ms,
			  uint64_t *max_pause_ns);
void mb_remote_last_stats(unsigned long *threads, unsigned long *over_1ms,
			  uint64_t *max_pause_ns)
{
	pthread_mutex_lock(&remote_lock);
	*threads = stats.threads;
	*over_1ms = stats.over_1ms;
	*max_pause_ns = stats.max_pause_ns;
	pthread_mutex_unlock(&remote_lock);
}

/* The same call's injection window: the longest one thread had, and the
 * sum over its threads (see stats above).  Internal. */
void mb_remote_last_window(uint64_t *max_ns, uint64_t *total_ns);
void mb_remote_last_window(uint64_t *max_ns, uint64_t *total_ns)
{
	pthread_mutex_lock(&remote_lock);
	*max_ns = stats.inject_max_ns;
	*total_ns = stats.inject_total_ns;
	pthread_mutex_unlock(&remote_lock);
}

/* For tests (tests/remote/test-fault.c): the n-th set_mempolicy that
 * succeeds from now on is followed by a failure (-EIO) of the steps after
 * it, with the thread put back and let go as usual.  0: off.  Internal; not
 * exported by the shared library. */
static int fault_after_set;

void mb_remote_test_fault_after_set(int n);
void mb_remote_test_fault_after_set(int n)
{
	pthread_mutex_lock(&remote_lock);
	fault_after_set = n;
	pthread_mutex_unlock(&remote_lock);
}

/* ---- /proc helpers ---- */

/*
 * Read /proc/PID[/task/TID]/status, all of it: a long Groups: line (a
 * process in thousands of groups) pushes the fields after it, Seccomp: and
 * the signal masks among them, beyond any fixed size.  A status without
 * TracerPid: or Seccomp: is refused with -EPERM: what cannot be checked is
 * not taken as "not traced" and "no filter".
 */
static int read_status(pid_t pid, pid_t tid, struct mb_status *st)
{
	int r = mb_status_read(pid, tid, st);

	if (r)
		return r;
	return st->has_tracer && st->has_seccomp ? 0 : -EPERM;
}

/* ---- the operation ---- */

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

/* tid's state letter from /proc (any thread can be reached as /proc/TID),
 * or 0 when it is gone. */
static char thread_state(pid_t tid)
{
	int r = mb_thread_state(tid, tid);

	/* only a thread that is not there is gone (0); another error (no
	 * file descriptor left) says nothing */
	return r < 0 ? '?' : (char)r;
}

/*
 * tid sits in a ptrace stop whose report somebody else took: a waitpid(-1)
 * of the caller (a SIGCHLD handler that reaps children) collects our
 * tracees' reports too.  Rebuild the wait status from the siginfo the stop
 * left, as the kernel made it (ptrace_do_notify, ptrace_signal): an event
 * stop (PTRACE_EVENT_STOP from our interrupt or a group stop) and a
 * syscall stop (SIGTRAP | 0x80, PTRACE_O_TRACESYSGOOD) carry the would-be
 * exit code in si_code; a signal-delivery stop has the signal's own
 * siginfo, whose si_code never looks like that.
 */
static int stolen_report(pid_t tid, int *status)
{
	siginfo_t si;
	int code;

	if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) < 0) {
		if (errno != EINVAL)
			return -errno;
		/* a stop without siginfo: a group stop of a task not seized,
		 * which ours are; say so rather than guess a signal */
		*status = (SIGSTOP << 8) | 0x7f | (PTRACE_EVENT_STOP << 16);
		return 0;
	}
	code = si.si_code;
	if (code > 0 && (code & 0xff) == si.si_signo &&
	    (code >> 8) != 0 && (code >> 8) <= PTRACE_EVENT_STOP)
		*status = (code << 8) | 0x7f; /* an event stop */
	else if (si.si_signo == SIGTRAP && code == (SIGTRAP | 0x80))
		*status = (code << 8) | 0x7f; /* a syscall stop */
	else
		*status = (si.si_signo << 8) | 0x7f; /* signal delivery */
	return 0;
}

/* How long wait_tid() polls without a pause, and its longest pause. */
#define MB_WAIT_SPIN_NS 200000
#define MB_WAIT_MAX_PAUSE_NS 1000000L

/*
 * Wait for tid's next report (a stop, or its exit).  Never blocks in
 * waitpid: when a waitpid(-1) elsewhere in the caller takes the report
 * first, a blocking waitpid(tid) would wait forever, with the thread
 * stopped and remote_lock held.  Polls instead, yielding the CPU at first
 * (a stop takes microseconds), then with pauses up to 1 ms.  When no report
 * comes but the thread shows a tracing stop ('t'), the report was taken:
 * it is rebuilt from the stop's siginfo.  A thread that vanished or is a
 * zombie without a report for us is gone.  Returns 0 with *status, or
 * -errno (gone).
 */
static int wait_tid_until(pid_t tid, int *status, uint64_t until)
{
	uint64_t start = mb_now_ns();
	long pause_ns = 20000;

	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		uint64_t now;
		char state;

		if (r == tid)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 0)
			return r < 0 ? -errno : -EIO;
		now = mb_now_ns();
		if (until && now >= until) {
			/* Out of time: a report taken by somebody else still
			 * counts (the thread shows the tracing stop). */
			if (thread_state(tid) == 't' &&
			    waitpid(tid, status, __WALL | WNOHANG) == 0 &&
			    stolen_report(tid, status) == 0)
				return 0;
			return -ETIMEDOUT;
		}
		if (now - start < MB_WAIT_SPIN_NS) {
			sched_yield();
			continue;
		}
		state = thread_state(tid);
		if (state == 0 || state == 'Z' || state == 'X' ||
		    state == 't') {
			/* A report may have come since the waitpid above. */
			r = waitpid(tid, status, __WALL | WNOHANG);
			if (r == tid)
				return 0;
			if (r < 0 && errno != EINTR)
				return -errno;
			if (state != 't')
				return -ESRCH;
			if (r == 0 && stolen_report(tid, status) == 0)
				return 0;
			/* ESRCH: not in the stop any more (killed) */
		}
		{
			struct timespec ts = { 0, pause_ns };

			if (until && (uint64_t)pause_ns > until - now)
				ts.tv_nsec = (long)(until - now);
			nanosleep(&ts, NULL);
		}
		if (pause_ns < MB_WAIT_MAX_PAUSE_NS)
			pause_ns *= 2;
	}
}

static int wait_tid(pid_t tid, int *status)
{
	return wait_tid_until(tid, status, 0);
}

enum stop_kind { STOP_GONE, STOP_EVENT, STOP_SYSCALL, STOP_SIGNAL, STOP_LATE };

/* Wait for tid's next stop, until the time until (CLOCK_MONOTONIC ns; 0:
 * no limit): STOP_LATE when it has not stopped by then (it is still ours,
 * seized and running, or blocked in the kernel).  *sig: the stop signal of
 * an event stop (SIGTRAP for our interrupt, the stop signal in a group
 * stop) or the signal of a signal-delivery stop. */
static enum stop_kind wait_stop_until(pid_t tid, int *sig, uint64_t until)
{
	int st, r;

	*sig = 0;
	r = wait_tid_until(tid, &st, until);
	if (r == -ETIMEDOUT)
		return STOP_LATE;
	if (r < 0)
		return STOP_GONE; /* ECHILD: no longer ours */
	if (!WIFSTOPPED(st))
		return STOP_GONE;
	*sig = WSTOPSIG(st);
	if ((st >> 16) == PTRACE_EVENT_STOP)
		return STOP_EVENT;
	if (*sig == (SIGTRAP | 0x80))
		return STOP_SYSCALL;
	if ((st >> 16) != 0)
		return STOP_EVENT; /* an event we did not ask for */
	return STOP_SIGNAL;
}

/* How long a thread resumed with our registers may take to reach the
 * injected call's entry stop.  It normally takes microseconds; a thread of
 * a frozen cgroup (cgroup.freeze, docker pause) freezes on its way
 * instead, holding our registers: we take it back (PTRACE_INTERRUPT
 * breaks the freeze with a trap) and put its own registers back. */
#define MB_ENTRY_LIMIT_NS 500000000ULL
/* Stalls of one thread (each put back and tried again: a loaded machine
 * can be that slow once) before the call gives up with -ETIMEDOUT. */
#define MB_MAX_STALLS 3

/* Between the injected calls' entry and exit stops nothing blocks: no
 * limit there. */
static enum stop_kind wait_stop(pid_t tid, int *sig)
{
	return wait_stop_until(tid, sig, 0);
}

/* ptrace failed with ESRCH on a thread we trace: it was killed.  Collect its
 * exit so that it does not linger as our zombie. */
static int reap_gone(pid_t tid)
{
	int st;

	while (wait_tid(tid, &st) == 0 && WIFSTOPPED(st))
		if (ptrace(PTRACE_DETACH, tid, 0, 0) < 0)
			break;
	return MB_GONE;
}

/* Would a pending signal (or sig, being delivered) interrupt a blocking call
 * of tid if it were not traced?  Then an -EINTR it shows is genuine. */
static bool interrupting_signal(const struct rop *op, pid_t tid, int sig)
{
	/* SIGCHLD, SIGCONT, SIGURG, SIGWINCH: ignored by default */
	const uint64_t dfl_ign = (1ULL << (SIGCHLD - 1)) |
				 (1ULL << (SIGCONT - 1)) |
				 (1ULL << (SIGURG - 1)) |
				 (1ULL << (SIGWINCH - 1));
	struct mb_status st;
	uint64_t pend;

	if (read_status(op->pid, tid, &st) < 0)
		return true; /* cannot tell: keep what the kernel said */
	pend = st.sigpnd | st.shdpnd;
	if (sig > 0 && sig <= 64)
		pend |= 1ULL << (sig - 1);
	pend &= ~st.sigblk & ~st.sigign;
	pend &= ~(dfl_ign & ~st.sigcgt);
	return pend != 0;
}

/*
 * Put tid back as it was and let it go.  orig: the registers saved at its
 * first stop.  at_signal_stop: it is stopped inside signal delivery (an
 * event or signal-delivery stop), so the kernel's restart logic still runs
 * after we let it go; otherwise it is at the exit of an injected syscall.
 * sig: a signal to deliver (from a signal-delivery stop), 0 for none.
 */
static int finish(const struct rop *op, pid_t tid, const mb_regs_t *orig,
		  bool at_signal_stop, int sig, bool group_stop)
{
	mb_regs_t regs = *orig;
	int r;

	/* Our stop made epoll_wait & co fail with -EINTR although nothing
	 * interrupted them from the program's point of view: make them start
	 * again, as an ordinary syscall restart would. */
	if (!group_stop && mb_arch_eintr_on_stop(&regs) &&
	    !interrupting_signal(op, tid, sig))
		mb_arch_rewind(&regs);
	r = mb_arch_restore(tid, &regs);
	if (r == -ESRCH)
		return reap_gone(tid);
	/* An interrupted syscall is restarted by the kernel only when the
	 * thread passes through signal delivery on its way back to user space:
	 * a pending interrupt trap makes it do so.  PTRACE_DETACH drops the
	 * trap itself but the pending-signal flag it raised stays, and signal
	 * delivery, finding nothing, applies the restart to these registers. */
	if (!at_signal_stop && mb_arch_restart_pending(&regs))
		ptrace(PTRACE_INTERRUPT, tid, 0, 0);
	if (ptrace(PTRACE_DETACH, tid, 0, (void *)(long)sig) < 0) {
		if (errno == ESRCH)
			return reap_gone(tid);
		return -errno;
	}
	return r;
}

static int mem_io(pid_t pid, unsigned long addr, void *buf, size_t len,
		  bool write)
{
	struct iovec l = { .iov_base = buf, .iov_len = len };
	struct iovec rm = { .iov_base = (void *)addr, .iov_len = len };
	ssize_t r;

	r = write ? process_vm_writev(pid, &l, 1, &rm, 1, 0)
		  : process_vm_readv(pid, &l, 1, &rm, 1, 0);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EFAULT;
}

/*
 * The target's memory, as the thread we work on sees it: through the
 * /proc/PID/task/TID/mem opened at the setup, which holds the image's mm.
 * Not through the thread id: when another thread calls execve(), the
 * thread we hold is killed and the exec'ing one takes the leader's id, so
 * a write through an id (process_vm_writev) that was the leader's would
 * land in the new image.  Through the fd, a gone image reads and writes
 * nothing: MB_EXECED.
 */
static int mm_io(const struct rop *op, unsigned long addr, void *buf,
		 size_t len, bool write)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write ? pwrite(op->memfd, (char *)buf + done,
					   len - done, (off_t)(addr + done))
				  : pread(op->memfd, (char *)buf + done,
					  len - done, (off_t)(addr + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return MB_EXECED;
		if (n < 0)
			return -EFAULT;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Run syscall nr(args) in tid, which is stopped with registers orig.
 * Returns 0 with *ret, MB_GONE, or MB_RETRY with *sig set when the thread
 * met signal delivery (a signal, or event stops that kept coming) before
 * the call ran.  *group_stop is set when an event stop of a group stop
 * (SIGSTOP and the like) came on the way.
 * at_insn (MB_ARCH_RESTART_AT_ENTRY only): the thread is stopped with pc
 * at a syscall instruction; it runs into that call's entry stop, where our
 * call replaces it, and orig takes the call as the kernel set it up.
 */
static int seccomp_check(const struct rop *op, pid_t tid);

/* Wait for the stop after resuming a thread into our call: bounded (see
 * MB_ENTRY_LIMIT_NS).  STOP_LATE: it did not get there and has been
 * interrupted; it is now stopped inside signal delivery (an event stop),
 * or gone.  A syscall stop that raced with the interrupt is returned as
 * such; the interrupt's trap, still pending, is dropped by the detach. */
static enum stop_kind wait_entry(pid_t tid, int *sig)
{
	enum stop_kind k = wait_stop_until(tid, sig,
					   mb_now_ns() + MB_ENTRY_LIMIT_NS);

	if (k != STOP_LATE)
		return k;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0)
		return STOP_GONE;
	k = wait_stop(tid, sig);
	if (k == STOP_SYSCALL || k == STOP_GONE)
		return k;
	return STOP_LATE;
}

static int inject(const struct rop *op, pid_t tid, mb_regs_t *orig,
		  bool *at_insn, long nr, const unsigned long args[6],
		  long *ret, int *sig, bool *at_exit, bool *group_stop,
		  bool guard)
{
	mb_regs_t regs = *orig;
	enum stop_kind k;
	int r, s;

	if (!*at_insn) {
		mb_arch_set_call(&regs, op->insn, nr, args);
		r = mb_arch_setregs(tid, &regs);
		if (r)
			return r == -ESRCH ? reap_gone(tid) : r;
	}
	if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
		return errno == ESRCH ? reap_gone(tid) : -errno;
	k = wait_entry(tid, &s);
	/* An event stop here is a trap taken before the thread got back to
	 * user space: nothing ran, and it is still in the kernel with our
	 * registers, so it can simply go on.  It comes when the thread was
	 * in a group stop (SIGSTOP) as we seized it: the seize makes it trap,
	 * and our PTRACE_INTERRUPT, if it came after that trap, is one more
	 * trap pending.  Detaching and starting over would meet the same
	 * race each time.  Each trap clears the pending one. */
	for (int n = 0; k == STOP_EVENT && n < MB_MAX_EVENT_TRAPS; n++) {
		if (s != SIGTRAP)
			*group_stop = true;
		if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
			return errno == ESRCH ? reap_gone(tid) : -errno;
		k = wait_entry(tid, &s);
	}
	if (k == STOP_GONE)
		return MB_GONE;
	if (k == STOP_LATE) {
		/* Stalled on its way (frozen): the interrupt we sent has
		 * stopped it inside signal delivery, where its own registers
		 * can go back as at the first stop. */
		*at_exit = false;
		*sig = 0;
		return MB_STALLED;
	}
	if (k != STOP_SYSCALL) {
		/* Signal delivery came first: nothing ran yet. */
		*sig = k == STOP_SIGNAL ? s : 0;
		*at_exit = false;
		return MB_RETRY;
	}
#if MB_ARCH_RESTART_AT_ENTRY
	if (*at_insn) {
		*at_insn = false;
		r = mb_arch_getregs(tid, &regs);
		if (!r) {
			mb_arch_entry_seen(orig, &regs);
			mb_arch_set_entry_call(&regs, nr, args);
			r = mb_arch_setregs(tid, &regs);
		}
		if (r) {
			/* finish() skips the entered call and puts pc
			 * back on the instruction. */
			*at_exit = true;
			return r == -ESRCH ? reap_gone(tid) : r;
		}
	}
#endif
	/*
	 * guard: the thread's seccomp filter is not suspended (no
	 * CAP_SYS_ADMIN).  It had none when we looked at its stop, but
	 * another thread may have installed one since, for all threads
	 * (SECCOMP_FILTER_FLAG_TSYNC).  Look again here, at the entry stop,
	 * and skip the call (number -1, which is all the filter sees) if
	 * one is there.  A filter installed between this look and the
	 * resume just below still applies: that window cannot be closed
	 * without CAP_SYS_ADMIN (docs/remote.md, "Sandboxed targets").
	 */
	if (guard) {
		r = seccomp_check(op, tid);
		if (r) {
			if (mb_arch_getregs(tid, &regs) == 0) {
				mb_arch_skip_entry(&regs);
				mb_arch_setregs(tid, &regs);
			}
			if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
				return errno == ESRCH ? reap_gone(tid) : -errno;
			if (wait_stop(tid, &s) == STOP_GONE)
				return MB_GONE;
			*at_exit = true;
			return r;
		}
	}
	if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
		return errno == ESRCH ? reap_gone(tid) : -errno;
	k = wait_stop(tid, &s);
	if (k == STOP_GONE)
		return MB_GONE;
	*at_exit = true;
	if (k != STOP_SYSCALL)
		return -EIO; /* cannot happen between entry and exit */
	r = mb_arch_getregs(tid, &regs);
	if (r)
		return r == -ESRCH ? reap_gone(tid) : r;
	*ret = mb_arch_retval(&regs);
	return 0;
}

/* -EPERM if tid has a seccomp filter (or strict mode) now: a filter may
 * kill the thread, or send it SIGSYS, for a call it does not allow, and
 * which it does cannot be known without reading the filter. */
static int seccomp_check(const struct rop *op, pid_t tid)
{
	struct mb_status st;
	int r = read_status(op->pid, tid, &st);

	if (r)
		return r == -ESRCH ? -EAGAIN : r;
	return st.seccomp ? -EPERM : 0;
}

/* The image tid runs in: its vdso's address from /proc/.../auxv (0: none).
 * An exec gives a new auxv, and a new vdso address unless address space
 * randomisation is off (then the layout, vdso included, is the same). */
static int image_vdso(pid_t pid, pid_t tid, unsigned long *base)
{
	unsigned long v[256];
	size_t len = 0;
	char path[64];
	int fd;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/auxv", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -EPERM;
	while (len < sizeof(v)) {
		ssize_t n = read(fd, (char *)v + len, sizeof(v) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*base = 0;
	for (size_t i = 0; i + 1 < len / sizeof(long); i += 2) {
		if (v[i] == AT_NULL)
			break;
		if (v[i] == AT_SYSINFO_EHDR)
			*base = v[i + 1];
	}
	return len ? 0 : -ESRCH; /* empty: the mm is gone */
}

/* text_at()'s walk: 1 when the mapping holding the address is found. */
struct text_find {
	unsigned long addr;
	bool exec;
};

static int text_find_one(void *arg, const struct mb_mapping *m)
{
	struct text_find *f = arg;

	if (f->addr < m->lo || f->addr >= m->hi)
		return 0;
	f->exec = m->perms[0] == 'r' && m->perms[2] == 'x';
	return 1;
}

/* Is addr inside an executable mapping of the memory tid runs in now? */
static int text_at(pid_t pid, pid_t tid, unsigned long addr)
{
	struct text_find f = { addr, false };
	int r = mb_maps_walk(pid, tid, text_find_one, &f);

	if (r < 0)
		return -EAGAIN;
	return r == 1 && f.exec ? 0 : MB_EXECED;
}

/*
 * tid is stopped and nothing is written yet.  Make sure that
 * - its seccomp filter, if any, cannot see our calls: with CAP_SYS_ADMIN,
 *   PTRACE_O_SUSPEND_SECCOMP, set now (not at the seize, so the thread's
 *   own code never runs unfiltered) and dropped by the detach; without
 *   it, a thread with a filter is refused (*suspended tells which);
 * - the syscall instruction found at the setup is in the memory this
 *   thread runs in now: same vdso (an exec would give a new one), the
 *   bytes read back from it, and, outside the vdso, an executable mapping.
 * Returns 0, MB_EXECED or -errno.
 */
static int check_thread(const struct rop *op, pid_t tid, bool *suspended)
{
	unsigned char b[MB_ARCH_INSN_LEN];
	unsigned long vdso;
	int r;

	*suspended = false;
	if (op->suspend_seccomp &&
	    ptrace(PTRACE_SETOPTIONS, tid, 0,
		   (void *)(PTRACE_O_TRACESYSGOOD |
			    PTRACE_O_SUSPEND_SECCOMP)) == 0)
		*suspended = true;
	if (!*suspended) {
		r = seccomp_check(op, tid);
		if (r)
			return r;
	}
	r = image_vdso(op->pid, tid, &vdso);
	if (r)
		return r == -ESRCH ? MB_EXECED : r;
	if (vdso != op->vdso)
		return MB_EXECED;
	if (mem_io(tid, op->insn, b, sizeof(b), false) ||
	    memcmp(b, mb_arch_insn, sizeof(b)))
		return MB_EXECED;
	if (op->insn < op->vdso || op->insn >= op->vdso_end)
		return text_at(op->pid, tid, op->insn);
	return 0;
}

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif

/*
 * A thread stopped inside a restartable-sequence critical section (rseq(2):
 * per-CPU code in tcmalloc, liburcu, LTTng-UST) must leave it through its
 * abort handler, as after any preemption.  The kernel does that on the
 * thread's way back to user space (rseq_ip_fixup(), run because the stop
 * was a context switch), but the first such way after our stop is into the
 * injected syscall, outside the section: there the kernel only clears the
 * thread's rseq_cs, and on our restore the section would run on to its
 * commit, on whatever CPU the thread is now.  So do here what the kernel
 * would have done at that first return: pc = abort_ip, rseq_cs = 0, when pc
 * is inside the section and the abort handler carries the registered
 * signature.  Anything the kernel would reject (a bad descriptor or
 * signature: it kills the thread) is left as it is.  Kernels before 5.13
 * cannot tell us where the rseq area is: nothing is done there.
 * Returns 0, MB_EXECED or -errno.
 */
static int rseq_abort(const struct rop *op, pid_t tid, mb_regs_t *orig)
{
	struct {
		uint64_t abi;
		uint32_t size, sig, flags, pad;
	} cfg;
	struct {
		uint32_t version, flags;
		uint64_t start_ip, post_commit_offset, abort_ip;
	} cs;
	uint64_t csp, zero = 0, pc = mb_arch_pc(orig);
	uint32_t sig;
	int r;

	memset(&cfg, 0, sizeof(cfg));
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, (void *)sizeof(cfg),
		   &cfg) < 0)
		return errno == ESRCH ? -ESRCH : 0;
	if (!cfg.abi)
		return 0; /* no rseq area registered */
	/* struct rseq: cpu_id_start, cpu_id (u32 each), then rseq_cs */
	r = mm_io(op, (unsigned long)cfg.abi + 8, &csp, sizeof(csp), false);
	if (r || !csp)
		return r == MB_EXECED ? r : 0;
	r = mm_io(op, (unsigned long)csp, &cs, sizeof(cs), false);
	if (r)
		return r == MB_EXECED ? r : 0;
	if (cs.version != 0 || pc < cs.start_ip ||
	    pc - cs.start_ip >= cs.post_commit_offset || cs.abort_ip < 4)
		return 0;
	r = mm_io(op, (unsigned long)cs.abort_ip - 4, &sig, sizeof(sig), false);
	if (r || sig != cfg.sig)
		return r == MB_EXECED ? r : 0;
	r = mm_io(op, (unsigned long)cfg.abi + 8, &zero, sizeof(zero), true);
	if (r)
		return r == MB_EXECED ? r : -EFAULT;
	mb_arch_set_pc(orig, (unsigned long)cs.abort_ip);
	return 0;
}

static int thread_cancel_(const struct rop *op, pid_t tid);

/* tid is traced by us already: a thread we seized ahead (nothing written
 * to it) called execve() meanwhile and took the leader's id.  Let it go as
 * it is; the image is new, so the operation starts over. */
static int ours_again(const struct rop *op, pid_t tid)
{
	thread_cancel_(op, tid);
	return MB_EXECED;
}

/*
 * First half for one thread: check it, seize it and ask it to stop.
 * Returns 0, MB_GONE or -errno (nothing left behind).
 */
static int thread_begin(const struct rop *op, pid_t tid)
{
	struct mb_status st;
	int r = read_status(op->pid, tid, &st);

	if (r == -ESRCH)
		return MB_GONE;
	if (r < 0)
		return r;
	if (st.state == 'Z' || st.state == 'X') {
		if (st.tracer == getpid()) /* ours: collect it */
			waitpid(tid, NULL, __WALL | WNOHANG);
		return MB_GONE;
	}
	if (st.tracer == getpid())
		return ours_again(op, tid);
	if (st.tracer)
		return -EBUSY;
	/* A seccomp filter may kill the thread, or send it SIGSYS, for a
	 * syscall it does not allow: never run one blindly there.  Checked
	 * again once it is stopped (check_thread()). */
	if (st.seccomp && !op->suspend_seccomp)
		return -EPERM;
	/* EPERM is also what a tracee of somebody else gives; when that
	 * tracer has let go by the time we look, try again (a few times) so
	 * that a passing tracer is not reported as a refusal. */
	for (int tries = 0;; tries++) {
		if (ptrace(PTRACE_SEIZE, tid, 0,
			   (void *)PTRACE_O_TRACESYSGOOD) == 0)
			break;
		r = -errno;
		if (r == -ESRCH)
			return MB_GONE;
		if (r != -EPERM)
			return r;
		if (read_status(op->pid, tid, &st) < 0)
			return MB_GONE;
		if (st.state == 'Z' || st.state == 'X')
			return MB_GONE;
		if (st.tracer == getpid())
			return ours_again(op, tid);
		if (st.tracer)
			return -EBUSY;
		if (tries == 3)
			return -EPERM;
	}
	stats_begin(tid);
#ifdef MB_ARCH_BEFORE_STOP
	mb_arch_before_stop(op->pid, tid);
#endif
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
		stats_end(tid);
		return reap_gone(tid);
	}
	return 0;
}

/* A thread that was begun but must not be worked on: let it go untouched. */
static int thread_cancel_(const struct rop *op, pid_t tid)
{
	mb_regs_t regs;
	enum stop_kind k;
	int sig, r;

	/* A thread that does not stop stays seized, untouched: the helper
	 * process lets it go when it exits (the kernel drops a pending
	 * interrupt when its tracer goes). */
	k = wait_stop_until(tid, &sig, mb_now_ns() + op->late_ns);
	if (k == STOP_LATE)
		return -ETIMEDOUT;
	if (k == STOP_GONE)
		return MB_GONE;
	r = mb_arch_getregs(tid, &regs);
	if (r == -ESRCH)
		return reap_gone(tid);
	if (r) {
		ptrace(PTRACE_DETACH, tid, 0,
		       (void *)(long)(k == STOP_SIGNAL ? sig : 0));
		return r;
	}
	return finish(op, tid, &regs, true, k == STOP_SIGNAL ? sig : 0,
		      k == STOP_EVENT && sig != SIGTRAP);
}

/*
 * Second half: wait for the stop, run the job, put everything back, detach.
 * Returns 0, MB_GONE, MB_RETRY (a signal came first and was delivered:
 * nothing done, begin again) or -errno (nothing done, thread let go).
 */
static int thread_complete_(const struct rop *op, pid_t tid,
			    struct job *job, enum stop_kind k, int sig)
{
	unsigned long get_longs = MB_LONGS(op->save_bits);
	unsigned long set_longs = job->set_nodes ? MB_LONGS(job->set_bits) : 0;
	unsigned long buf[2 + 2 * MB_LONGS(MEMBIND_MAX_BITS)];
	unsigned long save[2 + 2 * MB_LONGS(MEMBIND_MAX_BITS)];
	unsigned long scratch, a[6];
	size_t bytes;
	mb_regs_t orig;
	bool group_stop, at_exit = false, at_insn = false, suspended = false;
	int r, r2;
	long ret;
	uint64_t t_inj = 0;

	if (k == STOP_GONE)
		return MB_GONE;
	r = mb_arch_getregs(tid, &orig);
	if (r == -ESRCH)
		return reap_gone(tid);
	if (r) {
		/* foreign ABI: leave it exactly as it is */
		if (ptrace(PTRACE_DETACH, tid, 0,
			   (void *)(long)(k == STOP_SIGNAL ? sig : 0)) < 0 &&
		    errno == ESRCH)
			reap_gone(tid);
		return r;
	}
	if (k == STOP_SIGNAL) {
		/* A signal beat our interrupt: deliver it as if we had not
		 * been here, and try again. */
		r = finish(op, tid, &orig, true, sig, false);
		return r ? r : MB_RETRY;
	}
	group_stop = sig != SIGTRAP;

	/* Checked now that the thread is stopped, before anything is written:
	 * the instruction we will point it at is in the memory it runs in now
	 * (an exec since the setup gives MB_EXECED), and a seccomp filter
	 * cannot see our calls (or there is none). */
	r = check_thread(op, tid, &suspended);
	if (r)
		goto out_regs;
	/* Register state a syscall does not keep (arm64's SVE), put back by
	 * finish() with the registers. */
	r = mb_arch_save_ext(tid, &orig);
	if (r)
		goto out_regs;
	r = rseq_abort(op, tid, &orig);
	if (r)
		goto out_regs;
	t_inj = mb_now_ns();

	/* Scratch memory for the arguments: below the red zone of this
	 * thread's stack, where nothing of the program lives; saved and
	 * restored anyway. */
	bytes = (1 + get_longs + set_longs) * sizeof(unsigned long);
	scratch = (mb_arch_sp(&orig) - MB_ARCH_REDZONE - bytes) & ~63UL;
	r = mm_io(op, scratch, save, bytes, false);
	if (r)
		goto out_regs;
	memset(buf, 0, bytes);
	if (set_longs)
		memcpy(buf + 1 + get_longs, job->set_nodes,
		       set_longs * sizeof(unsigned long));
	r = mm_io(op, scratch, buf, bytes, true);
	if (r)
		goto out_regs;
#if MB_ARCH_RESTART_AT_ENTRY
	{
		unsigned char insn[MB_ARCH_INSN_LEN];

		at_insn = mm_io(op, mb_arch_pc(&orig), insn,
				 sizeof(insn), false) == 0 &&
			  !memcmp(insn, mb_arch_insn, sizeof(insn));
	}
#endif

	if (job->get) {
		memset(a, 0, sizeof(a));
		a[0] = scratch;
		a[1] = scratch + sizeof(unsigned long);
		a[2] = op->save_bits + 1;
		r = inject(op, tid, &orig, &at_insn, MB_ARCH_NR_GET_MEMPOLICY,
			   a, &ret, &sig, &at_exit, &group_stop, !suspended);
		if (r)
			goto out_mem;
		if (ret < 0) {
			r = (int)ret;
			goto out_mem;
		}
		/* Read it now: the old policy must be known for a rollback
		 * even if a step after set_mempolicy fails. */
		r = mm_io(op, scratch, buf,
			   (1 + get_longs) * sizeof(unsigned long), false);
		if (r)
			goto out_mem;
		job->get_mode = (int)buf[0];
		memcpy(job->get_nodes, buf + 1,
		       get_longs * sizeof(unsigned long));
		job->got = true;
	}
	if (job->set) {
		memset(a, 0, sizeof(a));
		a[0] = (unsigned long)(long)job->set_mode;
		if (set_longs) {
			a[1] = scratch + (1 + get_longs) * sizeof(unsigned long);
			a[2] = job->set_bits + 1;
		}
		r = inject(op, tid, &orig, &at_insn, MB_ARCH_NR_SET_MEMPOLICY,
			   a, &ret, &sig, &at_exit, &group_stop, !suspended);
		if (r)
			goto out_mem;
		job->set_ret = ret;
		if (ret == 0) {
			job->set_done = true;
			if (fault_after_set && !--fault_after_set)
				r = -EIO; /* for tests: a later step fails */
		}
	}
out_mem:
	r2 = mm_io(op, scratch, save, bytes, true);
	if (r == MB_GONE) {
		/* Gone, as far as the waits can tell.  Should it still be
		 * there and ours, never leave it with our registers. */
		if (mb_arch_restore(tid, &orig) == 0)
			ptrace(PTRACE_DETACH, tid, 0, 0);
		return MB_GONE;
	}
	if (r2 && !r)
		r = r2;
out_regs:
	if (r == MB_RETRY || r == MB_STALLED) {
		/* Signal delivery (a signal or a group stop, or our
		 * interrupt of a stalled thread) came before our call: let it
		 * happen on the original registers. */
		r2 = finish(op, tid, &orig, true, sig, group_stop);
		return r2 ? r2 : r;
	}
	/* At the initial stop, or at the exit of an injected call. */
	r2 = finish(op, tid, &orig, !at_exit, 0, group_stop);
	if (r2 == MB_GONE)
		return MB_GONE;
	if (t_inj)
		inject_stats(mb_now_ns() - t_inj);
	return r ? r : r2;
}

static int thread_complete(const struct rop *op, pid_t tid, struct job *job,
			   enum stop_kind k, int sig)
{
	int r = thread_complete_(op, tid, job, k, sig);

	stats_end(tid);
	return r;
}

static int thread_cancel(const struct rop *op, pid_t tid)
{
	int r = thread_cancel_(op, tid);

	stats_end(tid);
	return r;
}

/* ---- setup ---- */

/* The kernel's nr_node_ids: highest possible node + 1 (get_mempolicy wants
 * at least that many bits). */
static unsigned long possible_nodes(void)
{
	char buf[4096];
	unsigned int max = 0;
	int len = mb_read_file(MB_SYS, buf, sizeof(buf),
			       MB_NODE_DIR "/possible");

	if (len < 0 ||
	    mb_parse_list(buf, (size_t)len, NULL, MEMBIND_MAX_BITS, &max) < 0 ||
	    max == 0)
		return 1024; /* MAX_NUMNODES: always enough */
	return max;
}

/* find_bytes_in()'s walk: the vdso in slot 0, then up to 63 other
 * executable mappings. */
struct text_list {
	unsigned long lo[64], hi[64];
	int n;
};

static int text_list_add(void *arg, const struct mb_mapping *m)
{
	struct text_list *l = arg;

	if (m->perms[0] != 'r' || m->perms[2] != 'x')
		return 0;
	if (!strcmp(m->name, "[vdso]")) {
		l->lo[0] = m->lo;
		l->hi[0] = m->hi;
	} else if (l->n < 64) {
		l->lo[l->n] = m->lo;
		l->hi[l->n] = m->hi;
		l->n++;
	}
	return 0;
}

/*
 * Find the bytes insn (len bytes, at an address that is a multiple of
 * align) in an executable mapping of pid: its vdso first (small, always
 * there), then the other text mappings.  A match at an address that is not
 * a multiple of align is the tail of one instruction and the head of the
 * next, not an instruction: on aarch64 a pc there faults.
 */
static int find_bytes_in(pid_t pid, pid_t tid, const unsigned char *insn,
			 size_t len, size_t align, unsigned long *addr,
			 unsigned long *vdso_end)
{
	static unsigned char chunk[65536 + 16]; /* under remote_lock */
	struct text_list l;
	int pass, r;

	if (len == 0 || len > 16 || align == 0)
		return -EINVAL;
	/* pass 0 collects [vdso] into slot 0, then every r-x mapping */
	l.lo[0] = l.hi[0] = 0;
	l.n = 1;
	/* The maps of a live thread: an exited leader's are empty. */
	r = mb_maps_walk(pid, tid, text_list_add, &l);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : -EPERM;
	if (vdso_end)
		*vdso_end = l.hi[0];
	for (pass = 0; pass < l.n; pass++) {
		/* chunks start at multiples of align (mappings do anyway) */
		unsigned long p = (l.lo[pass] + align - 1) / align * align;
		size_t budget = 16u << 20;

		while (p < l.hi[pass] && budget) {
			size_t got = l.hi[pass] - p, step;

			if (got > sizeof(chunk))
				got = sizeof(chunk);
			if (mem_io(tid, p, chunk, got, false) < 0)
				break;
			for (size_t i = 0; i + len <= got; i += align) {
				if (!memcmp(chunk + i, insn, len)) {
					*addr = p + i;
					return 0;
				}
			}
			if (got < len)
				break;
			/* Overlap so that an instruction across chunks is
			 * seen: the next chunk starts at or before the first
			 * one that did not fit, on a multiple of align. */
			step = (got - (len - 1)) / align * align;
			if (step == 0)
				break;
			p += step;
			budget = budget > step ? budget - step : 0;
		}
	}
	return -EOPNOTSUPP;
}

static int find_insn(pid_t pid, pid_t tid, unsigned long *addr,
		     unsigned long *vdso_end)
{
	return find_bytes_in(pid, tid, mb_arch_insn, MB_ARCH_INSN_LEN,
			     MB_ARCH_INSN_ALIGN, addr, vdso_end);
}

/* For tests (tests/remote/test-find.c): find_insn() with other bytes and
 * another alignment.  Internal; not exported by the shared library. */
int mb_remote_test_find_bytes(pid_t pid, const unsigned char *insn,
			      size_t len, size_t align, unsigned long *addr);
int mb_remote_test_find_bytes(pid_t pid, const unsigned char *insn,
			      size_t len, size_t align, unsigned long *addr)
{
	int r;

	pthread_mutex_lock(&remote_lock);
	r = find_bytes_in(pid, pid, insn, len, align, addr, NULL);
	pthread_mutex_unlock(&remote_lock);
	return r;
}

/* Is pid's executable of our ABI?  -EOPNOTSUPP if it is certainly not; 0
 * when it is, or when the file cannot be read (the register set size is
 * checked again at the first stop). */
static int check_abi(pid_t pid)
{
	char path[64];
	unsigned char h[EI_NIDENT + 4];
	uint16_t machine;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (r != (ssize_t)sizeof(h) || memcmp(h, ELFMAG, SELFMAG))
		return 0;
	memcpy(&machine, h + EI_NIDENT + 2, sizeof(machine));
	if (h[EI_CLASS] != MB_ARCH_ELF_CLASS || machine != MB_ARCH_ELF_MACHINE)
		return -EOPNOTSUPP;
	return 0;
}

struct live_ctx {
	pid_t pid;
	pid_t tid; /* the first thread found alive */
	bool live;
};

/* mb_task_scan()'s add(): stop (-EEXIST) at the first thread not dead. */
static int live_add(void *arg, pid_t tid)
{
	struct live_ctx *c = arg;
	struct mb_status st;

	if (read_status(c->pid, tid, &st) == 0 && st.state != 'Z' &&
	    st.state != 'X') {
		c->live = true;
		c->tid = tid;
		return -EEXIST;
	}
	return 0;
}

/* A thread of pid that is not dead, or 0.  The walk is mb_task_scan()'s,
 * so that threads exiting meanwhile do not hide a live one. */
static pid_t live_thread(pid_t pid)
{
	struct live_ctx c = { .pid = pid };

	mb_task_scan(pid, live_add, &c);
	return c.live ? c.tid : 0;
}

/* Do we have CAP_SYS_ADMIN (what PTRACE_O_SUSPEND_SECCOMP asks for)? */
static bool have_sys_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return (d[CAP_SYS_ADMIN / 32].effective >> (CAP_SYS_ADMIN % 32)) & 1;
}

/* MEMBIND_STOP_TIMEOUT_MS, or the default. */
static uint64_t late_limit_ns(void)
{
	const char *v = secure_getenv("MEMBIND_STOP_TIMEOUT_MS");
	char *end;
	unsigned long ms = MB_LATE_DEFAULT_MS;

	if (v && *v) {
		errno = 0;
		ms = strtoul(v, &end, 10);
		if (errno || *end || ms == 0 || ms > 3600000)
			ms = MB_LATE_DEFAULT_MS;
	}
	return (uint64_t)ms * 1000000u;
}

static int ours_again(const struct rop *op, pid_t tid);

/* Everything that can be refused before touching the target. */
static int op_init(struct rop *op, pid_t pid, pid_t caller)
{
	char path[64], buf[1024];
	struct mb_status st;
	unsigned long flags = 0;
	const char *p;
	int r;

	memset(op, 0, sizeof(*op));
	op->memfd = -1;
	if (pid <= 0)
		return -ESRCH;
	r = mb_stat_read(pid, 0, buf, sizeof(buf), &p);
	if (r < 0 && r != -EBADMSG)
		return r == -ENOENT ? -ESRCH : r;
	/* after ") ": state ppid pgrp session tty tpgid flags */
	if (r < 0 || sscanf(p, "%*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return -EIO;
	if (flags & 0x00200000UL) /* PF_KTHREAD */
		return -EINVAL;
	r = read_status(pid, 0, &st);
	if (r)
		return r;
	if (st.tgid > 0 && st.tgid != pid) /* a thread id: its process */
		pid = st.tgid;
	if (pid == caller || pid == getpid())
		return -EINVAL; /* ourselves: not through ptrace */
	op->suspend_seccomp = have_sys_admin();
	op->late_ns = late_limit_ns();
	/* A leader that called pthread_exit() is a zombie while its other
	 * threads run: the image is read through a live thread. */
	op->live_tid = pid;
	if (st.state == 'Z' || st.state == 'X') {
		op->live_tid = live_thread(pid);
		if (!op->live_tid)
			return -ESRCH;
	}
	if (st.tracer == getpid()) {
		/* ours: an exec since the last attempt made a thread we had
		 * seized ahead the leader */
		op->pid = pid;
		return ours_again(op, pid);
	}
	if (st.tracer)
		return -EBUSY;
	if (st.seccomp && !op->suspend_seccomp)
		return -EPERM;
	r = check_abi(pid);
	if (r)
		return r;
	op->pid = pid;
	op->ignored = st.sigign;
	op->caught = st.sigcgt;
	op->save_bits = possible_nodes();
	snprintf(path, sizeof(path), "/proc/%d/task/%d/mem", pid, op->live_tid);
	op->memfd = open(path, O_RDWR | O_CLOEXEC);
	r = 0;
	if (op->memfd < 0)
		r = errno == ENOENT || errno == ESRCH ? -ESRCH : -EPERM;
	if (!r)
		r = image_vdso(pid, op->live_tid, &op->vdso);
	if (!r)
		r = find_insn(pid, op->live_tid, &op->insn, &op->vdso_end);
	if (r) {
		/* An exec under way shows as a thread gone or an empty image
		 * (no maps, no auxv) while the process is there: the
		 * operation starts over (and gives -EAGAIN if it keeps
		 * happening).  A foreign ABI was refused by check_abi(). */
		if ((r == -ESRCH || r == -EOPNOTSUPP) && kill(pid, 0) == 0)
			return MB_EXECED;
		/* The kernel refuses access to the memory of a task in the
		 * middle of execve(): try again, and report -EPERM if it
		 * never goes away. */
		if (r == -EPERM && kill(pid, 0) == 0) {
			op->why = r;
			return MB_EXECED;
		}
		return r;
	}
	/* The maps read may come from an image newer than the auxv read. */
	if (op->vdso && op->vdso_end <= op->vdso)
		return MB_EXECED;
	return 0;
}

/* Did the image the operation was set up for go away (an exec: its mm has
 * no users any more), or get another vdso? */
static bool op_image_gone(const struct rop *op)
{
	unsigned char b;
	unsigned long vdso;
	pid_t tid = live_thread(op->pid);

	if (pread(op->memfd, &b, 1, (off_t)op->insn) != 1)
		return true;
	return tid && image_vdso(op->pid, tid, &vdso) == 0 && vdso != op->vdso;
}

static void op_free(struct rop *op)
{
	if (op->memfd >= 0)
		close(op->memfd);
	op->memfd = -1;
	for (size_t i = 0; i < op->n; i++)
		free(op->t[i].old_nodes);
	free(op->t);
	op->t = NULL;
	op->n = op->cap = 0;
}

/* mb_task_scan()'s add(): one thread of op->pid, added if new. */
static int op_add(void *arg, pid_t tid)
{
	struct rop *op = arg;

	for (size_t i = 0; i < op->n; i++)
		if (op->t[i].tid == tid)
			return 0;
	if (op->n == op->cap) {
		size_t cap = op->cap ? op->cap * 2 : 64;
		struct rthread *t = realloc(op->t, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		op->t = t;
		op->cap = cap;
	}
	memset(&op->t[op->n], 0, sizeof(op->t[op->n]));
	op->t[op->n].tid = tid;
	op->t[op->n].old_nodes =
		calloc(MB_LONGS(op->save_bits), sizeof(unsigned long));
	if (!op->t[op->n].old_nodes)
		return -ENOMEM;
	op->n++;
	return 1;
}

/* Add the threads of op->pid not seen yet.  Returns how many were new. */
static int op_scan(struct rop *op)
{
	return mb_task_scan(op->pid, op_add, op);
}

/*
 * Run a job on one thread until it is done, retrying while signals get in
 * the way.  k, sig: its first stop when the caller already waited for it
 * (began), else it is begun here.  Every wait for a thread to stop is
 * bounded by op->late_ns: a thread blocked in the kernel that long gives
 * -ETIMEDOUT (it stays seized, untouched, until the helper exits).
 */
static int run_one(const struct rop *op, pid_t tid, struct job *job,
		   bool began, enum stop_kind k, int sig, bool may_defer)
{
	int stalls = 0;

	for (int tries = 0; tries < MB_MAX_RETRIES; tries++) {
		int r;

		if (!began) {
			r = thread_begin(op, tid);
			if (r)
				return r;
			/* In a round (may_defer), a thread that is slow to
			 * stop again goes back to the late ones rather than
			 * keep the next thread, begun ahead, in its stop. */
			k = wait_stop_until(tid, &sig,
					    mb_now_ns() +
						    (may_defer ? MB_PROMPT_NS :
								 op->late_ns));
			if (k == STOP_LATE) {
				stats_drop(tid);
				return may_defer ? MB_LATE : -ETIMEDOUT;
			}
		}
		began = false;
		r = thread_complete(op, tid, job, k, sig);
		if (r == MB_STALLED && ++stalls == MB_MAX_STALLS)
			return -ETIMEDOUT; /* a frozen cgroup, most likely */
		if (r != MB_RETRY && r != MB_STALLED)
			return r;
	}
	return -EAGAIN;
}

/* One thread's job and its bookkeeping.  Returns 0 or an error that ends
 * the round (MB_EXECED among them). */
static int do_thread(struct rop *op, struct rthread *t, const struct job *tmpl,
		     bool record_old, bool began, enum stop_kind k, int sig)
{
	struct job job = *tmpl;
	int r;

	job.get_nodes = t->old_nodes;
	r = run_one(op, t->tid, &job, began, k, sig, true);
	if (r == MB_LATE) {
		if (!t->late)
			t->late_until = mb_now_ns() + op->late_ns;
		t->late = true;
		return 0;
	}
	/* A thread whose set_mempolicy went through runs the new policy even
	 * if a later step (stack or register restore, detach) failed: the
	 * rollback must see it. */
	if (record_old && job.got && (r == 0 || job.set_done)) {
		t->saved = true;
		t->old_mode = job.get_mode;
	}
	if (job.set_done)
		t->changed = true;
	if (r == MB_GONE) {
		t->done = true;
		r = 0;
	} else if (r == 0) {
		t->done = true;
		if (job.set && job.set_ret < 0)
			r = (int)job.set_ret;
	}
	return r;
}

/* Work on the late threads (see MB_PROMPT_NS) that have stopped by now.
 * all: wait for every one of them, each until its own time is up. */
static int do_late(struct rop *op, size_t first, const struct job *tmpl,
		   bool record_old, bool all)
{
	long pause_ns = 20000;

	for (;;) {
		bool left = false;
		uint64_t now = mb_now_ns();
		int others = 0;

		for (size_t i = first; i < op->n; i++)
			others += op->t[i].late && !op->t[i].done &&
				  op->t[i].tid != op->pid;
		for (size_t i = first; i < op->n; i++) {
			struct rthread *t = &op->t[i];
			enum stop_kind k;
			int sig, r;

			if (!t->late || t->done)
				continue;
			/* The leader only with no other thread of ours
			 * seized: see "the leader alone" in run_all(). */
			if (t->tid == op->pid && (!all || others)) {
				left = true;
				if (now > t->late_until)
					return -ETIMEDOUT;
				continue;
			}
			k = wait_stop_until(t->tid, &sig, 1);
			if (k == STOP_LATE) {
				if (now > t->late_until)
					return -ETIMEDOUT;
				left = true;
				continue;
			}
			t->late = false;
			/* held from now: not from our interrupt, long ago */
			stats_begin(t->tid);
			r = do_thread(op, t, tmpl, record_old, true, k, sig);
			if (r)
				return r;
			left |= t->late; /* late again (a retry) */
		}
		if (!left || !all)
			return 0;
		{
			struct timespec ts = { 0, pause_ns };

			nanosleep(&ts, NULL);
		}
		if (pause_ns < MB_WAIT_MAX_PAUSE_NS)
			pause_ns *= 2;
	}
}

/*
 * Run job (a template; per-thread results go to the rthread) on every
 * thread from index first on, one after the other.  Once a thread has
 * stopped, the next one is seized and interrupted before the current one is
 * worked on, so that its way into the stop overlaps our work.  A thread
 * that does not stop promptly (blocked in the kernel) is left for later,
 * so that it never keeps the next one waiting in its stop.  Stops at the
 * first error.
 */
static int run_all(struct rop *op, size_t first, struct job *tmpl,
		   bool record_old)
{
	int next_began = -1; /* index of a thread begun ahead, or -1 */
	int r = 0;

	for (size_t i = first; i < op->n && !r; i++) {
		struct rthread *t = &op->t[i];
		enum stop_kind k;
		int sig;
		size_t j;

		if (t->done || t->late)
			continue;
		if (next_began != (int)i) {
			int b = thread_begin(op, t->tid);

			if (b == MB_GONE) {
				t->done = true;
				continue;
			}
			if (b) {
				r = b;
				break;
			}
		}
		next_began = -1;
		k = wait_stop_until(t->tid, &sig, mb_now_ns() + MB_PROMPT_NS);
		if (k != STOP_LATE && k != STOP_GONE && t->tid == op->pid) {
			/* the leader alone (below): not while late threads of
			 * ours are seized; it waits in its stop for them, and
			 * do_late() finds that stop again (stolen_report()) */
			for (j = first; j < op->n; j++)
				if (op->t[j].late && !op->t[j].done)
					break;
			if (j < op->n) {
				k = STOP_LATE;
				stats_drop(t->tid);
				t->late = true;
				t->late_until = mb_now_ns() + op->late_ns;
				continue;
			}
		}
		if (k == STOP_LATE) {
			t->late = true;
			t->late_until = mb_now_ns() + op->late_ns;
			stats_drop(t->tid);
			continue;
		}
		/*
		 * Begin the next one, but not while the leader is in hand:
		 * when a thread calls execve(), it takes the leader's id once
		 * the leader is dead.  Were that thread ours (seized ahead),
		 * our next call on the leader's id (restore its registers,
		 * detach) would reach it, in its new image, with the dead
		 * leader's registers: it died of SIGSEGV so in an arm64 guest,
		 * about once in 300 calls on a target that re-execs every few
		 * ms.  With the leader alone in our hands, a call on its id
		 * after such an exec reaches a thread that is not ours and
		 * fails (ESRCH).
		 */
		for (j = i + 1; j < op->n && (op->t[j].done || op->t[j].late);
		     j++)
			;
		if (t->tid == op->pid)
			j = op->n;
		if (j < op->n) {
			int b = thread_begin(op, op->t[j].tid);

			if (b == 0)
				next_began = (int)j;
			else if (b == MB_GONE)
				op->t[j].done = true;
			/* an error is met again when we get there */
		}
		r = do_thread(op, t, tmpl, record_old, true, k, sig);
		if (!r)
			r = do_late(op, first, tmpl, record_old, false);
	}
	if (r && next_began >= 0)
		thread_cancel(op, op->t[next_began].tid);
	if (!r)
		r = do_late(op, first, tmpl, record_old, true);
	return r;
}

/*
 * Put the old policy back on every thread that took the new one.  Threads
 * of the first round get their own saved policy.  Every thread that
 * appeared later (in later rounds, or since the last scan) gets the
 * process's old binding (model), the policy of the first saved thread of
 * the first round: such a thread was created during the call, by a thread
 * that may already have run the new policy, so what it inherited and what a
 * later round saved as its "old" policy may well be the new one; and one not
 * worked on yet may carry the new policy without being marked changed.
 * When the call started over after an exec, model is the old binding from
 * before the exec, and every thread gets it.
 */
static void rollback(struct rop *op, const struct rthread *model, bool all)
{
	size_t n1 = all ? 0 : op->n_first;

	for (size_t i = 0; i < n1 && !model; i++)
		if (op->t[i].saved)
			model = &op->t[i];
	if (!model)
		return;
	op_scan(op); /* on failure, what was found */
	/* the leader last: see "the leader alone" in run_all() */
	for (size_t n = 0; n < 2 * op->n; n++) {
		size_t i = n % op->n;
		struct rthread *t = &op->t[i];
		const struct rthread *src = i < n1 ? t : model;
		struct job job = { 0 };

		if ((t->tid == op->pid) != (n >= op->n))
			continue;
		if (i < n1 && !t->changed)
			continue;
		job.set = true;
		job.set_mode = src->old_mode;
		job.set_nodes = src->old_nodes;
		job.set_bits = op->save_bits;
		if (t->late && !t->done) {
			/* Seized, its interrupt pending, never worked on: it
			 * may still carry the new policy by inheritance.  Wait
			 * for its stop as long as it had left. */
			enum stop_kind k;
			int sig;
			uint64_t now = mb_now_ns();

			k = wait_stop_until(t->tid, &sig,
					    t->late_until > now ? t->late_until
								: now + 1);
			if (k == STOP_LATE)
				continue; /* still blocked: let go at our exit */
			t->late = false;
			if (run_one(op, t->tid, &job, true, k, sig, false) == 0)
				t->changed = false;
			continue;
		}
		if (run_one(op, t->tid, &job, false, STOP_GONE, 0, false) == 0)
			t->changed = false;
	}
}

/* The rounds of a set: rescan until a scan finds nobody new. */
static int set_rounds(struct rop *op, struct job *job)
{
	size_t first = 0;
	int r;

	/* Threads created meanwhile: a thread created by one that already
	 * runs the new policy inherits it; one created by a thread not yet
	 * done is listed by the time its creator stops for us. */
	for (int round = 0;; round++) {
		r = op_scan(op);
		if (r < 0)
			return r;
		if (r == 0) {
			r = first ? 0 : -ESRCH;
			break;
		}
		if (round == MB_MAX_ROUNDS)
			return -EAGAIN;
		if (round == 0)
			op->n_first = op->n;
		r = run_all(op, first, job, true);
		if (r)
			return r;
		first = op->n;
	}
	if (r == 0) {
		bool any = false;

		for (size_t i = 0; i < op->n; i++)
			any |= op->t[i].changed;
		if (!any)
			r = -ESRCH; /* every thread exited meanwhile */
	}
	return r;
}

/* The whole set, in the helper process (or in the caller, see below). */
static int engine_set(pid_t pid, pid_t caller, int mode,
		      const unsigned long *nodes, unsigned long nbits)
{
	struct rop op;
	struct job job = { 0 };
	struct rthread model = { 0 };
	unsigned long *model_nodes = NULL;
	int r = -EAGAIN, why = -EAGAIN;

	memset(&stats, 0, sizeof(stats));
	job.get = true;
	job.set = true;
	job.set_mode = mode;
	job.set_nodes = nbits ? nodes : NULL;
	job.set_bits = nbits;
	/* An exec during the call: the threads worked on are gone, and the
	 * one left (the exec'ing thread, now the leader) may not have been
	 * reached.  Start over on the new image; policies survive execve(). */
	for (int attempt = 0; attempt < MB_MAX_EXEC_RESTARTS; attempt++) {
		r = op_init(&op, pid, caller);
		if (r == 0) {
			r = set_rounds(&op, &job);
			if (r == 0 && op_image_gone(&op))
				r = MB_EXECED;
			/* every thread we knew is gone, the process is not:
			 * an exec took them */
			if (r == -ESRCH && live_thread(pid))
				r = MB_EXECED;
		}
		if (r == MB_EXECED) {
			why = op.why ? op.why : -EAGAIN;
			/* keep the binding from before the first attempt */
			for (size_t i = 0; i < op.n_first && !model_nodes; i++) {
				if (!op.t[i].saved)
					continue;
				model_nodes = op.t[i].old_nodes;
				op.t[i].old_nodes = NULL;
				model.old_mode = op.t[i].old_mode;
				model.old_nodes = model_nodes;
				model.saved = true;
			}
			op_free(&op);
			continue;
		}
		if (r)
			rollback(&op, model_nodes ? &model : NULL,
				 model_nodes != NULL);
		op_free(&op);
		break;
	}
	if (r == MB_EXECED && model_nodes) {
		/* Giving up: the attempts may have left the new binding on
		 * the image that runs now (policies survive execve()).  Put
		 * the old one back on every thread, as a failure promises. */
		for (int i = 0; i < 3; i++) {
			if (op_init(&op, pid, caller) == 0 && op_scan(&op) >= 0) {
				rollback(&op, &model, true);
				if (!op_image_gone(&op)) {
					op_free(&op);
					break;
				}
			}
			op_free(&op);
		}
	}
	free(model_nodes);
	return r == MB_EXECED ? why : r;
}

/* Every thread's policy, in the helper process.  Returns the number of
 * threads (entries in *res, to free) or -errno. */
static int engine_get(pid_t pid, pid_t caller, struct rop *op)
{
	struct job job = { 0 };
	int r = -EAGAIN, why = -EAGAIN;

	memset(&stats, 0, sizeof(stats));
	job.get = true;
	for (int attempt = 0; attempt < MB_MAX_EXEC_RESTARTS; attempt++) {
		r = op_init(op, pid, caller);
		if (r == 0) {
			r = op_scan(op);
			if (r >= 0)
				r = run_all(op, 0, &job, true);
			if (r == 0 && op_image_gone(op))
				r = MB_EXECED;
			if (r == 0) {
				bool any = false;

				for (size_t i = 0; i < op->n; i++)
					any |= op->t[i].saved;
				if (!any && live_thread(pid))
					r = MB_EXECED;
			}
		}
		if (r != MB_EXECED)
			break;
		why = op->why ? op->why : -EAGAIN;
		op_free(op);
	}
	if (r == MB_EXECED)
		r = why;
	if (r == 0) {
		int count = 0;

		for (size_t i = 0; i < op->n; i++)
			count += op->t[i].saved;
		r = count ? count : -ESRCH;
	}
	return r;
}

/* ---- the helper process ---- */

/*
 * Every remote operation runs in a child process made for it, the helper:
 * in its own session (no terminal signals: Ctrl-C, Ctrl-Z, hang-up), with
 * every signal blocked (SIGTERM, SIGINT, SIGHUP from kill or timeout(1) do
 * nothing to it), out of the OOM killer's reach where we may say so.
 * Whatever happens to the caller (killed, stopped, its thread cancelled),
 * the helper finishes or rolls back on its own and lets every thread go;
 * the caller only reads the outcome from a pipe.  ptrace would otherwise
 * tie the target to the caller: a tracer that dies leaves a thread that
 * runs whatever registers were injected at that moment (docs/remote.md).
 */
struct helper_msg {
	int r;
	unsigned long save_bits; /* get: node bits per entry that follows */
	int fault_left; /* the test hook's count, carried back */
	unsigned long threads, over_1ms;
	uint64_t max_pause_ns, inject_max_ns, inject_total_ns;
	int count; /* get: entries that follow, each a helper_ent + nodes */
};

struct helper_ent {
	pid_t tid;
	int mode;
};

/* Serialises the caller's side: one helper at a time per process.  Held
 * across fork() on purpose, so it is not taken by fork.c's handlers; a
 * child of any fork gets it anew (mb_remote_fork()). */
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read len bytes of the helper's answer.  pidfd (or -1) tells when the
 * helper has exited: a copy of the pipe's write end that a concurrent
 * fork() in another thread of the caller gave its child would otherwise
 * hide the end of a helper that was killed.  Once the helper is gone, what
 * it wrote is read without waiting.
 */
static int read_all(int fd, int pidfd, void *buf, size_t len)
{
	char *p = buf;
	bool gone = false;

	while (len) {
		ssize_t n;

		if (pidfd >= 0 && !gone) {
			struct pollfd pf[2] = { { fd, POLLIN, 0 },
						{ pidfd, POLLIN, 0 } };

			if (poll(pf, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			if (!(pf[0].revents & (POLLIN | POLLHUP))) {
				if (!(pf[1].revents & (POLLIN | POLLHUP)))
					continue;
				gone = true;
				fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			}
		}
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct call {
	bool get;
	pid_t pid;
	int mode;
	const unsigned long *nodes;
	unsigned long nbits;
	/* get */
	struct mb_thread_policy *out;
	int max;
};

/* The figures of the call just made, for the caller's stats. */
static void msg_figures(struct helper_msg *m)
{
	m->fault_left = fault_after_set;
	m->threads = stats.threads;
	m->over_1ms = stats.over_1ms;
	m->max_pause_ns = stats.max_pause_ns;
	m->inject_max_ns = stats.inject_max_ns;
	m->inject_total_ns = stats.inject_total_ns;
}

/* In the child: never returns. */
static void helper_main(int fd, const struct call *c, pid_t caller)
{
	struct helper_msg m = { 0 };
	sigset_t all;
	int ofd;

	/* Nothing the caller's session or signals do reaches us now. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	setsid();
	/* Nor do we hold its files open: its sockets, the pipes a reader of
	 * its output waits on, the terminal. */
	ofd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (ofd >= 0) {
		for (int i = 0; i < 3; i++)
			if (i != fd)
				dup2(ofd, i);
		if (ofd > 2)
			close(ofd);
	}
#ifdef SYS_close_range
	if (fd > 3)
		syscall(SYS_close_range, 3u, (unsigned)fd - 1, 0u);
	if (fd >= 3)
		syscall(SYS_close_range, (unsigned)fd + 1, ~0u, 0u);
#endif
	prctl(PR_SET_NAME, "membind-remote", 0, 0, 0);
	ofd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (ofd >= 0) {
		/* needs CAP_SYS_RESOURCE; without it we keep the caller's */
		if (write(ofd, "-1000", 5) < 0)
			(void)0;
		close(ofd);
	}
	pthread_mutex_lock(&remote_lock);
	if (c->get) {
		struct rop op;

		m.r = engine_get(c->pid, caller, &op);
		m.count = m.r > 0 ? m.r : 0;
		m.save_bits = op.save_bits;
		msg_figures(&m);
		if (write_all(fd, &m, sizeof(m)) == 0) {
			for (size_t i = 0; i < op.n && m.count; i++) {
				struct helper_ent e = { op.t[i].tid,
							op.t[i].old_mode };

				if (!op.t[i].saved)
					continue;
				if (write_all(fd, &e, sizeof(e)) ||
				    write_all(fd, op.t[i].old_nodes,
					      MB_LONGS(op.save_bits) *
						      sizeof(unsigned long)))
					break;
			}
		}
		op_free(&op);
	} else {
		m.r = engine_set(c->pid, caller, c->mode, c->nodes, c->nbits);
		msg_figures(&m);
		write_all(fd, &m, sizeof(m));
	}
	_exit(0);
}

/* The caller's side: fork the helper, read its answer. */
static int remote_call(const struct call *c)
{
	struct helper_msg m;
	pid_t caller = getpid(), child;
	int fds[2], cancel, r, st, pidfd = -1;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	pthread_mutex_lock(&call_lock);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	child = fork();
	if (child == 0) {
		close(fds[0]);
		helper_main(fds[1], c, caller);
	}
	close(fds[1]);
	if (child < 0) {
		r = -errno;
		close(fds[0]);
		goto out;
	}
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, child, 0);
#endif
	if (read_all(fds[0], pidfd, &m, sizeof(m)) < 0) {
		/* The helper died without an answer: killed by somebody. */
		r = -EIO;
	} else {
		unsigned long save_bits = m.save_bits;
		size_t words = MB_LONGS(save_bits);
		unsigned long *tmp = NULL;

		r = m.r;
		if (c->get && m.count > 0) {
			if (save_bits == 0 || save_bits > MEMBIND_MAX_BITS + 64)
				r = -EIO;
			else
				tmp = calloc(words, sizeof(unsigned long));
		}
		for (int i = 0; c->get && r > 0 && i < m.count; i++) {
			struct helper_ent e;

			if (!tmp || read_all(fds[0], pidfd, &e, sizeof(e)) ||
			    read_all(fds[0], pidfd, tmp, words * sizeof(long))) {
				r = tmp ? -EIO : -ENOMEM;
				break;
			}
			if (i >= c->max)
				continue;
			c->out[i].tid = e.tid;
			c->out[i].mode = e.mode;
			if (c->nbits) {
				unsigned long n = c->nbits < save_bits
							  ? c->nbits
							  : save_bits;

				memset(c->out[i].nodes, 0,
				       MB_LONGS(c->nbits) * sizeof(long));
				for (unsigned long b = 0; b < n; b++)
					if (mb_test(tmp, (unsigned)b))
						mb_set(c->out[i].nodes,
						       (unsigned)b);
			}
		}
		free(tmp);
		pthread_mutex_lock(&remote_lock);
		stats.threads = m.threads;
		stats.over_1ms = m.over_1ms;
		stats.max_pause_ns = m.max_pause_ns;
		stats.inject_max_ns = m.inject_max_ns;
		stats.inject_total_ns = m.inject_total_ns;
		fault_after_set = m.fault_left;
		pthread_mutex_unlock(&remote_lock);
	}
	close(fds[0]);
	if (pidfd >= 0)
		close(pidfd);
	/* Collect it (a SIGCHLD handler of the caller may have done so). */
	while (waitpid(child, &st, __WALL) < 0 && errno == EINTR)
		;
out:
	pthread_mutex_unlock(&call_lock);
	pthread_setcancelstate(cancel, NULL);
	return r;
}

int mb_remote_set_mempolicy(pid_t pid, int mode, const unsigned long *nodes,
			    unsigned long nbits)
{
	struct call c = { .pid = pid, .mode = mode, .nodes = nodes,
			  .nbits = nbits };

	if (nbits > MEMBIND_MAX_BITS || (nbits && !nodes))
		return -EINVAL;
	if (pid <= 0)
		return -ESRCH;
	return remote_call(&c);
}

int mb_remote_get_mempolicy(pid_t pid, struct mb_thread_policy *out, int max,
			    unsigned long nbits)
{
	struct call c = { .get = true, .pid = pid, .out = out, .max = max,
			  .nbits = nbits };

	if (max < 0 || (max > 0 && !out) || nbits > MEMBIND_MAX_BITS)
		return -EINVAL;
	if (pid <= 0)
		return -ESRCH;
	return remote_call(&c);
}

#else /* no remote engine for this architecture */

int mb_remote_set_mempolicy(pid_t pid, int mode, const unsigned long *nodes,
			    unsigned long nbits)
{
	(void)pid, (void)mode, (void)nodes, (void)nbits;
	return -EOPNOTSUPP;
}

int mb_remote_get_mempolicy(pid_t pid, struct mb_thread_policy *out, int max,
			    unsigned long nbits)
{
	(void)pid, (void)out, (void)max, (void)nbits;
	return -EOPNOTSUPP;
}

#endif

/* fork(): see fork.c.  call_lock is held across the helper's own fork(),
 * so it cannot be taken here; a child of any fork starts with it free (in
 * a program's child, the thread that held it is not there). */
void mb_remote_fork(enum mb_fork phase)
{
	if (phase == MB_FORK_PREPARE) {
		pthread_mutex_lock(&remote_lock);
	} else {
		pthread_mutex_unlock(&remote_lock);
#ifdef MB_REMOTE_ARCH
		if (phase == MB_FORK_CHILD)
			pthread_mutex_init(&call_lock, NULL);
#endif
	}
}
