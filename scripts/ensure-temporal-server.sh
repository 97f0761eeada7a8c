#!/usr/bin/env bash
# Builds the pinned Temporal server (all services in one process), temporal-sql-tool and the Temporal UI server
# into a cache outside the clone, reusing them when the version matches, and prints the cache folder (server, sql,
# ui/server, schema/, config/).
# Used by `npm run prod:local` and its test. Needs Go >= 1.25 and the Go module proxy (about 4 minutes, once).
set -euo pipefail
VERSION="${TEMPORAL_SERVER_VERSION:-v1.29.1}"
# The UI release the Temporal CLI v1.5.1 embeds (its go.mod), with its web assets in the module.
UI_VERSION="${TEMPORAL_UI_VERSION:-v2.42.1}"
CACHE="${TEMPORAL_SERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/temporal-server}"
DIR="$CACHE/$VERSION"
STAMP="$DIR/installed-version"
if [ -x "$DIR/server" ] && [ -x "$DIR/sql" ] && [ -x "$DIR/ui/server" ] && [ -d "$DIR/schema" ] &&
  [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION ui $UI_VERSION" ]; then
  echo "$DIR"
  exit 0
fi
command -v go >/dev/null || { echo "Go >= 1.25 is needed to build the Temporal server $VERSION" >&2; exit 1; }
mkdir -p "$DIR"
echo "Building the Temporal server $VERSION into $DIR (a few minutes, once)..." >&2
GOBIN="$DIR" go install "go.temporal.io/server/cmd/server@$VERSION" >&2
GOBIN="$DIR" go install "go.temporal.io/server/cmd/tools/sql@$VERSION" >&2
# Its binary is also called `server`: a folder of its own.
GOBIN="$DIR/ui" go install "github.com/temporalio/ui-server/v2/cmd/server@$UI_VERSION" >&2
# The schema and the sample configuration ship in the module, not in the binaries: keep a copy beside them.
MODULE="$(go env GOMODCACHE)/go.temporal.io/server@$VERSION"
rm -rf "$DIR/schema" "$DIR/config"
mkdir -p "$DIR/schema" "$DIR/config"
cp -r "$MODULE/schema/postgresql" "$DIR/schema/"
cp "$MODULE/config/development-postgres12.yaml" "$DIR/config/"
cp -r "$MODULE/config/dynamicconfig" "$DIR/config/"
chmod -R u+w "$DIR/schema" "$DIR/config"
echo "$VERSION ui $UI_VERSION" >"$STAMP"
echo "$DIR"
