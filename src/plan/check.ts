import * as semver from '../semver.js';
import type { Spec } from '../config/spec.js';
import type { Lock } from '../lock/model.js';
import { bestMatch, canRunKey, parsePlatform, type Platform } from '../platform.js';
import { tagVersion } from './cadence.js';
import { describePolicy, signerProblem } from './signer.js';
import { own } from '../safe/dict.js';
import type { OutputChanges, OutputProblem, RenderedOutput } from './outputs.js';

export interface Stale {
  image?: string;
  group?: string;
  message: string;
}

const q = JSON.stringify;

function platformOf(key: string): Platform | undefined {
  try {
    return parsePlatform(key);
  } catch {
    return undefined;
  }
}

/**
 * Pure and offline: where the lock no longer agrees with the spec. Every image and group of
 * the spec must be locked, with the same ref, a tag the spec allows, and pins that are the
 * best match of each group's platform among the locked platforms (or a hold the spec allows).
 */
export function checkLock(spec: Spec, lock: Lock): Stale[] {
  const stale: Stale[] = [];
  for (const image of Object.values(spec.images)) {
    const entry = own(lock.images, image.id);
    if (!entry) {
      stale.push({ image: image.id, message: `image ${q(image.id)} is in the spec but not in the lock` });
      continue;
    }
    if (entry.ref !== image.ref)
      stale.push({ image: image.id, message: `image ${q(image.id)}: the spec's ref is ${image.ref}, the lock has ${entry.ref}` });
    if (image.tag !== undefined && entry.tag !== image.tag) {
      stale.push({ image: image.id, message: `image ${q(image.id)}: the spec pins tag ${image.tag}, the lock has ${entry.tag}` });
    }
    if ((entry.track ?? undefined) !== image.track) {
      const was = entry.track !== undefined ? `track ${q(entry.track)}` : `tag ${entry.tag}`;
      const now = image.track !== undefined ? `track ${q(image.track)}` : `tag ${image.tag ?? '?'}`;
      if (image.track !== undefined || entry.tag === image.tag)
        stale.push({ image: image.id, message: `image ${q(image.id)}: the spec says ${now}, the lock was made for ${was}` });
    }
    const policy = image.verify?.cosign;
    const signer = signerProblem(policy, entry.verifiedBy);
    if (signer) {
      stale.push({
        image: image.id,
        message: policy
          ? `image ${q(image.id)}: the spec requires a ${policy.kind === 'key' ? 'signature by' : 'keyless signature by'} ${describePolicy(policy)}, and the lock's pin ${signer}`
          : `image ${q(image.id)}: the lock's pin ${signer}`,
      });
    }
    if (image.track !== undefined) {
      const v = tagVersion(entry.tag);
      if (!v || !semver.satisfies(v, image.track, { includePrerelease: image.prerelease })) {
        stale.push({ image: image.id, message: `image ${q(image.id)}: the locked tag ${entry.tag} is outside track ${q(image.track)}` });
      }
    }
  }
  for (const id of Object.keys(lock.images)) {
    if (!own(spec.images, id)) stale.push({ image: id, message: `image ${q(id)} is in the lock but no longer in the spec` });
  }
  for (const g of Object.values(spec.fleet)) {
    const pins = own(lock.fleet, g.id);
    if (!pins) {
      stale.push({ group: g.id, message: `group ${q(g.id)} is in the spec but not in the lock` });
      continue;
    }
    for (const id of Object.keys(pins)) {
      if (own(spec.images, id) && !g.images.includes(id))
        stale.push({ group: g.id, image: id, message: `group ${q(g.id)} no longer runs image ${q(id)}, but the lock pins it` });
    }
    for (const id of g.images) {
      const entry = own(lock.images, id);
      const pin = own(pins, id);
      if (!entry) continue; // reported above
      if (!pin) {
        stale.push({ group: g.id, image: id, message: `group ${q(g.id)} has no pin for image ${q(id)}` });
        continue;
      }
      if (!canRunKey(g.platform, pin.platform)) {
        stale.push({
          group: g.id,
          image: id,
          message: `group ${q(g.id)} is ${g.platformKey}, but its pin of ${q(id)} is for ${pin.platform}`,
        });
        continue;
      }
      const keys = Object.keys(entry.platforms);
      const best = bestMatch(
        g.platform,
        keys.map((k) => platformOf(k) ?? { os: 'unknown', architecture: 'unknown' }),
      );
      const bestKey = best === undefined ? undefined : keys[best];
      if (pin.tag !== undefined && !pin.held) {
        // A follower waiting for its leader (rollout rings) stays on an older release: consistent.
        if (g.after === undefined)
          stale.push({
            group: g.id,
            image: id,
            message: `group ${q(g.id)} stays on ${pin.tag} of ${q(id)}, but follows no group (after) any more; run \`lg-pins lock\``,
          });
        continue;
      }
      if (pin.held) {
        if (g.onMissing !== 'hold')
          stale.push({
            group: g.id,
            image: id,
            message: `group ${q(g.id)} is held on ${pin.tag ?? '?'} for ${q(id)}, but the spec no longer says onMissing: hold`,
          });
        else if (bestKey)
          stale.push({
            group: g.id,
            image: id,
            message: `group ${q(g.id)} is held on ${pin.tag ?? '?'}, but ${entry.tag} now ships ${bestKey}; the hold can be released`,
          });
        continue;
      }
      if (bestKey !== pin.platform) {
        stale.push({
          group: g.id,
          image: id,
          message: `group ${q(g.id)} pins ${pin.platform} of ${q(id)}, but the best match for ${g.platformKey} in ${entry.tag} is ${bestKey ?? 'none'}`,
        });
      } else if (own(entry.platforms, pin.platform)?.digest !== pin.digest) {
        stale.push({
          group: g.id,
          image: id,
          message: `group ${q(g.id)}: its pin ${pin.digest} of ${q(id)} is not the ${pin.platform} digest of ${entry.tag}`,
        });
      }
    }
  }
  for (const g of Object.keys(lock.fleet)) {
    if (!own(spec.fleet, g)) stale.push({ group: g, message: `group ${q(g)} is in the lock but no longer in the spec` });
  }
  return stale;
}

/**
 * Pure: the deploy outputs that do not match what the lock renders: missing, different (a foreign
 * file at an output path included), no longer produced, or not renderable at all.
 */
export function checkOutputs(o: { files: readonly RenderedOutput[]; changes: OutputChanges; problems: readonly OutputProblem[] }): Stale[] {
  const stale: Stale[] = o.problems.map((p) => ({ message: `output ${p.path} cannot be rendered: ${p.message}` }));
  const foreign = new Set(o.changes.foreign);
  for (const f of o.changes.write) {
    const what = o.changes.missing.includes(f.path) ? 'is missing' : 'differs from what the lock renders';
    stale.push({ message: `output ${f.path} ${what}; run \`lg-pins render\`` });
  }
  for (const p of foreign)
    stale.push({
      message: `output ${p} is not a file lg-pins wrote (no "Generated by lg-pins" header); move it away, then run \`lg-pins render\``,
    });
  for (const p of o.changes.remove)
    stale.push({ message: `output ${p} is no longer produced by the spec; run \`lg-pins render\` to remove it` });
  return stale;
}
