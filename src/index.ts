/** lg-pins programmatic API. The CLI is a thin layer over these functions. */
export { lock, type LockOptions, type LockResult, type LockCallbacks } from './run/lock.js';
export { resolveImages } from './run/resolve.js';
export { pins, selectPins, type PinFilter, type PinRow } from './run/pins.js';
export { inspect, type InspectResult } from './run/inspect.js';
export { mirror, type MirrorOptions, type MirrorResult, type MirrorCopy } from './run/mirror.js';
export { loadSpec, parseSpec, findSpec, type LoadOptions } from './config/load.js';
export type { Spec, Image, Group, SourceRef } from './config/spec.js';
export type { SpecFile, ImageSpec, GroupSpec, RegistrySettings, Cadence, OnMissing } from './config/types.js';
export type { Lock, LockImage, LockPlatform, FleetPin } from './lock/model.js';
export { readLock, parseLock } from './lock/read.js';
export { serializeLock } from './lock/serialize.js';
export { planLock, type LockPlan, type ImageOutcome, type ImageFailure } from './plan/lock-plan.js';
export { chooseTag, candidates } from './plan/cadence.js';
export { parseReference, parseRepository, type ImageRef } from './reference.js';
export { parsePlatform, normalizePlatform, platformKey, unameToPlatform, bestMatch, type Platform } from './platform.js';
export { computeDigest, parseDigest, isDigest, type Digest } from './digest.js';
export { RegistryClient, type ClientOptions } from './registry/client.js';
export type { Resolution, PlatformEntry } from './registry/resolve.js';
export {
  ExitCode,
  LgPinsError,
  BadInputError,
  UsageError,
  SpecError,
  LockError,
  AuthConfigError,
  FileError,
  PlatformError,
  InvalidReferenceError,
  UnavailableError,
  RegistryError,
  GitHostError,
  CoverageError,
  IntegrityError,
  InternalError,
  type SpecIssue,
} from './errors.js';
export { VERSION } from './version.js';

/** Type helper for a spec written in code (e.g. in tests or generators). */
export function defineConfig<T extends import('./config/types.js').SpecFile>(spec: T): T {
  return spec;
}
