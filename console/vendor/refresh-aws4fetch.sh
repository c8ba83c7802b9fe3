#!/usr/bin/env bash
# Refreshes the console's vendored SigV4 signer from npm: aws4fetch's own ESM build, copied
# unchanged (its MIT licence header stays at the top of the file), with the package's LICENSE
# beside it and the version in aws4fetch.VERSION.
#
#   console/vendor/refresh-aws4fetch.sh            # the version in aws4fetch.VERSION
#   console/vendor/refresh-aws4fetch.sh 1.0.21     # another version
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="${1:-$(cat "$HERE/aws4fetch.VERSION")}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "aws4fetch@$VERSION" >/dev/null && tar xzf "aws4fetch-$VERSION.tgz")
head -n 3 "$TMP/package/dist/aws4fetch.esm.mjs" | grep -q '@license MIT' \
  || { echo "aws4fetch $VERSION: no MIT licence header in dist/aws4fetch.esm.mjs" >&2; exit 1; }
cp "$TMP/package/dist/aws4fetch.esm.mjs" "$HERE/aws4fetch.esm.mjs"
cp "$TMP/package/LICENSE" "$HERE/aws4fetch.LICENSE"
echo "$VERSION" >"$HERE/aws4fetch.VERSION"
echo "aws4fetch $VERSION: $(sha256sum "$HERE/aws4fetch.esm.mjs" | cut -d' ' -f1)"
