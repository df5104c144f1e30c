/*
 * check.h - the tiny assertion kit of the unit tests.  Each test program
 * counts checks, prints "file:line: what (error string)" for each failure,
 * and ends with "NAME: N passed, N failed"; its exit status is 1 if
 * anything failed.  tests/unit/run.sh adds the programs' counts up.
 */
#ifndef KYEDNS_CHECK_H
#define KYEDNS_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static int check_passed, check_failed;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (cond) {                                                           \
			check_passed++;                                               \
		} else {                                                              \
			check_failed++;                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
		}                                                                     \
	} while (0)

/* Expects an int result equal to want; prints both as error strings. */
#define CHECK_RC(expr, want)                                                          \
	do {                                                                          \
		int rc_ = (expr), want_ = (want);                                     \
		if (rc_ == want_) {                                                   \
			check_passed++;                                               \
		} else {                                                              \
			check_failed++;                                               \
			fprintf(stderr, "%s:%d: %s = %d (%s), want %d (%s)\n", __FILE__,  \
				__LINE__, #expr, rc_, err_str(rc_), want_, err_str(want_)); \
		}                                                                     \
	} while (0)

#define CHECK_OK(expr) CHECK_RC(expr, 0)

#define CHECK_STR(got, want)                                                          \
	do {                                                                          \
		const char *g_ = (got), *w_ = (want);                                 \
		if (g_ && w_ && strcmp(g_, w_) == 0) {                                \
			check_passed++;                                               \
		} else {                                                              \
			check_failed++;                                               \
			fprintf(stderr, "%s:%d: %s = \"%s\", want \"%s\"\n", __FILE__,     \
				__LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");    \
		}                                                                     \
	} while (0)

static inline int check_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
