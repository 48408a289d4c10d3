/**
 * Failpoints for crash testing (as etcd's gofail or TiKV's fail-rs): TRIBUTARY_FAILPOINTS names
 * points in the code and the hit on which the process kills itself outright (SIGKILL, no cleanup),
 * e.g. "flush.before-commit@2,fold.after@5". Unset, a failpoint is one Map lookup.
 */
const armed = new Map<string, number>();
const hits = new Map<string, number>();

for (const spec of (process.env.TRIBUTARY_FAILPOINTS ?? '').split(',').filter(Boolean)) {
  const [name, at] = spec.split('@');
  if (name) armed.set(name.trim(), Number(at ?? 1));
}

export function failpoint(name: string): void {
  const at = armed.get(name);
  if (at === undefined) return;
  const count = (hits.get(name) ?? 0) + 1;
  hits.set(name, count);
  if (count === at) {
    process.stderr.write(
      `${JSON.stringify({ level: 'warn', event: 'failpoint-triggered', failpoint: name, hit: count })}\n`,
    );
    process.kill(process.pid, 'SIGKILL');
  }
}
