/* SPDX-License-Identifier: MIT */
/* membind where PID [--maps] [--json]: residency per memblk, and with --maps
 * per mapping (heap, stack, each file, each anonymous region). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "membind.h"
#include "tool.h"

static const char where_usage[] =
	"Usage: membind where PID [--maps] [--json | --svg [FILE]]\n"
	"Show where the resident memory of process PID lives, per memblk.\n"
	"  --maps   also per mapping: heap, stack, each file, each anonymous\n"
	"           region (mappings with nothing resident are left out)\n"
	"  --json   one JSON document\n"
	"  --svg [FILE]  the topology pictured in SVG with the process's memory on\n"
	"           each memblk, into FILE (default: stdout)\n";

/* One row of --maps: a file (all its mappings), or one other mapping. */
struct row {
	char name[80];
	const char *path; /* full name for files (JSON), else NULL */
	enum vma_kind kind;
	uintptr_t start, end;
	uint64_t size, bytes;
	uint64_t *memblk; /* nmemblks */
};

/* A file's name for the text table: escaped as the kernel escapes it in
 * /proc (a name may hold a newline, which would start a line of its own),
 * and of a long one its end, the file name, cut between characters. */
static void file_label(char *out, size_t size, const char *path)
{
	size_t len = text_escape(NULL, 0, path), k = 0;
	char *e = malloc(len + 1);

	if (!e) {
		snprintf(out, size, "?");
		return;
	}
	text_escape(e, len + 1, path);
	if (len > 40) {
		k = len - 37;
		for (size_t j = k >= 3 ? k - 3 : 0; j < k; j++)
			if (e[j] == '\\') { /* in the middle of "\ooo" */
				k = j + 4;
				break;
			}
		while (k < len && ((unsigned char)e[k] & 0xc0) == 0x80)
			k++; /* in the middle of a UTF-8 sequence */
	}
	snprintf(out, size, "%s%s", k ? "..." : "", e + k);
	free(e);
}

static int build_rows(const struct residency *r, struct row **out, size_t *n)
{
	struct row *rows = calloc(r->nvmas + 1, sizeof(*rows));
	size_t nr = 0;

	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < r->nvmas; i++) {
		const struct vma *v = &r->vmas[i];
		struct row *w = NULL;

		if (v->path && v->kind == VMA_FILE)
			for (size_t k = 0; k < nr; k++)
				if (rows[k].path && !strcmp(rows[k].path, v->path)) {
					w = &rows[k];
					break;
				}
		if (!w) {
			w = &rows[nr++];
			w->memblk = calloc((size_t)r->nmemblks + 1, sizeof(uint64_t));
			if (!w->memblk) {
				*out = rows;
				*n = nr - 1;
				return -ENOMEM;
			}
			w->kind = v->kind;
			w->start = v->start;
			w->end = v->end;
			if (v->kind == VMA_HEAP)
				snprintf(w->name, sizeof(w->name), "[heap]");
			else if (v->kind == VMA_STACK)
				snprintf(w->name, sizeof(w->name), "[stack]");
			else if (v->path) {
				w->path = v->path;
				file_label(w->name, sizeof(w->name), v->path);
			} else {
				snprintf(w->name, sizeof(w->name), "%s %lx",
					 v->kind == VMA_HUGE ? "huge" : "anon",
					 (unsigned long)v->start);
			}
		}
		if (v->end > v->start)
			w->size += v->end - v->start;
		w->bytes += v->bytes;
		for (int m = 0; m < r->nmemblks; m++)
			w->memblk[m] += v->pages[m] * v->page_size;
	}
	*out = rows;
	*n = nr;
	return 0;
}

static void free_rows(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].memblk);
	free(rows);
}

struct where_opts {
	const char *pid_text;
	pid_t pid;
	bool json, maps;
	const char *svg; /* FILE, "-" for stdout, or NULL */
};

static const struct option where_longopts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "maps", no_argument, NULL, OPT_MAPS },
	{ "svg", optional_argument, NULL, OPT_SVG },
	{ NULL, 0, NULL, 0 },
};

static int where_opt(struct opt_state *st, int c, void *opts)
{
	struct where_opts *o = opts;

	switch (c) {
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_MAPS:
		o->maps = true;
		return 0;
	case OPT_SVG:
		o->svg = svg_file(st, !o->pid_text);
		return 0;
	default: /* OPT_ARG */
		return pid_opt(st, &o->pid_text);
	}
}

static int where_parse(int argc, char **argv, void *opts)
{
	struct where_opts *o = opts;
	struct opt_state st;
	int ret;

	opt_init(&st, "where", argc, argv, where_longopts, OPT_ARGS_PIDS, true);
	ret = opt_parse(&st, where_opt, o);
	if (ret)
		return ret;
	if (!o->pid_text)
		return no_pid("where", "membind where PID [--maps] [--json]");
	if (o->svg && (o->json || o->maps)) {
		print_error("where: --svg draws no --maps and excludes --json");
		return EXIT_USAGE;
	}
	return pid_arg("where", o->pid_text, &o->pid);
}

static void where_print_json(pid_t pid, const char *comm,
			     const struct residency *r, const struct row *rows,
			     size_t nrows, bool maps)
{
	printf("{\"pid\":%d,\"command\":", (int)pid);
	json_str(stdout, comm);
	printf(",\"total_bytes\":%llu,\"memblks\":[",
	       (unsigned long long)r->total);
	for (int m = 0; m < r->nmemblks; m++)
		printf("%s{\"memblk\":%d,\"node\":%d,\"bytes\":%llu}",
		       m ? "," : "", m, memblk_to_node(m),
		       (unsigned long long)r->memblk_bytes[m]);
	printf("]");
	if (maps) {
		printf(",\"maps\":[");
		for (size_t i = 0; i < nrows; i++) {
			const struct row *w = &rows[i];

			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, w->path ? w->path : w->name);
			printf(",\"kind\":\"%s\",\"start\":\"0x%lx\",\"size_bytes\":%llu,\"bytes\":%llu,\"memblks\":[",
			       vma_kind_name[w->kind], (unsigned long)w->start,
			       (unsigned long long)w->size,
			       (unsigned long long)w->bytes);
			for (int m = 0; m < r->nmemblks; m++)
				printf("%s%llu", m ? "," : "",
				       (unsigned long long)w->memblk[m]);
			printf("]}");
		}
		printf("]");
	}
	printf("}\n");
}

/* The --maps table: one row per mapping with something resident. */
static void where_print_maps(const struct residency *r, const struct row *rows,
			     size_t nrows)
{
	char a[16], b[16];
	size_t hidden = 0;

	printf("\n%-40s %8s %8s", "MAPPING", "SIZE", "RESIDENT");
	for (int m = 0; m < r->nmemblks; m++) {
		char h[24];

		snprintf(h, sizeof(h), "memblk %d", m);
		printf(" %9s", h);
	}
	putchar('\n');
	for (size_t i = 0; i < nrows; i++) {
		const struct row *w = &rows[i];

		if (!w->bytes) {
			hidden++;
			continue;
		}
		printf("%-40s %8s %8s", w->name,
		       w->size ? human_size(w->size, a, sizeof(a)) : "?",
		       human_size(w->bytes, b, sizeof(b)));
		for (int m = 0; m < r->nmemblks; m++)
			printf(" %9s", human_size(w->memblk[m], a, sizeof(a)));
		putchar('\n');
	}
	if (hidden)
		printf("(%zu mapping%s with nothing resident not shown)\n",
		       hidden, hidden == 1 ? "" : "s");
}

static void where_print_text(pid_t pid, const char *comm,
			     const struct residency *r)
{
	char name[4 * 32], a[16]; /* comm escaped: at most 4 bytes a byte */

	text_escape(name, sizeof(name), comm);
	printf("process %d (%s): %s resident\n", (int)pid, name,
	       human_size(r->total, a, sizeof(a)));
	printf("%-7s %5s %10s %7s\n", "MEMBLK", "NODE", "RESIDENT", "SHARE");
	for (int m = 0; m < r->nmemblks; m++)
		printf("%-7d %5d %10s %6.1f%%\n", m, memblk_to_node(m),
		       human_size(r->memblk_bytes[m], a, sizeof(a)),
		       r->total ? 100.0 * (double)r->memblk_bytes[m] /
					  (double)r->total :
				  0.0);
}

static int where_run(void *opts)
{
	const struct where_opts *o = opts;
	struct residency r;
	struct row *rows = NULL;
	size_t nrows = 0;
	char comm[32];
	int ret;

	ret = residency_read(o->pid, &r);
	if (ret < 0)
		return report_bind_error("where", o->pid, ret, 0, NULL);
	if (o->maps && build_rows(&r, &rows, &nrows)) {
		print_error("where: out of memory");
		free_rows(rows, nrows);
		residency_free(&r);
		return EXIT_RUNTIME;
	}
	proc_comm(o->pid, comm, sizeof(comm));
	if (o->svg) {
		struct svg_process p = { o->pid, comm, r.memblk_bytes,
					 r.nmemblks, r.total };

		ret = svg_write("where", o->svg, &p);
		residency_free(&r);
		return ret;
	}
	if (o->json) {
		where_print_json(o->pid, comm, &r, rows, nrows, o->maps);
	} else {
		where_print_text(o->pid, comm, &r);
		if (o->maps)
			where_print_maps(&r, rows, nrows);
	}
	free_rows(rows, nrows);
	residency_free(&r);
	return fflush(stdout) ? EXIT_RUNTIME : 0;
}

const struct command cmd_where = {
	"where", where_usage, sizeof(struct where_opts), where_parse,
	where_run, NULL,
};
