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

/* The options as given, checked after the last one. */
struct move_args {
	const char *pid_text, *to_text, *from_text, *threads_text;
};

struct move_opts {
	struct move_args args;
	pid_t pid;
	struct mbmask to, from;  /* from: the pages to move, by memblk */
	bool from_given;
	const char *scheme_opt;  /* --spread, --weighted, --stripe, or NULL */
	unsigned long behavior;  /* where the scheme puts a page */
	unsigned int threads;    /* 0: the library's default */
};

static const struct option move_longopts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "to", required_argument, NULL, OPT_TO },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "spread", no_argument, NULL, OPT_SPREAD },
	{ "weighted", no_argument, NULL, OPT_MOVE_WEIGHTED },
	{ "stripe", required_argument, NULL, OPT_STRIPE_SIZE },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ NULL, 0, NULL, 0 },
};

static int move_opt(struct opt_state *st, int c, void *opts)
{
	struct move_opts *o = opts;
	struct move_args *a = &o->args;
	const char **dst, *v;
	unsigned int order;

	switch (c) {
	case OPT_TO:
	case OPT_FROM:
		dst = c == OPT_TO ? &a->to_text : &a->from_text;
		v = opt_need(st, "a LIST");
		if (!v)
			return EXIT_USAGE;
		if (*dst) {
			print_error("move: %s given twice", st->name);
			return EXIT_USAGE;
		}
		*dst = v;
		return 0;
	case OPT_SPREAD:
	case OPT_MOVE_WEIGHTED:
	case OPT_STRIPE_SIZE:
		if (o->scheme_opt) {
			print_error("move: %s and %s: one scheme only",
				    o->scheme_opt,
				    c == OPT_SPREAD ? "--spread" :
				    c == OPT_MOVE_WEIGHTED ? "--weighted" :
							     "--stripe");
			return EXIT_USAGE;
		}
		if (c == OPT_SPREAD) {
			o->scheme_opt = "--spread";
			o->behavior = MEMBIND_ROUND_ROBIN;
			return 0;
		}
		if (c == OPT_MOVE_WEIGHTED) {
			o->scheme_opt = "--weighted";
			o->behavior = MEMBIND_WEIGHTED;
			return 0;
		}
		o->scheme_opt = "--stripe";
		v = opt_need(st, "a SIZE");
		if (!v)
			return EXIT_USAGE;
		order = stripe_order(v);
		if (!order) {
			print_error("move: --stripe '%s': a power of two from 4K to 1G (4096, 64K, 2M, 1G)",
				    v);
			return EXIT_USAGE;
		}
		o->behavior = MEMBIND_STRIPE | MEMBIND_STRIPE_SIZE(order);
		return 0;
	case OPT_THREADS:
		a->threads_text = opt_need(st, "a number");
		return a->threads_text ? 0 : EXIT_USAGE;
	default: /* OPT_ARG */
		return pid_opt(st, &a->pid_text);
	}
}

static int move_parse(int argc, char **argv, void *opts)
{
	struct move_opts *o = opts;
	const struct move_args *a = &o->args;
	struct opt_state st;
	int ret;

	o->behavior = MEMBIND_HARD;
	opt_init(&st, "move", argc, argv, move_longopts, OPT_ARGS_PIDS, true);
	ret = opt_parse(&st, move_opt, o);
	if (ret)
		return ret;
	if (!a->pid_text)
		return no_pid("move", "membind move PID --to LIST [--from LIST]");
	if (!a->to_text) {
		print_error("move: --to LIST is required");
		return EXIT_USAGE;
	}
	if (a->threads_text) {
		char *e;
		unsigned long n = strtoul(a->threads_text, &e, 10);

		if (*e || e == a->threads_text || n < 1 || n > 64 ||
		    a->threads_text[0] == '-') {
			print_error("move: --threads '%s': a number from 1 to 64",
				    a->threads_text);
			return EXIT_USAGE;
		}
		o->threads = (unsigned int)n;
	}
	ret = list_arg("move", "--to", a->to_text, true, true, &o->to);
	if (ret)
		return ret;
	ret = list_arg("move", "--from", a->from_text ? a->from_text : "all",
		       true, false, &o->from);
	if (ret)
		return ret;
	o->from_given = a->from_text != NULL;
	return pid_arg("move", a->pid_text, &o->pid);
}

/* The summary line on a terminal: "8.0M moved to memblk 1 of process ...". */
static void move_summary(const struct move_opts *o, const struct progress *p,
			 const struct mem_move_stats *st, const char *tl,
			 const char *comm, int ntargets)
{
	double el = now() - p->t0;
	uint64_t moved = st->moved * st->page_size;
	char a[16], b[16];

	printf("%s%s moved to memblk%s %s of process %d (%s) in %.1fs (%s/s, %u thread%s)",
	       stop ? "interrupted: " : "", human_size(moved, a, sizeof(a)),
	       ntargets == 1 ? "" : "s", tl ? tl : "?", (int)o->pid, comm, el,
	       human_size(el > 0 ? (uint64_t)((double)moved / el) : 0, b,
			  sizeof(b)),
	       st->threads, st->threads == 1 ? "" : "s");
	if (stop)
		printf("; the rest stays where it was");
	putchar('\n');
}

static int move_run(void *opts)
{
	struct move_opts *o = opts;
	struct progress p = { 0 };
	struct residency r = { 0 };
	struct sigaction sa = { 0 };
	struct mem_move_opts mo = MEM_MOVE_OPTS_INIT;
	struct mem_move_stats st = MEM_MOVE_STATS_INIT;
	char comm[32], *tl = NULL;
	int ret, ntargets = 0;
	bool summary = isatty(STDOUT_FILENO);

	/* By default, pages already on a target memblk stay where they are;
	 * a scheme places every page (of --from, if given). */
	if (!o->scheme_opt)
		for (unsigned int i = 0; i < MEMBIND_MASK_LONGS(o->from.len); i++)
			o->from.mask[i] &= ~o->to.mask[i];
	for (unsigned int m = 0; m < o->to.len; m++)
		ntargets += memblk_mask_test(o->to.len, o->to.mask, (int)m);
	mo.threads = o->threads;
	if (!o->scheme_opt || o->from_given) {
		mo.from = o->from.mask;
		mo.from_len = o->from.len;
	}

	ret = residency_read(o->pid, &r);
	if (ret < 0) {
		ret = report_bind_error("move", o->pid, ret, 0, NULL);
		goto out;
	}
	for (size_t i = 0; i < r.nvmas; i++)
		for (int m = 0; m < r.nmemblks; m++)
			if (memblk_mask_test(o->from.len, o->from.mask, m))
				p.total += r.vmas[i].pages[m] * r.vmas[i].page_size;

	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	p.bar = isatty(STDERR_FILENO);
	p.t0 = now();
	mo.progress = on_progress;
	mo.arg = &p;
	ret = p.total ? mem_move(o->pid, NULL, 0, o->to.len, o->to.mask,
				 o->behavior, &mo, &st) :
			0;
	if (p.done > p.total)
		p.total = p.done;
	if (ret >= 0)
		p.done = p.total; /* pages freed meanwhile: nothing left */
	draw(&p, true);
	if (ret == -ECANCELED)
		ret = 0, stop = 1;
	if (ret < 0) {
		ret = report_bind_error("move", o->pid, ret, o->behavior, &o->to);
		goto out;
	}
	tl = mbmask_text(&o->to);
	proc_comm(o->pid, comm, sizeof(comm));
	if (summary)
		move_summary(o, &p, &st, tl, comm, ntargets);
	move_report_stayed("move", &st);
	ret = stop ? EXIT_INTERRUPTED : 0;
out:
	free(tl);
	residency_free(&r);
	return ret;
}

static void move_done(void *opts)
{
	struct move_opts *o = opts;

	mbmask_free(&o->to);
	mbmask_free(&o->from);
}

const struct command cmd_move = {
	"move", move_usage, sizeof(struct move_opts), move_parse, move_run,
	move_done,
};
