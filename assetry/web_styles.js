// A PostCSS step of the frontend build (assetry/web_styles.py writes it into .web and lists it in
// postcss.config.js). From Radix Themes' components.css it drops the selectors of components no
// page renders: kept are the `rt-` component classes named in the Radix modules the pages use
// (options.modules), in every module these import, and in our own markup (options.classes);
// a selector goes only when a class outside any parentheses is not kept (inside :not() or
// :has() a missing class may still match); a module that does not exist stops the build.
// From components.css and utilities.css it drops the per-breakpoint classes (`.md\:rt-r-fd-row`)
// no prop can produce: only the props the pages give a value per breakpoint (options.responsive,
// React prop -> breakpoints) make them, through Radix's prop definitions (prop -> class prefix).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const RADIX = path.join(path.dirname(fileURLToPath(import.meta.url)), "node_modules", "@radix-ui", "themes");
const COMPONENT_SHEET = path.join(RADIX, "components.css");
const SHEETS = new Set([COMPONENT_SHEET, path.join(RADIX, "utilities.css")]);
const COMPONENTS = path.join(RADIX, "dist", "esm", "components");
const CLASS = /\brt-[A-Z][A-Za-z0-9]*/g;
const IMPORT = /from\s*"(\.{1,2}\/[^"]+\.js)"/g;
// Radix's prop definitions: `direction:{type:"enum",className:"rt-r-fd",...}`.
const PROP_DEF = /([A-Za-z]+):\{type:"[^"]*",className:"(rt-r-[a-z-]+)"/g;
// A class Radix gives a prop's value at one breakpoint, as a selector writes it: `.md\:rt-r-fd-row`.
const RESPONSIVE = /\.(xs|sm|md|lg|xl)\\:(rt-r-[a-z0-9-]+)/g;

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

// The `bp:rt-r-x` prefixes the pages' responsive props can produce; null: any (a prop not found).
function keptResponsive(responsive, classes) {
  const classNames = new Map();
  for (const folder of ["components", "props"]) {
    for (const file of fs.readdirSync(path.join(RADIX, "dist", "esm", folder))) {
      if (!file.endsWith(".js")) continue;
      const code = fs.readFileSync(path.join(RADIX, "dist", "esm", folder, file), "utf8");
      for (const [, prop, className] of code.matchAll(PROP_DEF)) {
        classNames.set(prop, (classNames.get(prop) ?? new Set()).add(className));
      }
    }
  }
  const kept = new Set(classes.filter((name) => name.includes(":")));
  for (const [prop, breakpoints] of Object.entries(responsive)) {
    if (breakpoints === null || !classNames.has(prop)) return null;
    for (const className of classNames.get(prop)) for (const bp of breakpoints) kept.add(`${bp}:${className}`);
  }
  return kept;
}

function withoutNegations(selector) {
  return selector.replace(/:not\((?:[^()]|\([^()]*\))*\)/g, "");
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

const plugin = ({ modules, classes, responsive }) => {
  const kept = keptClasses(modules, classes);
  const keptAt = keptResponsive(responsive, classes);
  const producible = (bp, name) =>
    keptAt === null || [...keptAt].some((k) => k.startsWith(`${bp}:`) && (name === k.slice(bp.length + 1) || name.startsWith(`${k.slice(bp.length + 1)}-`)));
  const used = (selector, file) =>
    (file !== COMPONENT_SHEET || (outsideParentheses(selector).match(CLASS) ?? []).every((name) => kept.has(name))) &&
    [...withoutNegations(selector).matchAll(RESPONSIVE)].every(([, bp, name]) => producible(bp, name));
  return {
    postcssPlugin: "assetry-radix-components",
    Once(root) {
      root.walkRules((rule) => {
        const file = path.resolve(rule.source?.input?.file ?? "");
        if (!SHEETS.has(file)) return;
        if (rule.parent?.type === "atrule" && rule.parent.name.endsWith("keyframes")) return;
        const selectors = rule.selectors.filter((selector) => used(selector, file));
        if (selectors.length === 0) rule.remove();
        else if (selectors.length < rule.selectors.length) rule.selectors = selectors;
      });
      // @media and @supports blocks left empty, innermost first.
      for (let emptied = true; emptied; ) {
        emptied = false;
        root.walkAtRules((atRule) => {
          if (atRule.nodes?.length === 0 && SHEETS.has(path.resolve(atRule.source?.input?.file ?? ""))) {
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
