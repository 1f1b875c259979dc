// @ts-check
// The open room's members' keys as the page shows them: checked against the pins whenever they may have changed, a
// warning in the room for each changed key, the blocking dialog to accept one, and the safety number to compare.

import { $, el, message } from "./dom.js";
import { showProblem } from "./status.js";
import { showKeyChange, showSafetyNumber } from "./trust-dialogs.js";

/**
 * @typedef {import("../chat/client.js").ChatClient} ChatClient
 * @typedef {import("../chat/membership.js").Membership} Membership
 * @typedef {import("../chat/trust.js").Contact} Contact
 * @typedef {import("./open-room.js").OpenRoom} OpenRoom
 */

export class TrustView {
  /**
   * @param {ChatClient} client
   * @param {Membership} membership
   * @param {import("./trust-dialogs.js").Me} me
   * @param {OpenRoom} open
   * @param {() => void} redraw redraws what shows the open room's contacts (members, badges)
   */
  constructor(client, membership, me, open, redraw) {
    this.client = client;
    this.membership = membership;
    this.me = me;
    this.open = open;
    this.redraw = redraw;
    /** @type {Set<number>} people whose key changed, not shown in a dialog yet: not known to be in the open room */
    this.unshownChanges = new Set();
  }

  /** Check the open room's members' keys against the pins; re-render what depends on them. */
  async refresh() {
    const state = this.open.id ? this.client.rooms.get(this.open.id) : null;
    if (!state) return;
    try {
      this.open.contacts = await this.client.trust.contacts(this.client.members(state.room).map((m) => m.id));
    } catch (error) {
      showProblem(`Could not check your contacts' keys: ${message(error)}`);
      return;
    }
    this.renderKeyWarnings();
    this.redraw();
    for (const contact of this.open.contacts.values()) {
      if (contact.status === "changed" && this.unshownChanges.delete(contact.id)) this.onKeyChanged(contact);
    }
  }

  renderKeyWarnings() {
    const changed = [...this.open.contacts.values()].filter((c) => c.status === "changed");
    $("key-warnings").replaceChildren(
      ...changed.map((contact) => {
        const review = el("button", { type: "button", class: "link" }, ["Review"]);
        review.addEventListener("click", () => this.onKeyChanged(contact, { force: true }));
        return el("p", { class: "key-warning", role: "alert" }, [
          `⚠ ${contact.username}'s security key changed. Messages to and from ${contact.username} are paused. `,
          review,
        ]);
      }),
    );
  }

  /**
   * A member's key differs from the pin: a blocking dialog if they are in the open room, a warning in the room.
   * @param {Contact} contact
   * @param {{force?: boolean}} [options]
   */
  onKeyChanged(contact, { force = false } = {}) {
    const state = this.open.id ? this.client.rooms.get(this.open.id) : null;
    const here = state && this.client.members(state.room).some((m) => m.id === contact.id);
    if (!here && !force) {
      // Perhaps only not known to be here yet (the room's roster still being checked): asked once it is.
      this.unshownChanges.add(contact.id);
      return;
    }
    this.refresh();
    if (document.getElementById("key-change-dialog")) return;
    showKeyChange(contact, {
      onAccept: async () => {
        await this.client.trust.accept(contact.id);
        await this.client.reopenFrom(contact.id);
        await this.refresh();
        // Not waited for: the dialog closes as soon as the key is accepted. The names of the group rooms we share
        // were sealed for the old key.
        this.membership.resealFor(contact.id, (error) => showProblem(`Could not seal the room's name again: ${message(error)}`));
      },
    });
  }

  /** @param {number} userId */
  async verify(userId) {
    try {
      const contact = await this.client.trust.one(userId);
      await showSafetyNumber(this.me, contact, { onVerify: () => this.client.trust.markVerified(userId) });
    } catch (error) {
      showProblem(message(error));
    }
  }
}
