import { RegistryError } from '../errors.js';
import type { ImageFailure } from '../plan/lock-plan.js';

/** A failure as scripts read it: image, exit code, message, and the registry and HTTP status when known. */
export function failureJson(f: ImageFailure): object {
  const e = f.error;
  return {
    image: f.image,
    exitCode: e.exitCode,
    message: e.message,
    ...(e instanceof RegistryError && e.registry ? { registry: e.registry } : {}),
    ...(e instanceof RegistryError && e.status ? { status: e.status } : {}),
    ...(e instanceof RegistryError && e.code ? { code: e.code } : {}),
  };
}
