/* SPDX-License-Identifier: MIT */
/*
 * aarch64 part of the remote engine (remote.c); see x86_64.h for the
 * contract.  Differences that matter (all checked on Debian's 6.12 arm64
 * kernel under qemu-system-aarch64, tests/vm/run-aarch64):
 *
 * - The syscall number lives in pt_regs->syscallno, outside the
 *   NT_PRSTATUS register set; it is read and written through the
 *   NT_ARM_SYSTEM_CALL regset.  x8 carries the number into "svc #0".
 * - At syscall-entry and -exit stops the kernel shows x7 as 0 / 1 and
 *   ignores writes to it; nothing here reads x7 at those stops.
 * - arm64 decides on a restart before the ptrace stops inside signal
 *   delivery: at such a stop an interrupted syscall already shows as
 *   pc = the svc instruction, x0 = its first argument again, and
 *   syscallno = -1.  Restoring those registers re-executes the call, so
 *   mb_arch_restart_pending() is always false.  What is still to come after
 *   the stop is the switch to restart_syscall(2) for -ERESTART_RESTARTBLOCK
 *   (nanosleep & co): it happens only if the thread leaves that signal
 *   delivery with pc unchanged.  MB_ARCH_RESTART_AT_ENTRY makes remote.c
 *   do exactly that when pc points at an svc: the thread runs into the
 *   entry stop of the call the kernel set up, that call is swapped for the
 *   injected one, and the registers restored at the end carry the x8 seen
 *   there (mb_arch_entry_seen()).  So an interrupted sleep goes on with the
 *   time that was left, as it would without us.
 * - x0 is both the first argument and the result, and pt_regs->orig_x0 is
 *   not in any regset, so after a plain -EINTR (epoll_pwait & co) the first
 *   argument is gone from the registers.  mb_arch_before_stop() reads it
 *   from /proc/PID/task/TID/syscall while the thread is still blocked,
 *   just before remote.c interrupts it; mb_arch_getregs() attaches it when
 *   nr, x1-x5, sp and pc at the stop are those of that call.
 * - A syscall discards a thread's live SVE state (the Z registers beyond
 *   their low 128 bits, P0-P15 and FFR become zero) and ends streaming mode
 *   (the kernel's sve.rst and sme.rst; fp_user_discard() on every syscall
 *   entry).  A thread stopped at an arbitrary instruction of SVE code, such
 *   as glibc's string functions on SVE hardware, would go on with those
 *   registers zeroed after our injected call: wrong results, or a crash.
 *   mb_arch_save_ext() reads that state at the first stop when it is live
 *   (NT_ARM_SSVE in streaming mode, else NT_ARM_SVE), and mb_arch_restore()
 *   writes it back with the registers.  ZA and ZT0 survive a syscall.
 */
#ifndef MEMBIND_ARCH_AARCH64_H
#define MEMBIND_ARCH_AARCH64_H

#include <asm/ptrace.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef NT_ARM_SYSTEM_CALL
#define NT_ARM_SYSTEM_CALL 0x404
#endif
#ifndef NT_ARM_SVE
#define NT_ARM_SVE 0x405
#endif
#ifndef NT_ARM_SSVE
#define NT_ARM_SSVE 0x40b
#endif

typedef struct {
	struct user_pt_regs r;
	int syscallno;
	/* Not registers: the first argument of the call the thread was
	 * blocked in, from mb_arch_before_stop() (see above). */
	bool x0_known;
	unsigned long orig_x0;
	/* The live SVE/streaming state saved by mb_arch_save_ext(), written
	 * back by mb_arch_restore(); NULL when there is none to keep. */
	const void *ext;
	size_t ext_len;
	unsigned int ext_note;
} mb_regs_t;

#define MB_ARCH_NAME "aarch64"
#define MB_ARCH_ELF_CLASS ELFCLASS64
#define MB_ARCH_ELF_MACHINE EM_AARCH64
#define MB_ARCH_AUDIT 0xc00000b7U /* AUDIT_ARCH_AARCH64 */
/* AAPCS64 has no red zone; stay clear of the stack pointer anyway. */
#define MB_ARCH_REDZONE 128
/* "svc #0", little-endian */
#define MB_ARCH_INSN_LEN 4
/* Instructions are 4-byte aligned: a match elsewhere is not one. */
#define MB_ARCH_INSN_ALIGN 4
static const unsigned char mb_arch_insn[MB_ARCH_INSN_LEN] = { 0x01, 0x00,
							      0x00, 0xd4 };

#define MB_ARCH_NR_GET_MEMPOLICY 236
#define MB_ARCH_NR_SET_MEMPOLICY 237
#define MB_ARCH_NR_RESTART_SYSCALL 128

/* remote.c: when the stopped thread's pc is at an svc, run it into that
 * call's entry stop and inject there (see above). */
#define MB_ARCH_RESTART_AT_ENTRY 1

/* What /proc/PID/task/TID/syscall showed just before the stop.  At most
 * two threads are between thread_begin() and their end at a time (the
 * current one and the next); remote_lock serialises all users. */
static struct mb_a64_blocked {
	pid_t tid;
	long nr;
	unsigned long args[6], sp, pc;
} mb_a64_blocked[64];
/* Slots in use in turn: the current and next thread, and threads late to
 * stop (remote.c), which keep theirs while the others are worked on. */
#define MB_A64_SLOTS 64
static unsigned int mb_a64_blocked_next;

/* Blocking calls that fail with a plain -EINTR when the thread is merely
 * stopped by ptrace (see x86_64.h). */
static inline bool mb_a64_eintr_call(long nr)
{
	switch (nr) {
	case 22:  /* epoll_pwait (glibc's epoll_wait) */
	case 441: /* epoll_pwait2 */
	case 193: /* semop */
	case 192: /* semtimedop */
	case 137: /* rt_sigtimedwait */
		return true;
	default:
		return false;
	}
}

static inline struct mb_a64_blocked *mb_a64_slot(pid_t tid)
{
	for (int i = 0; i < MB_A64_SLOTS; i++)
		if (mb_a64_blocked[i].tid == tid)
			return &mb_a64_blocked[i];
	return NULL;
}

/* Called for a seized thread just before PTRACE_INTERRUPT. */
#define MB_ARCH_BEFORE_STOP 1
static inline void mb_arch_before_stop(pid_t pid, pid_t tid)
{
	struct mb_a64_blocked *b = mb_a64_slot(tid), n;
	char path[64], buf[256];
	ssize_t len;
	int fd;

	if (!b) {
		b = &mb_a64_blocked[mb_a64_blocked_next];
		mb_a64_blocked_next = (mb_a64_blocked_next + 1) % MB_A64_SLOTS;
	}
	b->tid = tid;
	b->nr = -1;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return;
	buf[len] = '\0';
	/* "NR ARG0 ... ARG5 SP PC", "-1 SP PC" or "running" */
	if (sscanf(buf, "%ld %lx %lx %lx %lx %lx %lx %lx %lx", &n.nr,
		   &n.args[0], &n.args[1], &n.args[2], &n.args[3], &n.args[4],
		   &n.args[5], &n.sp, &n.pc) != 9 ||
	    !mb_a64_eintr_call(n.nr))
		return;
	n.tid = tid;
	*b = n;
}

static inline int mb_arch_getregs(pid_t tid, mb_regs_t *r)
{
	struct iovec iov = { .iov_base = &r->r, .iov_len = sizeof(r->r) };
	struct iovec sc = { .iov_base = &r->syscallno,
			    .iov_len = sizeof(r->syscallno) };
	const struct mb_a64_blocked *b;

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	if (iov.iov_len != sizeof(r->r))
		return -EOPNOTSUPP; /* AArch32 task */
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_ARM_SYSTEM_CALL, &sc) < 0)
		return -errno;
	r->x0_known = false;
	r->orig_x0 = 0;
	r->ext = NULL;
	r->ext_len = 0;
	r->ext_note = 0;
	b = mb_a64_slot(tid);
	if (b && b->nr >= 0 && (long)r->r.regs[8] == b->nr &&
	    r->r.pc == b->pc && r->r.sp == b->sp &&
	    !memcmp(&r->r.regs[1], &b->args[1], 5 * sizeof(b->args[1]))) {
		r->x0_known = true;
		r->orig_x0 = b->args[0];
	}
	return 0;
}

static inline int mb_arch_setregs(pid_t tid, const mb_regs_t *r)
{
	struct iovec iov = { .iov_base = (void *)&r->r,
			     .iov_len = sizeof(r->r) };
	struct iovec sc = { .iov_base = (void *)&r->syscallno,
			    .iov_len = sizeof(r->syscallno) };

	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_ARM_SYSTEM_CALL, &sc) < 0)
		return -errno;
	return 0;
}

static inline unsigned long mb_arch_sp(const mb_regs_t *r)
{
	return r->r.sp;
}

static inline unsigned long mb_arch_pc(const mb_regs_t *r)
{
	return r->r.pc;
}

static inline void mb_arch_set_pc(mb_regs_t *r, unsigned long pc)
{
	r->r.pc = pc;
}

static inline void mb_arch_set_call(mb_regs_t *r, unsigned long pc, long nr,
				    const unsigned long a[6])
{
	r->r.pc = pc;
	r->r.regs[8] = (unsigned long)nr;
	for (int i = 0; i < 6; i++)
		r->r.regs[i] = a[i];
	r->syscallno = -1; /* no restart handling on these */
}

/* At a syscall-entry stop: make the kernel run nr(a) instead of the call
 * that was entered.  The arguments are read from x0-x5 after the stop. */
static inline void mb_arch_set_entry_call(mb_regs_t *r, long nr,
					  const unsigned long a[6])
{
	r->r.regs[8] = (unsigned long)nr;
	for (int i = 0; i < 6; i++)
		r->r.regs[i] = a[i];
	r->syscallno = (int)nr;
}

/* orig was stopped with pc at an svc and has run into that call's entry
 * stop with registers entry: keep the call the kernel set up there (x8 is
 * restart_syscall after -ERESTART_RESTARTBLOCK).  Nothing else changes on
 * that way, and x7 reads as 0 at the entry stop. */
static inline void mb_arch_entry_seen(mb_regs_t *orig, const mb_regs_t *entry)
{
	orig->r.regs[8] = entry->r.regs[8];
}

/* At a syscall-entry stop: make the kernel skip the call entered. */
static inline void mb_arch_skip_entry(mb_regs_t *r)
{
	r->syscallno = -1;
}

/*
 * Save tid's SVE or streaming-SVE register state into r if it is live (see
 * above).  One buffer serves all threads: remote.c saves a thread's state
 * and restores it within one thread_complete(), one thread at a time, under
 * remote_lock; the buffer is kept for the next call.
 */
static unsigned char *mb_a64_ext;
static size_t mb_a64_ext_cap;

#define MB_ARCH_SAVE_EXT 1
static inline int mb_arch_save_ext(pid_t tid, mb_regs_t *r)
{
	static const unsigned int notes[] = { NT_ARM_SSVE, NT_ARM_SVE };

	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++) {
		struct user_sve_header h;
		struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };

		/* EINVAL: no such register set (a CPU without SME or SVE) */
		if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)notes[i],
			   &iov) < 0) {
			if (errno == EINVAL || errno == ENODEV)
				continue;
			return -errno;
		}
		if (iov.iov_len < sizeof(h) ||
		    (h.flags & SVE_PT_REGS_MASK) != SVE_PT_REGS_SVE)
			continue; /* FPSIMD form: a syscall keeps all of it */
		if (h.size < sizeof(h))
			return -EIO;
		if (h.size > mb_a64_ext_cap) {
			unsigned char *n = realloc(mb_a64_ext, h.size);

			if (!n)
				return -ENOMEM;
			mb_a64_ext = n;
			mb_a64_ext_cap = h.size;
		}
		iov.iov_base = mb_a64_ext;
		iov.iov_len = h.size;
		if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)notes[i],
			   &iov) < 0)
			return -errno;
		r->ext = mb_a64_ext;
		r->ext_len = iov.iov_len;
		r->ext_note = notes[i];
		return 0;
	}
	return 0;
}

/* Restore after an injected call stopped at syscall exit: the saved
 * registers, with no syscall in progress, and the vector state saved by
 * mb_arch_save_ext(). */
static inline int mb_arch_restore(pid_t tid, const mb_regs_t *r)
{
	mb_regs_t t = *r;
	struct iovec iov = { .iov_base = (void *)r->ext,
			     .iov_len = r->ext_len };
	int ret;

	t.syscallno = -1;
	ret = mb_arch_setregs(tid, &t);
	if (ret || !r->ext)
		return ret;
	if (ptrace(PTRACE_SETREGSET, tid, (void *)(long)r->ext_note,
		   &iov) < 0)
		return -errno;
	return 0;
}

static inline long mb_arch_retval(const mb_regs_t *r)
{
	return (long)r->r.regs[0];
}

static inline long mb_arch_syscall_nr(const mb_regs_t *r)
{
	return r->syscallno;
}

static inline bool mb_arch_restart_pending(const mb_regs_t *r)
{
	(void)r;
	return false;
}

/* A plain -EINTR from one of the calls above, whose first argument is
 * known: the thread stopped in signal delivery right after the call. */
static inline bool mb_arch_eintr_on_stop(const mb_regs_t *r)
{
	return r->x0_known && r->syscallno == -1 &&
	       mb_a64_eintr_call((long)r->r.regs[8]) &&
	       (long)r->r.regs[0] == -EINTR;
}

static inline void mb_arch_rewind(mb_regs_t *r)
{
	r->r.regs[0] = r->orig_x0;
	r->r.pc -= MB_ARCH_INSN_LEN;
}

#endif
