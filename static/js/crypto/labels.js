// @ts-check
// Every domain-separation string in one place: changing one breaks every stored blob, so they are
// versioned ("/v1") and mirrored by tests/vectors/accounts-v1.json and its Python test.

export const INFO_AUTH = "securechat/auth/v1";
export const INFO_WRAP = "securechat/wrap/v1";
export const INFO_RECOVERY_AUTH = "securechat/recovery-auth/v1";
export const INFO_RECOVERY_WRAP = "securechat/recovery-wrap/v1";
/** The password KDF's salt is SHA-256 of this label and the lower-cased username (first 16 bytes). */
export const LABEL_KDF_SALT = "securechat/kdf-salt/v1|";

export const LABEL_AGREEMENT_KEY = "securechat/agreement-key/v1|";
export const LABEL_FINGERPRINT = "securechat/fingerprint/v1|";

const AAD_ACCOUNT_KEY_PASSWORD = "securechat/account-key/password/v1|";
const AAD_ACCOUNT_KEY_RECOVERY = "securechat/account-key/recovery/v1|";
const AAD_BUNDLE = "securechat/bundle/v1|";

/**
 * Usernames are bound in lower case so that "Alice" and "alice" name the same blobs.
 * @param {string} username
 * @returns {string}
 */
function owner(username) {
  if (typeof username !== "string" || username.length === 0) {
    throw new TypeError("AAD needs a non-empty username");
  }
  return username.toLowerCase();
}

/**
 * @param {string} username
 * @returns {string} AAD of the account key wrapped by the password-derived wrap key
 */
export function aadAccountKeyByPassword(username) {
  return AAD_ACCOUNT_KEY_PASSWORD + owner(username);
}

/**
 * @param {string} username
 * @returns {string} AAD of the account key wrapped by the recovery wrap key
 */
export function aadAccountKeyByRecovery(username) {
  return AAD_ACCOUNT_KEY_RECOVERY + owner(username);
}

/**
 * @param {string} username
 * @returns {string} AAD of the identity key bundle sealed under the account key
 */
export function aadBundle(username) {
  return AAD_BUNDLE + owner(username);
}

// Envelope v1 (docs/PROTOCOL.md). The wrap info extends INFO_WRAP with "|" and is only ever used with an
// X25519 secret and the ephemeral key as salt, so it cannot collide with the password wrap key.
export const LABEL_ENVELOPE = "securechat/envelope/v1|";
export const LABEL_ENVELOPE_V2 = "securechat/envelope/v2|";
export const LABEL_ENVELOPE_V3 = "securechat/envelope/v3|";
/** HKDF info of a v3 envelope's commitment to its content key. */
export const INFO_KEY_COMMIT = "securechat/key-commit/v1";
export const INFO_ENVELOPE_WRAP = "securechat/wrap/v1|";

/**
 * Binds a content-key wrap to its room, message and member, so a wrap cannot be replayed elsewhere.
 * @param {string} room lower-case UUID
 * @param {string} clientId lower-case UUID
 * @param {number} memberId
 * @returns {string} HKDF info of that member's key-encryption key
 */
export function infoEnvelopeWrap(room, clientId, memberId) {
  return `${INFO_ENVELOPE_WRAP}${room}|${clientId}|${memberId}`;
}

// Trust store (docs/ACCOUNTS.md, /api/accounts/trust): the pins, sealed under the account key.
const AAD_TRUST = "securechat/trust/v1|";

/**
 * @param {string} username
 * @returns {string} AAD of the trust store (pins and verifications) sealed under the account key
 */
export function aadTrust(username) {
  return AAD_TRUST + owner(username);
}

/**
 * @param {string} username
 * @returns {string} AAD of this browser's record of the newest trust store it opened for the account
 */
export function aadTrustSeen(username) {
  return `securechat/trust-seen/v1|${owner(username)}`;
}

// Roster v1 (docs/PROTOCOL.md): entries signed by members, the room's name sealed for them, invite links.
export const LABEL_ROSTER = "securechat/roster/v1|";
export const AAD_ROOM_META = "securechat/room-meta/v1|";
export const INFO_ROOM_META_WRAP = "securechat/room-meta-wrap/v1|";
export const INFO_LINK_KEY = "securechat/link-key/v1";
export const INFO_LINK_WRAP = "securechat/link-wrap/v1|";
