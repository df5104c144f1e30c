#!/bin/sh
# Topology benchmark (primary + pdns-lmdb and NSD secondaries, TSIG): update
# lag and transfer volume under load; see README.md beside this file.
# Arguments go to run.py (--hosts 10000,100000 --rate 100 --duration 60
# --nmi 0,10,30 --xfr-cycle 1,60 --mode unix|pipe --timeout-ms N --json FILE).
# Each configuration holds flock(/tmp/kyedns-bench.lock) while it runs.
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
