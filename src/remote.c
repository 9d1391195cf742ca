/* SPDX-License-Identifier: MIT */
/*
 * The remote engine: make every thread of another process run
 * set_mempolicy()/get_mempolicy() itself, under ptrace.  Linux has no other
 * way to set another process's memory policy.
 *
 * This file runs the whole operation: it forks the helper process that does
 * the work (and that the caller's signals cannot reach), finds a syscall
 * instruction in the target, lists its threads and works on each one in
 * turn (tracee.c: seize, stop, check, inject, put back, detach), lists them
 * again for threads born meanwhile, leaves blocked threads for later, and
 * rolls every thread back when one fails.  docs/remote.md explains the
 * details: syscall restart, signals that arrive meanwhile, all-or-nothing,
 * new threads, exec, seccomp, and what is refused and why.
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
#include "remote.h"
#include "remote_engine.h"
#include "testing.h"

#ifdef MB_REMOTE_ARCH

/* One lock for every remote operation: ptrace ties a tracee to the tracer
 * thread, and two operations on one target would fight anyway. */
static pthread_mutex_t remote_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- figures and hooks for the tests (testing.h) ---- */

/* For the benchmark (tests/remote/bench-remote.c): figures of the last
 * mb_remote_*() call.  Internal; not exported by the shared library. */
void mb_remote_last_stats(unsigned long *threads, unsigned long *over_1ms,
			  uint64_t *max_pause_ns)
{
	pthread_mutex_lock(&remote_lock);
	*threads = mb_rstats.threads;
	*over_1ms = mb_rstats.over_1ms;
	*max_pause_ns = mb_rstats.max_pause_ns;
	pthread_mutex_unlock(&remote_lock);
}

/* The same call's injection window: the longest one thread had, and the
 * sum over its threads (see stats above).  Internal. */
void mb_remote_last_window(uint64_t *max_ns, uint64_t *total_ns)
{
	pthread_mutex_lock(&remote_lock);
	*max_ns = mb_rstats.inject_max_ns;
	*total_ns = mb_rstats.inject_total_ns;
	pthread_mutex_unlock(&remote_lock);
}

void mb_remote_test_fault_after_set(int n)
{
	pthread_mutex_lock(&remote_lock);
	mb_rfault_after_set = n;
	pthread_mutex_unlock(&remote_lock);
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
			if (mb_tracee_mem_io(tid, p, chunk, got, false) < 0)
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

	if (mb_tracee_status(c->pid, tid, &st) == 0 && st.state != 'Z' &&
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
	r = mb_tracee_status(pid, 0, &st);
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
		return mb_tracee_ours_again(op, pid);
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
		r = mb_tracee_image_vdso(pid, op->live_tid, &op->vdso);
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
	return tid && mb_tracee_image_vdso(op->pid, tid, &vdso) == 0 && vdso != op->vdso;
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
			r = mb_tracee_begin(op, tid);
			if (r)
				return r;
			/* In a round (may_defer), a thread that is slow to
			 * stop again goes back to the late ones rather than
			 * keep the next thread, begun ahead, in its stop. */
			k = mb_tracee_wait_until(tid, &sig,
					    mb_now_ns() +
						    (may_defer ? MB_PROMPT_NS :
								 op->late_ns));
			if (k == STOP_LATE) {
				mb_tracee_stats_drop(tid);
				return may_defer ? MB_LATE : -ETIMEDOUT;
			}
		}
		began = false;
		r = mb_tracee_complete(op, tid, job, k, sig);
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
			k = mb_tracee_wait_until(t->tid, &sig, 1);
			if (k == STOP_LATE) {
				if (now > t->late_until)
					return -ETIMEDOUT;
				left = true;
				continue;
			}
			t->late = false;
			/* held from now: not from our interrupt, long ago */
			mb_tracee_stats_begin(t->tid);
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
			int b = mb_tracee_begin(op, t->tid);

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
		k = mb_tracee_wait_until(t->tid, &sig, mb_now_ns() + MB_PROMPT_NS);
		if (k != STOP_LATE && k != STOP_GONE && t->tid == op->pid) {
			/* the leader alone (below): not while late threads of
			 * ours are seized; it waits in its stop for them, and
			 * do_late() finds that stop again (mb_tracee_stolen_report()) */
			for (j = first; j < op->n; j++)
				if (op->t[j].late && !op->t[j].done)
					break;
			if (j < op->n) {
				k = STOP_LATE;
				mb_tracee_stats_drop(t->tid);
				t->late = true;
				t->late_until = mb_now_ns() + op->late_ns;
				continue;
			}
		}
		if (k == STOP_LATE) {
			t->late = true;
			t->late_until = mb_now_ns() + op->late_ns;
			mb_tracee_stats_drop(t->tid);
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
			int b = mb_tracee_begin(op, op->t[j].tid);

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
		mb_tracee_cancel(op, op->t[next_began].tid);
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

			k = mb_tracee_wait_until(t->tid, &sig,
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

	memset(&mb_rstats, 0, sizeof(mb_rstats));
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

	memset(&mb_rstats, 0, sizeof(mb_rstats));
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

/* The figures of the call just made, for the caller's mb_rstats. */
static void msg_figures(struct helper_msg *m)
{
	m->fault_left = mb_rfault_after_set;
	m->threads = mb_rstats.threads;
	m->over_1ms = mb_rstats.over_1ms;
	m->max_pause_ns = mb_rstats.max_pause_ns;
	m->inject_max_ns = mb_rstats.inject_max_ns;
	m->inject_total_ns = mb_rstats.inject_total_ns;
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
		mb_rstats.threads = m.threads;
		mb_rstats.over_1ms = m.over_1ms;
		mb_rstats.max_pause_ns = m.max_pause_ns;
		mb_rstats.inject_max_ns = m.inject_max_ns;
		mb_rstats.inject_total_ns = m.inject_total_ns;
		mb_rfault_after_set = m.fault_left;
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
