#!/usr/bin/env bash
# Fetches AWS's DynamoDB Local 1.25.1 from the npm package that ships it
# (amplify-dynamodb-simulator@2.9.30), checks the tarball's checksum and
# unpacks it into a cache outside the checkout. Idempotent.
set -euo pipefail
PKG=amplify-dynamodb-simulator@2.9.30
SHA256=3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9
CACHE="${CLIENTELE_CACHE:-$HOME/.cache/clientele}"
DEST="$CACHE/dynamodb-local-1.25.1"
if [ -f "$DEST/DynamoDBLocal.jar" ]; then exit 0; fi
command -v npm >/dev/null || { echo "npm is required to fetch DynamoDB Local (install Node.js 22+)" >&2; exit 1; }
command -v java >/dev/null || { echo "java 11+ is required to run DynamoDB Local (e.g. apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
mkdir -p "$CACHE"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "fetching DynamoDB Local via npm pack $PKG" >&2
(cd "$TMP" && npm pack --silent "$PKG" >/dev/null 2>&1)
TGZ="$(ls "$TMP"/*.tgz)"
GOT="$(sha256sum "$TGZ" | cut -d' ' -f1)"
if [ "$GOT" != "$SHA256" ]; then echo "checksum mismatch for $PKG: got $GOT want $SHA256" >&2; exit 1; fi
tar -xzf "$TGZ" -C "$TMP" package/emulator
rm -rf "$DEST.tmp" && mv "$TMP/package/emulator" "$DEST.tmp" && mv "$DEST.tmp" "$DEST"
echo "DynamoDB Local unpacked into $DEST" >&2
