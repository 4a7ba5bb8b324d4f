// Every piece of text that goes into the HTML page passes through `esc`: a step detail or a
// note can hold anything a command printed, and the page must show it, never run it.
const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function esc(text: string | number | undefined): string {
  return String(text ?? "").replace(/[&<>"']/g, (c) => entities[c]);
}
