/* SPDX-License-Identifier: MIT */
/*
 * aarch64 part of the remote engine (remote.c); see x86_64.h for the
 * contract.  Differences that matter:
 *
 * - The syscall number lives in pt_regs->syscallno, outside the
 *   NT_PRSTATUS register set; it is read and written through the
 *   NT_ARM_SYSTEM_CALL regset.  x8 carries the number into "svc #0".
 * - arm64 decides on a restart before the ptrace stops inside signal
 *   delivery: at such a stop an interrupted syscall already shows as
 *   pc = the svc instruction, x0 = its first argument again, and
 *   syscallno = -1.  Restoring the saved registers re-executes it; nothing
 *   needs the kernel's restart logic later, so mb_arch_restart_pending() is
 *   always false.  A call interrupted with -ERESTART_RESTARTBLOCK
 *   (nanosleep & co) thereby restarts from its beginning rather than
 *   through restart_syscall(2), as under a debugger.
 * - x0 is overwritten by the result, so a plain -EINTR (epoll_wait) cannot
 *   be turned back into a restart: mb_arch_eintr_on_stop() is false.
 */
#ifndef MEMBIND_ARCH_AARCH64_H
#define MEMBIND_ARCH_AARCH64_H

#include <asm/ptrace.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#ifndef NT_ARM_SYSTEM_CALL
#define NT_ARM_SYSTEM_CALL 0x404
#endif

typedef struct {
	struct user_pt_regs r;
	int syscallno;
} mb_regs_t;

#define MB_ARCH_NAME "aarch64"
#define MB_ARCH_ELF_CLASS ELFCLASS64
#define MB_ARCH_ELF_MACHINE EM_AARCH64
#define MB_ARCH_AUDIT 0xc00000b7U /* AUDIT_ARCH_AARCH64 */
/* AAPCS64 has no red zone; stay clear of the stack pointer anyway. */
#define MB_ARCH_REDZONE 128
/* "svc #0", little-endian */
#define MB_ARCH_INSN_LEN 4
static const unsigned char mb_arch_insn[MB_ARCH_INSN_LEN] = { 0x01, 0x00,
							      0x00, 0xd4 };

#define MB_ARCH_NR_GET_MEMPOLICY 236
#define MB_ARCH_NR_SET_MEMPOLICY 237

static inline int mb_arch_getregs(pid_t tid, mb_regs_t *r)
{
	struct iovec iov = { .iov_base = &r->r, .iov_len = sizeof(r->r) };
	struct iovec sc = { .iov_base = &r->syscallno,
			    .iov_len = sizeof(r->syscallno) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	if (iov.iov_len != sizeof(r->r))
		return -EOPNOTSUPP; /* AArch32 task */
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_ARM_SYSTEM_CALL, &sc) < 0)
		return -errno;
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

static inline void mb_arch_set_call(mb_regs_t *r, unsigned long pc, long nr,
				    const unsigned long a[6])
{
	r->r.pc = pc;
	r->r.regs[8] = (unsigned long)nr;
	for (int i = 0; i < 6; i++)
		r->r.regs[i] = a[i];
	r->syscallno = -1; /* no restart handling on these */
}

/* Restore after an injected call stopped at syscall exit: the saved
 * registers, with no syscall in progress. */
static inline int mb_arch_restore(pid_t tid, const mb_regs_t *r)
{
	mb_regs_t t = *r;

	t.syscallno = -1;
	return mb_arch_setregs(tid, &t);
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

static inline bool mb_arch_eintr_on_stop(const mb_regs_t *r)
{
	(void)r;
	return false;
}

static inline void mb_arch_rewind(mb_regs_t *r)
{
	(void)r;
}

#endif
