/* SPDX-License-Identifier: MIT */
/*
 * Description: memblk_list_parse and memblk_list_format through the public
 * API, against a small tree with sparse nodes (0,2,5,7), a memoryless node
 * (5) and a memory-only node (7): ids, ranges, "all", "!", node lists,
 * malformed text, unknown memblks and nodes, a too small len, and masks
 * left untouched on failure.  Also the scheme names.
 */
#include "membind.h"
#include "testutil.h"

#define W 3 /* words in the test masks: 192 bits */
#define SENT ((unsigned long)0xa5a5a5a5a5a5a5a5ULL)

/* memblks of the standard tree: 0 = node 0, 1 = node 2, 2 = node 7. */
static void ok(const char *text, unsigned long want0)
{
	unsigned long m[W] = {SENT, SENT, SENT};
	int ret = memblk_list_parse(text, 192, m);

	if (ret != __builtin_popcountl(want0) || m[0] != want0 || m[1] ||
	    m[2]) {
		fprintf(stderr, "  \"%s\": got %d mask %#lx, want %#lx\n", text,
			ret, m[0], want0);
		CHECK(!"memblk_list_parse");
	} else {
		CHECK(1);
	}
}

static void bad(const char *text, unsigned int len, int err)
{
	unsigned long m[W] = {SENT, SENT, SENT};
	int ret = memblk_list_parse(text, len, m);

	if (ret != err)
		fprintf(stderr, "  \"%s\" (len %u): got %d, want %d\n",
			text ? text : "(null)", len, ret, err);
	CHECK(ret == err);
	CHECK(m[0] == SENT && m[1] == SENT && m[2] == SENT);
}

static void test_parse(void)
{
	ok("0", 0x1);
	ok("2", 0x4);
	ok("0-2", 0x7);
	ok("0,2", 0x5);
	ok("2,0", 0x5);
	ok("1-1", 0x2);
	ok("0-1,1-2", 0x7);
	ok("all", 0x7);
	ok("!all", 0x0);
	ok("!1", 0x5);
	ok("!0-1", 0x4);
	ok("!0-2", 0x0);
	ok("n0", 0x1);
	ok("n2", 0x2);
	ok("n7", 0x4);
	ok("n0,n2", 0x3);
	ok("n0,n7", 0x5);
	ok("n2,1", 0x2);
	ok("n0,2", 0x5);
	ok("!n2", 0x5);
	ok("n7,n0,n2", 0x7);

	bad("", 192, -EINVAL);
	bad("!", 192, -EINVAL);
	bad("1-", 192, -EINVAL);
	bad("-1", 192, -EINVAL);
	bad("2-1", 192, -EINVAL);
	bad("1,,2", 192, -EINVAL);
	bad("1 2", 192, -EINVAL);
	bad(" 1", 192, -EINVAL);
	bad("1\n", 192, -EINVAL);
	bad(",", 192, -EINVAL);
	bad(",1", 192, -EINVAL);
	bad("1,", 192, -EINVAL);
	bad("x", 192, -EINVAL);
	bad("0x1", 192, -EINVAL);
	bad("n", 192, -EINVAL);
	bad("n,", 192, -EINVAL);
	bad("n-1", 192, -EINVAL);
	bad("nn0", 192, -EINVAL);
	bad("N0", 192, -EINVAL);
	bad("!!1", 192, -EINVAL);
	bad("all,1", 192, -EINVAL);
	bad("1,all", 192, -EINVAL);
	bad("ALL", 192, -EINVAL);
	bad("all ", 192, -EINVAL);
	bad("1!", 192, -EINVAL);

	/* memblks and nodes that do not exist. */
	bad("3", 192, -ENOENT);
	bad("0-3", 192, -ENOENT);
	bad("0,3", 192, -ENOENT);
	bad("4095", 192, -ENOENT);
	bad("4096", 192, -ENOENT);
	bad("99999999999999999999", 192, -ENOENT);
	bad("0-99999999999999999999", 192, -ENOENT);
	bad("!3", 192, -ENOENT);
	bad("n1", 192, -ENOENT);  /* offline */
	bad("n5", 192, -ENOENT);  /* online, no memory */
	bad("n8", 192, -ENOENT);  /* beyond possible */
	bad("n0-2", 192, -ENOENT); /* includes offline node 1 */
	bad("n4096", 192, -ENOENT);
	bad("n99999999999999999999", 192, -ENOENT);

	/* len: too small for the result, zero, absurd; NULL pointers. */
	bad("2", 2, -ERANGE);
	bad("all", 2, -ERANGE);
	bad("0", 0, -EINVAL);
	bad("0", MEMBIND_MAX_BITS + 1, -EINVAL);
	bad(NULL, 192, -EINVAL);
	CHECK_EQ(memblk_list_parse("0", 192, NULL), -EINVAL);

	/* Exactly enough bits; only MEMBIND_MASK_LONGS(len) words written. */
	{
		unsigned long m[W] = {SENT, SENT, SENT};

		CHECK_EQ(memblk_list_parse("all", 3, m), 3);
		CHECK(m[0] == 0x7 && m[1] == SENT && m[2] == SENT);
		m[0] = SENT;
		CHECK_EQ(memblk_list_parse("0", 1, m), 1);
		CHECK(m[0] == 0x1 && m[1] == SENT);
		CHECK_EQ(memblk_list_parse("0", 65, m), 1);
		CHECK(m[0] == 0x1 && m[1] == 0 && m[2] == SENT);
	}
	{
		unsigned long big[MEMBIND_MASK_LONGS(MEMBIND_MAX_BITS) + 1];

		memset(big, 0xa5, sizeof(big));
		CHECK_EQ(memblk_list_parse("!all", MEMBIND_MAX_BITS, big), 0);
		CHECK_EQ(memblk_list_parse("all", MEMBIND_MAX_BITS, big), 3);
		CHECK(big[0] == 0x7 && big[1] == 0);
		CHECK(big[MEMBIND_MASK_LONGS(MEMBIND_MAX_BITS) - 1] == 0);
		CHECK(big[MEMBIND_MASK_LONGS(MEMBIND_MAX_BITS)] == SENT);
	}
}

static void test_format(void)
{
	unsigned long m[W] = {0};
	char buf[64];

	CHECK_EQ(memblk_list_format(192, m, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	m[0] = 0x7;
	CHECK_EQ(memblk_list_format(192, m, buf, sizeof(buf)), 3);
	CHECK_STR(buf, "0-2");
	m[0] = 0x5;
	CHECK_EQ(memblk_list_format(192, m, buf, sizeof(buf)), 3);
	CHECK_STR(buf, "0,2");
	m[0] = 1UL << 63;
	m[1] = 0x3;
	m[2] = 1UL << 63;
	CHECK_EQ(memblk_list_format(192, m, buf, sizeof(buf)), 9);
	CHECK_STR(buf, "63-65,191");
	CHECK_EQ(memblk_list_format(191, m, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "63-65");
	CHECK_EQ(memblk_list_format(192, m, NULL, 0), 9);
	memset(buf, 'X', sizeof(buf));
	CHECK_EQ(memblk_list_format(192, m, buf, 4), 9);
	CHECK(strlen(buf) < 4 && !strncmp("63-65,191", buf, strlen(buf)));
	CHECK(buf[4] == 'X');

	CHECK_EQ(memblk_list_format(192, NULL, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(memblk_list_format(192, m, NULL, 10), -EINVAL);
	CHECK_EQ(memblk_list_format(MEMBIND_MAX_BITS + 1, m, buf, sizeof(buf)),
		 -EINVAL);

	/* parse(format(x)) == x for every subset of the three memblks. */
	for (unsigned long x = 0; x < 8; x++) {
		unsigned long in[1] = {x}, out[1] = {SENT};
		int len = memblk_list_format(3, in, buf, sizeof(buf));

		CHECK(len >= 0 && (size_t)len == strlen(buf));
		if (x == 0) {
			/* The empty text is not a list; "!all" is. */
			CHECK_EQ(memblk_list_parse(buf, 3, out), -EINVAL);
			continue;
		}
		CHECK_EQ(memblk_list_parse(buf, 3, out),
			 __builtin_popcountl(x));
		CHECK(out[0] == x);
	}
}

static void test_schemes(void)
{
	static const char *const names[] = {"default",     "hard",
					    "soft",        "round-robin",
					    "stripe",      "first-touch",
					    "weighted"};
	unsigned long b;

	for (unsigned long s = 0; s < 7; s++) {
		CHECK(membind_scheme_name(s) != NULL);
		if (!membind_scheme_name(s))
			continue;
		CHECK_STR(membind_scheme_name(s), names[s]);
		/* Flags do not change the name. */
		CHECK_STR(membind_scheme_name(s | MEMBIND_MOVE |
					      MEMBIND_STRIPE_SIZE(21)),
			  names[s]);
		b = 99;
		CHECK_EQ(membind_scheme_parse(names[s], &b), 0);
		CHECK_EQ(b, s);
	}
	CHECK_EQ(MEMBIND_HARD, 1);
	CHECK_EQ(MEMBIND_WEIGHTED, 6);
	CHECK(membind_scheme_name(7) == NULL);
	CHECK(membind_scheme_name(0xff) == NULL);
	b = 99;
	CHECK_EQ(membind_scheme_parse("Hard", &b), -EINVAL);
	CHECK_EQ(membind_scheme_parse("", &b), -EINVAL);
	CHECK_EQ(membind_scheme_parse("hard ", &b), -EINVAL);
	CHECK_EQ(b, 99);
	CHECK_EQ(membind_scheme_parse(NULL, &b), -EINVAL);
	CHECK_EQ(membind_scheme_parse("hard", NULL), -EINVAL);
}

int main(void)
{
	char root[4096];
	int ret;

	t_tmpdir(root, sizeof(root));
	t_std_tree(root);
	setenv("MEMBIND_SYSFS_ROOT", root, 1);
	ret = memblk_count();
	if (ret != 3) {
		fprintf(stderr, "memblk_count() = %d on the test tree\n", ret);
		t_rmtree(root);
		return T_FAIL;
	}
	test_parse();
	test_format();
	test_schemes();
	t_rmtree(root);
	return t_finish("test_list");
}
