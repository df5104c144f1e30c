#!/bin/sh
# Zone-transfer and query-throughput benchmark at scale; see README.md
# beside this file.  Arguments go to run.py (--sizes 1000,10000,100000,
# --backends pipe,unix,lmdb,bind, --skip-axfr, --skip-qps, --rounds N).
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
