// Files: drop or pick many, each uploaded straight to S3 with its grant (XMLHttpRequest for
// progress), multipart for large ones, the fate polled from status_uri; a paged list (glob).
import { ApiError, call, enc, resolve } from "./api";
import { bytes, copyButton, h, showError, toast, when } from "./dom";
import { showVersions } from "./versions";

interface FileRec {
  name: string;
  size: number;
  content_type: string;
  last_modified: number;
  uploaded_by?: string;
  permalink?: string;
}
interface Upload {
  url: string;
  method: string;
  headers: Record<string, string>;
}
interface Grant {
  name: string;
  status_uri: string;
  upload?: Upload;
  multipart?: { part_size: number; part_count: number; parts_uri: string; complete_uri: string };
}
// Headers a browser sets itself (and refuses from scripts).
const FORBIDDEN = new Set(["content-length", "host", "connection"]);

function put(u: Upload, body: Blob, progress: (sent: number) => void): Promise<string> {
  return new Promise((ok, fail) => {
    const x = new XMLHttpRequest();
    x.open(u.method || "PUT", u.url);
    for (const [k, v] of Object.entries(u.headers)) if (!FORBIDDEN.has(k.toLowerCase())) x.setRequestHeader(k, v);
    x.upload.onprogress = (e) => progress(e.loaded);
    x.onload = () => (x.status < 300 ? ok(x.getResponseHeader("ETag") ?? "") : fail(new Error(`S3 refused the upload (${x.status})`)));
    x.onerror = () => fail(new Error("the upload failed (network)"));
    x.send(body);
  });
}

async function sha256(blob: Blob): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function multipart(g: Grant, file: File, progress: (sent: number) => void): Promise<void> {
  const m = g.multipart!;
  const sent = new Array<number>(m.part_count).fill(0);
  for (let start = 1; start <= m.part_count; start += 100) {
    const numbers = Array.from({ length: Math.min(100, m.part_count - start + 1) }, (_, i) => start + i);
    const slices = numbers.map((n) => file.slice((n - 1) * m.part_size, n * m.part_size));
    const parts = await Promise.all(numbers.map(async (n, i) => ({ number: n, sha256: await sha256(slices[i]) })));
    const urls = (await call<{ parts: (Upload & { number: number })[] }>("POST", resolve(m.parts_uri), { parts })).body.parts;
    for (const p of urls) {
      await put(p, slices[p.number - start], (s) => {
        sent[p.number - 1] = s;
        progress(sent.reduce((a, b) => a + b, 0));
      });
    }
  }
  await call("POST", resolve(m.complete_uri), {});
}

async function fate(statusUri: string): Promise<{ status: string; reason?: string }> {
  for (let i = 0; i < 60; i++) {
    const s = (await call<{ data: { status: string; reason?: string } }>("GET", resolve(statusUri))).body.data;
    if (s.status !== "pending") return s;
    await new Promise((r) => setTimeout(r, Math.min(250 * (i + 1), 2000)));
  }
  return { status: "pending", reason: "still pending: refresh the list later" };
}

export function filesPane(path: string): HTMLElement {
  const rows = h("tbody");
  const glob = h("input", { id: "glob", type: "search", placeholder: "*.csv" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const queue = h("ul", { class: "queue", id: "queue", "aria-live": "polite" });
  const total = h("progress", { id: "total", max: 1, value: 0, hidden: true, "aria-label": "Total upload progress" });
  const picker = h("input", { id: "picker", type: "file", multiple: true, class: "sr", tabindex: -1, "aria-label": "Choose files to upload" });
  const versions = h("div", { id: "versions-slot" });
  let known = new Set<string>();
  let next: string | null = null;

  const row = (f: FileRec) =>
    h("tr", { "data-name": f.name },
      h("td", {}, h("button", { type: "button", class: "link", "aria-label": `Download ${f.name}`, onclick: () => download(f.name) }, f.name)),
      h("td", { class: "num size" }, bytes(f.size)),
      h("td", {}, f.content_type),
      h("td", {}, when(f.last_modified)),
      h("td", { class: "mono" }, f.uploaded_by ?? ""),
      h("td", { class: "actions" },
        f.permalink ? copyButton(() => f.permalink!, `Copy the permalink of ${f.name}`, undefined, "Permalink") : null,
        h("button", { type: "button", "aria-label": `Versions of ${f.name}`, onclick: () => showVersions(versions, `${path}/files`, f.name, () => Promise.all([list(true), counters()]).then(() => {})) }, "Versions"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete ${f.name}`, onclick: () => remove(f.name) }, "Delete")),
    );
  // The bucket's counters in the settings pane follow uploads and deletes.
  const counters = async () => {
    const b = (await call<{ data: { file_count?: number; total_bytes?: number } }>("GET", path)).body.data;
    const count = document.getElementById("count");
    const size = document.getElementById("bytes");
    if (count) count.textContent = String(b.file_count ?? 0);
    if (size) size.textContent = bytes(b.total_bytes ?? 0);
  };
  const list = async (reset: boolean) => {
    const url = reset || !next ? `${path}/files?_limit=200${glob.value ? `&glob=${enc(glob.value)}` : ""}` : resolve(next);
    const page = (await call<{ data: FileRec[]; has_more: boolean; next_uri?: string }>("GET", url)).body;
    if (reset) {
      rows.replaceChildren();
      known = new Set();
    }
    // One append per page (a fragment): 1,000 files are five appends, no per-row reflow.
    const frag = document.createDocumentFragment();
    for (const f of page.data) {
      known.add(f.name);
      frag.append(row(f));
    }
    rows.append(frag);
    next = page.has_more && page.next_uri ? page.next_uri : null;
    more.hidden = !next;
  };
  const download = async (name: string) => {
    try {
      const { url } = (await call<{ url: string }>("GET", `${path}/files/${enc(name)}?json`)).body;
      const a = h("a", { href: url, download: name, class: "sr" });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) {
      showError(e);
    }
  };
  const remove = async (name: string) => {
    if (!window.confirm(`Delete ${name}?`)) return;
    try {
      await call("DELETE", `${path}/files/${enc(name)}`);
      toast(`Deleted ${name}`);
      await Promise.all([list(true), counters()]);
    } catch (e) {
      showError(e);
    }
  };
  const upload = async (files: File[]) => {
    if (!files.length) return;
    let grants: Grant[];
    try {
      grants = (await call<{ files: Grant[] }>("POST", `${path}/files`, {
        files: files.map((f) => ({ name: f.name, size: f.size, content_type: f.type || "application/octet-stream" })),
      })).body.files;
    } catch (e) {
      queue.append(h("li", { class: "error" }, `Refused: ${(e as ApiError).message}`));
      return;
    }
    const sent = new Array<number>(files.length).fill(0);
    const sum = files.reduce((a, f) => a + f.size, 0) || 1;
    total.hidden = false;
    total.max = sum;
    await Promise.all(grants.map(async (g, i) => {
      const file = files[i];
      const bar = h("progress", { max: file.size || 1, value: 0, "aria-label": `Upload of ${g.name}` });
      const state = h("span", { class: "state" }, known.has(g.name) ? `replaces the existing ${g.name}` : "new file");
      queue.append(h("li", { "data-name": g.name }, h("span", { class: "mono" }, g.name), bar, state));
      const progress = (s: number) => {
        bar.value = s;
        sent[i] = s;
        total.value = sent.reduce((a, b) => a + b, 0);
      };
      try {
        if (g.multipart) await multipart(g, file, progress);
        else await put(g.upload!, file, progress);
        progress(file.size);
        const f = await fate(g.status_uri);
        state.textContent = f.status === "recorded" ? (known.has(g.name) ? "replaced" : "uploaded") : `${f.status}: ${f.reason ?? ""}`;
        state.className = f.status === "recorded" ? "state ok" : "state bad";
      } catch (e) {
        state.textContent = (e as Error).message;
        state.className = "state bad";
      }
    }));
    await Promise.all([list(true), counters()]);
  };
  const zone = h("div", { class: "drop", id: "drop", tabindex: 0, role: "button",
    onclick: () => picker.click(),
    onkeydown: (e: KeyboardEvent) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); picker.click(); } },
    ondragover: (e: DragEvent) => { e.preventDefault(); zone.classList.add("over"); },
    ondragleave: () => zone.classList.remove("over"),
    ondrop: (e: DragEvent) => { e.preventDefault(); zone.classList.remove("over"); void upload(Array.from(e.dataTransfer?.files ?? [])); },
  }, "Drop files here, or click (Enter) to choose them");
  picker.addEventListener("change", () => { void upload(Array.from(picker.files ?? [])); picker.value = ""; });
  glob.addEventListener("change", () => list(true).catch(showError));
  more.addEventListener("click", () => list(false).catch(showError));
  list(true).catch(showError);
  return h("section", { class: "card", "aria-labelledby": "files-h" },
    h("h2", { id: "files-h" }, "Files"),
    zone, picker, total, queue,
    h("div", { class: "row" }, h("label", { for: "glob" }, "Filter (glob)"), glob),
    h("div", { class: "scroll" },
      h("table", { id: "files" },
        h("caption", { class: "sr" }, "Files"),
        h("thead", {}, h("tr", {}, ...["Name", "Size", "Type", "Modified", "Uploader", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
        rows)),
    more, versions,
  );
}
