#!/usr/bin/env bash
# Vendors markdown-it's single-file browser ES module from the npm registry into static/vendor/markdown-it/.
#
#   scripts/vendor-update.sh 15.0.3     # or: make vendor MARKDOWN_IT_VERSION=15.0.3
#
# Each tarball (markdown-it and the packages its browser build bundles, for their licences) is fetched with
# `npm pack`, and its sha512 must equal the registry's recorded integrity; for the version already pinned in
# static/vendor/markdown-it/VERSION it must also equal the pinned one. Re-running it for the pinned version
# and finding no `git diff` is how to check the vendored files against the registry.
set -euo pipefail

VERSION="${1:?usage: scripts/vendor-update.sh VERSION (e.g. 15.0.3)}"
cd "$(dirname "$0")/.."
DEST=static/vendor/markdown-it
# Bundled into dist/browser/markdown-it.esm.min.mjs (argparse is the command line's only).
BUNDLED=(entities linkify-it mdurl punycode.js uc.micro)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# pinned KEY: the value recorded in the current VERSION file, if any.
pinned() { [ -f "$DEST/VERSION" ] && sed -n "s/^$1: //p" "$DEST/VERSION" || true; }

# fetch NAME@SPEC: packs the tarball into $work, checks it, prints "version integrity tarball-path".
fetch() {
  local spec="$1" version integrity file actual
  version="$(npm view "$spec" version --json | tail -n 1 | tr -d '"[] ')"
  integrity="$(npm view "${spec%@*}@$version" dist.integrity)"
  file="$(cd "$work" && npm pack --silent "${spec%@*}@$version" | tail -n 1)"
  actual="sha512-$(openssl dgst -sha512 -binary "$work/$file" | base64 -w 0)"
  if [ "$actual" != "$integrity" ]; then
    echo "vendor: ${spec%@*}@$version: tarball sha512 $actual differs from the registry's $integrity" >&2
    exit 1
  fi
  echo "$version $integrity $work/$file"
}

read -r version integrity tarball < <(fetch "markdown-it@$VERSION")
if [ "$version" = "$(pinned version)" ] && [ "$integrity" != "$(pinned integrity)" ]; then
  echo "vendor: markdown-it@$version now has integrity $integrity, pinned $(pinned integrity): refusing" >&2
  exit 1
fi
mkdir -p "$work/markdown-it"
tar -xzf "$tarball" -C "$work/markdown-it"
package="$work/markdown-it/package"

mkdir -p "$DEST"
# Renamed to .js (served as JavaScript, hashed like the other modules), without its last line, the
# sourceMappingURL comment: the map is not shipped, and the static files' post-processing requires it.
grep -v '^//# sourceMappingURL=' "$package/dist/browser/markdown-it.esm.min.mjs" >"$DEST/markdown-it.js"
cp "$package/LICENSE" "$DEST/LICENSE"

{
  echo "# Licences of the packages bundled into markdown-it.js, as published on the npm registry."
  for name in "${BUNDLED[@]}"; do
    range="$(node -e 'const p = require(process.argv[1]); console.log(p.dependencies[process.argv[2]])' \
      "$package/package.json" "$name")"
    read -r dep_version dep_integrity dep_tarball < <(fetch "$name@$range")
    mkdir -p "$work/$name"
    tar -xzf "$dep_tarball" -C "$work/$name"
    licence="$(find "$work/$name/package" -maxdepth 1 -iname 'LICEN[CS]E*' | head -n 1)"
    echo
    echo "## $name $dep_version ($dep_integrity)"
    echo
    cat "$licence"
  done
} >"$DEST/LICENSES-bundled.txt"

cat >"$DEST/VERSION" <<EOF
name: markdown-it
version: $version
source: $(npm view "markdown-it@$version" dist.tarball)
integrity: $integrity
file: dist/browser/markdown-it.esm.min.mjs, saved as markdown-it.js without its sourceMappingURL line
sha256: $(sha256sum "$DEST/markdown-it.js" | cut -d ' ' -f 1)
update: scripts/vendor-update.sh VERSION (or make vendor MARKDOWN_IT_VERSION=VERSION)
EOF

echo "vendor: markdown-it $version ($integrity) in $DEST; review with: git diff --stat $DEST"
