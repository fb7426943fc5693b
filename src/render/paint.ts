/** How a renderer marks its own labels (error:, held:, ✓): colour on a terminal, nothing elsewhere. */
export interface Paint {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
}

/** A command's human output, in order: what goes to stdout (the result) and to stderr (notes, errors). */
export type Output = Array<['stdout' | 'stderr', string]>;

/** The `--json` document of a command: one JSON document on stdout, with a trailing newline. */
export function jsonDocument(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export const shortDigest = (d: string) => d.slice(0, 19);
