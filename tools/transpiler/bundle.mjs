// Build-time only (run by src/Codebuff.Cli/Codebuff.Cli.csproj): packs Sucrase's CommonJS modules, reached from its
// entry point by their require() calls, into one script that defines a global `sucrase` when evaluated (by Jint in
// the CLI). No Node.js is needed at run time.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? resolve(here, 'sucrase.bundle.js');
const entry = createRequire(resolve(here, 'package.json')).resolve('sucrase');
const ids = new Map();
const order = [];

function visit(file) {
  if (ids.has(file)) return ids.get(file);
  const id = relative(here, file).split('\\').join('/');
  ids.set(file, id);
  const source = readFileSync(file, 'utf8');
  const requireOf = createRequire(file);
  const deps = {};
  order.push({ id, source, deps });
  for (const m of source.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = m[1];
    if (spec in deps) continue;
    let target;
    // Some matches are text Sucrase writes into its output (e.g. "require('${path}')"), not modules it loads.
    try { target = requireOf.resolve(spec); } catch { continue; }
    deps[spec] = visit(target);
  }
  return id;
}

const root = visit(entry);
let text = '(function (global) {\n"use strict";\nvar defs = {}, cache = {};\n';
for (const { id, source, deps } of order) {
  text += `defs[${JSON.stringify(id)}] = [${JSON.stringify(deps)}, function (module, exports, require) {\n${source}\n}];\n`;
}
text += `function load(id) {
  if (cache[id]) return cache[id].exports;
  var def = defs[id], module = { exports: {} };
  cache[id] = module;
  def[1](module, module.exports, function (spec) {
    if (!(spec in def[0])) throw new Error('sucrase bundle: ' + id + ' requires ' + spec + ', which was not bundled');
    return load(def[0][spec]);
  });
  return module.exports;
}
global.sucrase = load(${JSON.stringify(root)});
})(this);
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, text);
console.log(`bundled ${order.length} modules of sucrase into ${out} (${text.length} chars)`);
