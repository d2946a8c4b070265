// A light JSON editor: a textarea over a highlighted <pre> (same font, same scroll), checked
// with JSON.parse on every edit. No editor library: a few hundred bytes instead of CodeMirror.
import { h } from "./dom";

const TOKEN = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|([{}[\],])/g;

export function highlight(text: string, into: HTMLElement): void {
  const out: Node[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const i = m.index ?? 0;
    if (i > last) out.push(document.createTextNode(text.slice(last, i)));
    const cls = m[1] ? (m[2] ? "j-key" : "j-str") : m[3] ? "j-lit" : m[4] ? "j-num" : "j-punct";
    out.push(h("span", { class: cls }, m[0]));
    last = i + m[0].length;
  }
  out.push(document.createTextNode(text.slice(last) + "\n"));
  into.replaceChildren(...out);
}

export interface JsonEditor {
  root: HTMLElement;
  get(): string;
  set(text: string): void;
  /** The parsed object, or null with the error shown. */
  value(): Record<string, unknown> | null;
}

export function jsonEditor(label: string, onChange: () => void = () => {}): JsonEditor {
  const pre = h("pre", { class: "hl", "aria-hidden": "true" });
  const status = h("p", { class: "json-status", "aria-live": "polite" });
  const area = h("textarea", { class: "code", spellcheck: false, "aria-label": label, "aria-describedby": "json-status" });
  status.id = "json-status";
  const check = (): Record<string, unknown> | null => {
    try {
      const v = JSON.parse(area.value) as unknown;
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("the document must be a JSON object");
      status.textContent = "Valid JSON";
      status.className = "json-status ok";
      area.removeAttribute("aria-invalid");
      return v as Record<string, unknown>;
    } catch (e) {
      status.textContent = `Invalid: ${(e as Error).message}`;
      status.className = "json-status bad";
      area.setAttribute("aria-invalid", "true");
      return null;
    }
  };
  const sync = () => {
    highlight(area.value, pre);
    pre.scrollTop = area.scrollTop;
    pre.scrollLeft = area.scrollLeft;
  };
  area.addEventListener("input", () => {
    sync();
    check();
    onChange();
  });
  area.addEventListener("scroll", sync);
  area.addEventListener("keydown", (e) => {
    // Tab indents (Escape then Tab leaves the editor, for keyboard users).
    if (e.key === "Tab" && !e.shiftKey && !area.dataset.escaped) {
      e.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      sync();
    }
    area.dataset.escaped = e.key === "Escape" ? "1" : "";
  });
  return {
    root: h("div", { class: "editor" }, h("div", { class: "stack" }, pre, area), status),
    get: () => area.value,
    set(text: string) {
      area.value = text;
      sync();
      check();
    },
    value: check,
  };
}
