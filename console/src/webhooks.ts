// A bucket's webhooks: the list, a new one (its signing secret shown once), a ping, delete,
// and each one's deliveries (paged, newest first; redeliver).
import { call, enc } from "./api";
import { checkboxes, field, h, secretOnce, showError, toast, when } from "./dom";
import { type PagedTable, pagedTable } from "./table";

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  glob: string | null;
  active: boolean;
  disabled_reason: string | null;
  suspended: boolean;
  suspended_reason: string | null;
}
export interface Delivery {
  id: string;
  event: string;
  sequence: number;
  status: "pending" | "sending" | "delivered" | "failed";
  attempts: number;
  created: number;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: number | null;
}
interface WebhookIn {
  url: string;
  events: string[];
  glob?: string;
}

const EVENTS = ["bucket.updated", "bucket.deleted", "data.updated", "file.uploaded", "file.deleted", "file.rejected"] as const;

const state = (w: Webhook) =>
  w.suspended ? `suspended: ${w.suspended_reason ?? ""}` : !w.active ? `off${w.disabled_reason ? `: ${w.disabled_reason}` : ""}` : "active";

export function webhooksPane(path: string): HTMLElement {
  const base = `${path}/webhooks`;
  const deliveries = h("div", { id: "deliveries-slot" });
  const list = pagedTable<Webhook>({
    id: "webhooks",
    caption: "Webhooks",
    columns: ["URL", "Events", "Glob", "State", "Actions"],
    url: () => base,
    empty: "No webhooks.",
    row: (w) =>
      h("tr", { "data-webhook": w.id },
        h("td", { class: "mono" }, w.url),
        h("td", {}, w.events.join(", ")),
        h("td", { class: "mono" }, w.glob ?? ""),
        h("td", {}, state(w)),
        h("td", { class: "actions" },
          h("button", { type: "button", "aria-label": `Deliveries of ${w.url}`, onclick: () => showDeliveries(w) }, "Deliveries"),
          h("button", { type: "button", "aria-label": `Send a ping to ${w.url}`, onclick: () => ping(w) }, "Ping"),
          h("button", { type: "button", class: "danger", "aria-label": `Delete the webhook to ${w.url}`, onclick: () => remove(w) }, "Delete"))),
  });
  const showDeliveries = (w: Webhook) => {
    const d = deliveriesOf(`${base}/${enc(w.id)}`, w);
    deliveries.replaceChildren(d.root);
    void d.table.reload().then(() => (d.root.querySelector("h3") as HTMLElement).focus());
  };
  const ping = async (w: Webhook) => {
    try {
      await call("POST", `${base}/${enc(w.id)}/ping`);
      toast("Ping sent: see its delivery");
      showDeliveries(w);
    } catch (e) {
      showError(e);
    }
  };
  const remove = async (w: Webhook) => {
    if (!window.confirm(`Delete the webhook to ${w.url}?`)) return;
    try {
      await call("DELETE", `${base}/${enc(w.id)}`);
      toast("Webhook deleted");
      deliveries.replaceChildren();
      await list.reload();
    } catch (e) {
      showError(e);
    }
  };
  const secret = h("div");
  const url = h("input", { id: "wh-url", type: "url", required: true, maxlength: 2048, placeholder: "https://example.com/hooks/buckets" });
  const glob = h("input", { id: "wh-glob", maxlength: 256, placeholder: "*.csv" });
  const events = checkboxes("wh-event", "Events", EVENTS, ["file.uploaded"]);
  const eventsError = h("p", { id: "wh-events-error", class: "error", role: "alert" });
  const form = h("form", {
    class: "sub",
    "aria-labelledby": "wh-new-h",
    onsubmit: async (ev: Event) => {
      ev.preventDefault();
      const body: WebhookIn = { url: url.value.trim(), events: events.values() };
      eventsError.textContent = body.events.length ? "" : "Choose at least one event.";
      if (!body.events.length) return;
      if (glob.value.trim()) body.glob = glob.value.trim();
      try {
        const r = (await call<{ data: Webhook; secret: string }>("POST", base, body)).body;
        secret.replaceChildren(secretOnce("wh-secret", `The signing secret of the webhook to ${r.data.url}`, r.secret));
        form.reset();
        await list.reload();
      } catch (e) {
        showError(e);
      }
    },
  },
    h("h3", { id: "wh-new-h" }, "Add a webhook"),
    h("div", { class: "row" }, field("URL (https)", url), field("Only files matching (glob, optional)", glob)),
    events.root, eventsError,
    h("button", { type: "submit", id: "wh-add" }, "Add webhook"),
  );
  void list.reload();
  return h("section", { class: "card", id: "webhooks-pane", "aria-labelledby": "webhooks-h" },
    h("h2", { id: "webhooks-h" }, "Webhooks"),
    h("p", { class: "muted" }, "A webhook POSTs a signed event (Standard Webhooks) to a public https URL when something happens here; a failed one is tried again, up to 8 attempts over 27.6 hours. Writers of the bucket manage them."),
    list.root, deliveries, form, secret,
  );
}

function deliveriesOf(hook: string, w: Webhook): { root: HTMLElement; table: PagedTable } {
  const table: PagedTable = pagedTable<Delivery>({
    id: "deliveries",
    caption: `Deliveries to ${w.url}`,
    columns: ["Created", "Event", "Status", "Attempts", "Last answer", "Next attempt", "Actions"],
    url: () => `${hook}/deliveries?_limit=20`,
    empty: "No deliveries yet: a change this webhook asks for, or a ping, makes one.",
    row: (d) =>
      h("tr", { "data-delivery": d.id },
        h("td", {}, when(d.created)),
        h("td", {}, d.event),
        h("td", { class: `status-${d.status}` }, d.status),
        h("td", { class: "num" }, String(d.attempts)),
        h("td", {}, [d.last_status ? `HTTP ${d.last_status}` : "", d.last_error ?? ""].filter(Boolean).join(": ")),
        h("td", {}, d.next_attempt_at ? when(d.next_attempt_at) : ""),
        h("td", {}, h("button", { type: "button", "aria-label": `Redeliver ${d.event} ${d.id}`, onclick: async () => {
          try {
            await call("POST", `${hook}/deliveries/${enc(d.id)}/redeliver`);
            toast("Redelivery queued");
            await table.reload();
          } catch (e) {
            showError(e);
          }
        } }, "Redeliver"))),
  });
  return {
    table,
    root: h("section", { class: "sub", "aria-labelledby": "deliveries-h" },
      h("h3", { id: "deliveries-h", tabindex: -1 }, `Deliveries to ${w.url}`),
      h("button", { type: "button", id: "deliveries-refresh", onclick: () => table.reload() }, "Refresh"),
      table.root),
  };
}
