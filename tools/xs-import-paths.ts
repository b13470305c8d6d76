/**
 * Post-build step for the XS host. First it copies the plain JavaScript
 * modules of modules/ (bindings with host functions, which TypeScript cannot
 * parse) into build/. Then it rewrites relative import specifiers in
 * build/ into absolute paths. xsnap names a module by the path it was
 * imported with ("a/b/../../c.js" is not normalised), so one file reached
 * through two relative paths would load twice, with two copies of every
 * class. Absolute specifiers give each file one identity; Node accepts them too.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const buildRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.\.?\/[^"']+)\2/g;

function rewrite(file: string): boolean {
  const source = fs.readFileSync(file, "utf8");
  const directory = path.dirname(file);
  const result = source.replace(SPECIFIER, (_match, keyword: string, quote: string, specifier: string) => {
    return `${keyword}${quote}${path.resolve(directory, specifier)}${quote}`;
  });
  if (result === source) return false;
  fs.writeFileSync(file, result);
  return true;
}

function walk(directory: string, files: string[] = []): string[] {
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) walk(full, files);
    else if (entry.name.endsWith(".js")) files.push(full);
  }
  return files;
}

/** Plain .js modules under modules/ that have a .d.ts beside them: tsc neither compiles nor copies them. */
function copyPlainModules(): number {
  const sourceRoot = path.resolve(buildRoot, "..");
  let copied = 0;
  const visit = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(sourceRoot, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) visit(child);
      else if (entry.name.endsWith(".js") && fs.existsSync(path.join(sourceRoot, child.replace(/\.js$/, ".d.ts")))) {
        fs.mkdirSync(path.join(buildRoot, relative), { recursive: true });
        fs.copyFileSync(path.join(sourceRoot, child), path.join(buildRoot, child));
        copied++;
      }
    }
  };
  visit("modules");
  return copied;
}

const copied = copyPlainModules();
let changed = 0;
for (const file of walk(buildRoot)) if (rewrite(file)) changed++;
if (process.env["VERBOSE"]) process.stdout.write(`xs-import-paths: ${copied} plain modules copied, ${changed} files rewritten\n`);
