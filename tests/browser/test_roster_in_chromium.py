"""The served roster modules reproduce tests/vectors/roster-v1.json inside Chromium, byte for byte: every entry made
again from its fixed inputs, the chain verified, each name opened by exactly its members and through the link, and
the v2 envelope made again. Node checks the same file (tests/js/roster-vectors.test.js), and so does the Python
reference (chat/tests/test_roster_vectors.py).
"""

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from tests.servers import Server

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors/roster-v1.json").read_text(encoding="utf-8"))

REPRODUCE = """async (V) => {
  const c = await import("/static/js/crypto/index.js");
  const { makeEntry } = await import("/static/js/roster/changes.js");
  const { verifyEntries, memberIds } = await import("/static/js/roster/chain.js");
  const subtle = crypto.subtle;
  const b = c.fromBase64;
  const hex = (s) => Uint8Array.from(s.match(/../g), (h) => parseInt(h, 16));
  async function privateFromSeed(name, seed) {
    const prefix = hex(name === "Ed25519" ? "302e020100300506032b657004220420" : "302e020100300506032b656e04220420");
    const usages = name === "Ed25519" ? ["sign"] : ["deriveBits"];
    return subtle.importKey("pkcs8", c.concatBytes(prefix, seed), {name}, true, usages);
  }
  const people = new Map();
  for (const p of V.people) {
    people.set(p.name, {
      id: p.id, keyVersion: p.key_version,
      signingPrivateKey: await privateFromSeed("Ed25519", b(p.signing_seed)),
      agreementPrivateKey: await privateFromSeed("X25519", b(p.agreement_seed)),
      agreementPublicKey: p.agreement_public_key, signingPublicKey: p.signing_public_key,
    });
  }
  const byId = new Map([...people.values()].map((p) => [p.id, p]));
  const recipientsFor = async (ids) => ids.map((id) => ({ id, agreementPublicKey: byId.get(id).agreementPublicKey }));
  const keyFor = async (id) => byId.get(id)?.signingPublicKey ?? null;
  const secret = c.parseLinkSecret(V.link.secret);
  const link = await c.linkKeyPair(secret);
  const testOnly = async (v) => ({
    ephemeralPrivateKey: await privateFromSeed("X25519", b(v.ephemeral_seed)),
    contentKeyBytes: b(v.content_key), iv: b(v.iv),
  });
  const made = [];
  let state = null;
  for (const v of V.entries) {
    const body = JSON.parse(v.entry.body);
    const change = { op: body.op, kind: body.kind || undefined, members: body.members,
                     role: body.role || undefined, link: body.link || undefined };
    const meta = { name: v.meta_plaintext.name, topic: v.meta_plaintext.topic,
                   link: v.meta_plaintext.link ? c.parseLinkSecret(v.meta_plaintext.link) : null };
    const out = await makeEntry({ room: V.room, state, change, actor: people.get(v.actor), meta, recipientsFor,
      linkPrivateKey: body.op === "join" ? link.privateKey : undefined, at: v.at }, await testOnly(v));
    state = out.step.state;
    made.push({ entry: out.wire, hash: out.step.hash, members: memberIds(state), owner: state.owner });
  }
  const steps = await verifyEntries({ room: V.room, entries: V.entries.map((v) => v.entry), state: null, keyFor });
  const names = [];
  for (const v of V.entries) {
    const body = JSON.parse(v.entry.body);
    const readers = [];
    for (const p of people.values()) {
      try {
        const me = { myId: p.id, agreementPrivateKey: p.agreementPrivateKey };
        const opened = await c.openMeta(body, me);
        readers.push([p.id, opened.name]);
      } catch (e) {
        if (!(e instanceof c.MetaError)) throw e;
      }
    }
    let viaLink = null;
    if (body.meta.link_wrap) {
      const link = c.parseLinkSecret(v.meta_plaintext.link);
      viaLink = (await c.openMetaWithLink(body, { link })).name;
    }
    names.push({ readers, viaLink });
  }
  const head = steps.at(-1).state;
  const env = await c.sealEnvelope({
    room: V.room, senderId: 11, clientId: V.envelope_v2.envelope.client_id, sentAt: V.envelope_v2.envelope.sent_at,
    text: V.envelope_v2.text, recipients: await recipientsFor(memberIds(head)),
    signingPrivateKey: people.get("bob").signingPrivateKey, roster: { seq: head.seq, hash: head.hash },
  }, await testOnly(V.envelope_v2));
  const opened = await c.openEnvelope(V.envelope_v2.envelope, { myId: 40,
    agreementPrivateKey: people.get("dave").agreementPrivateKey, senderSigningPublicKey: byId.get(11).signingPublicKey,
    expectedRoom: V.room, expectedSender: 11 });
  return {
    made, verified: steps.map((s) => s.hash), names,
    link_public_key: c.toBase64(link.publicRaw),
    envelope: env, opened_text: opened.text,
  };
}"""


def test_chromium_reproduces_every_roster_vector(page: Page, live_daphne: Server) -> None:
    page.goto(live_daphne.url + "/")
    got: dict[str, Any] = page.evaluate(REPRODUCE, VECTORS)
    for made, vector in zip(got["made"], VECTORS["entries"], strict=True):
        assert made["entry"] == vector["entry"]
        assert made["hash"] == vector["hash"]
        assert made["members"] == [member[0] for member in vector["state"]["members"]]
        assert made["owner"] == vector["state"]["owner"]
    assert got["verified"] == [vector["hash"] for vector in VECTORS["entries"]]
    for names, vector in zip(got["names"], VECTORS["entries"], strict=True):
        members = [member[0] for member in vector["state"]["members"]]
        assert [reader for reader, _ in names["readers"]] == sorted(members)
        assert {name for _, name in names["readers"]} == {vector["meta_plaintext"]["name"]}
        assert names["viaLink"] == (vector["meta_plaintext"]["name"] if vector["meta_plaintext"]["link"] else None)
    assert got["link_public_key"] == VECTORS["link"]["public_key"]
    assert got["envelope"] == VECTORS["envelope_v2"]["envelope"]
    assert got["opened_text"] == VECTORS["envelope_v2"]["text"]
