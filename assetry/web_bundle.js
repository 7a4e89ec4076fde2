// Which Radix and Lucide modules the signed-out pages need: Vite's code-splitting groups put
// these in the `ui` file and the others (dialogs, menus, selects of signed-in pages) in `ui-app`
// (assetry/web_bundle.py writes this file into .web and names it in vite.config.js).
//
// Rolldown hands each group's `name` the module graph. From the public pages' route modules
// (and the app's root) the walk goes down their imports. An index that only re-exports a
// library's parts (Radix Themes' index, the `radix-ui` packages) is not walked through: the
// walk follows only the parts a module imports from it by name (`Callout` from Radix Themes is
// `components/callout.js`; `Slot` from `radix-ui` is `@radix-ui/react-slot`). A part it cannot
// place sends the walk through the whole index: more in `ui`, never a page missing a component.

export const UI = /node_modules[\\/](@radix-ui|radix-ui|lucide-react)[\\/]/;

// Import specifier -> the index module it resolves to.
const INDEXES = [
  ["@radix-ui/themes", /[\\/]@radix-ui[\\/]themes[\\/]dist[\\/]esm[\\/]index\.js$/],
  ["radix-ui", /[\\/]node_modules[\\/]radix-ui[\\/]dist[\\/]index\.mjs$/],
  ["radix-ui/internal", /[\\/]node_modules[\\/]radix-ui[\\/]dist[\\/]internal\.mjs$/],
];
const THEMES_COMPONENTS = /[\\/]@radix-ui[\\/]themes[\\/]dist[\\/]esm[\\/]components[\\/]index\.js$/;
const NAMED_IMPORT = /import\s*\{([^}]*)\}\s*from\s*["']([^"']+)["']/g;
const NAMESPACE_IMPORT = /import\s*\*\s*as\s+([\w$]+)\s+from\s*["']([^"']+)["']/g;

const kebab = (name) => name.replace(/[a-z0-9][A-Z]/g, (pair) => `${pair[0]}-${pair[1]}`).toLowerCase();
const fileName = (id) => id.split(/[\\/]/).pop().split("?")[0];
const indexOf = (id) => INDEXES.find(([, pattern]) => pattern.test(id));

// (local name, specifier) of each named and namespace import in a module's code.
function imports(code) {
  const found = [];
  for (const [, names, specifier] of code.matchAll(NAMED_IMPORT)) {
    for (const part of names.split(",")) {
      const [name, local] = part.trim().split(/\s+as\s+/);
      if (name) found.push({ name, local: local ?? name, specifier });
    }
  }
  for (const [, local, specifier] of code.matchAll(NAMESPACE_IMPORT)) {
    found.push({ name: "*", local, specifier });
  }
  return found;
}

// The module an index gives for `name`, or null.
function part(ctx, index, name) {
  const info = ctx.getModuleInfo(index);
  if (!info) return null;
  if (index.includes("@radix-ui/themes")) {
    // Minified re-exports: Radix Themes names a component's file after it (TextField: text-field.js).
    const components = info.importedIds.filter((id) => THEMES_COMPONENTS.test(id));
    const files = components.flatMap((id) => ctx.getModuleInfo(id)?.importedIds ?? []);
    return files.find((id) => fileName(id) === `${kebab(name)}.js`) ?? null;
  }
  // `radix-ui`: `import * as Slot from "@radix-ui/react-slot"`, exported under the same name.
  const from = imports(info.code ?? "").find((imported) => imported.local === name);
  if (!from) return null;
  const folder = `/node_modules/${from.specifier}/`;
  return info.importedIds.find((id) => id.replaceAll("\\", "/").includes(folder)) ?? null;
}

// publicModules: the files under .web/app of the app's root and of its public pages' routes.
export function publicUi(publicModules) {
  const isPublic = (id) => publicModules.some((file) => id.replaceAll("\\", "/").split("?")[0].endsWith(`/app/${file}`));
  const seen = [];
  let needed;

  function walk(ctx) {
    // Every module that imports a UI module, directly or not: the public routes among them.
    const above = new Set(seen);
    const queue = [...seen];
    while (queue.length) {
      for (const importer of ctx.getModuleInfo(queue.pop())?.importers ?? []) {
        if (!above.has(importer)) {
          above.add(importer);
          queue.push(importer);
        }
      }
    }
    const result = new Set();
    const down = [...above].filter(isPublic);
    const visited = new Set(down);
    const visit = (id) => {
      if (id && !visited.has(id)) {
        visited.add(id);
        down.push(id);
      }
    };
    while (down.length) {
      const id = down.pop();
      const info = ctx.getModuleInfo(id);
      if (!info) continue;
      if (UI.test(id)) result.add(id);
      const byName = new Map();
      for (const imported of imports(info.code ?? "")) {
        const index = info.importedIds.find((next) => indexOf(next)?.[0] === imported.specifier);
        if (index) byName.set(index, [...(byName.get(index) ?? []), imported.name]);
      }
      for (const next of info.importedIds) {
        if (!indexOf(next)) {
          visit(next);
          continue;
        }
        result.add(next);
        const parts = (byName.get(next) ?? ["*"]).map((name) => (name === "*" ? null : part(ctx, next, name)));
        if (parts.includes(null)) {
          // Not placed: the whole index, walked through.
          for (const all of ctx.getModuleInfo(next)?.importedIds ?? []) visit(all);
        } else parts.forEach(visit);
      }
    }
    return result;
  }

  return {
    test(id) {
      if (!UI.test(id)) return false;
      seen.push(id);
      return true;
    },
    name(id, ctx) {
      if (needed === undefined) needed = walk(ctx);
      return needed.has(id) ? "ui" : null;
    },
  };
}
