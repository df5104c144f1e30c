/*
 * failio - an LD_PRELOAD shim that makes the disk under a store fail on
 * demand, so the commit-failure path (911) is tested without root and
 * without a full filesystem.
 *
 * While the file named by $FAILIO_TRIGGER exists, every write to a file
 * called data.mdb and every fdatasync/fsync of it fails with the errno in
 * $FAILIO_ERRNO (default ENOSPC) without touching the file.  Reads go on,
 * so readers and the unchanged paths keep working.  Deleting the trigger
 * gives the disk back.  Built by the test itself:
 *   cc -shared -fPIC -O2 -o failio.so failio.c
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* Whether a call on fd must fail now; sets errno when it must. */
static int failing(int fd)
{
	const char *trigger = getenv("FAILIO_TRIGGER");
	const char *e = getenv("FAILIO_ERRNO");
	char proc[64], path[4096];
	ssize_t n;

	if (fd < 0 || !trigger || access(trigger, F_OK) != 0)
		return 0;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	n = readlink(proc, path, sizeof path - 1);
	if (n < 9)
		return 0;
	path[n] = '\0';
	if (strcmp(path + n - 9, "/data.mdb") != 0)
		return 0;
	errno = e ? atoi(e) : ENOSPC;
	return 1;
}

ssize_t write(int fd, const void *b, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	if (!real)
		real = next("write");
	return failing(fd) ? -1 : real(fd, b, n);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	static ssize_t (*real)(int, const struct iovec *, int);
	if (!real)
		real = next("writev");
	return failing(fd) ? -1 : real(fd, iov, cnt);
}

#define PWRITE(name)                                                                               \
	ssize_t name(int fd, const void *b, size_t n, off_t off)                                   \
	{                                                                                          \
		static ssize_t (*real)(int, const void *, size_t, off_t);                          \
		if (!real)                                                                         \
			real = next(#name);                                                        \
		return failing(fd) ? -1 : real(fd, b, n, off);                                     \
	}
PWRITE(pwrite)
PWRITE(pwrite64)

#define PWRITEV(name)                                                                              \
	ssize_t name(int fd, const struct iovec *iov, int cnt, off_t off)                          \
	{                                                                                          \
		static ssize_t (*real)(int, const struct iovec *, int, off_t);                     \
		if (!real)                                                                         \
			real = next(#name);                                                        \
		return failing(fd) ? -1 : real(fd, iov, cnt, off);                                 \
	}
PWRITEV(pwritev)
PWRITEV(pwritev64)

int fdatasync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = next("fdatasync");
	return failing(fd) ? -1 : real(fd);
}

int fsync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = next("fsync");
	return failing(fd) ? -1 : real(fd);
}
