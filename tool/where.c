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

int cmd_where(int argc, char **argv)
{
	const char *pid_text = NULL;
	bool json = false, maps = false;
	const char *svg = NULL;
	struct residency r;
	struct row *rows = NULL;
	size_t nrows = 0, hidden = 0;
	char comm[32], a[16], b[16];
	int ret;
	pid_t pid;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(where_usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--maps")) {
			maps = true;
		} else if (svg_opt(argc, argv, &i, !pid_text, &svg)) {
			continue;
		} else if (argv[i][0] == '-' && argv[i][1] &&
			   !(argv[i][1] >= '0' && argv[i][1] <= '9')) {
			print_error("where: unknown option '%s' (try 'membind where --help')",
				    argv[i]);
			return EXIT_USAGE;
		} else if (pid_text) {
			print_error("where: one PID only ('%s' and '%s' given)",
				    pid_text, argv[i]);
			return EXIT_USAGE;
		} else {
			pid_text = argv[i];
		}
	}
	if (!pid_text) {
		print_error("where: no PID given (membind where PID [--maps] [--json])");
		return EXIT_USAGE;
	}
	if (svg && (json || maps)) {
		print_error("where: --svg draws no --maps and excludes --json");
		return EXIT_USAGE;
	}
	ret = pid_arg("where", pid_text, &pid);
	if (ret)
		return ret;
	ret = residency_read(pid, &r);
	if (ret < 0)
		return report_bind_error("where", pid, ret, 0, NULL);
	if (maps && build_rows(&r, &rows, &nrows)) {
		print_error("where: out of memory");
		free_rows(rows, nrows);
		residency_free(&r);
		return EXIT_RUNTIME;
	}
	proc_comm(pid, comm, sizeof(comm));
	if (svg) {
		struct svg_process p = { pid, comm, r.memblk_bytes, r.nmemblks,
					 r.total };

		ret = svg_write("where", svg, &p);
		residency_free(&r);
		return ret;
	}

	if (json) {
		printf("{\"pid\":%d,\"command\":", (int)pid);
		json_str(stdout, comm);
		printf(",\"total_bytes\":%llu,\"memblks\":[",
		       (unsigned long long)r.total);
		for (int m = 0; m < r.nmemblks; m++)
			printf("%s{\"memblk\":%d,\"node\":%d,\"bytes\":%llu}",
			       m ? "," : "", m, memblk_to_node(m),
			       (unsigned long long)r.memblk_bytes[m]);
		printf("]");
		if (maps) {
			printf(",\"maps\":[");
			for (size_t i = 0; i < nrows; i++) {
				const struct row *w = &rows[i];

				printf("%s{\"name\":", i ? "," : "");
				json_str(stdout, w->path ? w->path : w->name);
				printf(",\"kind\":\"%s\",\"start\":\"0x%lx\",\"size_bytes\":%llu,\"bytes\":%llu,\"memblks\":[",
				       vma_kind_name[w->kind],
				       (unsigned long)w->start,
				       (unsigned long long)w->size,
				       (unsigned long long)w->bytes);
				for (int m = 0; m < r.nmemblks; m++)
					printf("%s%llu", m ? "," : "",
					       (unsigned long long)w->memblk[m]);
				printf("]}");
			}
			printf("]");
		}
		printf("}\n");
	} else {
		char name[4 * sizeof(comm)];

		text_escape(name, sizeof(name), comm);
		printf("process %d (%s): %s resident\n", (int)pid, name,
		       human_size(r.total, a, sizeof(a)));
		printf("%-7s %5s %10s %7s\n", "MEMBLK", "NODE", "RESIDENT",
		       "SHARE");
		for (int m = 0; m < r.nmemblks; m++)
			printf("%-7d %5d %10s %6.1f%%\n", m, memblk_to_node(m),
			       human_size(r.memblk_bytes[m], a, sizeof(a)),
			       r.total ? 100.0 * (double)r.memblk_bytes[m] /
						 (double)r.total :
					 0.0);
		if (maps) {
			printf("\n%-40s %8s %8s", "MAPPING", "SIZE", "RESIDENT");
			for (int m = 0; m < r.nmemblks; m++) {
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
				for (int m = 0; m < r.nmemblks; m++)
					printf(" %9s", human_size(w->memblk[m], a,
								  sizeof(a)));
				putchar('\n');
			}
			if (hidden)
				printf("(%zu mapping%s with nothing resident not shown)\n",
				       hidden, hidden == 1 ? "" : "s");
		}
	}
	free_rows(rows, nrows);
	residency_free(&r);
	return fflush(stdout) ? EXIT_RUNTIME : 0;
}
