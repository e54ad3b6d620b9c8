#!/usr/bin/env bash
# The README's first command: installs what is needed, starts a local
# NFS-Ganesha with sample files, walks through the nfs4 commands, stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh --system
exec .tools/bin/deno run -A scripts/demo.ts "$@"
