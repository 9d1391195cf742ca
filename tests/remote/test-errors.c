/* SPDX-License-Identifier: MIT */
/*
 * Description: the remote engine's refusals: no such pid, a zombie, a
 * kernel thread, a target already traced (-EBUSY), seccomp filters
 * (process-wide and in one thread only: -EPERM, and the threads already
 * rebound get their old policy back), an invalid mask (the target's
 * set_mempolicy error, nothing changed), a 32-bit target (-EOPNOTSUPP, with
 * REMOTE_HELPER32 set to its path), a caller without the right (-EPERM, as
 * nobody).  After each, the target still runs, not stopped, not traced.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>

#include "rt.h"

static int rep[2], ctl[2], ready[2];

/* A filter that makes set_mempolicy fail with EPERM. */
static int block_set_mempolicy(unsigned int flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_set_mempolicy, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };

	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* Each thread waits on ctl; for every byte the main thread reads, all
 * threads report their policy (mode and first mask word). */
static int gen; /* only through __atomic_* (clang refuses _Atomic there) */

static void say(void)
{
	char line[64];
	unsigned long w = 0;
	int mode = -1, n;

	rt_own_policy(&mode, &w);
	n = snprintf(line, sizeof(line), "%d %lx\n", mode, w);
	if (write(rep[1], line, (size_t)n) != n)
		_exit(3);
}

static void *worker(void *arg)
{
	int last = 0;

	if (arg)
		block_set_mempolicy(0); /* this thread only */
	if (write(ready[1], "r", 1) != 1)
		_exit(2);
	for (;;) {
		if (__atomic_load_n(&gen, __ATOMIC_SEQ_CST) != last) {
			last = __atomic_load_n(&gen, __ATOMIC_SEQ_CST);
			say();
		}
		usleep(1000);
	}
	return NULL;
}

#define NTHREADS 4

/* filtered: 0 none, 1 one thread, 2 whole process */
static pid_t start_target(int filtered)
{
	pid_t pid;
	char c;

	if (pipe(rep) || pipe(ctl) || pipe(ready))
		exit(1);
	pid = fork();
	if (pid == 0) {
		pthread_t th;
		char c;

		if (filtered == 2)
			block_set_mempolicy(0);
		for (int i = 1; i < NTHREADS; i++)
			pthread_create(&th, NULL, worker,
				       (void *)(long)(filtered == 1 && i == 2));
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		while (read(ctl[0], &c, 1) == 1) {
			__atomic_add_fetch(&gen, 1, __ATOMIC_SEQ_CST);
			say();
		}
		_exit(0);
	}
	/* The filters must be on before the engine looks: on a loaded
	 * machine 100 ms was not always enough. */
	for (int i = 0; i < NTHREADS; i++)
		if (read(ready[0], &c, 1) != 1)
			exit(1);
	usleep(100000);
	close(ready[0]), close(ready[1]);
	return pid;
}

/* Ask the target's threads for their policy; all must have mode/word. */
static void expect_policy(pid_t pid, int mode, unsigned long word,
			  const char *what)
{
	char buf[1024];
	size_t have = 0;
	int lines = 0;

	rt_check_free(pid, 0);
	if (write(ctl[1], "g", 1) != 1) {
		rt_fail("%s: target gone", what);
		return;
	}
	while (lines < NTHREADS) {
		ssize_t r = read(rep[0], buf + have, sizeof(buf) - 1 - have);
		char *p = buf, *nl;

		if (r <= 0) {
			rt_fail("%s: target died", what);
			return;
		}
		have += (size_t)r;
		buf[have] = '\0';
		while ((nl = strchr(p, '\n'))) {
			int m;
			unsigned long w;

			if (sscanf(p, "%d %lx", &m, &w) == 2)
				RT_CHECK(m == mode && w == word,
					 "%s: a thread has mode %d mask %lx, expected %d %lx",
					 what, m, w, mode, word);
			lines++;
			p = nl + 1;
		}
		have = strlen(p);
		memmove(buf, p, have);
	}
}

static void stop_target(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(rep[0]), close(rep[1]), close(ctl[0]), close(ctl[1]);
}

int main(void)
{
	unsigned long one = 1, bad = 1UL << 40;
	const char *h32 = getenv("REMOTE_HELPER32");
	pid_t pid, z, tracer;
	int r, st, admin;

	/* no such process */
	r = mb_remote_set_mempolicy(0x3ffffff0, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == -ESRCH, "nonexistent pid: %d", r);

	/* zombie */
	z = fork();
	if (z == 0)
		_exit(0);
	usleep(50000);
	r = mb_remote_set_mempolicy(z, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == -ESRCH, "zombie: %d", r);
	waitpid(z, &st, 0);

	/* kernel thread */
	r = mb_remote_set_mempolicy(2, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == -EINVAL, "kthreadd: %d", r);

	/* ourselves */
	r = mb_remote_set_mempolicy(getpid(), RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == -EINVAL, "self: %d", r);

	/* an invalid mask: the target's own set_mempolicy says EINVAL */
	pid = start_target(0);
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &bad, 64);
	RT_CHECK(r == -EINVAL, "invalid mask: %d", r);
	expect_policy(pid, RT_MPOL_DEFAULT, 0, "invalid mask");
	/* a good one still works after that */
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == 0, "bind after failure: %d", r);
	expect_policy(pid, RT_MPOL_BIND, 1, "bind after failure");

	/* already traced by somebody else */
	tracer = fork();
	if (tracer == 0) {
		if (ptrace(PTRACE_SEIZE, pid, 0, 0))
			_exit(1);
		pause();
		_exit(0);
	}
	usleep(100000);
	r = mb_remote_set_mempolicy(pid, RT_MPOL_INTERLEAVE, &one, 64);
	RT_CHECK(r == -EBUSY, "traced target: %d", r);
	kill(tracer, SIGKILL);
	waitpid(tracer, &st, 0);
	usleep(50000);
	expect_policy(pid, RT_MPOL_BIND, 1, "after -EBUSY");

	/* not permitted: as nobody, on a root-owned target */
	if (getuid() == 0) {
		pid_t c = fork();

		if (c == 0) {
			if (setgid(65534) || setuid(65534))
				_exit(77);
			r = mb_remote_set_mempolicy(pid, RT_MPOL_DEFAULT, NULL,
						    0);
			_exit(r == -EPERM ? 0 : 10 + (-r & 0xff));
		}
		waitpid(c, &st, 0);
		RT_CHECK(WIFEXITED(st) && (WEXITSTATUS(st) == 0 ||
					   WEXITSTATUS(st) == 77),
			 "as nobody: exit %d", WEXITSTATUS(st));
		expect_policy(pid, RT_MPOL_BIND, 1, "after -EPERM");
	} else {
		printf("# not root: EPERM case skipped\n");
	}
	stop_target(pid);

	/* Without CAP_SYS_ADMIN a filtered thread is refused. */
	admin = rt_sys_admin(-1);
	rt_sys_admin(0);

	/* seccomp in one thread only: the others, rebound first, roll back */
	pid = start_target(1);
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == -EPERM, "seccomp in one thread: %d", r);
	expect_policy(pid, RT_MPOL_DEFAULT, 0, "seccomp in one thread");
	stop_target(pid);

	/* seccomp in the whole process */
	pid = start_target(2);
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == -EPERM, "seccomp process: %d", r);
	expect_policy(pid, RT_MPOL_DEFAULT, 0, "seccomp process");

	/* With it, the filter (which answers set_mempolicy with EPERM) is
	 * suspended for our calls only: the rebinding goes through. */
	if (admin && rt_sys_admin(1)) {
		r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
		RT_CHECK(r == 0, "seccomp process, CAP_SYS_ADMIN: %d", r);
		expect_policy(pid, RT_MPOL_BIND, 1,
			      "seccomp process, CAP_SYS_ADMIN");
		rt_check_free(pid, 0);
	} else {
		printf("# no CAP_SYS_ADMIN: suspended-filter case skipped\n");
	}
	stop_target(pid);

	/* a 32-bit target */
	if (h32 && access(h32, X_OK) == 0) {
		pid = fork();
		if (pid == 0) {
			execl(h32, h32, (char *)NULL);
			_exit(127);
		}
		usleep(200000);
		r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
		RT_CHECK(r == -EOPNOTSUPP, "32-bit target: %d", r);
		rt_check_free(pid, 0);
		RT_CHECK(waitpid(pid, &st, WNOHANG) == 0, "32-bit target died");
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	} else {
		printf("# no 32-bit helper: that case skipped\n");
	}
	return rt_exit("test-errors");
}
