import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SPEC_KEYS } from '../../src/config/types.js';
import { LOCK_KEYS } from '../../src/lock/model.js';

const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../schemas/${name}`, import.meta.url), 'utf8')) as {
    properties: Record<string, unknown>;
    $defs: Record<string, { properties: Record<string, Nested> }>;
  };
interface Nested {
  properties?: Record<string, Nested>;
  else?: Nested;
}

const keys = (o: object) => Object.keys(o).sort();

describe('types do not drift from the schemas', () => {
  const spec = load('lg-pins.schema.json');
  const lock = load('lg-pins.lock.schema.json');

  it.each([
    ['spec root', spec.properties, SPEC_KEYS.root],
    ['registry', spec.$defs.registry!.properties, SPEC_KEYS.registry],
    ['image', spec.$defs.image!.properties, SPEC_KEYS.image],
    ['group', spec.$defs.group!.properties, SPEC_KEYS.group],
    ['group hostsFrom', spec.$defs.group!.properties.hostsFrom!.properties!, SPEC_KEYS.hostsFrom],
    ['lock root', lock.properties, LOCK_KEYS.root],
    ['lock image', lock.$defs.image!.properties, LOCK_KEYS.image],
    ['lock platform', lock.$defs.platform!.properties, LOCK_KEYS.platform],
    ['lock pin', lock.$defs.pin!.properties, LOCK_KEYS.pin],
    ['output', spec.$defs.output!.properties, SPEC_KEYS.output],
    ['verify.cosign', spec.$defs.image!.properties.verify!.properties!.cosign!.properties!, SPEC_KEYS.cosign],
    ['lock keyless signer', lock.$defs.image!.properties.verifiedBy!.else!.properties!, LOCK_KEYS.signer],
  ])('%s has the same keys in the schema and the TypeScript type', (_name, schemaProps, typeKeys) => {
    expect(keys(schemaProps)).toEqual(keys(typeKeys));
  });
});
