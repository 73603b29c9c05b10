import { ChargenError } from "../core/errors.js";

export const NO_API_KEY = "NO_API_KEY";

/** Where each provider's credentials are read from: alternatives, the first set wins. */
export const GOOGLE_KEY_ENV = ["GOOGLE_API_KEY", "GEMINI_API_KEY"];
export const OPENAI_KEY_ENV = ["OPENAI_API_KEY"];
export const WORKERS_AI_TOKEN_ENV = ["CLOUDFLARE_API_TOKEN"];
export const WORKERS_AI_ACCOUNT_ENV = ["CLOUDFLARE_ACCOUNT_ID"];

/**
 * Before anything is sent: the variables a provider needs that are unset (each group is a list of
 * alternatives, first found wins), as the one error a build reports for it; undefined when all are set.
 */
export function missingCredentials(provider: string, env: NodeJS.ProcessEnv, groups: readonly (readonly string[])[]): ChargenError | undefined {
  const missing = groups.filter((names) => names.length && !names.some((n) => env[n]?.trim()));
  if (!missing.length) return undefined;
  const vars = missing.map((names) => names.join(" or ")).join(" and ");
  return new ChargenError(
    "provider",
    `${provider}: no API key: set ${vars} (nothing was sent to ${provider}; for a rehearsal without a key: --provider placeholder)`,
    { code: NO_API_KEY },
  );
}

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
