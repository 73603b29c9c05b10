/**
 * This example's rules: chargen's built-in MemoryQuill rules (the top-level chargen.rules.ts of
 * the chargen repository), with one change: every target goes to the offline `placeholder`
 * provider, so that `npm run example` and the tests build it with no network and no API key.
 *
 * The placeholder is never a fallback: a workspace gets it only by choosing it, here or with
 * `chargen build --provider placeholder`. Delete this file and the example builds as a real
 * MemoryQuill workspace would: with Google Gemini 3 Pro Image (GOOGLE_API_KEY or GEMINI_API_KEY).
 */
import builtIn from "chargen/rules";
import { defineRules } from "chargen";

export default defineRules({
  ...builtIn,
  // "rules": the defaults below decide, whatever provider the YAML names (as the built-in rules do).
  routing: "rules",
  defaults: { ...builtIn.defaults, provider: "placeholder", model: "placeholder-1", read: { provider: "placeholder", model: "placeholder-1" } },
});
