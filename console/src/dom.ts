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

/** An error (the API's `message`, see api.ts) announced in the live region. */
export function showError(e: unknown): void {
  toast(e instanceof Error ? e.message : String(e), true);
}

/** A button that copies `text()` to the clipboard and says so. */
export function copyButton(text: () => string, label: string, id?: string, visible = "Copy"): HTMLButtonElement {
  return h("button", {
    type: "button", id, "aria-label": label,
    onclick: () => navigator.clipboard.writeText(text()).then(() => toast("Copied"), () => toast("Copying was refused: select the text and copy it", true)),
  }, visible);
}

/** A secret the API shows once (a key's, a webhook's): the value, a copy button, and a button
 * that hides it for good. Focus moves to it so that a screen reader reads it at once. */
export function secretOnce(id: string, title: string, secret: string): HTMLElement {
  const box: HTMLElement = h("div", { class: "secret", id, role: "region", "aria-labelledby": `${id}-h`, tabindex: -1 },
    h("h3", { id: `${id}-h` }, title),
    h("p", {}, "Copy it now: it is shown this once (only a hash or the signing copy is kept)."),
    h("div", { class: "row" },
      h("code", { class: "mono", id: `${id}-value` }, secret),
      copyButton(() => secret, `Copy the secret of ${title}`, `${id}-copy`),
      h("button", { type: "button", onclick: () => box.remove() }, "I have copied it")),
  );
  queueMicrotask(() => box.focus());
  return box;
}

/** A labelled form control: the label, then the control (ids tie them). */
export function field(label: string, control: HTMLElement): HTMLElement {
  return h("span", { class: "field" }, h("label", { for: control.id }, label), control);
}

/** Checkboxes of a fixed set, in a fieldset with its legend. */
export function checkboxes(name: string, legend: string, values: readonly string[], checked: readonly string[] = []): { root: HTMLElement; values(): string[] } {
  const boxes = values.map((v) => h("input", { type: "checkbox", name, value: v, id: `${name}-${v}`, defaultChecked: checked.includes(v) }));
  return {
    root: h("fieldset", { class: "checks" }, h("legend", {}, legend),
      ...boxes.map((b) => h("label", { for: b.id }, b, ` ${b.value}`))),
    values: () => boxes.filter((b) => b.checked).map((b) => b.value),
  };
}
