import { defineConfig } from "vite";

// Relative asset URLs: the page is served under /console/ on AWS and under
// /_aws/execute-api/<api id>/$default/console/ locally. Hashed names (assets/[name]-[hash]) are
// what functions/console caches immutably.
export default defineConfig({
  base: "./",
  build: { target: "es2022", modulePreload: false, assetsInlineLimit: 0, sourcemap: false },
});
