// @ts-check
// Which of a room's sealed metas names it. Every entry re-seals the name and topic, but only a `create` or a
// `rename` may change them: the name is the newest of those this browser can open; failing that (a member added or
// joined since, for whom they were not sealed), the newest entry made by someone with the right to rename (the
// owner or an admin), whose copy of the name is theirs to vouch for. A plain member's re-seal names nothing.

/**
 * @typedef {import("./chain.js").Step} Step
 * @typedef {import("../crypto/meta.js").RoomMeta} RoomMeta
 */

/**
 * @param {Step[]} steps the verified chain, `steps[seq]`
 * @param {(step: Step) => Promise<RoomMeta | null>} open an entry's meta as this browser can open it, or null
 * @returns {Promise<RoomMeta | null>}
 */
export async function authoritativeName(steps, open) {
  /** @type {RoomMeta | null} */
  let fallback = null;
  for (let seq = steps.length - 1; seq >= 0; seq--) {
    const step = steps[seq];
    if (!step || (!fallback && !mayName(steps, seq) && !namesIt(step))) continue;
    const meta = await open(step);
    if (!meta) continue;
    if (namesIt(step)) return meta;
    fallback ??= meta;
  }
  return fallback;
}

/** @param {Step} step */
function namesIt(step) {
  return step.entry.body.op === "create" || step.entry.body.op === "rename";
}

/**
 * Whether the entry at `seq` was made by someone who could have renamed the room then.
 * @param {Step[]} steps @param {number} seq
 */
function mayName(steps, seq) {
  const before = steps[seq - 1]?.state;
  const actor = steps[seq].entry.body.actor;
  return Boolean(before && (actor === before.owner || before.members.get(actor)?.role === "admin"));
}
