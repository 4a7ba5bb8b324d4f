// The restore_command a restored copy runs, in its synchronous form for the moment it opens (or,
// for a short replay, from the start: ../restore/run.ts).
//
// When recovery ends, PostgreSQL fetches the segment it ended in once more (the new timeline
// starts from it) and asks for the next timeline's history. pgBackRest's asynchronous
// archive-get, which prefetches segments while replay runs, answers such a one-off request for
// a segment no longer in its queue by starting its background process and polling for the file:
// 0.46 s on the lab for one segment, against 0.08 s for the same segment fetched synchronously.

const ARCHIVE_GET = / archive-get /;

/**
 * `command` with pgBackRest's archive-get made synchronous (`--no-archive-async`), or undefined
 * when it is not pgBackRest's archive-get or already synchronous.
 */
export function synchronousArchiveGet(command: string): string | undefined {
  if (!/^\s*\S*pgbackrest\s/.test(command) || !ARCHIVE_GET.test(command) || /--no-archive-async\b|--archive-async=n\b/.test(command)) return undefined;
  return command.replace(ARCHIVE_GET, " --no-archive-async archive-get ");
}

/**
 * postgresql.auto.conf's text with its restore_command made synchronous (synchronousArchiveGet),
 * or undefined when there is nothing to change. The value is edited as written, quoted: the
 * option added holds no quote, so the file's own escaping stays valid whichever form it uses.
 */
export function synchronousAutoConf(text: string): string | undefined {
  const edited = text.replace(/^(\s*restore_command\s*=\s*')(.*)('\s*(#.*)?)$/gm, (line, head: string, value: string, tail: string) => {
    const synchronous = synchronousArchiveGet(value);
    return synchronous === undefined ? line : `${head}${synchronous}${tail}`;
  });
  return edited === text ? undefined : edited;
}
