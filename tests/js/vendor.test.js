// @ts-check
// The vendored markdown-it is the file scripts/vendor-update.sh wrote: its VERSION record names the version, the
// registry's integrity for the tarball it came from, and the sha256 of the file, which a hand edit would change.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const dir = new URL("../../static/vendor/markdown-it/", import.meta.url);
const record = Object.fromEntries(
  readFileSync(new URL("VERSION", dir), "utf8")
    .trim()
    .split("\n")
    .map((line) => /** @type {[string, string]} */ (line.split(/: (.*)/s).slice(0, 2))),
);

test("the vendored markdown-it is the file its VERSION record describes", () => {
  const file = readFileSync(new URL("markdown-it.js", dir));
  assert.equal(createHash("sha256").update(file).digest("hex"), record.sha256);
  assert.match(file.toString("utf8").split("\n", 1)[0], new RegExp(`^/\\*! markdown-it ${record.version} `));
  assert.equal(record.source, `https://registry.npmjs.org/markdown-it/-/markdown-it-${record.version}.tgz`);
  assert.match(record.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/);
});

test("the vendored markdown-it carries its licence and those of the code bundled into it", () => {
  assert.match(readFileSync(new URL("LICENSE", dir), "utf8"), /Vitaly Puzrin/);
  const bundled = readFileSync(new URL("LICENSES-bundled.txt", dir), "utf8");
  for (const name of ["entities", "linkify-it", "mdurl", "punycode.js", "uc.micro"]) {
    assert.match(bundled, new RegExp(`^## ${name.replace(".", "\\.")} \\d`, "m"), name);
  }
});
