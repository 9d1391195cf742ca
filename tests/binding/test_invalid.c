/* SPDX-License-Identifier: MIT */
/*
 * Description: every invalid input of docs/api.md gets its errno and leaves the old
 * binding in force: mask bits beyond memblk_count(), an empty mask where one
 * is needed, a mask for DEFAULT, unknown scheme and flag bits, MEMBIND_THREAD
 * with another pid, STRIPE and STRICT at process scope, bad stripe sizes,
 * NULL pointers, len 0 or absurd, no such process, not permitted, bad
 * ranges, and a too small len for mem_getbinding (nothing written).
 */
#include <sys/wait.h>

#include "bindtest.h"

static int nm;
static unsigned long old_mask[BT_MAX / 64 + 1];

/* The binding must still be HARD on old_mask. */
static void unchanged(const char *what)
{
	unsigned long m[BT_MAX / 64 + 1] = {0}, b = 0;

	if (mem_getbinding(0, (unsigned)nm, m, &b) != nm || b != MEMBIND_HARD ||
	    m[0] != old_mask[0]) {
		fprintf(stderr, "%s: binding changed to %#lx %#lx\n", what, b,
			m[0]);
		t_failures++;
	}
	t_checks++;
}

#define EXPECT(call, err)                                                      \
	do {                                                                   \
		CHECK_EQ(call, err);                                           \
		unchanged(#call);                                              \
	} while (0)

int main(void)
{
	unsigned long m[BT_MAX / 64 + 2] = {0}, none[BT_MAX / 64 + 2] = {0};
	unsigned long big[128] = {0}, b;
	char *p;
	pid_t child;
	int st;

	nm = memblk_count();
	if (nm < 1 || nm >= BT_MAX)
		return T_SKIP;
	bt_mask(old_mask, 0);
	CHECK_EQ(mem_setbinding(0, (unsigned)nm, old_mask, MEMBIND_HARD), 0);

	bt_mask(m, nm); /* one past the last memblk */
	EXPECT(mem_setbinding(0, (unsigned)nm + 1, m, MEMBIND_HARD), -EINVAL);
	big[100] = 1;
	EXPECT(mem_setbinding(0, 128 * 64, big, MEMBIND_HARD), -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, none, MEMBIND_HARD), -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, none, MEMBIND_SOFT), -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, none, MEMBIND_ROUND_ROBIN),
	       -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, none, MEMBIND_WEIGHTED), -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, old_mask, MEMBIND_DEFAULT),
	       -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, old_mask, 7), -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, old_mask, 0xff), -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, old_mask,
			      MEMBIND_HARD | (1UL << 13)), -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, old_mask,
			      MEMBIND_HARD | (1UL << 40)), -EINVAL);
	EXPECT(mem_setbinding(1, (unsigned)nm, old_mask,
			      MEMBIND_HARD | MEMBIND_THREAD), -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, old_mask, MEMBIND_STRIPE),
	       -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, old_mask,
			      MEMBIND_HARD | MEMBIND_STRICT), -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, old_mask,
			      MEMBIND_HARD | MEMBIND_STRIPE_SIZE(21)), -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, old_mask,
			      MEMBIND_SOFT | MEMBIND_BALANCING), -EINVAL);
	EXPECT(mem_setbinding(0, (unsigned)nm, NULL, MEMBIND_HARD), -EINVAL);
	EXPECT(mem_setbinding(0, 0, old_mask, MEMBIND_HARD), -EINVAL);
	EXPECT(mem_setbinding(0, 1u << 30, old_mask, MEMBIND_HARD), -EINVAL);
	EXPECT(mem_setbinding(-5, (unsigned)nm, old_mask, MEMBIND_HARD),
	       -EINVAL);
	EXPECT(mem_setbinding(0x3ffffff0, (unsigned)nm, old_mask, MEMBIND_HARD),
	       -ESRCH);

	/* Not permitted: an unprivileged process may not bind init. */
	child = fork();
	if (child == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(77);
		_exit(mem_setbinding(1, (unsigned)nm, old_mask, MEMBIND_HARD) ==
		      -EPERM ? 0 : 1);
	}
	waitpid(child, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		printf("note: cannot drop privileges; -EPERM not checked\n");
	else
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* mem_getbinding: len too small writes nothing. */
	if (nm > 1) {
		m[0] = 0x5a5a;
		b = 0x77;
		CHECK_EQ(mem_getbinding(0, (unsigned)nm - 1, m, &b), -EINVAL);
		CHECK_EQ(m[0], 0x5a5a);
		CHECK_EQ(b, 0x77);
	}
	CHECK_EQ(mem_getbinding(0, (unsigned)nm, NULL, &b), -EINVAL);
	CHECK_EQ(mem_getbinding(0, (unsigned)nm, m, NULL), -EINVAL);
	CHECK_EQ(mem_getbinding(0, 0, m, &b), -EINVAL);

	/* Ranges. */
	p = bt_map(1 << 20);
	EXPECT(mem_setbinding_range(p + 1, 4096, (unsigned)nm, old_mask,
				    MEMBIND_HARD), -EINVAL);
	EXPECT(mem_setbinding_range(p, 0, (unsigned)nm, old_mask, MEMBIND_HARD),
	       -EINVAL);
	EXPECT(mem_setbinding_range(NULL, 4096, (unsigned)nm, old_mask,
				    MEMBIND_HARD), -EINVAL);
	EXPECT(mem_setbinding_range(p, 4096, (unsigned)nm, old_mask,
				    MEMBIND_HARD | MEMBIND_THREAD), -EINVAL);
	EXPECT(mem_setbinding_range(p, 1 << 20, (unsigned)nm, old_mask,
				    MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(11)),
	       -EINVAL);
	EXPECT(mem_setbinding_range(p, 1 << 20, (unsigned)nm, old_mask,
				    MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(31)),
	       -EINVAL);
	/* The range still follows the process binding. */
	b = 0;
	CHECK_EQ(mem_getbinding_range(p, (unsigned)nm, m, &b), nm);
	CHECK_EQ(b, MEMBIND_DEFAULT);
	bt_unmap(p, 1 << 20);
	return t_finish("test_invalid");
}
