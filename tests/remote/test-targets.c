/* SPDX-License-Identifier: MIT */
/*
 * Description: targets that used to be harmed or refused by a rebinding.
 *  exec      a target that re-execs itself every 1-5 ms (from its main
 *            thread or from another one) is rebound 300 times: each call
 *            gives 0 or -EAGAIN, and the target never dies (it died of
 *            SIGSEGV when the instruction found before the exec was used
 *            in the new image).
 *  leader    a process whose main thread called pthread_exit() is rebound
 *            and read back (it was refused as a "foreign ABI").
 *  vfork     a thread of the target is a vfork() parent (D state) for
 *            1.5 s: the call waits for it and succeeds, and a ticker
 *            thread of the same target is never held meanwhile (it saw a
 *            1.4 s gap); with MEMBIND_STOP_TIMEOUT_MS=300 the call gives
 *            -ETIMEDOUT and nothing changes.
 *  seccomp   a thread installs, at a random moment during a stream of
 *            rebinds, a filter that kills the process on set_mempolicy and
 *            get_mempolicy, for every thread (TSYNC).  With CAP_SYS_ADMIN
 *            the calls go through (the filter is suspended for our calls)
 *            and the target never dies.  Without it the calls after it are
 *            refused with -EPERM; a filter installed before the calls never
 *            kills, and the deaths of the race (a window the engine cannot
 *            close, docs/remote.md) are counted and shown.
 *  vector    a target whose thread keeps values in vector registers (the
 *            widest the CPU has: SSE and AVX; arm64's SIMD, SVE and, in
 *            streaming mode, SME) and checks them all the time is rebound
 *            60 times: its registers are never changed (on arm64 every
 *            injected syscall zeroed the SVE predicates and ended
 *            streaming mode: the cause of the exec case's deaths there).
 *  rseq      a target spinning inside an rseq(2) critical section is
 *            rebound 50 times: each stop aborts the section, as any
 *            preemption does (the kernel's abort was lost on the way into
 *            the injected syscall, and the section ran on to its commit).
 *  frozen    a target in a frozen cgroup (cgroup v2 cgroup.freeze, what
 *            docker pause does): the call gives -ETIMEDOUT within a few
 *            seconds, and once thawed the target runs on, untraced, with
 *            its own registers (a thread resumed into our call froze on its
 *            way, holding our registers, and the helper waited for ever).
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <ucontext.h>

#include "rt.h"
#include "vecspin.h"
#include "rseqspin.h"
#include <sys/mman.h>

static char *self_exe;

/* ---- exec ---- */

static void *exec_from_thread(void *arg)
{
	char *argv[] = { self_exe, "--exec-loop", NULL };

	usleep((useconds_t)(uintptr_t)arg);
	execv("/proc/self/exe", argv);
	_exit(120);
}

/* Say where a fault hit (for a failure's log), then die of it. */
static void on_fault(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	unsigned long pc = 0;
	char b[160];
	int n;

#if defined(__x86_64__)
	pc = (unsigned long)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	pc = (unsigned long)uc->uc_mcontext.pc;
#else
	(void)uc;
#endif
	n = snprintf(b, sizeof(b),
		     "# exec target: signal %d in tid %ld at pc %#lx, address %p\n",
		     sig, (long)syscall(SYS_gettid), pc, si->si_addr);
	if (write(2, b, (size_t)n) < 0)
		(void)0;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void exec_loop(void)
{
	struct timespec ts;
	pthread_t t;
	unsigned int r;
	char *argv[] = { self_exe, "--exec-loop", NULL };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	r = (unsigned int)(ts.tv_nsec ^ getpid());
	if (r & 1) {
		/* another thread execs: the exec'ing thread takes the pid */
		pthread_create(&t, NULL, exec_from_thread,
			       (void *)(uintptr_t)(1000 + r % 4000));
		pause();
	}
	usleep(1000 + r % 4000);
	execv("/proc/self/exe", argv);
	_exit(121);
}

/* Calls of the exec case (a longer run: -DEXEC_CALLS=3000). */
#ifndef EXEC_CALLS
#define EXEC_CALLS 300
#endif

static void case_exec(void)
{
	unsigned long one = 1;
	int ok = 0, again = 0, st;
	pid_t pid = fork();

	if (pid == 0)
		exec_loop();
	usleep(20000);
	for (int i = 0; i < EXEC_CALLS; i++) {
		int m = i % 2 ? RT_MPOL_BIND : RT_MPOL_PREFERRED;
		int r = mb_remote_set_mempolicy(pid, m, &one, 64);

		if (waitpid(pid, &st, WNOHANG) == pid) {
			rt_fail("exec: target died (%s %d) at call %d",
				WIFSIGNALED(st) ? "signal" : "exit",
				WIFSIGNALED(st) ? WTERMSIG(st)
						: WEXITSTATUS(st),
				i);
			RT_CHECK(ok > 0, "exec: no call went through");
			return;
		}
		if (r == 0)
			ok++;
		else if (r == -EAGAIN)
			again++;
		else
			rt_fail("exec: call %d: %d", i, r);
	}
	printf("# exec: %d calls: %d done, %d -EAGAIN, target alive\n",
	       EXEC_CALLS, ok, again);
	RT_CHECK(ok > 0, "exec: no call went through");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

/* ---- vector ---- */

/* Calls per kind: the old engine failed the SVE kind at the first. */
#define VEC_CALLS 60

static void case_vector(void)
{
	unsigned int kinds = vec_kinds();
	unsigned long one = 1;

	for (unsigned int kind = 1; kind <= VEC_STREAMING; kind <<= 1) {
		int ok = 0, st, i;
		pid_t pid;

		if (!(kinds & kind)) {
			printf("# vector %s: not on this CPU, skipped\n",
			       vec_name(kind));
			continue;
		}
		if (vec_spin(kind, 100000)) {
			rt_fail("vector %s: the loop fails on its own",
				vec_name(kind));
			continue;
		}
		pid = fork();
		if (pid == 0) {
			for (;;)
				if (vec_spin(kind, 1L << 20))
					_exit(3);
		}
		usleep(20000);
		for (i = 0; i < VEC_CALLS; i++) {
			int m = i % 2 ? RT_MPOL_BIND : RT_MPOL_PREFERRED;
			int r = mb_remote_set_mempolicy(pid, m, &one, 64);

			if (waitpid(pid, &st, WNOHANG) == pid)
				break;
			if (r == 0)
				ok++;
			else
				rt_fail("vector %s: call %d: %d",
					vec_name(kind), i, r);
			usleep(1000);
		}
		if (i < VEC_CALLS) {
			rt_fail("vector %s: the target %s (%d) at call %d: its "
				"registers changed under a rebinding",
				vec_name(kind),
				WIFSIGNALED(st) ? "died of signal" : "exited",
				WIFSIGNALED(st) ? WTERMSIG(st)
						: WEXITSTATUS(st),
				i);
			continue;
		}
		printf("# vector %s: %d of %d calls done, registers intact\n",
		       vec_name(kind), ok, VEC_CALLS);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
}

/* ---- rseq ---- */

static void case_rseq(void)
{
	struct rseq_shared *s;
	unsigned long one = 1;
	int st, rounds = 0;
	pid_t pid;

	if (!rseq_usable()) {
		printf("# rseq: no rseq area registered by glibc for this "
		       "thread (kernel, tunable or architecture): skipped\n");
		return;
	}
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		rt_fail("rseq: mmap: %s", strerror(errno));
		return;
	}
	memset((void *)s, 0, sizeof(*s));
	s->epoch = 1;
	pid = fork();
	if (pid == 0) {
		for (;;)
			rseq_round(s);
	}
	for (int i = 0; i < 50; i++) {
		int m = i % 2 ? RT_MPOL_BIND : RT_MPOL_PREFERRED;
		int r;

		/* The target spins in a section that read the epoch before
		 * the new one: the stop must abort it. */
		usleep(2000);
		s->epoch = s->epoch + 1;
		r = mb_remote_set_mempolicy(pid, m, &one, 64);
		s->go = s->epoch;
		if (r) {
			rt_fail("rseq: call %d: %d", i, r);
			break;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			rt_fail("rseq: the target died at call %d", i);
			munmap((void *)s, sizeof(*s));
			return;
		}
		rounds++;
	}
	usleep(20000);
	RT_CHECK(s->aborts > 0, "rseq: no section was ever aborted");
	RT_CHECK(s->violations == 0,
		 "rseq: %llu of %d sections ran on to their commit across a "
		 "stop (aborts %llu)",
		 (unsigned long long)s->violations, rounds,
		 (unsigned long long)s->aborts);
	printf("# rseq: %d calls: %llu sections aborted by the stops, %llu "
	       "committed, %llu ran on across a stop\n",
	       rounds, (unsigned long long)s->aborts,
	       (unsigned long long)s->commits,
	       (unsigned long long)s->violations);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	munmap((void *)s, sizeof(*s));
}

/* ---- leader ---- */

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void case_leader(void)
{
	unsigned long one = 1;
	struct mb_thread_policy pol[4];
	unsigned long masks[4][RT_MASK_BITS / (8 * sizeof(long))];
	int r, st;
	pid_t pid = fork();

	if (pid == 0) {
		pthread_t t;

		pthread_create(&t, NULL, idle, NULL);
		pthread_create(&t, NULL, idle, NULL);
		pthread_exit(NULL);
	}
	usleep(100000);
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == 0, "leader exited: set gave %d", r);
	for (int i = 0; i < 4; i++)
		pol[i].nodes = masks[i];
	r = mb_remote_get_mempolicy(pid, pol, 4, RT_MASK_BITS);
	RT_CHECK(r == 2, "leader exited: get gave %d threads, expected 2", r);
	for (int i = 0; i < r && i < 4; i++)
		RT_CHECK(pol[i].mode == RT_MPOL_BIND && pol[i].nodes[0] == 1,
			 "leader exited: tid %d has mode %d mask %lx",
			 pol[i].tid, pol[i].mode, pol[i].nodes[0]);
	rt_check_free(pid, 0);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

/* ---- vfork ---- */

static _Atomic long max_gap_us;
static int vfork_ms;

static void *ticker(void *arg)
{
	double last = rt_now();

	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 1000000 };
		double now;
		long gap;

		nanosleep(&ts, NULL);
		now = rt_now();
		gap = (long)((now - last) * 1e6);
		if (gap > atomic_load(&max_gap_us))
			atomic_store(&max_gap_us, gap);
		last = now;
	}
	return NULL;
}

static void *vforker(void *arg)
{
	int fd = (int)(intptr_t)arg;
	pid_t c;

	/* the parent waits in the kernel (D) until the child exits */
	c = vfork();
	if (c == 0) {
		struct timespec ts = { vfork_ms / 1000,
				       (vfork_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	{
		long g = atomic_load(&max_gap_us);

		if (write(fd, &g, sizeof(g)) != (ssize_t)sizeof(g))
			_exit(3);
	}
	for (;;)
		pause();
	return NULL;
}

/* A target with a ticker and a thread in vfork for ms; returns its pid and
 * the read end on which it reports its ticker's largest gap once the vfork
 * child exited. */
static pid_t start_vfork_target(int ms, int *rd)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		pthread_t t;

		vfork_ms = ms;
		pthread_create(&t, NULL, ticker, NULL);
		usleep(50000);
		atomic_store(&max_gap_us, 0);
		pthread_create(&t, NULL, vforker, (void *)(intptr_t)p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	*rd = p[0];
	usleep(200000); /* the vfork parent is in D by now */
	return pid;
}

static void case_vfork(void)
{
	unsigned long one = 1;
	double t0;
	long gap = -1;
	int rd, r, st;
	pid_t pid = start_vfork_target(1500, &rd);

	t0 = rt_now();
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == 0, "vfork: set gave %d", r);
	RT_CHECK(read(rd, &gap, sizeof(gap)) == (ssize_t)sizeof(gap),
		 "vfork: no report from the target");
	printf("# vfork: the call took %.2f s; the ticker's largest gap %ld us\n",
	       rt_now() - t0, gap);
	/* Held for the whole vfork, the ticker would have seen ~1.3 s. */
	RT_CHECK(gap >= 0 && gap < 500000,
		 "vfork: a healthy thread was held %ld us", gap);
	if (!r)
		rt_check_free(pid, 0);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(rd);

	/* Given up on: -ETIMEDOUT, nothing changed, nothing left traced. */
	setenv("MEMBIND_STOP_TIMEOUT_MS", "300", 1);
	pid = start_vfork_target(1500, &rd);
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == -ETIMEDOUT, "vfork, 300 ms limit: set gave %d", r);
	unsetenv("MEMBIND_STOP_TIMEOUT_MS");
	RT_CHECK(read(rd, &gap, sizeof(gap)) == (ssize_t)sizeof(gap),
		 "vfork, 300 ms limit: no report from the target");
	{
		struct mb_thread_policy pol[4];
		unsigned long masks[4][RT_MASK_BITS / (8 * sizeof(long))];
		int n;

		for (int i = 0; i < 4; i++)
			pol[i].nodes = masks[i];
		n = mb_remote_get_mempolicy(pid, pol, 4, RT_MASK_BITS);
		RT_CHECK(n == 3, "vfork, 300 ms limit: get gave %d", n);
		for (int i = 0; i < n && i < 4; i++)
			RT_CHECK(pol[i].mode == RT_MPOL_DEFAULT,
				 "vfork, 300 ms limit: tid %d has mode %d after -ETIMEDOUT",
				 pol[i].tid, pol[i].mode);
	}
	rt_check_free(pid, 0);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(rd);
}

/* ---- seccomp ---- */

static void *spin(void *arg)
{
	volatile unsigned long n = 0;

	(void)arg;
	for (;;)
		n++;
	return NULL;
}

/* Kill the process on set_mempolicy or get_mempolicy, in every thread. */
static int install_killer(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_set_mempolicy, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_get_mempolicy, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_TSYNC, &prog);
}

/*
 * runs targets; each installs the filter after a random delay while we
 * rebind it in a loop (a race with our calls), or, with before, before the
 * first call.  Without CAP_SYS_ADMIN the race has a window the engine cannot
 * close (docs/remote.md, "Sandboxed targets"): deaths are counted and
 * reported there, not failed; a filter that is there before the call must
 * never kill.
 */
static void case_seccomp(int admin, int runs, int before)
{
	unsigned long one = 1;
	int deaths = 0, refused = 0, done = 0, other = 0;
	int must_live = admin || before;

	for (int run = 0; run < runs; run++) {
		int st, delay_us = before ? 0 : 2000 + (rand() % 30000);
		pid_t pid = fork();
		double end;

		if (pid == 0) {
			pthread_t t;

			pthread_create(&t, NULL, spin, NULL);
			pthread_create(&t, NULL, idle, NULL);
			pthread_create(&t, NULL, idle, NULL);
			usleep((useconds_t)delay_us);
			if (install_killer())
				_exit(90);
			for (;;)
				pause();
		}
		if (before)
			usleep(100000);
		end = rt_now() + (delay_us + 30000) / 1e6;
		while (rt_now() < end) {
			int r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one,
							64);

			if (r == 0)
				done++;
			else if (r == -EPERM)
				refused++;
			else
				other++;
			if (waitpid(pid, &st, WNOHANG) != pid) {
				if (r && r != -EPERM)
					rt_fail("seccomp: set gave %d", r);
			} else {
				deaths++;
				if (must_live)
					rt_fail("seccomp run %d (%s): target died: %s %d",
						run,
						admin ? "CAP_SYS_ADMIN"
						      : "no CAP_SYS_ADMIN",
						WIFSIGNALED(st) ? "signal" : "exit",
						WIFSIGNALED(st) ? WTERMSIG(st)
								: WEXITSTATUS(st));
				pid = 0;
				break;
			}
		}
		if (pid) {
			rt_check_free(pid, 0);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
		}
	}
	printf("# seccomp (%s, filter %s): %d runs: %d calls done, %d refused, %d deaths%s\n",
	       admin ? "CAP_SYS_ADMIN" : "no CAP_SYS_ADMIN",
	       before ? "before the calls" : "installed during them", runs,
	       done, refused, deaths,
	       must_live ? "" : " (the window without CAP_SYS_ADMIN)");
	if (before && !admin)
		RT_CHECK(done == 0, "seccomp: %d calls done in filtered targets",
			 done);
	if (admin)
		RT_CHECK(refused == 0, "seccomp: %d refusals with CAP_SYS_ADMIN",
			 refused);
	else
		RT_CHECK(refused > 0, "seccomp: the filter was never seen");
	(void)other;
}

/* ---- frozen ---- */

/* A cgroup v2 mount where we may make a group, or "" */
static void cgroup2_root(char *out, size_t size)
{
	char line[1024];
	FILE *f = fopen("/proc/self/mountinfo", "r");

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		char mnt[512], *dash = strstr(line, " - ");

		if (!dash || strncmp(dash, " - cgroup2 ", 11))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
			snprintf(out, size, "%s", mnt);
			break;
		}
	}
	if (f)
		fclose(f);
}

static int put(const char *dir, const char *file, const char *text)
{
	char path[600];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	close(fd);
	return r;
}

static void *ticking(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void case_frozen(void)
{
	char root[512], dir[600], num[32];
	unsigned long one = 1;
	double t0, took;
	int r, st;
	pid_t pid;

	cgroup2_root(root, sizeof(root));
	snprintf(dir, sizeof(dir), "%s/membind-test-frozen-%d", root,
		 (int)getpid());
	if (!root[0] || mkdir(dir, 0755)) {
		printf("# frozen: no cgroup v2 group can be made here: skipped\n");
		return;
	}
	pid = fork();
	if (pid == 0) {
		pthread_t t;

		pthread_create(&t, NULL, ticking, NULL);
		ticking(NULL);
	}
	snprintf(num, sizeof(num), "%d", (int)pid);
	if (put(dir, "cgroup.procs", num) || put(dir, "cgroup.freeze", "1")) {
		printf("# frozen: cgroup.freeze not usable here: skipped\n");
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		rmdir(dir);
		return;
	}
	usleep(200000);
	t0 = rt_now();
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
	took = rt_now() - t0;
	printf("# frozen: set gave %d after %.2f s\n", r, took);
	RT_CHECK(r == -ETIMEDOUT, "frozen: set gave %d, expected -ETIMEDOUT",
		 r);
	rt_check_free(pid, 1); /* frozen threads may show as stopped */
	put(dir, "cgroup.freeze", "0");
	usleep(300000);
	RT_CHECK(waitpid(pid, &st, WNOHANG) == 0,
		 "frozen: the target died after the thaw (%s %d)",
		 WIFSIGNALED(st) ? "signal" : "exit",
		 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	rt_check_free(pid, 0);
	r = mb_remote_set_mempolicy(pid, RT_MPOL_BIND, &one, 64);
	RT_CHECK(r == 0, "frozen: set after the thaw gave %d", r);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	usleep(100000);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	int admin;

	self_exe = argv[0];
	if (argc > 1 && !strcmp(argv[1], "--exec-loop"))
		exec_loop();
	srand(4321);
	case_vector();
	case_rseq();
	case_exec();
	case_frozen();
	case_leader();
	case_vfork();
	admin = rt_sys_admin(-1);
	rt_sys_admin(0);
	case_seccomp(0, 5, 1);
	case_seccomp(0, 10, 0);
	if (admin && rt_sys_admin(1))
		case_seccomp(1, 10, 0);
	else
		printf("# no CAP_SYS_ADMIN: the suspended-filter runs skipped\n");
	return rt_exit("test-targets");
}
