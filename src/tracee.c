/* SPDX-License-Identifier: MIT */
/*
 * One thread of another process under ptrace, for the remote engine: seize
 * it, interrupt it and wait for its stop (a blocked thread is left for
 * later), check it (its image, its seccomp filter), inject get_mempolicy()/
 * set_mempolicy() between the syscall's entry and exit stops with the
 * arguments below its red zone, put its registers, stack bytes and vector
 * state back exactly, and detach.  remote.c runs the whole operation over
 * all threads; docs/remote.md explains each step.
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

#include "syscalls.h"
#include "remote_engine.h"

#ifdef MB_REMOTE_ARCH

/* ---- figures for the benchmark ---- */

/* Per operation: threads worked on, and the longest a thread was held:
 * from our PTRACE_INTERRUPT (an upper bound on when it stopped) to its
 * detach.  At most two threads are held at once (current and next). */
struct mb_rstats mb_rstats;

void mb_tracee_stats_begin(pid_t tid)
{
	int i = mb_rstats.tid[0] == 0 ? 0 : 1;

	mb_rstats.tid[i] = tid;
	mb_rstats.since[i] = mb_now_ns();
}

/* A thread that is late to stop (blocked in the kernel) is not held: its
 * time counts from when it is seen stopped. */
void mb_tracee_stats_drop(pid_t tid)
{
	for (int i = 0; i < 2; i++)
		if (mb_rstats.tid[i] == tid)
			mb_rstats.tid[i] = 0;
}

static void inject_stats(uint64_t ns)
{
	if (ns > mb_rstats.inject_max_ns)
		mb_rstats.inject_max_ns = ns;
	mb_rstats.inject_total_ns += ns;
}

static void stats_end(pid_t tid)
{
	for (int i = 0; i < 2; i++) {
		if (mb_rstats.tid[i] == tid) {
			uint64_t d = mb_now_ns() - mb_rstats.since[i];

			if (d > mb_rstats.max_pause_ns)
				mb_rstats.max_pause_ns = d;
			if (d > 1000000)
				mb_rstats.over_1ms++;
			mb_rstats.tid[i] = 0;
			mb_rstats.threads++;
		}
	}
}



/* For tests (tests/remote/test-fault.c): the n-th set_mempolicy that
 * succeeds from now on is followed by a failure (-EIO) of the steps after
 * it, with the thread put back and let go as usual.  0: off.  Internal; not
 * exported by the shared library. */
int mb_rfault_after_set;


/* ---- /proc helpers ---- */

/*
 * Read /proc/PID[/task/TID]/status, all of it: a long Groups: line (a
 * process in thousands of groups) pushes the fields after it, Seccomp: and
 * the signal masks among them, beyond any fixed size.  A status without
 * TracerPid: or Seccomp: is refused with -EPERM: what cannot be checked is
 * not taken as "not traced" and "no filter".
 */
int mb_tracee_status(pid_t pid, pid_t tid, struct mb_status *st)
{
	int r = mb_status_read(pid, tid, st);

	if (r)
		return r;
	return st->has_tracer && st->has_seccomp ? 0 : -EPERM;
}

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
int mb_tracee_stolen_report(pid_t tid, int *status)
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
			    mb_tracee_stolen_report(tid, status) == 0)
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
			if (r == 0 && mb_tracee_stolen_report(tid, status) == 0)
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

/* Wait for tid's next stop, until the time until (CLOCK_MONOTONIC ns; 0:
 * no limit): STOP_LATE when it has not stopped by then (it is still ours,
 * seized and running, or blocked in the kernel).  *sig: the stop signal of
 * an event stop (SIGTRAP for our interrupt, the stop signal in a group
 * stop) or the signal of a signal-delivery stop. */
enum stop_kind mb_tracee_wait_until(pid_t tid, int *sig, uint64_t until)
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

/* Between the injected calls' entry and exit stops nothing blocks: no
 * limit there. */
static enum stop_kind wait_stop(pid_t tid, int *sig)
{
	return mb_tracee_wait_until(tid, sig, 0);
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

	if (mb_tracee_status(op->pid, tid, &st) < 0)
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

int mb_tracee_mem_io(pid_t pid, unsigned long addr, void *buf, size_t len,
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
	enum stop_kind k = mb_tracee_wait_until(tid, sig,
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
	int r = mb_tracee_status(op->pid, tid, &st);

	if (r)
		return r == -ESRCH ? -EAGAIN : r;
	return st.seccomp ? -EPERM : 0;
}

/* The image tid runs in: its vdso's address from /proc/.../auxv (0: none).
 * An exec gives a new auxv, and a new vdso address unless address space
 * randomisation is off (then the layout, vdso included, is the same). */
int mb_tracee_image_vdso(pid_t pid, pid_t tid, unsigned long *base)
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
	r = mb_tracee_image_vdso(op->pid, tid, &vdso);
	if (r)
		return r == -ESRCH ? MB_EXECED : r;
	if (vdso != op->vdso)
		return MB_EXECED;
	if (mb_tracee_mem_io(tid, op->insn, b, sizeof(b), false) ||
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
int mb_tracee_ours_again(const struct rop *op, pid_t tid)
{
	thread_cancel_(op, tid);
	return MB_EXECED;
}

/*
 * First half for one thread: check it, seize it and ask it to stop.
 * Returns 0, MB_GONE or -errno (nothing left behind).
 */
int mb_tracee_begin(const struct rop *op, pid_t tid)
{
	struct mb_status st;
	int r = mb_tracee_status(op->pid, tid, &st);

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
		return mb_tracee_ours_again(op, tid);
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
		if (mb_tracee_status(op->pid, tid, &st) < 0)
			return MB_GONE;
		if (st.state == 'Z' || st.state == 'X')
			return MB_GONE;
		if (st.tracer == getpid())
			return mb_tracee_ours_again(op, tid);
		if (st.tracer)
			return -EBUSY;
		if (tries == 3)
			return -EPERM;
	}
	mb_tracee_stats_begin(tid);
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
	k = mb_tracee_wait_until(tid, &sig, mb_now_ns() + op->late_ns);
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
		a[2] = mb_maxnode(op->save_bits);
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
			a[2] = mb_maxnode(job->set_bits);
		}
		r = inject(op, tid, &orig, &at_insn, MB_ARCH_NR_SET_MEMPOLICY,
			   a, &ret, &sig, &at_exit, &group_stop, !suspended);
		if (r)
			goto out_mem;
		job->set_ret = ret;
		if (ret == 0) {
			job->set_done = true;
			if (mb_rfault_after_set && !--mb_rfault_after_set)
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

int mb_tracee_complete(const struct rop *op, pid_t tid, struct job *job,
			   enum stop_kind k, int sig)
{
	int r = thread_complete_(op, tid, job, k, sig);

	stats_end(tid);
	return r;
}

int mb_tracee_cancel(const struct rop *op, pid_t tid)
{
	int r = thread_cancel_(op, tid);

	stats_end(tid);
	return r;
}

#endif /* MB_REMOTE_ARCH */
