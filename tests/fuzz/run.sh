#!/bin/sh
# Runs each libFuzzer harness for FUZZ_SECONDS (default 60): run.sh BUILDDIR
# NAME...  Seeds are written from the test data into BUILDDIR/seeds; what a
# run finds new is kept in BUILDDIR/corpus/NAME, so local runs build on
# each other.  A crash, a failed assertion, a leak, a sanitizer report or
# an input slower than 10 s is saved as BUILDDIR/crashes/NAME-* and the
# script exits 1 after running the rest.  Reproduce one with
#   BUILDDIR/fuzz_NAME BUILDDIR/crashes/NAME-<hash>
set -u
dir=$1
shift
secs=${FUZZ_SECONDS:-60}
here=$(dirname "$0")
rm -rf "$dir/seeds"
python3 "$here/seeds.py" "$dir/seeds" "$here/../.." || exit 1
mkdir -p "$dir/crashes"
fail=0
for name in "$@"; do
	case $name in
	updater) max=16384 ;;
	backend) max=16384 ;;
	*) max=1024 ;;
	esac
	mkdir -p "$dir/corpus/$name"
	log="$dir/fuzz_$name.log"
	echo "fuzz $name: ${secs}s"
	"$dir/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len="$max" -print_final_stats=1 -artifact_prefix="$dir/crashes/$name-" \
		"$dir/corpus/$name" "$dir/seeds/$name" >"$log" 2>&1
	rc=$?
	grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log"
	if [ $rc -ne 0 ]; then
		echo "fuzz $name: FAILED (exit $rc); the report:"
		grep -vE '^(INFO|#[0-9])' "$log" | tail -40
		fail=1
	fi
done
exit $fail
