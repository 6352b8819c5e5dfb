/** What happens to the text between the model and the paste: replacements and the trailing space. */

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whole-word (or whole-phrase), case-insensitive replacements in one pass, longest match first. */
export function applyReplacements(text: string, replacements: Record<string, string>): string {
  const byLower = new Map(Object.entries(replacements).map(([from, to]) => [from.toLowerCase(), to]));
  if (byLower.size === 0) return text;
  const alternatives = [...byLower.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
  return text.replace(re, (m) => byLower.get(m.toLowerCase()) ?? m);
}

export function finishText(text: string, o: { replacements: Record<string, string>; trailingSpace: boolean }): string {
  const t = applyReplacements(text.trim(), o.replacements);
  return t && o.trailingSpace ? `${t} ` : t;
}
