// One Lighthouse run (default mobile config) in a Chromium that puppeteer-core starts, for
// scripts/lighthouse.py. Why not the lighthouse CLI: its --extra-headers cookie reaches the page's
// HTTP requests but not the WebSocket handshake, so the wallet socket was refused (a console error
// and a reconnect loop a real customer never sees). Here the session is a real cookie.
//   node scripts/lighthouse_run.mjs URL OUT.json CHROMIUM [COOKIE_NAME=VALUE]
// Module resolution: run with NODE_PATH=.lighthouse/node_modules (imports below are resolved from it).
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [url, out, chromium, cookie] = process.argv.slice(2);
const modules = path.resolve(process.env.LIGHTHOUSE_MODULES || ".lighthouse/node_modules");
const require = createRequire(path.join(modules, "noop.js"));
const puppeteer = (await import(require.resolve("puppeteer-core"))).default;
const lighthouse = (await import(require.resolve("lighthouse"))).default;

const browser = await puppeteer.launch({
  executablePath: chromium, headless: true,
  args: ["--headless=new", "--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  if (cookie) {
    const at = cookie.indexOf("=");
    await page.setCookie({ name: cookie.slice(0, at), value: cookie.slice(at + 1), url });
  }
  const result = await lighthouse(url, {
    output: "json", logLevel: "error", onlyCategories: ["performance", "accessibility", "best-practices"],
  }, undefined, page);
  if (!result) { throw new Error("no Lighthouse result"); }
  fs.writeFileSync(out, result.report);
} finally {
  await browser.close();
}
