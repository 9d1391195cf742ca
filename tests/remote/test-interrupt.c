/* SPDX-License-Identifier: MIT */
/*
 * Description: stopping the caller never harms the target.  A caller that
 * rebinds a target in a loop (mb_remote_set_mempolicy, as mem_setbinding
 * does) is sent SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGTSTP or SIGSTOP at a
 * random moment, trial after trial.  The target is multi-threaded and checks
 * its own work all the time: integer and floating-point sums kept in
 * registers across the stops (a register changed under a thread gives a
 * wrong sum or a crash), a thread blocked in read() that must never see
 * EINTR, a thread in nanosleep.  After every trial: the target is alive,
 * no thread of it is traced or stopped, every thread has the same policy
 * (the old one or the new one, never a mix), and the target found no
 * wrong result.  1000 trials (REMOTE_INTERRUPT_TRIALS=N for another
 * count).  Before the helper process, 11 in 12 such trials killed the
 * target with SIGSEGV.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <dirent.h>
#include <sys/prctl.h>

#include "rt.h"

#define NWORKERS 2

static _Atomic long bad_sums, bad_eintr, rounds;
static int quiet[2];

/* Sums kept in registers over a long loop: any change made to this
 * thread's registers from outside shows as a wrong total. */
static void *worker(void *arg)
{
	static volatile double half = 0.5;
	volatile unsigned long vseed = (unsigned long)(uintptr_t)arg + 1;
	unsigned long seed = vseed;

	for (;;) {
		unsigned long a = seed, b = 0;
		double x = half, y = 0.0;

		for (unsigned long i = 1; i <= 200000; i++) {
			a = a * 6364136223846793005UL + 1442695040888963407UL;
			b += a >> 33;
			y += x * (double)(i & 7);
		}
		/* compare with the same work done again */
		{
			unsigned long a2 = vseed, b2 = 0;
			double y2 = 0.0;

			x = half;

			for (unsigned long i = 1; i <= 200000; i++) {
				a2 = a2 * 6364136223846793005UL +
				     1442695040888963407UL;
				b2 += a2 >> 33;
				y2 += x * (double)(i & 7);
			}
			if (a != a2 || b != b2 || y != y2 || y != 350000.0)
				atomic_fetch_add(&bad_sums, 1);
		}
		atomic_fetch_add(&rounds, 1);
	}
	return NULL;
}

/* Blocked in read() on a pipe nobody writes: must never return. */
static void *reader(void *arg)
{
	char c;

	(void)arg;
	for (;;) {
		ssize_t r = read(quiet[0], &c, 1);

		if (r < 0 && errno == EINTR)
			atomic_fetch_add(&bad_eintr, 1);
		else if (r <= 0)
			return NULL;
	}
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 3000000 };

		if (nanosleep(&ts, NULL) && errno == EINTR)
			atomic_fetch_add(&bad_eintr, 1);
	}
	return NULL;
}

/* The target: runs until its control pipe closes, then exits with the
 * number of wrong results it found (0 is good). */
static void target(int ctl)
{
	pthread_t t;
	char c;

	if (pipe(quiet))
		_exit(100);
	for (long i = 0; i < NWORKERS; i++)
		pthread_create(&t, NULL, worker, (void *)i);
	pthread_create(&t, NULL, reader, NULL);
	pthread_create(&t, NULL, sleeper, NULL);
	while (read(ctl, &c, 1) < 0 && errno == EINTR)
		;
	if (atomic_load(&rounds) == 0)
		_exit(101);
	_exit((int)(atomic_load(&bad_sums) + atomic_load(&bad_eintr) > 99
			    ? 99
			    : atomic_load(&bad_sums) +
				      atomic_load(&bad_eintr)));
}

/* The caller: rebinds the target for ever, across four policies. */
static void caller(pid_t pid)
{
	static const int modes[] = { RT_MPOL_BIND, RT_MPOL_PREFERRED,
				     RT_MPOL_INTERLEAVE, RT_MPOL_DEFAULT };
	unsigned long one = 1;

	for (unsigned int i = 0;; i++) {
		int m = modes[i % 4];

		mb_remote_set_mempolicy(pid, m, m == RT_MPOL_DEFAULT ? NULL : &one,
					m == RT_MPOL_DEFAULT ? 0 : 64);
	}
}

/* Collect orphaned helpers (we are their subreaper) and anything else that
 * ended; a report for the target itself means it died. */
static void reap(pid_t target_pid, int *target_dead)
{
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
		if (p == target_pid) {
			*target_dead = 1;
			rt_fail("target died: %s %d",
				WIFSIGNALED(st) ? "signal" : "exit",
				WIFSIGNALED(st) ? WTERMSIG(st)
						: WEXITSTATUS(st));
		}
	}
}

/* Wait until no child but the target is left: the helpers the killed
 * callers left behind (re-parented to us, their subreaper) have finished
 * and are collected.  Up to 60 s: a call takes milliseconds, but on a
 * machine loaded far beyond its CPUs (a load of 12 on 2 here) a helper was
 * seen to take over 5 s. */
static int settle(pid_t pid, int *dead)
{
	char path[64], buf[4096];

	snprintf(path, sizeof(path), "/proc/self/task/%d/children",
		 (int)getpid());
	for (int i = 0; i < 60000; i++) {
		int fd = open(path, O_RDONLY), others = 0;
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		char *p, *e;

		if (fd >= 0)
			close(fd);
		if (n < 0)
			return -1;
		buf[n] = '\0';
		for (p = buf;; p = e) {
			long c = strtol(p, &e, 10);

			if (e == p)
				break;
			others += c != pid;
		}
		reap(pid, dead);
		if (!others || *dead)
			return 0;
		if (i == 59999) {
			/* say what the helper is doing */
			for (p = buf;; p = e) {
				long c = strtol(p, &e, 10);
				char cmd[400];

				if (e == p)
					break;
				if (c == pid)
					continue;
				snprintf(cmd, sizeof(cmd),
					 "grep -E '^(Name|State|PPid|TracerPid|SigBlk)' /proc/%ld/status; cat /proc/%ld/syscall; command -v gdb >/dev/null && gdb -p %ld -batch -ex bt 2>/dev/null | tail -15",
					 c, c, c);
				if (system(cmd))
					(void)0;
			}
			return -1;
		}
		usleep(1000);
	}
	return -1;
}

/* Every thread of pid: not traced, not stopped.  Returns how many are. */
static int check_free(pid_t pid, int trial)
{
	char path[64], tr[64], stt[64];
	struct dirent *d;
	int bad = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return 1;
	while ((d = readdir(dir))) {
		pid_t tid = (pid_t)atoi(d->d_name);

		if (tid <= 0)
			continue;
		rt_status(pid, tid, "TracerPid", tr, sizeof(tr));
		rt_status(pid, tid, "State", stt, sizeof(stt));
		if ((tr[0] && strcmp(tr, "0")) || stt[0] == 't' ||
		    stt[0] == 'T') {
			rt_fail("trial %d: tid %d: tracer %s, state %s", trial,
				tid, tr, stt);
			bad++;
		}
	}
	closedir(dir);
	return bad;
}

int main(void)
{
	static const int sigs[] = { SIGKILL, SIGTERM, SIGINT, SIGHUP,
				    SIGTSTP, SIGSTOP };
	const char *env = getenv("REMOTE_INTERRUPT_TRIALS");
#ifdef __SANITIZE_ADDRESS__
	/* the sanitizer build repeats what the plain one did, slower */
	int trials = env ? atoi(env) : 200, ctl[2], dead = 0, st;
#else
	int trials = env ? atoi(env) : 1000, ctl[2], dead = 0, st;
#endif
	int per_sig[6] = { 0 }, mixed = 0, mid_call = 0;
	struct mb_thread_policy pol[16];
	unsigned long masks[16][RT_MASK_BITS / (8 * sizeof(long))];
	pid_t pid;
	double t0 = rt_now(), t_settle;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		return 1;
	for (int i = 0; i < 16; i++)
		pol[i].nodes = masks[i];
	if (pipe(ctl))
		return 1;
	pid = fork();
	if (pid == 0) {
		close(ctl[1]);
		target(ctl[0]);
	}
	close(ctl[0]);
	srand(12345);
	usleep(50000);
	for (int i = 0; i < trials && !dead; i++) {
		int k = rand() % 6, n;
		pid_t c = fork();

		if (c == 0)
			caller(pid);
		/* 0-8 ms: most calls are cut somewhere inside */
		usleep((useconds_t)(rand() % 8000));
		kill(c, sigs[k]);
		per_sig[k]++;
		if (sigs[k] == SIGSTOP || sigs[k] == SIGTSTP) {
			/* stopped for a while (Ctrl-Z), then gone */
			usleep((useconds_t)(rand() % 5000));
			kill(c, SIGKILL);
		} else if (sigs[k] != SIGKILL) {
			kill(c, SIGKILL); /* the default actions kill anyway */
		}
		waitpid(c, &st, 0);
		t_settle = rt_now();
		if (settle(pid, &dead)) {
			rt_fail("trial %d: a helper still runs after 60 s", i);
			break;
		}
		if (rt_now() - t_settle > 2.0)
			printf("# trial %d: the helper took %.1f s more (load)\n", i,
			       rt_now() - t_settle);
		if (dead)
			break;
		if (check_free(pid, i))
			break;
		n = mb_remote_get_mempolicy(pid, pol, 16, RT_MASK_BITS);
		if (n < 0) {
			rt_fail("trial %d: get: %d", i, n);
			break;
		}
		for (int j = 1; j < n && j < 16; j++) {
			if (pol[j].mode != pol[0].mode ||
			    pol[j].nodes[0] != pol[0].nodes[0]) {
				rt_fail("trial %d: tid %d has mode %d mask %lx, tid %d mode %d mask %lx",
					i, pol[0].tid, pol[0].mode,
					pol[0].nodes[0], pol[j].tid,
					pol[j].mode, pol[j].nodes[0]);
				mixed++;
				break;
			}
		}
		if (mixed)
			break;
		mid_call++;
	}
	close(ctl[1]);
	if (!dead) {
		waitpid(pid, &st, 0);
		RT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			 "target found wrong results or EINTR: %s %d",
			 WIFEXITED(st) ? "exit" : "signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	printf("# %d trials in %.1f s (KILL %d, TERM %d, INT %d, HUP %d, TSTP %d, STOP %d): %d target deaths, %d mixed\n",
	       mid_call, rt_now() - t0, per_sig[0], per_sig[1], per_sig[2],
	       per_sig[3], per_sig[4], per_sig[5], dead, mixed);
	RT_CHECK(mid_call == trials, "only %d of %d trials ran", mid_call,
		 trials);
	return rt_exit("test-interrupt");
}
