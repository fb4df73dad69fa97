// Renders the PWA icons (committed in public/icons) from the favicon's design, in
// Debian's Chromium through Playwright. Run once after changing the design:
//   node scripts/make-icons.mjs
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "end2end", "package.json"));
const { chromium } = require("@playwright/test");

// "any": the rounded tile. "maskable": full-bleed background, the mark inside the
// central 80 % safe zone.
const glyph = `<path d="M42 22a14 14 0 1 0 0 20" fill="none" stroke="#fff" stroke-width="7" stroke-linecap="round"/><circle cx="44" cy="32" r="4" fill="#f2a900"/>`;
const any = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#1d3f72"/>${glyph}</svg>`;
const maskable = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#1d3f72"/><g transform="translate(32 32) scale(.62) translate(-32 -32)">${glyph}</g></svg>`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu"],
});
const page = await browser.newPage();
for (const [name, svg] of [["icon", any], ["maskable", maskable]]) {
  for (const size of [192, 512]) {
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(
      `<html><body style="margin:0;background:transparent">${svg.replace("<svg ", `<svg width="${size}" height="${size}" `)}</body></html>`,
    );
    await page.screenshot({ path: join(root, "public", "icons", `${name}-${size}.png`), omitBackground: true });
  }
}
await browser.close();
console.log("wrote public/icons/{icon,maskable}-{192,512}.png");
