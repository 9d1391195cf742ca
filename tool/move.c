/* SPDX-License-Identifier: MIT */
/* membind move PID --to LIST [--from LIST] [--spread | --weighted |
 * --stripe SIZE] [--threads N]: place a process's pages.
 *
 * The work is mem_move()'s: each page goes where the scheme puts it (the
 * default: the pages on --from, which is every memblk not in --to, spread
 * over --to in the kernel's interleave order; --spread: every page in that
 * order; --weighted: by the weighted-interleave weights; --stripe: stripe i
 * of each mapping on the i-th memblk), in several threads, huge pages
 * whole.  Its progress callback draws the bar and reads the flag that
 * SIGINT/SIGTERM set: the move stops after the batches under way, and every
 * page is then on its old memblk or its new one; the process never
 * notices. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "membind.h"
#include "tool.h"

static const char move_usage[] =
	"Usage: membind move PID --to LIST [--from LIST] [--spread | --weighted |\n"
	"                    --stripe SIZE] [--threads N]\n"
	"Move the pages of process PID so that they end where the scheme puts\n"
	"them:\n"
	"  (default)      the pages on the memblks of --from (default: all but\n"
	"                 --to) go to --to, spread in the kernel's interleave order\n"
	"  --spread       every page spread over --to in interleave order, as\n"
	"                 --round-robin would have allocated it\n"
	"  --weighted     every page spread over --to by the weighted-interleave\n"
	"                 weights (/sys/kernel/mm/mempolicy/weighted_interleave)\n"
	"  --stripe SIZE  stripe i (SIZE bytes, a power of two: 4K to 1G) of each\n"
	"                 mapping on the i-th memblk of --to\n"
	"  --threads N    migrate in N threads (default: $MEMBIND_MOVE_THREADS, else\n"
	"                 one per CPU, at most 8, fewer for small moves)\n"
	"Huge pages move whole.  On a terminal: a progress bar and a summary; pages\n"
	"that could not move are counted on stderr.  Ctrl-C stops after the\n"
	"batches under way, each page then being on its old or its new memblk.\n"
	"The binding is not changed (see 'membind set --move').\n"
	"LIST: memblk ids and ranges (0-2,5), all, a leading ! to invert, nodes as\n"
	"n0,n2-3.\n";

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
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

/* mem_move()'s progress callback: the bar, and the stop flag. */
static int on_progress(void *arg, const struct mem_move_stats *st)
{
	struct progress *p = arg;

	p->done = (st->scanned) * st->page_size;
	p->moved = st->moved * st->page_size;
	draw(p, false);
	return stop != 0;
}

/* "2M", "1048576", "64K", "1G": a power of two of 4 KiB to 1 GiB, as an
 * order; 0 if it is not one. */
static unsigned int stripe_order(const char *s)
{
	unsigned long long v;
	unsigned int o = 0;
	char *e;

	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || e == s)
		return 0;
	if (*e == 'K' || *e == 'k')
		v <<= 10, e++;
	else if (*e == 'M' || *e == 'm')
		v <<= 20, e++;
	else if (*e == 'G' || *e == 'g')
		v <<= 30, e++;
	if (*e == 'i' && e[1] == 'B')
		e += 2;
	else if (*e == 'B' && e[-1] != *s)
		e++;
	if (*e || !v || (v & (v - 1)))
		return 0;
	while ((1ULL << o) < v)
		o++;
	return o >= MEMBIND_STRIPE_MIN_ORDER && o <= MEMBIND_STRIPE_MAX_ORDER ?
		       o :
		       0;
}

/* Pages that could not move, on stderr: "membind: CMD: 768 pages (3.0M)
 * could not move: 768 shared with other processes". */
void move_report_stayed(const char *cmd, const struct mem_move_stats *st)
{
	static const char *const what[] = {
		"shared with other processes", "pinned or busy",
		"no room on the target memblks", "other errors",
	};
	uint64_t n[4] = {st->shared, st->busy, st->nomem, st->other};
	char a[16], why[256] = "";
	size_t len = 0;

	if (!st->failed)
		return;
	for (int i = 0; i < 4; i++) {
		if (!n[i] || len >= sizeof(why))
			continue;
		len += (size_t)snprintf(why + len, sizeof(why) - len, "%s%llu %s",
					len ? ", " : "", (unsigned long long)n[i],
					i == 3 && st->first_error ?
						strerror(-st->first_error) :
						what[i]);
	}
	print_error("%s: %llu page%s (%s) could not move: %s", cmd,
		    (unsigned long long)st->failed, st->failed == 1 ? "" : "s",
		    human_size(st->failed * st->page_size, a, sizeof(a)), why);
}

int cmd_move(int argc, char **argv)
{
	const char *pid_text = NULL, *to_text = NULL, *from_text = NULL;
	const char *scheme_opt = NULL, *threads_text = NULL;
	struct mbmask to = { 0 }, from = { 0 };
	struct progress p = { 0 };
	struct residency r = { 0 };
	struct sigaction sa = { 0 };
	struct mem_move_opts o = MEM_MOVE_OPTS_INIT;
	struct mem_move_stats st = MEM_MOVE_STATS_INIT;
	unsigned long behavior = MEMBIND_HARD;
	char comm[32], a[16], b[16], *tl = NULL;
	int ret, ntargets = 0;
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
				print_error("move: %s given twice", name);
				return EXIT_USAGE;
			}
			*dst = v;
		} else if (!strcmp(arg, "--spread") || !strcmp(arg, "--weighted") ||
			   opt_is(arg, "--stripe")) {
			const char *name = opt_is(arg, "--stripe") ? "--stripe" : arg;

			if (scheme_opt) {
				print_error("move: %s and %s: one scheme only",
					    scheme_opt, name);
				return EXIT_USAGE;
			}
			scheme_opt = name;
			if (!strcmp(name, "--spread")) {
				behavior = MEMBIND_ROUND_ROBIN;
			} else if (!strcmp(name, "--weighted")) {
				behavior = MEMBIND_WEIGHTED;
			} else {
				const char *v = opt_value("move", argc, argv, &i,
							  "--stripe", "a SIZE");
				unsigned int order;

				if (!v)
					return EXIT_USAGE;
				order = stripe_order(v);
				if (!order) {
					print_error("move: --stripe '%s': a power of two from 4K to 1G (4096, 64K, 2M, 1G)",
						    v);
					return EXIT_USAGE;
				}
				behavior = MEMBIND_STRIPE |
					   MEMBIND_STRIPE_SIZE(order);
			}
		} else if (opt_is(arg, "--threads")) {
			threads_text = opt_value("move", argc, argv, &i,
						 "--threads", "a number");
			if (!threads_text)
				return EXIT_USAGE;
		} else if (arg[0] == '-' && arg[1] &&
			   !(arg[1] >= '0' && arg[1] <= '9')) {
			print_error("move: unknown option '%s' (try 'membind move --help')",
				    arg);
			return EXIT_USAGE;
		} else if (pid_text) {
			print_error("move: one PID only ('%s' and '%s' given)",
				    pid_text, arg);
			return EXIT_USAGE;
		} else {
			pid_text = arg;
		}
	}
	if (!pid_text) {
		print_error("move: no PID given (membind move PID --to LIST [--from LIST])");
		return EXIT_USAGE;
	}
	if (!to_text) {
		print_error("move: --to LIST is required");
		return EXIT_USAGE;
	}
	if (threads_text) {
		char *e;
		unsigned long n = strtoul(threads_text, &e, 10);

		if (*e || e == threads_text || n < 1 || n > 64 ||
		    threads_text[0] == '-') {
			print_error("move: --threads '%s': a number from 1 to 64",
				    threads_text);
			return EXIT_USAGE;
		}
		o.threads = (unsigned int)n;
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

	/* By default, pages already on a target memblk stay where they are;
	 * a scheme places every page (of --from, if given). */
	if (!scheme_opt)
		for (unsigned int i = 0; i < MEMBIND_MASK_LONGS(from.len); i++)
			from.mask[i] &= ~to.mask[i];
	for (unsigned int m = 0; m < to.len; m++)
		ntargets += memblk_mask_test(to.len, to.mask, (int)m);
	if (!scheme_opt || from_text) {
		o.from = from.mask;
		o.from_len = from.len;
	}

	ret = residency_read(pid, &r);
	if (ret < 0) {
		ret = report_bind_error("move", pid, ret, 0, NULL);
		goto out;
	}
	for (size_t i = 0; i < r.nvmas; i++)
		for (int m = 0; m < r.nmemblks; m++)
			if (memblk_mask_test(from.len, from.mask, m))
				p.total += r.vmas[i].pages[m] * r.vmas[i].page_size;

	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	p.bar = isatty(STDERR_FILENO);
	p.t0 = now();
	o.progress = on_progress;
	o.arg = &p;
	ret = p.total ? mem_move(pid, NULL, 0, to.len, to.mask, behavior, &o,
				 &st) :
			0;
	if (p.done > p.total)
		p.total = p.done;
	if (ret >= 0)
		p.done = p.total; /* pages freed meanwhile: nothing left */
	draw(&p, true);
	if (ret == -ECANCELED)
		ret = 0, stop = 1;
	if (ret < 0) {
		ret = report_bind_error("move", pid, ret, behavior, &to);
		goto out;
	}
	tl = mbmask_text(&to);
	proc_comm(pid, comm, sizeof(comm));
	if (summary) {
		double el = now() - p.t0;
		uint64_t moved = st.moved * st.page_size;

		printf("%s%s moved to memblk%s %s of process %d (%s) in %.1fs (%s/s, %u thread%s)",
		       stop ? "interrupted: " : "",
		       human_size(moved, a, sizeof(a)),
		       ntargets == 1 ? "" : "s", tl ? tl : "?", (int)pid, comm,
		       el, human_size(el > 0 ? (uint64_t)((double)moved / el) : 0,
				      b, sizeof(b)),
		       st.threads, st.threads == 1 ? "" : "s");
		if (stop)
			printf("; the rest stays where it was");
		putchar('\n');
	}
	move_report_stayed("move", &st);
	ret = stop ? EXIT_INTERRUPTED : 0;
out:
	free(tl);
	residency_free(&r);
	mbmask_free(&to);
	mbmask_free(&from);
	return ret;
}
