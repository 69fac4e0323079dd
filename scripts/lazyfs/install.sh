#!/usr/bin/env bash
# Prepares this machine for scripts/lazyfs/reproduce.mjs (Debian/Ubuntu, as root or with sudo):
#   - the system packages LazyFS needs to build and run (FUSE 3, CMake, g++),
#   - the pinned libraries under test, in a scratch folder (never crashlab's dependencies),
#   - a check that a LazyFS binary is there and that /dev/fuse is usable.
# Idempotent: each step is skipped when already done.
#
# It does NOT fetch or build LazyFS itself: this repository carries no recipe that builds
# third-party code (see docs/real-crashes.md, "Getting LazyFS"). Build LazyFS by its own README
# (https://github.com/dsrhaslab/lazyfs, tested here at commit a47a5baea559020f29902662de77764b0cbd62ce),
# then point CRASHLAB_LAZYFS_BIN at the `lazyfs` binary, or leave it at one of the places
# reproduce.mjs looks: $CRASHLAB_LAZYFS_DIR/bin/lazyfs, $CRASHLAB_LAZYFS_DIR/src/lazyfs/build/lazyfs,
# $CRASHLAB_LAZYFS_DIR/lazyfs/build/lazyfs.
#
# Environment: CRASHLAB_LAZYFS_DIR (default ~/.cache/crashlab/lazyfs), CRASHLAB_LAZYFS_BIN,
# CRASHLAB_LAZYFS_LIBS (default $CRASHLAB_LAZYFS_DIR/libs).
set -euo pipefail

DIR="${CRASHLAB_LAZYFS_DIR:-$HOME/.cache/crashlab/lazyfs}"
LIBS="${CRASHLAB_LAZYFS_LIBS:-$DIR/libs}"
LIBRARIES=(lowdb@7.0.1 write-file-atomic@7.0.1 @seald-io/nedb@4.1.2)
PACKAGES=(libfuse3-dev fuse3 cmake g++ pkg-config git)

say() { printf 'install.sh: %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# 1. System packages.
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
else
  say "system packages present (${PACKAGES[*]})"
fi

# 2. The libraries under test, pinned, in their own folder.
mkdir -p "$DIR" "$LIBS"
if [ -f "$LIBS/node_modules/lowdb/package.json" ] && [ -f "$LIBS/node_modules/write-file-atomic/package.json" ] \
   && [ -f "$LIBS/node_modules/@seald-io/nedb/package.json" ]; then
  say "libraries present in $LIBS"
else
  say "npm install --prefix $LIBS ${LIBRARIES[*]}"
  npm install --prefix "$LIBS" --no-audit --no-fund "${LIBRARIES[@]}"
fi

# 3. FUSE and LazyFS.
[ -e /dev/fuse ] || { say "/dev/fuse is missing: FUSE cannot mount here (in a container: --device /dev/fuse --cap-add SYS_ADMIN)"; exit 1; }
command -v fusermount3 >/dev/null || { say "fusermount3 is missing (package fuse3)"; exit 1; }
if [ "$(id -u)" -ne 0 ] && ! grep -qs '^user_allow_other' /etc/fuse.conf; then
  say "note: reproduce.mjs mounts with -o allow_other; as a non-root user add 'user_allow_other' to /etc/fuse.conf"
fi

BIN="${CRASHLAB_LAZYFS_BIN:-}"
if [ -z "$BIN" ]; then
  for candidate in "$DIR/bin/lazyfs" "$DIR/src/lazyfs/build/lazyfs" "$DIR/lazyfs/build/lazyfs"; do
    if [ -x "$candidate" ]; then BIN="$candidate"; break; fi
  done
fi
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  say "no LazyFS binary found. Build LazyFS from https://github.com/dsrhaslab/lazyfs by its README"
  say "(commit a47a5baea559020f29902662de77764b0cbd62ce was the one tested),"
  say "then set CRASHLAB_LAZYFS_BIN=/path/to/lazyfs/build/lazyfs or put the binary at $DIR/bin/lazyfs."
  exit 1
fi
if ldd "$BIN" | grep -q 'not found'; then
  say "$BIN is missing shared libraries:"; ldd "$BIN" | grep 'not found'; exit 1
fi
say "LazyFS binary: $BIN"
say "ready: node scripts/lazyfs/reproduce.mjs lowdb-empty"
