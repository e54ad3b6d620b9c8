#!/usr/bin/env bash
# Installs everything nfs4 needs on a fresh Debian machine with Node and npm:
#   - Deno, from the npm package `deno` (JSR, deno.land and Deno's download
#     server are unreachable here), into .tools/ with .tools/bin/deno;
#   - the project's npm dependencies (deno install, from deno.lock);
#   - Bun, from the npm package `bun`, into .tools/bun (the single binary is
#     built with it, and the tests of its socket backends run in it);
#   - with --system (and root): NFS-Ganesha (VFS and MEM FSALs), libnfs-utils
#     (the peer we compare with) and tshark, from Debian.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
DENO_VERSION=2.9.6

if [ ! -x .tools/bin/deno ] || ! .tools/bin/deno --version 2>/dev/null | grep -q "deno $DENO_VERSION"; then
  echo "install: deno $DENO_VERSION from npm" >&2
  mkdir -p .tools/bin
  npm install --silent --no-audit --no-fund --prefix .tools/npm "deno@$DENO_VERSION" >&2
  # The npm package ships the real binary in a per-platform optional package.
  real=$(find .tools/npm/node_modules/@deno -maxdepth 2 -name deno -type f | head -n 1)
  [ -n "$real" ] || real=.tools/npm/node_modules/deno/deno
  ln -sf "$PWD/$real" .tools/bin/deno
fi

if [ "${1:-}" = "--system" ]; then
  need=()
  command -v ganesha.nfsd >/dev/null || need+=(nfs-ganesha nfs-ganesha-vfs nfs-ganesha-mem)
  [ -e /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so ] || [ -n "$(find /usr/lib -name 'libfsalvfs.so' 2>/dev/null | head -n1)" ] || need+=(nfs-ganesha-vfs)
  [ -n "$(find /usr/lib -name 'libfsalmem.so' 2>/dev/null | head -n1)" ] || need+=(nfs-ganesha-mem)
  command -v nfs-ls >/dev/null || need+=(libnfs-utils)
  command -v tshark >/dev/null || need+=(tshark)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "install: need root to apt-get install ${need[*]}" >&2
      exit 1
    fi
    echo "install: apt-get install ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq >&2
    apt-get install -y -qq "${need[@]}" >&2
  fi
fi

.tools/bin/deno install --frozen >&2 2>/dev/null || .tools/bin/deno install >&2
.tools/bin/deno run -A scripts/build.ts --bun-only >&2
