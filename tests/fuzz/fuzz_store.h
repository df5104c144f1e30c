/*
 * fuzz_store - the small store the harnesses of tests/fuzz run against.
 *
 * fuzz_store_template() builds, once per process, a store in a temporary
 * directory holding the zones of tests/unit/test_rb.c, with the same ids
 * so its cases' requests make good seeds: example.com. (id 1, master; NS,
 * MX, A, AAAA, TXT, CNAME, a wildcard, delegations with glue and DS, a
 * dyndns host dyn.example.com.), sub.example.com. (2), other.test. (3,
 * slave) and w.test. (4, with a host h.w.test.).  Both hosts' token is
 * FUZZ_TOKEN.  fuzz_store_fresh() copies that template into a scratch
 * directory and opens the copy, so every input starts from the same state
 * (an input that writes does not change what the next one sees, and a
 * crash reproduces from its input alone).  Both directories are removed at
 * exit.  Failures abort: a harness without its store must not pass.
 */
#ifndef KYEDNS_FUZZ_STORE_H
#define KYEDNS_FUZZ_STORE_H

#include "store.h"

#define FUZZ_TOKEN "fuzz-token-0123456789abcdef"

/* Opens a fresh copy of the template store (flags as store_open; the
 * template is built on the first call).  The caller store_close()s it. */
store_t *fuzz_store_fresh(unsigned flags);

#endif
