/* SPDX-License-Identifier: MIT */
/*
 * x86-64 part of the remote engine (remote.c): how a stopped tracee's
 * registers look, how to turn them into "execute one syscall here", and how
 * the kernel's syscall restart shows in them.
 *
 * On x86-64 the kernel decides on a restart after the ptrace stops that
 * happen inside signal delivery: at such a stop an interrupted syscall shows
 * as orig_rax = its number, rax = -ERESTART*, rip just past the syscall
 * instruction.  Setting orig_rax to -1 turns the restart logic off for
 * injected registers; restoring the saved registers turns it back on.
 */
#ifndef MEMBIND_ARCH_X86_64_H
#define MEMBIND_ARCH_X86_64_H

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

typedef struct user_regs_struct mb_regs_t;

#define MB_ARCH_NAME "x86_64"
#define MB_ARCH_ELF_CLASS ELFCLASS64
#define MB_ARCH_ELF_MACHINE EM_X86_64
#define MB_ARCH_AUDIT 0xc000003eU /* AUDIT_ARCH_X86_64 */
/* Bytes below the stack pointer the ABI lets leaf code use. */
#define MB_ARCH_REDZONE 128
/* "syscall" */
#define MB_ARCH_INSN_LEN 2
/* Alignment of an instruction address: none on x86. */
#define MB_ARCH_INSN_ALIGN 1
static const unsigned char mb_arch_insn[MB_ARCH_INSN_LEN] = { 0x0f, 0x05 };

#define MB_ARCH_NR_GET_MEMPOLICY 239
#define MB_ARCH_NR_SET_MEMPOLICY 238
#define MB_ARCH_NR_RESTART_SYSCALL 219

/* Kernel-internal restart codes, visible in rax at a signal-delivery stop. */
#define MB_ERESTARTSYS 512
#define MB_ERESTARTNOINTR 513
#define MB_ERESTARTNOHAND 514
#define MB_ERESTART_RESTARTBLOCK 516

static inline int mb_arch_getregs(pid_t tid, mb_regs_t *r)
{
	struct iovec iov = { .iov_base = r, .iov_len = sizeof(*r) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	/* A 32-bit (compat) task has a smaller register set. */
	if (iov.iov_len != sizeof(*r))
		return -EOPNOTSUPP;
	return 0;
}

static inline int mb_arch_setregs(pid_t tid, const mb_regs_t *r)
{
	struct iovec iov = { .iov_base = (void *)r, .iov_len = sizeof(*r) };

	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	return 0;
}

static inline unsigned long mb_arch_sp(const mb_regs_t *r)
{
	return r->rsp;
}

static inline unsigned long mb_arch_pc(const mb_regs_t *r)
{
	return r->rip;
}

static inline void mb_arch_set_pc(mb_regs_t *r, unsigned long pc)
{
	r->rip = pc;
}

/* Registers that run syscall nr with args at pc, starting from r. */
static inline void mb_arch_set_call(mb_regs_t *r, unsigned long pc, long nr,
				    const unsigned long a[6])
{
	r->rip = pc;
	r->rax = (unsigned long)nr;
	r->orig_rax = (unsigned long)-1L; /* no restart handling on these */
	r->rdi = a[0];
	r->rsi = a[1];
	r->rdx = a[2];
	r->r10 = a[3];
	r->r8 = a[4];
	r->r9 = a[5];
}

/* At a syscall-entry stop: make the kernel skip the call entered. */
static inline void mb_arch_skip_entry(mb_regs_t *r)
{
	r->orig_rax = (unsigned long)-1L;
}

/* Register state beyond r that a syscall would not keep: none on x86-64,
 * where a syscall keeps every register but rax, rcx and r11 (all in r). */
static inline int mb_arch_save_ext(pid_t tid, mb_regs_t *r)
{
	(void)tid;
	(void)r;
	return 0;
}

/* Store r after an injected call stopped at syscall exit; nothing extra on
 * x86-64 (orig_rax is part of the register set). */
static inline int mb_arch_restore(pid_t tid, const mb_regs_t *r)
{
	return mb_arch_setregs(tid, r);
}

static inline long mb_arch_retval(const mb_regs_t *r)
{
	return (long)r->rax;
}

/* The syscall the thread was in when it stopped, -1 if none. */
static inline long mb_arch_syscall_nr(const mb_regs_t *r)
{
	return (long)r->orig_rax;
}

/* Does r carry a pending kernel restart (which only happens if the thread
 * passes through signal delivery before it returns to user space)? */
static inline bool mb_arch_restart_pending(const mb_regs_t *r)
{
	long ax = (long)r->rax;

	if ((long)r->orig_rax < 0)
		return false;
	return ax == -MB_ERESTARTSYS || ax == -MB_ERESTARTNOINTR ||
	       ax == -MB_ERESTARTNOHAND || ax == -MB_ERESTART_RESTARTBLOCK;
}

/* Blocking syscalls that fail with a plain -EINTR when the thread is merely
 * stopped by ptrace (no signal for the program at all): epoll_wait and
 * friends, semop/semtimedop, rt_sigtimedwait. */
static inline bool mb_arch_eintr_on_stop(const mb_regs_t *r)
{
	switch ((long)r->orig_rax) {
	case 232: /* epoll_wait */
	case 281: /* epoll_pwait */
	case 441: /* epoll_pwait2 */
	case 65:  /* semop */
	case 220: /* semtimedop */
	case 128: /* rt_sigtimedwait */
		return (long)r->rax == -EINTR;
	default:
		return false;
	}
}

/* Make r re-execute the syscall it was interrupted in, as the kernel's own
 * restart does: same arguments, back to the syscall instruction. */
static inline void mb_arch_rewind(mb_regs_t *r)
{
	r->rax = r->orig_rax;
	r->rip -= MB_ARCH_INSN_LEN;
}

#endif
