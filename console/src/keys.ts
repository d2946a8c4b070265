// API keys (#/keys): the caller's keys (paged), a new one (title, privileges, a scope of
// buckets, an expiry) whose secret is shown once with a copy button, and revoking.
import { call, enc } from "./api";
import { checkboxes, field, h, mount, secretOnce, showError, toast, when } from "./dom";
import { pagedTable } from "./table";
import { me } from "./who";

export interface KeyScope {
  id: string;
  access: "read" | "write";
}
export interface Key {
  id: string;
  title: string;
  prefix: string;
  owner: string;
  principal: string;
  privileges: string[];
  buckets: KeyScope[] | null;
  created: number;
  created_by: string | null;
  expires_at: number | null;
  last_used: number | null;
}
interface KeyCreated {
  data: Key;
  secret: string;
}
interface KeyIn {
  title: string;
  privileges: string[];
  buckets?: KeyScope[];
  expires_at?: number;
}

/** What a signed-in user may give a key: the privileges he holds (create_keys included). */
const GIVABLE = ["create_buckets", "edit_buckets", "delete_buckets", "admin", "create_keys"] as const;

const scopeText = (k: Key) => (k.buckets ? k.buckets.map((b) => `${b.id} (${b.access})`).join(", ") : "every bucket the owner reaches");

export async function keysView(root: HTMLElement): Promise<void> {
  const list = pagedTable<Key>({
    id: "keys",
    caption: "Your API keys",
    columns: ["Title", "Prefix", "Privileges", "Buckets", "Expires", "Last used", "Actions"],
    url: () => "/v1/keys?_limit=50",
    empty: "No keys yet.",
    row: (k) =>
      h("tr", { "data-key": k.id },
        h("td", {}, k.title),
        h("td", { class: "mono" }, k.prefix),
        h("td", {}, k.privileges.join(", ") || "none"),
        h("td", {}, scopeText(k)),
        h("td", {}, k.expires_at ? when(k.expires_at) : "never"),
        h("td", {}, k.last_used ? when(k.last_used) : "never"),
        h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Revoke the key ${k.title}`, onclick: () => revoke(k) }, "Revoke"))),
  });
  const revoke = async (k: Key) => {
    if (!window.confirm(`Revoke the key “${k.title}”? Whatever uses it stops working at once.`)) return;
    try {
      await call("DELETE", `/v1/keys/${enc(k.id)}`);
      toast(`Revoked ${k.title}`);
      await list.reload();
    } catch (e) {
      showError(e);
    }
  };
  const secret = h("div", { id: "key-secret-slot" });
  mount(root,
    h("h1", {}, "API keys"),
    h("p", { class: "muted" },
      "A key lets a job or a program act as you (X-API-Key: bk_…). Give it only the privileges it needs, and a scope of buckets when it needs only those: ",
      "a scoped key reaches nothing else and creates no buckets. Revoking it stops it at once."),
    createForm(secret, () => list.reload()),
    secret,
    h("section", { class: "card", "aria-labelledby": "keys-h" }, h("h2", { id: "keys-h" }, "Your keys"), list.root),
  );
  await list.reload();
}

/** The scope editor: rows of (bucket id, access), a datalist of the buckets the caller lists. */
function scopeEditor(): { root: HTMLElement; values(): KeyScope[] } {
  const rows = h("ul", { class: "scope", id: "scope-rows" });
  const buckets = h("datalist", { id: "scope-buckets" });
  call<{ data: { id: string }[] }>("GET", "/v1/buckets?_limit=50")
    .then((r) => buckets.replaceChildren(...r.body.data.map((b) => h("option", { value: b.id }))))
    .catch(() => {});
  let n = 0;
  const add = () => {
    n += 1;
    const id = h("input", { id: `scope-id-${n}`, class: "scope-id", list: "scope-buckets", required: true, pattern: "[a-zA-Z0-9][a-zA-Z0-9_\\-]*", maxlength: 64 });
    const access = h("select", { id: `scope-access-${n}`, class: "scope-access" }, h("option", { value: "read" }, "read"), h("option", { value: "write" }, "write"));
    const li: HTMLElement = h("li", { class: "row" }, field("Bucket id", id), field("Access", access),
      h("button", { type: "button", "aria-label": `Remove bucket ${n} from the scope`, onclick: () => li.remove() }, "Remove"));
    rows.append(li);
    id.focus();
  };
  return {
    root: h("fieldset", {}, h("legend", {}, "Buckets (empty: every bucket you reach)"), buckets, rows,
      h("button", { type: "button", id: "scope-add", onclick: add }, "Add a bucket")),
    values: () => Array.from(rows.querySelectorAll("li"), (li) => ({
      id: (li.querySelector(".scope-id") as HTMLInputElement).value.trim(),
      access: (li.querySelector(".scope-access") as HTMLSelectElement).value as KeyScope["access"],
    })),
  };
}

function createForm(secretSlot: HTMLElement, created: () => Promise<void>): HTMLElement {
  const title = h("input", { id: "key-title", required: true, maxlength: 200, autocomplete: "off" });
  const held = GIVABLE.filter((p) => me?.privileges?.includes(p));
  const privileges = checkboxes("key-priv", held.length ? "Privileges (fixed at creation)" : "Privileges: you hold none to give", held);
  const scope = scopeEditor();
  const expires = h("input", { id: "key-expires", type: "datetime-local" });
  return h("form", {
    class: "card",
    "aria-labelledby": "key-new-h",
    onsubmit: async (ev: Event) => {
      ev.preventDefault();
      const body: KeyIn = { title: title.value.trim(), privileges: privileges.values() };
      const buckets = scope.values();
      if (buckets.length) body.buckets = buckets;
      if (expires.value) body.expires_at = new Date(expires.value).getTime();
      try {
        const r = (await call<KeyCreated>("POST", "/v1/keys", body)).body;
        secretSlot.replaceChildren(secretOnce("key-secret", `The secret of the key “${r.data.title}”`, r.secret));
        (ev.target as HTMLFormElement).reset();
        scope.root.querySelectorAll("li").forEach((li) => li.remove());
        await created();
      } catch (e) {
        showError(e);
      }
    },
  },
    h("h2", { id: "key-new-h" }, "New key"),
    h("div", { class: "row" }, field("Title", title), field("Expires (optional)", expires)),
    privileges.root,
    scope.root,
    h("button", { type: "submit", class: "primary", id: "key-create" }, "Create key"),
  );
}
