/* SPDX-License-Identifier: MIT */
/*
 * Description: the sysfs readers and parsers: mb_read_file (contents,
 * -ENOENT, -EFBIG for an oversize file, a file exactly filling the buffer,
 * empty files, -EINVAL for a FIFO), mb_read_file_alloc (files of any size,
 * across its buffer's doublings), mb_parse_u64, mb_parse_meminfo and mb_parse_distances with
 * good, empty, truncated, garbage and huge input.  Outputs must stay
 * untouched on failure.
 */
#include <stdint.h>

#include "internal.h"
#include "testutil.h"

static char root[4096];

static void test_read_file(void)
{
	char buf[64], big[MB_FILE_MAX + 100];
	int ret;

	t_write(root, "a/b/c", "hello\n");
	t_write(root, "empty", "%s", "");
	CHECK_EQ(mb_read_file(root, buf, sizeof(buf), "a/b/%s", "c"), 6);
	CHECK_STR(buf, "hello\n");
	CHECK_EQ(mb_read_file(root, buf, sizeof(buf), "empty"), 0);
	CHECK_STR(buf, "");
	CHECK_EQ(mb_read_file(root, buf, sizeof(buf), "missing"), -ENOENT);
	CHECK_EQ(mb_read_file(root, buf, sizeof(buf), "a/missing/c"),
		 -ENOENT);
	CHECK_EQ(mb_read_file("/nonexistent-membind-root", buf, sizeof(buf),
			      "a/b/c"),
		 -ENOENT);
	CHECK(mb_read_file(root, buf, sizeof(buf), "a/b") < 0); /* a dir */
	CHECK_EQ(mb_read_file(root, buf, 1, "a/b/c"), -EINVAL);
	CHECK_EQ(mb_read_file(root, buf, 0, "a/b/c"), -EINVAL);

	/* Exactly size - 1 bytes fits; one more is -EFBIG. */
	t_write(root, "seven", "1234567");
	memset(buf, 'X', sizeof(buf));
	CHECK_EQ(mb_read_file(root, buf, 8, "seven"), 7);
	CHECK_STR(buf, "1234567");
	CHECK_EQ(mb_read_file(root, buf, 7, "seven"), -EFBIG);
	CHECK_EQ(mb_read_file(root, buf, 6, "seven"), -EFBIG);
	CHECK_EQ(mb_read_file(root, buf, 2, "seven"), -EFBIG);

	/* A file larger than the largest buffer the library uses. */
	memset(big, '7', sizeof(big));
	t_write_n(root, "big", big, sizeof(big));
	CHECK_EQ(mb_read_file(root, big, MB_FILE_MAX, "big"), -EFBIG);
	t_write_n(root, "big", big, MB_FILE_MAX - 1);
	CHECK_EQ(mb_read_file(root, big, MB_FILE_MAX, "big"), MB_FILE_MAX - 1);
	CHECK(big[MB_FILE_MAX - 1] == '\0');

	/* Binary contents come back byte for byte. */
	t_write_n(root, "bin", "a\0b\n", 4);
	CHECK_EQ(mb_read_file(root, buf, sizeof(buf), "bin"), 4);
	CHECK(!memcmp(buf, "a\0b\n", 5));

	/* A path that cannot fit. */
	{
		static char longname[5000];

		memset(longname, 'x', sizeof(longname) - 1);
		ret = mb_read_file(root, buf, sizeof(buf), "%s", longname);
		CHECK_EQ(ret, -ENAMETOOLONG);
	}
}

static void u64_ok(const char *s, uint64_t max, uint64_t want)
{
	uint64_t v = 0xdead;

	CHECK_EQ(mb_parse_u64(s, strlen(s), max, &v), 0);
	if (v != want)
		fprintf(stderr, "  \"%s\": got %llu want %llu\n", s,
			(unsigned long long)v, (unsigned long long)want);
	CHECK(v == want);
}

static void u64_bad(const char *s, uint64_t max, int err)
{
	uint64_t v = 0xdead;
	int ret = mb_parse_u64(s, strlen(s), max, &v);

	if (ret != err)
		fprintf(stderr, "  \"%s\" (max %llu): got %d want %d\n", s,
			(unsigned long long)max, ret, err);
	CHECK(ret == err);
	CHECK(v == 0xdead);
}

/* mb_read_file_alloc: any size, and what mb_read_file refuses. */
static void test_read_file_alloc(void)
{
	static char big[300000];
	char path[8192], *out = NULL;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	/* Around the first buffer (4 KiB) and a doubling, and far beyond
	 * MB_FILE_MAX. */
	static const size_t lens[] = { 0, 1, 4094, 4095, 4096, 8191, 8192,
				       100000, sizeof(big) };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];

		t_write_n(root, "any", big, len);
		snprintf(path, sizeof(path), "%s/any", root);
		out = NULL;
		CHECK_EQ(mb_read_file_alloc(&out, "%s", path), (int)len);
		CHECK(out && !memcmp(out, big, len) && out[len] == '\0');
		free(out);
	}
	out = NULL;
	CHECK_EQ(mb_read_file_alloc(&out, "%s/missing", root), -ENOENT);
	CHECK_EQ(mb_read_file_alloc(&out, "%s/a", root), -EINVAL); /* a dir */
	snprintf(path, sizeof(path), "%s/fifo", root);
	CHECK_EQ(mkfifo(path, 0600), 0);
	CHECK_EQ(mb_read_file_alloc(&out, "%s", path), -EINVAL);
	CHECK_EQ(mb_read_file(root, path, sizeof(path), "fifo"), -EINVAL);
	CHECK(out == NULL);
	/* The file it was made for. */
	CHECK(mb_read_file_alloc(&out, "/proc/self/status") > 0);
	CHECK(out && strstr(out, "\nSigBlk:"));
	free(out);
}

static void test_u64(void)
{
	u64_ok("0", 10, 0);
	u64_ok("42\n", 100, 42);
	u64_ok("  42  \n", 100, 42);
	u64_ok("007", 100, 7);
	u64_ok("255", 255, 255);
	u64_ok("4294967295", UINT32_MAX, UINT32_MAX);
	u64_ok("18446744073709551615", UINT64_MAX, UINT64_MAX);
	u64_ok("5", 5, 5);
	u64_ok("0", 0, 0);

	u64_bad("", 100, -EINVAL);
	u64_bad("\n", 100, -EINVAL);
	u64_bad("   ", 100, -EINVAL);
	u64_bad("-1", 100, -EINVAL);
	u64_bad("+1", 100, -EINVAL);
	u64_bad("1 2", 100, -EINVAL);
	u64_bad("12abc", 100, -EINVAL);
	u64_bad("abc", 100, -EINVAL);
	u64_bad("0x10", 100, -EINVAL);
	u64_bad("1.0", 100, -EINVAL);
	u64_bad("1,", 100, -EINVAL);
	u64_bad("256", 255, -ERANGE);
	u64_bad("1000", 255, -ERANGE);
	u64_bad("4294967296", UINT32_MAX, -ERANGE);
	u64_bad("18446744073709551616", UINT64_MAX, -ERANGE);
	u64_bad("18446744073709551620", UINT64_MAX, -ERANGE);
	u64_bad("99999999999999999999999999", UINT64_MAX, -ERANGE);
	/* A maximum below 9: a single digit above it must not slip through. */
	u64_bad("6", 5, -ERANGE);
	u64_bad("9", 0, -ERANGE);
	u64_bad("1", 0, -ERANGE);
	u64_bad("10", 5, -ERANGE);
	/* Only len bytes are read. */
	{
		uint64_t v = 0;

		CHECK_EQ(mb_parse_u64("12345", 2, 100, &v), 0);
		CHECK_EQ(v, 12);
		CHECK_EQ(mb_parse_u64("1\0002", 3, 100, &v), -EINVAL);
		CHECK_EQ(mb_parse_u64("9", 0, 100, &v), -EINVAL);
	}
}

#define MI(n, total, free)                                                     \
	"Node " #n " MemTotal:       " #total " kB\n"                          \
	"Node " #n " MemFree:        " #free " kB\n"                           \
	"Node " #n " MemUsed:        1 kB\n"

static void mi_ok(const char *s, uint64_t total, uint64_t free)
{
	uint64_t t = 1, f = 1;

	CHECK_EQ(mb_parse_meminfo(s, strlen(s), &t, &f), 0);
	CHECK(t == total);
	CHECK(f == free);
}

static void mi_bad(const char *s)
{
	uint64_t t = 77, f = 77;
	int ret = mb_parse_meminfo(s, strlen(s), &t, &f);

	if (ret != -EINVAL)
		fprintf(stderr, "  meminfo \"%s\": got %d\n", s, ret);
	CHECK_EQ(ret, -EINVAL);
	CHECK(t == 77 && f == 77);
}

static void test_meminfo(void)
{
	mi_ok(MI(0, 1048576, 524288), 1048576ULL * 1024, 524288ULL * 1024);
	mi_ok(MI(12, 0, 0), 0, 0);
	/* Order does not matter, other lines are ignored. */
	mi_ok("Node 3 Active: 5 kB\nNode 3 MemFree: 10 kB\n"
	      "Node 3 HugePages_Total:     0\nNode 3 MemTotal: 20 kB\n",
	      20 * 1024, 10 * 1024);
	/* No final newline. */
	mi_ok("Node 0 MemTotal: 2 kB\nNode 0 MemFree: 1 kB", 2048, 1024);
	/* The kernel's real layout, with its alignment blanks. */
	mi_ok("Node 0 MemTotal:        5597388 kB\n"
	      "Node 0 MemFree:         5020408 kB\n"
	      "Node 0 MemUsed:          576980 kB\n"
	      "Node 0 SwapCached:            0 kB\n",
	      5597388ULL * 1024, 5020408ULL * 1024);
	/* Largest kB value that fits in bytes. */
	{
		char s[256];
		uint64_t kb = UINT64_MAX / 1024, t, f;

		snprintf(s, sizeof(s),
			 "Node 0 MemTotal: %llu kB\nNode 0 MemFree: 0 kB\n",
			 (unsigned long long)kb);
		CHECK_EQ(mb_parse_meminfo(s, strlen(s), &t, &f), 0);
		CHECK(t == kb * 1024 && f == 0);
		snprintf(s, sizeof(s),
			 "Node 0 MemTotal: %llu kB\nNode 0 MemFree: 0 kB\n",
			 (unsigned long long)kb + 1);
		mi_bad(s);
	}

	mi_bad("");
	mi_bad("\n");
	mi_bad("garbage");
	mi_bad("\x01\x02\xff\xfe");
	mi_bad("Node 0 MemTotal: 20 kB\n");               /* no MemFree */
	mi_bad("Node 0 MemFree: 20 kB\n");                /* no MemTotal */
	mi_bad("Node 0 MemTotal: 20 kB\nNode 0 MemFree: 30 kB\n"); /* free > total */
	mi_bad("Node 0 MemTotal: 20\nNode 0 MemFree: 10 kB\n");    /* no unit */
	mi_bad("Node 0 MemTotal: 20 MB\nNode 0 MemFree: 10 kB\n");
	mi_bad("Node 0 MemTotal: 20 kB junk\nNode 0 MemFree: 10 kB\n");
	mi_bad("Node 0 MemTotal: -20 kB\nNode 0 MemFree: 10 kB\n");
	mi_bad("Node 0 MemTotal: kB\nNode 0 MemFree: 10 kB\n");
	mi_bad("Node 0 MemTotal: 99999999999999999999999 kB\n"
	       "Node 0 MemFree: 10 kB\n");
	/* Truncated in the middle of the MemFree line. */
	mi_bad("Node 0 MemTotal: 20 kB\nNode 0 MemFree: 1");
	mi_bad("Node 0 MemTotal: 20 kB\nNode 0 MemF");
	mi_bad("Node x MemTotal: 20 kB\nNode x MemFree: 10 kB\n");
	mi_bad("Node 0 MemTotalX: 20 kB\nNode 0 MemFreeX: 10 kB\n");
	/* Only len bytes: the MemFree line lies beyond them. */
	{
		const char *s = MI(0, 20, 10);
		uint64_t t = 5, f = 5;

		CHECK_EQ(mb_parse_meminfo(s, strlen("Node 0 MemTotal:       20 kB\n"),
					  &t, &f),
			 -EINVAL);
		CHECK(t == 5 && f == 5);
	}
}

static void dist_ok(const char *s, const int *want, int n)
{
	int out[8], ret;

	memset(out, 0x7f, sizeof(out));
	ret = mb_parse_distances(s, strlen(s), out, 8);
	CHECK_EQ(ret, n);
	for (int i = 0; ret == n && i < n; i++)
		CHECK_EQ(out[i], want[i]);
	if (ret == n && n < 8)
		CHECK(out[n] == 0x7f7f7f7f);
}

static void dist_bad(const char *s, int max, int err)
{
	int out[8], ret;

	ret = mb_parse_distances(s, strlen(s), out, max);
	if (ret != err)
		fprintf(stderr, "  distance \"%s\": got %d want %d\n", s, ret,
			err);
	CHECK(ret == err);
}

static void test_distances(void)
{
	dist_ok("10\n", (const int[]){10}, 1);
	dist_ok("10 21\n", (const int[]){10, 21}, 2);
	dist_ok("10 21 31 41 255 0\n", (const int[]){10, 21, 31, 41, 255, 0},
		6);
	dist_ok("  10\t21  \n", (const int[]){10, 21}, 2);
	dist_ok("10 21", (const int[]){10, 21}, 2);
	dist_ok("", NULL, 0);
	dist_ok("\n", NULL, 0);
	dist_ok("1 2 3 4 5 6 7 8", (const int[]){1, 2, 3, 4, 5, 6, 7, 8}, 8);

	dist_bad("10 256\n", 8, -EINVAL);
	dist_bad("1000", 8, -EINVAL);
	dist_bad("99999999999999999999999", 8, -EINVAL);
	dist_bad("10,21", 8, -EINVAL);
	dist_bad("10 -1", 8, -EINVAL);
	dist_bad("10 2x", 8, -EINVAL);
	dist_bad("x", 8, -EINVAL);
	dist_bad("10 21 ;", 8, -EINVAL);
	dist_bad("1 2 3 4 5 6 7 8 9", 8, -E2BIG);
	dist_bad("10 20", 1, -E2BIG);
	dist_bad("10", 0, -E2BIG);
	{
		int out[2] = {0, 0};

		/* Truncated by len in the middle of a number: "10 2". */
		CHECK_EQ(mb_parse_distances("10 21", 4, out, 2), 2);
		CHECK_EQ(out[1], 2);
		CHECK_EQ(mb_parse_distances("10 2\0001", 6, out, 2), -EINVAL);
	}
}

int main(void)
{
	t_tmpdir(root, sizeof(root));
	test_read_file();
	test_read_file_alloc();
	test_u64();
	test_meminfo();
	test_distances();
	t_rmtree(root);
	return t_finish("test_sysfs");
}
