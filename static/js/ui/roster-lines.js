// @ts-check
// What each roster change says as a line of the conversation: who did what, to whom ("alice added carol").

/**
 * @param {import("../roster/chain.js").Step} step
 * @param {{who: (id: number) => string, before: import("../roster/chain.js").RosterState | null}} context `who`
 *   names a user ("you" for me); `before`: the state before the entry
 * @returns {string}
 */
export function rosterLine(step, { who, before }) {
  const { op, actor, members, role, link, kind } = step.entry.body;
  const by = who(actor);
  const member = members.length ? who(members[0][0]) : "";
  switch (op) {
    case "create":
      if (kind === "direct") return `${by} started this conversation`;
      // More than its creator: a room from before rosters, signed by its owner with the members it had then.
      if (members.length > 1) return `${by} signed the member list: ${members.map(([id]) => who(id)).join(", ")}`;
      return `${by} created the room`;
    case "add":
      return `${by} added ${member}`;
    case "remove":
      return link ? `${by} removed ${member} and replaced the invite link` : `${by} removed ${member}`;
    case "leave":
      return `${by} left`;
    case "join":
      return `${by} joined with the invite link`;
    case "link":
      if (!link) return `${by} closed the invite link`;
      return before?.link ? `${by} replaced the invite link` : `${by} opened an invite link`;
    case "role":
      return role === "admin" ? `${by} made ${member} an admin` : `${by} removed ${member} as an admin`;
    case "owner":
      return `${by} handed the room to ${member}`;
    case "rename":
      return `${by} renamed the room`;
    case "reseal":
      return `${by} sealed the room's name for everyone's current keys`;
    default:
      return `${by} changed the room`;
  }
}
