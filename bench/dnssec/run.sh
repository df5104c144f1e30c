#!/bin/sh
# Signed-zone benchmark; see README.md beside this file.  Arguments go to
# run.py (--seconds N, --hosts N, --rounds N, --modes unsigned,nsec,nsec3, --updates N).
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
