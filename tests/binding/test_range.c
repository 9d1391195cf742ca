/* SPDX-License-Identifier: MIT */
/*
 * Description: mem_setbinding_range() and mem_getbinding_range() with every
 * scheme on ranges of anonymous memory.  HARD {m}, SOFT {m}, ROUND_ROBIN and
 * WEIGHTED over all memblks, FIRST_TOUCH, DEFAULT: pages counted per memblk
 * by numa_maps and by mem_where (which must agree), and each binding read
 * back exactly.  STRIPE of 4 KiB, 64 KiB, 2 MiB (the default) and 1 GiB:
 * each stripe wholly on the i-th memblk of the mask (mem_where per page and
 * the numa_maps line of each stripe's mapping), read back as a stripe; more
 * 4 KiB stripes than vm.max_map_count allows: -ENOMEM, nothing changed.
 * MOVE moves pages touched before; STRICT refuses (-EIO, binding unchanged)
 * unless with MOVE; invalid ranges give -EINVAL.
 *
 * Needs two memblks (exit 77 otherwise).  With MEMBIND_TEST_WRONG=1 every
 * binding goes somewhere else than where the test then looks: it must fail.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bindtest.h"

#define LEN (8UL << 20)
#define NPAGES ((long)(LEN / BT_PAGE))
#define MAXWIN 4096 /* numa_maps lines kept */

static int n;             /* memblks */
static unsigned long all; /* mask of every memblk */

/* The mask to bind when the test means every memblk. */
static unsigned long all_to_bind(void)
{
	return bt_wrong() ? all & ~1UL : all;
}

/* A mapping of its own: the PROT_NONE guard page on each side keeps it
 * from merging with a neighbour, so numa_maps has a line starting at it. */
static char *map_region(size_t len)
{
	char *p = mmap(NULL, len + 2 * BT_PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || mprotect(p + BT_PAGE, len, PROT_READ | PROT_WRITE)) {
		perror("mmap");
		exit(T_FAIL);
	}
	madvise(p + BT_PAGE, len, MADV_NOHUGEPAGE);
	return p + BT_PAGE;
}

static void unmap_region(char *p, size_t len)
{
	munmap(p - BT_PAGE, len + 2 * BT_PAGE);
}

static int set(char *p, size_t len, unsigned long mask, unsigned long b)
{
	return mem_setbinding_range(p, len, BT_MAX, &mask, b);
}

/* The binding at addr must read back as mask and behavior b. */
static void check_binding(const char *what, void *addr, unsigned long mask,
			  unsigned long b)
{
	unsigned long got = ~0UL, gb = ~0UL;

	CHECK_EQ(mem_getbinding_range(addr, BT_MAX, &got, &gb), n);
	if (got != mask || gb != b)
		fprintf(stderr, "%s: read back mask %#lx behavior %#lx, expected %#lx %#lx\n",
			what, got, gb, mask, b);
	CHECK_EQ(got, mask);
	CHECK_EQ(gb, b);
}

/* HARD or SOFT on each memblk alone: every page there. */
static void test_single(unsigned long scheme)
{
	for (int m = 0; m < n; m++) {
		char *p = map_region(LEN), what[64];
		long c[BT_MAX];

		snprintf(what, sizeof(what), "%s {%d}", membind_scheme_name(scheme), m);
		CHECK_EQ(set(p, LEN, 1UL << bt_bind_to(m), scheme), 0);
		bt_touch(p, LEN);
		bt_placement(what, p, LEN, c);
		CHECK_EQ(c[m], NPAGES);
		check_binding(what, p, 1UL << m, scheme);
		unmap_region(p, LEN);
	}
}

/* ROUND_ROBIN (weights all 1) or WEIGHTED over every memblk: memblk m gets
 * NPAGES * w[m] / sum(w), to within the largest weight. */
static void test_spread(unsigned long scheme, const int *w)
{
	char *p = map_region(LEN);
	long c[BT_MAX], sum = 0, maxw = 0;
	int ret = set(p, LEN, all_to_bind(), scheme);

	if (scheme == MEMBIND_WEIGHTED && ret == -EOPNOTSUPP) {
		struct utsname u;
		int major = 0, minor = 0;

		uname(&u);
		sscanf(u.release, "%d.%d", &major, &minor);
		printf("WEIGHTED: -EOPNOTSUPP on kernel %s, case skipped\n", u.release);
		CHECK(major < 6 || (major == 6 && minor < 9));
		unmap_region(p, LEN);
		return;
	}
	CHECK_EQ(ret, 0);
	bt_touch(p, LEN);
	bt_placement(membind_scheme_name(scheme), p, LEN, c);
	for (int m = 0; m < n; m++) {
		sum += w[m];
		maxw = w[m] > maxw ? w[m] : maxw;
	}
	for (int m = 0; m < n; m++) {
		long dev = c[m] * sum - NPAGES * w[m];

		if (dev < -maxw * sum || dev > maxw * sum)
			fprintf(stderr, "%s: memblk %d has %ld pages, weight %d of %ld\n",
				membind_scheme_name(scheme), m, c[m], w[m], sum);
		CHECK(dev >= -maxw * sum && dev <= maxw * sum);
	}
	check_binding(membind_scheme_name(scheme), p, all, scheme);
	unmap_region(p, LEN);
}

/* Weights 1, 2, 3, ... so that WEIGHTED differs from ROUND_ROBIN (root in a
 * guest may set them; otherwise the kernel's are used); restore = true puts
 * the old ones back. */
static void weights(int *w, bool restore)
{
	static int old[BT_MAX];
	char path[128];

	for (int m = 0; m < n; m++) {
		struct memblk_info info = MEMBLK_INFO_INIT;
		FILE *f;

		snprintf(path, sizeof(path),
			 "/sys/kernel/mm/mempolicy/weighted_interleave/node%d",
			 memblk_to_node(m));
		if (!restore && memblk_info(m, &info) == 0)
			old[m] = info.weight;
		f = fopen(path, "w");
		if (f) {
			fprintf(f, "%d\n", restore ? old[m] : m % 3 + 1);
			fclose(f);
		}
	}
	membind_topology_refresh();
	for (int m = 0; w && m < n; m++) {
		struct memblk_info info = MEMBLK_INFO_INIT;

		w[m] = memblk_info(m, &info) == 0 && info.weight > 0 ? info.weight : 1;
	}
}

/* FIRST_TOUCH (no mask, or every memblk) and DEFAULT: a thread pinned to
 * the CPUs of memblk m gets m.  The range is bound elsewhere first. */
static void test_local(unsigned long scheme, unsigned long mask)
{
	cpu_set_t old;

	sched_getaffinity(0, sizeof(old), &old);
	for (int m = 0; m < n; m++) {
		char *p = map_region(LEN), what[64];
		unsigned long wrong = 1UL << bt_bind_to(m);
		long c[BT_MAX];

		if (!bt_pin_node(memblk_to_node(m))) {
			unmap_region(p, LEN);
			continue; /* memory without CPUs */
		}
		snprintf(what, sizeof(what), "%s %#lx on memblk %d's CPUs",
			 membind_scheme_name(scheme), mask, m);
		CHECK_EQ(set(p, LEN, 1UL << ((m + 1) % n), MEMBIND_HARD), 0);
		if (!bt_wrong())
			CHECK_EQ(set(p, LEN, mask, scheme), 0);
		else if (mask)
			CHECK_EQ(set(p, LEN, mask & ~(1UL << m), scheme), 0);
		else
			CHECK_EQ(set(p, LEN, wrong, MEMBIND_FIRST_TOUCH), 0);
		bt_touch(p, LEN);
		bt_placement(what, p, LEN, c);
		CHECK_EQ(c[m], NPAGES);
		check_binding(what, p, mask, scheme);
		unmap_region(p, LEN);
	}
	sched_setaffinity(0, sizeof(old), &old);
}

/* numa_maps: pages per memblk of every mapping that starts in [lo, hi). */
struct win {
	uintptr_t start;
	long c[BT_MAX], total;
};

static int read_maps(uintptr_t lo, uintptr_t hi, struct win *w)
{
	static char line[8192];
	FILE *f = fopen("/proc/self/numa_maps", "r");
	int k = 0;

	while (f && k < MAXWIN && fgets(line, sizeof(line), f)) {
		uintptr_t a = strtoul(line, NULL, 16);
		char *tok, *save;

		if (a < lo || a >= hi)
			continue;
		memset(&w[k], 0, sizeof(w[k]));
		w[k].start = a;
		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save)) {
			int node, m;
			long pages;

			if (sscanf(tok, "N%d=%ld", &node, &pages) != 2)
				continue;
			m = node_to_memblk(node);
			if (m >= 0 && m < BT_MAX)
				w[k].c[m] += pages;
			w[k].total += pages;
		}
		k++;
	}
	if (f)
		fclose(f);
	return k;
}

/* Stripes of 1 << order bytes (0: the default) over every memblk: the
 * range is 2k + 1 stripes (16k + 1 of 4 KiB; k + 1 of 1 GiB, most of them
 * never touched), the last one half long where it can be. */
static void test_stripes(unsigned int order)
{
	static struct win w[MAXWIN];
	unsigned int eff = order ? order : MEMBIND_STRIPE_DEFAULT_ORDER;
	size_t ss = 1UL << eff, k = (size_t)n;
	size_t ns = eff >= 30 ? k + 1 : eff == 12 ? 16 * k + 1 : 2 * k + 1;
	size_t len = ns * ss - (ss > BT_PAGE ? ss / 2 : 0), npages = 0;
	unsigned long b = MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(order);
	unsigned long want = MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(eff);
	char *p = map_region(len);
	void **pages = malloc(len / BT_PAGE * sizeof(*pages));
	int *st = malloc(len / BT_PAGE * sizeof(*st)), nw, bad = 0;
	char what[64];

	snprintf(what, sizeof(what), "stripe %zu KiB", ss >> 10);
	CHECK_EQ(set(p, len, all_to_bind(), b), 0);
	for (size_t i = 0; i < ns; i++) {
		size_t sl = i == ns - 1 ? len - i * ss : ss;
		char *s = p + i * ss;
		size_t offs[4] = {0, BT_PAGE, sl / 2 & ~(BT_PAGE - 1), sl - BT_PAGE};

		if (sl <= (2UL << 20))
			for (size_t o = 0; o < sl; o += BT_PAGE)
				pages[npages++] = s + o;
		else
			for (int j = 0; j < 4; j++)
				pages[npages++] = s + offs[j];
		check_binding(what, s, all, want);
		check_binding(what, s + sl - 1, all, want);
	}
	for (size_t j = 0; j < npages; j++)
		*(volatile char *)pages[j] = 1;
	CHECK_EQ(mem_where(0, pages, npages, st), 0);
	for (size_t j = 0; j < npages; j++) {
		int want_m = (int)(((uintptr_t)((char *)pages[j] - p) / ss) % (size_t)n);

		bad += st[j] != want_m;
	}
	printf("%s: %zu stripes, %zu pages touched, %d misplaced by mem_where\n",
	       what, ns, npages, bad);
	CHECK_EQ(bad, 0);
	nw = read_maps((uintptr_t)p, (uintptr_t)p + len, w);
	CHECK_EQ(nw, (long)ns);
	bad = 0;
	for (int k = 0; k < nw; k++) {
		size_t i = (w[k].start - (uintptr_t)p) / ss;

		bad += w[k].start != (uintptr_t)p + i * ss ||
		       w[k].c[i % (size_t)n] != w[k].total || w[k].total == 0;
	}
	CHECK_EQ(bad, 0);
	unmap_region(p, len);
	free(pages);
	free(st);
}

/* More 4 KiB stripes than mappings allowed: -ENOMEM, binding unchanged. */
static void test_max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	long max = 0;
	size_t len;
	char *p;

	if (!f || fscanf(f, "%ld", &max) != 1 || max <= 0) {
		printf("max_map_count unknown, case skipped\n");
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	len = (size_t)(max + 16) * BT_PAGE;
	p = map_region(len);
	CHECK_EQ(set(p, len, 1UL, MEMBIND_HARD), 0);
	CHECK_EQ(set(p, len, all, MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(12)), -ENOMEM);
	check_binding("after -ENOMEM (start)", p, 1UL, MEMBIND_HARD);
	check_binding("after -ENOMEM (end)", p + len - BT_PAGE, 1UL, MEMBIND_HARD);
	unmap_region(p, len);
}

/* A striped range unmapped and mapped again at the same address is a new
 * mapping without a binding.  Bound by hand (mbind(2), as another library
 * would) to the node its first stripe had, so that the library's stripe
 * record is not told, it reads back as HARD, not as the old stripes.  Its
 * memory is on the memblk it was bound to. */
static void test_stripe_remapped(void)
{
	const size_t ss = 64UL << 10, len = 4 * ss;
	unsigned long b = MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(16);
	char *p = map_region(len), *q;
	unsigned long nodes;
	long c[BT_MAX];

	CHECK_EQ(set(p, len, all_to_bind(), b), 0);
	check_binding("stripe before munmap", p, all, b);
	q = mmap(p, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(q == p);
	nodes = 1UL << memblk_to_node(bt_bind_to(0));
	CHECK_EQ(syscall(SYS_mbind, p, ss, 2 /* MPOL_BIND */, &nodes,
			 8 * sizeof(nodes), 0), 0);
	check_binding("new mapping bound hard over an old stripe", p, 1UL,
		      MEMBIND_HARD);
	bt_touch(p, ss);
	bt_placement("new mapping bound hard over an old stripe", p, ss, c);
	CHECK_EQ(c[0], (long)(ss / BT_PAGE));
	/* and a stripe set again there reads back as one */
	CHECK_EQ(set(p, len, all_to_bind(), b), 0);
	check_binding("stripe set again", p + ss, all, b);
	unmap_region(p, len);
}

/* All n pages of [p, LEN) on memblk m, by both accounts. */
static void check_on(const char *what, char *p, int m)
{
	long c[BT_MAX];

	bt_placement(what, p, LEN, c);
	CHECK_EQ(c[m], NPAGES);
}

static void test_move_strict(void)
{
	char *p = map_region(LEN);
	int a, b, st;

	/* MOVE: pages first touched under the default policy. */
	bt_touch(p, LEN);
	CHECK_EQ(mem_where(0, (void **)&p, 1, &st), 0);
	a = st >= 0 ? st : 0;
	b = (a + 1) % n;
	CHECK_EQ(set(p, LEN, 1UL << bt_bind_to(b), MEMBIND_HARD | MEMBIND_MOVE), 0);
	check_on("HARD | MOVE", p, b);
	check_binding("HARD | MOVE", p, 1UL << b, MEMBIND_HARD);
	unmap_region(p, LEN);

	/* STRICT: pages on a do not conform to HARD {b}.  (Wrong: they are
	 * put on b, and the MOVE goes elsewhere.) */
	a = 0;
	b = 1;
	p = map_region(LEN);
	CHECK_EQ(set(p, LEN, 1UL << (bt_wrong() ? b : a), MEMBIND_HARD), 0);
	bt_touch(p, LEN);
	CHECK_EQ(set(p, LEN, 1UL << b, MEMBIND_HARD | MEMBIND_STRICT), -EIO);
	check_binding("after STRICT -EIO", p, 1UL << a, MEMBIND_HARD);
	check_on("after STRICT -EIO", p, a);
	CHECK_EQ(set(p, LEN, 1UL << bt_bind_to(b),
		     MEMBIND_HARD | MEMBIND_STRICT | MEMBIND_MOVE), 0);
	check_on("STRICT | MOVE", p, b);
	check_binding("STRICT | MOVE", p, 1UL << b, MEMBIND_HARD);

	/* Invalid ranges change nothing. */
	CHECK_EQ(set(p + 1, LEN - BT_PAGE, 1UL, MEMBIND_HARD), -EINVAL);
	CHECK_EQ(set(p, 0, 1UL, MEMBIND_HARD), -EINVAL);
	CHECK_EQ(set(NULL, LEN, 1UL, MEMBIND_HARD), -EINVAL);
	CHECK_EQ(set(p, LEN, 1UL, MEMBIND_HARD | MEMBIND_THREAD), -EINVAL);
	check_binding("after -EINVAL", p, 1UL << b, MEMBIND_HARD);
	unmap_region(p, LEN);
}

int main(void)
{
	int ones[BT_MAX], w[BT_MAX];

	bt_need_memblks(2, "a range over one memblk proves nothing");
	n = memblk_count();
	all = n == 64 ? ~0UL : (1UL << n) - 1;
	for (int m = 0; m < n; m++)
		ones[m] = 1;

	test_single(MEMBIND_HARD);
	test_single(MEMBIND_SOFT);
	test_spread(MEMBIND_ROUND_ROBIN, ones);
	weights(w, false);
	test_spread(MEMBIND_WEIGHTED, w);
	weights(NULL, true);
	test_local(MEMBIND_FIRST_TOUCH, 0);
	test_local(MEMBIND_FIRST_TOUCH, all);
	test_local(MEMBIND_DEFAULT, 0);
	test_stripes(12);
	test_stripes(16);
	test_stripes(0);
	test_stripes(30);
	test_max_map_count();
	test_stripe_remapped();
	test_move_strict();
	return t_finish("test_range");
}
