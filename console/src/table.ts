// A paged table: the first page from `url()`, "Load more" while the API says has_more, an
// empty state and errors said in the table's status line (polite live region).
import { page } from "./api";
import { h } from "./dom";

export interface PagedTable {
  root: HTMLElement;
  reload(): Promise<void>;
}

export function pagedTable<T>(o: {
  id: string;
  caption: string;
  columns: string[];
  url: () => string;
  row: (item: T) => HTMLTableRowElement;
  empty: string;
}): PagedTable {
  const rows = h("tbody");
  const status = h("p", { class: "muted", id: `${o.id}-status`, "aria-live": "polite" });
  const more = h("button", { type: "button", hidden: true, id: `${o.id}-more` }, "Load more");
  let next: string | null = null;
  // Only the latest load shows (a filter changed twice quickly starts two).
  let latest = 0;
  const load = async (url: string, reset: boolean) => {
    const mine = ++latest;
    try {
      const p = await page<T>(url);
      if (mine !== latest) return;
      if (reset) rows.replaceChildren();
      rows.append(...p.data.map(o.row));
      next = p.has_more && p.next_uri ? p.next_uri : null;
      status.textContent = rows.children.length ? "" : o.empty;
      status.className = "muted";
    } catch (e) {
      if (mine !== latest) return;
      if (reset) rows.replaceChildren();
      next = null;
      status.textContent = (e as Error).message;
      status.className = "error";
    }
    more.hidden = !next;
  };
  more.addEventListener("click", () => next && void load(next, false));
  return {
    root: h("div", {},
      // Focusable, so that a keyboard scrolls it on a narrow screen.
      h("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": o.caption },
        h("table", { id: o.id, "aria-describedby": status.id },
          h("caption", { class: "sr" }, o.caption),
          h("thead", {}, h("tr", {}, ...o.columns.map((c) => h("th", { scope: "col" }, c)))),
          rows)),
      status, more),
    reload: () => load(o.url(), true),
  };
}
