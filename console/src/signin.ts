// Sign in: with a user name and password (Cognito's InitiateAuth, when GET /v1/ advertises a
// pool) or with an API key alone. One choice, and only the chosen fields are required.
import { call, saveSession, signInPassword } from "./api";
import { h, mount } from "./dom";

interface SignIn {
  type: string;
  endpoint?: string;
  client_id?: string;
}

const KEY_SHAPE = /^bk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

/** The sign-in form in `root`; `done` runs once a credential is saved. `alert`: the reason is a
 * refusal (announced at once), not a notice; `withKey`: the API key is the way chosen first. */
export async function signInView(root: HTMLElement, done: () => Promise<void>, reason = "", alert = false, withKey = false): Promise<void> {
  document.getElementById("who")?.replaceChildren();
  let auth: SignIn | undefined;
  const error = h("p", { id: "signin-error", class: "error", role: "alert" });
  try {
    auth = (await call<{ auth?: SignIn }>("GET", "/v1/")).body.auth;
  } catch (e) {
    error.textContent = (e as Error).message;
  }
  const cognito = auth?.type === "cognito" && auth.endpoint && auth.client_id ? { endpoint: auth.endpoint, clientId: auth.client_id } : null;
  const user = h("input", { id: "user", name: "username", autocomplete: "username", "aria-describedby": "signin-error" });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", "aria-describedby": "signin-error" });
  const key = h("input", { id: "apikey", name: "apikey", autocomplete: "off", spellcheck: false, placeholder: "bk_…", "aria-describedby": "apikey-hint signin-error" });
  const byPassword = h("fieldset", { id: "by-password", class: "plain" }, h("legend", { class: "sr" }, "User name and password"),
    h("label", { for: "user" }, "User name"), user, h("label", { for: "password" }, "Password"), pass);
  const byKey = h("fieldset", { id: "by-key", class: "plain" }, h("legend", { class: "sr" }, "API key"),
    h("label", { for: "apikey" }, "API key"), key,
    h("p", { id: "apikey-hint", class: "muted" }, "The secret shown once when the key was made: bk_<16 hex>_<43 characters>."));
  const usePassword = h("input", { type: "radio", name: "method", id: "m-password", value: "password", checked: !!cognito && !withKey });
  const useKey = h("input", { type: "radio", name: "method", id: "m-key", value: "key", checked: !cognito || withKey });
  // The chosen way's fields are shown and required; the other's are disabled (so neither
  // validated nor sent).
  const choose = () => {
    const withKey = useKey.checked;
    byPassword.hidden = byPassword.disabled = withKey;
    byKey.hidden = byKey.disabled = !withKey;
    user.required = pass.required = !withKey;
    key.required = withKey;
    error.textContent = "";
  };
  usePassword.addEventListener("change", choose);
  useKey.addEventListener("change", choose);
  const invalid = (field: HTMLInputElement | null, message: string) => {
    for (const f of [user, pass, key]) {
      if (f === field) f.setAttribute("aria-invalid", "true");
      else f.removeAttribute("aria-invalid");
    }
    error.textContent = message;
    field?.focus();
  };
  const form = h("form", {
    class: "card signin",
    "aria-labelledby": "signin-h",
    onsubmit: async (ev: Event) => {
      ev.preventDefault();
      try {
        if (useKey.checked) {
          const secret = key.value.trim();
          if (!KEY_SHAPE.test(secret)) return invalid(key, "That is not an API key: it looks like bk_<16 hex>_<43 characters>.");
          saveSession({ kind: "key", secret });
        } else if (cognito) {
          saveSession(await signInPassword(cognito.endpoint, cognito.clientId, user.value, pass.value));
        }
        invalid(null, "");
        await done();
      } catch (e) {
        saveSession(null);
        invalid(useKey.checked ? key : user, (e as Error).message);
      }
    },
  },
    h("h1", { id: "signin-h" }, "Sign in"),
    reason ? h("p", { class: alert ? "error" : "notice", role: alert ? "alert" : "status" }, reason) : null,
    cognito
      ? h("fieldset", { class: "choice" }, h("legend", {}, "Sign in with"),
          h("label", { for: "m-password" }, usePassword, " user name and password"),
          h("label", { for: "m-key" }, useKey, " an API key"))
      : h("p", {}, "This deployment has no password sign-in: use an API key."),
    byPassword, byKey, error,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  choose();
  mount(root, form);
  (useKey.checked ? key : user).focus();
}
