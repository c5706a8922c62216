#!/usr/bin/env bash
# Installs the peers `rosetta bench ann --baseline hnswlib,faiss` runs:
# Debian's python3-hnswlib and python3-faiss (for /usr/bin/python3; the
# pyenv python first on PATH does not see Debian's packages). Safe to run
# again.
set -euo pipefail
if /usr/bin/python3 -c 'import hnswlib, faiss, numpy' >/dev/null 2>&1; then exit 0; fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-hnswlib python3-faiss >/dev/null 2>&1 ||
  { $sudo apt-get update >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-hnswlib python3-faiss >/dev/null; }
/usr/bin/python3 -c 'import hnswlib, faiss, numpy'
