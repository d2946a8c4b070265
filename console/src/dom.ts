// A tiny element builder: the whole "component library" (see README, Console). Children are
// nodes or strings (always text, never HTML), so nothing the API answers is parsed as markup.
type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
    } else if (k === "class") {
      el.className = String(v);
    } else if (k in el && typeof v !== "string") {
      (el as unknown as Record<string, unknown>)[k] = v;
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function mount(target: Element, ...nodes: Node[]): void {
  target.replaceChildren(...nodes);
}

let toastTimer = 0;
/** A short message in the live region (errors stay until the next one). */
export function toast(message: string, error = false): void {
  const t = document.getElementById("toast");
  if (!t) return;
  t.setAttribute("role", error ? "alert" : "status");
  t.className = error ? "show error" : "show";
  t.textContent = message;
  window.clearTimeout(toastTimer);
  if (!error) toastTimer = window.setTimeout(() => (t.className = ""), 4000);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function when(ms: number | undefined): string {
  return ms ? new Date(ms).toLocaleString() : "";
}
