// @ts-check
// The open room's members: who is online, their roles and verified badges, the buttons to verify, remove, make
// admin or owner; the form to add someone, and the invite link for those who may open, copy, replace or close it.
// Removing someone, handing the room on, and replacing or closing the link are asked first.

import { confirmAction } from "./confirm.js";
import { $, el, formAction, taking } from "./dom.js";

/**
 * @typedef {import("../chat/client.js").ChatClient} ChatClient
 * @typedef {import("../chat/client.js").Room} Room
 * @typedef {import("../chat/membership.js").Membership} Membership
 * @typedef {import("./open-room.js").OpenRoom} OpenRoom
 * @typedef {{verify: (userId: number) => void, changed: () => void}} MembersActions `verify`: compare safety
 *   numbers with a member; `changed`: the room's members changed here (someone was added)
 */

export class MembersPane {
  /**
   * @param {ChatClient} client
   * @param {Membership} membership
   * @param {OpenRoom} open
   * @param {MembersActions} actions
   */
  constructor(client, membership, open, actions) {
    this.client = client;
    this.membership = membership;
    this.open = open;
    this.actions = actions;
    /** @type {string | null} the link the copy status speaks of */
    this.copied = null;
  }

  start() {
    $("invite-open").addEventListener("click", () => this.inviteAction((id) => this.membership.openLink(id)));
    $("invite-replace").addEventListener("click", () => this.replaceLink());
    $("invite-close").addEventListener("click", () => this.closeLink());
    $("invite-copy").addEventListener("click", () => this.copyLink());
    $("add-member-form").addEventListener("submit", (e) => this.addMember(e));
  }

  render() {
    const state = this.open.id ? this.client.rooms.get(this.open.id) : null;
    if (!state) return;
    const { room } = state;
    const online = this.client.online.get(room.id) ?? new Set();
    const me = this.client.userId;
    const owner = this.client.ownerOf(room);
    const roles = this.client.rosters.rooms.get(room.id)?.state?.members;
    const members = this.client.members(room);
    const manages = this.membership.manages(room.id);
    $("member-list").replaceChildren(
      ...members.map((member) => {
        const admin = roles?.get(member.id)?.role === "admin" && member.id !== owner;
        const item = el("li", {}, [
          el("span", { class: `dot ${online.has(member.id) ? "online" : ""}`, "aria-hidden": "true" }),
          el("span", { class: "member-name" }, [member.username]),
        ]);
        if (online.has(member.id)) item.append(el("span", { class: "visually-hidden" }, [" (online)"]));
        if (member.id === owner) item.append(el("span", { class: "tag" }, ["owner"]));
        if (admin) item.append(el("span", { class: "tag" }, ["admin"]));
        if (member.id === me) item.append(el("span", { class: "tag" }, ["you"]));
        if (room.members.some((m) => m.id === member.id && m.pending)) item.append(el("span", { class: "tag" }, ["invited"]));
        const contact = this.open.contacts.get(member.id);
        if (contact?.verified) item.append(el("span", { class: "badge-verified" }, ["verified"]));
        if (contact?.status === "changed") item.append(el("span", { class: "tag warning" }, ["key changed"]));
        if (member.id !== me) item.append(memberButton("Verify", "Verify", () => this.actions.verify(member.id)));
        const other = member.id !== me && member.id !== owner;
        if (other && manages && (owner === me || !admin)) {
          item.append(memberButton("Remove", `Remove ${member.username}`, () => this.remove(room.id, member), true));
        }
        if (other && owner === me && roles) {
          const [label, role] = admin ? ["Remove admin", "member"] : ["Make admin", "admin"];
          const change = () => this.membership.setRole(room.id, member.id, /** @type {"admin" | "member"} */ (role));
          item.append(memberButton(label, `${label}: ${member.username}`, change, true));
          item.append(memberButton("Make owner", `Make ${member.username} the owner`, () => this.handOver(room.id, member), true));
        }
        return item;
      }),
    );
    const count = members.filter((m) => online.has(m.id)).length;
    $("presence").textContent = `${count} online`;
  }

  /**
   * The form to add someone and the invite link, for those who manage the room. @param {Room} room the open room
   */
  renderManagement(room) {
    const manages = this.membership.manages(room.id);
    $("add-member-form").hidden = !manages;
    const signed = this.client.rosters.rooms.get(room.id)?.status === "ok";
    $("invite").hidden = !signed || !manages;
    const url = this.membership.inviteUrl(room.id);
    $("invite-url").textContent = url ?? "";
    $("invite-url").hidden = !url;
    $("invite-open").hidden = Boolean(url);
    $("invite-copy").hidden = !url;
    $("invite-replace").hidden = !url;
    $("invite-close").hidden = !url;
    if (this.copied !== url) {
      this.copied = null;
      $("invite-status").textContent = "";
    }
  }

  /** @param {string} roomId @param {{id: number, username: string}} member */
  async remove(roomId, member) {
    const invited = this.client.rooms.get(roomId)?.room.members.some((m) => m.id === member.id && m.pending);
    const text = invited
      ? [`The invitation to ${member.username} is taken back.`]
      : [`${member.username} will no longer receive this room's messages.`];
    if (this.membership.inviteUrl(roomId)) {
      text.push(`The invite link is replaced too: ${member.username} could read it.`);
    }
    if (await confirmAction({ title: `Remove ${member.username}?`, text, confirm: "Remove", danger: true })) {
      await this.membership.remove(roomId, member.id);
    }
  }

  /**
   * Hand the room on: the former owner stays, as an admin (docs/PROTOCOL.md, "What each change may do").
   * @param {string} roomId @param {{id: number, username: string}} member
   */
  async handOver(roomId, member) {
    const confirmed = await confirmAction({
      title: `Make ${member.username} the owner?`,
      text: ["You will become an admin.", `${member.username} will decide who is an admin, and may remove you.`],
      confirm: "Make owner",
    });
    if (confirmed) await this.membership.handOver(roomId, member.id);
  }

  async replaceLink() {
    const confirmed = await confirmAction({
      title: "Replace the invite link?",
      text: ["The old link stops working: whoever has it can no longer join with it. Share the new one instead."],
      confirm: "Replace link",
    });
    if (confirmed) await this.inviteAction((id) => this.membership.openLink(id));
  }

  async closeLink() {
    const confirmed = await confirmAction({
      title: "Close the invite link?",
      text: ["The link stops working: nobody can join with it any more. You can create a new one later."],
      confirm: "Close link",
    });
    if (confirmed) await this.inviteAction((id) => this.membership.closeLink(id));
  }

  /** Copy the link; where the browser refuses, select it for the user to copy. */
  async copyLink() {
    const roomId = this.open.id;
    const url = roomId ? this.membership.inviteUrl(roomId) : null;
    if (!url) return;
    this.copied = url;
    const status = $("invite-status");
    try {
      await navigator.clipboard.writeText(url);
      status.textContent = "Invite link copied.";
    } catch {
      getSelection()?.selectAllChildren($("invite-url"));
      status.textContent = `Press ${/Mac|iPhone|iPad/.test(navigator.platform) ? "⌘C" : "Ctrl+C"} to copy.`;
    }
  }

  /** @param {(roomId: string) => Promise<unknown>} action */
  async inviteAction(action) {
    const roomId = this.open.id;
    if (roomId) await formAction("invite-error", async () => void (await action(roomId)));
  }

  /** @param {Event} event */
  async addMember(event) {
    event.preventDefault();
    const roomId = this.open.id;
    if (!roomId) return;
    const input = /** @type {HTMLInputElement} */ ($("add-member"));
    await formAction("add-member-error", async () => {
      await taking(input, (value) => this.membership.add(roomId, value));
      this.actions.changed();
    });
  }
}

/**
 * @param {string} text @param {string} label its accessible name
 * @param {() => Promise<unknown> | void} action @param {boolean} [change] a roster change: errors shown by the form
 */
function memberButton(text, label, action, change = false) {
  const button = el("button", { type: "button", class: "link", ...(label !== text ? { "aria-label": label } : {}) }, [text]);
  button.addEventListener("click", () => (change ? formAction("add-member-error", async () => void (await action())) : action()));
  return button;
}
