// The bucket list (pages of 50, "load more", filter by title or id) and the create form.
import { type Page, call } from "./api";
import { bytes, h, mount, showError, toast } from "./dom";
import { mayCreateBuckets, me } from "./who";

/** The address of a bucket's page (its own: reload, back and a shared link show it). */
export const bucketHref = (id: string) => `#/b/${encodeURIComponent(id)}`;

export interface Bucket {
  id: string;
  title?: string;
  icon?: string;
  notes?: string;
  active?: boolean;
  file_count?: number;
  total_bytes?: number;
  last_modified?: number;
  limits?: Record<string, unknown> | null;
}

export async function bucketsView(root: HTMLElement): Promise<void> {
  const rows = h("tbody");
  const filter = h("input", { id: "filter", type: "search", placeholder: "title or id", "aria-controls": "bucket-table" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  let loaded: Bucket[] = [];
  let next: string | null = "/v1/buckets?_limit=50";
  const render = () => {
    const q = filter.value.trim().toLowerCase();
    rows.replaceChildren(
      ...loaded
        .filter((b) => !q || b.id.toLowerCase().includes(q) || (b.title ?? "").toLowerCase().includes(q))
        .map((b) =>
          h("tr", {},
            h("td", {}, h("a", { href: bucketHref(b.id) }, `${b.icon ?? ""} ${b.title || b.id}`.trim())),
            h("td", { class: "mono" }, b.id),
            h("td", {}, b.active === false ? "inactive" : "active"),
            h("td", { class: "num" }, String(b.file_count ?? 0)),
            h("td", { class: "num" }, bytes(b.total_bytes ?? 0)),
          ),
        ),
    );
  };
  const load = async () => {
    if (!next) return;
    const page = (await call<Page<Bucket>>("GET", next)).body;
    loaded = loaded.concat(page.data);
    next = page.has_more && page.next_uri ? page.next_uri : null;
    more.hidden = !next;
    render();
  };
  more.addEventListener("click", () => load().catch(showError));
  filter.addEventListener("input", render);

  const title = h("input", { id: "new-title", required: true, maxlength: 200 });
  const icon = h("input", { id: "new-icon", maxlength: 16, placeholder: "📦" });
  const create = h("form", {
    class: "card",
    onsubmit: async (ev: Event) => {
      ev.preventDefault();
      try {
        const data: Record<string, string> = { title: title.value };
        if (icon.value) data.icon = icon.value;
        const b = (await call<{ data: Bucket }>("POST", "/v1/buckets", { data })).body.data;
        toast(`Created ${b.id}`);
        location.hash = bucketHref(b.id);
      } catch (e) {
        showError(e);
      }
    },
  },
    h("h2", {}, "New bucket"),
    h("div", { class: "row" },
      h("span", {}, h("label", { for: "new-title" }, "Title"), title),
      h("span", {}, h("label", { for: "new-icon" }, "Icon"), icon),
      h("button", { type: "submit", class: "primary" }, "Create"),
    ),
  );
  mount(root,
    h("h1", {}, "Buckets"),
    // Offered only to who may create: a scoped key never may, whatever privileges it holds.
    ...(mayCreateBuckets(me) ? [create] : []),
    h("section", { class: "card" },
      h("div", { class: "row" }, h("label", { for: "filter" }, "Filter"), filter),
      h("div", { class: "scroll" },
        h("table", { id: "bucket-table" },
          h("caption", { class: "sr" }, "Your buckets"),
          h("thead", {}, h("tr", {}, ...["Bucket", "Id", "State", "Files", "Bytes"].map((c) => h("th", { scope: "col" }, c)))),
          rows,
        )),
      more,
    ),
  );
  await load();
}
