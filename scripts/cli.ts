/**
 * What every operator command shares: `--help`, one plain line for a mistake the user can fix
 * (no stack trace), a yes/no question, and a password read without echo (or from a pipe).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake the user can fix: printed as one line naming what to do, never with a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

/** Runs `main`, turning a `UserError` (or bad arguments) into `name: message` and exit code 1. */
export function runCommand(name: string, main: () => Promise<void | number>): void {
  main().then(
    (code) => process.exit(typeof code === 'number' ? code : 0),
    (error: unknown) => {
      const isArgumentError = (error as { code?: string } | null)?.code?.startsWith('ERR_PARSE_ARGS');
      if (error instanceof UserError || isArgumentError) {
        process.stderr.write(`${name}: ${(error as Error).message}${isArgumentError ? ` (see --help)` : ''}\n`);
      } else {
        // Not the user's doing: the stack is what a bug report needs.
        process.stderr.write(`${name}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      }
      process.exit(1);
    },
  );
}

/** Parses the command line; `--help` prints `usage` and exits 0. */
export function parseCommandLine<O extends NonNullable<ParseArgsConfig['options']>>(usage: string, options: O) {
  const parsed = parseArgs({
    args: process.argv.slice(2),
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage.trim()}\n`);
    process.exit(0);
  }
  return parsed;
}

/** Asks a yes/no question on the terminal; anything but y/yes is no. Without a terminal, it refuses. */
export async function confirm(question: string, { refuseHint }: { refuseHint: string }): Promise<boolean> {
  if (!process.stdin.isTTY) throw new UserError(`not asking on a non-interactive input: ${refuseHint}`);
  const answer = await readLine(`${question} [y/N] `, { echo: true });
  return /^y(es)?$/i.test(answer.trim());
}

/**
 * A password: typed twice without echo on a terminal, or the first line of a pipe
 * (`echo "$PASSWORD" | npm run user:password -- alice`), so scripts can set one too.
 */
export async function readNewPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const text = await readAll();
    const password = text.split(/\r?\n/)[0] ?? '';
    if (!password) throw new UserError('no password on standard input: pipe one in, or run this in a terminal to type it');
    return password;
  }
  const first = await readLine(`${prompt}: `, { echo: false });
  const second = await readLine('Again, to be sure: ', { echo: false });
  if (first !== second) throw new UserError('the two passwords differ; nothing was changed');
  return first;
}

async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** One line from the terminal; without echo, typed characters are not shown. */
function readLine(prompt: string, { echo }: { echo: boolean }): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stdout.write(prompt);
    let line = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (result: string | Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stdout.write('\n');
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return done(line);
        if (char === '\u0003') return done(new UserError('cancelled; nothing was changed'));
        if (char === '\u007f' || char === '\b') {
          if (line.length > 0 && echo) process.stdout.write('\b \b');
          line = line.slice(0, -1);
        } else if (char >= ' ') {
          line += char;
          if (echo) process.stdout.write(char);
        }
      }
    };
    stdin.on('data', onData);
  });
}
