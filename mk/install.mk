# `make install` / `make uninstall`: included by the Makefile.
#
#   make install                      # into /usr/local, /etc
#   make install PREFIX=/usr          # distribution layout
#   make install DESTDIR=/tmp/stage   # staged (packaging): nothing is run
#
# Installs the three programs, their man pages, the systemd units
# (ExecStart= rewritten to BINDIR), sysusers.d and tmpfiles.d entries, the
# pdns drop-in that orders pdns after the backend, the pdns.d snippets and
# /etc/default/kyedns.  It is two steps:
#   install-files  programs, man pages, units, sysusers/tmpfiles, DATADIR
#                  (copies of the pdns.d snippets and the pdns drop-in,
#                  monitoring), DOCDIR; nothing under SYSCONFDIR.  The
#                  Debian package (debian/rules) uses this step only.
#   install-conf   the configuration that switches KyedNS on in pdns: the
#                  drop-in under /etc/systemd/system, the pdns.d snippets,
#                  the API key, /etc/default/kyedns.
# Configuration files that already exist are never overwritten; an existing
# one whose pdns API key is the placeholder CHANGE-ME makes install fail.  Nothing is
# started, enabled or created outside DESTDIR: the steps after installing
# are printed at the end (and in README.md).

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
DATADIR     ?= $(PREFIX)/share/kyedns
DOCDIR      ?= $(PREFIX)/share/doc/kyedns
MANDIR      ?= $(PREFIX)/share/man
SYSCONFDIR  ?= /etc
# systemd searches /usr/local/lib/... as well as /usr/lib/... (and /etc).
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
PDNSDIR     ?= $(SYSCONFDIR)/powerdns/pdns.d
DROPINDIR   ?= $(SYSCONFDIR)/systemd/system/pdns.service.d
INSTALL     ?= install
# A fresh kyedns-api.conf and /etc/default/kyedns get one new random pdns API
# key (the same in both).  Not when staging for a package (DESTDIR set): a
# key baked into a package would be the same on every machine; the staged
# api-key stays empty, so pdns refuses every API request until it is set.
GENERATE_API_KEY ?= $(if $(DESTDIR),no,yes)

INSTALL_BINS  := kyedns-backend kyedns-updater kyednsctl
# Every unit in systemd/ (services and sockets).
INSTALL_UNITS := $(notdir $(wildcard systemd/*.service systemd/*.socket))
# Installed into PDNSDIR (when absent); the primary snippet is optional and
# goes to DATADIR only, as do copies of all three.
INSTALL_PDNS  := 00-kyedns.conf kyedns-api.conf

.PHONY: install install-files install-conf uninstall

# install_conf SRC DST MODE: installs SRC as DST unless DST exists.
define install_conf
	@if [ -e "$(2)" ]; then echo "keeping existing $(2)"; \
	else $(INSTALL) -D -m $(3) "$(1)" "$(2)" && echo "installed $(2)"; fi
endef

install: install-files install-conf

install-files: all man
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)"
	$(INSTALL) -m 0755 $(addprefix $(B)/,$(INSTALL_BINS)) "$(DESTDIR)$(BINDIR)/"
	$(INSTALL) -d "$(DESTDIR)$(UNITDIR)"
	for u in $(INSTALL_UNITS); do \
		sed -e 's|/usr/local/bin/|$(BINDIR)/|g' \
		    -e 's|/usr/local/share/doc/kyedns/|$(DOCDIR)/|g' \
		    systemd/$$u > "$(DESTDIR)$(UNITDIR)/$$u" && \
		chmod 0644 "$(DESTDIR)$(UNITDIR)/$$u" || exit 1; \
	done
	$(INSTALL) -D -m 0644 systemd/kyedns.sysusers.conf "$(DESTDIR)$(SYSUSERSDIR)/kyedns.conf"
	$(INSTALL) -D -m 0644 systemd/kyedns.tmpfiles.conf "$(DESTDIR)$(TMPFILESDIR)/kyedns.conf"
	$(INSTALL) -d "$(DESTDIR)$(DATADIR)/pdns.d" "$(DESTDIR)$(DATADIR)/monitoring" \
		"$(DESTDIR)$(DATADIR)/systemd/pdns.service.d"
	@# kyedns-pipe.conf names the program pdns runs: rewritten to BINDIR too
	for f in pdns-conf/production/*.conf; do \
		sed -e 's|/usr/local/bin/|$(BINDIR)/|g' "$$f" > "$(DESTDIR)$(DATADIR)/pdns.d/$${f##*/}" && \
		chmod 0644 "$(DESTDIR)$(DATADIR)/pdns.d/$${f##*/}" || exit 1; \
	done
	$(INSTALL) -m 0644 systemd/pdns.service.d/*.conf "$(DESTDIR)$(DATADIR)/systemd/pdns.service.d/"
	$(INSTALL) -m 0644 monitoring/prometheus.yml monitoring/grafana-dashboard.json \
		"$(DESTDIR)$(DATADIR)/monitoring/"
	$(INSTALL) -m 0755 monitoring/kyedns-backend-stats.sh "$(DESTDIR)$(DATADIR)/monitoring/"
	$(INSTALL) -D -m 0644 README.md "$(DESTDIR)$(DOCDIR)/README.md"
	$(INSTALL) -m 0644 CHANGELOG.md LICENSE "$(DESTDIR)$(DOCDIR)/"
	$(INSTALL) -m 0644 monitoring/README.md "$(DESTDIR)$(DOCDIR)/monitoring.md"
	$(INSTALL) -m 0644 docs/*.md "$(DESTDIR)$(DOCDIR)/"
	$(INSTALL) -d "$(DESTDIR)$(MANDIR)/man8"
	$(INSTALL) -m 0644 $(MAN_PAGES) "$(DESTDIR)$(MANDIR)/man8/"

install-conf: install-files
	$(INSTALL) -D -m 0644 systemd/pdns.service.d/kyedns.conf "$(DESTDIR)$(DROPINDIR)/kyedns.conf"
	@# Before schema 2 the snippet was kyedns.conf, which sorts after Debian's
	@# bind.conf (pdns reads pdns.d in name order, and the first launched
	@# backend answers at a zone cut).  Installing 00-kyedns.conf beside it
	@# would launch the remote backend twice, so an old one is left alone.
	@if [ -e "$(DESTDIR)$(PDNSDIR)/kyedns.conf" ]; then \
		echo "warning: $(PDNSDIR)/kyedns.conf is from an older KyedNS; rename it to 00-kyedns.conf" \
		     "so that KyedNS is launched before bind.conf, and compare it with $(DATADIR)/pdns.d/00-kyedns.conf"; \
	else \
		if [ -e "$(DESTDIR)$(PDNSDIR)/00-kyedns.conf" ]; then echo "keeping existing $(PDNSDIR)/00-kyedns.conf"; \
		else $(INSTALL) -D -m 0644 pdns-conf/production/00-kyedns.conf "$(DESTDIR)$(PDNSDIR)/00-kyedns.conf" && \
		     echo "installed $(PDNSDIR)/00-kyedns.conf"; fi; \
	fi
	@api="$(DESTDIR)$(PDNSDIR)/kyedns-api.conf"; def="$(DESTDIR)$(SYSCONFDIR)/default/kyedns"; \
	placeholder='^[[:space:]]*api-key[[:space:]]*=[[:space:]]*CHANGE-ME[[:space:]]*$$'; \
	if [ -e "$$api" ] && grep -Eq "$$placeholder" "$$api"; then \
		echo "error: $$api has api-key=CHANGE-ME, a published placeholder; set a random key there" \
		     "and in KYEDNS_PDNS_API_KEY of $(SYSCONFDIR)/default/kyedns (see the comment above api-key)" >&2; \
		exit 1; fi; \
	key=; [ ! -e "$$def" ] || key=$$(sed -n 's/^[[:space:]]*KYEDNS_PDNS_API_KEY=//p' "$$def" | tail -n 1 | tr -d "\"'"); \
	if [ "$$key" = CHANGE-ME ]; then \
		echo "error: $$def has KYEDNS_PDNS_API_KEY=CHANGE-ME, a published placeholder; set a random key" >&2; exit 1; fi; \
	if [ -e "$$api" ]; then \
		key=$$(sed -n 's/^[[:space:]]*api-key[[:space:]]*=[[:space:]]*//p' "$$api" | tail -n 1); \
		case "$$key" in '$$'*) key= ;; esac; \
	else case "$(GENERATE_API_KEY)" in yes) [ -n "$$key" ] || \
		key=$$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n') ;; *) key= ;; esac; fi; \
	umask 077; \
	if [ -e "$$api" ]; then echo "keeping existing $(PDNSDIR)/kyedns-api.conf"; \
	else sed -e "s/^api-key=$$/api-key=$$key/" pdns-conf/production/kyedns-api.conf > "$$api.tmp" && \
		chmod 0640 "$$api.tmp" && mv "$$api.tmp" "$$api" && \
		echo "installed $(PDNSDIR)/kyedns-api.conf$${key:+ (with a new random api-key)}" || exit 1; fi; \
	if [ -e "$$def" ]; then echo "keeping existing $(SYSCONFDIR)/default/kyedns"; \
	else $(INSTALL) -d "$$(dirname "$$def")" && \
		sed -e "$${key:+s/^#KYEDNS_PDNS_API_KEY=$$/KYEDNS_PDNS_API_KEY=$$key/}" systemd/kyedns.default > "$$def.tmp" && \
		chmod 0600 "$$def.tmp" && mv "$$def.tmp" "$$def" && \
		echo "installed $(SYSCONFDIR)/default/kyedns$${key:+ (with the same api key)}" || exit 1; fi
	@echo
	@echo "Installed.  Next steps (see $(DOCDIR)/README.md):"
	@echo "  systemd-sysusers kyedns.conf && systemd-tmpfiles --create kyedns.conf"
	@echo "  chgrp pdns $(PDNSDIR)/kyedns-api.conf (its api-key must equal KYEDNS_PDNS_API_KEY in $(SYSCONFDIR)/default/kyedns; set both if empty)"
	@echo "  sudo -u kyedns $(BINDIR)/kyednsctl zone add example.org --ns ns1.example.org --ns ns2.example.org --kind master"
	@echo "  systemctl daemon-reload && systemctl enable --now $(patsubst %.service,%,$(INSTALL_UNITS)) && systemctl restart pdns"

# Removes what install put in place, except configuration (pdns.d snippets,
# /etc/default/kyedns) and the store.
uninstall:
	rm -f $(addprefix "$(DESTDIR)$(BINDIR)"/,$(INSTALL_BINS))
	rm -f $(addprefix "$(DESTDIR)$(UNITDIR)"/,$(INSTALL_UNITS))
	rm -f "$(DESTDIR)$(SYSUSERSDIR)/kyedns.conf" "$(DESTDIR)$(TMPFILESDIR)/kyedns.conf"
	rm -f "$(DESTDIR)$(DROPINDIR)/kyedns.conf"
	rm -f $(addprefix "$(DESTDIR)$(MANDIR)/man8"/,$(notdir $(MAN_PAGES)))
	rm -rf "$(DESTDIR)$(DATADIR)" "$(DESTDIR)$(DOCDIR)"
