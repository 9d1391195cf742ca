/* SPDX-License-Identifier: MIT */
/*
 * Description: the search for the syscall instruction honours the
 * architecture's instruction alignment (aarch64: 4; a match of "svc #0"'s
 * bytes at another address is no instruction, and a pc there faults), also
 * across the chunks the search reads.  Run on any architecture through the
 * engine's test entry mb_remote_test_find_bytes() with made-up bytes: the
 * target maps an r-x area with pattern A at offset 1, across the first
 * chunk's end at offset 65550 and at offset 196616 (a multiple of 4), and
 * pattern B only across the chunk end.
 */
#include <sys/mman.h>

#include "rt.h"

/* Internal (src/remote.c). */
/* The patterns never appear in the program itself: a static binary may
 * map .rodata executable (arm64 links it into the text segment), and the
 * search reads the program's own text before the area.  They are kept
 * XORed with KEY and decoded into writable memory at run time, through
 * volatile reads so that the compiler cannot fold them into code. */
#define KEY 0xa5
static const unsigned char pat_a_x[8] = { 0x3c ^ KEY, 0xc3 ^ KEY, 0x5a ^ KEY,
					  0xa5 ^ KEY, 0x96 ^ KEY, 0x69 ^ KEY,
					  0x0f ^ KEY, 0xf0 ^ KEY };
static const unsigned char pat_b_x[8] = { 0x6b ^ KEY, 0xb6 ^ KEY, 0x2d ^ KEY,
					  0xd2 ^ KEY, 0xe1 ^ KEY, 0x1e ^ KEY,
					  0x87 ^ KEY, 0x78 ^ KEY };
static unsigned char pat_a[8], pat_b[8];

static void decode(void)
{
	const volatile unsigned char *a = pat_a_x, *b = pat_b_x;

	for (int i = 0; i < 8; i++) {
		pat_a[i] = a[i] ^ KEY;
		pat_b[i] = b[i] ^ KEY;
	}
}

#define AREA (4 * 65536)
#define AT_ODD 1
#define AT_CROSS 65550 /* the search reads 65552 bytes at a time */
#define AT_ALIGNED (3 * 65536 + 8)

static void put(unsigned char *area, size_t off, const unsigned char *pat)
{
	const volatile unsigned char *src = pat;

	for (int i = 0; i < 8; i++)
		area[off + (size_t)i] = src[i];
}

static void expect(pid_t pid, const unsigned char *pat, size_t align,
		   unsigned long base, long off, const char *what)
{
	unsigned long addr = 0;
	int r = mb_remote_test_find_bytes(pid, pat, 8, align, &addr);

	if (off < 0) {
		RT_CHECK(r == -EOPNOTSUPP || (r == 0 && addr % align == 0 &&
					      (addr < base ||
					       addr >= base + AREA)),
			 "%s, align %zu: %d at %#lx (offset %ld), expected none in the area",
			 what, align, r, addr, (long)(addr - base));
		return;
	}
	RT_CHECK(r == 0 && addr == base + (unsigned long)off,
		 "%s, align %zu: %d at %#lx (offset %ld), expected offset %ld",
		 what, align, r, addr, (long)(addr - base), off);
}

int main(void)
{
	unsigned long base;
	int pfd[2], st;
	pid_t pid;

	decode();
	if (pipe(pfd))
		return 1;
	pid = fork();
	if (pid == 0) {
		unsigned char *area = mmap(NULL, AREA, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (area == MAP_FAILED)
			_exit(2);
		put(area, AT_ODD, pat_a);
		put(area, AT_CROSS, pat_a);
		put(area, AT_ALIGNED, pat_a);
		if (mprotect(area, AREA, PROT_READ | PROT_EXEC))
			_exit(3);
		base = (unsigned long)area;
		if (write(pfd[1], &base, sizeof(base)) != sizeof(base))
			_exit(4);
		for (;;)
			pause();
	}
	if (read(pfd[0], &base, sizeof(base)) != sizeof(base))
		return 1;

	expect(pid, pat_a, 1, base, AT_ODD, "A");
	expect(pid, pat_a, 2, base, AT_CROSS, "A");
	expect(pid, pat_a, 4, base, AT_ALIGNED, "A");
	expect(pid, pat_a, 8, base, AT_ALIGNED, "A");
	expect(pid, pat_a, 16, base, -1, "A");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);

	/* pattern B only across the chunk end */
	pid = fork();
	if (pid == 0) {
		unsigned char *area = mmap(NULL, AREA, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (area == MAP_FAILED)
			_exit(2);
		put(area, AT_CROSS, pat_b);
		if (mprotect(area, AREA, PROT_READ | PROT_EXEC))
			_exit(3);
		base = (unsigned long)area;
		if (write(pfd[1], &base, sizeof(base)) != sizeof(base))
			_exit(4);
		for (;;)
			pause();
	}
	if (read(pfd[0], &base, sizeof(base)) != sizeof(base))
		return 1;
	expect(pid, pat_b, 1, base, AT_CROSS, "B");
	expect(pid, pat_b, 2, base, AT_CROSS, "B");
	expect(pid, pat_b, 4, base, -1, "B");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return rt_exit("test-find");
}
