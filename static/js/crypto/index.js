// @ts-check
// Public API of the browser crypto: callers use this module rather than the individual ones.

export {
  concatBytes,
  fromBase32,
  fromBase64,
  fromBase64Url,
  fromUtf8,
  randomBytes,
  toBase32,
  toBase64,
  toBase64Url,
  toHex,
  utf8,
} from "./encoding.js";
export { aadAccountKeyByPassword, aadAccountKeyByRecovery, aadBundle } from "./labels.js";
export {
  deriveAuthKey,
  deriveMasterKey,
  deriveRecoveryAuth,
  deriveRecoveryWrapKey,
  deriveWrapKey,
  formatRecoveryKey,
  INFO_AUTH,
  INFO_RECOVERY_AUTH,
  INFO_RECOVERY_WRAP,
  INFO_WRAP,
  newRecoveryKey,
  parseRecoveryKey,
  PBKDF2_ITERATIONS,
  RECOVERY_KEY_BYTES,
  SALT_BYTES,
  usernameSalt,
} from "./kdf.js";
export { IntegrityError, IV_BYTES, open, openJson, seal, sealJson } from "./aead.js";
export { generateAccountKey, unwrapAccountKey, wrapAccountKey } from "./accountkey.js";
export {
  agreementSignedBytes,
  fingerprint,
  generateIdentity,
  openBundle,
  publicKeys,
  sealBundle,
  verifyAgreementKey,
} from "./identity.js";
export { INFO_ENVELOPE_WRAP, INFO_KEY_COMMIT, infoEnvelopeWrap, LABEL_ENVELOPE, LABEL_ENVELOPE_V3 } from "./labels.js";
export {
  canonicalHeader,
  ENVELOPE_VERSION,
  ENVELOPE_VERSION_CHAINED,
  ENVELOPE_VERSION_ROSTER,
  envelopeHash,
  EnvelopeError,
  MAX_EMOJI_BYTES,
  MAX_MEMBERS,
  MAX_PADDED_PAYLOAD,
  openEnvelope,
  pad,
  PAD_BLOCK,
  PAYLOAD_KINDS,
  sealEnvelope,
  signatureInput,
  unpad,
  verifyEnvelope,
} from "./envelope.js";
export { aadTrust } from "./labels.js";
export {
  formatSafetyNumber,
  SAFETY_NUMBER_ITERATIONS,
  SAFETY_NUMBER_VERSION,
  safetyNumber,
  userFingerprintDigits,
} from "./safety.js";
export { linkAddress, linkKeyPair, linkSecretText, newLinkSecret, parseLinkSecret } from "./link.js";
export { MetaError, openMeta, openMetaWithLink, sealMeta } from "./meta.js";
export { encodeBody, EntryError, entryHash, parseEntry, signEntry, signedBytes, verifyActor, verifyLink } from "./roster.js";
