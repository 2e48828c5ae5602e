/** Rules for text the system stores and shows to people, shared by every layer. */

/** A problem with one field, by its path. */
export interface Issue {
  path: string;
  message: string;
}

/** PostgreSQL text and jsonb refuse NUL and unpaired surrogates. */
export function isStorableText(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
  return !/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/**
 * Characters a person cannot read for what they are: C0 and C1 controls, the bidirectional
 * controls that reorder text on screen (U+202E turns "abc" around), zero-width characters,
 * the line and paragraph separators, and U+FFFD, which only text decoded wrongly holds.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
export const UNREADABLE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufffd]/u;
