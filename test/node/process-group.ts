import { spawn, type ChildProcess } from "node:child_process";

/**
 * `npm start` as a terminal runs it: the program leads its own process group
 * (spawned detached), and Ctrl-C is SIGINT to the whole group.
 */
export interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the output matches; rejects (with the output so far) after `ms` or if the program exits first. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
}

export function startGroup(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Started {
  const child = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let done = false;
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      done = true;
      for (const listener of listeners) listener();
      resolve({ code, signal });
    }),
  );
  const run: Started = {
    child,
    output: () => output,
    exited,
    waitFor: (pattern, ms = 20000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          if (match || done) {
            listeners.delete(check);
            clearTimeout(timer);
            if (match) resolve(match);
            else reject(new Error(`exited before ${pattern} appeared; output:\n${output}`));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${pattern} did not appear within ${ms} ms; output:\n${output}`));
        }, ms);
        listeners.add(check);
        check();
      }),
  };
  return run;
}

