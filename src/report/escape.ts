/**
 * Text from the workspace (ids, paths, YAML values, provider messages) is printed only through
 * these: a control character in an id must not move the cursor, colour the terminal, start a
 * new line that a CI runner reads as a command (`::add-mask::`), or split a tab-separated row.
 */

// C0 and C1 controls, DEL, the Unicode line and paragraph separators, and bidirectional
// overrides (which reorder what is shown, "Trojan source").
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\x1b" };

/** `text` with every control character shown as an escape (`\n`, `\x1b`, `\u202e`): one line, inert. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => NAMED[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

const hex = (c: string, width: number) => c.charCodeAt(0).toString(16).padStart(width, "0");

// GitHub's workflow commands: data escapes %, CR and LF; a property value also `:` and `,`.
const escapeData = (text: string) => text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (text: string) => escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** A GitHub Actions workflow command (`::warning file=F,line=L::message`), escaped per its spec and printable. */
export function workflowCommand(command: string, properties: Record<string, string | number>, message: string): string {
  const props = Object.entries(properties).map(([k, v]) => `${k}=${escapeProperty(String(v))}`).join(",");
  return printable(`::${command}${props ? ` ${props}` : ""}::${escapeData(message)}`);
}
