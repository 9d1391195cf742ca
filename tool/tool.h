/* SPDX-License-Identifier: MIT */
#ifndef MEMBIND_TOOL_H
#define MEMBIND_TOOL_H

#include <getopt.h>
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

/* ---- options (getopt_long, with membind's rules on top) ----
 * Every command parses its arguments one element at a time with opt_next(),
 * which lets getopt_long() read the long options of the command's table and
 * adds what membind(1) has always done: only whole option names (no
 * abbreviations), "-h" but no other short option, a separate value that
 * starts with '-' is a missing value, and PIDs such as "-1" are arguments
 * (for the message that they are not process ids). */

/* The values getopt_long() returns, one per option over all commands. */
enum {
	OPT_HELP = 'h',
	OPT_JSON = 256,
	OPT_MAPS,
	OPT_SVG,
	OPT_MOVE,
	OPT_THREADS,
	OPT_CPUS,
	OPT_LIBNUMA,
	OPT_TO,
	OPT_FROM,
	OPT_SPREAD,
	OPT_MOVE_WEIGHTED, /* move --weighted: a scheme, no LIST */
	OPT_STRIPE_SIZE,   /* move --stripe SIZE */
	/* BINDING options, in binding_opt()'s table order */
	OPT_HARD,
	OPT_SOFT,
	OPT_ROUND_ROBIN,
	OPT_WEIGHTED,
	OPT_STRIPE,
	OPT_FIRST_TOUCH,
	OPT_DEFAULT,
	OPT_BINDING_FIRST = OPT_HARD,
	OPT_BINDING_LAST = OPT_DEFAULT,
};

/* The BINDING options, for the tables of the commands that take one. */
#define BINDING_LONGOPTS                                                       \
	{ "hard", required_argument, NULL, OPT_HARD },                         \
	{ "soft", required_argument, NULL, OPT_SOFT },                         \
	{ "round-robin", required_argument, NULL, OPT_ROUND_ROBIN },           \
	{ "weighted", required_argument, NULL, OPT_WEIGHTED },                 \
	{ "stripe", required_argument, NULL, OPT_STRIPE },                     \
	{ "first-touch", optional_argument, NULL, OPT_FIRST_TOUCH },           \
	{ "default", optional_argument, NULL, OPT_DEFAULT }

/* What the elements that are not options are to a command. */
enum opt_args {
	OPT_ARGS_NONE,    /* none: each is an unknown option (show) */
	OPT_ARGS_PIDS,    /* PIDs: "-" and "-<digit>..." too; "--" is unknown */
	OPT_ARGS_COMMAND, /* the first one, or the one after "--", is a
			   * command to run and ends the options (run) */
};

/* What opt_next() returns besides the values above. */
#define OPT_END 0     /* no more options */
#define OPT_ARG (-1)  /* an argument, in st->arg */
#define OPT_ERROR (-2) /* a usage error, the message printed */

struct opt_state {
	const char *cmd; /* the command, for messages */
	int argc;
	char **argv;     /* argv[0]: the command's name */
	const struct option *longopts;
	enum opt_args args;
	bool hint;       /* unknown options: add "(try 'membind CMD --help')" */
	int next;        /* the next element of argv */
	const char *arg; /* the element just read */
	char name[32];   /* its option's whole name: "--to" */
	const char *value; /* its value: NULL if none, or missing */
};

/* Start parsing argv (argv[0]: the command's name) for command cmd. */
void opt_init(struct opt_state *st, const char *cmd, int argc, char **argv,
	      const struct option *longopts, enum opt_args args, bool hint);
/* The next option (its value in the table), OPT_ARG, OPT_END or OPT_ERROR. */
int opt_next(struct opt_state *st);
/* Each option and argument of argv in turn to fn (c: as opt_next() returns
 * it); --help and usage errors end it.  Returns 0, CMD_HELP, or an exit
 * code (the message printed): fn's first that is not 0. */
typedef int opt_fn(struct opt_state *st, int c, void *opts);
int opt_parse(struct opt_state *st, opt_fn *fn, void *opts);
/* The value of the option just read, or NULL with "CMD: --NAME needs WHAT"
 * printed (what: "a LIST"). */
const char *opt_need(const struct opt_state *st, const char *what);
/* The element after the one just read (for an option's optional value,
 * which the caller takes by advancing st->next), or NULL. */
const char *opt_peek(const struct opt_state *st);

/* Parse a LIST (memblk_list_parse) for option opt of command cmd into m.
 * need_some: an empty result (e.g. "!all") is an error.  check_allowed:
 * every memblk must be in this process's Mems_allowed.  Returns 0 or an exit
 * code, the message printed. */
int list_arg(const char *cmd, const char *opt, const char *text,
	     bool need_some, bool check_allowed, struct mbmask *m);
void mbmask_free(struct mbmask *m);
/* "0-1,3" into a malloc'ed string. */
char *mbmask_text(const struct mbmask *m);

/* Option c (a BINDING option, as opt_next() returned it) into b.  Returns
 * 0, or an exit code with the message printed.  Scheme support is checked
 * later, by the kernel, through mem_setbinding(). */
int binding_opt(struct opt_state *st, int c, struct binding *b);
/* A binding in words: "hard 0-1", "first-touch (local)", "default". */
void binding_text(unsigned long behavior, const unsigned long *mask,
		  unsigned int len, char *buf, size_t size);

/* The argument just read (OPT_ARG) as the PID: *pid_text, unless it was
 * given already (usage error).  Returns 0 or an exit code. */
int pid_opt(const struct opt_state *st, const char **pid_text);
/* "CMD: no PID given (SYNOPSIS)"; returns EXIT_USAGE. */
int no_pid(const char *cmd, const char *synopsis);
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

/* The FILE of "--svg [FILE]" / "--svg=FILE" just read by opt_next(): "-"
 * (standard output) unless the value was given or the next element is
 * FILE: one that does not start with '-' (a lone "-" is FILE); with
 * pid_wanted, a number is left to be the PID. */
const char *svg_file(struct opt_state *st, bool pid_wanted);
/* Draw the topology (with proc: that process's memory) into file ("-":
 * standard output).  Returns 0 or an exit code, the message printed. */
int svg_write(const char *cmd, const char *file, const struct svg_process *proc);
/* Estimated width in pixels of UTF-8 text s in the picture's font. */
int svg_text_width(const char *s, int size, bool bold);

/* ---- the commands ---- */

/* One command of membind(1): parse fills opts (opts_size bytes, zeroed)
 * from argv (argv[0]: the command's name), and returns 0, CMD_HELP (print
 * usage, exit 0) or an exit code, the message printed; run does the work
 * and returns the exit code; done frees what they left in opts. */
struct command {
	const char *name;
	const char *usage;
	size_t opts_size;
	int (*parse)(int argc, char **argv, void *opts);
	int (*run)(void *opts);
	void (*done)(void *opts);
};
#define CMD_HELP (-1)

extern const struct command cmd_show, cmd_run, cmd_get, cmd_set, cmd_where,
	cmd_move;

#endif
