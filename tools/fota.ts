/**
 * `npm run fota -- COMMAND ...`: keys, signed firmware packages and test
 * images for FOTA (modules/fota/package-format.ts). Exit status: 0 done,
 * 1 a failed check or an unreadable/unwritable file, 2 a usage error.
 */
import fs from "node:fs";
import path from "node:path";
import { parsePublicKey } from "../modules/fota/package-verifier.js";
import { generateKeys, signPackage, toHex, sha256, verifyPackageNode } from "./fota/package-signer.js";
import { makeTestImage } from "./fota/test-image.js";

const USAGE = `usage: npm run fota -- COMMAND [options]

  keygen [--out DIR] [--force]
      a new ECDSA P-256 key pair in DIR (default fota-keys/): fota-private.pem (PKCS#8,
      mode 0600; keep it off the device and out of git) and fota-public.hex (130 hex digits);
      prints the firmware's configuration line fotaPublicKey=<hex>. Existing keys are kept
      unless --force.
  sign IMAGE --key PEM --version V [--name NAME] [--out FILE]
      writes the signed package (header + IMAGE) to FILE (default IMAGE.xfw); V is 1..32
      bytes, NAME up to 64 (UTF-8)
  verify PACKAGE (--public FILE | --public-key HEX)
      checks the signature, the length and the image's SHA-256; prints the header; exit 1
      when the package is refused
  make-image --size BYTES [--seed N] --out FILE
      deterministic test image bytes (the same size and seed give the same bytes)
  help | --help

Relative paths are taken from the folder npm was run in.`;

class UsageError extends Error {}

/** Where the user typed the command: npm runs scripts from the package root and says where it was called in INIT_CWD. */
const userDir = process.env["INIT_CWD"] ?? process.cwd();

function userPath(file: string): string {
  return path.resolve(userDir, file);
}

function shown(file: string): string {
  const relative = path.relative(userDir, file);
  return relative && !relative.startsWith("..") ? relative : file;
}

interface Parsed {
  readonly positional: string[];
  readonly options: Map<string, string | true>;
}

/** Splits arguments into positional ones and --options; `flags` take no value. */
function parse(args: readonly string[], valued: readonly string[], flags: readonly string[] = []): Parsed {
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (flags.includes(name)) {
      if (inline !== undefined) throw new UsageError(`${name} takes no value`);
      options.set(name, true);
    } else if (valued.includes(name)) {
      const value = inline ?? args[++i];
      if (value === undefined || (inline === undefined && value.startsWith("--"))) throw new UsageError(`${name} needs a value`);
      if (options.has(name)) throw new UsageError(`${name} given twice`);
      options.set(name, value);
    } else {
      throw new UsageError(`unknown option ${name}`);
    }
  }
  return { positional, options };
}

function text(parsed: Parsed, name: string): string | undefined {
  const value = parsed.options.get(name);
  return typeof value === "string" ? value : undefined;
}

function required(parsed: Parsed, name: string, what: string): string {
  const value = text(parsed, name);
  if (value === undefined) throw new UsageError(`${name} ${what} is required`);
  return value;
}

function onePositional(parsed: Parsed, what: string): string {
  if (parsed.positional.length === 0) throw new UsageError(`${what} is required`);
  if (parsed.positional.length > 1) throw new UsageError(`one ${what} only (got ${parsed.positional.join(", ")})`);
  return parsed.positional[0]!;
}

function noPositional(parsed: Parsed): void {
  if (parsed.positional.length > 0) throw new UsageError(`unexpected argument ${parsed.positional[0]}`);
}

function readFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new Error(`cannot read the ${what} ${shown(file)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function keygen(args: readonly string[]): number {
  const parsed = parse(args, ["--out"], ["--force"]);
  noPositional(parsed);
  const dir = userPath(text(parsed, "--out") ?? "fota-keys");
  const privateFile = path.join(dir, "fota-private.pem");
  const publicFile = path.join(dir, "fota-public.hex");
  const existing = [privateFile, publicFile].filter((file) => fs.existsSync(file));
  if (existing.length > 0 && !parsed.options.has("--force")) {
    process.stderr.write(`fota keygen: ${existing.map(shown).join(" and ")} already exist; keeping them (--force replaces them, and devices configured with the old public key will refuse packages signed with the new one)\n`);
    return 1;
  }
  const keys = generateKeys();
  fs.mkdirSync(dir, { recursive: true });
  // Written as 0600 from the start; chmod also narrows a file --force replaces.
  fs.writeFileSync(privateFile, keys.privateKeyPem, { mode: 0o600 });
  fs.chmodSync(privateFile, 0o600);
  fs.writeFileSync(publicFile, `${keys.publicKeyHex}\n`);
  process.stdout.write(
    `private key: ${shown(privateFile)} (PKCS#8, mode 0600: keep it secret, off the device and out of git)\n` +
      `public key:  ${shown(publicFile)}\n  ${keys.publicKeyHex}\n` +
      `firmware configuration:\n  fotaPublicKey=${keys.publicKeyHex}\n`,
  );
  return 0;
}

function sign(args: readonly string[]): number {
  const parsed = parse(args, ["--key", "--version", "--name", "--out"]);
  const imageFile = userPath(onePositional(parsed, "IMAGE"));
  const keyFile = userPath(required(parsed, "--key", "PEM (the private key from keygen)"));
  const version = required(parsed, "--version", "V (the image version)");
  const name = text(parsed, "--name") ?? "";
  const outFile = userPath(text(parsed, "--out") ?? `${imageFile}.xfw`);
  const image = new Uint8Array(readFile(imageFile, "image"));
  const pem = readFile(keyFile, "private key").toString("utf8");
  let bytes: Uint8Array;
  try {
    bytes = signPackage(image, pem, { version, name });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw new Error(`${shown(keyFile)}: ${(error as Error).message}`);
  }
  fs.writeFileSync(outFile, bytes);
  process.stdout.write(
    `package: ${shown(outFile)} (${bytes.length} bytes: ${bytes.length - image.length}-byte header, ${image.length}-byte image)\n` +
      `version: ${version}${name ? `\nname:    ${name}` : ""}\n` +
      `image SHA-256: ${toHex(sha256(image))}\n`,
  );
  return 0;
}

function verify(args: readonly string[]): number {
  const parsed = parse(args, ["--public", "--public-key"]);
  const packageFile = userPath(onePositional(parsed, "PACKAGE"));
  const publicFile = text(parsed, "--public");
  const publicHex = text(parsed, "--public-key");
  if ((publicFile === undefined) === (publicHex === undefined)) throw new UsageError("give the public key with either --public FILE or --public-key HEX");
  const keyText = publicHex ?? readFile(userPath(publicFile!), "public key").toString("utf8");
  let publicKey: Uint8Array;
  try {
    publicKey = parsePublicKey(keyText);
  } catch (error) {
    const message = (error as Error).message.replace(/^fotaPublicKey: /, "");
    if (publicHex !== undefined) throw new UsageError(`--public-key: ${message}`);
    throw new Error(`${shown(userPath(publicFile!))}: ${message}`);
  }
  const bytes = new Uint8Array(readFile(packageFile, "package"));
  const verdict = verifyPackageNode(bytes, publicKey);
  if (!verdict.ok) {
    process.stderr.write(`fota verify: ${shown(packageFile)} REFUSED (${verdict.reason}): ${verdict.detail}\n`);
    return 1;
  }
  const header = verdict.header;
  process.stdout.write(
    `${shown(packageFile)}: OK, signed by the given key\n` +
      `version: ${header.version}\nname:    ${header.name || "(none)"}\n` +
      `header:  ${header.headerLength} bytes\nimage:   ${header.imageLength} bytes, SHA-256 ${toHex(header.imageHash)}\n`,
  );
  return 0;
}

function makeImage(args: readonly string[]): number {
  const parsed = parse(args, ["--size", "--seed", "--out"]);
  noPositional(parsed);
  const sizeText = required(parsed, "--size", "BYTES");
  const seedText = text(parsed, "--seed") ?? "1";
  const outFile = userPath(required(parsed, "--out", "FILE"));
  if (!/^\d+$/.test(sizeText) || Number(sizeText) > 256 * 1024 * 1024) throw new UsageError(`--size must be a whole number of bytes up to 256 MiB, got ${sizeText}`);
  if (!/^\d+$/.test(seedText) || Number(seedText) > 0xffffffff) throw new UsageError(`--seed must be a whole number from 0 to 4294967295, got ${seedText}`);
  const image = makeTestImage(Number(sizeText), Number(seedText));
  fs.writeFileSync(outFile, image);
  process.stdout.write(`image: ${shown(outFile)} (${image.length} bytes, seed ${seedText}), SHA-256 ${toHex(sha256(image))}\n`);
  return 0;
}

const COMMANDS: Readonly<Record<string, (args: readonly string[]) => number>> = Object.freeze({
  keygen,
  sign,
  verify,
  "make-image": makeImage,
});

function main(argv: readonly string[]): number {
  const [command, ...args] = argv;
  if (command === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (command === "help" || command === "--help" || command === "-h" || args.includes("--help")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) {
    process.stderr.write(`fota: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  try {
    return run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`fota ${command}: ${error.message}\n(npm run fota -- --help for the usage)\n`);
      return 2;
    }
    process.stderr.write(`fota ${command}: ${(error as Error).message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
