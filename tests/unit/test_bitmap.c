/* SPDX-License-Identifier: MIT */
/*
 * Description: the kernel list syntax (mb_parse_list, mb_format_list) and
 * the bit helpers (mb_weight, mb_next, mb_last, the stripe iterator):
 * exact values, round trips
 * over masks wider than one word, ranges spanning words, malformed text
 * ("1-", "-1", "3-1", "1,,2", "1 2", ...), huge numbers, and the promise
 * that a failed parse leaves the mask untouched.
 */
#include <stdint.h>

#include "internal.h"
#include "testutil.h"

#define NB 200 /* bits: more than three words */
#define NW MB_LONGS(NB)

static int parse(const char *s, unsigned long *m, unsigned int nbits)
{
	return mb_parse_list(s, strlen(s), m, nbits, NULL);
}

/* Parse s and compare with the bits listed in want (terminated by -1). */
static void expect_bits(const char *s, const int *want)
{
	unsigned long m[NW], ref[NW] = {0};
	int n = 0;

	memset(m, 0x5a, sizeof(m));
	for (; want[n] >= 0; n++)
		mb_set(ref, (unsigned)want[n]);
	CHECK_EQ(parse(s, m, NB), n);
	for (unsigned int i = 0; i < NB; i++)
		if (mb_test(m, i) != mb_test(ref, i)) {
			fprintf(stderr, "  \"%s\": bit %u wrong\n", s, i);
			CHECK(!"bit mismatch");
			break;
		}
}

static void expect_error(const char *s, int err)
{
	unsigned long m[NW];
	unsigned int maxbit = 12345;

	memset(m, 0xa5, sizeof(m));
	if (parse(s, m, NB) != err) {
		fprintf(stderr, "  \"%s\": got %d, want %d\n", s,
			parse(s, m, NB), err);
		CHECK(!"wrong error");
	}
	/* Nothing written on failure. */
	for (unsigned int i = 0; i < NW; i++)
		CHECK(m[i] == (unsigned long)0xa5a5a5a5a5a5a5a5ULL);
	/* The checking form agrees. */
	CHECK_EQ(mb_parse_list(s, strlen(s), NULL, NB, &maxbit), err);
	CHECK_EQ(maxbit, 12345);
}

static void test_parse_good(void)
{
	expect_bits("", (const int[]){-1});
	expect_bits("\n", (const int[]){-1});
	expect_bits("   \t\n", (const int[]){-1});
	expect_bits("0", (const int[]){0, -1});
	expect_bits("0\n", (const int[]){0, -1});
	expect_bits(" 5 \n", (const int[]){5, -1});
	expect_bits("0-3,8,10-11\n", (const int[]){0, 1, 2, 3, 8, 10, 11, -1});
	expect_bits("3-3", (const int[]){3, -1});
	expect_bits("11,10,0", (const int[]){0, 10, 11, -1});
	/* Overlaps count once. */
	expect_bits("0-3,2-5", (const int[]){0, 1, 2, 3, 4, 5, -1});
	expect_bits("1,1,1", (const int[]){1, -1});
	/* Word boundaries. */
	expect_bits("63", (const int[]){63, -1});
	expect_bits("64", (const int[]){64, -1});
	expect_bits("63-64", (const int[]){63, 64, -1});
	expect_bits("62-66,127-128",
		    (const int[]){62, 63, 64, 65, 66, 127, 128, -1});
	expect_bits("199", (const int[]){199, -1});
	expect_bits("0,199", (const int[]){0, 199, -1});
	{
		int all[NB + 1];

		for (int i = 0; i < NB; i++)
			all[i] = i;
		all[NB] = -1;
		expect_bits("0-199", all);
		expect_bits("0-99,100-199", all);
	}
	/* Leading zeros are still decimal. */
	expect_bits("010", (const int[]){10, -1});

	/* Only len bytes count: the text need not be NUL-terminated. */
	{
		unsigned long m[NW];

		CHECK_EQ(mb_parse_list("1-2,9", 3, m, NB, NULL), 2);
		CHECK(mb_test(m, 1) && mb_test(m, 2) && !mb_test(m, 9));
	}
	/* maxbit and the count from the checking form. */
	{
		unsigned int maxbit = 0;

		CHECK_EQ(mb_parse_list("3,70-71", 7, NULL, NB, &maxbit), 3);
		CHECK_EQ(maxbit, 72);
		CHECK_EQ(mb_parse_list("", 0, NULL, NB, &maxbit), 0);
		CHECK_EQ(maxbit, 0);
	}
	/* Exactly at the limit, and one past it. */
	{
		unsigned long m[1];

		CHECK_EQ(mb_parse_list("0-63", 4, m, 64, NULL), 64);
		CHECK(m[0] == ~0UL);
		CHECK_EQ(parse("0-63", m, 64), 64);
		CHECK_EQ(parse("64", m, 64), -ERANGE);
		CHECK_EQ(parse("0-64", m, 64), -ERANGE);
		CHECK_EQ(parse("5", m, 5), -ERANGE);
		CHECK_EQ(parse("4", m, 5), 1);
		CHECK(m[0] == 1UL << 4);
		CHECK_EQ(parse("", m, 0), 0);
		CHECK_EQ(parse("0", m, 0), -ERANGE);
	}
}

static void test_parse_bad(void)
{
	static const char *const bad[] = {
		"1-", "-1", "3-1", "1,,2", "1 2", ",", ",1", "1,", "1,\n",
		"1-2-3", "1--2", "a", "1a", "0x1", "+1", " - ", "1 ,2", "1, 2",
		"1.5", "1;2", "\n1\n2", "1\n,2", "١",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i], -EINVAL);
	/* An embedded NUL inside len is not a terminator. */
	{
		unsigned long m[NW];

		memset(m, 0, sizeof(m));
		CHECK_EQ(mb_parse_list("1\0002", 3, m, NB, NULL), -EINVAL);
	}
	/* Out of range, and huge numbers that must not wrap around. */
	expect_error("200", -ERANGE);
	expect_error("0,200", -ERANGE);
	expect_error("199-200", -ERANGE);
	expect_error("0-4294967296", -ERANGE);
	expect_error("4294967296", -ERANGE);
	expect_error("18446744073709551616", -ERANGE);
	expect_error("18446744073709551617", -ERANGE);
	expect_error("99999999999999999999999999999999", -ERANGE);
	expect_error("1-99999999999999999999999999999999", -ERANGE);
	/* Syntax is checked even after an out-of-range number is seen? The
	 * first error found wins; both are errors, and the mask is kept. */
	{
		unsigned long m[NW];

		memset(m, 0x11, sizeof(m));
		CHECK(parse("300,,", m, NB) < 0);
		CHECK(m[0] == (unsigned long)0x1111111111111111ULL);
	}
}

static void test_format(void)
{
	unsigned long m[NW] = {0};
	char buf[256];

	CHECK_EQ(mb_format_list(m, NB, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	mb_set(m, 0);
	CHECK_EQ(mb_format_list(m, NB, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "0");
	mb_set(m, 1);
	mb_set(m, 2);
	mb_set(m, 3);
	mb_set(m, 8);
	mb_set(m, 10);
	mb_set(m, 11);
	CHECK_EQ(mb_format_list(m, NB, buf, sizeof(buf)), 11);
	CHECK_STR(buf, "0-3,8,10-11");
	memset(m, 0, sizeof(m));
	for (unsigned int i = 60; i <= 130; i++)
		mb_set(m, i);
	mb_set(m, 199);
	CHECK_EQ(mb_format_list(m, NB, buf, sizeof(buf)), 10);
	CHECK_STR(buf, "60-130,199");
	/* Bits at or beyond nbits are not printed. */
	CHECK_EQ(mb_format_list(m, 199, buf, sizeof(buf)), 6);
	CHECK_STR(buf, "60-130");
	CHECK_EQ(mb_format_list(m, 100, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "60-99");
	memset(m, 0xff, sizeof(m));
	CHECK_EQ(mb_format_list(m, NB, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "0-199");
	CHECK_EQ(mb_format_list(m, 1, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "0");
	CHECK_EQ(mb_format_list(m, 0, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");

	/* snprintf contract: the full length, a NUL-terminated prefix. */
	memset(m, 0, sizeof(m));
	mb_set(m, 1);
	mb_set(m, 3);
	mb_set(m, 100);
	mb_set(m, 101); /* "1,3,100-101": 11 chars */
	CHECK_EQ(mb_format_list(m, NB, NULL, 0), 11);
	for (size_t size = 1; size <= 12; size++) {
		char small[16];

		memset(small, 'X', sizeof(small));
		CHECK_EQ(mb_format_list(m, NB, small, size), 11);
		CHECK(memchr(small, '\0', size) != NULL);
		CHECK(strlen(small) < size);
		CHECK(!strncmp(small, "1,3,100-101", strlen(small)));
		CHECK(small[size] == 'X'); /* nothing past size */
		if (size == 12)
			CHECK_STR(small, "1,3,100-101");
	}
}

/* xorshift: the same "random" masks on every run. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void test_round_trip(void)
{
	for (int iter = 0; iter < 2000; iter++) {
		unsigned long m[NW] = {0}, back[NW];
		unsigned int nbits = 1 + (unsigned)(rnd() % NB);
		unsigned int want = 0, last = 0;
		char buf[1024];
		int len;

		/* Runs of set and clear bits of random length. */
		for (unsigned int i = 0; i < nbits;) {
			unsigned int run = 1 + (unsigned)(rnd() % 9);
			bool set = rnd() & 1;

			for (; run && i < nbits; run--, i++)
				if (set) {
					mb_set(m, i);
					want++;
					last = i + 1;
				}
		}
		CHECK_EQ(mb_weight(m, nbits), want);
		CHECK_EQ(mb_last(m, nbits), last);
		len = mb_format_list(m, nbits, buf, sizeof(buf));
		CHECK(len >= 0 && (size_t)len == strlen(buf));
		CHECK_EQ(mb_parse_list(buf, (size_t)len, back, nbits, NULL),
			 want);
		if (memcmp(m, back, MB_LONGS(nbits) * sizeof(long))) {
			fprintf(stderr, "  round trip of \"%s\" differs\n", buf);
			CHECK(!"round trip");
			break;
		}
	}
}

static void test_helpers(void)
{
	unsigned long m[NW];

	memset(m, 0, sizeof(m));
	CHECK_EQ(mb_weight(m, NB), 0);
	CHECK_EQ(mb_next(m, NB, 0), NB);
	CHECK_EQ(mb_last(m, NB), 0);
	mb_set(m, 5);
	mb_set(m, 64);
	mb_set(m, 130);
	CHECK_EQ(mb_weight(m, NB), 3);
	CHECK_EQ(mb_next(m, NB, 0), 5);
	CHECK_EQ(mb_next(m, NB, 5), 5);
	CHECK_EQ(mb_next(m, NB, 6), 64);
	CHECK_EQ(mb_next(m, NB, 65), 130);
	CHECK_EQ(mb_next(m, NB, 131), NB);
	CHECK_EQ(mb_next(m, NB, 500), NB);
	CHECK_EQ(mb_last(m, NB), 131);
	/* Bits beyond nbits are ignored by all three. */
	CHECK_EQ(mb_weight(m, 130), 2);
	CHECK_EQ(mb_weight(m, 65), 2);
	CHECK_EQ(mb_weight(m, 64), 1);
	CHECK_EQ(mb_next(m, 100, 65), 100);
	CHECK_EQ(mb_last(m, 100), 65);
	mb_clear(m, 64);
	CHECK(!mb_test(m, 64));
	CHECK_EQ(mb_weight(m, NB), 2);
	memset(m, 0xff, sizeof(m));
	CHECK_EQ(mb_weight(m, NB), NB);
	CHECK_EQ(mb_weight(m, 1), 1);
	CHECK_EQ(mb_last(m, 70), 70);
	CHECK_EQ(mb_next(m, 70, 69), 69);
}

/* Stripe i goes to the (i mod n)-th set bit, from any starting stripe,
 * across words; an empty mask gives len. */
static void test_stripes(void)
{
	static const unsigned int bits[] = { 1, 3, 64, 130 };
	unsigned long m[NW] = {0};
	struct mb_stripe_iter it;
	unsigned int got;

	for (size_t i = 0; i < 4; i++)
		mb_set(m, bits[i]);
	for (unsigned long start = 0; start < 10; start++) {
		got = mb_stripe_start(&it, m, NB, start);
		CHECK_EQ(got, bits[start % 4]);
		for (unsigned long i = start + 1; i < start + 9; i++) {
			got = mb_stripe_next(&it);
			CHECK_EQ(got, bits[i % 4]);
		}
	}
	CHECK_EQ(mb_stripe_start(&it, m, NB, 4UL * 1000000 + 2), 64);
	memset(m, 0, sizeof(m));
	mb_set(m, 7);
	CHECK_EQ(mb_stripe_start(&it, m, NB, 5), 7);
	CHECK_EQ(mb_stripe_next(&it), 7);
	memset(m, 0, sizeof(m));
	CHECK_EQ(mb_stripe_start(&it, m, NB, 3), NB);
	CHECK_EQ(mb_stripe_next(&it), NB);
}

int main(void)
{
	test_parse_good();
	test_parse_bad();
	test_format();
	test_round_trip();
	test_helpers();
	test_stripes();
	return t_finish("test_bitmap");
}
