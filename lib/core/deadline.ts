/**
 * A promise with a deadline: for calls into code that should settle on its own but might not (a
 * library's bug, a wedged native call). The work is not cancelled, only no longer awaited, so it
 * must be safe to abandon.
 */

/** `work`'s outcome, or the error `late()` makes if `ms` pass first. */
export function settleWithin<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
