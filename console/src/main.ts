// The console: hash routes (#/ buckets, #/b/<id> one bucket, #/keys API keys), rendered with
// dom.ts. Every page state has its own address: reload, back and a shared link show it again.
import { ApiError, apiBase, call, loadSession, saveSession, whenExpired } from "./api";
import { bucketView } from "./bucket";
import { bucketsView } from "./buckets";
import { h, mount, showError } from "./dom";
import { keysView } from "./keys";
import { signInView } from "./signin";
import { type Me, header, me, setMe } from "./who";

const main = () => document.getElementById("main") as HTMLElement;

const signIn = (reason = "", alert = false, withKey = false) => signInView(main(), start, reason, alert, withKey);

function signOut(): void {
  saveSession(null);
  setMe(null);
  void signIn("Signed out.");
}

async function route(): Promise<void> {
  const hash = location.hash.replace(/^#\/?/, "");
  try {
    if (hash.startsWith("b/")) await bucketView(main(), decodeURIComponent(hash.slice(2)));
    else if (hash === "keys") await keysView(main());
    else await bucketsView(main());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    mount(main(), h("div", { class: "card" }, h("h1", {}, "Something went wrong"), h("p", { class: "error" }, (e as Error).message), h("a", { href: "#/" }, "Back to buckets")));
  }
  main().focus();
}

async function start(): Promise<void> {
  const session = loadSession();
  if (!session) return signIn();
  let info;
  try {
    info = await call<{ user?: Me }>("GET", "/v1/");
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) showError(e);
    return;
  }
  if (!info.body.user) {
    saveSession(null);
    return signIn("That credential was not accepted.", true, session.kind === "key");
  }
  setMe(info.body.user);
  await header(info.body.user, signOut);
  await route();
}

whenExpired((ended) => {
  const was = me;
  setMe(null);
  const withKey = ended.kind === "key";
  const reason = !was ? "That credential was not accepted." : withKey ? "The API key was refused (revoked or expired): sign in again." : "Your session expired: sign in again.";
  void signIn(reason, true, withKey);
});
window.addEventListener("hashchange", () => {
  if (me) void route();
});
// The skip link moves focus without touching the address (a hash would be a route).
document.querySelector(".skip")?.addEventListener("click", (e) => {
  e.preventDefault();
  main().focus();
});
document.title = `Buckets console · ${new URL(apiBase).host}`;
void start();
