// @ts-check
import assert from "node:assert/strict";
import { test } from "node:test";

import { generateAccountKey } from "../../static/js/crypto/accountkey.js";
import { IntegrityError, sealJson } from "../../static/js/crypto/aead.js";
import { concatBytes, fromBase64, toBase64, toHex, utf8 } from "../../static/js/crypto/encoding.js";
import {
  agreementSignedBytes,
  fingerprint,
  generateIdentity,
  openBundle,
  publicKeys,
  sealBundle,
  verifyAgreementKey,
} from "../../static/js/crypto/identity.js";
import { aadBundle } from "../../static/js/crypto/labels.js";

test("generateIdentity makes extractable Ed25519 and X25519 pairs", async () => {
  const { signing, agreement } = await generateIdentity();
  assert.equal(signing.privateKey.algorithm.name, "Ed25519");
  assert.equal(agreement.privateKey.algorithm.name, "X25519");
  assert.equal(signing.privateKey.extractable, true);
  assert.deepEqual(agreement.privateKey.usages, ["deriveBits"]);
});

test("publicKeys gives 32-byte keys and a 64-byte signature over the labelled agreement key", async () => {
  const identity = await generateIdentity();
  const pub = await publicKeys(identity);
  assert.equal(fromBase64(pub.signingPublicKey).length, 32);
  assert.equal(fromBase64(pub.agreementPublicKey).length, 32);
  assert.equal(fromBase64(pub.agreementSignature).length, 64);
  const signed = agreementSignedBytes(fromBase64(pub.agreementPublicKey));
  assert.deepEqual(signed, concatBytes(utf8("securechat/agreement-key/v1|"), fromBase64(pub.agreementPublicKey)));
  assert.ok(
    await crypto.subtle.verify("Ed25519", identity.signing.publicKey, fromBase64(pub.agreementSignature), signed),
  );
});

test("agreement signature verifies, and fails for another agreement key, signer, or tampering", async () => {
  const alice = await publicKeys(await generateIdentity());
  const mallory = await publicKeys(await generateIdentity());
  const { signingPublicKey: s, agreementPublicKey: a, agreementSignature: sig } = alice;
  assert.equal(await verifyAgreementKey(s, a, sig), true);
  assert.equal(await verifyAgreementKey(s, mallory.agreementPublicKey, sig), false);
  assert.equal(await verifyAgreementKey(mallory.signingPublicKey, a, sig), false);
  const flipped = fromBase64(sig);
  flipped[0] ^= 1;
  assert.equal(await verifyAgreementKey(s, a, toBase64(flipped)), false);
  assert.equal(await verifyAgreementKey(s, a, "garbage"), false);
  assert.equal(await verifyAgreementKey(s, toBase64(new Uint8Array(31)), sig), false);
});

test("fingerprint is 8 space-separated groups of 4 lower-case hex digits, stable per key", async () => {
  const { signingPublicKey } = await publicKeys(await generateIdentity());
  const fp = await fingerprint(signingPublicKey);
  assert.match(fp, /^[0-9a-f]{4}( [0-9a-f]{4}){7}$/);
  assert.equal(await fingerprint(signingPublicKey), fp);
  assert.notEqual(await fingerprint((await publicKeys(await generateIdentity())).signingPublicKey), fp);
  await assert.rejects(fingerprint(toBase64(new Uint8Array(16))), TypeError);
});

test("bundle round-trips: the opened signing key signs what the public key verifies", async () => {
  const accountKey = await generateAccountKey();
  const identity = await generateIdentity();
  const opened = await openBundle(accountKey, await sealBundle(accountKey, identity, "Alice"), "alice");
  const message = utf8("hello");
  const signature = await crypto.subtle.sign("Ed25519", opened.signingPrivateKey, message);
  assert.ok(await crypto.subtle.verify("Ed25519", identity.signing.publicKey, signature, message));
});

test("opened X25519 keys agree on the same secret between two identities", async () => {
  const accountKey = await generateAccountKey();
  const alice = await generateIdentity();
  const bob = await generateIdentity();
  const aliceKeys = await openBundle(accountKey, await sealBundle(accountKey, alice, "alice"), "alice");
  const bobKeys = await openBundle(accountKey, await sealBundle(accountKey, bob, "bob"), "bob");
  const ab = await crypto.subtle.deriveBits(
    { name: "X25519", public: bob.agreement.publicKey },
    aliceKeys.agreementPrivateKey,
    256,
  );
  const ba = await crypto.subtle.deriveBits(
    { name: "X25519", public: alice.agreement.publicKey },
    bobKeys.agreementPrivateKey,
    256,
  );
  assert.deepEqual(new Uint8Array(ab), new Uint8Array(ba));
});

test("opened private keys are non-extractable with minimal usages", async () => {
  const accountKey = await generateAccountKey();
  const opened = await openBundle(accountKey, await sealBundle(accountKey, await generateIdentity(), "alice"), "alice");
  assert.equal(opened.signingPrivateKey.extractable, false);
  assert.equal(opened.agreementPrivateKey.extractable, false);
  assert.deepEqual(opened.signingPrivateKey.usages, ["sign"]);
  assert.deepEqual(opened.agreementPrivateKey.usages, ["deriveBits"]);
  await assert.rejects(crypto.subtle.exportKey("pkcs8", opened.signingPrivateKey));
  await assert.rejects(crypto.subtle.exportKey("pkcs8", opened.agreementPrivateKey));
});

test("bundle plaintext is {v:1, signing, agreement} with PKCS#8 private keys", async () => {
  const accountKey = await generateAccountKey();
  const identity = await generateIdentity();
  const sealed = await sealBundle(accountKey, identity, "alice");
  const plain = JSON.parse(
    new TextDecoder().decode(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64(sealed.iv), additionalData: utf8("securechat/bundle/v1|alice") },
        accountKey,
        fromBase64(sealed.ciphertext),
      ),
    ),
  );
  assert.deepEqual(Object.keys(plain), ["v", "signing", "agreement"]);
  assert.equal(plain.v, 1);
  // RFC 8410 one-asymmetric-key prefixes followed by the 32-byte seed.
  assert.equal(toHex(fromBase64(plain.signing)).slice(0, 32), "302e020100300506032b657004220420");
  assert.equal(toHex(fromBase64(plain.agreement)).slice(0, 32), "302e020100300506032b656e04220420");
  assert.equal(fromBase64(plain.signing).length, 48);
  assert.equal(fromBase64(plain.agreement).length, 48);
});

test("openBundle throws IntegrityError for another user's name or the wrong account key", async () => {
  const accountKey = await generateAccountKey();
  const sealed = await sealBundle(accountKey, await generateIdentity(), "alice");
  await assert.rejects(openBundle(accountKey, sealed, "bob"), IntegrityError);
  await assert.rejects(openBundle(await generateAccountKey(), sealed, "alice"), IntegrityError);
});

test("openBundle refuses an authentic bundle of an unknown version", async () => {
  const accountKey = await generateAccountKey();
  const sealed = await sealJson(accountKey, { v: 2, signing: "", agreement: "" }, aadBundle("alice"));
  await assert.rejects(openBundle(accountKey, sealed, "alice"), /unsupported key bundle version 2/);
});
