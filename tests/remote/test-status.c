/* SPDX-License-Identifier: MIT */
/*
 * Description: the seccomp check reads the whole /proc status.  A target in
 * 3000 supplementary groups has a Groups: line of some 20 KiB, which pushes
 * Seccomp: (and the signal masks) far past 4 KiB.  Its threads carry a
 * filter that answers set_mempolicy with ENOTTY: the engine must refuse the
 * target with -EPERM without running anything in it.  (Reading only the
 * first 4 KiB took the missing Seccomp: for 0, injected set_mempolicy, and
 * returned the filter's -ENOTTY.)  Needs root (setgroups); skipped
 * otherwise.
 */
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>

#include "rt.h"

#define NGROUPS 3000

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int filter_enotty(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_set_mempolicy, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };

	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* Size of /proc/pid/status and where "Seccomp:" starts in it (-1: none). */
static long status_size(pid_t pid, long *seccomp_at)
{
	static char buf[1 << 20];
	char path[64];
	size_t len = 0;
	ssize_t n;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	p = strstr(buf, "\nSeccomp:");
	*seccomp_at = p ? p + 1 - buf : -1;
	return (long)len;
}

int main(void)
{
	static gid_t gids[NGROUPS];
	unsigned long one = 1;
	long size, at = -1;
	int ready[2], r, st;
	pid_t pid;
	char c;

	/* The filtered thread must be refused: no CAP_SYS_ADMIN, with which
	 * the engine would suspend its filter instead (test-sandbox). */
	rt_sys_admin(0);
	if (geteuid() != 0) {
		printf("# not root: cannot set %d groups, skipped\n", NGROUPS);
		return 77;
	}
	if (pipe(ready))
		return 1;
	pid = fork();
	if (pid == 0) {
		pthread_t th;

		for (int i = 0; i < NGROUPS; i++)
			gids[i] = (gid_t)(1000000 + i);
		if (setgroups(NGROUPS, gids))
			_exit(2);
		if (filter_enotty())
			_exit(3);
		for (int i = 0; i < 2; i++)
			pthread_create(&th, NULL, idle, NULL);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		idle(NULL);
	}
	if (read(ready[0], &c, 1) != 1) {
		waitpid(pid, &st, 0);
		rt_fail("target did not start (exit %d)", WEXITSTATUS(st));
		return rt_exit("test-status");
	}
	size = status_size(pid, &at);
	printf("# /proc/%d/status: %ld bytes, Seccomp: at %ld\n", pid, size,
	       at);
	RT_CHECK(at > 4096, "Seccomp: within the first 4 KiB: no test");

	alarm(20);
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == -EPERM,
		 "filtered target with a long Groups: line: %d, expected -EPERM (%d: set_mempolicy ran in it)",
		 r, -ENOTTY);
	rt_check_free(pid, 0);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return rt_exit("test-status");
}
