/**
 * Whether a string holds a C0 control character, DEL, or a C1 control character (U+0080–U+009F).
 * Such characters in a method, path, query or host are log-injection or request-smuggling material;
 * records carrying them are rejected (never silently stripped, so nothing is hidden from the dead-letter).
 */
export function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || (c >= 127 && c <= 159)) return true;
  }
  return false;
}
