#!/usr/bin/env node
/**
 * The `tributary` command: run, coordinator, worker, stack, status, new. Every subcommand has
 * --help; a bad argument line gets exit status 2 and one line per problem.
 */
import { helpText, parseArgs, type CommandSpec, type Parsed } from './args.js';
import { newCommand, scaffold } from './new.js';
import { run, runCommand } from './run.js';
import { coordinatorCommand, requireWorkerIdentity, runService, workerCommand } from './services.js';
import { provisionCli, provisionCommand } from './provision.js';
import { stack, stackCommand } from './stack.js';
import { status, statusCommand } from './status.js';

interface Command {
  readonly spec: CommandSpec;
  readonly check?: (parsed: Parsed) => void;
  /** Resolves to an exit status, or never (services run until stopped). */
  readonly main: (parsed: Parsed) => Promise<number | void> | number;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  run: { spec: runCommand, main: run },
  coordinator: { spec: coordinatorCommand, main: (p) => runService('coordinator', p) },
  worker: { spec: workerCommand, check: requireWorkerIdentity, main: (p) => runService('worker', p) },
  stack: { spec: stackCommand, main: stack },
  provision: { spec: provisionCommand, main: provisionCli },
  status: { spec: statusCommand, main: status },
  new: { spec: newCommand, main: scaffold },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;
  return [
    'tributary: asynchronous federated learning over Apache Kafka',
    '',
    'Usage: tributary <command> [arguments] [flags]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.spec.summary}`),
    '',
    'tributary <command> --help describes one.',
    '',
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number | void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const { PACKAGE_ROOT } = await import('../lib/run/processes.js');
    const { readFileSync } = await import('node:fs');
    console.log(
      (JSON.parse(readFileSync(`${PACKAGE_ROOT}/package.json`, 'utf8')) as { version: string }).version,
    );
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(
      `${JSON.stringify(name)}: unknown command (one of ${Object.keys(COMMANDS).join(', ')}; tributary --help)`,
    );
    return 2;
  }
  const parsed = parseArgs(command.spec, rest);
  if (parsed.help) {
    process.stdout.write(helpText(command.spec));
    return 0;
  }
  command.check?.(parsed);
  if (parsed.problems.length > 0) {
    for (const problem of parsed.problems) console.error(problem);
    return 2;
  }
  return command.main(parsed);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exit(code);
  },
  (error: unknown) => {
    const code = (error as { code?: string }).code;
    console.error(
      code === 'TRIB_CONFIG_INVALID' || !(error instanceof Error)
        ? String((error as Error).message ?? error)
        : error.message,
    );
    process.exit(code === 'TRIB_CONFIG_INVALID' || code === 'TRIB_TASK_LOAD_FAILED' ? 2 : 1);
  },
);
