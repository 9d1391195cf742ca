/* SPDX-License-Identifier: MIT */
/* membind get PID [--json]: the binding of a process (per thread when they
 * differ) and where its memory lives, per memblk.
 * membind set PID BINDING [--move [--threads N]]: rebind a running process. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "membind.h"
#include "tool.h"

static const char get_usage[] =
	"Usage: membind get PID [--json]\n"
	"Show the binding of process PID (per thread when its threads differ)\n"
	"and where its memory lives per memblk: heap, stack, other anonymous\n"
	"memory, files, huge pages.  --json: one JSON document.\n";

static const char set_usage[] =
	"Usage: membind set PID BINDING [--move [--threads N]]\n"
	"Rebind every thread of process PID (new allocations follow BINDING).\n"
	"  --hard LIST | --soft LIST | --round-robin LIST | --weighted LIST\n"
	"  | --first-touch [LIST] | --default\n"
	"  --move   also move the pages already allocated to where BINDING puts\n"
	"           new ones (--round-robin, --weighted: spread again over LIST;\n"
	"           --hard, --first-touch: those outside LIST; --soft: into LIST\n"
	"           as far as there is room); pages that cannot move are counted\n"
	"           on stderr; Ctrl-C stops it (see also 'membind move')\n"
	"  --threads N  migrate in N threads (default: $MEMBIND_MOVE_THREADS, else\n"
	"           one per CPU, at most 8)\n"
	"LIST: memblk ids and ranges (0-2,5), all, a leading ! to invert, nodes as\n"
	"n0,n2-3.  See membind(1).\n";

/* ---- per-thread bindings, from /proc/PID/task/TID/numa_maps ----
 * A mapping without a policy of its own shows the thread's policy there, in
 * the kernel's words (mpol_to_str): "bind=static:0-1", "prefer (many):2",
 * "weighted interleave:0-3", "local", "default". */
static const struct {
	const char *word;
	unsigned long scheme;
} kpol_words[] = {
	{ "weighted interleave", MEMBIND_WEIGHTED },
	{ "prefer (many)", MEMBIND_SOFT },
	{ "interleave", MEMBIND_ROUND_ROBIN },
	{ "prefer", MEMBIND_SOFT },
	{ "bind", MEMBIND_HARD },
	{ "local", MEMBIND_FIRST_TOUCH },
	{ "default", MEMBIND_DEFAULT },
};

static int thread_binding(pid_t pid, pid_t tid, char *out, size_t size)
{
	char path[96], line[512], *p, *end;
	unsigned long behavior = MEMBIND_DEFAULT;
	struct mbmask m = { 0 };
	size_t k;
	FILE *f;
	int n = memblk_count();

	snprintf(path, sizeof(path), "/proc/%d/task/%d/numa_maps", (int)pid,
		 (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (!p || n < 0)
		return -EIO;
	p = strchr(line, ' ');
	if (!p)
		return -EIO;
	p++;
	for (k = 0; k < sizeof(kpol_words) / sizeof(kpol_words[0]); k++)
		if (!strncmp(p, kpol_words[k].word, strlen(kpol_words[k].word)))
			break;
	if (k == sizeof(kpol_words) / sizeof(kpol_words[0]))
		return -EIO;
	behavior = kpol_words[k].scheme;
	p += strlen(kpol_words[k].word);
	m.len = n > 0 ? (unsigned)n : 1;
	m.mask = calloc(MEMBIND_MASK_LONGS(m.len), sizeof(long));
	if (!m.mask)
		return -ENOMEM;
	if (*p == '=') {
		end = p + strcspn(p, ": ");
		if (behavior == MEMBIND_HARD && memmem(p, (size_t)(end - p), "static", 6))
			behavior = MEMBIND_FIRST_TOUCH;
		if (memmem(p, (size_t)(end - p), "balancing", 9))
			behavior |= MEMBIND_BALANCING;
		p = end;
	}
	if (*p == ':') {
		p++;
		while (*p >= '0' && *p <= '9') {
			long a = strtol(p, &end, 10), b = a;

			if (*end == '-')
				b = strtol(end + 1, &end, 10);
			for (long node = a; node <= b; node++)
				memblk_mask_set(m.len, m.mask,
						node_to_memblk((int)node));
			p = *end == ',' ? end + 1 : end;
		}
	}
	binding_text(behavior, m.mask, m.len, out, size);
	mbmask_free(&m);
	return 0;
}

struct group {
	char text[300];
	pid_t *tids;
	int n;
};

static int task_ids(pid_t pid, pid_t **tids)
{
	char path[64];
	struct dirent *d;
	int n = 0, cap = 0;
	DIR *dir;

	*tids = NULL;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		if (n == cap) {
			pid_t *t2;

			cap = cap ? 2 * cap : 16;
			t2 = realloc(*tids, (size_t)cap * sizeof(pid_t));
			if (!t2) {
				closedir(dir);
				return -ENOMEM;
			}
			*tids = t2;
		}
		(*tids)[n++] = (pid_t)atoi(d->d_name);
	}
	closedir(dir);
	return n;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Threads grouped by binding; with mixed false, one group of them all. */
static int thread_groups(pid_t pid, bool mixed, const char *proc_text,
			 struct group **out, int *ngroups, int *nthreads)
{
	struct group *g = NULL;
	pid_t *tids;
	int n = task_ids(pid, &tids), ng = 0;

	if (n < 0)
		return n;
	qsort(tids, (size_t)n, sizeof(pid_t), cmp_pid);
	*nthreads = n;
	g = calloc((size_t)n + 1, sizeof(*g));
	if (!g) {
		free(tids);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		char text[300];
		int k;

		if (!mixed || thread_binding(pid, tids[i], text, sizeof(text)))
			snprintf(text, sizeof(text), "%s", proc_text);
		for (k = 0; k < ng; k++)
			if (!strcmp(g[k].text, text))
				break;
		if (k == ng) {
			snprintf(g[ng].text, sizeof(g[ng].text), "%s", text);
			g[ng].tids = calloc((size_t)n, sizeof(pid_t));
			if (!g[ng].tids) {
				free(tids);
				*out = g;
				*ngroups = ng;
				return -ENOMEM;
			}
			ng++;
		}
		g[k].tids[g[k].n++] = tids[i];
	}
	free(tids);
	*out = g;
	*ngroups = ng;
	return 0;
}

static void print_tids(FILE *f, const struct group *g, bool json)
{
	for (int i = 0; i < g->n; i++)
		fprintf(f, "%s%d", i ? "," : "", (int)g->tids[i]);
	(void)json;
}

static void residency_table(const struct residency *r, FILE *f)
{
	char buf[16];

	fprintf(f, "%-9s", "memory");
	for (int m = 0; m < r->nmemblks; m++) {
		char h[24];

		snprintf(h, sizeof(h), "memblk %d", m);
		fprintf(f, " %10s", h);
	}
	fprintf(f, " %10s\n%-9s", "total", "  node");
	for (int m = 0; m < r->nmemblks; m++)
		fprintf(f, " %10d", memblk_to_node(m));
	fputc('\n', f);
	for (int k = 0; k <= VMA_KINDS; k++) {
		uint64_t sum = 0;

		fprintf(f, "  %-7s", k < VMA_KINDS ? vma_kind_name[k] : "total");
		for (int m = 0; m < r->nmemblks; m++) {
			uint64_t b = k < VMA_KINDS ?
					     r->kind_bytes[k * r->nmemblks + m] :
					     r->memblk_bytes[m];

			sum += b;
			fprintf(f, " %10s", human_size(b, buf, sizeof(buf)));
		}
		fprintf(f, " %10s\n", human_size(sum, buf, sizeof(buf)));
	}
}

static void residency_json(const struct residency *r, FILE *f)
{
	fprintf(f, "\"memory\":{\"memblks\":[");
	for (int m = 0; m < r->nmemblks; m++) {
		fprintf(f, "%s{\"memblk\":%d,\"node\":%d", m ? "," : "", m,
			memblk_to_node(m));
		for (int k = 0; k < VMA_KINDS; k++)
			fprintf(f, ",\"%s_bytes\":%llu", vma_kind_name[k],
				(unsigned long long)r->kind_bytes[k * r->nmemblks + m]);
		fprintf(f, ",\"total_bytes\":%llu}",
			(unsigned long long)r->memblk_bytes[m]);
	}
	fprintf(f, "],\"total_bytes\":%llu}", (unsigned long long)r->total);
}

struct get_opts {
	const char *pid_text;
	pid_t pid;
	bool json;
};

static const struct option get_longopts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 },
};

static int get_opt(struct opt_state *st, int c, void *opts)
{
	struct get_opts *o = opts;

	if (c == OPT_ARG)
		return pid_opt(st, &o->pid_text);
	o->json = true; /* OPT_JSON */
	return 0;
}

static int get_parse(int argc, char **argv, void *opts)
{
	struct get_opts *o = opts;
	struct opt_state st;
	int ret;

	opt_init(&st, "get", argc, argv, get_longopts, OPT_ARGS_PIDS, true);
	ret = opt_parse(&st, get_opt, o);
	if (ret)
		return ret;
	if (!o->pid_text)
		return no_pid("get", "membind get PID [--json]");
	return pid_arg("get", o->pid_text, &o->pid);
}

/* What get prints, read from the process. */
struct get_report {
	unsigned long behavior;
	struct mbmask m;
	char text[300];   /* the binding in words */
	struct group *g;  /* threads by binding */
	int ng, nthreads;
	struct residency r;
	char comm[32];
};

static void get_report_free(struct get_report *rep)
{
	for (int k = 0; rep->g && k < rep->ng; k++)
		free(rep->g[k].tids);
	free(rep->g);
	mbmask_free(&rep->m);
}

/* Read the binding, the threads and the residency of pid into rep.
 * Returns 0 or an exit code, the message printed. */
static int get_read(pid_t pid, struct get_report *rep)
{
	int ret;

	ret = memblk_count();
	rep->m.len = ret > 0 ? (unsigned)ret : 1;
	rep->m.mask = calloc(MEMBIND_MASK_LONGS(rep->m.len), sizeof(long));
	if (!rep->m.mask)
		return EXIT_RUNTIME;
	ret = mem_getbinding(pid, rep->m.len, rep->m.mask, &rep->behavior);
	if (ret < 0)
		return report_bind_error("get", pid, ret, 0, NULL);
	binding_text(rep->behavior, rep->m.mask, rep->m.len, rep->text,
		     sizeof(rep->text));
	ret = thread_groups(pid, rep->behavior & MEMBIND_MIXED, rep->text,
			    &rep->g, &rep->ng, &rep->nthreads);
	if (!ret)
		ret = residency_read(pid, &rep->r);
	if (ret < 0)
		return report_bind_error("get", pid, ret, 0, NULL);
	proc_comm(pid, rep->comm, sizeof(rep->comm));
	return 0;
}

static void get_print_json(pid_t pid, const struct get_report *rep,
			   const char *list)
{
	unsigned long behavior = rep->behavior;

	fprintf(stdout, "{\"pid\":%d,\"command\":", (int)pid);
	json_str(stdout, rep->comm);
	fprintf(stdout, ",\"threads\":%d,\"binding\":{\"scheme\":",
		rep->nthreads);
	json_str(stdout, membind_scheme_name(behavior) ?
				 membind_scheme_name(behavior) : "unknown");
	fprintf(stdout, ",\"memblks\":");
	json_str(stdout, list ? list : "");
	fprintf(stdout, ",\"balancing\":%s,\"mixed\":%s,\"text\":",
		(behavior & MEMBIND_BALANCING) ? "true" : "false",
		(behavior & MEMBIND_MIXED) ? "true" : "false");
	json_str(stdout, rep->text);
	fprintf(stdout, "},\"thread_bindings\":[");
	for (int k = 0; k < rep->ng; k++) {
		fprintf(stdout, "%s{\"binding\":", k ? "," : "");
		json_str(stdout, rep->g[k].text);
		fprintf(stdout, ",\"tids\":[");
		print_tids(stdout, &rep->g[k], true);
		fprintf(stdout, "]}");
	}
	fprintf(stdout, "],");
	residency_json(&rep->r, stdout);
	fprintf(stdout, "}\n");
}

static void get_print_text(pid_t pid, const struct get_report *rep)
{
	printf("process %d (%s), %d thread%s\n", (int)pid, rep->comm,
	       rep->nthreads, rep->nthreads == 1 ? "" : "s");
	if (!(rep->behavior & MEMBIND_MIXED)) {
		printf("binding: %s\n", rep->text);
	} else {
		printf("binding: mixed, threads differ (all together: %s)\n",
		       rep->text);
		for (int k = 0; k < rep->ng; k++) {
			printf("  thread%s ", rep->g[k].n == 1 ? "" : "s");
			print_tids(stdout, &rep->g[k], false);
			printf(": %s\n", rep->g[k].text);
		}
	}
	residency_table(&rep->r, stdout);
}

static int get_run(void *opts)
{
	const struct get_opts *o = opts;
	struct get_report rep = { 0 };
	char *list;
	int ret;

	ret = get_read(o->pid, &rep);
	if (ret) {
		get_report_free(&rep);
		return ret;
	}
	list = mbmask_text(&rep.m);
	if (o->json)
		get_print_json(o->pid, &rep, list);
	else
		get_print_text(o->pid, &rep);
	free(list);
	get_report_free(&rep);
	residency_free(&rep.r);
	return fflush(stdout) ? EXIT_RUNTIME : 0;
}

const struct command cmd_get = {
	"get", get_usage, sizeof(struct get_opts), get_parse, get_run, NULL,
};

static volatile sig_atomic_t set_stop;

static void set_on_stop(int sig)
{
	(void)sig;
	set_stop = 1;
}

static int set_progress(void *arg, const struct mem_move_stats *st)
{
	(void)arg;
	(void)st;
	return set_stop != 0;
}

/* --move: what MEMBIND_MOVE does (the mappings that follow the process
 * binding, placed as it places new pages), through mem_move() for its
 * counts: pages that stayed are reported; SIGINT/SIGTERM stop it between
 * batches, every page on its old or its new memblk. */
static int set_move(pid_t pid, const struct binding *b, unsigned int threads)
{
	struct mem_move_opts o = MEM_MOVE_OPTS_INIT;
	struct mem_move_stats st = MEM_MOVE_STATS_INIT;
	struct sigaction sa = { 0 };
	unsigned long scheme = b->behavior & MEMBIND_SCHEME_MASK;
	bool any = false;
	int ret;

	for (unsigned int i = 0; b->m.mask && i < MEMBIND_MASK_LONGS(b->m.len); i++)
		any |= b->m.mask[i] != 0;
	if (scheme == MEMBIND_DEFAULT || !any)
		return 0; /* DEFAULT, FIRST_TOUCH anywhere: all conform */
	sa.sa_handler = set_on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o.flags = MEM_MOVE_PROCESS_POLICY;
	o.threads = threads;
	o.progress = set_progress;
	ret = mem_move(pid, NULL, 0, b->m.len, b->m.mask, b->behavior, &o, &st);
	if (ret == -ECANCELED) {
		print_error("set: interrupted: the binding is set, %llu pages moved, the rest stays where it was",
			    (unsigned long long)st.moved);
		return EXIT_INTERRUPTED;
	}
	if (ret < 0) {
		report_bind_error("set", pid, ret, b->behavior, &b->m);
		return EXIT_RUNTIME;
	}
	move_report_stayed("set", &st);
	return 0;
}

struct set_opts {
	const char *pid_text;
	pid_t pid;
	struct binding b;
	bool move;
	unsigned int threads; /* 0: the library's default */
};

static const struct option set_longopts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	BINDING_LONGOPTS,
	{ "move", no_argument, NULL, OPT_MOVE },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ NULL, 0, NULL, 0 },
};

static int set_opt(struct opt_state *st, int c, void *opts)
{
	struct set_opts *o = opts;
	unsigned long n;
	const char *v;
	char *e;

	switch (c) {
	case OPT_BINDING_FIRST ... OPT_BINDING_LAST:
		return binding_opt(st, c, &o->b);
	case OPT_MOVE:
		o->move = true;
		return 0;
	case OPT_THREADS:
		v = opt_need(st, "a number");
		if (!v)
			return EXIT_USAGE;
		n = strtoul(v, &e, 10);
		if (*e || e == v || v[0] == '-' || n < 1 || n > 64) {
			print_error("set: --threads '%s': a number from 1 to 64",
				    v);
			return EXIT_USAGE;
		}
		o->threads = (unsigned int)n;
		return 0;
	default: /* OPT_ARG */
		return pid_opt(st, &o->pid_text);
	}
}

static int set_parse(int argc, char **argv, void *opts)
{
	struct set_opts *o = opts;
	struct opt_state st;
	int ret;

	opt_init(&st, "set", argc, argv, set_longopts, OPT_ARGS_PIDS, true);
	ret = opt_parse(&st, set_opt, o);
	if (ret)
		return ret;
	if (!o->pid_text)
		return no_pid("set", "membind set PID BINDING [--move]");
	if (!o->b.given) {
		print_error("set: no BINDING given (--hard LIST, --soft LIST, --round-robin LIST, --weighted LIST, --first-touch [LIST] or --default)");
		return EXIT_USAGE;
	}
	return pid_arg("set", o->pid_text, &o->pid);
}

static int set_run(void *opts)
{
	const struct set_opts *o = opts;
	const struct binding *b = &o->b;
	int ret;

	ret = mem_setbinding(o->pid, b->m.len, b->m.mask, b->behavior);
	if (ret < 0)
		return report_bind_error("set", o->pid, ret, b->behavior, &b->m);
	if (!o->move)
		return 0;
	return set_move(o->pid, b, o->threads);
}

static void set_done(void *opts)
{
	struct set_opts *o = opts;

	mbmask_free(&o->b.m);
}

const struct command cmd_set = {
	"set", set_usage, sizeof(struct set_opts), set_parse, set_run,
	set_done,
};
