/* SPDX-License-Identifier: MIT */
/*
 * membind-oci-hook: an OCI runtime hook that binds the memory of a container
 * with membind, from the annotation
 *
 *     io.membind.binding=SCHEME[:LIST]     e.g. round-robin:all, soft:n1
 *
 * The runtime (runc, crun, or podman and CRI-O through them) runs it at the
 * createRuntime or prestart stage, in the runtime's namespaces, with the
 * container's state on stdin: its id, the host pid of its first process
 * (still the runtime's init, before the container's program is exec'd) and
 * its bundle.  The annotation comes from the state's annotations, or else
 * from the bundle's config.json.  The hook sets the binding of every thread
 * of that process from outside with mem_setbinding(pid, ...) (the library's
 * remote engine), so the program it execs, and every process and thread the
 * program starts, inherit it.
 *
 * Inside a container, "all" and "!LIST" mean the memblks of the container's
 * cpuset (cpuset.mems), and a list naming a memblk outside it is refused.
 *
 * A site configuration (/etc/membind/oci-hook.conf, or --config FILE), as
 * the Slurm plugin has in plugstack.conf:
 *     default = SCHEME[:LIST]   for containers without the annotation
 *     allow = SCHEME,...        the schemes containers may ask for
 *     on-error = refuse|warn    refuse: the container does not start
 *     log = FILE|syslog|none    also record what the hook did there
 *
 * Exit status: 0 (bound, nothing to do, or a warning under on-error=warn),
 * 1 (the container must not start: one line on stderr says why), 2 (usage).
 * mem_setbinding() is all or nothing: a binding that cannot be applied leaves
 * every thread of the container as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "membind.h"
#include "../src/list_syntax.h"

#define PROG "membind-oci-hook"
#define ANNOTATION "io.membind.binding"
#define DEFAULT_CONFIG "/etc/membind/oci-hook.conf"
#define STATE_MAX (1u << 20)   /* the container state on stdin */
#define CONFIG_JSON_MAX (64u << 20) /* a bundle's config.json */
#define TEXT_MAX 1024
#define NMASK MEMBIND_MASK_LONGS(MEMBIND_MAX_BITS)

enum { EXIT_REFUSE = 1, EXIT_USAGE = 2 };

/* ---- the site's settings --------------------------------------------------- */

struct binding {
	bool given;
	unsigned long scheme; /* MEMBIND_* */
	char list[TEXT_MAX];  /* "" if none */
};

static struct {
	struct binding def;           /* default = */
	unsigned int allow;           /* bit per scheme */
	bool warn;                    /* on-error = warn */
	char log[PATH_MAX];           /* "", "syslog" or a file */
} site = { .allow = ~0u };

/* What the messages say about the container. */
static char container_id[128] = "?";

/* ---- messages ---------------------------------------------------------------- */

static void log_line(const char *level, const char *line)
{
	char stamp[64];
	struct tm tm;
	time_t now;
	FILE *f;

	if (!site.log[0] || !strcmp(site.log, "none"))
		return;
	if (!strcmp(site.log, "syslog")) {
		openlog(PROG, LOG_PID, LOG_DAEMON);
		syslog(!strcmp(level, "error") ? LOG_ERR :
		       !strcmp(level, "warning") ? LOG_WARNING : LOG_INFO,
		       "%s", line);
		closelog();
		return;
	}
	f = fopen(site.log, "ae");
	if (!f)
		return;
	now = time(NULL);
	if (!localtime_r(&now, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", &tm))
		strcpy(stamp, "?");
	fprintf(f, "%s %s[%ld] %s: %s\n", stamp, PROG, (long)getpid(), level,
		line);
	fclose(f);
}

/* One line on stderr (the runtime shows it when the hook fails) and in the
 * site's log. */
static void say(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const char *level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one line, whatever a value quoted in it holds */
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (strcmp(level, "info"))
		fprintf(stderr, "%s: %s%s%s\n", PROG,
			strcmp(level, "warning") ? "" : "warning: ", line,
			strcmp(level, "warning") ? "" :
						   " (on-error = warn: the container starts unbound)");
	log_line(level, line);
}

/* The container cannot be bound as asked: refused, or only a warning if the
 * site says so.  Returns the exit status. */
static int container_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int container_error(const char *fmt, ...)
{
	char line[1900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	say(site.warn ? "warning" : "error", "container %s: %s", container_id,
	    line);
	return site.warn ? 0 : EXIT_REFUSE;
}

/* ---- SCHEME[:LIST] ------------------------------------------------------------ */

static const char scheme_help[] =
	"hard, soft, round-robin, weighted, first-touch or default";

static int set_error(char *err, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_error(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -1;
}

/* Printable text of a value for a message: at most 64 bytes, control
 * characters as '?'. */
static const char *shown(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s && n + 4 < size && n < 64; s++)
		buf[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	if (*s)
		buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
	buf[n] = '\0';
	return buf;
}

static int parse_binding(const char *text, struct binding *b, char *err,
			 size_t size)
{
	const char *colon = strchr(text, ':');
	size_t n = colon ? (size_t)(colon - text) : strlen(text);
	char name[32], s1[80];
	unsigned long scheme;

	snprintf(name, sizeof(name), "%.*s", (int)(n < 31 ? n : 31), text);
	if (n == 0)
		return set_error(err, size, "no scheme (expected SCHEME[:LIST], SCHEME one of %s)",
				 scheme_help);
	if (n >= sizeof(name) || membind_scheme_parse(name, &scheme) < 0)
		return set_error(err, size, "unknown scheme '%s' (expected %s)",
				 shown(name, s1, sizeof(s1)), scheme_help);
	if (scheme == MEMBIND_STRIPE)
		return set_error(err, size,
				 "stripe binds ranges of memory, not processes (expected %s)",
				 scheme_help);
	if (colon) {
		if (!colon[1])
			return set_error(err, size, "empty list after '%s:'",
					 name);
		if (strlen(colon + 1) >= sizeof(b->list))
			return set_error(err, size, "list too long");
		if (!mb_list_syntax_ok(colon + 1))
			return set_error(err, size,
					 "malformed list '%s' (expected memblk ids like 0-2,5, nodes like n0,n2-3, all, or !LIST)",
					 shown(colon + 1, s1, sizeof(s1)));
		if (scheme == MEMBIND_DEFAULT)
			return set_error(err, size, "default takes no list");
	} else if (scheme != MEMBIND_DEFAULT && scheme != MEMBIND_FIRST_TOUCH) {
		return set_error(err, size,
				 "%s needs a list of memblks (%s:LIST, e.g. %s:all)",
				 name, name, name);
	}
	b->given = true;
	b->scheme = scheme;
	snprintf(b->list, sizeof(b->list), "%s", colon ? colon + 1 : "");
	return 0;
}

static void allowed_text(char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned long s = 0; s <= MEMBIND_WEIGHTED; s++)
		if ((site.allow & (1u << s)) && s != MEMBIND_STRIPE)
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0,
					      "%s%s", n ? "," : "",
					      membind_scheme_name(s));
}

/* ---- the site configuration ----------------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int parse_allow(const char *file, int line, const char *text)
{
	char buf[TEXT_MAX], *save = NULL, s1[80];
	unsigned int allow = 0;

	if (strlen(text) >= sizeof(buf)) {
		say("error", "%s:%d: allow = is too long", file, line);
		return -1;
	}
	strcpy(buf, text);
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		unsigned long s;

		t = trim(t);
		if (membind_scheme_parse(t, &s) < 0 || s == MEMBIND_STRIPE) {
			say("error", "%s:%d: allow = %s: unknown scheme '%s' (expected %s)",
			    file, line, text, shown(t, s1, sizeof(s1)),
			    scheme_help);
			return -1;
		}
		allow |= 1u << s;
	}
	if (!allow) {
		say("error", "%s:%d: allow = names no scheme", file, line);
		return -1;
	}
	site.allow = allow;
	return 0;
}

/* Returns 0, or -1 with the reason said. */
static int read_config(const char *file, bool must_exist)
{
	char line[TEXT_MAX + 64], err[512];
	int n = 0, ret = 0;
	FILE *f = fopen(file, "re");

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		say("error", "cannot read the site configuration %s: %s", file,
		    strerror(errno));
		return -1;
	}
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		char *key, *val, *eq;

		n++;
		if (!strchr(line, '\n') && !feof(f)) {
			say("error", "%s:%d: line too long", file, n);
			ret = -1;
			break;
		}
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			say("error", "%s:%d: expected KEY = VALUE (default, allow, on-error or log)",
			    file, n);
			ret = -1;
			break;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		if (!strcmp(key, "default")) {
			struct binding b = { 0 };

			if (parse_binding(val, &b, err, sizeof(err)) < 0) {
				say("error", "%s:%d: default = %s: %s", file, n,
				    val, err);
				ret = -1;
			}
			site.def = b;
		} else if (!strcmp(key, "allow")) {
			ret = parse_allow(file, n, val);
		} else if (!strcmp(key, "on-error")) {
			if (!strcmp(val, "refuse")) {
				site.warn = false;
			} else if (!strcmp(val, "warn")) {
				site.warn = true;
			} else {
				say("error", "%s:%d: on-error = %s: expected refuse or warn",
				    file, n, val);
				ret = -1;
			}
		} else if (!strcmp(key, "log")) {
			if (strcmp(val, "syslog") && strcmp(val, "none") &&
			    val[0] != '/') {
				say("error", "%s:%d: log = %s: expected an absolute file name, syslog or none",
				    file, n, val);
				ret = -1;
			} else {
				snprintf(site.log, sizeof(site.log), "%s", val);
			}
		} else {
			say("error", "%s:%d: unknown key '%s' (expected default, allow, on-error or log)",
			    file, n, key);
			ret = -1;
		}
	}
	fclose(f);
	if (ret == 0 && site.def.given &&
	    !(site.allow & (1u << site.def.scheme))) {
		say("error", "%s: default = %s is not among allow =", file,
		    membind_scheme_name(site.def.scheme));
		ret = -1;
	}
	return ret;
}

/* ---- the container ------------------------------------------------------------ */

/* A whole file (at most max bytes), NUL-terminated.  0 or -errno. */
static int read_all_fd(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *b2;

			if (cap > max) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			b2 = realloc(buf, cap);
			if (!b2) {
				free(buf);
				return -ENOMEM;
			}
			buf = b2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;

			free(buf);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(buf);
		return -EFBIG;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), ret;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	ret = read_all_fd(fd, max, out, len);
	close(fd);
	return ret;
}

/* A kernel node list ("0-1,3", "" for none) into a mask of memblks.  Returns
 * the number of nodes named, or -EINVAL. */
static int nodes_to_memblks(const char *s, unsigned int nbits,
			    unsigned long *mask)
{
	int n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '\n')
		return 0;
	for (;;) {
		unsigned long a, b;

		s = mb_parse_uint(s, MEMBIND_MAX_BITS - 1, &a);
		if (!s)
			return -EINVAL;
		b = a;
		if (*s == '-') {
			s = mb_parse_uint(s + 1, MEMBIND_MAX_BITS - 1, &b);
			if (!s || b < a)
				return -EINVAL;
		}
		for (unsigned long node = a; node <= b; node++) {
			int m = node_to_memblk((int)node);

			n++;
			memblk_mask_set(nbits, mask, m);
		}
		if (!*s || *s == '\n')
			return n;
		if (*s != ',')
			return -EINVAL;
		s++;
	}
}

/* Where the cgroup hierarchy for a controller is mounted (cgroup v1, one
 * with "cpuset" among its options), or the cgroup v2 one (controller NULL):
 * mount point and the root of the mount, from /proc/self/mountinfo. */
static bool cgroup_mount(const char *controller, char *point, size_t psize,
			 char *root, size_t rsize)
{
	char *buf, *save = NULL;
	size_t len;
	bool found = false;

	if (read_file("/proc/self/mountinfo", 16u << 20, &buf, &len) < 0)
		return false;
	for (char *l = strtok_r(buf, "\n", &save); l && !found;
	     l = strtok_r(NULL, "\n", &save)) {
		char mroot[PATH_MAX], mpoint[PATH_MAX], fstype[64], opts[512];
		char *dash = strstr(l, " - ");

		if (!dash ||
		    sscanf(l, "%*s %*s %*s %4095s %4095s", mroot, mpoint) != 2 ||
		    sscanf(dash + 3, "%63s %*s %511s", fstype, opts) != 2)
			continue;
		if (controller) {
			char *o, *osave = NULL;

			if (strcmp(fstype, "cgroup"))
				continue;
			for (o = strtok_r(opts, ",", &osave); o;
			     o = strtok_r(NULL, ",", &osave))
				if (!strcmp(o, controller))
					break;
			if (!o)
				continue;
		} else if (strcmp(fstype, "cgroup2")) {
			continue;
		}
		/* mountinfo escapes spaces as \040: such mounts are left out */
		if (strchr(mpoint, '\\') || strchr(mroot, '\\'))
			continue;
		snprintf(point, psize, "%s", mpoint);
		snprintf(root, rsize, "%s", mroot);
		found = true;
	}
	free(buf);
	return found;
}

/* The memblks of the container's cpuset: its cgroup's effective
 * cpuset.mems (v2: cpuset.mems.effective; v1: cpuset.effective_mems),
 * within the process's Mems_allowed.  Returns the count, or -1 with the
 * reason in err. */
static int container_memblks(pid_t pid, unsigned int nbits,
			     unsigned long *mask, char *source, size_t ssize,
			     char *err, size_t esize)
{
	unsigned long cg[NMASK] = { 0 }, ma[NMASK] = { 0 };
	char path[PATH_MAX + 64], *buf, *save = NULL, *p;
	char v2path[PATH_MAX] = "", v1path[PATH_MAX] = "";
	bool have_v2 = false, have_v1 = false, have_cg = false;
	int n = 0, r;
	size_t len;

	/* The process's own Mems_allowed: what the kernel lets it use. */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	r = read_file(path, 1u << 20, &buf, &len);
	if (r < 0)
		return set_error(err, esize, "cannot read %s: %s", path,
				 strerror(-r));
	p = strstr(buf, "\nMems_allowed_list:");
	r = p ? nodes_to_memblks(p + 19, nbits, ma) : -EINVAL;
	free(buf);
	if (r < 0)
		return set_error(err, esize, "no Mems_allowed_list in %s",
				 path);

	/* Its cgroup. */
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (read_file(path, 1u << 20, &buf, &len) == 0) {
		for (char *l = strtok_r(buf, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

			if (!c2)
				continue;
			*c2 = '\0';
			if (!strcmp(l, "0:")) {
				have_v2 = true;
				snprintf(v2path, sizeof(v2path), "%s", c2 + 1);
			} else {
				char *o, *osave = NULL;

				for (o = strtok_r(c1 + 1, ",", &osave); o;
				     o = strtok_r(NULL, ",", &osave))
					if (!strcmp(o, "cpuset")) {
						have_v1 = true;
						snprintf(v1path, sizeof(v1path),
							 "%s", c2 + 1);
					}
			}
		}
		free(buf);
	}
	for (int v = 1; v <= 2 && !have_cg; v++) {
		char point[PATH_MAX], root[PATH_MAX];
		const char *cgpath = v == 1 ? v1path : v2path;
		size_t rl;

		if (!(v == 1 ? have_v1 : have_v2) ||
		    !cgroup_mount(v == 1 ? "cpuset" : NULL, point,
				  sizeof(point), root, sizeof(root)))
			continue;
		rl = strlen(root);
		if (strcmp(root, "/") && !strncmp(cgpath, root, rl) &&
		    (cgpath[rl] == '/' || !cgpath[rl]))
			cgpath += rl;
		if (!strcmp(cgpath, "/"))
			cgpath = "";
		snprintf(path, sizeof(path), "%s%s/%s", point, cgpath,
			 v == 1 ? "cpuset.effective_mems" :
				  "cpuset.mems.effective");
		if (read_file(path, 1u << 16, &buf, &len) < 0)
			continue;
		r = nodes_to_memblks(buf, nbits, cg);
		free(buf);
		if (r > 0) {
			have_cg = true;
			snprintf(source, ssize, "%s", path);
		}
	}
	if (!have_cg)
		snprintf(source, ssize, "/proc/%d/status Mems_allowed_list",
			 (int)pid);
	for (unsigned int m = 0; m < nbits; m++)
		if (memblk_mask_test(nbits, ma, (int)m) &&
		    (!have_cg || memblk_mask_test(nbits, cg, (int)m))) {
			memblk_mask_set(nbits, mask, (int)m);
			n++;
		}
	return n;
}

/* The annotation's value: from the state's annotations, else from the
 * bundle's config.json.  Returns 1 and *value (a copy), 0 if there is no
 * such annotation, -1 with the reason in err. */
static int find_annotation(const struct json *state, char **value, char *err,
			   size_t esize)
{
	const struct json *ann = json_get(state, "annotations"), *bundle, *v;
	struct json *config = NULL;
	char path[PATH_MAX + 16], jerr[256], *text;
	size_t len;
	int r;

	if (!ann) {
		bundle = json_get(state, "bundle");
		if (!bundle || bundle->type != JSON_STRING || !bundle->str[0])
			return set_error(err, esize,
					 "the container state on stdin has no annotations and no bundle");
		if (snprintf(path, sizeof(path), "%s/config.json",
			     bundle->str) >= (int)sizeof(path))
			return set_error(err, esize, "bundle path too long");
		r = read_file(path, CONFIG_JSON_MAX, &text, &len);
		if (r < 0)
			return set_error(err, esize, "cannot read %s: %s",
					 path, strerror(-r));
		r = json_parse(text, len, &config, jerr, sizeof(jerr));
		free(text);
		if (r < 0)
			return set_error(err, esize, "%s is not valid JSON: %s",
					 path, jerr);
		ann = json_get(config, "annotations");
	}
	if (ann && ann->type != JSON_OBJECT) {
		set_error(err, esize, "annotations are %s, not an object",
			  json_type_name(ann->type));
		json_free(config);
		return -1;
	}
	v = json_get(ann, ANNOTATION);
	if (!v) {
		json_free(config);
		return 0;
	}
	if (v->type != JSON_STRING) {
		set_error(err, esize, "annotation %s is %s, not a string",
			  ANNOTATION, json_type_name(v->type));
		json_free(config);
		return -1;
	}
	*value = strdup(v->str);
	json_free(config);
	if (!*value)
		return set_error(err, esize, "out of memory");
	return 1;
}

/* Why mem_setbinding() failed, for the message. */
static const char *bind_error_text(int err, pid_t pid, unsigned long scheme,
				   char *buf, size_t size)
{
	switch (err) {
	case -ESRCH:
		snprintf(buf, size, "process %d exited", (int)pid);
		break;
	case -EPERM:
	case -EACCES:
		snprintf(buf, size,
			 "not permitted to reach process %d (the hook needs root: CAP_SYS_PTRACE, and CAP_SYS_ADMIN for a process under seccomp)",
			 (int)pid);
		break;
	case -EOPNOTSUPP:
		snprintf(buf, size, "this kernel cannot do %s%s",
			 membind_scheme_name(scheme),
			 scheme == MEMBIND_WEIGHTED ?
				 " (weighted interleave needs Linux 6.9)" :
			 scheme == MEMBIND_SOFT ?
				 " on several memblks (Linux 5.15)" : "");
		break;
	case -ETIMEDOUT:
		snprintf(buf, size,
			 "a thread of process %d did not stop (blocked in the kernel); nothing changed",
			 (int)pid);
		break;
	case -EAGAIN:
		snprintf(buf, size,
			 "process %d kept changing (exec, new threads); nothing changed",
			 (int)pid);
		break;
	case -EIO:
		snprintf(buf, size, "membind's helper process was killed; nothing changed");
		break;
	default:
		snprintf(buf, size, "%s", strerror(-err));
	}
	return buf;
}

/* what: where the binding comes from, for messages ("annotation
 * io.membind.binding=soft:n1" or "site default soft:n1"). */
static int apply(pid_t pid, const struct binding *b, const char *what)
{
	unsigned long mask[NMASK] = { 0 }, cmask[NMASK] = { 0 };
	char source[PATH_MAX + 64], err[512], ctext[256], text[256], why[256];
	char s1[80];
	unsigned int nbits;
	int count, n, r;
	const char *name = membind_scheme_name(b->scheme);

	count = memblk_count();
	if (count <= 0)
		return container_error("cannot read the NUMA topology: %s",
				       strerror(count ? -count : ENOENT));
	nbits = (unsigned int)count;
	n = container_memblks(pid, nbits, cmask, source, sizeof(source), err,
			      sizeof(err));
	if (n < 0)
		return container_error("%s", err);
	memblk_list_format(nbits, cmask, ctext, sizeof(ctext));
	if (n == 0)
		return container_error("the container may use no memblk (%s)",
				       source);

	if (b->list[0]) {
		r = memblk_list_parse(b->list, nbits, mask);
		if (r == -ENOENT)
			return container_error("%s: no memblk or node '%s' here (the container's memblks: %s)",
					       what,
					       shown(b->list, s1, sizeof(s1)),
					       ctext);
		if (r < 0)
			return container_error("%s: %s", what, strerror(-r));
		if (b->list[0] == '!' || !strcmp(b->list, "all")) {
			/* all and !LIST: within the container's cpuset */
			n = 0;
			for (unsigned int m = 0; m < nbits; m++) {
				if (!memblk_mask_test(nbits, cmask, (int)m))
					memblk_mask_clear(nbits, mask, (int)m);
				n += memblk_mask_test(nbits, mask, (int)m);
			}
			if (n == 0)
				return container_error("%s names no memblk of the container (its memblks: %s, from %s)",
						       what, ctext, source);
		} else {
			for (unsigned int m = 0; m < nbits; m++)
				if (memblk_mask_test(nbits, mask, (int)m) &&
				    !memblk_mask_test(nbits, cmask, (int)m))
					return container_error("%s: memblk %u (node %d) is outside the container's cpuset.mems (its memblks: %s, from %s)",
							       what, m,
							       memblk_to_node((int)m),
							       ctext, source);
		}
	}
	memblk_list_format(nbits, mask, text, sizeof(text));
	r = mem_setbinding(pid, nbits, mask, b->scheme);
	if (r < 0)
		return container_error("%s: cannot bind process %d %s %s: %s",
				       what, (int)pid, name,
				       text[0] ? text : "-",
				       bind_error_text(r, pid, b->scheme, why,
						       sizeof(why)));
	say("info", "container %s: process %d bound %s %s (%s; the container's memblks: %s)",
	    container_id, (int)pid, name, text[0] ? text : "-", what, ctext);
	return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--config FILE] [STAGE]   (an OCI hook: the container state on stdin)\n"
		"       " PROG " [--config FILE] --check SCHEME[:LIST]\n"
		"       " PROG " --help | --version\n"
		"Binds the container's memory from its annotation " ANNOTATION "=SCHEME[:LIST].\n"
		"STAGE: createRuntime (default), prestart or poststart.\n"
		"Site configuration: " DEFAULT_CONFIG " (default, allow, on-error, log).\n");
}

static int run_hook(void)
{
	struct json *state = NULL;
	const struct json *j;
	struct binding b = { 0 };
	char *text = NULL, *value = NULL, *end = NULL, jerr[256], err[512];
	char what[TEXT_MAX + 64], s1[80];
	size_t len;
	long pid = 0;
	int r;

	r = read_all_fd(STDIN_FILENO, STATE_MAX, &text, &len);
	if (r < 0)
		return container_error("cannot read the container state on stdin: %s",
				       r == -EFBIG ? "more than 1 MiB" :
						     strerror(-r));
	r = json_parse(text, len, &state, jerr, sizeof(jerr));
	free(text);
	if (r < 0)
		return container_error("the container state on stdin is not valid JSON: %s",
				       jerr);
	if (state->type != JSON_OBJECT) {
		r = container_error("the container state on stdin is %s, not an object",
				    json_type_name(state->type));
		goto out;
	}
	j = json_get(state, "id");
	if (j && j->type == JSON_STRING)
		shown(j->str, container_id, sizeof(container_id));

	r = find_annotation(state, &value, err, sizeof(err));
	if (r < 0) {
		r = container_error("%s", err);
		goto out;
	}
	if (r == 0) {
		r = 0;
		if (!site.def.given)
			goto out; /* nothing asked, nothing to do */
		b = site.def;
		snprintf(what, sizeof(what), "site default %s%s%s",
			 membind_scheme_name(b.scheme), b.list[0] ? ":" : "",
			 b.list);
	} else {
		snprintf(what, sizeof(what), "annotation %s=%s", ANNOTATION,
			 shown(value, s1, sizeof(s1)));
		if (parse_binding(value, &b, err, sizeof(err)) < 0) {
			r = container_error("%s: %s", what, err);
			goto out;
		}
		if (!(site.allow & (1u << b.scheme))) {
			char allowed[256];

			allowed_text(allowed, sizeof(allowed));
			r = container_error("%s: scheme '%s' is not allowed on this host (allowed: %s)",
					    what, membind_scheme_name(b.scheme),
					    allowed);
			goto out;
		}
	}

	j = json_get(state, "pid");
	if (j && j->type == JSON_NUMBER) {
		errno = 0;
		pid = strtol(j->str, &end, 10);
		if (*end || errno)
			pid = 0;
	}
	if (pid <= 0 || pid > INT_MAX) {
		r = container_error("the container state on stdin has no process id (\"pid\"): run the hook at the createRuntime or prestart stage");
		goto out;
	}
	r = apply((pid_t)pid, &b, what);
out:
	free(value);
	json_free(state);
	return r;
}

int main(int argc, char **argv)
{
	const char *config = NULL, *check = NULL, *stage = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf(PROG " (membind) %s\n", membind_version());
			return 0;
		} else if (!strcmp(a, "--config") || !strcmp(a, "--check")) {
			if (i + 1 >= argc) {
				fprintf(stderr, PROG ": %s needs a value\n", a);
				return EXIT_USAGE;
			}
			*(a[3] == 'o' ? &config : &check) = argv[++i];
		} else if (!strncmp(a, "--config=", 9)) {
			config = a + 9;
		} else if (!strncmp(a, "--check=", 8)) {
			check = a + 8;
		} else if (a[0] == '-') {
			fprintf(stderr, PROG ": unknown option '%s' (see --help)\n",
				a);
			return EXIT_USAGE;
		} else if (stage) {
			fprintf(stderr, PROG ": more than one stage ('%s', '%s')\n",
				stage, a);
			return EXIT_USAGE;
		} else {
			stage = a;
		}
	}
	if (read_config(config ? config : DEFAULT_CONFIG, config != NULL) < 0)
		return EXIT_REFUSE;
	if (check) {
		struct binding b = { 0 };
		char err[512], allowed[256], s1[80];

		if (parse_binding(check, &b, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s: %s\n",
				shown(check, s1, sizeof(s1)), err);
			return EXIT_REFUSE;
		}
		if (!(site.allow & (1u << b.scheme))) {
			allowed_text(allowed, sizeof(allowed));
			fprintf(stderr, PROG ": %s: scheme '%s' is not allowed on this host (allowed: %s)\n",
				check, membind_scheme_name(b.scheme), allowed);
			return EXIT_REFUSE;
		}
		printf("%s%s%s\n", membind_scheme_name(b.scheme),
		       b.list[0] ? ":" : "", b.list);
		return 0;
	}
	if (stage && strcmp(stage, "createRuntime") &&
	    strcmp(stage, "prestart") && strcmp(stage, "poststart")) {
		fprintf(stderr, PROG ": stage '%s': the hook binds from the runtime's namespaces, at createRuntime, prestart or poststart\n",
			stage);
		return EXIT_USAGE;
	}
	return run_hook();
}
