/* SPDX-License-Identifier: MIT */
/*
 * Description: torture the remote engine.  A target with workers doing
 * checksummed work between blocking calls (read, nanosleep, futex wait,
 * epoll_wait), helper threads feeding them, a spawner starting and ending
 * threads, and a stream of queued real-time signals (SA_RESTART handler)
 * is rebound over and over across BIND, PREFERRED, INTERLEAVE and DEFAULT.
 * Its output must equal an untouched run's, it must receive every signal
 * sent, no call may see an EINTR it would not have had without us, and no
 * thread is ever left stopped or traced.  200 rebinds by default;
 * REMOTE_TORTURE_FULL=1 makes it 2000 (or REMOTE_TORTURE_REBINDS=N).
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "rt.h"

#define NWORKERS 12
#define ITERS 24000
#define NSPAWN 2000

static int feed[NWORKERS][2], quitp[2], outp[2];
static int efd, epfd;
static _Atomic int futex_word, stop_helpers;
static _Atomic long sigs_seen, errors;
static __thread long my_sigs;

static void on_sig(int sig)
{
	(void)sig;
	my_sigs++;
	atomic_fetch_add(&sigs_seen, 1);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdULL;
}

/* An EINTR is ours to explain unless a handler ran in this thread. */
static void eintr(long before, int restartable)
{
	if (restartable || my_sigs == before)
		atomic_fetch_add(&errors, 1);
}

static void blocking_op(int kind, int w)
{
	long before = my_sigs;

	switch (kind) {
	case 0: { /* read: SA_RESTART makes it restart, never EINTR */
		char c;
		ssize_t r = read(feed[w][0], &c, 1);

		if (r < 0 && errno == EINTR)
			eintr(before, 1);
		else if (r != 1)
			atomic_fetch_add(&errors, 1);
		break;
	}
	case 1: { /* nanosleep: EINTR only after a handler */
		struct timespec ts = { 0, 200000 }, rem;

		while (nanosleep(&ts, &rem)) {
			if (errno != EINTR) {
				atomic_fetch_add(&errors, 1);
				break;
			}
			eintr(before, 0);
			before = my_sigs;
			ts = rem;
		}
		break;
	}
	case 2: { /* futex wait without timeout: restarts under SA_RESTART */
		int v = atomic_load(&futex_word);

		if (syscall(SYS_futex, &futex_word, FUTEX_WAIT, v, NULL, NULL,
			    0) < 0 && errno == EINTR)
			eintr(before, 1);
		break;
	}
	case 3: { /* epoll_wait: EINTR only after a handler */
		struct epoll_event ev;
		int r;

		while ((r = epoll_wait(epfd, &ev, 1, 50)) < 0) {
			if (errno != EINTR) {
				atomic_fetch_add(&errors, 1);
				break;
			}
			eintr(before, 0);
			before = my_sigs;
		}
		break;
	}
	}
}

static void *worker(void *arg)
{
	int w = (int)(long)arg;
	uint64_t h = (uint64_t)w;

	for (int i = 0; i < ITERS; i++) {
		for (int k = 0; k < 200; k++)
			h = mix(h, (uint64_t)i * 1000 + (uint64_t)k);
		if (i % 8 == 0)
			blocking_op(w % 4, w);
	}
	return (void *)(uintptr_t)h;
}

static void *helper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_helpers)) {
		struct timespec ts = { 0, 100000 };
		uint64_t one = 1;

		/* A full pipe (its worker is done, or slow) is no error: the
		 * write end does not block, or this thread could never see
		 * stop_helpers and the target would never end. */
		for (int w = 0; w < NWORKERS; w++)
			if (w % 4 == 0 && write(feed[w][1], "x", 1) != 1 &&
			    errno != EAGAIN)
				atomic_fetch_add(&errors, 1);
		atomic_fetch_add(&futex_word, 1);
		syscall(SYS_futex, &futex_word, FUTEX_WAKE, INT32_MAX, NULL,
			NULL, 0);
		if (write(efd, &one, sizeof(one)) != sizeof(one))
			atomic_fetch_add(&errors, 1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *shortlived(void *arg)
{
	uint64_t h = (uint64_t)(uintptr_t)arg;

	for (int k = 0; k < 2000; k++)
		h = mix(h, (uint64_t)k);
	return (void *)(uintptr_t)h;
}

static void *spawner(void *arg)
{
	uint64_t h = 0;

	(void)arg;
	for (int i = 0; i < NSPAWN; i++) {
		pthread_t t;
		void *r;

		if (pthread_create(&t, NULL, shortlived, (void *)(uintptr_t)i)) {
			atomic_fetch_add(&errors, 1);
			continue;
		}
		pthread_join(t, &r);
		h = mix(h, (uint64_t)(uintptr_t)r);
	}
	return (void *)(uintptr_t)h;
}

static void target(void)
{
	struct sigaction sa = { .sa_handler = on_sig, .sa_flags = SA_RESTART };
	struct epoll_event ev = { .events = EPOLLIN };
	pthread_t wt[NWORKERS], ht, st;
	char out[2048], c;
	size_t len = 0;
	void *r;

	sigaction(SIGRTMIN + 1, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (write(outp[1], "r", 1) != 1) /* ready for signals */
		_exit(2);
	efd = eventfd(0, EFD_SEMAPHORE);
	epfd = epoll_create1(0);
	epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev);
	for (int w = 0; w < NWORKERS; w++)
		if (pipe(feed[w]) ||
		    fcntl(feed[w][1], F_SETFL, O_NONBLOCK) < 0)
			_exit(2);
	pthread_create(&ht, NULL, helper, NULL);
	pthread_create(&st, NULL, spawner, NULL);
	for (int w = 0; w < NWORKERS; w++)
		pthread_create(&wt[w], NULL, worker, (void *)(long)w);
	for (int w = 0; w < NWORKERS; w++) {
		pthread_join(wt[w], &r);
		len += (size_t)snprintf(out + len, sizeof(out) - len,
					"worker %d %016llx\n", w,
					(unsigned long long)(uintptr_t)r);
	}
	pthread_join(st, &r);
	len += (size_t)snprintf(out + len, sizeof(out) - len,
				"spawner %016llx\n",
				(unsigned long long)(uintptr_t)r);
	/* stay (blocked in read) until told to quit */
	if (read(quitp[0], &c, 1) != 1)
		_exit(2);
	atomic_store(&stop_helpers, 1);
	pthread_join(ht, NULL);
	len += (size_t)snprintf(out + len, sizeof(out) - len,
				"errors %ld\n", atomic_load(&errors));
	dprintf(outp[1], "%ssignals %ld\n", out, atomic_load(&sigs_seen));
	_exit(0);
}

/* Run the target; with rebinds > 0, rebind it that many times while a
 * signaler sends it queued signals.  Returns its output (malloc'd). */
static char *run(int rebinds, unsigned int pace_us, long *sent)
{
	static const int modes[] = { RT_MPOL_BIND, RT_MPOL_PREFERRED,
				     RT_MPOL_INTERLEAVE, RT_MPOL_DEFAULT };
	char *out = calloc(1, 4096);
	size_t have = 0;
	pid_t pid, sig = -1;
	int st, sigp[2];
	ssize_t n;

	if (pipe(quitp) || pipe(outp) || pipe(sigp) || !out)
		exit(1);
	pid = fork();
	if (pid == 0)
		target();
	close(outp[1]);
	if (read(outp[0], out, 1) != 1)
		exit(1);
	*sent = 0;
	if (rebinds) {
		sig = fork();
		if (sig == 0) {
			long k = 0;
			char c;

			/* until the parent closes sigp: one signal / 200 us */
			fcntl(sigp[0], F_SETFL, O_NONBLOCK);
			while (read(sigp[0], &c, 1) < 0 && errno == EAGAIN) {
				union sigval v = { .sival_int = (int)k };

				if (sigqueue(pid, SIGRTMIN + 1, v) == 0)
					k++;
				usleep(200);
			}
			dprintf(sigp[1], "%ld\n", k);
			_exit(0);
		}
	}
	usleep(20000);
	for (int i = 0; i < rebinds; i++) {
		unsigned long mask = 1;
		int mode = modes[i % 4];
		int r = mb_remote_set_mempolicy(pid, mode,
						mode ? &mask : NULL,
						mode ? 64 : 0);

		if (r) {
			rt_fail("rebind %d (mode %d) returned %d", i, mode, r);
			break;
		}
		if (i % 25 == 0)
			rt_check_free(pid, 0);
		if (pace_us)
			usleep(pace_us);
	}
	if (rebinds) {
		char buf[32] = "";

		/* stop the signaler, get its count */
		if (write(sigp[1], "q", 1) != 1)
			exit(1);
		waitpid(sig, &st, 0);
		close(sigp[1]);
		n = read(sigp[0], buf, sizeof(buf) - 1);
		*sent = n > 0 ? atol(buf) : -1;
		rt_check_free(pid, 0);
	}
	usleep(100000); /* queued signals delivered */
	if (write(quitp[1], "q", 1) != 1)
		exit(1);
	while ((n = read(outp[0], out + have, 4095 - have)) > 0)
		have += (size_t)n;
	waitpid(pid, &st, 0);
	RT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "target status %x", st);
	close(quitp[0]), close(quitp[1]), close(outp[0]);
	if (rebinds)
		close(sigp[0]);
	return out;
}

int main(void)
{
	const char *full = getenv("REMOTE_TORTURE_FULL");
	const char *nr = getenv("REMOTE_TORTURE_REBINDS");
	int rebinds = nr ? atoi(nr) : (full && *full == '1') ? 2000 : 200;
	long sent, got = -1;
	char *plain, *rebound, *p;
	double t0;

	t0 = rt_now();
	plain = run(0, 0, &sent);
	printf("# untouched run: %.2f s\n", rt_now() - t0);
	t0 = rt_now();
	rebound = run(rebinds, rebinds > 500 ? 0 : 3000, &sent);
	printf("# %d rebinds in %.2f s, %ld signals sent\n", rebinds,
	       rt_now() - t0, sent);
	/* compare everything but the signal count */
	p = strstr(rebound, "signals ");
	if (p) {
		got = atol(p + 8);
		*p = '\0';
	}
	p = strstr(plain, "signals ");
	if (p)
		*p = '\0';
	RT_CHECK(strstr(plain, "errors 0\n") != NULL, "untouched run: %s",
		 plain);
	RT_CHECK(!strcmp(plain, rebound), "output differs:\n%s---\n%s", plain,
		 rebound);
	RT_CHECK(got == sent, "signals: sent %ld, target saw %ld", sent, got);
	free(plain);
	free(rebound);
	return rt_exit("test-torture");
}
