// Who is signed in: GET /v1/'s `user`, named for people (the ID token's name, email or user
// name) and for keys (the key's title when the key may read itself, else its public prefix).
import { call, enc, tokenClaims } from "./api";
import { h } from "./dom";

export interface Me {
  id: string;
  principals: string[];
  privileges?: string[];
  /** Absent for a key with a bucket scope (it reaches only its scope). */
  bucket?: string;
  /** Present when an API key signed in: its id and, when scoped, its buckets. */
  key?: { id: string; principal: string; buckets?: { id: string; access: "read" | "write" }[] };
}

/** Whether the caller may create buckets: `create_buckets` (or `admin`), and not a scoped key,
 *  which the server refuses whatever it holds. */
export function mayCreateBuckets(m: Me | null): boolean {
  const p = m?.privileges ?? [];
  return (p.includes("create_buckets") || p.includes("admin")) && !m?.key?.buckets;
}
export let me: Me | null = null;
export function setMe(m: Me | null): void {
  me = m;
}

const NAME_CLAIMS = ["name", "email", "cognito:username", "preferred_username", "username"];

async function displayName(m: Me): Promise<string> {
  const claims = tokenClaims();
  if (claims) {
    const named = NAME_CLAIMS.map((k) => claims[k]).find((v) => typeof v === "string" && v);
    return (named as string | undefined) ?? m.id;
  }
  const keyId = m.key?.id;
  if (!keyId) return m.id;
  try {
    const k = (await call<{ data: { title: string } }>("GET", `/v1/keys/${enc(keyId)}`)).body.data;
    return `API key “${k.title}” (bk_${keyId})`;
  } catch {
    return `API key bk_${keyId}`;
  }
}

/** The header: the name, the principal others share with, the areas, sign out. */
export async function header(m: Me, signOut: () => void): Promise<void> {
  const who = document.getElementById("who");
  if (!who) return;
  const name = await displayName(m);
  who.replaceChildren(
    h("nav", { "aria-label": "Areas", class: "areas" }, h("a", { href: "#/" }, "Buckets"), h("a", { href: "#/keys" }, "API keys")),
    h("span", { class: "me" },
      h("span", { id: "who-name" }, name), " ",
      h("span", { id: "principal", class: "mono", title: "Your principal: share buckets with it" }, m.id)),
    h("button", { type: "button", id: "signout", onclick: signOut }, "Sign out"),
  );
}
