/*
 * version - the one version source of KyedNS.
 *
 * Every program's --version, the man pages, the backend's getAllDomains-era
 * "version" answer, debian/changelog and the release tag take this string;
 * tests check that they agree.
 */
#ifndef KYEDNS_VERSION_H
#define KYEDNS_VERSION_H

#define KYEDNS_VERSION "0.2.0"

#endif
