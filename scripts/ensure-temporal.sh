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
command -v go >/dev/null || { echo "Go is needed to build the Temporal CLI ($VERSION); install Go >= 1.25" >&2; exit 1; }
echo "Building the Temporal CLI $VERSION into $CACHE/$VERSION (a few minutes, once)..." >&2
mkdir -p "$CACHE/$VERSION"
GOBIN="$CACHE/$VERSION" go install "github.com/temporalio/cli/cmd/temporal@$VERSION" >&2
"$BIN" --version >&2
echo "$VERSION" >"$STAMP"
echo "$BIN"
