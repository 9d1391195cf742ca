/* SPDX-License-Identifier: MIT */
/*
 * Description: a nanosleep interrupted by a rebind goes on with the time
 * that was left, through restart_syscall(2), as after any other stop.
 * Without that (the first aarch64 engine) it started again with its full
 * timeout.  Checked without timing: after each rebind the child is found
 * blocked in restart_syscall (/proc/PID/syscall); its sleep is never short.
 */
#include "rt.h"

#define SLEEP_S 3

/* The syscall number pid is blocked in; -2 if it never blocked in time. */
static long blocked_in(pid_t pid)
{
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	for (int i = 0; i < 2000; i++) {
		char st[64];
		ssize_t n;
		int fd;

		rt_status(pid, 0, "State", st, sizeof(st));
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -2;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0 && st[0] == 'S') {
			buf[n] = '\0';
			if (strncmp(buf, "running", 7))
				return strtol(buf, NULL, 10);
		}
		usleep(1000);
	}
	return -2;
}

int main(void)
{
	unsigned long node0[RT_MASK_BITS / (8 * sizeof(long))] = { 1 };
	pid_t pid = fork();
	long nr;
	int st;

	if (pid < 0)
		return 99;
	if (pid == 0) {
		struct timespec ts = { SLEEP_S, 0 };
		double t0 = rt_now();

		if (nanosleep(&ts, NULL))
			_exit(2); /* EINTR */
		_exit(rt_now() - t0 < SLEEP_S - 0.01 ? 3 : 0);
	}
	nr = blocked_in(pid);
	RT_CHECK(nr == SYS_nanosleep || nr == SYS_clock_nanosleep,
		 "child blocked in syscall %ld before the rebinds", nr);
	for (int i = 0; i < 4; i++) {
		int r = i % 2 ? mb_remote_set_mempolicy(pid, RT_MPOL_DEFAULT,
							NULL, 0)
			      : mb_remote_set_mempolicy(pid, RT_MPOL_PREFERRED,
							node0, RT_MASK_BITS);

		RT_CHECK(r == 0, "rebind %d: %d", i, r);
		nr = blocked_in(pid);
		RT_CHECK(nr == SYS_restart_syscall,
			 "rebind %d: child blocked in syscall %ld, not "
			 "restart_syscall (%d)", i, nr, SYS_restart_syscall);
	}
	rt_check_free(pid, 0);
	if (waitpid(pid, &st, 0) != pid)
		rt_fail("waitpid: %s", strerror(errno));
	else
		RT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			 "child: status 0x%x (2: EINTR, 3: short sleep)", st);
	return rt_exit("test-restart");
}
