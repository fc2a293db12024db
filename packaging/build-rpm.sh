#!/bin/bash
# Build the confrt noarch RPM and SRPM with rpmbuild.
#
# usage: packaging/build-rpm.sh [--topdir DIR] [--ref GIT_REF]
#   --topdir DIR   rpmbuild tree to use (default: ./build/rpm); the RPM lands in DIR/RPMS/noarch
#   --ref REF      package a git commit (git archive) instead of the work tree as it is
#
# Source0 is the tree (or REF) as confrt-VERSION/; Source1 holds the vendored
# dependencies (deepmerge, typing_extensions) copied from $PYTHON (default python3),
# see packaging/vendor.py and the comment at the top of confrt.spec. On a host whose
# rpm database does not own the build tools (Debian, CI), BuildRequires are not checked.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
topdir=$PWD/build/rpm
ref=
while [ $# -gt 0 ]; do
    case "$1" in
        --topdir) topdir=$(realpath -m "$2"); shift 2 ;;
        --ref) ref=$2; shift 2 ;;
        *) echo "build-rpm.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
command -v rpmbuild >/dev/null || { echo "build-rpm.sh: rpmbuild not found (install rpm-build, or Debian's rpm)" >&2; exit 1; }

version=$(sed -n 's/^Version: *//p' packaging/confrt.spec)
code_version=$("$PYTHON" -c 'import sys; sys.path.insert(0, "."); import confrt; print(confrt.__version__)')
if [ "$version" != "$code_version" ]; then
    echo "build-rpm.sh: confrt.spec Version $version differs from confrt.__version__ $code_version" >&2
    exit 1
fi

mkdir -p "$topdir"/{BUILD,RPMS,SOURCES,SPECS,SRPMS}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

tarball=$topdir/SOURCES/confrt-$version.tar.gz
if [ -n "$ref" ]; then
    git archive --format=tar.gz --prefix="confrt-$version/" -o "$tarball" "$ref"
else
    tar -czf "$tarball" --exclude-vcs --exclude=__pycache__ --exclude='*.pyc' \
        --exclude='*.egg-info' --exclude=./build --exclude=./dist --exclude=./.pytest_cache \
        --exclude=./.hypothesis --exclude=./.benchmarks --exclude=./bench/results \
        --transform="s,^\.,confrt-$version," .
fi

defines=()
while read -r name dist_version; do
    defines+=(--define "${name}_version $dist_version")
done < <("$PYTHON" packaging/vendor.py "$stage/vendor" deepmerge typing_extensions)
tar -czf "$topdir/SOURCES/confrt-vendor-$version.tar.gz" -C "$stage/vendor" .
cp packaging/confrt.spec "$topdir/SPECS/"

nodeps=()
rpm -q rpm >/dev/null 2>&1 || nodeps=(--nodeps)
rpmbuild -ba --define "_topdir $topdir" "${defines[@]}" "${nodeps[@]}" "$topdir/SPECS/confrt.spec"
ls "$topdir"/RPMS/noarch/confrt-"$version"-*.noarch.rpm
