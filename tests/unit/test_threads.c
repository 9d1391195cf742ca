/* SPDX-License-Identifier: MIT */
/*
 * Description: the lazy topology load is thread-safe.  Many threads released
 * at once make the first call (memblk_count and friends) together and must
 * all see the same, complete topology; then readers keep calling while
 * another thread refreshes over and over as the tree flips (by atomic
 * renames) between 3 and 4 memblks: every answer must be a consistent 3 or
 * 4, never an error or a torn mix.  Run under ASan/UBSan in CI.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "membind.h"
#include "testutil.h"

#define NTHREADS 16
#define ROUNDS 400

static pthread_barrier_t start;
static atomic_int bad_first, bad_later, stop_flag;
static atomic_long reads;
static char root[4096];

static void *first_use(void *arg)
{
	int *out = arg;

	pthread_barrier_wait(&start);
	out[0] = memblk_count();
	out[1] = memblk_to_node(2);
	out[2] = cpu_to_memblk(4);
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	while (!atomic_load(&stop_flag)) {
		int n = memblk_count();
		unsigned long m[1] = {0};
		int last, ret;

		if (n != 3 && n != 4) {
			atomic_fetch_add(&bad_later, 1);
			continue;
		}
		/* The last memblk is node 7 in both versions. */
		last = memblk_to_node(n - 1);
		if (last != 7 && memblk_count() == n)
			atomic_fetch_add(&bad_later, 1);
		ret = memblk_list_parse("n7", 64, m);
		if (ret != 1 || (m[0] != 1UL << 2 && m[0] != 1UL << 3))
			atomic_fetch_add(&bad_later, 1);
		ret = memblk_distance(0, 0);
		if (ret != 10)
			atomic_fetch_add(&bad_later, 1);
		atomic_fetch_add(&reads, 1);
	}
	return NULL;
}

/* Replace a file atomically, so a concurrent reader sees old or new. */
static void replace(const char *rel, const char *text)
{
	char tmp[512], from[8192], to[8192];

	snprintf(tmp, sizeof(tmp), "%s.new", rel);
	t_write(root, tmp, "%s", text);
	snprintf(from, sizeof(from), "%s/%s", root, tmp);
	snprintf(to, sizeof(to), "%s/%s", root, rel);
	if (rename(from, to)) {
		perror("rename");
		exit(T_FAIL);
	}
}

int main(void)
{
	pthread_t th[NTHREADS];
	int res[NTHREADS][3];
	int refresh_errors = 0;

	t_tmpdir(root, sizeof(root));
	t_std_tree(root);
	/* Node 5 has a meminfo with memory, used when has_memory names it. */
	t_std_meminfo(root, 5, 4096, 1024);
	setenv("MEMBIND_SYSFS_ROOT", root, 1);

	/* Phase 1: the first call, from many threads at once. */
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&th[i], NULL, first_use, res[i]) == 0);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		if (res[i][0] != 3 || res[i][1] != 7 || res[i][2] != 2)
			atomic_fetch_add(&bad_first, 1);
	}
	pthread_barrier_destroy(&start);
	CHECK_EQ(atomic_load(&bad_first), 0);

	/* Phase 2: readers against a refreshing writer. */
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS - 1; i++)
		CHECK(pthread_create(&th[i], NULL, reader, NULL) == 0);
	pthread_barrier_wait(&start);
	for (int r = 0; r < ROUNDS; r++) {
		replace(STD_ND "/has_memory", r & 1 ? "0,2,7\n" : "0,2,5,7\n");
		if (membind_topology_refresh() != 0)
			refresh_errors++;
	}
	atomic_store(&stop_flag, 1);
	for (int i = 0; i < NTHREADS - 1; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	CHECK_EQ(refresh_errors, 0);
	CHECK_EQ(atomic_load(&bad_later), 0);
	CHECK(atomic_load(&reads) > 0);
	/* The last refresh (r = ROUNDS - 1, odd) left 3 memblks. */
	CHECK_EQ(memblk_count(), 3);
	fprintf(stderr, "test_threads: %ld reads during %d refreshes\n",
		atomic_load(&reads), ROUNDS);
	t_rmtree(root);
	return t_finish("test_threads");
}
