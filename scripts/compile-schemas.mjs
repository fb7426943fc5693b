// Compile the JSON Schemas in schemas/ into standalone ajv validators (CommonJS) under
// dist/schemas-compiled/, so that a run validates without loading ajv or generating code at
// start-up (~250 ms saved). Each file records the sha256 of its schema; src/config/schema.ts uses
// a compiled validator only when that hash matches the schema it would read, else compiles.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standalone from 'ajv/dist/standalone/index.js';
import { AJV_OPTIONS } from '../dist/config/ajv-options.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'schemas-compiled');
mkdirSync(out, { recursive: true });
for (const name of readdirSync(join(root, 'schemas')).filter((f) => f.endsWith('.schema.json'))) {
  const text = readFileSync(join(root, 'schemas', name), 'utf8');
  const ajv = new Ajv2020({ ...AJV_OPTIONS, code: { source: true } });
  const validate = ajv.compile(JSON.parse(text));
  const hash = createHash('sha256').update(text).digest('hex');
  writeFileSync(join(out, `${name}.cjs`), `${standalone.default(ajv, validate)}\nmodule.exports.schemaHash = ${JSON.stringify(hash)};\n`);
}
