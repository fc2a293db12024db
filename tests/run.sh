#!/bin/bash
# The whole test suite: installs what the tests need, then runs them.
# As root on Debian it installs the Debian packages the system and compatibility
# tests use (tests/debian-packages.txt); elsewhere those tests skip with a reason.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || exit 1
    # shellcheck disable=SC2046
    apt-get install -y -q --no-install-recommends $(grep -v '^#' tests/debian-packages.txt) >/dev/null || exit 1
fi
python3 -m pip install -q --root-user-action=ignore ".[test]" || exit 1

echo "== ruff (Python 3.9 syntax and lint)"
python3 -m ruff check --target-version py39 confrt modules tests bench || exit 1

echo "== pytest"
python3 -m pytest -q -ra -p no:cacheprovider "$@" tests
rc=$?
if [ "$rc" = 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$rc"
