// A bucket's history: who changed what, newest first, filtered by kind and action, paged.
import { enc } from "./api";
import { field, h, when } from "./dom";
import { pagedTable } from "./table";

export interface HistoryEntry {
  id: string;
  last_modified: number;
  uri: string;
  action: "create" | "update" | "delete";
  resource_name: string;
  target: Record<string, unknown>;
  user_id: string;
}

const KINDS = ["bucket", "data", "file", "webhook", "key", "sftp_user"];
const PAGE = 10;

const options = (all: string, values: string[]) => [h("option", { value: "" }, all), ...values.map((v) => h("option", { value: v }, v))];

export function historyPane(path: string): HTMLElement {
  const kind = h("select", { id: "hist-kind" }, ...options("everything", KINDS));
  const action = h("select", { id: "hist-action" }, ...options("any action", ["create", "update", "delete"]));
  const list = pagedTable<HistoryEntry>({
    id: "history",
    caption: "History, newest first",
    columns: ["When", "Who", "Action", "What", "Change"],
    url: () => `${path}/history?_limit=${PAGE}${kind.value ? `&resource_name=${enc(kind.value)}` : ""}${action.value ? `&action=${enc(action.value)}` : ""}`,
    empty: "Nothing recorded yet (entries appear a moment after a change).",
    row: (e) =>
      h("tr", { "data-entry": e.id },
        h("td", {}, when(e.last_modified)),
        h("td", { class: "mono" }, e.user_id),
        h("td", {}, e.action),
        h("td", {}, `${e.resource_name} `, h("span", { class: "mono" }, e.uri)),
        h("td", {}, h("details", {}, h("summary", {}, "Details"), h("pre", { class: "mono target" }, JSON.stringify(e.target, null, 2))))),
  });
  for (const s of [kind, action]) s.addEventListener("change", () => void list.reload());
  void list.reload();
  return h("section", { class: "card", id: "history-pane", "aria-labelledby": "history-h" },
    h("h2", { id: "history-h" }, "History"),
    h("div", { class: "row" }, field("Kind", kind), field("Action", action),
      h("button", { type: "button", id: "history-refresh", onclick: () => list.reload() }, "Refresh")),
    list.root,
  );
}
