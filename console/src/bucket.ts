// One bucket: its settings and counters, the data document, files, permissions, deletion.
import { ApiError, call, enc } from "./api";
import type { Bucket } from "./buckets";
import { bytes, h, mount, showError, toast } from "./dom";
import { filesPane } from "./files";
import { historyPane } from "./history";
import { jsonEditor } from "./json";
import { sftpPane } from "./sftp";
import { webhooksPane } from "./webhooks";

interface Envelope {
  data: Bucket;
  permissions: { read?: string[]; write?: string[] };
}

export async function bucketView(root: HTMLElement, id: string): Promise<void> {
  const path = `/v1/buckets/${enc(id)}`;
  const { body } = await call<Envelope>("GET", path);
  const b = body.data;
  const panes = [
    settingsPane(path, body),
    dataPane(path),
    filesPane(path),
    permissionsPane(path, body),
    webhooksPane(path),
    sftpPane(path),
    historyPane(path),
    dangerPane(path, b),
  ];
  mount(root,
    h("p", {}, h("a", { href: "#/" }, "← All buckets")),
    h("h1", { id: "bucket-title" }, `${b.icon ?? ""} ${b.title || b.id}`.trim()),
    sectionsNav(panes),
    ...panes,
  );
}

/** Buttons to each pane (not links: the address's hash is the route). */
function sectionsNav(panes: HTMLElement[]): HTMLElement {
  return h("nav", { class: "sections", "aria-label": "Parts of this bucket" },
    ...panes.map((p) => {
      const heading = p.querySelector("h2") as HTMLElement;
      heading.tabIndex = -1;
      return h("button", { type: "button", class: "link", onclick: () => { heading.scrollIntoView(); heading.focus(); } }, heading.textContent ?? "");
    }));
}

function settingsPane(path: string, env: Envelope): HTMLElement {
  const b = env.data;
  const title = h("input", { id: "b-title", value: b.title ?? "", maxlength: 200 });
  const icon = h("input", { id: "b-icon", value: b.icon ?? "", maxlength: 16 });
  const notes = h("textarea", { id: "b-notes", rows: 3 }, b.notes ?? "");
  const active = h("input", { id: "b-active", type: "checkbox", checked: b.active !== false });
  const limits = b.limits ? Object.entries(b.limits).filter(([, v]) => v !== null) : [];
  return h("form", {
    class: "card",
    "aria-labelledby": "settings-h",
    onsubmit: async (ev: Event) => {
      ev.preventDefault();
      try {
        await call("PATCH", path, { data: { title: title.value, icon: icon.value, notes: notes.value, active: active.checked } });
        toast("Saved");
        document.getElementById("bucket-title")!.textContent = `${icon.value} ${title.value || b.id}`.trim();
      } catch (e) {
        showError(e);
      }
    },
  },
    h("h2", { id: "settings-h" }, "Settings"),
    h("dl", { class: "counters" },
      h("dt", {}, "Id"), h("dd", { class: "mono" }, b.id),
      h("dt", {}, "Files"), h("dd", { id: "count" }, String(b.file_count ?? 0)),
      h("dt", {}, "Bytes"), h("dd", { id: "bytes" }, bytes(b.total_bytes ?? 0)),
      h("dt", {}, "Limits"), h("dd", {}, limits.length ? limits.map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : String(v)}`).join("; ") : "the deployment's"),
    ),
    h("div", { class: "grid" },
      h("label", { for: "b-title" }, "Title"), title,
      h("label", { for: "b-icon" }, "Icon"), icon,
      h("label", { for: "b-notes" }, "Notes"), notes,
      h("label", { for: "b-active" }, "Active (accepts uploads)"), active,
    ),
    h("button", { type: "submit", class: "primary" }, "Save settings"),
  );
}

function dataPane(path: string): HTMLElement {
  const editor = jsonEditor("Data document (JSON)");
  const conflict = h("div", { class: "conflict", hidden: true, role: "region", "aria-label": "Conflict" });
  const revisions = h("select", { id: "revision", "aria-label": "Kept revision" });
  const info = h("span", { class: "muted", id: "data-rev" });
  let etag = "";
  const load = async (revision?: string) => {
    const { body, res } = await call<{ data: unknown }>("GET", `${path}/data${revision ? `?revision=${enc(revision)}` : ""}`);
    editor.set(JSON.stringify(body.data, null, 2));
    if (revision) {
      info.textContent = `showing revision ${revision} (save to make it current)`;
      return;
    }
    etag = res.headers.get("ETag") ?? "";
    const current = Number(etag.replace(/"/g, "")) || 0;
    info.textContent = `revision ${current}`;
    revisions.replaceChildren(
      h("option", { value: "" }, "current"),
      ...Array.from({ length: Math.min(current - 1, 10) }, (_, i) => current - 1 - i)
        .filter((n) => n > 0)
        .map((n) => h("option", { value: String(n) }, `revision ${n}`)),
    );
    conflict.hidden = true;
  };
  const save = async (force = false) => {
    const value = editor.value();
    if (!value) return toast("Fix the JSON first", true);
    try {
      const { res } = await call("PUT", `${path}/data`, { data: value }, force || !etag ? {} : { "If-Match": etag });
      etag = res.headers.get("ETag") ?? etag;
      toast("Data saved");
      await load();
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) return showConflict(value);
      showError(e);
    }
  };
  const showConflict = async (mine: Record<string, unknown>) => {
    const theirs = (await call<{ data: unknown }>("GET", `${path}/data`)).body.data;
    conflict.replaceChildren(
      h("h3", {}, "Someone else saved meanwhile"),
      h("p", {}, "Nothing was overwritten. Compare, then reload theirs (yours is lost) or overwrite with yours."),
      h("div", { class: "two" },
        h("figure", {}, h("figcaption", {}, "Yours"), h("pre", { class: "mono", id: "mine" }, JSON.stringify(mine, null, 2))),
        h("figure", {}, h("figcaption", {}, "Saved now"), h("pre", { class: "mono", id: "theirs" }, JSON.stringify(theirs, null, 2))),
      ),
      h("button", { type: "button", id: "reload-theirs", onclick: () => load().catch(showError) }, "Reload theirs"),
      h("button", { type: "button", id: "overwrite", class: "danger", onclick: () => save(true) }, "Overwrite with mine"),
    );
    conflict.hidden = false;
    (conflict.querySelector("button") as HTMLButtonElement).focus();
  };
  revisions.addEventListener("change", () => load(revisions.value || undefined).catch(showError));
  load().catch(showError);
  return h("section", { class: "card", "aria-labelledby": "data-h" },
    h("h2", { id: "data-h" }, "Data"),
    h("div", { class: "row" }, info, revisions),
    editor.root,
    h("button", { type: "button", class: "primary", id: "save-data", onclick: () => save() }, "Save data"),
    conflict,
  );
}

type Acl = Envelope["permissions"];
const PERMS = ["read", "write"] as const;

/** The read and write lists as the server keeps them: every change shows the server's answer
 * (it keeps the creator a writer, drops duplicates), never the form's own idea of it. */
function permissionsPane(path: string, env: Envelope): HTMLElement {
  let kept: Acl = env.permissions;
  const body = h("div");
  const principal = h("input", { id: "principal-new", placeholder: "user:<sub>, key:<id>, system.Authenticated" });
  const which = h("select", { id: "principal-list", "aria-label": "Permission" }, ...PERMS.map((k) => h("option", { value: k }, k)));
  const listOf = (acl: Acl, k: (typeof PERMS)[number]) => acl[k] ?? [];
  const put = async (asked: Acl) => {
    try {
      kept = (await call<Envelope>("PATCH", path, { permissions: asked })).body.permissions;
      const same = PERMS.every((k) => JSON.stringify(listOf(kept, k)) === JSON.stringify(listOf(asked, k)));
      toast(same ? "Permissions saved" : "Permissions saved: shown as the server kept them");
    } catch (e) {
      showError(e);
      kept = await call<Envelope>("GET", path).then((r) => r.body.permissions, () => kept);
    }
    render();
  };
  const render = () =>
    body.replaceChildren(
      ...PERMS.map((k) =>
        h("div", {},
          h("h3", {}, k),
          h("ul", { class: "principals", id: `perm-${k}` },
            ...listOf(kept, k).map((p) =>
              h("li", {}, h("span", { class: "mono" }, p), " ",
                h("button", { type: "button", "aria-label": `Remove ${p} from ${k}`, onclick: () => void put({ ...kept, [k]: listOf(kept, k).filter((x) => x !== p) }) }, "Remove")),
            ),
          ),
        ),
      ),
    );
  render();
  return h("section", { class: "card", "aria-labelledby": "perm-h" },
    h("h2", { id: "perm-h" }, "Permissions"),
    h("p", { class: "muted" },
      "read lists files, downloads and reads the data; write also uploads, deletes, edits and shares (write implies read). ",
      "The creator always stays a writer. Principals: user:<sub> (a person; shown top right when signed in), key:<id> (an API key), ",
      "system.Authenticated (anyone signed in), system.Everyone (anyone). At most 100 per list."),
    body,
    h("form", { class: "row", onsubmit: (ev: Event) => {
      ev.preventDefault();
      const p = principal.value.trim();
      const k = which.value as (typeof PERMS)[number];
      if (!p) return;
      principal.value = "";
      void put({ ...kept, [k]: [...listOf(kept, k), p] });
    } },
      h("label", { for: "principal-new" }, "Principal"), principal, which,
      h("button", { type: "submit", id: "principal-add" }, "Add")),
  );
}

function dangerPane(path: string, b: Bucket): HTMLElement {
  const confirm = h("input", { id: "confirm-id", autocomplete: "off" });
  const files = h("input", { id: "empty-files", type: "checkbox", checked: true });
  const data = h("input", { id: "empty-data", type: "checkbox" });
  return h("section", { class: "card danger-zone", "aria-labelledby": "danger-h" },
    h("h2", { id: "danger-h" }, "Empty or delete"),
    h("div", { class: "row" },
      h("label", {}, files, " files"), h("label", {}, data, " data"),
      h("button", { type: "button", id: "empty", onclick: async () => {
        if (!files.checked && !data.checked) return;
        try {
          const r = await call<{ data: { files_deleted: number } }>("POST", `${path}/empty`, { files: files.checked, data: data.checked });
          toast(`Emptied: ${r.body.data.files_deleted} files deleted`);
          await bucketView(document.getElementById("main")!, b.id);
        } catch (e) { showError(e); }
      } }, "Empty")),
    h("p", {}, "Deleting removes the bucket, its data and every file. Type its id ", h("strong", { class: "mono" }, b.id), " to confirm."),
    h("div", { class: "row" },
      h("label", { for: "confirm-id" }, "Bucket id"), confirm,
      h("button", { type: "button", id: "delete-bucket", class: "danger", onclick: async () => {
        if (confirm.value !== b.id) return toast("Type the bucket's id to confirm", true);
        try {
          await call("DELETE", path);
          toast(`Deleted ${b.id}`);
          location.hash = "#/";
        } catch (e) { showError(e); }
      } }, "Delete bucket")),
  );
}
