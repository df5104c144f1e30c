/*
 * test_stats - the shared statistics file (backend/stats.c) and the stats
 * and metrics texts over it (backend/rb.c).
 *
 * The processes are real: children fork, claim slots and count, and are
 * killed with SIGKILL; one execs this program again (the --exec-helper
 * mode) to show that an exec in place gets its slot back.  A child talks
 * to the parent through pipes: it writes one line when it is ready, and
 * waits for a byte (or the parent's SIGKILL).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "store.h"

#include "../../backend/rb.c"
#include "../../backend/rbsec.c"
#include "../../backend/rbwrite.c"
#include "../../backend/stats.c"
#include "../../backend/txn.c"

typedef struct child {
	pid_t pid;
	int rd; /* the child's lines */
	int wr; /* a byte here lets it go on */
} child_t;

#define KEEP   UINT64_MAX /* spawn: leave the gauge as the claim left it */
#define LET_GO 1          /* spawn: close the handle after the report */

/* Forks a child that claims a slot in dir, adds lookups to its lookup
 * count, sets its open-connection gauge to conns (unless KEEP), reports
 * "slot N count C conns G" and waits for a byte, then exits.  With LET_GO
 * it closes its handle (the slot's lock) first, as a process about to
 * exec itself does.  0, or -1. */
static int spawn(child_t *c, const char *dir, uint64_t lookups, uint64_t conns, int flags)
{
	int up[2], down[2];
	if (pipe(up) < 0 || pipe(down) < 0)
		return -1;
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		close(up[0]);
		close(down[1]);
		rbstats_t *s;
		rb_stats_t *st;
		char line[64];
		int rc = rbstats_open(&s, dir, &st);
		if (rc < 0) {
			snprintf(line, sizeof line, "error %d\n", rc);
		} else {
			st->m[RB_M_LOOKUP].count += lookups;
			if (conns != KEEP)
				st->conns_open = conns;
			snprintf(line, sizeof line, "slot %u count %llu conns %llu\n", s->mine,
			         (unsigned long long)st->m[RB_M_LOOKUP].count,
			         (unsigned long long)st->conns_open);
			if (flags & LET_GO)
				rbstats_close(s);
		}
		if (write(up[1], line, strlen(line)) < 0)
			_exit(2);
		char b;
		(void)!read(down[0], &b, 1);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	c->rd = up[0];
	c->wr = down[1];
	return 0;
}

/* Reads the child's report: its slot, and its slot's lookup count right
 * after it added its own and its gauge.  -1 when it could not claim one. */
static int report2(child_t *c, uint64_t *count, uint64_t *conns)
{
	char line[64] = {0};
	ssize_t n = 0, r;
	while (n < (ssize_t)sizeof line - 1 && (r = read(c->rd, line + n, 1)) == 1 &&
	       line[n] != '\n')
		n++;
	unsigned slot;
	unsigned long long cnt, g = 0;
	if (sscanf(line, "slot %u count %llu conns %llu", &slot, &cnt, &g) < 2)
		return -1;
	if (count)
		*count = cnt;
	if (conns)
		*conns = g;
	return (int)slot;
}

static int report(child_t *c, uint64_t *count)
{
	return report2(c, count, NULL);
}

static void finish(child_t *c, int sig)
{
	if (sig)
		kill(c->pid, sig);
	else if (write(c->wr, "x", 1) < 0)
		kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->rd);
	close(c->wr);
}

static uint64_t lookups(rbstats_t *s, rb_stats_t *sum, rbstats_info_t *info)
{
	CHECK_OK(rbstats_sum(s, sum, info));
	return sum->m[RB_M_LOOKUP].count;
}

/* Two processes count into their slots; the parent's sum sees both; a
 * child killed by SIGKILL stays counted but its gauge does not; a new
 * claimant reuses the dead slot and the totals never go backwards. */
static void processes_case(const char *dir)
{
	rbstats_t *s;
	rb_stats_t *mine;
	CHECK_OK(rbstats_open(&s, dir, &mine));
	if (!s)
		return;
	mine->m[RB_M_LOOKUP].count += 1;
	mine->conns_open = 1;
	mine->m[RB_M_LIST].hist[5] += 2;
	rb_stats_t *sum = calloc(1, sizeof *sum);
	rbstats_info_t info;

	child_t a, b;
	CHECK(spawn(&a, dir, 10, 3, 0) == 0);
	CHECK(spawn(&b, dir, 20, 4, 0) == 0);
	int sa = report(&a, NULL), sb = report(&b, NULL);
	CHECK(sa >= 0 && sb >= 0 && sa != sb && (unsigned)sa != s->mine && (unsigned)sb != s->mine);
	CHECK(lookups(s, sum, &info) == 31);
	CHECK(sum->conns_open == 8);
	CHECK(sum->m[RB_M_LIST].hist[5] == 2);
	CHECK(info.processes == 3 && info.slots_used == 3 && info.slots == RBSTATS_SLOTS);
	CHECK(sum->started == mine->started);

	/* SIGKILL: the kernel drops the lock; counts stay, the gauge goes */
	finish(&a, SIGKILL);
	CHECK(lookups(s, sum, &info) == 31);
	CHECK(sum->conns_open == 5);
	CHECK(info.processes == 2 && info.slots_used == 3);

	/* a new process takes the dead slot, keeps its counters, zeroes its
	 * gauge: the totals go on from where they were */
	child_t c;
	uint64_t kept = 0, gauge = 1;
	CHECK(spawn(&c, dir, 5, KEEP, 0) == 0);
	CHECK(report2(&c, &kept, &gauge) == sa);
	CHECK(kept == 15 && gauge == 0);
	CHECK(lookups(s, sum, &info) == 36);
	CHECK(sum->conns_open == 5);
	CHECK(info.processes == 3 && info.slots_used == 3);
	finish(&c, 0);
	finish(&b, 0);
	CHECK(lookups(s, sum, &info) == 36);
	CHECK(sum->conns_open == 1 && info.processes == 1);
	free(sum);
	rbstats_close(s);
}

/* The file: its size and mode, a file of another layout or size replaced
 * (while a process that maps the old one goes on counting), and a
 * directory we cannot write. */
static void file_case(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, RBSTATS_FILE);
	rbstats_t *s, *t;
	rb_stats_t *st, *st2;
	struct stat sb;
	mode_t old = umask(077);
	CHECK_OK(rbstats_open(&s, dir, &st));
	umask(old);
	CHECK(stat(path, &sb) == 0 && (uint64_t)sb.st_size == FILE_SIZE &&
	      (sb.st_mode & 0777) == 0660);
	/* sparse: a claimed slot is a few pages, the rest is holes */
	CHECK((uint64_t)sb.st_blocks * 512 < FILE_SIZE / 4);
	CHECK(rbstats_replaced(s) == 0);
	st->m[RB_M_LOOKUP].count = 42;

	/* another layout: replaced by a new file; the old mapping still works */
	uint32_t bad = RBSTATS_FORMAT + 1;
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0 && pwrite(fd, &bad, 4, offsetof(struct rbstats_head, format)) == 4);
	close(fd);
	CHECK_OK(rbstats_open(&t, dir, &st2));
	CHECK(rbstats_replaced(t) == 1);
	rb_stats_t *sum = calloc(1, sizeof *sum);
	rbstats_info_t info;
	CHECK(lookups(t, sum, &info) == 0 && info.processes == 1 && info.slots_used == 1);
	st->m[RB_M_LOOKUP].count++; /* no SIGBUS: the old file was not truncated */
	CHECK(st->m[RB_M_LOOKUP].count == 43);
	rbstats_close(t);
	rbstats_close(s);

	/* a file of the wrong size, and one of bad magic, are replaced */
	CHECK(truncate(path, 4096) == 0);
	CHECK_OK(rbstats_open(&t, dir, &st2));
	CHECK(rbstats_replaced(t) == 1);
	CHECK(stat(path, &sb) == 0 && (uint64_t)sb.st_size == FILE_SIZE);
	rbstats_close(t);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0 && pwrite(fd, "garbage!", 8, 0) == 8);
	close(fd);
	CHECK_OK(rbstats_open(&t, dir, &st2));
	CHECK(rbstats_replaced(t) == 1);
	rbstats_close(t);
	/* and a good one is kept, counts and all */
	CHECK_OK(rbstats_open(&t, dir, &st2));
	CHECK(rbstats_replaced(t) == 0);
	st2->m[RB_M_LOOKUP].count += 2;
	rbstats_close(t);
	CHECK_OK(rbstats_open(&t, dir, &st2));
	CHECK(lookups(t, sum, &info) == 2);
	rbstats_close(t);
	free(sum);

	/* made by root (pdnsutil as root): owned as data.mdb is */
	if (geteuid() == 0) {
		char own[512], mdb[600];
		snprintf(own, sizeof own, "%s/own", dir);
		snprintf(mdb, sizeof mdb, "%s/data.mdb", own);
		CHECK(mkdir(own, 0750) == 0);
		fd = open(mdb, O_CREAT | O_WRONLY, 0640);
		CHECK(fd >= 0 && fchown(fd, 4321, 4322) == 0);
		close(fd);
		CHECK_OK(rbstats_open(&t, own, &st2));
		snprintf(mdb, sizeof mdb, "%s/%s", own, RBSTATS_FILE);
		CHECK(stat(mdb, &sb) == 0 && sb.st_uid == 4321 && sb.st_gid == 4322 &&
		      (sb.st_mode & 0777) == 0660);
		rbstats_close(t);
	}

	/* no stats file and no right to create one: an error, nothing else */
	char ro[512];
	snprintf(ro, sizeof ro, "%s/ro", dir);
	CHECK(mkdir(ro, 0500) == 0);
	if (geteuid() != 0) {
		CHECK_RC(rbstats_open(&t, ro, &st2), -EACCES);
	} else { /* root writes anyway: ask as nobody */
		pid_t p = fork();
		if (p == 0) {
			if (setgid(65534) < 0 || setuid(65534) < 0)
				_exit(3);
			_exit(rbstats_open(&t, ro, &st2) == -EACCES ? 0 : 1);
		}
		int status = -1;
		waitpid(p, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK_RC(rbstats_open(&t, "/nonexistent-kyedns-dir", &st2), -ENOENT);
}

/* Every slot held: the next open fails with -EBUSY; one let go, it works.
 * OFD locks conflict between open file descriptions of one process too. */
static void full_case(const char *dir)
{
	rbstats_t *h[RBSTATS_SLOTS];
	rb_stats_t *st;
	int ok = 1;
	for (unsigned i = 0; i < RBSTATS_SLOTS; i++)
		if (rbstats_open(&h[i], dir, &st) < 0)
			ok = 0, h[i] = NULL;
	CHECK(ok);
	rbstats_t *extra = NULL;
	CHECK_RC(rbstats_open(&extra, dir, &st), -EBUSY);
	CHECK(extra == NULL);
	unsigned freed = h[17] ? h[17]->mine : 0;
	rbstats_close(h[17]);
	CHECK_OK(rbstats_open(&h[17], dir, &st));
	CHECK(h[17] && h[17]->mine == freed);
	rb_stats_t *sum = calloc(1, sizeof *sum);
	rbstats_info_t info;
	CHECK_OK(rbstats_sum(h[0], sum, &info));
	CHECK(info.processes == RBSTATS_SLOTS);
	free(sum);
	for (unsigned i = 0; i < RBSTATS_SLOTS; i++)
		rbstats_close(h[i]);
}

/* Processes that start together on a directory without a stats file: one
 * file, made once (nobody replaces another's), one slot each. */
static void race_case(const char *dir)
{
	enum { N = 24 };
	int go[2], end[2]; /* a byte each to start; end closed to stop */
	CHECK(pipe(go) == 0 && pipe(end) == 0);
	child_t c[N];
	for (int i = 0; i < N; i++) {
		int up[2];
		CHECK(pipe(up) == 0);
		c[i].pid = fork();
		if (c[i].pid == 0) {
			close(go[1]);
			close(end[1]);
			close(up[0]);
			char b, line[64];
			(void)!read(go[0], &b, 1); /* all at once */
			rbstats_t *s;
			rb_stats_t *st;
			int rc = rbstats_open(&s, dir, &st);
			if (rc == 0) {
				st->m[RB_M_LOOKUP].count++;
				snprintf(line, sizeof line, "slot %u count %d\n", s->mine,
				         rbstats_replaced(s));
			} else {
				snprintf(line, sizeof line, "error %d\n", rc);
			}
			(void)!write(up[1], line, strlen(line));
			(void)!read(end[0], &b, 1); /* until the parent closes end */
			_exit(0);
		}
		close(up[1]);
		c[i].rd = up[0];
		c[i].wr = -1;
	}
	close(go[0]);
	close(end[0]);
	char all[N];
	memset(all, 'x', sizeof all);
	CHECK(write(go[1], all, sizeof all) == N);
	unsigned seen[RBSTATS_SLOTS] = {0};
	int ok = 1;
	for (int i = 0; i < N; i++) {
		uint64_t replaced = 1;
		int slot = report(&c[i], &replaced);
		if (slot < 0 || slot >= RBSTATS_SLOTS || seen[slot]++ || replaced)
			ok = 0;
	}
	CHECK(ok);
	rbstats_t *s;
	rb_stats_t *st;
	CHECK_OK(rbstats_open(&s, dir, &st));
	rb_stats_t *sum = calloc(1, sizeof *sum);
	rbstats_info_t info;
	CHECK(lookups(s, sum, &info) == N);
	CHECK(info.processes == N + 1 && info.slots_used == N + 1);
	close(go[1]);
	close(end[1]);
	for (int i = 0; i < N; i++) {
		waitpid(c[i].pid, NULL, 0);
		close(c[i].rd);
	}
	CHECK_OK(rbstats_sum(s, sum, &info));
	CHECK(info.processes == 1 && sum->m[RB_M_LOOKUP].count == N);
	free(sum);
	rbstats_close(s);
}

/* --exec-helper dir rounds: claims a slot, adds 5 lookups, prints "slot N
 * count C", waits for a line on stdin, then execs itself with one round
 * less (the same pid), until none are left. */
static int exec_helper(char **argv)
{
	rbstats_t *s;
	rb_stats_t *st;
	int rc = rbstats_open(&s, argv[2], &st);
	if (rc < 0) {
		printf("error %d\n", rc);
		return 1;
	}
	st->m[RB_M_LOOKUP].count += 5;
	printf("slot %u count %llu\n", s->mine, (unsigned long long)st->m[RB_M_LOOKUP].count);
	fflush(stdout);
	char b;
	if (read(0, &b, 1) != 1)
		return 1;
	int rounds = atoi(argv[3]);
	if (rounds <= 1) {
		rbstats_close(s);
		return 0;
	}
	char n[16];
	snprintf(n, sizeof n, "%d", rounds - 1);
	char *args[] = {argv[0], argv[1], argv[2], n, NULL};
	execv("/proc/self/exe", args); /* drops the slot's lock: close-on-exec */
	return 1;
}

/* An exec in place keeps the pid and gets its slot back, counters and
 * all, though a lower slot whose owner is gone is free. */
static void exec_case(const char *dir)
{
	rbstats_t *s;
	rb_stats_t *st;
	CHECK_OK(rbstats_open(&s, dir, &st)); /* the lowest slot */
	child_t d;
	CHECK(spawn(&d, dir, 1, 0, 0) == 0);
	int sd = report(&d, NULL);

	int up[2], down[2];
	CHECK(pipe(up) == 0 && pipe(down) == 0);
	pid_t x = fork();
	if (x == 0) {
		dup2(down[0], 0);
		dup2(up[1], 1);
		close(up[0]);
		close(down[1]);
		char *args[] = {"test_stats", "--exec-helper", (char *)dir, "2", NULL};
		execv("/proc/self/exe", args);
		_exit(127);
	}
	close(up[1]);
	close(down[0]);
	child_t xc = {.pid = x, .rd = up[0], .wr = down[1]};
	uint64_t count = 0;
	int first = report(&xc, &count);
	CHECK(first >= 0 && first != sd && (unsigned)first != s->mine);
	CHECK(count == 5);
	/* d dies: its slot is free, and lower than x's */
	finish(&d, SIGKILL);
	CHECK(sd < first);
	CHECK(write(xc.wr, "\n", 1) == 1); /* x execs itself */
	int second = report(&xc, &count);
	CHECK(second == first);
	CHECK(count == 10);
	finish(&xc, 0);
	rbstats_close(s);

	/* the preference itself: the slot recorded for this pid first */
	CHECK_OK(rbstats_open(&s, dir, &st));
	unsigned want = (unsigned)first;
	rbstats_t *s2;
	rb_stats_t *st2;
	dir_at(s, want)->pid = (uint64_t)getpid();
	CHECK_OK(rbstats_open(&s2, dir, &st2));
	CHECK(s2->mine == want);
	rbstats_close(s2);

	/* a slot let go by a process still alive (one about to exec itself)
	 * is taken only when no other is free */
	child_t e, f;
	CHECK(spawn(&e, dir, 1, 0, LET_GO) == 0);
	int se = report(&e, NULL);
	CHECK(spawn(&f, dir, 1, 0, 0) == 0);
	int sf = report(&f, NULL);
	CHECK(se >= 0 && sf >= 0 && sf != se);
	finish(&f, 0);
	finish(&e, 0);
	rbstats_close(s);
}

static const char *ask(rb_t *rb, rb_buf_t *out, const char *req)
{
	rb_conn_t conn = {0};
	rb_work_t work;
	out->len = 0;
	CHECK_OK(rb_handle(rb, &conn, req, strlen(req), out, &work));
	if (buf_reserve(out, 1) == 0)
		out->p[out->len] = '\0';
	return out->p;
}

/* The stats and metrics texts report the sum over the file: another live
 * process's counts and gauges, the number of processes; after its SIGKILL
 * its counts only. */
static void text_case(const char *dir)
{
	store_t *store;
	CHECK_OK(store_open(&store, dir, STORE_CREATE));
	if (!store)
		return;
	rb_t rb;
	rb_init(&rb, store);
	rb_buf_t out = {0};
	/* without a shared file: this process alone */
	ask(&rb, &out, "{\"method\":\"initialize\",\"parameters\":{}}");
	out.len = 0;
	CHECK_OK(rb_metrics_text(&rb, &out));
	CHECK(strstr(out.p, "\nkyedns_backend_processes 1\n") != NULL);
	CHECK(strstr(out.p, "kyedns_backend_requests_total{method=\"initialize\"} 1\n") != NULL);

	rb_stats_t *slot;
	CHECK_OK(rbstats_open(&rb.shared, dir, &slot));
	if (!rb.shared)
		return;
	rb.st = slot;
	child_t c;
	CHECK(spawn(&c, dir, 7, 2, 0) == 0);
	CHECK(report(&c, NULL) >= 0);
	ask(&rb, &out, "{\"method\":\"initialize\",\"parameters\":{}}");
	rb.st->conns_open = 1;

	out.len = 0;
	CHECK_OK(rb_metrics_text(&rb, &out));
	CHECK(strstr(out.p, "\nkyedns_backend_processes 2\n") != NULL);
	CHECK(strstr(out.p, "kyedns_backend_requests_total{method=\"lookup\"} 7\n") != NULL);
	CHECK(strstr(out.p, "kyedns_backend_requests_total{method=\"initialize\"} 1\n") != NULL);
	CHECK(strstr(out.p, "\nkyedns_backend_connections_open 3\n") != NULL);
	CHECK(strstr(out.p, "# TYPE kyedns_backend_processes gauge\n") != NULL);
	out.len = 0;
	CHECK_OK(rb_stats_text(&rb, &out));
	CHECK(strstr(out.p, "\nprocesses 2\n") != NULL);
	CHECK(strstr(out.p, "\nlookup_count 7\n") != NULL);
	CHECK(strstr(out.p, "\nconnections_open 3\n") != NULL);
	CHECK(strstr(out.p, "\nrequests_total 8\n") != NULL);

	finish(&c, SIGKILL);
	out.len = 0;
	CHECK_OK(rb_metrics_text(&rb, &out));
	CHECK(strstr(out.p, "\nkyedns_backend_processes 1\n") != NULL);
	CHECK(strstr(out.p, "kyedns_backend_requests_total{method=\"lookup\"} 7\n") != NULL);
	CHECK(strstr(out.p, "\nkyedns_backend_connections_open 1\n") != NULL);
	out.len = 0;
	CHECK_OK(rb_stats_text(&rb, &out));
	CHECK(strstr(out.p, "\nprocesses 1\n") != NULL);
	CHECK(strstr(out.p, "\nconnections_open 1\n") != NULL);

	rb_buf_free(&out);
	rbstats_close(rb.shared);
	rb.shared = NULL;
	rb.st = &rb.own;
	rb_free(&rb);
	store_close(store);
}

static void sub(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
	if (mkdir(out, 0700) < 0)
		perror(out);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--exec-helper") == 0)
		return exec_helper(argv);
	char dir[] = "/tmp/kyedns-test-stats-XXXXXX", d[6][256];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	sub(d[0], sizeof d[0], dir, "proc");
	sub(d[1], sizeof d[1], dir, "file");
	sub(d[2], sizeof d[2], dir, "full");
	sub(d[3], sizeof d[3], dir, "exec");
	sub(d[4], sizeof d[4], dir, "text");
	sub(d[5], sizeof d[5], dir, "race");
	processes_case(d[0]);
	file_case(d[1]);
	full_case(d[2]);
	exec_case(d[3]);
	text_case(d[4]);
	race_case(d[5]);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "chmod -R u+w %s && rm -rf %s", dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_done("stats");
}
