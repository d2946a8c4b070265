// The console: hash routes (#/ buckets, #/b/<id> one bucket), rendered with dom.ts.
import { ApiError, apiBase, call, loadSession, saveSession, signInPassword, whenExpired } from "./api";
import { bucketView } from "./bucket";
import { bucketsView } from "./buckets";
import { h, mount, toast } from "./dom";

interface SignIn {
  type: string;
  endpoint?: string;
  client_id?: string;
  flows?: string[];
}
export interface Me {
  id: string;
  principals: string[];
}
export let me: Me | null = null;

const main = () => document.getElementById("main") as HTMLElement;

export function showError(e: unknown): void {
  toast(e instanceof Error ? e.message : String(e), true);
}

async function signInView(reason = ""): Promise<void> {
  document.getElementById("who")?.replaceChildren();
  let auth: SignIn | undefined;
  try {
    auth = (await call<{ auth?: SignIn }>("GET", "/v1/")).body.auth;
  } catch (e) {
    showError(e);
  }
  const user = h("input", { id: "user", name: "username", autocomplete: "username", required: true });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const key = h("input", { id: "apikey", name: "apikey", autocomplete: "off", placeholder: "bk_…" });
  const cognito = auth?.type === "cognito" && auth.endpoint && auth.client_id;
  const form = h(
    "form",
    {
      class: "card signin",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        try {
          if (key.value.trim()) {
            saveSession({ kind: "key", secret: key.value.trim() });
          } else if (cognito) {
            saveSession(await signInPassword(auth!.endpoint!, auth!.client_id!, user.value, pass.value));
          }
          await start();
        } catch (e) {
          saveSession(null);
          showError(e);
        }
      },
    },
    h("h1", {}, "Sign in"),
    reason ? h("p", { class: "notice" }, reason) : null,
    cognito
      ? [h("label", { for: "user" }, "User name"), user, h("label", { for: "password" }, "Password"), pass]
      : h("p", {}, "This deployment has no password sign-in: use an API key."),
    h("details", {}, h("summary", {}, "Or use an API key"), h("label", { for: "apikey" }, "API key"), key),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  if (!cognito) user.required = pass.required = false;
  mount(main(), form);
  (cognito ? user : key).focus();
}

function header(): void {
  const who = document.getElementById("who");
  if (!who || !me) return;
  who.replaceChildren(
    h("span", { id: "principal", title: "Your principal (share buckets with it)" }, me.id),
    h("button", { type: "button", id: "signout", onclick: () => { saveSession(null); me = null; void signInView("Signed out."); } }, "Sign out"),
  );
}

async function route(): Promise<void> {
  const hash = location.hash.replace(/^#\/?/, "");
  try {
    if (hash.startsWith("b/")) await bucketView(main(), decodeURIComponent(hash.slice(2)));
    else await bucketsView(main());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    mount(main(), h("div", { class: "card" }, h("h1", {}, "Something went wrong"), h("p", { class: "error" }, (e as Error).message), h("a", { href: "#/" }, "Back to buckets")));
  }
  main().focus();
}

async function start(): Promise<void> {
  if (!loadSession()) return signInView();
  try {
    const info = await call<{ user?: Me }>("GET", "/v1/");
    if (!info.body.user) {
      saveSession(null);
      return signInView("That credential was not accepted.");
    }
    me = info.body.user;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) showError(e);
    return;
  }
  header();
  await route();
}

whenExpired(() => {
  me = null;
  void signInView("Your session expired: sign in again.");
});
window.addEventListener("hashchange", () => {
  if (me) void route();
});
document.title = `Buckets console · ${new URL(apiBase).host}`;
void start();
