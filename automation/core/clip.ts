// Error lines quote what the operator typed (a site, a set, a target). A pasted file or a
// runaway script can make that argument enormous: one word of it is quoted in full, and a
// 100,000-character line drowns the error. Long runs without white space are cut.

const LONGEST = 200;
const KEPT = 60;

/** `text` with every run of more than 200 non-space characters cut to its start and its length. */
export function clipLongWords(text: string): string {
  return text.replace(new RegExp(`\\S{${LONGEST + 1},}`, "g"), (w) => `${w.slice(0, KEPT)}…(${w.length} characters)`);
}
