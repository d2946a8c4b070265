// A bucket's SFTP users: the list (with the command to connect), a new one with his SSH public
// keys, removing one.
import { call, enc } from "./api";
import { copyButton, field, h, showError, toast } from "./dom";
import { pagedTable } from "./table";

export interface SftpUser {
  username: string;
  login: string;
  host: string | null;
  access: "read" | "write";
  ssh_public_keys: { id: string; fingerprint: string; comment: string }[];
  suspended: boolean;
  suspended_reason: string | null;
}
interface SftpUserIn {
  username: string;
  access: "read" | "write";
  ssh_public_keys: string[];
}

/** The OpenSSH command for a login at `host` (`name` or `name:port`: sftp takes the port as -P). */
export function sftpCommand(login: string, host: string): string {
  const m = /^(.*):(\d+)$/.exec(host);
  return m && m[2] !== "22" ? `sftp -P ${m[2]} ${login}@${m[1]}` : `sftp ${login}@${m ? m[1] : host}`;
}

export function sftpPane(path: string): HTMLElement {
  const base = `${path}/users`;
  const list = pagedTable<SftpUser>({
    id: "sftp-users",
    caption: "SFTP users",
    columns: ["User", "Access", "Keys", "Connect with", "Actions"],
    url: () => `${base}?_limit=20`,
    empty: "No SFTP users.",
    row: (u) => {
      const cmd = u.host ? sftpCommand(u.login, u.host) : "";
      return h("tr", { "data-user": u.username },
        h("td", {}, u.username, u.suspended ? h("span", { class: "bad" }, ` (suspended: ${u.suspended_reason ?? ""})`) : null),
        h("td", {}, u.access),
        h("td", { class: "mono" }, u.ssh_public_keys.map((k) => `${k.fingerprint}${k.comment ? ` ${k.comment}` : ""}`).join("; ")),
        h("td", {}, cmd ? [h("code", { class: "mono sftp-cmd" }, cmd), " ", copyButton(() => cmd, `Copy the sftp command of ${u.username}`)] : "SFTP is off on this deployment"),
        h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Remove the SFTP user ${u.username}`, onclick: () => remove(u) }, "Remove")));
    },
  });
  const remove = async (u: SftpUser) => {
    if (!window.confirm(`Remove the SFTP user ${u.username}? His keys stop working.`)) return;
    try {
      await call("DELETE", `${base}/${enc(u.username)}`);
      toast(`Removed ${u.username}`);
      await list.reload();
    } catch (e) {
      showError(e);
    }
  };
  const username = h("input", { id: "sftp-name", required: true, pattern: "[a-z0-9][a-z0-9_\\-]{2,31}", maxlength: 32, autocomplete: "off", "aria-describedby": "sftp-name-hint" });
  const access = h("select", { id: "sftp-access" }, h("option", { value: "read" }, "read (list, download)"), h("option", { value: "write" }, "write (also upload, delete)"));
  const keys = h("textarea", { id: "sftp-keys", required: true, rows: 3, spellcheck: false, placeholder: "ssh-ed25519 AAAA… partner@laptop", "aria-describedby": "sftp-keys-hint" });
  const form = h("form", {
    class: "sub",
    "aria-labelledby": "sftp-new-h",
    onsubmit: async (ev: Event) => {
      ev.preventDefault();
      const body: SftpUserIn = {
        username: username.value.trim(),
        access: access.value as SftpUserIn["access"],
        ssh_public_keys: keys.value.split("\n").map((l) => l.trim()).filter(Boolean),
      };
      try {
        const u = (await call<{ data: SftpUser }>("POST", base, body)).body.data;
        toast(`Added ${u.username}: login ${u.login}`);
        form.reset();
        await list.reload();
      } catch (e) {
        showError(e);
      }
    },
  },
    h("h3", { id: "sftp-new-h" }, "Add an SFTP user"),
    h("div", { class: "row" }, field("User name", username), field("Access", access)),
    h("p", { id: "sftp-name-hint", class: "muted" }, "3–32 of a-z, 0-9, _ and -. He signs in as <bucket id>.<user name>."),
    field("SSH public keys (one a line)", keys),
    h("p", { id: "sftp-keys-hint", class: "muted" }, "ssh-ed25519, ecdsa-sha2-nistp256/384/521, or ssh-rsa of 2048–4096 bits; at most 10."),
    h("button", { type: "submit", id: "sftp-add" }, "Add user"),
  );
  void list.reload();
  return h("section", { class: "card", id: "sftp-pane", "aria-labelledby": "sftp-h" },
    h("h2", { id: "sftp-h" }, "SFTP users"),
    h("p", { class: "muted" }, "People you give SFTP see this bucket's files at the root of their session; write users may upload and delete. Writers of the bucket manage them."),
    list.root, form,
  );
}
