import { ChargenError } from "../errors.js";

export const NO_API_KEY = "NO_API_KEY";

/**
 * The API key from the first of `names` that is set. Asked for at the first request, not when
 * the provider is created, so that `--check` and `--dry-run` never need a key.
 */
export function requireKey(provider: string, env: NodeJS.ProcessEnv, names: readonly string[]): string {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  throw new ChargenError("provider", `${provider}: no API key: set ${names.join(" or ")} (nothing was sent to ${provider})`, {
    code: NO_API_KEY,
  });
}
