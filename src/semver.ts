/**
 * The few semver functions lg-pins uses, imported one by one: the whole package costs ~45 ms
 * of start-up, these a fraction of it.
 */
import lte from 'semver/functions/lte.js';
import parse from 'semver/functions/parse.js';
import rcompare from 'semver/functions/rcompare.js';
import satisfies from 'semver/functions/satisfies.js';
import validRange from 'semver/ranges/valid.js';

export type { SemVer } from 'semver';
export { lte, parse, rcompare, satisfies, validRange };
