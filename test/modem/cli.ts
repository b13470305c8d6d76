/**
 * A modem emulator for a person:
 *
 *   node build/test/modem/cli.js --modem esp8266|sim900a|bc95 [--tty PATH [--baud N]]
 *        [--ssid S --password P] [--apn A] [--log]
 *
 * Without --tty it makes a pty pair and prints the TTY the firmware should
 * open (npm start -- --serial PATH --modem ...). Faults are typed on stdin
 * (`help` lists them).
 */
import readline from "node:readline";
import { applyFaultCommand, MODEMS, startEmulator, type StartEmulatorOptions } from "./start.js";

function parseArguments(argv: string[]): StartEmulatorOptions & { logDialogue: boolean } {
  const values: Record<string, string> = {};
  let logDialogue = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--log") logDialogue = true;
    else if (arg.startsWith("--") && i + 1 < argv.length) values[arg.slice(2)] = argv[++i]!;
    else throw new Error(`unexpected argument ${arg}`);
  }
  const modem = values["modem"] as StartEmulatorOptions["modem"];
  if (!MODEMS.includes(modem)) throw new Error("--modem esp8266|sim900a|bc95 is required");
  return {
    modem,
    logDialogue,
    ...(values["tty"] ? { tty: values["tty"] } : {}),
    ...(values["ssid"] ? { ssid: values["ssid"] } : {}),
    ...(values["password"] ? { password: values["password"] } : {}),
    ...(values["apn"] ? { apn: values["apn"] } : {}),
    ...(values["baud"] ? { baud: Number(values["baud"]) } : {}),
  };
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseArguments>;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nusage: node build/test/modem/cli.js --modem esp8266|sim900a|bc95 [--tty PATH [--baud N]] [--ssid S --password P] [--apn A] [--log]\n`);
    process.exitCode = 2;
    return;
  }
  const running = await startEmulator({ ...options, ...(options.logDialogue ? { log: (line: string) => process.stdout.write(`${line}\n`) } : {}) });
  process.stdout.write(running.devicePath ? `${options.modem} emulator: the firmware's UART is ${running.devicePath}\n` : `${options.modem} emulator on ${running.modemPath}\n`);
  process.stdout.write("type help for the faults\n");
  const input = readline.createInterface({ input: process.stdin });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    input.close();
    void running.close().then(() => process.exit(0));
  };
  input.on("line", (line) => {
    if (line.trim() === "quit") return stop();
    const answer = applyFaultCommand(running.emulator, line);
    if (answer) process.stdout.write(`${answer}\n`);
  });
  // Ctrl-D at a terminal stops; a closed pipe (a script, `< /dev/null`) does not.
  input.on("close", () => {
    if (process.stdin.isTTY) stop();
  });
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
