/* SPDX-License-Identifier: MIT */
/* A binding for every thread of this process.
 *
 * set_mempolicy() changes the calling thread only.  To bind the process, we
 * ask every other thread to make the call itself: a real-time signal
 * (MEMBIND_SIGNAL, default SIGRTMAX - 2) is queued to each thread with
 * rt_tgsigqueueinfo(), and its handler runs the syscall and reports back
 * through a shared table, as glibc does for setuid() in a threaded program.
 * Threads that appear while this runs are found by listing /proc/self/task
 * again until no new one shows up; threads created later inherit the policy
 * from their creator.
 *
 * What an application sees: a signal handler that runs for a few
 * microseconds in each thread.  Since the handler is SA_RESTART, most
 * blocking calls resume; calls that never restart after a handler (see
 * signal(7): epoll_wait, poll, select, nanosleep, ...) return EINTR, as they
 * would for any signal.  A thread that blocks the signal cannot take the
 * binding: the call fails with -EBUSY and every thread keeps its old policy.
 * If the application installed its own handler for the signal, the call
 * fails with -EBUSY; choose another with MEMBIND_SIGNAL=<number>.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "syscalls.h"

enum { OP_SET, OP_GET, OP_RESTORE };

/* Where a slot's thread is in a round.  A slot starts WAITING (zero, so a
 * zeroed slot is ready); its thread's handler claims it (RUNNING) and
 * answers (DONE); the sender may instead find the thread exited and mark
 * the slot GONE.  Claim and mark go from WAITING by compare-and-swap, so
 * exactly one of them happens. */
enum slot_state { SLOT_WAITING = 0, SLOT_DONE, SLOT_GONE, SLOT_RUNNING };

struct slot {
	pid_t tid;
	int state;  /* enum slot_state */
	int result; /* of the set, 0 or -errno */
	int old_mode;
	unsigned long *old_nodes;
	long blocked_since; /* ms into the round; -1 if not seen blocked */
};

struct bcast {
	int op;
	uint32_t tag; /* generation, so stale signals are ignored */
	const struct mb_kpol *k;
	unsigned long nbits;
	struct slot *slots;
	int nslots;
	int done; /* futex */
};

static pthread_mutex_t bcast_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bcast *bcast_cur;
static int bcast_in_handler;
static uint32_t bcast_gen;
static int bcast_signo;

static pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* The signal's value: the round's tag in the high 32 bits, the slot in
 * the low 32, so that a signal left queued from an old round never
 * matches a new one. */
static void on_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	struct bcast *b;

	(void)sig;
	(void)uc;
	__atomic_add_fetch(&bcast_in_handler, 1, __ATOMIC_SEQ_CST);
	b = __atomic_load_n(&bcast_cur, __ATOMIC_SEQ_CST);
	if (b && si->si_code == SI_QUEUE && si->si_pid == getpid()) {
		uint64_t v = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
		uint32_t idx = (uint32_t)v;
		struct slot *s = &b->slots[idx < (uint32_t)b->nslots ? idx : 0];
		int waiting = SLOT_WAITING;

		/* Claim the slot: the sender may be marking it gone. */
		if ((uint32_t)(v >> 32) == b->tag && idx < (uint32_t)b->nslots &&
		    s->tid == my_tid() &&
		    __atomic_compare_exchange_n(&s->state, &waiting,
						SLOT_RUNNING, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			if (b->op == OP_RESTORE) {
				s->result = mb_sys_set_mempolicy(
					s->old_mode, s->old_nodes, b->nbits);
			} else {
				s->result = mb_sys_get_mempolicy(
					&s->old_mode, s->old_nodes, b->nbits,
					NULL, 0);
				if (!s->result && b->op == OP_SET)
					s->result = mb_sys_set_mempolicy(
						b->k->mode, b->k->nodes,
						b->nbits);
			}
			__atomic_store_n(&s->state, SLOT_DONE, __ATOMIC_RELEASE);
			__atomic_add_fetch(&b->done, 1, __ATOMIC_SEQ_CST);
			syscall(SYS_futex, &b->done, FUTEX_WAKE_PRIVATE, 1,
				NULL, NULL, 0);
		}
	}
	__atomic_sub_fetch(&bcast_in_handler, 1, __ATOMIC_SEQ_CST);
	errno = saved;
}

static int install_handler(void)
{
	struct sigaction sa = {0}, old;
	const char *env;

	if (bcast_signo) {
		/* Still ours?  The application may have changed it since. */
		if (sigaction(bcast_signo, NULL, &old))
			return -errno;
		if ((old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_signal)
			return 0;
		if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
			return -EBUSY;
		goto install; /* reset to the default: take it again */
	}
	/* Not from the caller of a set-ID program (secure_getenv). */
	env = secure_getenv("MEMBIND_SIGNAL");
	bcast_signo = env && *env ? atoi(env) : SIGRTMAX - 2;
	if (bcast_signo < SIGRTMIN || bcast_signo > SIGRTMAX) {
		bcast_signo = 0;
		return -EINVAL;
	}
	if (sigaction(bcast_signo, NULL, &old))
		goto err;
	if ((old.sa_flags & SA_SIGINFO) ? old.sa_sigaction != on_signal :
					  old.sa_handler != SIG_DFL &&
						  old.sa_handler != SIG_IGN) {
		bcast_signo = 0;
		return -EBUSY; /* the application owns this signal */
	}
install:
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(bcast_signo, &sa, NULL))
		goto err;
	return 0;
err:
	bcast_signo = 0;
	return -errno;
}

/* Is the signal blocked in thread tid?  (SigBlk in its status file.)  The
 * file has no useful bound: its Groups line, before SigBlk, lists each of
 * up to 65536 supplementary groups, so it is read whole, however long. */
static bool blocks_signal(pid_t tid)
{
	struct mb_status st;

	if (mb_status_read(0, tid, &st))
		return false;
	return (st.sigblk >> (bcast_signo - 1)) & 1;
}

/* Threads of this process not in known[0..nknown). */
/* The threads found so far by list_new_threads(). */
struct tidlist {
	const pid_t *known;
	int nknown;
	pid_t *tids;
	int n, cap;
};

static int tidlist_add(void *arg, pid_t tid)
{
	struct tidlist *l = arg;

	for (int i = 0; i < l->nknown; i++)
		if (l->known[i] == tid)
			return 0;
	for (int i = 0; i < l->n; i++)
		if (l->tids[i] == tid)
			return 0;
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 16;
		pid_t *t = realloc(l->tids, (size_t)cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		l->tids = t;
		l->cap = cap;
	}
	l->tids[l->n++] = tid;
	return 1;
}

/* The threads of this process not in known[] (mb_task_scan() makes sure
 * that threads exiting meanwhile hide none).  A thread listed that has
 * exited since is harmless: signalling it gives ESRCH. */
static int list_new_threads(const pid_t *known, int nknown, pid_t **out)
{
	struct tidlist l = { .known = known, .nknown = nknown };
	int r = mb_task_scan(0, tidlist_add, &l);

	if (r < 0) {
		free(l.tids);
		return r;
	}
	*out = l.tids;
	return l.n;
}

static int futex_wait(int *addr, int val, long ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000L,
			      .tv_nsec = ns % 1000000000L};

	return (int)mb_ret(syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val,
				   &ts, NULL, 0));
}

/* Has thread tid left (or is it leaving, past the point of taking
 * signals)? */
static bool thread_gone(pid_t tid)
{
	int st = mb_thread_state(0, tid);

	if (st == -EBADMSG) /* no state where it should be */
		return true;
	if (st < 0) /* other errors (EMFILE, ENOMEM) prove nothing */
		return false;
	return st == 0 || st == 'Z' || st == 'X';
}

/* Queue the signal to every slot's thread and wait for their answers.
 * Threads that exit meanwhile are marked gone.  A thread seen with the
 * signal blocked at every look for a second makes it -EBUSY (glibc blocks
 * signals for a moment in threads being created and in exiting ones, and a
 * loaded machine can stretch that moment, so a blocked mask alone proves
 * nothing); no answer in 5 s is -ETIMEDOUT. */
static int run_round(struct bcast *b)
{
	uint64_t t0 = mb_now_ns();
	int sent = 0, gone = 0, ret = 0;

	b->tag = ++bcast_gen;
	__atomic_store_n(&b->done, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&bcast_cur, b, __ATOMIC_SEQ_CST);
	for (int i = 0; i < b->nslots; i++) {
		siginfo_t si = {0};

		si.si_signo = bcast_signo;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		si.si_value.sival_ptr =
			(void *)(uintptr_t)((uint64_t)b->tag << 32 | (uint32_t)i);
		if (syscall(SYS_rt_tgsigqueueinfo, getpid(), b->slots[i].tid,
			    bcast_signo, &si)) {
			if (errno != ESRCH) {
				ret = -errno;
				break;
			}
			b->slots[i].state = SLOT_GONE;
			continue;
		}
		b->slots[i].blocked_since = -1;
		sent++;
	}
	for (long next_scan = 10; !ret;) {
		int done = __atomic_load_n(&b->done, __ATOMIC_ACQUIRE);
		long ms;

		if (done + gone >= sent)
			break;
		ms = (long)((mb_now_ns() - t0) / 1000000);
		if (ms >= next_scan) {
			bool stuck = false;

			next_scan = ms + 10;
			for (int i = 0; i < b->nslots; i++) {
				struct slot *s = &b->slots[i];
				int waiting = SLOT_WAITING;

				if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) !=
				    SLOT_WAITING)
					continue;
				if (thread_gone(s->tid)) {
					/* Unless its handler just ran. */
					if (__atomic_compare_exchange_n(
						    &s->state, &waiting, SLOT_GONE,
						    false, __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE))
						gone++;
				} else if (!blocks_signal(s->tid)) {
					s->blocked_since = -1;
				} else if (s->blocked_since < 0) {
					s->blocked_since = ms;
				} else if (ms - s->blocked_since >= 1000) {
					stuck = true;
				}
			}
			if (stuck)
				ret = -EBUSY;
			else if (ms >= 5000)
				ret = -ETIMEDOUT;
			continue;
		}
		futex_wait(&b->done, done, 2000000L);
	}
	__atomic_store_n(&bcast_cur, NULL, __ATOMIC_SEQ_CST);
	/* A handler that picked up b may still be running: let it finish
	 * before b's memory goes away. */
	while (__atomic_load_n(&bcast_in_handler, __ATOMIC_SEQ_CST))
		sched_yield();
	return ret;
}

struct applied {
	struct slot *slots;
	unsigned long *nodes;
	int n, cap;
	size_t words;
};

static int applied_grow(struct applied *a, int more)
{
	struct slot *s2;
	unsigned long *n2;
	int cap = a->cap;

	if (a->n + more <= a->cap)
		return 0;
	while (cap < a->n + more)
		cap = cap ? 2 * cap : 16;
	s2 = realloc(a->slots, (size_t)cap * sizeof(*s2));
	if (!s2)
		return -ENOMEM;
	a->slots = s2;
	n2 = realloc(a->nodes, (size_t)cap * a->words * sizeof(long));
	if (!n2)
		return -ENOMEM;
	a->nodes = n2;
	a->cap = cap;
	for (int i = 0; i < cap; i++)
		a->slots[i].old_nodes = a->nodes + (size_t)i * a->words;
	return 0;
}

/* Give threads that took the new policy their old one back. */
static void roll_back(struct applied *a, int from, int to, unsigned long nbits)
{
	struct bcast b = {.op = OP_RESTORE, .nbits = nbits};
	int n = 0;

	for (int i = from; i < to; i++) {
		struct slot *s = &a->slots[i];

		if (s->state == SLOT_DONE && s->result == 0) {
			/* Compact in place: i >= n always. */
			a->slots[n + from] = *s;
			a->slots[n + from].state = SLOT_WAITING;
			n++;
		}
	}
	if (!n)
		return;
	b.slots = a->slots + from;
	b.nslots = n;
	run_round(&b); /* best effort: the set already failed */
}

/* After a failed set, threads created during the call may have inherited
 * the new policy from a creator that had already taken it: give them the
 * caller's old one (a process binding is one binding).  Best effort. */
static void restore_newcomers(pid_t **known, int *nknown, int mode,
			      const unsigned long *nodes, unsigned long nbits)
{
	struct mb_kpol old = {.mode = mode, .nbits = nbits};

	memcpy(old.nodes, nodes, MB_LONGS(nbits) * sizeof(long));
	for (int round = 0; round < 8; round++) {
		struct applied a = {.words = MB_LONGS(nbits)};
		struct bcast b = {.op = OP_SET, .k = &old, .nbits = nbits};
		pid_t *tids = NULL, *k2;
		int n = list_new_threads(*known, *nknown, &tids);

		if (n <= 0)
			return;
		k2 = realloc(*known, (size_t)(*nknown + n) * sizeof(**known));
		if (k2)
			*known = k2; /* the old block may be gone: keep the new */
		if (!k2 || applied_grow(&a, n)) {
			free(tids);
			free(a.slots);
			free(a.nodes);
			return;
		}
		for (int i = 0; i < n; i++) {
			a.slots[i].tid = tids[i];
			a.slots[i].state = SLOT_WAITING;
			(*known)[(*nknown)++] = tids[i];
		}
		b.slots = a.slots;
		b.nslots = n;
		run_round(&b);
		free(tids);
		free(a.slots);
		free(a.nodes);
	}
}

int mb_threads_set(const struct mb_kpol *k)
{
	struct applied a = {.words = MB_LONGS(k->nbits)};
	unsigned long self_old[MB_LONGS(MB_MAX_NODES)];
	pid_t self = my_tid(), *known = NULL;
	int self_mode, nknown = 1, ret, rounds = 0, first_round = -1;

	pthread_mutex_lock(&bcast_lock);
	known = malloc(sizeof(*known));
	if (!known) {
		ret = -ENOMEM;
		goto out;
	}
	known[0] = self;
	ret = mb_sys_get_mempolicy(&self_mode, self_old, k->nbits, NULL, 0);
	if (ret)
		goto out;
	ret = mb_sys_set_mempolicy(k->mode, k->nodes, k->nbits);
	if (ret)
		goto out;

	for (;;) {
		pid_t *tids = NULL, *k2;
		struct bcast b = {.op = OP_SET, .k = k, .nbits = k->nbits};
		int n = list_new_threads(known, nknown, &tids), base;

		if (n <= 0) {
			ret = n;
			break;
		}
		if (++rounds > MB_MAX_ROUNDS) {
			/* Threads are created faster than we can reach them. */
			free(tids);
			ret = -EAGAIN;
			break;
		}
		ret = install_handler();
		k2 = realloc(known, (size_t)(nknown + n) * sizeof(*known));
		if (!ret && !k2)
			ret = -ENOMEM;
		if (k2)
			known = k2;
		if (!ret)
			ret = applied_grow(&a, n);
		if (ret) {
			free(tids);
			break;
		}
		base = a.n;
		for (int i = 0; i < n; i++) {
			a.slots[base + i].tid = tids[i];
			a.slots[base + i].state = SLOT_WAITING;
			a.slots[base + i].result = 0;
			known[nknown++] = tids[i];
		}
		free(tids);
		a.n += n;
		if (first_round < 0)
			first_round = n;
		b.slots = a.slots + base;
		b.nslots = n;
		ret = run_round(&b);
		for (int i = 0; !ret && i < n; i++)
			if (b.slots[i].state == SLOT_DONE && b.slots[i].result)
				ret = b.slots[i].result;
		if (ret)
			break;
	}
	if (ret) {
		/* Threads of later rounds were born during the call, from a
		 * creator that may already have had the new binding: what
		 * they saved as old may be the new one.  They get the
		 * caller's old binding, as the process had it. */
		for (int i = first_round < 0 ? a.n : first_round; i < a.n;
		     i++) {
			a.slots[i].old_mode = self_mode;
			memcpy(a.slots[i].old_nodes, self_old,
			       a.words * sizeof(long));
		}
		roll_back(&a, 0, a.n, k->nbits);
		mb_sys_set_mempolicy(self_mode, self_old, k->nbits);
		restore_newcomers(&known, &nknown, self_mode, self_old,
				  k->nbits);
	}
out:
	pthread_mutex_unlock(&bcast_lock);
	free(known);
	free(a.slots);
	free(a.nodes);
	return ret;
}

int mb_threads_get(unsigned long nbits,
		   void (*fn)(void *arg, pid_t tid, int mode,
			      const unsigned long *nodes),
		   void *arg)
{
	struct applied a = {.words = MB_LONGS(nbits)};
	unsigned long self_nodes[MB_LONGS(MB_MAX_NODES)];
	pid_t self = my_tid(), *tids = NULL;
	int self_mode, n, ret;

	ret = mb_sys_get_mempolicy(&self_mode, self_nodes, nbits, NULL, 0);
	if (ret)
		return ret;
	pthread_mutex_lock(&bcast_lock);
	n = list_new_threads(&self, 1, &tids);
	ret = n < 0 ? n : 0;
	if (n > 0) {
		struct bcast b = {.op = OP_GET, .nbits = nbits};

		ret = install_handler();
		if (!ret)
			ret = applied_grow(&a, n);
		if (!ret) {
			for (int i = 0; i < n; i++)
				a.slots[i] = (struct slot){
					.tid = tids[i],
					.old_nodes = a.slots[i].old_nodes};
			b.slots = a.slots;
			b.nslots = n;
			ret = run_round(&b);
		}
	}
	pthread_mutex_unlock(&bcast_lock);
	if (!ret) {
		fn(arg, self, self_mode, self_nodes);
		for (int i = 0; i < n; i++)
			if (a.slots[i].state == SLOT_DONE && !a.slots[i].result)
				fn(arg, a.slots[i].tid, a.slots[i].old_mode,
				   a.slots[i].old_nodes);
	}
	free(tids);
	free(a.slots);
	free(a.nodes);
	return ret;
}

/* fork(): see fork.c.  In the child, a handler another thread was running
 * at the fork (a late signal of a round that ended) will never finish: its
 * count must not keep the child's first broadcast waiting. */
void mb_threads_fork(enum mb_fork phase)
{
	if (phase == MB_FORK_PREPARE) {
		pthread_mutex_lock(&bcast_lock);
		return;
	}
	if (phase == MB_FORK_CHILD)
		__atomic_store_n(&bcast_in_handler, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&bcast_lock);
}
