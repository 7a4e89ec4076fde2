// A PostCSS step of the frontend build (assetry/web_styles.py writes it into .web and lists it in
// postcss.config.js): drops from Radix Themes' components.css the selectors of components no
// page renders. Kept are the `rt-` component classes named in the Radix modules the pages use
// (options.modules), in every module these import, and in our own markup (options.classes).
// A selector goes only when a class outside any parentheses is not kept (inside :not() or
// :has() a missing class may still match); a module that does not exist stops the build.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const RADIX = path.join(path.dirname(fileURLToPath(import.meta.url)), "node_modules", "@radix-ui", "themes");
const SHEET = path.join(RADIX, "components.css");
const COMPONENTS = path.join(RADIX, "dist", "esm", "components");
const CLASS = /\brt-[A-Z][A-Za-z0-9]*/g;
const IMPORT = /from\s*"(\.{1,2}\/[^"]+\.js)"/g;

function keptClasses(modules, classes) {
  const kept = new Set(classes);
  const seen = new Set();
  const queue = modules.map((name) => path.join(COMPONENTS, `${name}.js`));
  while (queue.length) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    if (!fs.existsSync(file)) throw new Error(`web_styles.js: no Radix Themes module ${file}`);
    const code = fs.readFileSync(file, "utf8");
    for (const [name] of code.matchAll(CLASS)) kept.add(name);
    for (const [, relative] of code.matchAll(IMPORT)) queue.push(path.resolve(path.dirname(file), relative));
  }
  return kept;
}

function outsideParentheses(selector) {
  let depth = 0;
  let out = "";
  for (const char of selector) {
    if (char === "(") depth += 1;
    if (depth === 0) out += char;
    if (char === ")") depth -= 1;
  }
  return out;
}

const plugin = ({ modules, classes }) => {
  const kept = keptClasses(modules, classes);
  const used = (selector) => (outsideParentheses(selector).match(CLASS) ?? []).every((name) => kept.has(name));
  return {
    postcssPlugin: "assetry-radix-components",
    Once(root) {
      root.walkRules((rule) => {
        if (path.resolve(rule.source?.input?.file ?? "") !== SHEET) return;
        if (rule.parent?.type === "atrule" && rule.parent.name.endsWith("keyframes")) return;
        const selectors = rule.selectors.filter(used);
        if (selectors.length === 0) rule.remove();
        else if (selectors.length < rule.selectors.length) rule.selectors = selectors;
      });
      // @media and @supports blocks left empty, innermost first.
      for (let emptied = true; emptied; ) {
        emptied = false;
        root.walkAtRules((atRule) => {
          if (atRule.nodes?.length === 0 && path.resolve(atRule.source?.input?.file ?? "") === SHEET) {
            atRule.remove();
            emptied = true;
          }
        });
      }
    },
  };
};
plugin.postcss = true;
export default plugin;
