#!/usr/bin/env bash
# Installs the pinned Temporal CLI (dev server) into a cache outside the clone, reusing it when the version
# matches, and prints its path. Used by `npm run dev`, the tests and .ci/run.
set -euo pipefail
VERSION="${TEMPORAL_CLI_VERSION:-v1.5.1}"
CACHE="${TEMPORAL_CLI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/temporal-cli}"
BIN="$CACHE/$VERSION/temporal"
STAMP="$CACHE/$VERSION/installed-version"
# `go install` builds report version 0.0.0-DEV, so the pin is recorded in a stamp file next to the binary.
if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ] && "$BIN" --version >/dev/null 2>&1; then
  echo "$BIN"
  exit 0
fi
mkdir -p "$CACHE/$VERSION"
if command -v go >/dev/null; then
  echo "Building the Temporal CLI $VERSION into $CACHE/$VERSION (a few minutes, once)..." >&2
  GOBIN="$CACHE/$VERSION" go install "github.com/temporalio/cli/cmd/temporal@$VERSION" >&2
else
  # No Go: the official release archive for this platform.
  os=$(uname -s | tr '[:upper:]' '[:lower:]')
  arch=$(uname -m); case "$arch" in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; esac
  echo "Downloading the Temporal CLI $VERSION for $os/$arch..." >&2
  curl -fsSL "https://temporal.download/cli/archive/${VERSION#v}?platform=$os&arch=$arch" -o "$CACHE/$VERSION/cli.tar.gz" >&2 ||
    { echo "Could not download the Temporal CLI; install Go >= 1.25 and run again" >&2; exit 1; }
  tar -xzf "$CACHE/$VERSION/cli.tar.gz" -C "$CACHE/$VERSION" temporal && rm -f "$CACHE/$VERSION/cli.tar.gz"
fi
"$BIN" --version >&2
echo "$VERSION" >"$STAMP"
echo "$BIN"
