/*
 * syncspy - an LD_PRELOAD shim for the durability tests: it logs, in order,
 * every write to a file named data.mdb, every sync call, and every write to
 * a socket that carries a dyndns2 "good" answer.  A test then checks that
 * each answer was preceded by a sync of everything written before it, and
 * that a bulk import ends synced.
 *
 * The log ($SYNCSPY_LOG) gets one line per event, appended with a single
 * write(2) so that the threads of a daemon never interleave inside a line:
 *
 *   SEQ NS W FD DSYNC OFF  a write to data.mdb; DSYNC 1 if the fd has O_DSYNC;
 *                          OFF its file offset (-1: write/writev)
 *   SEQ NS S FD CALL       fdatasync or fsync of data.mdb, or any msync(MS_SYNC) (FD -1)
 *   SEQ NS R FD            a socket write holding "good " (logged before it goes)
 *
 * LMDB writes its two meta pages at the start of the file, so a write at an
 * offset below two pages marks a commit.
 *
 * SEQ is a process-wide counter taken when the event is logged: a write or
 * sync is logged after it returned, an answer before it is sent, so SEQ
 * order is the order that matters.  Built by the test itself:
 *   cc -shared -fPIC -O2 -o syncspy.so syncspy.c
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int logfd = -2;
static unsigned long seq;

static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static void emit(const char *fmt, ...)
{
	char line[160];
	struct timespec ts;
	va_list ap;
	int n;

	if (logfd == -2) {
		const char *p = getenv("SYNCSPY_LOG");
		logfd = p ? (int)syscall(SYS_open, p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		                         0600)
		          : -1;
	}
	if (logfd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof line, "%lu %lld ", __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST),
	             (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	syscall(SYS_write, logfd, line, (size_t)n);
}

/* Whether fd is open on a file called data.mdb. */
static int is_data(int fd)
{
	char proc[64], path[4096];
	ssize_t n;

	if (fd < 0 || fd == logfd)
		return 0;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	n = readlink(proc, path, sizeof path - 1);
	if (n < 9)
		return 0;
	path[n] = '\0';
	return strcmp(path + n - 9, "/data.mdb") == 0;
}

static void wrote(int fd, ssize_t r, long long off)
{
	if (r >= 0 && is_data(fd))
		emit("W %d %d %lld\n", fd, (fcntl(fd, F_GETFL) & O_DSYNC) ? 1 : 0, off);
}

static void synced(int fd, int r, const char *call)
{
	if (r == 0 && (fd < 0 || is_data(fd)))
		emit("S %d %s\n", fd, call);
}

static int is_sock(int fd)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void reply(int fd, const struct iovec *iov, int n)
{
	static const char want[] = "good ";
	char buf[8192];
	size_t len = 0;

	if (!is_sock(fd))
		return;
	for (int i = 0; i < n && len < sizeof buf; i++) {
		size_t k = iov[i].iov_len < sizeof buf - len ? iov[i].iov_len : sizeof buf - len;
		memcpy(buf + len, iov[i].iov_base, k);
		len += k;
	}
	if (memmem(buf, len, want, sizeof want - 1))
		emit("R %d\n", fd);
}

ssize_t write(int fd, const void *b, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	struct iovec v = {(void *)b, n};
	ssize_t r;
	if (!real)
		real = next("write");
	reply(fd, &v, 1);
	r = real(fd, b, n);
	wrote(fd, r, -1);
	return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	static ssize_t (*real)(int, const struct iovec *, int);
	ssize_t r;
	if (!real)
		real = next("writev");
	reply(fd, iov, cnt);
	r = real(fd, iov, cnt);
	wrote(fd, r, -1);
	return r;
}

ssize_t send(int fd, const void *b, size_t n, int flags)
{
	static ssize_t (*real)(int, const void *, size_t, int);
	struct iovec v = {(void *)b, n};
	if (!real)
		real = next("send");
	reply(fd, &v, 1);
	return real(fd, b, n, flags);
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);
	if (!real)
		real = next("sendmsg");
	reply(fd, m->msg_iov, (int)m->msg_iovlen);
	return real(fd, m, flags);
}

#define PWRITE(name, off_type)                                                                     \
	ssize_t name(int fd, const void *b, size_t n, off_type off)                                \
	{                                                                                          \
		static ssize_t (*real)(int, const void *, size_t, off_type);                       \
		ssize_t r;                                                                         \
		if (!real)                                                                         \
			real = next(#name);                                                        \
		r = real(fd, b, n, off);                                                           \
		wrote(fd, r, off);                                                                 \
		return r;                                                                          \
	}
PWRITE(pwrite, off_t)
PWRITE(pwrite64, off_t)

#define PWRITEV(name)                                                                              \
	ssize_t name(int fd, const struct iovec *iov, int cnt, off_t off)                          \
	{                                                                                          \
		static ssize_t (*real)(int, const struct iovec *, int, off_t);                     \
		ssize_t r;                                                                         \
		if (!real)                                                                         \
			real = next(#name);                                                        \
		r = real(fd, iov, cnt, off);                                                       \
		wrote(fd, r, off);                                                                 \
		return r;                                                                          \
	}
PWRITEV(pwritev)
PWRITEV(pwritev64)

int fdatasync(int fd)
{
	static int (*real)(int);
	int r;
	if (!real)
		real = next("fdatasync");
	r = real(fd);
	synced(fd, r, "fdatasync");
	return r;
}

int fsync(int fd)
{
	static int (*real)(int);
	int r;
	if (!real)
		real = next("fsync");
	r = real(fd);
	synced(fd, r, "fsync");
	return r;
}

int msync(void *addr, size_t len, int flags)
{
	static int (*real)(void *, size_t, int);
	int r;
	if (!real)
		real = next("msync");
	r = real(addr, len, flags);
	if (flags & MS_SYNC)
		synced(-1, r, "msync");
	return r;
}
