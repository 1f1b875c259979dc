// @ts-check
// The account flows of docs/ACCOUNTS.md: crypto in the browser, the API, and the key store.
// Only derived values ever reach the server; the password and the recovery key stay in this tab.

import {
  aadAccountKeyByPassword,
  aadAccountKeyByRecovery,
  deriveAuthKey,
  deriveMasterKey,
  deriveRecoveryAuth,
  deriveRecoveryWrapKey,
  deriveWrapKey,
  fingerprint,
  formatRecoveryKey,
  fromBase64,
  generateAccountKey,
  generateIdentity,
  IntegrityError,
  newRecoveryKey,
  openBundle,
  parseRecoveryKey,
  PBKDF2_ITERATIONS,
  publicKeys,
  randomBytes,
  SALT_BYTES,
  sealBundle,
  toBase64,
  unwrapAccountKey,
  usernameSalt,
  verifyAgreementKey,
  wrapAccountKey,
} from "../crypto/index.js";
import { ApiError, getJson, postJson } from "../net/api.js";
import { Pins, TrustStoreError } from "../trust/pins.js";
import * as keystore from "./keystore.js";
import { USERNAME_PATTERN } from "./username.js";

export const KDF_ALGORITHM = "PBKDF2-SHA256";
// The server's upper bound; more would only freeze the tab.
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
export { USERNAME_PATTERN };
export const MIN_PASSWORD_LENGTH = 10;

const subtle = globalThis.crypto.subtle;

/**
 * @typedef {(step: number, total: number, label: string) => void} OnProgress
 * @typedef {{algorithm: string, salt: string, iterations: number}} Kdf
 * @typedef {{iv: string, ciphertext: string}} Sealed
 * @typedef {import("./keystore.js").PublicIdentity & {kdf: Kdf, key_bundle: Sealed,
 *            account_key_by_password: Sealed}} OwnIdentity
 */

/** A failure of a flow that the user should read as it is; `field` names the input at fault. */
export class AccountError extends Error {
  /**
   * @param {string} message
   * @param {{field?: string, cause?: unknown}} [options]
   */
  constructor(message, { field, cause } = {}) {
    super(message, { cause });
    this.name = "AccountError";
    this.field = field ?? null;
  }
}

/** The server asked for KDF parameters that would let it brute-force the password. */
export class KdfRefusedError extends AccountError {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "KdfRefusedError";
  }
}

/** What the server returned does not belong to this account: keys, blobs or name. */
export class KeyMismatchError extends AccountError {
  /** @param {string} message @param {{cause?: unknown}} [options] */
  constructor(message, options) {
    super(message, options);
    this.name = "KeyMismatchError";
  }
}

// --- checks shared with the pages -------------------------------------------------------------

/**
 * @param {string} username
 * @returns {string | null} a message, or null when the server would accept the name
 */
export function usernameProblem(username) {
  if (username.length < 3 || username.length > 32) return "Username must be 3 to 32 characters long.";
  if (!USERNAME_PATTERN.test(username)) {
    return "Username may contain only letters, digits, and the characters _ . -";
  }
  return null;
}

/**
 * @param {string} password
 * @returns {string | null}
 */
export function passwordProblem(password) {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) {
    return `Password must be at least ${MIN_PASSWORD_LENGTH} characters long (it has ${length}).`;
  }
  return null;
}

/**
 * Refuses parameters a hostile server could use to make the auth key cheap to brute-force.
 * @param {Kdf} kdf as returned by the server
 * @returns {{salt: Uint8Array, iterations: number}}
 * @throws {KdfRefusedError}
 */
export function checkKdf(kdf) {
  const refuse = (/** @type {string} */ why) =>
    new KdfRefusedError(`Refusing to log in: ${why} Nothing derived from your password was sent.`);
  if (!kdf || kdf.algorithm !== KDF_ALGORITHM) {
    throw refuse(`the server asked for password hashing "${kdf?.algorithm}" instead of ${KDF_ALGORITHM}.`);
  }
  if (!Number.isInteger(kdf.iterations) || kdf.iterations < PBKDF2_ITERATIONS) {
    throw refuse(`the server asked for ${kdf.iterations} PBKDF2 iterations, fewer than ${PBKDF2_ITERATIONS}.`);
  }
  if (kdf.iterations > MAX_PBKDF2_ITERATIONS) {
    throw refuse(`the server asked for ${kdf.iterations} PBKDF2 iterations, more than ${MAX_PBKDF2_ITERATIONS}.`);
  }
  let salt;
  try {
    salt = fromBase64(kdf.salt);
  } catch {
    throw refuse("the server sent a salt that is not valid base64.");
  }
  if (salt.length !== SALT_BYTES) throw refuse(`the server sent a ${salt.length}-byte salt, not ${SALT_BYTES}.`);
  return { salt, iterations: kdf.iterations };
}

/**
 * The KDF settings this browser derives a password with: its own salt, from the username.
 * @param {string} username
 * @returns {Promise<Kdf>}
 */
async function ownKdf(username) {
  return { algorithm: KDF_ALGORITHM, salt: toBase64(await usernameSalt(username)), iterations: PBKDF2_ITERATIONS };
}

// Usernames whose accounts this browser has seen on the username salt: for them, a salt of the server's choosing is
// refused rather than taken for one from before (docs/ACCOUNTS.md, "The password's salt").
const OWN_SALT_SEEN = "securechat.own-salt";

/** @param {string} username */
function ownSaltSeen(username) {
  return (localStorage.getItem(OWN_SALT_SEEN) ?? "").split(" ").includes(username.toLowerCase());
}

/** @param {string} username */
function rememberOwnSalt(username) {
  if (ownSaltSeen(username)) return;
  const known = (localStorage.getItem(OWN_SALT_SEEN) ?? "").split(" ").filter(Boolean);
  localStorage.setItem(OWN_SALT_SEEN, [...known, username.toLowerCase()].join(" "));
}

// --- flows -------------------------------------------------------------------------------------

/**
 * Every key of a fresh identity, made here; what the server gets is public keys and sealed blobs.
 * @param {string} username the owner, for the associated data of every sealed blob
 * @param {string} password
 * @param {OnProgress} onProgress steps 1 to 3 of 4
 */
async function makeIdentity(username, password, onProgress) {
  const total = 4;
  onProgress(1, total, "Deriving keys from your password…");
  const kdf = await ownKdf(username);
  const derived = await derivePasswordKeys(password, kdf);

  onProgress(2, total, "Generating identity keys…");
  const identity = await generateIdentity();
  const published = await publicKeys(identity);
  const accountKey = await generateAccountKey();
  const recovery = newRecoveryKey();

  onProgress(3, total, "Sealing your keys…");
  const keyBundle = await sealBundle(accountKey, identity, username);
  const byPassword = await wrapAccountKey(derived.wrapKey, accountKey, aadAccountKeyByPassword(username));
  const byRecovery = await wrapAccountKey(
    await deriveRecoveryWrapKey(recovery),
    accountKey,
    aadAccountKeyByRecovery(username),
  );
  const recoveryAuth = await deriveRecoveryAuth(recovery);
  const body = {
    kdf,
    auth_key: toBase64(derived.authKey),
    signing_public_key: published.signingPublicKey,
    agreement_public_key: published.agreementPublicKey,
    agreement_signature: published.agreementSignature,
    key_bundle: keyBundle,
    account_key_by_password: byPassword,
    account_key_by_recovery: byRecovery,
    recovery_auth: toBase64(recoveryAuth),
  };
  return { body, wrapKey: derived.wrapKey, accountKey, recoveryKey: formatRecoveryKey(recovery) };
}

/**
 * Creates the account: all keys are made here, the server gets public keys and sealed blobs. Then its trust store,
 * which from now on must always be there (a missing one is the server's doing).
 * @param {{username: string, password: string, onProgress?: OnProgress}} options
 * @returns {Promise<{user: OwnIdentity, recoveryKey: string}>} recoveryKey formatted for display
 */
export async function signUp({ username, password, onProgress = () => {} }) {
  const made = await makeIdentity(username, password, onProgress);
  onProgress(4, 4, "Creating account…");
  const { user } = await postJson("/api/accounts/signup", { username, ...made.body });
  // Open what the server stored, as a log-in would: proves the round trip and stores
  // non-extractable copies instead of the extractable keys generated above.
  await openSession(user, made.wrapKey, username);
  rememberOwnSalt(username);
  await Pins.create({ accountKey: made.accountKey, username: user.username, ownerId: user.id, keyVersion: user.key_version });
  return { user, recoveryKey: made.recoveryKey };
}

/**
 * Replaces every key of the signed-in account (after a device or key was lost or stolen), for whoever proves they
 * hold the password or the recovery key: a new password, a new recovery key, new identity keys. Old messages become
 * unreadable. The pins this browser can open go on, sealed under the new account key.
 * @param {{username: string, proof: {password?: string, recoveryKey?: string}, newPassword: string,
 *          startEmpty?: boolean, onProgress?: OnProgress}} options `startEmpty`: the user chose to forget every pin
 *   (their trust store is lost); otherwise a store that cannot be opened stops the reset
 * @returns {Promise<{user: OwnIdentity, recoveryKey: string, pinsKept: boolean}>}
 */
export async function resetIdentity({ username, proof, newPassword, startEmpty = false, onProgress = () => {} }) {
  onProgress(1, 5, "Checking your current password or recovery key…");
  const { user: me } = await getJson("/api/accounts/me");
  const proven = await resetProof(proof, me);
  const pins = await currentPins(me, startEmpty);
  const made = await makeIdentity(username, newPassword, (step, _total, label) => onProgress(step + 1, 5, label));
  onProgress(5, 5, "Replacing your keys…");
  const owner = {
    id: pins.ownerId,
    username: me.username,
    signing_public_key: made.body.signing_public_key,
    agreement_public_key: made.body.agreement_public_key,
    agreement_signature: made.body.agreement_signature,
    key_version: me.key_version + 1,
  };
  const trustStore = await pins.sealedFor(made.accountKey, { owner });
  const { user } = await postJson("/api/accounts/reset", { ...made.body, ...proven, trust_store: trustStore });
  await keystore.wipe();
  await openSession(user, made.wrapKey, username);
  return { user, recoveryKey: made.recoveryKey, pinsKept: !startEmpty };
}

/**
 * The proof a reset needs, derived here with the username's salt (never the salt the server serves with `me`).
 * @param {{password?: string, recoveryKey?: string}} proof
 * @param {OwnIdentity & {id: number}} me
 * @returns {Promise<{current_auth_key: string} | {current_recovery_auth: string}>}
 */
async function resetProof(proof, me) {
  if (proof.password) {
    const kdf = { ...(await ownKdf(me.username)), iterations: checkKdf(me.kdf).iterations };
    return { current_auth_key: toBase64((await derivePasswordKeys(proof.password, kdf)).authKey) };
  }
  if (!proof.recoveryKey) {
    throw new AccountError("Enter your current password or your recovery key.", { field: "current_auth_key" });
  }
  try {
    return { current_recovery_auth: toBase64(await deriveRecoveryAuth(parseRecoveryKey(proof.recoveryKey))) };
  } catch (error) {
    throw new AccountError(error instanceof Error ? error.message : String(error), { field: "current_recovery_auth" });
  }
}

/**
 * The account's pins as this browser opens them, to carry over the reset. A store that cannot be used stops the
 * reset (sealing an empty one would silently forget every pin, everywhere), unless the user chose to start empty.
 * @param {OwnIdentity & {id: number}} me
 * @param {boolean} startEmpty
 * @returns {Promise<Pins>}
 */
async function currentPins(me, startEmpty) {
  const keys = await keystore.load();
  if (!keys) throw new AccountError("This browser does not hold your keys. Log out and log in again, then reset.");
  // The id kept with the keys since log-in, not the one the server answers with now.
  const options = {
    accountKey: keys.accountKey,
    username: me.username,
    ownerId: keys.identity.id ?? me.id,
    keyVersion: keys.identity.key_version,
  };
  if (startEmpty) return new Pins(options);
  try {
    return await Pins.load(options);
  } catch (error) {
    if (!(error instanceof TrustStoreError)) throw error;
    throw new AccountError(
      `${error.message} Nothing was changed. If your trust store is truly lost, tick "Start with no trusted keys".`,
      { field: "start-empty", cause: error },
    );
  }
}

/**
 * @param {{username: string, password: string, onProgress?: OnProgress}} options
 * @returns {Promise<OwnIdentity>}
 */
export async function logIn({ username, password, onProgress = () => {} }) {
  const total = 4;
  onProgress(1, total, "Fetching your password settings…");
  const { kdf: served } = await postJson("/api/accounts/prelogin", { username });
  checkKdf(served);
  const own = await ownKdf(username);
  // Another salt than the username's is an account from before it, or the server's trick: refused where this
  // browser has seen the account on its own salt, else used once to move the account to it.
  const before = served.salt !== own.salt;
  if (before && ownSaltSeen(username)) {
    throw new KdfRefusedError(
      "Refusing to log in: the server asked for a password salt of its own choosing, for an account that uses the " +
        "one made from its username. Nothing derived from your password was sent.",
    );
  }
  const kdf = before ? served : { ...own, iterations: served.iterations };

  onProgress(2, total, "Deriving keys from your password…");
  const derived = await derivePasswordKeys(password, kdf);

  onProgress(3, total, "Logging in…");
  const { user } = await postJson("/api/accounts/login", { username, auth_key: toBase64(derived.authKey) });

  onProgress(4, total, "Opening your keys…");
  if (before) return moveToOwnSalt(user, username, password, derived, onProgress);
  rememberOwnSalt(username);
  return openSession(user, derived.wrapKey, username);
}

/**
 * An account from before the username salt, just logged in: its account key is wrapped again under keys from the
 * same password and the username salt, as a password change does; nothing else changes, nothing becomes unreadable.
 * @param {OwnIdentity} user
 * @param {string} typed the username as typed at log-in
 * @param {string} password
 * @param {{authKey: Uint8Array, wrapKey: CryptoKey}} old
 * @param {OnProgress} onProgress
 * @returns {Promise<OwnIdentity>}
 */
async function moveToOwnSalt(user, typed, password, old, onProgress) {
  onProgress(4, 4, "Updating your password settings…");
  const username = checkOwner(user?.username, typed);
  let accountKey;
  try {
    accountKey = await unwrapAccountKey(old.wrapKey, user.account_key_by_password, aadAccountKeyByPassword(username), {
      extractable: true,
    });
  } catch (error) {
    if (!(error instanceof IntegrityError)) throw error;
    throw new KeyMismatchError("Your keys could not be opened: the server sent data that does not authenticate.", {
      cause: error,
    });
  }
  return savePassword({ username, accountKey, currentAuthKey: old.authKey, password });
}

/**
 * The end of a password change, and of a move to the username salt: the account key wrapped again under keys from
 * `password` and the username salt, saved, and this browser's session opened with them.
 * @param {{username: string, accountKey: CryptoKey, currentAuthKey: Uint8Array, password: string,
 *   step?: (label: string) => void}} change `accountKey` extractable; `step` reports progress
 * @returns {Promise<OwnIdentity>}
 */
async function savePassword({ username, accountKey, currentAuthKey, password, step = () => {} }) {
  step("Deriving keys from the new password…");
  const kdf = await ownKdf(username);
  const next = await derivePasswordKeys(password, kdf);
  step("Re-wrapping your account key…");
  const byPassword = await wrapAccountKey(next.wrapKey, accountKey, aadAccountKeyByPassword(username));
  step("Saving…");
  const { user } = await postJson("/api/accounts/password", {
    current_auth_key: toBase64(currentAuthKey),
    auth_key: toBase64(next.authKey),
    kdf,
    account_key_by_password: byPassword,
  });
  rememberOwnSalt(username);
  return openSession(user, next.wrapKey, username);
}

/**
 * Re-wraps only the account key under a key from the new password; identity keys stay as they are.
 * @param {{currentPassword: string, newPassword: string, onProgress?: OnProgress}} options
 * @returns {Promise<OwnIdentity>}
 */
export async function changePassword({ currentPassword, newPassword, onProgress = () => {} }) {
  const total = 4;
  onProgress(1, total, "Checking your current password…");
  const { user: me } = await getJson("/api/accounts/me");
  checkKdf(me.kdf);
  const current = await derivePasswordKeys(currentPassword, me.kdf);
  let accountKey;
  try {
    // Extractable for this operation only, so it can be wrapped again below.
    accountKey = await unwrapAccountKey(current.wrapKey, me.account_key_by_password, aadAccountKeyByPassword(me.username), {
      extractable: true,
    });
  } catch (error) {
    if (error instanceof IntegrityError) {
      throw new AccountError("Your current password is wrong.", { field: "current_auth_key", cause: error });
    }
    throw error;
  }

  let done = 1;
  const step = (/** @type {string} */ label) => onProgress(++done, total, label);
  return savePassword({ username: me.username, accountKey, currentAuthKey: current.authKey, password: newPassword, step });
}

/**
 * Sets a new password with the recovery key, then signs in.
 * @param {{username: string, recoveryKey: string, newPassword: string, onProgress?: OnProgress}} options
 *   recoveryKey as the user typed it
 * @returns {Promise<OwnIdentity>}
 */
export async function recoverAccount({ username, recoveryKey, newPassword, onProgress = () => {} }) {
  const total = 4;
  let recovery;
  try {
    recovery = parseRecoveryKey(recoveryKey);
  } catch (error) {
    throw new AccountError(error instanceof Error ? error.message : String(error), { field: "recovery_key" });
  }

  onProgress(1, total, "Checking your recovery key…");
  const recoveryAuth = toBase64(await deriveRecoveryAuth(recovery));
  const begun = await postJson("/api/accounts/recover/begin", { username, recovery_auth: recoveryAuth });
  const canonical = checkOwner(begun.username, username);
  let accountKey;
  try {
    accountKey = await unwrapAccountKey(
      await deriveRecoveryWrapKey(recovery),
      begun.account_key_by_recovery,
      aadAccountKeyByRecovery(canonical),
      { extractable: true },
    );
  } catch (error) {
    if (error instanceof IntegrityError) {
      throw new KeyMismatchError(
        "The server's copy of your account key does not open with this recovery key. Nothing was changed.",
        { cause: error },
      );
    }
    throw error;
  }

  onProgress(2, total, "Deriving keys from the new password…");
  const kdf = await ownKdf(canonical);
  const next = await derivePasswordKeys(newPassword, kdf);

  onProgress(3, total, "Re-wrapping your account key…");
  const byPassword = await wrapAccountKey(next.wrapKey, accountKey, aadAccountKeyByPassword(canonical));

  onProgress(4, total, "Saving and signing in…");
  const { user } = await postJson("/api/accounts/recover/finish", {
    username: canonical,
    recovery_auth: recoveryAuth,
    auth_key: toBase64(next.authKey),
    kdf,
    account_key_by_password: byPassword,
  });
  rememberOwnSalt(canonical);
  return openSession(user, next.wrapKey, canonical);
}

/**
 * Keys first: even if the server cannot be reached, nothing usable stays in this browser.
 * @returns {Promise<void>}
 */
export async function logOut() {
  await keystore.wipe();
  await postJson("/api/accounts/logout");
}

// --- helpers -----------------------------------------------------------------------------------

/**
 * @param {string} password
 * @param {Kdf} kdf
 * @returns {Promise<{authKey: Uint8Array, wrapKey: CryptoKey}>}
 */
async function derivePasswordKeys(password, kdf) {
  const { salt, iterations } = checkKdf(kdf);
  const master = await deriveMasterKey(password, salt, iterations);
  return { authKey: await deriveAuthKey(master), wrapKey: await deriveWrapKey(master) };
}

/**
 * @param {unknown} returned the username in the server's answer
 * @param {string} expected the name this flow is for
 * @returns {string} the server's spelling
 */
function checkOwner(returned, expected) {
  if (typeof returned !== "string" || returned.toLowerCase() !== expected.toLowerCase()) {
    throw new KeyMismatchError(
      `The server answered for the account "${returned}" instead of "${expected}". Nothing was stored.`,
    );
  }
  return returned;
}

/**
 * Unwraps the account key, opens the bundle, checks the private keys against the public keys the
 * server returned, and keeps them (non-extractable) in the key store.
 * @param {OwnIdentity} user
 * @param {CryptoKey} wrapKey from the password
 * @param {string} username the name this flow is for
 * @returns {Promise<OwnIdentity>}
 */
async function openSession(user, wrapKey, username) {
  try {
    const canonical = checkOwner(user?.username, username);
    let keys;
    try {
      const accountKey = await unwrapAccountKey(wrapKey, user.account_key_by_password, aadAccountKeyByPassword(canonical));
      keys = { accountKey, ...(await openBundle(accountKey, user.key_bundle, canonical)) };
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      throw new KeyMismatchError(
        "Your keys could not be opened: the server sent data that does not authenticate for this account. " +
          "Nothing was stored.",
        { cause: error },
      );
    }
    await checkKeysMatch(keys, user);
    await keystore.save({ username: canonical, ...keys, identity: user });
    return user;
  } catch (error) {
    // The server has signed this browser in; do not leave a session without its keys behind.
    if (error instanceof KeyMismatchError) await postJson("/api/accounts/logout").catch(() => {});
    throw error;
  }
}

/**
 * The public keys come from the server, which might lie: prove the private keys we opened are
 * their other halves, and that the agreement key is signed by the signing key.
 * @param {{signingPrivateKey: CryptoKey, agreementPrivateKey: CryptoKey}} keys
 * @param {OwnIdentity} user
 */
async function checkKeysMatch(keys, user) {
  const mismatch = (/** @type {string} */ what) =>
    new KeyMismatchError(
      `The server's public keys do not match your private keys (${what}). Do not trust this server; nothing was stored.`,
    );
  let signingPublic;
  let agreementPublic;
  try {
    signingPublic = await subtle.importKey("raw", fromBase64(user.signing_public_key), "Ed25519", false, ["verify"]);
    agreementPublic = await subtle.importKey("raw", fromBase64(user.agreement_public_key), "X25519", false, []);
  } catch {
    throw mismatch("malformed public key");
  }
  const challenge = randomBytes(32);
  const signature = await subtle.sign("Ed25519", keys.signingPrivateKey, challenge);
  if (!(await subtle.verify("Ed25519", signingPublic, signature, challenge))) throw mismatch("signing key");

  if (!(await verifyAgreementKey(user.signing_public_key, user.agreement_public_key, user.agreement_signature))) {
    throw mismatch("agreement key signature");
  }
  // X25519 has no signature; agree with a throw-away key both ways and compare.
  const ephemeral = /** @type {CryptoKeyPair} */ (await subtle.generateKey("X25519", false, ["deriveBits"]));
  const ours = await subtle.deriveBits({ name: "X25519", public: ephemeral.publicKey }, keys.agreementPrivateKey, 256);
  const theirs = await subtle.deriveBits({ name: "X25519", public: agreementPublic }, ephemeral.privateKey, 256);
  if (toBase64(new Uint8Array(ours)) !== toBase64(new Uint8Array(theirs))) throw mismatch("agreement key");

  if ((await fingerprint(user.signing_public_key)) !== user.fingerprint) throw mismatch("fingerprint");
}

export { ApiError };
