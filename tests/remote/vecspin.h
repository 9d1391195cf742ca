/* SPDX-License-Identifier: MIT */
/*
 * vec_spin(kind, iters): run iters rounds of a loop that keeps values in
 * the widest vector registers the CPU has (and, for arm64's SVE, in a
 * predicate register) and checks them each round against a copy in
 * memory.  Returns how many rounds found them changed: a thread that a
 * remote call stops and resumes anywhere in that loop must see 0.
 * vec_kinds(): the kinds this CPU runs, as VEC_* bits.
 */
#ifndef MEMBIND_TESTS_REMOTE_VECSPIN_H
#define MEMBIND_TESTS_REMOTE_VECSPIN_H

#include <stdint.h>
#include <sys/auxv.h>

enum {
	VEC_BASE = 1,	   /* x86-64: xmm (SSE2); arm64: v (Advanced SIMD) */
	VEC_WIDE = 2,	   /* x86-64: ymm (AVX); arm64: z and p (SVE) */
	VEC_STREAMING = 4, /* arm64: streaming SVE (SME), in streaming mode */
};

#if defined(__x86_64__)

static inline unsigned int vec_kinds(void)
{
	__builtin_cpu_init();
	return VEC_BASE | (__builtin_cpu_supports("avx") ? VEC_WIDE : 0);
}

static long vec_spin_base(long n)
{
	static const uint64_t ref[2] = { 0x0123456789abcdefULL,
					 0xfedcba9876543210ULL };
	long bad = 0;

	__asm__ volatile("movdqu (%[ref]), %%xmm9\n"
			 "1:\n"
			 "movdqu (%[ref]), %%xmm10\n"
			 "pcmpeqb %%xmm9, %%xmm10\n"
			 "pmovmskb %%xmm10, %%eax\n"
			 "xor %%ecx, %%ecx\n"
			 "cmp $0xffff, %%eax\n"
			 "setne %%cl\n"
			 "add %%rcx, %[bad]\n"
			 "dec %[n]\n"
			 "jnz 1b\n"
			 : [bad] "+&r"(bad), [n] "+r"(n)
			 : [ref] "r"(ref)
			 : "rax", "rcx", "xmm9", "xmm10", "cc", "memory");
	return bad;
}

__attribute__((target("avx"))) static long vec_spin_wide(long n)
{
	static const uint64_t ref[4] = { 0x0123456789abcdefULL,
					 0xfedcba9876543210ULL,
					 0x1111222233334444ULL,
					 0x5555666677778888ULL };
	long bad = 0;

	__asm__ volatile("vmovdqu (%[ref]), %%ymm9\n"
			 "1:\n"
			 "vxorps (%[ref]), %%ymm9, %%ymm10\n"
			 "xor %%ecx, %%ecx\n"
			 "vptest %%ymm10, %%ymm10\n"
			 "setnz %%cl\n"
			 "add %%rcx, %[bad]\n"
			 "dec %[n]\n"
			 "jnz 1b\n"
			 "vzeroupper\n"
			 : [bad] "+&r"(bad), [n] "+r"(n)
			 : [ref] "r"(ref)
			 : "rcx", "xmm9", "xmm10", "cc", "memory");
	return bad;
}

static inline long vec_spin(unsigned int kind, long n)
{
	return kind == VEC_WIDE ? vec_spin_wide(n) : vec_spin_base(n);
}

#elif defined(__aarch64__)

#ifndef HWCAP_SVE
#define HWCAP_SVE (1UL << 22)
#endif
#ifndef HWCAP2_SME
#define HWCAP2_SME (1UL << 23)
#endif

static inline unsigned int vec_kinds(void)
{
	return VEC_BASE | (getauxval(AT_HWCAP) & HWCAP_SVE ? VEC_WIDE : 0) |
	       (getauxval(AT_HWCAP2) & HWCAP2_SME ? VEC_STREAMING : 0);
}

static long vec_spin_base(long n)
{
	static const uint64_t ref[2] = { 0x0123456789abcdefULL,
					 0xfedcba9876543210ULL };
	long bad = 0;

	__asm__ volatile("ldr q9, [%[ref]]\n"
			 "1:\n"
			 "ldr q10, [%[ref]]\n"
			 "cmeq v10.2d, v10.2d, v9.2d\n"
			 "uminv b10, v10.16b\n"
			 "umov w9, v10.b[0]\n"
			 "cmp w9, #0xff\n"
			 "cinc %[bad], %[bad], ne\n"
			 "subs %[n], %[n], #1\n"
			 "b.ne 1b\n"
			 : [bad] "+&r"(bad), [n] "+r"(n)
			 : [ref] "r"(ref)
			 : "x9", "v9", "v10", "cc", "memory");
	return bad;
}

/*
 * z9 = 1, 2, 3, ... over the whole vector length, p6 = all true: the sum
 * of z9's lanes under p6 is VL(VL+1)/2 for VL 32-bit lanes.  A syscall
 * zeroes p6 (sum 0) and z9's lanes above the first four (sum 10).
 */
#define VEC_SVE_LOOP                                                           \
	"ptrue p6.s\n"                                                         \
	"index z9.s, #1, #1\n"                                                 \
	"cntw x10\n"                                                           \
	"madd x11, x10, x10, x10\n"                                            \
	"lsr x11, x11, #1\n"                                                   \
	"1:\n"                                                                 \
	"uaddv d10, p6, z9.s\n"                                                \
	"fmov x12, d10\n"                                                      \
	"cmp x11, x12\n"                                                       \
	"cinc %[bad], %[bad], ne\n"                                            \
	"subs %[n], %[n], #1\n"                                                \
	"b.ne 1b\n"

static long vec_spin_wide(long n)
{
	long bad = 0;

	__asm__ volatile(".arch_extension sve\n" VEC_SVE_LOOP
			 : [bad] "+&r"(bad), [n] "+r"(n)
			 :
			 : "x10", "x11", "x12", "v9", "v10", "cc", "memory");
	return bad;
}

/* The same in streaming mode: a syscall also ends streaming mode, so the
 * mode is checked too (SVCR.SM, bit 0), each round. */
static long vec_spin_streaming(long n)
{
	long bad = 0;

	__asm__ volatile(".arch_extension sme\n"
			 "smstart sm\n"
			 "ptrue p6.s\n"
			 "index z9.s, #1, #1\n"
			 "cntw x10\n"
			 "madd x11, x10, x10, x10\n"
			 "lsr x11, x11, #1\n"
			 "1:\n"
			 "mrs x13, svcr\n"
			 "tbz x13, #0, 2f\n"
			 "uaddv d10, p6, z9.s\n"
			 "fmov x12, d10\n"
			 "cmp x11, x12\n"
			 "cinc %[bad], %[bad], ne\n"
			 "subs %[n], %[n], #1\n"
			 "b.ne 1b\n"
			 "b 3f\n"
			 "2:\n"
			 "add %[bad], %[bad], #1\n"
			 "3:\n"
			 "smstop sm\n"
			 : [bad] "+&r"(bad), [n] "+r"(n)
			 :
			 : "x10", "x11", "x12", "x13", "v9", "v10", "cc",
			   "memory");
	return bad;
}

static inline long vec_spin(unsigned int kind, long n)
{
	switch (kind) {
	case VEC_WIDE:
		return vec_spin_wide(n);
	case VEC_STREAMING:
		return vec_spin_streaming(n);
	default:
		return vec_spin_base(n);
	}
}

#else

static inline unsigned int vec_kinds(void)
{
	return 0;
}

static inline long vec_spin(unsigned int kind, long n)
{
	(void)kind;
	(void)n;
	return 0;
}

#endif

static inline const char *vec_name(unsigned int kind)
{
#if defined(__x86_64__)
	return kind == VEC_WIDE ? "avx" : kind == VEC_BASE ? "sse" : "sme";
#else
	return kind == VEC_WIDE ? "sve" : kind == VEC_STREAMING ? "sme" : "simd";
#endif
}

#endif
