/**
 * chargen's default rules, used by every workspace that has no `chargen.rules.ts` of its own,
 * and the documented example of the rules API. Copy it into a workspace to change it; there,
 * import from "chargen" instead of "./src/index.js".
 */
import { chapterImages, defineRules } from "./src/index.js";

export default defineRules({
  rules: [chapterImages({ maxReferencesPerCharacter: 2 })],

  // When neither an entry nor its file's generation_defaults say: the offline placeholder,
  // so that nothing is ever paid for by accident.
  defaults: { provider: "placeholder", format: "png" },

  // Retired or renamed models -> current ones. The MemoryQuill chapter files ask for dall-e-3,
  // retired on 2026-05-12.
  modelMap: {
    "dall-e-3": "gpt-image-1.5",
    "dall-e-2": "gpt-image-1-mini",
    "gpt-image-1": "gpt-image-1.5",
  },

  // A reference that resolves to nothing (or to a missing file) fails its target rather than
  // paying for an image without the character's likeness. "warn" builds without it and says so.
  missingReferences: "fail",

  providers: {
    placeholder: { maxInFlight: 8 },
  },
});
