/* SPDX-License-Identifier: MIT */
#ifndef MEMBIND_TOOL_H
#define MEMBIND_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Exit codes (membind(1)): */
#define EXIT_RUNTIME 1 /* the operation failed */
#define EXIT_USAGE 2   /* bad command line */
#define EXIT_INTERRUPTED 130 /* move: stopped by SIGINT or SIGTERM */

/* Print "membind: <message>" on stderr. */
void print_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Human-readable size ("1.5G") into buf. */
const char *human_size(uint64_t bytes, char *buf, size_t size);
/* JSON string, quoted and escaped. */
void json_str(FILE *f, const char *s);
/* s for a line of text output: control characters, DEL, backslash and bytes
 * that are not valid UTF-8 as \ooo, as the kernel escapes names in /proc
 * (a file name may hold a newline).  Writes what fits in size with whole
 * characters and escapes, NUL-terminated; returns the full length. */
size_t text_escape(char *out, size_t size, const char *s);

/* ---- command-line arguments (args.c) ---- */

/* A mask of memblks, memblk_count() bits (at least one word). */
struct mbmask {
	unsigned int len;
	unsigned long *mask;
};

/* A BINDING given on the command line. */
struct binding {
	bool given;
	const char *opt; /* the option that gave it, for messages */
	struct mbmask m;
	unsigned long behavior;
};

/* Value of an option that takes one: "--opt VALUE" or "--opt=VALUE".
 * Returns the value and advances *i, or NULL (message printed) if missing.
 * name is the option without "=VALUE", what the value ("a LIST"). */
const char *opt_value(const char *cmd, int argc, char **argv, int *i,
		      const char *name, const char *what);
/* Does argv[i] name option name, as "--name" or "--name=..."? */
bool opt_is(const char *arg, const char *name);

/* Parse a LIST (memblk_list_parse) for option opt of command cmd into m.
 * need_some: an empty result (e.g. "!all") is an error.  check_allowed:
 * every memblk must be in this process's Mems_allowed.  Returns 0 or an exit
 * code, the message printed. */
int list_arg(const char *cmd, const char *opt, const char *text,
	     bool need_some, bool check_allowed, struct mbmask *m);
void mbmask_free(struct mbmask *m);
/* "0-1,3" into a malloc'ed string. */
char *mbmask_text(const struct mbmask *m);

/* If argv[*i] is a BINDING option, parse it (and its LIST) into b, advance
 * *i past it and return 1; return 0 if it is not one; an exit code (> 1,
 * message printed) on error.  Scheme support is checked later, by the
 * kernel, through mem_setbinding(). */
int binding_arg(const char *cmd, int argc, char **argv, int *i,
		struct binding *b);
/* A binding in words: "hard 0-1", "first-touch (local)", "default". */
void binding_text(unsigned long behavior, const unsigned long *mask,
		  unsigned int len, char *buf, size_t size);

/* A PID argument: syntax (usage error) and existence (runtime error).
 * Returns 0 or an exit code. */
int pid_arg(const char *cmd, const char *text, pid_t *pid);
/* The command name of a process (comm), or "?". */
void proc_comm(pid_t pid, char *buf, size_t size);

/* Message for a failed mem_setbinding()/mem_getbinding()/move on pid
 * (0: this process), then the exit code to use. */
int report_bind_error(const char *cmd, pid_t pid, int err,
		      unsigned long behavior, const struct mbmask *m);

/* Pages a move left where they were (mem_move()'s stats), counted by
 * reason on stderr; nothing if none (move.c). */
struct mem_move_stats;
void move_report_stayed(const char *cmd, const struct mem_move_stats *st);

/* ---- residency (numa.c) ---- */

enum vma_kind { VMA_HEAP, VMA_STACK, VMA_ANON, VMA_FILE, VMA_HUGE, VMA_KINDS };

/* One line of /proc/PID/numa_maps, joined with /proc/PID/maps. */
struct vma {
	uintptr_t start, end; /* end 0 if unknown */
	enum vma_kind kind;
	char *path;            /* file= (unescaped), or NULL */
	uint64_t page_size;    /* kernelpagesize_kB * 1024 */
	uint64_t *pages;       /* per memblk, nmemblks entries */
	uint64_t bytes;        /* resident, all memblks */
};

struct residency {
	int nmemblks;
	struct vma *vmas;
	size_t nvmas;
	uint64_t *kind_bytes; /* [VMA_KINDS][nmemblks] */
	uint64_t *memblk_bytes;
	uint64_t total;
};

extern const char *const vma_kind_name[VMA_KINDS];

/* Read the residency of pid.  Returns 0 or -errno. */
int residency_read(pid_t pid, struct residency *r);
void residency_free(struct residency *r);

/* ---- SVG pictures (svg.c) ---- */

/* A process drawn by "where --svg": its resident bytes per memblk. */
struct svg_process {
	pid_t pid;
	const char *comm;
	const uint64_t *memblk_bytes; /* nmemblks entries */
	int nmemblks;
	uint64_t total;
};

/* If argv[*i] is "--svg [FILE]" or "--svg=FILE", set *file (to "-" for
 * standard output), advance *i past FILE and return true.  The next
 * argument is FILE unless it starts with '-' (a lone "-" is FILE); with
 * pid_wanted, a number is left to be the PID. */
bool svg_opt(int argc, char **argv, int *i, bool pid_wanted, const char **file);
/* Draw the topology (with proc: that process's memory) into file ("-":
 * standard output).  Returns 0 or an exit code, the message printed. */
int svg_write(const char *cmd, const char *file, const struct svg_process *proc);
/* Estimated width in pixels of UTF-8 text s in the picture's font. */
int svg_text_width(const char *s, int size, bool bold);

int cmd_show(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_where(int argc, char **argv);
int cmd_move(int argc, char **argv);

#endif
