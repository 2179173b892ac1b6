#!/bin/sh
# Runs the libFuzzer harnesses built by `make fuzz-build` (see tests/fuzz/README.md).
#
#   run.sh fuzz NAME...     fuzz each harness for FUZZ_SECONDS on its corpus; print
#                           executions, coverage and crashes per harness
#   run.sh replay NAME...   run every committed corpus and regression input once
#   run.sh merge NAME...    add what `fuzz` found with new coverage to tests/fuzz/corpus
#
# Environment: FUZZ_BUILD (build-fuzz), FUZZ_SECONDS (300), FUZZ_JOBS (1: harnesses
# run at once).  Exits non-zero when any harness crashed.
set -u

FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
FUZZ_JOBS=${FUZZ_JOBS:-1}
HERE=tests/fuzz
export FUZZ_BUILD FUZZ_SECONDS FUZZ_JOBS

# Sanitizer reports with stacks; a finding stops the run (the build has -fno-sanitize-recover).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# libFuzzer options per harness: -max_len fits what the parser sees in real life,
# kept small enough for speed; a dictionary of the format's words where one helps.
opts() {
	case $1 in
	exo_page)  echo "-max_len=65536 -dict=$HERE/dict/json.dict" ;;
	exo_error) echo "-max_len=16384 -dict=$HERE/dict/json.dict" ;;
	exo_body)  echo "-max_len=16384 -dict=$HERE/dict/json.dict" ;;
	oauth)     echo "-max_len=8192 -dict=$HERE/dict/json.dict" ;;
	mi)        echo "-max_len=8192 -dict=$HERE/dict/json.dict" ;;
	jwt)       echo "-max_len=16384" ;;
	cert)      echo "-max_len=8192 -timeout=60" ;;
	conf)      echo "-max_len=8192 -dict=$HERE/dict/conf.dict" ;;
	cache)     echo "-max_len=8192 -dict=$HERE/dict/json.dict" ;;
	params)    echo "-max_len=4096 -dict=$HERE/dict/params.dict" ;;
	binder)    echo "-max_len=4096 -dict=$HERE/dict/binder.dict" ;;
	conn)      echo "-max_len=65536 -dict=$HERE/dict/json.dict" ;;
	output)    echo "-max_len=16384 -dict=$HERE/dict/json.dict" ;;
	wire)      echo "-max_len=65536 -dict=$HERE/dict/json.dict" ;;
	server)    echo "-max_len=65536 -dict=$HERE/dict/json.dict" ;;
	device)    echo "-max_len=8192 -dict=$HERE/dict/json.dict" ;;
	jtree)     echo "-max_len=65536 -dict=$HERE/dict/json.dict" ;;
	http)      echo "-max_len=4096" ;;
	region)    echo "-max_len=2048" ;;
	cluster)   echo "-max_len=4096" ;;
	shell)     echo "-max_len=4096 -dict=$HERE/dict/params.dict" ;;
	redirect)  echo "-max_len=16384 -dict=$HERE/dict/redirect.dict" ;;
	*)         echo "-max_len=8192" ;;
	esac
}

# Regular files of a directory, one per line (none when it is missing).
inputs() {
	[ -d "$1" ] && find "$1" -type f ! -name '.*' ! -name 'README*' | LC_ALL=C sort
}

fuzz_one() {
	name=$1
	bin=$FUZZ_BUILD/fuzz/fuzz_$name
	work=$FUZZ_BUILD/work/$name
	crashes=$FUZZ_BUILD/crashes/$name
	mkdir -p "$work/corpus" "$crashes"
	: > "$work/started"
	seeds="$HERE/corpus/$name"
	[ -d "$HERE/regressions/$name" ] && seeds="$seeds $HERE/regressions/$name"
	# New inputs go to the first directory only: the scratch corpus, never the committed one.
	# shellcheck disable=SC2046,SC2086
	"$bin" -timeout=30 $(opts "$name") -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$crashes/" \
		"$work/corpus" $seeds > "$work/fuzz.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
	stats=$(grep -E '^#[0-9]+[[:space:]]' "$work/fuzz.log" | grep 'cov: ' | tail -n 1)
	cov=$(echo "$stats" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$stats" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$stats" | sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p')
	found=$(find "$crashes" -type f -newer "$work/started" ! -name 'slow-unit-*' | LC_ALL=C sort | tr '\n' ' ')
	if [ "$rc" -eq 0 ] && [ -z "$found" ]; then
		result="crashes: 0"
	else
		result="crashes: ${found:-none saved, exit $rc} (log: $work/fuzz.log)"
	fi
	printf '%-10s executions: %-10s cov: %-6s ft: %-7s corpus: %-12s %s\n' "$name" \
		"${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result" > "$work/summary"
	[ "$rc" -eq 0 ] && [ -z "$found" ]
}

replay_one() {
	name=$1
	bin=$FUZZ_BUILD/fuzz/fuzz_$name
	work=$FUZZ_BUILD/work/$name
	mkdir -p "$work"
	files=$(inputs "$HERE/corpus/$name"; inputs "$HERE/regressions/$name")
	n=$(printf '%s\n' "$files" | grep -c .)
	if [ "$n" -eq 0 ]; then
		echo "$name: no inputs in $HERE/corpus/$name" > "$work/summary"
		return 1
	fi
	# Files given one by one are run once each, whole, without mutation.
	# shellcheck disable=SC2046,SC2086
	printf '%s\n' "$files" | tr '\n' '\0' | xargs -0 "$bin" $(opts "$name" | sed 's/-max_len=[0-9]*//') \
		-rss_limit_mb=2048 -timeout=60 > "$work/replay.log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "$name: $n inputs replayed, 0 crashes" > "$work/summary"
	else
		bad=$(grep -E '^Running: ' "$work/replay.log" | tail -n 1 | sed 's/^Running: //')
		echo "$name: CRASH on ${bad:-?} (exit $rc; log: $work/replay.log)" > "$work/summary"
		tail -n 40 "$work/replay.log" >&2
	fi
	echo "$n" > "$work/count"
	[ "$rc" -eq 0 ]
}

merge_one() {
	name=$1
	bin=$FUZZ_BUILD/fuzz/fuzz_$name
	work=$FUZZ_BUILD/work/$name
	mkdir -p "$work/corpus"
	before=$(inputs "$HERE/corpus/$name" | grep -c .)
	# shellcheck disable=SC2046
	"$bin" $(opts "$name") -merge=1 "$HERE/corpus/$name" "$work/corpus" > "$work/merge.log" 2>&1
	rc=$?
	after=$(inputs "$HERE/corpus/$name" | grep -c .)
	echo "$name: $before -> $after inputs in $HERE/corpus/$name (review, then git add)" > "$work/summary"
	[ "$rc" -eq 0 ]
}

# One harness, for xargs: run.sh _one MODE NAME.
if [ "${1:-}" = _one ]; then
	"${2}_one" "$3"
	exit $?
fi

mode=${1:-}
[ $# -ge 1 ] && shift
case $mode in
fuzz|replay|merge) ;;
*) echo "usage: $0 fuzz|replay|merge NAME..." >&2; exit 2 ;;
esac
if [ $# -eq 0 ]; then
	echo "$0: no harness named" >&2
	exit 2
fi
for name in "$@"; do
	if [ ! -x "$FUZZ_BUILD/fuzz/fuzz_$name" ]; then
		echo "$0: $FUZZ_BUILD/fuzz/fuzz_$name is not built (make fuzz-build)" >&2
		exit 2
	fi
	rm -f "$FUZZ_BUILD/work/$name/summary" "$FUZZ_BUILD/work/$name/count"
done
[ "$mode" = fuzz ] && echo "fuzzing $# harnesses for ${FUZZ_SECONDS}s each, $FUZZ_JOBS at a time"

printf '%s\n' "$@" | xargs -P "$FUZZ_JOBS" -I{} sh "$0" _one "$mode" {}
status=$?

failed=0
passed=0
total=0
for name in "$@"; do
	if [ -f "$FUZZ_BUILD/work/$name/summary" ]; then
		cat "$FUZZ_BUILD/work/$name/summary"
	else
		echo "$name: no result (the harness did not run)"
	fi
	if [ "$mode" = replay ]; then
		n=$(cat "$FUZZ_BUILD/work/$name/count" 2>/dev/null || echo 0)
		total=$((total + n))
		if grep -q ', 0 crashes$' "$FUZZ_BUILD/work/$name/summary" 2>/dev/null; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
	fi
done
if [ "$mode" = replay ]; then
	echo "fuzz-replay: $total inputs over $# harnesses"
	echo "fuzz-replay: $passed passed, $failed failed"
fi
[ "$mode" = fuzz ] && [ $status -ne 0 ] && echo "crash inputs are kept in $FUZZ_BUILD/crashes/NAME/; see tests/fuzz/README.md"
exit $status
