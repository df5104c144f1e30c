/*
 * handover - what one kyedns-backend image passes to the next when SIGHUP
 * re-executes the program in place (same pid; server.h has the policy).
 *
 * pdns 4.7 keeps one remote-backend connection per thread for its
 * lifetime, and a primary or secondary pdns exits when the communicator's
 * connection breaks.  So a reload must not close anything: the listening
 * socket, every pdns connection and the log file stay open across
 * execve(2), and the bytes already read from a connection but not yet
 * handled (a partial request line, or lines held back) go along with it.
 *
 * The descriptors are inherited (FD_CLOEXEC is cleared on exactly these);
 * one environment variable, HANDOVER_ENV, names them:
 *
 *     v1 listen=3 activated=0 log=4 in=9 conns=5:0,6:120,7:0
 *
 * in= is a memfd holding every connection's unconsumed input, one after
 * the other in the order of conns=, each FD:LEN taking LEN bytes.  Only
 * this module reads or writes the format.  The variable grows by some 8
 * bytes per connection: past the kernel's limit for one string (128 KiB,
 * about 15,000 connections) the exec fails with E2BIG and the caller
 * serves on.
 *
 * Threading: handover_exec() runs on the loop thread while no other thread
 * touches the descriptors (the server waits until no request is deferred).
 */
#ifndef KYEDNS_HANDOVER_H
#define KYEDNS_HANDOVER_H

#include <stddef.h>

#define HANDOVER_ENV "KYEDNS_BACKEND_HANDOVER"
#define HANDOVER_MAX_CONNS 1000000 /* as --max-conns */

typedef struct handover_conn {
	int fd;
	char *in;      /* unconsumed input; owned by the handover_t in
			  handover_take(), borrowed in handover_exec() */
	size_t in_len;
} handover_conn_t;

typedef struct handover {
	int listen_fd;          /* -1: none */
	int activated;          /* the listener came from systemd */
	int log_fd;             /* the log file; -1: stderr */
	unsigned nconns;
	handover_conn_t *conns;
	char err[256];          /* handover_take: what was dropped, "" if nothing */
} handover_t;

/*
 * Passes ho to a new image of the program: writes the input bytes to a
 * memfd, clears FD_CLOEXEC on ho's descriptors and that memfd, sets
 * HANDOVER_ENV and execs path with argv (then /proc/self/exe, the running
 * image, when path cannot be executed).  Returns only on failure: a
 * negative errno, with the environment and every FD_CLOEXEC as before.
 */
int handover_exec(const handover_t *ho, const char *path, char *const argv[]);

/*
 * Takes a handover from the environment at start-up and removes the
 * variable.  Returns 0 when there is none, 1 when *ho holds one (the caller
 * owns its descriptors and buffers; handover_free() releases them).  A
 * malformed part is dropped: descriptors that cannot be adopted (not open,
 * not a unix stream socket of the right kind, input that cannot be read
 * back) are closed and ho->err says what was dropped; everything else is
 * kept.  The listener is -1 when it was dropped.  Every kept descriptor is
 * FD_CLOEXEC again.  -ENOMEM when nothing could be kept.
 */
int handover_take(handover_t *ho);

/* Closes the descriptors ho still owns (those not set to -1) and frees its
 * buffers. */
void handover_free(handover_t *ho);

#endif
