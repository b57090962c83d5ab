// One audience of an instance (a branch): its status, Pause, Play and Stop and rewind, each
// confirmed (docs/interactions.md, "One audience: pause, play, stop and rewind"); and what a
// rewind erased.

import { api } from "./api.js";
import { h, toast } from "./ui.js";
import { confirmAction, ixBadge } from "./ixui.js";

const ENDED = new Set(["Completed", "Test Completed", "Failed", "Test Failed", "Stopped", "Rolled Back", "Rollback Failed"]);
const HELD = new Set(["Pause Requested", "Pausing", "Paused"]);

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// What the rewinds of an audience removed, in words.
export function rewoundText(a) {
  if (!a.rewinds) return null;
  const r = a.rewound || {};
  const files = (r.files_removed || []).length;
  return `Rewound ${plural(a.rewinds, "time", "times")}${r.by ? `, last by ${r.by}` : ""}: ${plural(r.offer_history_removed || 0, "offer-history record", "offer-history records")} and ${plural(files, "file", "files")} removed.`;
}

// The audience's bar at the top of its branch column. `live`: the instance's run still runs.
export function audienceBar(a, { base, instanceId, manage, live, done }) {
  const slug = `audience-${a.branch}`;
  const path = `${base}/instances/${instanceId}/audiences/${encodeURIComponent(a.audience)}`;
  const act = (suffix, label, title, text, danger, message) =>
    h(
      "button",
      {
        type: "button",
        class: danger ? "danger" : suffix === "play" ? "primary" : "secondary",
        id: `${slug}-${suffix}`,
        "aria-label": `${label}: ${a.audience}`,
        onclick: () =>
          confirmAction({
            title,
            text,
            button: label,
            danger,
            action: () => api("POST", `${path}/${suffix}`),
            done: () => {
              toast(message);
              return done();
            },
          }),
      },
      label,
    );
  const buttons = [];
  if (manage && live) {
    if (!ENDED.has(a.status) && !HELD.has(a.status)) {
      buttons.push(act("pause", "Pause audience", `Pause the audience ${a.audience}?`, "Its activity under way finishes and its next one holds; the other audiences go on. The instance does not complete while it is held.", false, `Pause of ${a.audience} requested.`));
    }
    if (HELD.has(a.status) || (a.status === "Stopped" && a.rewinds)) {
      const again = a.status === "Stopped";
      buttons.push(
        act(
          "play",
          "Play audience",
          `Play the audience ${a.audience}?`,
          again ? "It runs again from its first activity: it selects anew, records its offer history again and exports again." : "It goes on where it was held.",
          false,
          `${a.audience} plays again.`,
        ),
      );
    }
    if (a.status === "Paused") {
      buttons.push(
        act(
          "rewind",
          "Stop and rewind",
          `Stop and rewind the audience ${a.audience}?`,
          "The audience stops, and what its activities wrote for this instance is erased: its offer history and details, its offer-history meta row and the files its exports wrote. Play runs it again from its first activity. The other audiences are untouched. This cannot be undone.",
          true,
          `${a.audience} stopped and rewound.`,
        ),
      );
    }
  }
  const rewound = rewoundText(a);
  return h(
    "div",
    { class: "audience-bar", "data-audience": a.audience, "data-status": a.status || "" },
    h("p", { class: "audience-line" }, h("span", { class: "muted small" }, "Audience "), h("strong", {}, a.audience), " ", ixBadge(a.status)),
    rewound ? h("p", { class: "muted small rewound" }, rewound) : null,
    buttons.length ? h("div", { class: "actions", role: "group", "aria-label": `Actions for the audience ${a.audience}` }, buttons) : null,
  );
}
