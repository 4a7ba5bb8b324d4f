// Command modules load when a command runs, not when `dr` starts: `dr --help`, `--version` and a
// usage error need only commander, while the command modules bring zod, pg, yaml and some 200
// files of ours (about 0.2 s of CPU, two thirds of a compiled start).

type Functions<M> = { [K in keyof M as M[K] extends (...args: never[]) => unknown ? K : never]: M[K] };

/**
 * A module's functions, each loading the module (`load`, a require) at its first call. Only
 * functions can be taken this way: a value would need the module at once.
 */
export function lazyFunctions<M extends object>(load: () => M): Functions<M> {
  let loaded: M | undefined;
  return new Proxy({} as Functions<M>, {
    get: (_, name) =>
      (...args: unknown[]) => {
        loaded ??= load();
        return (loaded[name as keyof M] as (...a: unknown[]) => unknown)(...args);
      },
  });
}
