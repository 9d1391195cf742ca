/* SPDX-License-Identifier: MIT */
/* membind move PID --to LIST [--from LIST]: migrate a process's pages.
 *
 * The mappings that hold pages on the source memblks (numa_maps) are walked
 * in batches: mem_where() finds the pages of a batch that are on a source
 * memblk, mem_move_pages() moves them.  So the progress shown is real, and
 * SIGINT/SIGTERM stop the walk between two batches: every page is then on
 * its old memblk or its new one, and the process never notices.  With
 * several target memblks, the target of a page is its address divided by
 * the size of a transparent huge page, mod n: all the 4 KiB pages of a
 * huge page go to one target.  (Page by page, the kernel migrates the whole
 * huge page for each of its pieces, to alternating targets: 64 MiB of them
 * took minutes instead of a fraction of a second in the cxl guest.) */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "membind.h"
#include "tool.h"

#define BATCH 1024 /* pages per mem_where()/mem_move_pages() call */

static const char move_usage[] =
	"Usage: membind move PID --to LIST [--from LIST]\n"
	"Migrate the pages of process PID that are on the memblks of --from\n"
	"(default: all but --to) to the memblks of --to, spread evenly (by huge\n"
	"page sized units).  On a\n"
	"terminal: a progress bar and a summary; Ctrl-C stops between batches,\n"
	"each page then being on its old or its new memblk.  The binding is not\n"
	"changed (see 'membind set --move').\n"
	"LIST: memblk ids and ranges (0-2,5), all, a leading ! to invert, nodes as\n"
	"n0,n2-3.\n";

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static bool bit(const struct mbmask *m, int b)
{
	return b >= 0 && (unsigned)b < m->len &&
	       (m->mask[b / MEMBIND_BITS_PER_LONG] >>
		(b % MEMBIND_BITS_PER_LONG) & 1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct progress {
	bool bar;
	uint64_t total, done, moved, failed, failed_pages, moved_pages;
	double t0, last;
	int first_err;
};

static void draw(struct progress *p, bool final)
{
	char a[16], b[16], r[16], left[32];
	double el = now() - p->t0, rate, frac;
	int w = 30, fill;

	if (!p->bar || (!final && now() - p->last < 0.1))
		return;
	p->last = now();
	frac = p->total ? (double)p->done / (double)p->total : 1.0;
	if (frac > 1.0)
		frac = 1.0;
	fill = (int)(frac * w);
	rate = el > 0 ? (double)p->moved / el : 0;
	if (rate > 0 && p->done < p->total) {
		double s = (double)(p->total - p->done) / rate;

		if (s < 1)
			snprintf(left, sizeof(left), "<1s left");
		else if (s < 60)
			snprintf(left, sizeof(left), "%.0fs left", s);
		else
			snprintf(left, sizeof(left), "%dm%02ds left",
				 (int)(s / 60), (int)s % 60);
	} else
		snprintf(left, sizeof(left), "%s", final ? "done" : "");
	fprintf(stderr, "\r[%.*s%*s] %3.0f%% %7s/%-7s %7s/s %-10s", fill,
		"##############################", w - fill, "", frac * 100,
		human_size(p->done, a, sizeof(a)),
		human_size(p->total, b, sizeof(b)),
		human_size((uint64_t)rate, r, sizeof(r)), left);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

/* The size of a transparent huge page (PMD size): the unit in which pages
 * are spread over several targets. */
static uint64_t thp_size(void)
{
	static uint64_t size;
	FILE *f;

	if (size)
		return size;
	size = 2UL << 20;
	f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
	if (f) {
		unsigned long long v;

		if (fscanf(f, "%llu", &v) == 1 && v >= 4096 && !(v & (v - 1)))
			size = v;
		fclose(f);
	}
	return size;
}

/* Move the pages of one mapping that are on from to to.  Returns 0, or a
 * negative errno that ends the whole move (the process went away, ...). */
static int move_vma(pid_t pid, const struct vma *v, const struct mbmask *from,
		    const int *targets, int ntargets, struct progress *p)
{
	void *addr[BATCH], *maddr[BATCH];
	int st[BATCH], dest[BATCH], mst[BATCH];
	uint64_t ps = v->page_size ? v->page_size : 4096;
	uint64_t unit = ntargets > 1 && thp_size() > ps ? thp_size() : ps;
	uintptr_t a = v->start & ~(uintptr_t)(ps - 1);

	while (a < v->end && !stop) {
		size_t n = 0, k = 0;
		int ret;

		for (; n < BATCH && a < v->end; n++, a += ps)
			addr[n] = (void *)a;
		ret = mem_where(pid, addr, n, st);
		if (ret < 0)
			return ret;
		for (size_t i = 0; i < n; i++) {
			if (!bit(from, st[i]))
				continue;
			maddr[k] = addr[i];
			dest[k++] = targets[((uintptr_t)addr[i] / unit) %
					    (uintptr_t)ntargets];
		}
		if (!k)
			continue;
		ret = mem_move_pages(pid, maddr, k, dest, mst);
		if (ret < 0)
			return ret;
		for (size_t i = 0; i < k; i++) {
			if (mst[i] == dest[i]) {
				p->moved += ps;
				p->moved_pages++;
			} else {
				p->failed += ps;
				p->failed_pages++;
				if (!p->first_err && mst[i] < 0)
					p->first_err = mst[i];
			}
			p->done += ps;
		}
		draw(p, false);
	}
	return 0;
}

int cmd_move(int argc, char **argv)
{
	const char *pid_text = NULL, *to_text = NULL, *from_text = NULL;
	struct mbmask to = { 0 }, from = { 0 };
	struct progress p = { 0 };
	struct residency r = { 0 };
	struct sigaction sa = { 0 };
	char comm[32], a[16], b[16], c[16], *tl = NULL;
	int *targets = NULL, ntargets = 0, ret;
	bool summary = isatty(STDOUT_FILENO);
	pid_t pid;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			fputs(move_usage, stdout);
			return 0;
		} else if (opt_is(arg, "--to") || opt_is(arg, "--from")) {
			const char *name = opt_is(arg, "--to") ? "--to" : "--from";
			const char **dst = name[2] == 't' ? &to_text : &from_text;
			const char *v = opt_value("move", argc, argv, &i, name,
						  "a LIST");

			if (!v)
				return EXIT_USAGE;
			if (*dst) {
				die_msg("move: %s given twice", name);
				return EXIT_USAGE;
			}
			*dst = v;
		} else if (arg[0] == '-' && arg[1] &&
			   !(arg[1] >= '0' && arg[1] <= '9')) {
			die_msg("move: unknown option '%s' (try 'membind move --help')",
				arg);
			return EXIT_USAGE;
		} else if (pid_text) {
			die_msg("move: one PID only ('%s' and '%s' given)",
				pid_text, arg);
			return EXIT_USAGE;
		} else {
			pid_text = arg;
		}
	}
	if (!pid_text) {
		die_msg("move: no PID given (membind move PID --to LIST [--from LIST])");
		return EXIT_USAGE;
	}
	if (!to_text) {
		die_msg("move: --to LIST is required");
		return EXIT_USAGE;
	}
	ret = list_arg("move", "--to", to_text, true, true, &to);
	if (ret)
		return ret;
	ret = list_arg("move", "--from", from_text ? from_text : "all",
		       true, false, &from);
	if (ret)
		goto out;
	ret = pid_arg("move", pid_text, &pid);
	if (ret)
		goto out;

	/* Pages already on a target memblk stay where they are. */
	for (unsigned int i = 0; i < MEMBIND_MASK_LONGS(from.len); i++)
		from.mask[i] &= ~to.mask[i];
	targets = calloc(to.len, sizeof(int));
	if (!targets) {
		ret = EXIT_RUNTIME;
		goto out;
	}
	for (int m = 0; (unsigned)m < to.len; m++)
		if (bit(&to, m))
			targets[ntargets++] = m;

	ret = residency_read(pid, &r);
	if (ret < 0) {
		ret = report_bind_error("move", pid, ret, 0, NULL);
		goto out;
	}
	for (size_t i = 0; i < r.nvmas; i++)
		for (int m = 0; m < r.nmemblks; m++)
			if (bit(&from, m))
				p.total += r.vmas[i].pages[m] * r.vmas[i].page_size;

	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	p.bar = isatty(STDERR_FILENO);
	p.t0 = now();
	for (size_t i = 0; i < r.nvmas && !stop && p.total; i++) {
		const struct vma *v = &r.vmas[i];
		bool some = false;

		for (int m = 0; m < r.nmemblks; m++)
			some |= bit(&from, m) && v->pages[m];
		if (!some || v->end <= v->start)
			continue;
		ret = move_vma(pid, v, &from, targets, ntargets, &p);
		if (ret < 0)
			break;
	}
	if (p.done > p.total)
		p.total = p.done;
	if (!stop && ret >= 0)
		p.done = p.total; /* pages freed meanwhile: nothing left */
	draw(&p, true);
	if (ret < 0) {
		ret = report_bind_error("move", pid, ret, 0, NULL);
		goto out;
	}
	tl = mbmask_text(&to);
	proc_comm(pid, comm, sizeof(comm));
	if (summary) {
		double el = now() - p.t0;

		printf("%s%s moved to memblk%s %s of process %d (%s) in %.1fs (%s/s)",
		       stop ? "interrupted: " : "",
		       human_size(p.moved, a, sizeof(a)),
		       ntargets == 1 ? "" : "s", tl ? tl : "?", (int)pid, comm,
		       el, human_size(el > 0 ? (uint64_t)((double)p.moved / el) : 0,
				      b, sizeof(b)));
		if (p.failed_pages)
			printf("; %llu page%s (%s) stayed: %s",
			       (unsigned long long)p.failed_pages,
			       p.failed_pages == 1 ? "" : "s",
			       human_size(p.failed, c, sizeof(c)),
			       p.first_err == -EACCES ?
				       "shared with other processes" :
			       p.first_err == -EBUSY ? "busy" :
			       p.first_err == -ENOMEM ? "target memblk full" :
			       p.first_err ? strerror(-p.first_err) :
						"still elsewhere");
		if (stop)
			printf("; the rest stays where it was");
		putchar('\n');
	}
	ret = stop ? EXIT_INTERRUPTED : 0;
out:
	free(tl);
	free(targets);
	residency_free(&r);
	mbmask_free(&to);
	mbmask_free(&from);
	return ret;
}
