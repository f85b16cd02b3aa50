#!/usr/bin/env bash
# Installs the Debian 12 packages weft needs to build, test and benchmark, if any is missing.
# Idempotent: does nothing when everything is present. Uses apt-get as root, sudo otherwise.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtbb-dev      # oneTBB: the work-stealing scheduler
  libboost-dev    # Boost.Asio (header-only), for the cluster transport
  libfmt-dev      # formatting of messages and logs
  doctest-dev     # unit tests
  libbenchmark-dev  # Google Benchmark
  libcereal-dev   # serialization
  libssl-dev      # HMAC for the cluster handshake, TLS, weft tls certificates
  libcli11-dev    # the weft command-line tool
  clang-14 libfuzzer-14-dev  # the fuzz harnesses (tests/fuzz/, the fuzz preset)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo)
else
  echo "install-deps: need root to install: ${missing[*]}" >&2
  echo "  run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
"${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
