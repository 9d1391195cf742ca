/* SPDX-License-Identifier: MIT */
/*
 * Description: the reader of /proc and /sys (procfs.c): maps files with
 * names holding blanks, " (deleted)", [vsyscall], no name, lines far
 * longer than the reader's buffer and lines around its size, malformed
 * lines, a last line without newline, an empty file, unsorted lines, and
 * the lookup by address; status files of any size (a Groups line of 1 MB
 * before the signal masks) and without TracerPid/Seccomp; mb_read_text's
 * stack-then-heap buffer and its limit; a FIFO refused by every reader
 * (an alarm turns a hang into a failure); stat and thread states (running,
 * zombie, gone, a name holding ")"); meminfo fields; block_size_bytes with
 * its overflow check; the page size and the clock.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "internal.h"
#include "testutil.h"

static char root[4096];

/* ---- maps ---- */

struct seen {
	int n;
	struct mb_mapping m[16];
	char names[16][64]; /* the first bytes of each name */
	size_t name_len[16];
	int stop_at; /* answer 7 at this line (1-based), 0: never */
};

static int collect(void *arg, const struct mb_mapping *m)
{
	struct seen *s = arg;

	if (s->n < 16) {
		s->m[s->n] = *m;
		s->name_len[s->n] = strlen(m->name);
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", m->name);
	}
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

static void maps_file(const char *text, size_t len)
{
	t_write_n(root, "maps", text, len);
}

static int walk(struct seen *s)
{
	char path[8192];

	memset(s->m, 0, sizeof(s->m));
	s->n = 0;
	snprintf(path, sizeof(path), "%s/maps", root);
	return mb_maps_walk_at(path, collect, s);
}

static void test_maps_lines(void)
{
	static const char text[] =
		"00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n"
		"7f0000001000-7f0000002000 rw-p 0001a000 fd:01 42                         /tmp/a b  c\n"
		"7f0000002000-7f0000003000 r--s 00000000 00:05 99 /memfd:x (deleted)\n"
		"garbage line\n"
		"5000-4000 rw-p 00000000 00:00 0 \n"
		"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 \n"
		"7ffc00030000-7ffc00031000 rw-p 00000000 00:00 0\n"
		"zz-10 rw-p 00000000 00:00 0\n"
		"6000-7000 rwxq 00000000 00:00 0\n"
		"6000-7000 rw-p 00000000 00:00\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";
	struct seen s = { 0 };

	maps_file(text, strlen(text));
	CHECK_EQ(walk(&s), 0);
	CHECK_EQ(s.n, 6);
	CHECK(s.m[0].lo == 0x400000 && s.m[0].hi == 0x452000);
	CHECK_STR(s.m[0].perms, "r-xp");
	CHECK(s.m[0].inode == 173521 && s.m[0].offset == 0);
	CHECK_STR(s.names[0], "/usr/bin/dbus-daemon");
	CHECK(!s.m[0].deleted && !s.m[0].truncated);
	/* blanks inside a name are part of it */
	CHECK_STR(s.names[1], "/tmp/a b  c");
	CHECK(s.m[1].offset == 0x1a000 && s.m[1].inode == 42);
	CHECK_STR(s.names[2], "/memfd:x (deleted)");
	CHECK(s.m[2].deleted);
	CHECK_STR(s.m[2].perms, "r--s");
	/* no name, with and without the blank after the inode */
	CHECK_STR(s.names[3], "");
	CHECK(s.m[3].lo == 0x7ffc00000000 && s.m[3].inode == 0);
	CHECK_STR(s.names[4], "");
	/* the last line, without newline; a 64-bit address */
	CHECK(s.m[5].lo == (uintptr_t)0xffffffffff600000ULL);
	CHECK_STR(s.names[5], "[vsyscall]");
	CHECK_STR(s.m[5].perms, "--xp");

	/* The callback's answer stops the walk and comes back. */
	s.stop_at = 2;
	CHECK_EQ(walk(&s), 7);
	CHECK_EQ(s.n, 2);
	s.stop_at = 0;

	/* Empty: no line, no error. */
	maps_file("", 0);
	CHECK_EQ(walk(&s), 0);
	CHECK_EQ(s.n, 0);
}

/* A line of exactly len bytes (newline excluded) holding a mapping at
 * 0x1000 whose name fills it, then a short line. */
static void long_line(size_t len)
{
	static const char head[] = "1000-2000 r-xp 00000000 00:00 0 ";
	static const char tail[] = "\n3000-4000 rw-p 00000000 00:00 0 [x]\n";
	size_t hl = strlen(head), total = len + strlen(tail);
	char *text = malloc(total + 1);
	struct seen s = { 0 };

	CHECK(text != NULL && len > hl);
	if (!text)
		return;
	memcpy(text, head, hl);
	for (size_t i = hl; i < len; i++)
		text[i] = (char)('a' + i % 26);
	memcpy(text + len, tail, strlen(tail) + 1);
	maps_file(text, total);
	CHECK_EQ(walk(&s), 0);
	if (s.n != 2)
		fprintf(stderr, "  line of %zu bytes: %d mappings\n", len, s.n);
	CHECK_EQ(s.n, 2);
	CHECK(s.m[0].lo == 0x1000 && s.m[0].hi == 0x2000);
	CHECK_STR(s.m[0].perms, "r-xp");
	/* The name is whole when the line fits the reader's buffer, else
	 * cut to what fits and marked so (a line that exactly fills it is
	 * marked too: its end is not seen). */
	if (len < MB_MAPS_LINE - 1) {
		CHECK(!s.m[0].truncated);
		CHECK_EQ(s.name_len[0], len - hl);
	} else {
		CHECK(s.m[0].truncated);
		CHECK_EQ(s.name_len[0], MB_MAPS_LINE - 1 - hl);
	}
	CHECK(!memcmp(s.names[0], text + hl, strlen(s.names[0])));
	CHECK(s.m[1].lo == 0x3000 && s.m[1].hi == 0x4000);
	CHECK_STR(s.names[1], "[x]");
	CHECK(!s.m[1].truncated);
	free(text);
}

static void test_maps_long(void)
{
	static const size_t lens[] = { 100, MB_MAPS_LINE - 3, MB_MAPS_LINE - 2,
				       MB_MAPS_LINE - 1, MB_MAPS_LINE,
				       MB_MAPS_LINE + 1, 2 * MB_MAPS_LINE,
				       100000 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		long_line(lens[i]);
}

static void test_maps_load(void)
{
	/* out of order, as a reader must not assume */
	static const char text[] =
		"3000-5000 rw-p 00000000 00:00 0\n"
		"1000-2000 r-xp 00000000 00:00 7 /bin/x\n"
		"8000-9000 r--p 00002000 00:00 7 /bin/x\n";
	char path[8192];
	struct mb_maps m;
	const struct mb_range *r;

	maps_file(text, strlen(text));
	snprintf(path, sizeof(path), "%s/maps", root);
	CHECK_EQ(mb_maps_load_at(path, &m), 0);
	CHECK_EQ(m.n, 3);
	for (size_t i = 1; i < m.n; i++)
		CHECK(m.r[i - 1].lo < m.r[i].lo);
	CHECK(mb_maps_find(&m, 0xfff) == NULL);
	r = mb_maps_find(&m, 0x1000);
	CHECK(r && r->lo == 0x1000 && r->inode == 7);
	CHECK(mb_maps_find(&m, 0x1fff) == r);
	CHECK(mb_maps_find(&m, 0x2000) == NULL); /* hi is outside */
	r = mb_maps_find(&m, 0x4fff);
	CHECK(r && r->lo == 0x3000 && r->hi == 0x5000);
	r = mb_maps_find(&m, 0x8000);
	CHECK(r && r->offset == 0x2000 && !strcmp(r->perms, "r--p"));
	CHECK(mb_maps_find(&m, 0x9000) == NULL);
	CHECK(mb_maps_find(&m, UINTPTR_MAX) == NULL);
	mb_maps_free(&m);
	CHECK(m.n == 0 && m.r == NULL);

	maps_file("", 0);
	CHECK_EQ(mb_maps_load_at(path, &m), 0);
	CHECK_EQ(m.n, 0);
	CHECK(mb_maps_find(&m, 0x1000) == NULL);
	mb_maps_free(&m);

	snprintf(path, sizeof(path), "%s/missing", root);
	CHECK_EQ(mb_maps_load_at(path, &m), -ENOENT);
	CHECK(m.n == 0 && m.r == NULL);

	/* The live maps hold this function and this stack. */
	int local = 0;

	CHECK_EQ(mb_maps_load(0, 0, &m), 0);
	r = mb_maps_find(&m, (uintptr_t)&local);
	CHECK(r && r->perms[1] == 'w');
	r = mb_maps_find(&m, (uintptr_t)test_maps_load);
	CHECK(r && r->perms[2] == 'x');
	mb_maps_free(&m);
	CHECK_EQ(mb_maps_load(0, (pid_t)gettid(), &m), 0);
	CHECK(mb_maps_find(&m, (uintptr_t)&local) != NULL);
	mb_maps_free(&m);
}

/* ---- status and whole files ---- */

static void status_file(size_t groups_bytes, bool tracer)
{
	size_t cap = groups_bytes + 4096, n = 0;
	char *text = malloc(cap);

	if (!text)
		abort();
	n += (size_t)snprintf(text + n, cap - n,
			      "Name:\tx\nState:\tS (sleeping)\nTgid:\t1234\n"
			      "Groups:\t");
	for (size_t i = 0; n + 8 < cap - 1024 && i * 6 < groups_bytes; i++)
		n += (size_t)snprintf(text + n, cap - n, "%u ",
				      (unsigned)(10000 + i % 50000));
	n += (size_t)snprintf(text + n, cap - n,
			      "\n%sSigPnd:\t0000000000000001\n"
			      "ShdPnd:\t0000000000000002\n"
			      "SigBlk:\t0000000000010000\n"
			      "SigIgn:\t8000000000000000\n"
			      "SigCgt:\tfffffffe7ffbfeff\n"
			      "Seccomp:\t2\n",
			      tracer ? "TracerPid:\t77\n" : "");
	t_write_n(root, "status", text, n);
	free(text);
}

static void test_status(void)
{
	static const size_t sizes[] = { 0, 3000, 5000, 1 << 20 };
	char path[8192];
	struct mb_status st;

	snprintf(path, sizeof(path), "%s/status", root);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		status_file(sizes[i], true);
		memset(&st, 0x55, sizeof(st));
		CHECK_EQ(mb_status_read_at(path, &st), 0);
		CHECK_EQ(st.state, 'S');
		CHECK_EQ(st.tgid, 1234);
		CHECK_EQ(st.tracer, 77);
		CHECK(st.has_tracer && st.has_seccomp);
		CHECK_EQ(st.seccomp, 2);
		CHECK(st.sigpnd == 1 && st.shdpnd == 2);
		CHECK(st.sigblk == 0x10000);
		CHECK(st.sigign == 0x8000000000000000ULL);
		CHECK(st.sigcgt == 0xfffffffe7ffbfeffULL);
	}
	status_file(10, false);
	CHECK_EQ(mb_status_read_at(path, &st), 0);
	CHECK(!st.has_tracer && st.has_seccomp && st.tracer == 0);
	t_write(root, "status", "%s", "");
	CHECK_EQ(mb_status_read_at(path, &st), 0);
	CHECK(st.state == '?' && !st.has_tracer && !st.has_seccomp);

	/* The live files: this process and this thread. */
	CHECK_EQ(mb_status_read(0, 0, &st), 0);
	CHECK_EQ(st.tgid, getpid());
	CHECK(st.has_tracer && st.has_seccomp);
	CHECK_EQ(mb_status_read(getpid(), (pid_t)gettid(), &st), 0);
	CHECK_EQ(st.tgid, getpid());
	CHECK_EQ(st.state, 'R');
	CHECK_EQ(mb_status_read(INT32_MAX, 0, &st), -ESRCH);
	CHECK_EQ(mb_status_read(getpid(), INT32_MAX, &st), -ESRCH);
}

static void test_read_text(void)
{
	char buf[16], path[8192], big[200];
	struct mb_text t;

	memset(big, 'b', sizeof(big));
	t_write_n(root, "t", big, 10);
	snprintf(path, sizeof(path), "%s/t", root);
	CHECK_EQ(mb_read_text(&t, buf, sizeof(buf), 100, "%s", path), 10);
	CHECK(t.s == buf && t.heap == NULL && t.len == 10 && buf[10] == 0);
	mb_text_free(&t);
	/* 15 bytes fill the buffer with its terminator; 16 go to the heap */
	t_write_n(root, "t", big, 15);
	CHECK_EQ(mb_read_text(&t, buf, sizeof(buf), 100, "%s", path), 15);
	CHECK(t.s == buf && t.heap == NULL);
	mb_text_free(&t);
	t_write_n(root, "t", big, 16);
	CHECK_EQ(mb_read_text(&t, buf, sizeof(buf), 100, "%s", path), 16);
	CHECK(t.s == t.heap && t.s != NULL && !memcmp(t.s, big, 16) &&
	      t.s[16] == 0);
	mb_text_free(&t);
	t_write_n(root, "t", big, 99);
	CHECK_EQ(mb_read_text(&t, buf, sizeof(buf), 100, "%s", path), 99);
	CHECK(t.s && !memcmp(t.s, big, 99) && t.s[99] == 0);
	mb_text_free(&t);
	t_write_n(root, "t", big, 100);
	CHECK_EQ(mb_read_text(&t, buf, sizeof(buf), 100, "%s", path),
		 -EFBIG);
	CHECK(t.s == NULL && t.heap == NULL);
	/* no stack buffer: the heap from the start */
	CHECK_EQ(mb_read_text(&t, NULL, 0, 1000, "%s", path), 100);
	CHECK(t.s == t.heap && t.s && !memcmp(t.s, big, 100));
	mb_text_free(&t);
	CHECK_EQ(mb_read_text(&t, buf, sizeof(buf), 100, "%s/missing", root),
		 -ENOENT);
}

/* Every reader refuses a FIFO at once (no writer: a blocking open would
 * never return; the alarm makes that a failure). */
static void test_fifo(void)
{
	char path[8192], buf[64];
	struct mb_status st;
	struct mb_maps m;
	struct mb_text t;
	struct seen s = { 0 };
	uint64_t v;

	snprintf(path, sizeof(path), "%s/fifo", root);
	CHECK_EQ(mkfifo(path, 0600), 0);
	alarm(20);
	CHECK_EQ(mb_maps_walk_at(path, collect, &s), -EINVAL);
	CHECK_EQ(s.n, 0);
	CHECK_EQ(mb_maps_load_at(path, &m), -EINVAL);
	CHECK_EQ(mb_status_read_at(path, &st), -EINVAL);
	CHECK_EQ(mb_read_text(&t, buf, sizeof(buf), 100, "%s", path),
		 -EINVAL);
	CHECK_EQ(mb_read_file(root, buf, sizeof(buf), "fifo"), -EINVAL);
	t_write(root, "fsys/" MB_MEMORY_DIR "/block_size_bytes", "1000\n");
	t_unlink(root, "fsys/" MB_MEMORY_DIR "/block_size_bytes");
	snprintf(path, sizeof(path), "%s/fsys/" MB_MEMORY_DIR
		 "/block_size_bytes", root);
	CHECK_EQ(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/fsys", root);
	CHECK_EQ(mb_block_size(path, &v), -EINVAL);
	alarm(0);
}

/* ---- stat and thread states ---- */

static void test_stat(void)
{
	char buf[512], old[17] = "";
	const char *p;
	pid_t child;
	int status;

	CHECK_EQ(mb_thread_state(0, 0), 'R');
	CHECK_EQ(mb_thread_state(getpid(), (pid_t)gettid()), 'R');
	/* A name holding ") " must not be taken for its end. */
	prctl(PR_GET_NAME, old, 0, 0, 0);
	prctl(PR_SET_NAME, "a) S (b", 0, 0, 0);
	CHECK(mb_stat_read(0, (pid_t)gettid(), buf, sizeof(buf), &p) > 0);
	CHECK(p[0] == 'R' && p[1] == ' ');
	CHECK_EQ(mb_thread_state(0, (pid_t)gettid()), 'R');
	prctl(PR_SET_NAME, old, 0, 0, 0);
	/* A prefix is enough: a buffer too small for the whole file. */
	CHECK(mb_stat_read(0, 0, buf, 64, &p) == 63);
	CHECK(p[0] == 'R');

	child = fork();
	if (child == 0)
		_exit(0);
	CHECK(child > 0);
	/* A zombie until reaped; gone after. */
	for (int i = 0; i < 10000 && mb_thread_state(child, child) != 'Z';
	     i++)
		usleep(1000);
	CHECK_EQ(mb_thread_state(child, child), 'Z');
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(mb_thread_state(child, child), 0);
	CHECK_EQ(mb_stat_read(child, 0, buf, sizeof(buf), &p), -ENOENT);
}

/* ---- meminfo, block size, page size, clock, paths ---- */

static void test_meminfo(void)
{
	static const char text[] = "MemTotal:       16000 kB\n"
				   "Node 1 MemFree:   500 kB\n"
				   "HugePages_Total:    0\n"
				   "Hugepagesize:    2048 kB\n"
				   "Bad:  12 MB\n";
	uint64_t v = 0;

	CHECK_EQ(mb_meminfo_field(text, strlen(text), "MemTotal", &v), 0);
	CHECK(v == 16000 * 1024ULL);
	CHECK_EQ(mb_meminfo_field(text, strlen(text), "MemFree", &v), 0);
	CHECK(v == 500 * 1024ULL);
	CHECK_EQ(mb_meminfo_field(text, strlen(text), "Hugepagesize", &v), 0);
	CHECK(v == 2048 * 1024ULL);
	v = 5;
	CHECK_EQ(mb_meminfo_field(text, strlen(text), "Mem", &v), -EINVAL);
	CHECK_EQ(mb_meminfo_field(text, strlen(text), "Bad", &v), -EINVAL);
	CHECK_EQ(mb_meminfo_field(text, strlen(text), "HugePages_Total", &v),
		 -EINVAL);
	CHECK_EQ(mb_meminfo_field(text, strlen(text), "Missing", &v),
		 -EINVAL);
	CHECK_EQ(v, 5);
	CHECK_EQ(mb_meminfo("MemTotal", &v), 0);
	CHECK(v > 0);
	CHECK_EQ(mb_meminfo("NoSuchField", &v), -EINVAL);
}

static void block_size(const char *text, int ret, uint64_t want)
{
	char sys[8192];
	uint64_t v = 0xdead;

	snprintf(sys, sizeof(sys), "%s/bsys", root);
	t_write(sys, MB_MEMORY_DIR "/block_size_bytes", "%s", text);
	if (mb_block_size(sys, &v) != ret)
		fprintf(stderr, "  block size \"%s\": got %d\n", text,
			mb_block_size(sys, &v));
	CHECK_EQ(mb_block_size(sys, &v), ret);
	CHECK(v == (ret ? 0xdead : want));
}

static void test_block_size(void)
{
	char sys[8192];
	uint64_t v;

	block_size("8000000\n", 0, 0x8000000);
	block_size("8000000", 0, 0x8000000);
	block_size("1", 0, 1);
	block_size("400000000000000\n", 0, 1ULL << 58);
	block_size("3fffffffffffffff\n", 0, (1ULL << 62) - 1);
	block_size("4000000000000000\n", -EINVAL, 0);
	block_size("10000000000000000\n", -EINVAL, 0); /* 2^64 */
	block_size("0\n", -EINVAL, 0);
	block_size("\n", -EINVAL, 0);
	block_size("", -EINVAL, 0);
	block_size("0x8000000\n", -EINVAL, 0);
	block_size("8000000 \n", -EINVAL, 0);
	block_size("80000G0\n", -EINVAL, 0);
	block_size("ABC\n", -EINVAL, 0);
	snprintf(sys, sizeof(sys), "%s/nothing", root);
	CHECK_EQ(mb_block_size(sys, &v), -ENOENT);
}

static void test_misc(void)
{
	char path[32];
	uint64_t a, b;

	CHECK_EQ(mb_page_size(), (size_t)sysconf(_SC_PAGESIZE));
	CHECK_EQ(mb_page_size(), (size_t)sysconf(_SC_PAGESIZE));
	a = mb_now_ns();
	b = mb_now_ns();
	CHECK(a > 0 && b >= a);
	CHECK_EQ(mb_proc_path(path, sizeof(path), 0, 0, "maps"), 0);
	CHECK_STR(path, "/proc/self/maps");
	CHECK_EQ(mb_proc_path(path, sizeof(path), 12, 0, "maps"), 0);
	CHECK_STR(path, "/proc/12/maps");
	CHECK_EQ(mb_proc_path(path, sizeof(path), 0, 34, "stat"), 0);
	CHECK_STR(path, "/proc/self/task/34/stat");
	CHECK_EQ(mb_proc_path(path, sizeof(path), 12, 34, "status"), 0);
	CHECK_STR(path, "/proc/12/task/34/status");
	CHECK_EQ(mb_proc_path(path, 10, 12, 34, "status"), -ENAMETOOLONG);
}

int main(void)
{
	t_tmpdir(root, sizeof(root));
	test_maps_lines();
	test_maps_long();
	test_maps_load();
	test_status();
	test_read_text();
	test_fifo();
	test_stat();
	test_meminfo();
	test_block_size();
	test_misc();
	t_rmtree(root);
	return t_finish("test_procfs");
}
