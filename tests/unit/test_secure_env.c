/* SPDX-License-Identifier: MIT */
/*
 * Description: the library's environment variables are read with
 * secure_getenv(): a set-group-ID program (AT_SECURE) ignores
 * MEMBIND_SYSFS_ROOT and MEMBIND_SIGNAL from its caller.  The test runs
 * itself with MEMBIND_SYSFS_ROOT=/nonexistent, then with MEMBIND_SIGNAL=1:
 * once as it is, where both must take effect (memblk_count() -ENOENT, a
 * process-wide call that reaches a second thread -EINVAL: signal 1 is not
 * a real-time signal), and once as a set-group-ID copy of itself, where
 * both must be ignored.  Skips (77) when it cannot make a set-group-ID
 * program that runs as one (not root and in no supplementary group, or a
 * nosuid file system).
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "membind.h"
#include "testutil.h"

extern char **environ;

static void *idle_thread(void *arg)
{
	int fd = *(int *)arg;
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* mem_getbinding() of this process with a second thread, which the
 * broadcast signal must reach. */
static int getbinding_two_threads(void)
{
	unsigned long mask[MEMBIND_MASK_LONGS(MEMBIND_MAX_BITS)] = {0};
	unsigned long behavior = 0;
	int pfd[2], ret;
	pthread_t t;

	if (pipe(pfd) || pthread_create(&t, NULL, idle_thread, &pfd[0])) {
		perror("pipe/pthread_create");
		exit(T_FAIL);
	}
	ret = mem_getbinding(0, MEMBIND_MAX_BITS, mask, &behavior);
	close(pfd[1]);
	pthread_join(t, NULL);
	return ret;
}

/* The checks, in the child: what says which variable is set, secure
 * whether it was exec'd AT_SECURE and the variable must be ignored. */
static int child(const char *what, bool secure)
{
	char name[96];
	int ret;

	if (secure && !getauxval(AT_SECURE)) {
		printf("SKIP: the set-group-ID copy did not run as one "
		       "(nosuid file system?)\n");
		return T_SKIP;
	}
	if (!strcmp(what, "root")) {
		ret = memblk_count();
		if (secure && ret < 1)
			fprintf(stderr, "MEMBIND_SYSFS_ROOT taken from the "
				"environment: memblk_count() = %d\n", ret);
		CHECK(secure ? ret >= 1 : ret == -ENOENT);
	} else {
		ret = getbinding_two_threads();
		if (secure && ret < 0)
			fprintf(stderr, "MEMBIND_SIGNAL taken from the "
				"environment: mem_getbinding() = %d\n", ret);
		/* signal 1 is not a real-time signal */
		CHECK(secure ? ret >= 0 : ret == -EINVAL);
	}
	snprintf(name, sizeof(name), "test_secure_env (MEMBIND_%s, %s)",
		 !strcmp(what, "root") ? "SYSFS_ROOT" : "SIGNAL",
		 secure ? "set-group-ID" : "plain");
	return t_finish(name);
}

static int run(const char *exe, const char *what, bool secure)
{
	char *argv[] = { (char *)exe, "child", (char *)what,
			 secure ? "secure" : "plain", NULL };
	char *env[256];
	int n = 0, status;
	pid_t pid;

	for (char **e = environ; *e && n < 250; e++)
		if (strncmp(*e, "MEMBIND_", 8))
			env[n++] = *e;
	if (!strcmp(what, "root"))
		env[n++] = "MEMBIND_SYSFS_ROOT=/nonexistent/membind-secure-env";
	else
		env[n++] = "MEMBIND_SIGNAL=1";
	env[n] = NULL;
	fflush(NULL);
	if (posix_spawn(&pid, exe, NULL, NULL, argv, env)) {
		perror("posix_spawn");
		return T_FAIL;
	}
	if (waitpid(pid, &status, 0) != pid)
		return T_FAIL;
	if (!WIFEXITED(status)) {
		fprintf(stderr, "%s run: killed by signal %d\n", what,
			WTERMSIG(status));
		return T_FAIL;
	}
	return WEXITSTATUS(status);
}

/* A group this process may give a file it owns, other than its real one. */
static int other_gid(gid_t *gid)
{
	gid_t groups[256];
	int n;

	if (geteuid() == 0) {
		*gid = getgid() == 65534 ? 65533 : 65534;
		return 0;
	}
	n = getgroups(256, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] != getgid()) {
			*gid = groups[i];
			return 0;
		}
	return -1;
}

/* A set-group-ID copy of this program, next to it (the build directory:
 * /tmp may be nosuid).  Returns 0, or T_SKIP with a reason printed. */
static int make_setgid_copy(char *copy, size_t size)
{
	char self[PATH_MAX], buf[65536];
	ssize_t len, r;
	gid_t gid;
	int in, out;

	if (other_gid(&gid)) {
		printf("SKIP: not root and in no supplementary group: cannot "
		       "make a set-group-ID program\n");
		return T_SKIP;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0 || (size_t)len + 16 >= size)
		return T_FAIL;
	self[len] = '\0';
	snprintf(copy, size, "%s-sgid-XXXXXX", self);
	out = mkstemp(copy);
	if (out < 0) {
		printf("SKIP: cannot write next to %s: %s\n", self,
		       strerror(errno));
		return T_SKIP;
	}
	in = open(self, O_RDONLY | O_CLOEXEC);
	while (in >= 0 && (r = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)r) != r)
			in = -1;
	if (in < 0 || fchown(out, (uid_t)-1, gid) || fchmod(out, 02755)) {
		printf("SKIP: cannot make %s set-group-ID: %s\n", copy,
		       strerror(errno));
		close(out);
		unlink(copy);
		return T_SKIP;
	}
	close(in);
	close(out);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const what[] = { "root", "signal" };
	char copy[PATH_MAX + 32];
	int ret;

	if (argc == 4 && !strcmp(argv[1], "child"))
		return child(argv[2], !strcmp(argv[3], "secure"));
	/* The control: without AT_SECURE the variables take effect, so the
	 * checks below can tell. */
	for (int i = 0; i < 2; i++)
		CHECK_EQ(run("/proc/self/exe", what[i], false), T_PASS);
	ret = make_setgid_copy(copy, sizeof(copy));
	if (ret)
		return ret;
	for (int i = 0; i < 2 && ret != T_SKIP; i++) {
		ret = run(copy, what[i], true);
		if (ret != T_SKIP)
			CHECK_EQ(ret, T_PASS);
	}
	unlink(copy);
	if (ret == T_SKIP)
		return T_SKIP;
	return t_finish("test_secure_env");
}
