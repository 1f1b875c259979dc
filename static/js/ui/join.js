// @ts-check
// The invite-link page. A link made since rosters carries its secret in the URL's fragment, which never reaches the
// server: this page derives the link's key from it, fetches the room's chain by that key, checks it, reads the
// room's name through the link, and joins with an entry signed by both the link key and my identity key. A link
// from before rosters (a token in the path) joins as it always did.

import * as keystore from "../account/keystore.js";
import { KeyDirectory } from "../chat/directory.js";
import { TrustGate } from "../chat/trust.js";
import { linkAddress, linkKeyPair, openMetaWithLink, parseLinkSecret, toBase64 } from "../crypto/index.js";
import { getJson, postJson } from "../net/api.js";
import { memberIds, verifyEntries } from "../roster/chain.js";
import { makeEntry } from "../roster/changes.js";
import { authoritativeName } from "../roster/names.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("join-form"));
const error = /** @type {HTMLElement} */ (document.getElementById("join-error"));
const status = /** @type {HTMLElement} */ (document.getElementById("join-status"));
const title = /** @type {HTMLElement} */ (document.getElementById("join-title"));
const button = /** @type {HTMLButtonElement} */ (form.querySelector("button"));
const ATTEMPTS = 3;
// The link's secret, kept for this visit while the visitor logs in (a redirect would drop the fragment).
const PENDING_LINK = "securechat.join";

/** @param {unknown} failure */
function show(failure) {
  error.textContent = failure instanceof Error ? failure.message : String(failure);
}

async function joinByToken() {
  const { room } = await postJson(`/api/join/${encodeURIComponent(form.dataset.token ?? "")}`);
  location.assign(`/rooms/${room.id}/`);
}

/**
 * Everything the server holds of the room behind this link, checked from its creation.
 * @param {Uint8Array} secret
 * @param {TrustGate} trust
 */
async function checkedRoom(secret, trust) {
  const { publicRaw, privateKey } = await linkKeyPair(secret);
  const entries = [];
  let room = "";
  for (let more = true; more; ) {
    const page = await getJson(`/api/links/${linkAddress(publicRaw)}?from=${entries.length}`);
    room = page.room;
    entries.push(...page.entries);
    more = page.more && page.entries.length > 0;
  }
  const steps = await verifyEntries({ room, entries, state: null, keyFor: (id, v) => trust.signingKeyFor(id, v) });
  const last = steps.at(-1);
  if (!last || last.state.link !== toBase64(publicRaw)) throw new Error("This invite link was closed or replaced.");
  // The newest entry's meta must open through the link too: it vouches for the whole chain up to the head this
  // visitor is about to sign after (entries the server appended with a key it made up would not carry it).
  if (!(await openMetaWithLink(last.entry.body, { link: secret }).catch(() => null))) {
    throw new Error("This room's member list cannot be confirmed through this link.");
  }
  // The name as those with the right to it set it, read through the link (not whatever the last entry re-sealed).
  // A name opens only in the entry it was sealed into: one that opens vouches for that entry and the chain before it,
  // as someone holding the link made them; a genuine name moved into a chain the server made up does not open.
  const named = await authoritativeName(steps, (step) =>
    step.entry.body.meta.link_wrap
      ? openMetaWithLink(step.entry.body, { link: secret }).catch(() => null)
      : Promise.resolve(null),
  );
  if (!named) throw new Error("This room's name cannot be read through this link.");
  const meta = { name: named.name, topic: named.topic, link: secret };
  return { room, last, meta, linkKey: toBase64(publicRaw), linkPrivateKey: privateKey };
}

async function main() {
  if (form.dataset.token) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      error.textContent = "";
      joinByToken().catch(show);
    });
    return;
  }
  button.disabled = true;
  if (!location.hash && sessionStorage.getItem(PENDING_LINK)) {
    history.replaceState(null, "", `/join/${sessionStorage.getItem(PENDING_LINK)}`);
  }
  const secret = parseLinkSecret(location.hash);
  if (!document.body.dataset.username) {
    sessionStorage.setItem(PENDING_LINK, location.hash);
    location.assign(`/accounts/login/?next=${encodeURIComponent("/join/")}`);
    return;
  }
  sessionStorage.removeItem(PENDING_LINK);
  const keys = await keystore.load();
  if (!keys) throw new Error("This browser does not hold your keys. Log out and log in again, then open the link.");
  const { user: me } = await getJson("/api/accounts/me");
  const trust = await TrustGate.open({
    directory: new KeyDirectory({ link: linkAddress((await linkKeyPair(secret)).publicRaw) }),
    accountKey: keys.accountKey,
    username: keys.username,
    ownerId: keys.identity.id ?? me.id,
    keyVersion: keys.identity.key_version,
  });
  status.textContent = "Checking the room's signed member list…";
  let found = await checkedRoom(secret, trust);
  if (found.last.state.members.has(me.id)) {
    location.assign(`/rooms/${found.room}/`);
    return;
  }
  const count = memberIds(found.last.state).length;
  title.textContent = `Join ${found.meta.name}`;
  status.textContent = `${count} ${count === 1 ? "member" : "members"}. You will read and write in this room from now on.`;
  button.disabled = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    button.disabled = true;
    try {
      for (let attempt = 1; ; attempt++) {
        const { wire } = await makeEntry({
          room: found.room,
          state: found.last.state,
          change: { op: "join", members: [[me.id, me.key_version]], link: found.linkKey },
          actor: { id: me.id, keyVersion: me.key_version, signingPrivateKey: keys.signingPrivateKey },
          meta: found.meta,
          recipientsFor: (ids) => trust.recipients(ids),
          linkPrivateKey: found.linkPrivateKey,
        });
        try {
          await postJson(`/api/rooms/${found.room}/roster`, { entry: wire });
          break;
        } catch (failure) {
          if (/** @type {any} */ (failure)?.code !== "roster_conflict" || attempt >= ATTEMPTS) throw failure;
          found = await checkedRoom(secret, trust);
        }
      }
      location.assign(`/rooms/${found.room}/`);
    } catch (failure) {
      show(failure);
      button.disabled = false;
    }
  });
}

main().catch((failure) => {
  show(failure);
  status.textContent = "";
});
