/*
 * stats - the shared statistics file (stats.h).
 *
 * Layout: one page of header, which holds the slot directory (each slot's
 * last pid and claim count), then RBSTATS_SLOTS slots of slot_size bytes,
 * each an rb_stats_t padded to whole pages.  A process dirties only its
 * own slot's pages (no cache line shared with another writer).  Claiming
 * and summing read the directory, never an unused slot, so a slot never
 * claimed stays a hole of the sparse file: no disk block, no page cache.
 * Every field is a uint64_t at an offset that is a multiple of 8, so a
 * reader in another process loads whole values while the owner stores
 * them.
 *
 * Locks (open-file-description locks, one byte each): byte 0 is held for
 * writing while a process checks, replaces or claims in the file, briefly;
 * the first byte of slot i is held by its owner for as long as it lives.
 */
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bump when rb_stats_t changes meaning without changing size (fields
 * reordered, a method renamed in place); size changes are caught below. */
#define RBSTATS_FORMAT 1
#define RBSTATS_MAGIC  "KYEDNSST"
#define RBSTATS_PAGE   4096u
#define RBSTATS_HEAD   RBSTATS_PAGE

struct rbstats_dir {
	uint64_t pid;    /* the last process that claimed the slot */
	uint64_t claims; /* times claimed; 0: never used (a hole) */
};

struct rbstats_head {
	char magic[8];
	uint32_t format;     /* RBSTATS_FORMAT */
	uint32_t nslots;     /* RBSTATS_SLOTS */
	uint64_t slot_size;  /* bytes per slot, a multiple of the page */
	uint64_t stats_size; /* sizeof(rb_stats_t) */
	uint64_t shape;      /* RB_M_COUNT, RB_HIST_BUCKETS, RB_LE_COUNT */
	uint64_t created;    /* unix seconds */
	uint64_t pad[2];
	struct rbstats_dir dir[RBSTATS_SLOTS];
};

#define SLOT_SIZE ((sizeof(rb_stats_t) + RBSTATS_PAGE - 1) / RBSTATS_PAGE * RBSTATS_PAGE)
#define FILE_SIZE (RBSTATS_HEAD + (uint64_t)RBSTATS_SLOTS * SLOT_SIZE)
#define SHAPE     ((uint64_t)RB_M_COUNT | (uint64_t)RB_HIST_BUCKETS << 16 | (uint64_t)RB_LE_COUNT << 32)

_Static_assert(sizeof(struct rbstats_head) <= RBSTATS_HEAD, "header fits its page");
_Static_assert(sizeof(rb_stats_t) % sizeof(uint64_t) == 0, "rb_stats_t is all uint64_t");
_Static_assert(offsetof(struct rbstats_head, dir) % 64 == 0, "directory on a cache line");
_Static_assert(_Alignof(rb_stats_t) == sizeof(uint64_t), "uint64_t fields only");

struct rbstats {
	int fd;
	unsigned char *map; /* FILE_SIZE bytes */
	unsigned mine;      /* our slot */
	int replaced;       /* this open replaced a file of another layout */
};

static struct rbstats_dir *dir_at(const rbstats_t *s, unsigned i)
{
	return &((struct rbstats_head *)(void *)s->map)->dir[i];
}

static rb_stats_t *slot_at(const rbstats_t *s, unsigned i)
{
	return (rb_stats_t *)(void *)(s->map + RBSTATS_HEAD + (size_t)i * SLOT_SIZE);
}

static off_t slot_off(unsigned i)
{
	return (off_t)(RBSTATS_HEAD + (uint64_t)i * SLOT_SIZE);
}

/* An OFD lock on one byte: F_WRLCK or F_UNLCK; wait or not.  0 or -errno
 * (-EAGAIN: held by another open file description). */
static int lock_byte(int fd, off_t off, short type, int wait)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};
	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		if (errno == EINTR)
			continue;
		return errno == EACCES ? -EAGAIN : -errno;
	}
	return 0;
}

/* 1 when another open file description holds the byte, 0 when none does,
 * or -errno. */
static int byte_locked(int fd, off_t off)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

static int header_ok(int fd)
{
	struct stat sb;
	struct rbstats_head h;
	if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size != FILE_SIZE)
		return 0;
	if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
		return 0;
	return memcmp(h.magic, RBSTATS_MAGIC, 8) == 0 && h.format == RBSTATS_FORMAT &&
	       h.nslots == RBSTATS_SLOTS && h.slot_size == SLOT_SIZE &&
	       h.stats_size == sizeof(rb_stats_t) && h.shape == SHAPE;
}

/*
 * Writes a new, empty stats file under a temporary name and moves it to
 * path: with link() when there was none (-EEXIST when another process was
 * quicker), with rename() over a file of another layout.  The file gets
 * mode 0660 whatever the umask, and data.mdb's owner and group as far as
 * we may give them (a pdnsutil run as root must not lock the service's
 * user out).
 */
static int create_file(const char *dir, const char *path, int replace)
{
	char tmp[PATH_MAX], mdb[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.new.%ld", path, (long)getpid()) >= (int)sizeof tmp ||
	    snprintf(mdb, sizeof mdb, "%s/data.mdb", dir) >= (int)sizeof mdb)
		return -ENAMETOOLONG;
	unlink(tmp); /* left by a process of the same pid that died here */
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (fd < 0)
		return -errno;
	int rc = 0;
	struct stat sb;
	/* Best effort: root gives both; another user may still give the
	 * group when it is one of its own. */
	if (stat(mdb, &sb) == 0 && (sb.st_uid != geteuid() || sb.st_gid != getegid()) &&
	    fchown(fd, sb.st_uid, sb.st_gid) < 0)
		(void)!fchown(fd, (uid_t)-1, sb.st_gid);
	struct rbstats_head h = {.format = RBSTATS_FORMAT,
	                         .nslots = RBSTATS_SLOTS,
	                         .slot_size = SLOT_SIZE,
	                         .stats_size = sizeof(rb_stats_t),
	                         .shape = SHAPE,
	                         .created = (uint64_t)time(NULL)};
	memcpy(h.magic, RBSTATS_MAGIC, 8);
	if (fchmod(fd, 0660) < 0 || ftruncate(fd, (off_t)FILE_SIZE) < 0)
		rc = -errno;
	else if (pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
		rc = errno ? -errno : -EIO;
	close(fd);
	if (rc == 0 && (replace ? rename(tmp, path) : link(tmp, path)) < 0)
		rc = -errno;
	if (rc < 0 || !replace)
		unlink(tmp);
	return rc;
}

/* The slot a process takes: the one its pid had (an exec in place keeps
 * the pid), else a free one whose last owner is gone (a slot whose owner
 * still lives but let go of the lock may be that owner re-execing), else
 * any free one.  Locks it and returns its index, or -EBUSY, or -errno
 * when locking itself fails (no OFD locks on this kernel or file system). */
static int claim(rbstats_t *s, pid_t pid)
{
	int rc;
	for (unsigned i = 0; i < RBSTATS_SLOTS; i++) {
		if (dir_at(s, i)->pid != (uint64_t)pid)
			continue;
		if ((rc = lock_byte(s->fd, slot_off(i), F_WRLCK, 0)) != -EAGAIN)
			return rc < 0 ? rc : (int)i;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < RBSTATS_SLOTS; i++) {
			uint64_t owner = dir_at(s, i)->pid;
			if (pass == 0 && owner && owner <= INT_MAX &&
			    (kill((pid_t)owner, 0) == 0 || errno == EPERM))
				continue;
			if ((rc = lock_byte(s->fd, slot_off(i), F_WRLCK, 0)) != -EAGAIN)
				return rc < 0 ? rc : (int)i;
		}
	}
	return -EBUSY;
}

int rbstats_open(rbstats_t **out, const char *dir, rb_stats_t **slot)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/" RBSTATS_FILE, dir) >= (int)sizeof path)
		return -ENAMETOOLONG;
	rbstats_t *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	int rc = -EAGAIN;
	/* A few rounds: the file may be created or replaced under us. */
	for (int round = 0; round < 8 && s->fd < 0; round++) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			if (rc != -ENOENT)
				break;
			rc = create_file(dir, path, 0);
			if (rc < 0 && rc != -EEXIST)
				break;
			continue;
		}
		rc = lock_byte(fd, 0, F_WRLCK, 1);
		struct stat a, b;
		if (rc == 0 && (fstat(fd, &a) < 0 || stat(path, &b) < 0))
			rc = -errno;
		if (rc < 0) {
			close(fd);
			break;
		}
		if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
			close(fd); /* replaced while we waited: take the new one */
			continue;
		}
		if (!header_ok(fd)) {
			rc = create_file(dir, path, 1);
			close(fd);
			if (rc < 0)
				break;
			s->replaced = 1;
			continue;
		}
		s->fd = fd;
	}
	if (s->fd < 0) {
		free(s);
		return rc < 0 ? rc : -EAGAIN; /* replaced too often under us */
	}
	void *map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		close(s->fd);
		free(s);
		return rc;
	}
	s->map = map;
	pid_t pid = getpid();
	rc = claim(s, pid);
	lock_byte(s->fd, 0, F_UNLCK, 0);
	if (rc < 0) {
		rbstats_close(s);
		return rc;
	}
	s->mine = (unsigned)rc;
	struct rbstats_dir *d = dir_at(s, s->mine);
	rb_stats_t *st = slot_at(s, s->mine);
	/* Counters stay (service totals); a dead owner's gauges are stale. */
	d->pid = (uint64_t)pid;
	d->claims++;
	st->conns_open = 0;
	st->txns_open = 0;
	st->started = (uint64_t)time(NULL);
	*out = s;
	*slot = st;
	return 0;
}

void rbstats_close(rbstats_t *s)
{
	if (!s)
		return;
	if (s->map)
		munmap(s->map, FILE_SIZE);
	if (s->fd >= 0)
		close(s->fd); /* drops the slot's lock */
	free(s);
}

int rbstats_replaced(const rbstats_t *s)
{
	return s->replaced;
}

int rbstats_sum(rbstats_t *s, rb_stats_t *sum, rbstats_info_t *info)
{
	enum { N = sizeof(rb_stats_t) / sizeof(uint64_t) };
	const size_t g_started = offsetof(rb_stats_t, started) / sizeof(uint64_t);
	const size_t g_conns = offsetof(rb_stats_t, conns_open) / sizeof(uint64_t);
	const size_t g_txns = offsetof(rb_stats_t, txns_open) / sizeof(uint64_t);
	uint64_t *out = (uint64_t *)(void *)sum;
	rbstats_info_t inf = {.slots = RBSTATS_SLOTS};
	const struct rbstats_head *h = (const struct rbstats_head *)(void *)s->map;
	inf.created = h->created;
	memset(sum, 0, sizeof *sum);
	uint64_t oldest = UINT64_MAX;
	for (unsigned i = 0; i < RBSTATS_SLOTS; i++) {
		if (__atomic_load_n(&dir_at(s, i)->claims, __ATOMIC_RELAXED) == 0)
			continue;
		inf.slots_used++;
		int live = 1;
		if (i != s->mine) {
			live = byte_locked(s->fd, slot_off(i));
			if (live < 0)
				return live;
		}
		inf.processes += (unsigned)live;
		const uint64_t *in = (const uint64_t *)(const void *)slot_at(s, i);
		for (size_t k = 0; k < N; k++) {
			uint64_t v = __atomic_load_n(&in[k], __ATOMIC_RELAXED);
			if (k == g_started) {
				if (live && v < oldest)
					oldest = v;
			} else if (k != g_conns && k != g_txns) {
				out[k] += v;
			} else if (live) {
				out[k] += v;
			}
		}
	}
	sum->started = oldest == UINT64_MAX ? 0 : oldest;
	if (info)
		*info = inf;
	return 0;
}
