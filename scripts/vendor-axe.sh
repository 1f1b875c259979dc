#!/bin/sh
# Vendors axe-core for the browser tests (tests/vendor/axe-core/): axe.min.js, its licences and a VERSION note.
# Test-only: tests/ is not a static directory, so nothing here is ever served to users.
#
#   scripts/vendor-axe.sh            # the latest 4.x
#   scripts/vendor-axe.sh 4.14.1     # an exact version
#
# npm pack checks the tarball against the registry's integrity before it is unpacked.
set -eu

range="${1:-4}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/tests/vendor/axe-core"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One version prints as a string, several as an array in semver order: the last is the newest.
version="$(npm view "axe-core@$range" version --json | node -e '
  const v = JSON.parse(require("fs").readFileSync(0, "utf8"));
  console.log(Array.isArray(v) ? v.at(-1) : v);
')"
case "$version" in
  4.*) ;;
  *) echo "axe-core@$range resolved to '$version', not a 4.x release" >&2; exit 1 ;;
esac

(cd "$work" && npm pack "axe-core@$version" --json --silent > pack.json)
integrity="$(sed -n 's/.*"integrity": *"\([^"]*\)".*/\1/p' "$work/pack.json" | head -n 1)"
[ -n "$integrity" ] || { echo "npm pack gave no integrity for axe-core@$version" >&2; exit 1; }
tar -xzf "$work/axe-core-$version.tgz" -C "$work" package/axe.min.js package/LICENSE package/LICENSE-3RD-PARTY.txt

mkdir -p "$dest"
cp "$work/package/axe.min.js" "$work/package/LICENSE" "$work/package/LICENSE-3RD-PARTY.txt" "$dest/"
cat > "$dest/VERSION" <<EOF
axe-core $version (npm), vendored for the browser tests only; never served to users.
integrity: $integrity
axe.min.js sha256: $(sha256sum "$dest/axe.min.js" | cut -d' ' -f1)
update: scripts/vendor-axe.sh [version]   (default: the latest 4.x)
EOF
echo "axe-core $version -> $dest"
