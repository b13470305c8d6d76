/**
 * The firmware-update demo of `npm start`: a signing key pair kept in the
 * runner's state folder (made on first use), given to the firmware as
 * fotaPublicKey, and the console's `fota FILE` that signs a plain image with
 * it (a signed package is taken as it is), hosts it on the development
 * server and starts an update job of the demo device.
 */
import fs from "node:fs";
import path from "node:path";
import { PACKAGE_MAGIC } from "../modules/fota/package-format.js";
import type { LwM2mDevServer } from "./dev-server/server.js";
import { generateKeys, privateKeyFromPem, rawPublicKey, signPackage, toHex } from "./fota/package-signer.js";
import { createPublicKey } from "node:crypto";

export interface DemoFotaKeys {
  readonly privateKeyPem: string;
  readonly publicKeyHex: string;
}

/** The demo key pair in `dir` (fota-private.pem, 0600), created when missing. */
export function demoFotaKeys(dir: string): DemoFotaKeys {
  const file = path.join(dir, "fota-private.pem");
  if (fs.existsSync(file)) {
    const privateKeyPem = fs.readFileSync(file, "utf8");
    return { privateKeyPem, publicKeyHex: toHex(rawPublicKey(createPublicKey(privateKeyFromPem(privateKeyPem)))) };
  }
  const keys = generateKeys();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, keys.privateKeyPem, { mode: 0o600 });
  return { privateKeyPem: keys.privateKeyPem, publicKeyHex: keys.publicKeyHex };
}

/**
 * `fota FILE [pull|push] [coap|http] [VERSION]`: hosts FILE (signed with the
 * demo key unless it already is a package) and updates `endpoint` with it.
 * Returns the line to print.
 */
export function demoFotaCommand(server: LwM2mDevServer, keys: DemoFotaKeys, endpoint: string, words: readonly string[]): string {
  const [file, ...rest] = words;
  if (!file) return "usage: fota FILE [pull|push] [coap|http] [VERSION]   (FILE: a firmware image, signed here with the demo key, or a signed package)";
  const method = rest.find((word) => word === "pull" || word === "push") as "pull" | "push" | undefined;
  const scheme = rest.find((word) => word === "coap" || word === "http") as "coap" | "http" | undefined;
  const version = rest.find((word) => /^[0-9]/.test(word)) ?? `demo-${new Date().toISOString().slice(11, 19).replace(/:/g, "")}`;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(path.resolve(process.env["INIT_CWD"] ?? process.cwd(), file)));
  } catch (error) {
    return `fota: cannot read ${file}: ${(error as Error).message}`;
  }
  const signed = PACKAGE_MAGIC.every((byte, i) => bytes[i] === byte);
  const packageBytes = signed ? bytes : signPackage(bytes, keys.privateKeyPem, { version, name: path.basename(file) });
  const name = `${path.basename(file).replace(/[^A-Za-z0-9._-]/g, "_")}${signed ? "" : `-${version}.xfw`}`;
  try {
    server.fota.store.put(name, packageBytes);
    const job = server.fota.start(endpoint, { image: name, ...(method ? { method } : {}), ...(scheme ? { scheme } : {}) });
    return `fota: ${signed ? "" : `signed ${file} as version ${version} with the demo key; `}updating ${endpoint} with ${name} (${packageBytes.length} bytes, ${job.summary().method})`;
  } catch (error) {
    return `fota: ${(error as Error).message}`;
  }
}
