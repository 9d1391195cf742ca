/* SPDX-License-Identifier: MIT */
/*
 * rseq_round(s): one restartable sequence (rseq(2)) on the calling thread's
 * rseq area, the one glibc registered.  Inside the critical section it
 * reads s->epoch, waits until s->go is past it, and reads s->epoch again:
 * a section that began before the tracer's next "epoch, stop us, go" and
 * still runs after it was not aborted when the thread was stopped, which
 * the kernel does after any preemption, so it counts in s->violations
 * instead of committing.  An abort counts in s->aborts.  rseq_usable():
 * glibc registered an area for this thread (its tunable and the kernel
 * allow it) and the architecture has a section here.
 */
#ifndef MEMBIND_TESTS_REMOTE_RSEQSPIN_H
#define MEMBIND_TESTS_REMOTE_RSEQSPIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/rseq.h>

struct rseq_shared {
	volatile uint64_t epoch, go;
	volatile uint64_t commits, violations, aborts;
};

static inline struct rseq *rseq_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() +
			       __rseq_offset);
}

#if defined(__x86_64__) || defined(__aarch64__)

static inline bool rseq_usable(void)
{
	return __rseq_size > 0;
}

static void rseq_round(struct rseq_shared *s)
{
	struct rseq *rs = rseq_area();

#if defined(__x86_64__)
	__asm__ volatile(".pushsection .data.rel.local.membind_rseq, \"aw\"\n"
			 ".balign 32\n"
			 "3: .long 0, 0\n"
			 ".quad 1f, (2f - 1f), 4f\n"
			 ".popsection\n"
			 "lea 3b(%%rip), %%rax\n"
			 "mov %%rax, 8(%[rs])\n"
			 "1: mov (%[epoch]), %%rcx\n"
			 "5: cmp (%[go]), %%rcx\n"
			 "jae 5b\n"
			 "cmp (%[epoch]), %%rcx\n"
			 "jne 6f\n"
			 "incq (%[commits])\n"
			 "2: jmp 9f\n"
			 "6: incq (%[violations])\n"
			 "jmp 9f\n"
			 ".long %c[sig]\n"
			 "4: incq (%[aborts])\n"
			 "9:\n"
			 :
			 : [rs] "r"(rs), [epoch] "r"(&s->epoch),
			   [go] "r"(&s->go), [commits] "r"(&s->commits),
			   [violations] "r"(&s->violations),
			   [aborts] "r"(&s->aborts), [sig] "i"(RSEQ_SIG)
			 : "rax", "rcx", "cc", "memory");
#else
	__asm__ volatile(".pushsection .data.rel.local.membind_rseq, \"aw\"\n"
			 ".balign 32\n"
			 "3: .long 0, 0\n"
			 ".quad 1f, (2f - 1f), 4f\n"
			 ".popsection\n"
			 "adrp x9, 3b\n"
			 "add x9, x9, :lo12:3b\n"
			 "str x9, [%[rs], #8]\n"
			 "1: ldr x10, [%[epoch]]\n"
			 "5: ldr x11, [%[go]]\n"
			 "cmp x11, x10\n"
			 "b.ls 5b\n"
			 "ldr x11, [%[epoch]]\n"
			 "cmp x11, x10\n"
			 "b.ne 6f\n"
			 "ldr x12, [%[commits]]\n"
			 "add x12, x12, #1\n"
			 "str x12, [%[commits]]\n"
			 "2: b 9f\n"
			 "6: ldr x12, [%[violations]]\n"
			 "add x12, x12, #1\n"
			 "str x12, [%[violations]]\n"
			 "b 9f\n"
			 ".long %c[sig]\n"
			 "4: ldr x12, [%[aborts]]\n"
			 "add x12, x12, #1\n"
			 "str x12, [%[aborts]]\n"
			 "9:\n"
			 :
			 : [rs] "r"(rs), [epoch] "r"(&s->epoch),
			   [go] "r"(&s->go), [commits] "r"(&s->commits),
			   [violations] "r"(&s->violations),
			   [aborts] "r"(&s->aborts), [sig] "i"(RSEQ_SIG)
			 : "x9", "x10", "x11", "x12", "cc", "memory");
#endif
}

#else

static inline bool rseq_usable(void)
{
	return false;
}

static inline void rseq_round(struct rseq_shared *s)
{
	(void)s;
}

#endif
#endif
