/* SPDX-License-Identifier: MIT */
/* Command-line arguments shared by the commands: LISTs, BINDINGs, PIDs, and
 * the one-line messages for what the library reports. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "membind.h"
#include "tool.h"

void opt_init(struct opt_state *st, const char *cmd, int argc, char **argv,
	      const struct option *longopts, enum opt_args args, bool hint)
{
	memset(st, 0, sizeof(*st));
	st->cmd = cmd;
	st->argc = argc;
	st->argv = argv;
	st->longopts = longopts;
	st->args = args;
	st->hint = hint;
	st->next = 1;
	opterr = 0; /* the messages are membind's own */
}

static int opt_unknown(const struct opt_state *st)
{
	if (st->hint)
		print_error("%s: unknown option '%s' (try 'membind %s --help')",
			    st->cmd, st->arg, st->cmd);
	else
		print_error("%s: unknown option '%s'", st->cmd, st->arg);
	return OPT_ERROR;
}

/* Is a an option (known or not) rather than an argument? */
static bool is_option(const struct opt_state *st, const char *a)
{
	if (a[0] != '-')
		return false;
	if (st->args == OPT_ARGS_PIDS) /* "-" and "-1" are bad PIDs */
		return a[1] && !(a[1] >= '0' && a[1] <= '9');
	return true;
}

int opt_next(struct opt_state *st)
{
	const char *a, *eq;
	size_t len;
	int c, idx = -1;

	st->value = NULL;
	st->name[0] = '\0';
	if (st->next >= st->argc)
		return OPT_END;
	a = st->arg = st->argv[st->next];
	if (st->args == OPT_ARGS_COMMAND && !strcmp(a, "--")) {
		st->next++;
		return OPT_END;
	}
	if (!is_option(st, a)) {
		if (st->args == OPT_ARGS_COMMAND)
			return OPT_END;
		if (st->args == OPT_ARGS_NONE)
			return opt_unknown(st);
		st->next++;
		return OPT_ARG;
	}
	/* "-h" is the only short option: no clusters, no "-x" */
	if (strcmp(a, "-h") && (a[1] != '-' || !a[2]))
		return opt_unknown(st);

	optind = st->next;
	c = getopt_long(st->argc, st->argv, "+:h", st->longopts, &idx);
	st->next = optind;
	if (c == -1 || c == '?')
		return opt_unknown(st);
	if (c == ':') { /* a required value missing: the option is optopt */
		c = optopt;
		for (idx = 0; st->longopts[idx].name; idx++)
			if (st->longopts[idx].val == c)
				break;
	}
	if (a[1] == '-') {
		/* getopt_long() takes any unambiguous prefix; membind never
		 * did: "--jso" is unknown */
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (idx < 0 || !st->longopts[idx].name ||
		    strlen(st->longopts[idx].name) != len)
			return opt_unknown(st);
		snprintf(st->name, sizeof(st->name), "--%s",
			 st->longopts[idx].name);
		/* a separate value that looks like an option is not one:
		 * "--hard --soft 0" is a --hard without its LIST */
		if (optarg && (eq || optarg[0] != '-'))
			st->value = optarg;
	}
	return c;
}

int opt_parse(struct opt_state *st, opt_fn *fn, void *opts)
{
	int c, ret;

	while ((c = opt_next(st)) != OPT_END) {
		if (c == OPT_ERROR)
			return EXIT_USAGE;
		if (c == OPT_HELP)
			return CMD_HELP;
		ret = fn(st, c, opts);
		if (ret)
			return ret;
	}
	return 0;
}

const char *opt_need(const struct opt_state *st, const char *what)
{
	if (!st->value)
		print_error("%s: %s needs %s", st->cmd, st->name, what);
	return st->value;
}

const char *opt_peek(const struct opt_state *st)
{
	return st->next < st->argc ? st->argv[st->next] : NULL;
}

void mbmask_free(struct mbmask *m)
{
	free(m->mask);
	m->mask = NULL;
	m->len = 0;
}

static int mbmask_alloc(struct mbmask *m)
{
	int n = memblk_count();

	if (n < 0)
		return n;
	m->len = n > 0 ? (unsigned int)n : 1;
	m->mask = calloc(MEMBIND_MASK_LONGS(m->len), sizeof(unsigned long));
	return m->mask ? 0 : -ENOMEM;
}

char *mbmask_text(const struct mbmask *m)
{
	int n = memblk_list_format(m->len, m->mask, NULL, 0);
	char *s = malloc(n > 0 ? (size_t)n + 1 : 1);

	if (!s)
		return NULL;
	if (n > 0)
		memblk_list_format(m->len, m->mask, s, (size_t)n + 1);
	else
		*s = '\0';
	return s;
}

/* "0-1" (memblks) and "n0,n2" (their nodes), for messages. */
static void describe_memblks(char *ids, size_t isz, char *nodes, size_t nsz)
{
	int n = memblk_count();
	size_t off = 0;

	snprintf(ids, isz, n > 0 ? "0-%d" : "none", n - 1);
	if (n == 1)
		snprintf(ids, isz, "0");
	nodes[0] = '\0';
	for (int m = 0; m < n && off < nsz; m++)
		off += (size_t)snprintf(nodes + off, nsz - off, "%sn%d",
					m ? "," : "", memblk_to_node(m));
}

/* The first item of a LIST that names nothing here, for the message. */
static void report_enoent(const char *cmd, const char *opt, const char *text,
			  const struct mbmask *m)
{
	char *copy = strdup(text[0] == '!' ? text + 1 : text);
	char ids[32], nodes[256];
	char *item, *save = NULL;

	describe_memblks(ids, sizeof(ids), nodes, sizeof(nodes));
	for (item = copy ? strtok_r(copy, ",", &save) : NULL; item;
	     item = strtok_r(NULL, ",", &save)) {
		if (memblk_list_parse(item, m->len, m->mask) != -ENOENT)
			continue;
		if (item[0] == 'n')
			print_error("%s: %s: no node %s with memory here (memblks are nodes %s)",
				    cmd, opt, item, nodes);
		else
			print_error("%s: %s: no memblk %s here (memblks: %s)", cmd,
				    opt, item, ids);
		free(copy);
		return;
	}
	print_error("%s: %s: '%s' names a memblk that does not exist (memblks: %s)",
		    cmd, opt, text, ids);
	free(copy);
}

int list_arg(const char *cmd, const char *opt, const char *text,
	     bool need_some, bool check_allowed, struct mbmask *m)
{
	int ret;

	ret = mbmask_alloc(m);
	if (ret < 0) {
		print_error("cannot read the memory topology: %s", strerror(-ret));
		return EXIT_RUNTIME;
	}
	if (!*text) {
		print_error("%s: %s: empty LIST", cmd, opt);
		goto usage;
	}
	ret = memblk_list_parse(text, m->len, m->mask);
	if (ret == -ENOENT) {
		report_enoent(cmd, opt, text, m);
		goto usage;
	}
	if (ret < 0) {
		print_error("%s: %s: malformed LIST '%s' (expected memblk ids and ranges like 0-2,5, all, a leading !, or nodes like n0,n2-3)",
			    cmd, opt, text);
		goto usage;
	}
	if (ret == 0 && need_some) {
		print_error("%s: %s: LIST '%s' names no memblk", cmd, opt, text);
		goto usage;
	}
	if (check_allowed && ret > 0) {
		struct mbmask a = { 0 };
		char *t;

		if (mbmask_alloc(&a) || memblk_allowed(a.len, a.mask) < 0) {
			mbmask_free(&a);
			return 0; /* let the library judge */
		}
		for (unsigned int b = 0; b < m->len; b++) {
			if (!memblk_mask_test(m->len, m->mask, (int)b) ||
			    memblk_mask_test(a.len, a.mask, (int)b))
				continue;
			t = mbmask_text(&a);
			print_error("%s: %s: memblk %u (node %d) is not allowed for this process (cpuset Mems_allowed: memblks %s)",
				    cmd, opt, b, memblk_to_node((int)b),
				    t && *t ? t : "none");
			free(t);
			mbmask_free(&a);
			mbmask_free(m);
			return EXIT_RUNTIME;
		}
		mbmask_free(&a);
	}
	return 0;
usage:
	mbmask_free(m);
	return EXIT_USAGE;
}

/* The BINDING options, in the order of their OPT_ values. */
static const struct {
	const char *opt;
	unsigned long scheme;
} binding_opts[] = {
	{ "--hard", MEMBIND_HARD },
	{ "--soft", MEMBIND_SOFT },
	{ "--round-robin", MEMBIND_ROUND_ROBIN },
	{ "--weighted", MEMBIND_WEIGHTED },
	{ "--stripe", MEMBIND_STRIPE },
	{ "--first-touch", MEMBIND_FIRST_TOUCH },
	{ "--default", MEMBIND_DEFAULT },
};

/* Could this argument be the optional LIST of --first-touch? */
static bool looks_like_list(const char *s)
{
	return (s[0] >= '0' && s[0] <= '9') || s[0] == '!' ||
	       (s[0] == 'n' && s[1] >= '0' && s[1] <= '9') || !strcmp(s, "all");
}

int binding_opt(struct opt_state *st, int c, struct binding *b)
{
	const char *list = NULL, *next;
	size_t k = (size_t)(c - OPT_HARD);

	if (b->given) {
		print_error("%s: one BINDING only (%s and %s given)", st->cmd,
			    b->opt, binding_opts[k].opt);
		return EXIT_USAGE;
	}
	switch (c) {
	case OPT_DEFAULT:
		if (st->value) {
			print_error("%s: --default takes no LIST", st->cmd);
			return EXIT_USAGE;
		}
		break;
	case OPT_FIRST_TOUCH:
		list = st->value;
		next = opt_peek(st);
		if (!list && next && looks_like_list(next)) {
			list = next;
			st->next++;
		}
		break;
	default:
		list = opt_need(st, "a LIST");
		if (!list)
			return EXIT_USAGE;
		break;
	}
	if (c == OPT_STRIPE) {
		print_error("%s: --stripe binds address ranges, not a whole process (see mem_setbinding_range(3)); use --round-robin to spread a process's pages",
			    st->cmd);
		return EXIT_USAGE;
	}
	b->opt = binding_opts[k].opt;
	b->behavior = binding_opts[k].scheme;
	if (list) {
		int ret = list_arg(st->cmd, b->opt, list, true, true, &b->m);

		if (ret)
			return ret;
	} else if (mbmask_alloc(&b->m)) {
		print_error("cannot read the memory topology");
		return EXIT_RUNTIME;
	}
	b->given = true;
	return 0;
}

void binding_text(unsigned long behavior, const unsigned long *mask,
		  unsigned int len, char *buf, size_t size)
{
	const char *name = membind_scheme_name(behavior);
	char list[256];
	int n;

	n = memblk_list_format(len, mask, list, sizeof(list));
	if (n < 0)
		snprintf(list, sizeof(list), "?");
	if (!name)
		name = "unknown";
	if ((behavior & MEMBIND_SCHEME_MASK) == MEMBIND_DEFAULT)
		snprintf(buf, size, "default");
	else if (n == 0 && (behavior & MEMBIND_SCHEME_MASK) ==
				   MEMBIND_FIRST_TOUCH)
		snprintf(buf, size, "first-touch (local)");
	else
		snprintf(buf, size, "%s %s%s", name, list,
			 (behavior & MEMBIND_BALANCING) ? " +balancing" : "");
}

int pid_opt(const struct opt_state *st, const char **pid_text)
{
	if (*pid_text) {
		print_error("%s: one PID only ('%s' and '%s' given)", st->cmd,
			    *pid_text, st->arg);
		return EXIT_USAGE;
	}
	*pid_text = st->arg;
	return 0;
}

int no_pid(const char *cmd, const char *synopsis)
{
	print_error("%s: no PID given (%s)", cmd, synopsis);
	return EXIT_USAGE;
}

int pid_arg(const char *cmd, const char *text, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (!*text || *end || errno || v <= 0 || v > INT_MAX ||
	    !(text[0] >= '0' && text[0] <= '9')) {
		print_error("%s: '%s' is not a process id", cmd, text);
		return EXIT_USAGE;
	}
	*pid = (pid_t)v;
	if (kill(*pid, 0) && errno == ESRCH) {
		print_error("%s: no process %d", cmd, (int)*pid);
		return EXIT_RUNTIME;
	}
	return 0;
}

void proc_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f || !fgets(buf, (int)size, f))
		snprintf(buf, size, "?");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* PF_KTHREAD in /proc/PID/stat's flags (field 9). */
static bool is_kthread(pid_t pid)
{
	char path[64], buf[512], *p;
	unsigned long flags = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return false;
	return flags & 0x00200000;
}

/* A field of /proc/PID/status as a number, or -1. */
static long status_num(pid_t pid, const char *key)
{
	char path[64], line[4096];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Do we have CAP_SYS_ADMIN in our effective set? */
static bool have_sys_admin(void)
{
	char line[256];
	bool yes = false;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "CapEff:", 7)) {
			yes = (strtoull(line + 7, NULL, 16) >> 21) & 1;
			break;
		}
	}
	if (f)
		fclose(f);
	return yes;
}

/* The ELF class of /proc/PID/exe: 1 (32-bit), 2 (64-bit), 0 unknown. */
static int exe_class(pid_t pid)
{
	char path[64];
	unsigned char h[5];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fread(h, 1, sizeof(h), f) != sizeof(h) ||
	    memcmp(h, "\177ELF", 4))
		h[4] = 0;
	fclose(f);
	return h[4];
}

int report_bind_error(const char *cmd, pid_t pid, int err,
		      unsigned long behavior, const struct mbmask *m)
{
	unsigned long scheme = behavior & MEMBIND_SCHEME_MASK;
	const char *root = getenv("MEMBIND_SYSFS_ROOT");
	char who[96], comm[32];
	int n = 0;

	if (pid) {
		proc_comm(pid, comm, sizeof(comm));
		snprintf(who, sizeof(who), "process %d (%s)", (int)pid, comm);
	} else {
		snprintf(who, sizeof(who), "this process");
	}
	for (unsigned int b = 0; m && m->mask && b < m->len; b++)
		n += memblk_mask_test(m->len, m->mask, (int)b);

	switch (err) {
	case -ESRCH:
		if (pid && comm[0] && comm[0] != '?')
			print_error("%s: %s exited during the call", cmd, who);
		else
			print_error("%s: no process %d", cmd, (int)pid);
		break;
	case -EPERM:
	case -EACCES:
		if (pid && status_num(pid, "Seccomp") > 0 && !have_sys_admin())
			print_error("%s: %s runs under a seccomp filter (a container or a sandboxed service); rebinding it needs CAP_SYS_ADMIN, which suspends the filter for membind's own calls only",
				    cmd, who);
		else if (pid && status_num(pid, "Seccomp") > 0)
			print_error("%s: %s runs under a seccomp filter that could not be suspended (is membind itself under seccomp?)",
				    cmd, who);
		else
			print_error("%s: not permitted to reach %s (needs the same user or CAP_SYS_PTRACE, and ptrace allowed by kernel.yama.ptrace_scope)",
				    cmd, who);
		break;
	case -EAGAIN:
		if (pid)
			print_error("%s: %s kept changing during the call (it exec'd, or created threads without end); nothing changed, try again",
				    cmd, who);
		else
			print_error("%s: %s: %s", cmd, who, strerror(-err));
		break;
	case -ETIMEDOUT:
		print_error("%s: a thread of %s stayed blocked in the kernel (D state: a vfork parent, slow I/O) longer than MEMBIND_STOP_TIMEOUT_MS allows; nothing changed",
			    cmd, who);
		break;
	case -EIO:
		if (pid) {
			print_error("%s: the helper that rebinds %s was killed; check the process",
				    cmd, who);
			break;
		}
		print_error("%s: %s: %s", cmd, who, strerror(-err));
		break;
	case -EOPNOTSUPP:
		if (root && *root)
			print_error("%s: cannot bind memory while MEMBIND_SYSFS_ROOT points at a captured tree (%s)",
				    cmd, root);
		else if (scheme == MEMBIND_SOFT && n > 1)
			print_error("%s: this kernel cannot do a soft binding over several memblks (needs MPOL_PREFERRED_MANY, Linux 5.15)",
				    cmd);
		else if (scheme == MEMBIND_WEIGHTED)
			print_error("%s: this kernel has no weighted interleave (needs MPOL_WEIGHTED_INTERLEAVE, Linux 6.9)",
				    cmd);
		else if (behavior & MEMBIND_BALANCING)
			print_error("%s: this kernel cannot combine a hard binding with NUMA balancing (needs MPOL_F_NUMA_BALANCING, Linux 5.12)",
				    cmd);
		else if (pid && exe_class(pid) == 1)
			print_error("%s: cannot reach %s: it is a 32-bit program, and membind binds only 64-bit ones from outside",
				    cmd, who);
		else
			print_error("%s: cannot reach %s: not a program of this architecture's ABI",
				    cmd, who);
		break;
	case -EBUSY:
		if (pid)
			print_error("%s: %s is being traced by another program (a debugger?)",
				    cmd, who);
		else
			print_error("%s: the signal membind uses is taken or blocked (choose another with MEMBIND_SIGNAL)",
				    cmd);
		break;
	case -EINVAL:
		if (pid && is_kthread(pid)) {
			print_error("%s: %s is a kernel thread: it has no memory binding",
				    cmd, who);
			break;
		}
		print_error("%s: %s: invalid binding (%s)", cmd, who,
			    strerror(-err));
		break;
	default:
		print_error("%s: %s: %s", cmd, who, strerror(-err));
		break;
	}
	return EXIT_RUNTIME;
}
