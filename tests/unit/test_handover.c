/*
 * Unit tests of handover: a real round trip through execve(2) (the test
 * program executes itself with "child", which takes the handover and
 * checks it: descriptors, unread input, FD_CLOEXEC, the variable gone), a
 * failed exec that leaves everything as before, and handover_take() on
 * malformed variables: what cannot be adopted is closed and named in err,
 * the rest is kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* The module under test is compiled into this program (the unit-test rule
 * links only libkyedns.a). */
#include "../../backend/handover.c"

static const char *const inputs[] = {"{\"method\":\"lookup\",\"param", "", "x\ny\nhalf"};
#define NCONNS 3

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);
	return f >= 0 && (f & FD_CLOEXEC);
}

/* The new image: takes the handover and checks it; each connection
 * answers with its input and "|", so the parent sees the bytes arrived. */
static int child(void)
{
	handover_t ho;
	CHECK_RC(handover_take(&ho), 1);
	CHECK_STR(ho.err, "");
	CHECK(getenv(HANDOVER_ENV) == NULL);
	CHECK(ho.listen_fd >= 3 && sd_is_socket_unix(ho.listen_fd, SOCK_STREAM, 1, NULL, 0) > 0);
	CHECK(ho.activated == 1);
	CHECK(ho.log_fd >= 3 && cloexec(ho.log_fd));
	CHECK(cloexec(ho.listen_fd));
	CHECK(!is_open(atoi(getenv("EXTRA_FD")))); /* FD_CLOEXEC: it did not cross */
	CHECK(ho.nconns == NCONNS);
	for (unsigned i = 0; i < ho.nconns && i < NCONNS; i++) {
		handover_conn_t *c = &ho.conns[i];
		CHECK(c->fd >= 3 && cloexec(c->fd));
		CHECK(c->in_len == strlen(inputs[i]) &&
		      (c->in_len == 0 || memcmp(c->in, inputs[i], c->in_len) == 0));
		CHECK(write_all(c->fd, c->in ? c->in : "", c->in_len) == 0);
		CHECK(write_all(c->fd, "|", 1) == 0);
	}
	/* the log file is the one the parent opened */
	CHECK(write_all(ho.log_fd, "from the new image\n", 19) == 0);
	handover_free(&ho);
	return check_done("test_handover (new image)");
}

static int unix_listener(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0)
		return -1;
	return fd;
}

static void test_round_trip(char *self, const char *dir)
{
	char path[256], logpath[256];
	snprintf(path, sizeof path, "%s/l.sock", dir);
	snprintf(logpath, sizeof logpath, "%s/log", dir);
	handover_conn_t conns[NCONNS];
	int peer[NCONNS];
	for (int i = 0; i < NCONNS; i++) {
		int sv[2];
		CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
		conns[i] = (handover_conn_t){sv[0], (char *)inputs[i], strlen(inputs[i])};
		peer[i] = sv[1];
	}
	handover_t ho = {.listen_fd = unix_listener(path), .activated = 1, .nconns = NCONNS,
			 .conns = conns};
	ho.log_fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int extra = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(ho.listen_fd >= 0 && ho.log_fd >= 0 && extra >= 0);
	char extra_s[16];
	snprintf(extra_s, sizeof extra_s, "%d", extra);
	setenv("EXTRA_FD", extra_s, 1);

	/* a failed exec changes nothing */
	char *argv[] = {self, "child", NULL};
	CHECK_RC(handover_exec(&ho, "/nonexistent/kyedns-backend", argv), -ENOENT);
	CHECK(getenv(HANDOVER_ENV) == NULL);
	CHECK(cloexec(ho.listen_fd) && cloexec(ho.log_fd));
	for (int i = 0; i < NCONNS; i++)
		CHECK(cloexec(conns[i].fd));

	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int rc = handover_exec(&ho, "/proc/self/exe", argv);
		fprintf(stderr, "exec failed (%s)\n", strerror(-rc));
		_exit(99);
	}
	/* Only the child holds the connections now: what it does not answer
	 * reads as end of file, not as a hang. */
	for (int i = 0; i < NCONNS; i++)
		close(conns[i].fd);
	int st = 0;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int i = 0; i < NCONNS; i++) {
		char buf[128] = {0};
		size_t n = 0;
		while (n < sizeof buf - 1) {
			ssize_t r = read(peer[i], buf + n, sizeof buf - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			if (buf[n - 1] == '|')
				break;
		}
		CHECK(n == strlen(inputs[i]) + 1 && memcmp(buf, inputs[i], n - 1) == 0);
		close(peer[i]);
	}
	char buf[64] = {0};
	int lf = open(logpath, O_RDONLY);
	CHECK(lf >= 0 && read(lf, buf, sizeof buf - 1) == 19);
	CHECK_STR(buf, "from the new image\n");
	close(lf);
	close(ho.listen_fd);
	close(ho.log_fd);
	close(extra);
	unlink(path);
	unlink(logpath);
}

/* Sets the variable and takes it. */
static int take(handover_t *ho, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int take(handover_t *ho, const char *fmt, ...)
{
	char v[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof v, fmt, ap);
	va_end(ap);
	setenv(HANDOVER_ENV, v, 1);
	return handover_take(ho);
}

static void test_malformed(const char *dir)
{
	handover_t ho;
	char path[256];
	snprintf(path, sizeof path, "%s/m.sock", dir);

	unsetenv(HANDOVER_ENV);
	CHECK_RC(handover_take(&ho), 0);
	CHECK(ho.listen_fd == -1 && ho.nconns == 0);

	CHECK_RC(take(&ho, "v2 listen=3"), 1);
	CHECK(strstr(ho.err, "unknown format") && ho.listen_fd == -1);
	CHECK(getenv(HANDOVER_ENV) == NULL);
	handover_free(&ho);

	/* a pipe where a connection should be, a duplicate, a closed fd: the
	 * pipe is closed, the duplicate left to its first mention, the socket
	 * kept with its input */
	int sv[2], pp[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_OK(pipe(pp));
	int m = memfd_create("t", 0);
	CHECK(m >= 0 && write(m, "abcdef", 6) == 6);
	CHECK_RC(take(&ho, "v1 listen=-1 activated=0 log=-1 in=%d conns=%d:2,%d:3,%d:1,%d:0", m,
		      pp[0], sv[0], sv[0], 900),
		 1);
	CHECK(ho.nconns == 4 && ho.conns[0].fd == -1 && !is_open(pp[0]));
	CHECK(ho.conns[1].fd == sv[0] && ho.conns[1].in_len == 3 &&
	      memcmp(ho.conns[1].in, "cde", 3) == 0);
	CHECK(ho.conns[2].fd == -1 && ho.conns[3].fd == -1);
	CHECK(strstr(ho.err, "3 listed connections are no connected unix sockets") != NULL);
	CHECK(!is_open(m)); /* the input memfd is closed once read */
	CHECK(is_open(sv[0]) && cloexec(sv[0]));
	handover_free(&ho);
	CHECK(!is_open(sv[0]));
	close(sv[1]);
	close(pp[1]);

	/* input missing: that connection is closed (its request would be cut) */
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_RC(take(&ho, "v1 in=-1 conns=%d:5", sv[0]), 1);
	CHECK(ho.conns[0].fd == -1 && !is_open(sv[0]));
	CHECK(strstr(ho.err, "1 connections closed (their unread input is missing)") != NULL);
	handover_free(&ho);
	close(sv[1]);

	/* a connected socket is no listener; garbage stops the list */
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	int l = unix_listener(path);
	CHECK(l >= 0);
	CHECK_RC(take(&ho, "v1 listen=%d log=x conns=%d:0,zz,%d:0 bogus", sv[0], l, sv[1]), 1);
	CHECK(ho.listen_fd == -1 && !is_open(sv[0]));
	CHECK(strstr(ho.err, "the listening socket is not one") != NULL);
	CHECK(strstr(ho.err, "malformed descriptor") != NULL);
	CHECK(strstr(ho.err, "malformed connection list") != NULL);
	CHECK(strstr(ho.err, "malformed entry") != NULL);
	/* the listener listed as a connection is not one either */
	CHECK(ho.nconns == 1 && ho.conns[0].fd == -1 && !is_open(l));
	CHECK(is_open(sv[1])); /* after the garbage: never looked at */
	handover_free(&ho);
	close(sv[1]);
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "child") == 0)
		return child();
	char dir[] = "/tmp/test_handover.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_round_trip(argv[0], dir);
	test_malformed(dir);
	rmdir(dir);
	return check_done("test_handover");
}
