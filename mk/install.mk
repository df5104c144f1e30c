# `make install` / `make uninstall`: included by the Makefile.
#
#   make install                      # into /usr/local, /etc
#   make install PREFIX=/usr          # distribution layout
#   make install DESTDIR=/tmp/stage   # staged (packaging): nothing is run
#
# Installs the three programs, the systemd units (ExecStart= rewritten to
# BINDIR), sysusers.d and tmpfiles.d entries, the pdns drop-in that orders
# pdns after the backend, the pdns.d snippets and /etc/default/kyedns.
# Configuration files that already exist are never overwritten.  Nothing is
# started, enabled or created outside DESTDIR: the steps after installing
# are printed at the end (and in README.md).

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
DATADIR     ?= $(PREFIX)/share/kyedns
DOCDIR      ?= $(PREFIX)/share/doc/kyedns
SYSCONFDIR  ?= /etc
# systemd searches /usr/local/lib/... as well as /usr/lib/... (and /etc).
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
PDNSDIR     ?= $(SYSCONFDIR)/powerdns/pdns.d
INSTALL     ?= install

INSTALL_BINS  := kyedns-backend kyedns-updater kyednsctl
INSTALL_UNITS := kyedns-backend.service kyedns-updater.service
# Installed into PDNSDIR (when absent); the primary snippet is optional and
# goes to DATADIR only, as do copies of all three.
INSTALL_PDNS  := 00-kyedns.conf kyedns-api.conf

.PHONY: install uninstall

# install_conf SRC DST MODE: installs SRC as DST unless DST exists.
define install_conf
	@if [ -e "$(2)" ]; then echo "keeping existing $(2)"; \
	else $(INSTALL) -D -m $(3) "$(1)" "$(2)" && echo "installed $(2)"; fi
endef

install: all
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
	$(INSTALL) -D -m 0644 systemd/pdns.service.d/kyedns.conf \
		"$(DESTDIR)$(SYSCONFDIR)/systemd/system/pdns.service.d/kyedns.conf"
	$(INSTALL) -d "$(DESTDIR)$(DATADIR)/pdns.d" "$(DESTDIR)$(DATADIR)/monitoring"
	$(INSTALL) -m 0644 pdns-conf/production/*.conf "$(DESTDIR)$(DATADIR)/pdns.d/"
	$(INSTALL) -m 0644 monitoring/prometheus.yml monitoring/grafana-dashboard.json \
		"$(DESTDIR)$(DATADIR)/monitoring/"
	$(INSTALL) -m 0755 monitoring/kyedns-backend-stats.sh "$(DESTDIR)$(DATADIR)/monitoring/"
	$(INSTALL) -D -m 0644 README.md "$(DESTDIR)$(DOCDIR)/README.md"
	$(INSTALL) -m 0644 monitoring/README.md "$(DESTDIR)$(DOCDIR)/monitoring.md"
	$(INSTALL) -m 0644 docs/secondaries.md "$(DESTDIR)$(DOCDIR)/secondaries.md"
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
	$(call install_conf,pdns-conf/production/kyedns-api.conf,$(DESTDIR)$(PDNSDIR)/kyedns-api.conf,0640)
	$(call install_conf,systemd/kyedns.default,$(DESTDIR)$(SYSCONFDIR)/default/kyedns,0600)
	@echo
	@echo "Installed.  Next steps (see $(DOCDIR)/README.md):"
	@echo "  systemd-sysusers kyedns.conf && systemd-tmpfiles --create kyedns.conf"
	@echo "  chgrp pdns $(PDNSDIR)/kyedns-api.conf; set api-key there and KYEDNS_PDNS_API_KEY in $(SYSCONFDIR)/default/kyedns"
	@echo "  sudo -u kyedns $(BINDIR)/kyednsctl zone add example.org --ns ns1.example.org --ns ns2.example.org --kind master"
	@echo "  systemctl daemon-reload && systemctl enable --now kyedns-backend kyedns-updater && systemctl restart pdns"

# Removes what install put in place, except configuration (pdns.d snippets,
# /etc/default/kyedns) and the store.
uninstall:
	rm -f $(addprefix "$(DESTDIR)$(BINDIR)"/,$(INSTALL_BINS))
	rm -f $(addprefix "$(DESTDIR)$(UNITDIR)"/,$(INSTALL_UNITS))
	rm -f "$(DESTDIR)$(SYSUSERSDIR)/kyedns.conf" "$(DESTDIR)$(TMPFILESDIR)/kyedns.conf"
	rm -f "$(DESTDIR)$(SYSCONFDIR)/systemd/system/pdns.service.d/kyedns.conf"
	rm -rf "$(DESTDIR)$(DATADIR)" "$(DESTDIR)$(DOCDIR)"
