// A file's kept versions (the ones replaced within the retention): listed, and one restored
// as the file's current content (a new upload of it, in the caller's name).
import { call, enc } from "./api";
import { bytes, h, showError, toast, when } from "./dom";
import { pagedTable } from "./table";

export interface FileVersion {
  version_id: string;
  name: string;
  size: number;
  content_type: string;
  last_modified: number;
  uploaded_by: string;
  replaced: number;
  expires_at: number;
}

/** The versions of `name` in `slot` (replacing what it held); `restored` runs after a restore. */
export function showVersions(slot: HTMLElement, files: string, name: string, restored: () => Promise<void>): void {
  const base = `${files}/${enc(name)}/versions`;
  const list = pagedTable<FileVersion>({
    id: "versions",
    caption: `Kept versions of ${name}`,
    columns: ["Uploaded", "Size", "Type", "Uploader", "Replaced", "Kept until", "Actions"],
    url: () => `${base}?_limit=50`,
    empty: "No kept versions: it was never replaced (or they expired).",
    row: (v) =>
      h("tr", { "data-version": v.version_id },
        h("td", {}, when(v.last_modified)),
        h("td", { class: "num size" }, bytes(v.size)),
        h("td", {}, v.content_type),
        h("td", { class: "mono" }, v.uploaded_by),
        h("td", {}, when(v.replaced)),
        h("td", {}, when(v.expires_at)),
        h("td", {}, h("button", { type: "button", "aria-label": `Restore the version of ${when(v.last_modified)} (${bytes(v.size)})`, onclick: async () => {
          try {
            await call("POST", `${base}/${enc(v.version_id)}/restore`);
            toast(`Restored ${name}`);
            await Promise.all([restored(), list.reload()]);
          } catch (e) {
            showError(e);
          }
        } }, "Restore"))),
  });
  slot.replaceChildren(h("section", { class: "sub", "aria-labelledby": "versions-h" },
    h("h3", { id: "versions-h", tabindex: -1 }, `Versions of ${name}`),
    h("button", { type: "button", onclick: () => slot.replaceChildren() }, "Close versions"),
    list.root));
  void list.reload().then(() => (slot.querySelector("h3") as HTMLElement | null)?.focus());
}
