#!/bin/sh
# kyedns-backend benchmark; see README.md beside this file.  Arguments go
# to run.py (--seconds N, --sizes 1000,100000,1000000, --skip-raw, --skip-pdns).
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
