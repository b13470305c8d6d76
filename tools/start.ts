/**
 * `npm start`: runs the firmware (main.ts) inside the XS engine on this
 * machine, with Node doing its I/O, until SIGINT or SIGTERM.
 */
import path from "node:path";
import { FirmwareHost, BUILD_ROOT } from "../hal/host/node/firmware-host.js";
import type { NetFaults } from "../hal/host/faults/faulty-net.js";
import { isLogLevel } from "../hal/log.js";

const USAGE = `usage: npm start -- [options] [name=value ...]

  name=value            configuration value for the firmware (read through mc/config,
                        as mcconfig's name=value arguments are on Moddable)
  --log LEVEL           error | warn | info | debug | trace (default info)
  --state-dir DIR       non-volatile memory of the host device: settings.json and
                        firmware.bin (default .xs-run/state)
  --net-loss P          drop each datagram with probability P (0..1)
  --net-duplicate P     deliver each datagram twice with probability P
  --net-reorder P       hold back a datagram so later ones overtake it, probability P
  --net-delay MIN-MAX   delay every datagram by MIN..MAX ms
  --seed N              seed of the fault decisions (default 1)
  --help                this text`;

interface StartOptions {
  config: Record<string, string>;
  stateDir: string;
  faults: { loss?: number; duplicate?: number; reorder?: number; delayMs?: [number, number]; seed?: number };
}

function parse(argv: string[]): StartOptions {
  const options: StartOptions = { config: {}, stateDir: path.resolve(".xs-run", "state"), faults: {} };
  const probability = (flag: string, text: string | undefined): number => {
    const value = Number(text);
    if (text === undefined || !(value >= 0 && value <= 1)) throw new Error(`${flag} needs a probability between 0 and 1, got "${text ?? ""}"`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = () => {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      return value;
    };
    switch (arg) {
      case "--help":
      case "-h":
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      case "--log": {
        const level = next();
        if (!isLogLevel(level)) throw new Error(`--log must be one of error, warn, info, debug, trace; got "${level}"`);
        options.config["log"] = level;
        break;
      }
      case "--state-dir":
        options.stateDir = path.resolve(next());
        break;
      case "--net-loss":
        options.faults.loss = probability(arg, next());
        break;
      case "--net-duplicate":
        options.faults.duplicate = probability(arg, next());
        break;
      case "--net-reorder":
        options.faults.reorder = probability(arg, next());
        break;
      case "--net-delay": {
        const text = next();
        const match = /^(\d+)(?:-(\d+))?$/.exec(text);
        if (!match) throw new Error(`--net-delay needs MIN-MAX in ms, got "${text}"`);
        const min = Number(match[1]);
        const max = Number(match[2] ?? match[1]);
        if (max < min) throw new Error(`--net-delay: ${max} is below ${min}`);
        options.faults.delayMs = [min, max];
        break;
      }
      case "--seed": {
        const text = next();
        const seed = Number(text);
        if (!Number.isInteger(seed)) throw new Error(`--seed needs an integer, got "${text}"`);
        options.faults.seed = seed;
        break;
      }
      default: {
        const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(arg);
        if (!match) throw new Error(`unknown option "${arg}"`);
        options.config[match[1]!] = match[2]!;
      }
    }
  }
  return options;
}

async function run(): Promise<void> {
  let options: StartOptions;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`npm start: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const faulty = options.faults.loss !== undefined || options.faults.duplicate !== undefined || options.faults.reorder !== undefined || options.faults.delayMs !== undefined;
  const host = new FirmwareHost({
    stateDir: options.stateDir,
    config: options.config,
    ...(faulty ? { netFaults: options.faults as NetFaults } : {}),
    onFatal: (error) => {
      process.stderr.write(`[host] firmware failed: ${error.message}\n`);
      void host.stop().then(() => process.exit(1));
    },
  });
  process.stdout.write(`[host] running firmware in XS (xsnap-worker) from ${path.relative(process.cwd(), BUILD_ROOT) || "."}; state in ${options.stateDir}; Ctrl-C stops\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`[host] ${signal}: stopping firmware\n`);
    void host.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  try {
    await host.start();
  } catch (error) {
    process.stderr.write(`[host] firmware did not start: ${(error as Error).message}\n`);
    await host.stop(0);
    process.exit(1);
  }
}

void run();
