import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { decodePackageHeader } from "../../../modules/fota/package-format.js";

/** Largest image the server takes or serves by default (16 MiB). */
export const DEFAULT_MAX_IMAGE_BYTES = 16 * 1024 * 1024;
/** Images held at once (files in the folder beyond this are not listed). */
export const MAX_IMAGES = 64;

/** Image names: what can stand in a URI path segment without escaping. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isImageName(name: string): boolean {
  return NAME.test(name);
}

/** A hosted image: its bytes and the identity every transfer of it carries. */
export interface HostedImage {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** CoAP ETag: the first 8 bytes of the SHA-256 of the content (stable across server restarts). */
  readonly etag: Uint8Array;
  /** The same as an HTTP entity tag: "<16 hex digits>", quotes included. */
  readonly httpEtag: string;
  /** The signed package header's version and package name, when the image is a package (modules/fota/package-format.ts). */
  readonly package: { readonly version: string; readonly name: string; readonly imageLength: number } | undefined;
  readonly storedAt: number;
}

export interface ImageSummary {
  readonly name: string;
  readonly size: number;
  readonly etag: string;
  readonly version?: string;
  readonly packageName?: string;
  readonly storedAt: string;
}

export class ImageError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
    Object.defineProperty(this, "name", { value: "ImageError", writable: true, configurable: true });
  }
}

function hosted(name: string, bytes: Uint8Array, storedAt: number): HostedImage {
  const digest = createHash("sha256").update(bytes).digest();
  const etag = new Uint8Array(digest.subarray(0, 8));
  const header = decodePackageHeader(bytes.subarray(0, 256));
  return {
    name,
    bytes,
    etag,
    httpEtag: `"${Buffer.from(etag).toString("hex")}"`,
    package: "problem" in header ? undefined : { version: header.version, name: header.name, imageLength: header.imageLength },
    storedAt,
  };
}

/**
 * The images the development server hosts for firmware updates. With a
 * folder (--images DIR) each image is a file there: files put in the folder
 * by hand are served too, and uploads are written to it. Without one they
 * live in memory. At most MAX_IMAGES of at most maxImageBytes each.
 */
export class ImageStore {
  readonly dir: string | undefined;
  readonly maxImageBytes: number;
  private readonly images = new Map<string, HostedImage & { readonly mtimeMs?: number }>();

  constructor(options: { dir?: string; maxImageBytes?: number } = {}) {
    this.dir = options.dir === undefined ? undefined : path.resolve(options.dir);
    this.maxImageBytes = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
    if (this.dir) fs.mkdirSync(this.dir, { recursive: true });
  }

  /** Stores (or replaces) an image. */
  put(name: string, bytes: Uint8Array): HostedImage {
    if (!isImageName(name)) throw new ImageError(400, `bad image name "${name}": 1..64 of A-Z a-z 0-9 . _ -, not starting with . _ -`);
    if (bytes.length > this.maxImageBytes) throw new ImageError(413, `image of ${bytes.length} bytes is over the limit of ${this.maxImageBytes}`);
    if (!this.images.has(name) && !this.exists(name) && this.names().length >= MAX_IMAGES) throw new ImageError(507, `${MAX_IMAGES} images are stored already; delete one first`);
    const now = Date.now();
    if (this.dir) {
      const file = path.join(this.dir, name);
      const temporary = `${file}.upload-${process.pid}`;
      fs.writeFileSync(temporary, bytes);
      fs.renameSync(temporary, file);
      const image = { ...hosted(name, bytes, now), mtimeMs: fs.statSync(file).mtimeMs };
      this.images.set(name, image);
      return image;
    }
    const image = hosted(name, bytes.slice(), now);
    this.images.set(name, image);
    return image;
  }

  /** The image, read again from its file when the file changed; undefined when there is none. */
  get(name: string): HostedImage | undefined {
    if (!isImageName(name)) return undefined;
    if (!this.dir) return this.images.get(name);
    const file = path.join(this.dir, name);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      this.images.delete(name);
      return undefined;
    }
    if (!stat.isFile() || stat.size > this.maxImageBytes) return undefined;
    const cached = this.images.get(name);
    if (cached && cached.mtimeMs === stat.mtimeMs && cached.bytes.length === stat.size) return cached;
    const image = { ...hosted(name, new Uint8Array(fs.readFileSync(file)), stat.mtimeMs), mtimeMs: stat.mtimeMs };
    // Bounded: the cache holds at most MAX_IMAGES contents.
    if (!this.images.has(name) && this.images.size >= MAX_IMAGES) this.images.delete(this.images.keys().next().value!);
    this.images.set(name, image);
    return image;
  }

  delete(name: string): boolean {
    const existed = this.get(name) !== undefined;
    this.images.delete(name);
    if (this.dir && existed) fs.rmSync(path.join(this.dir, name), { force: true });
    return existed;
  }

  list(): ImageSummary[] {
    const summaries: ImageSummary[] = [];
    for (const name of this.names()) {
      const image = this.get(name);
      if (!image) continue;
      summaries.push({
        name,
        size: image.bytes.length,
        etag: image.httpEtag,
        ...(image.package ? { version: image.package.version, packageName: image.package.name } : {}),
        storedAt: new Date(image.storedAt).toISOString(),
      });
    }
    return summaries;
  }

  private exists(name: string): boolean {
    return this.dir !== undefined && fs.existsSync(path.join(this.dir, name));
  }

  private names(): string[] {
    if (!this.dir) return Array.from(this.images.keys()).sort();
    return fs
      .readdirSync(this.dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && isImageName(entry.name) && !entry.name.includes(".upload-"))
      .map((entry) => entry.name)
      .sort()
      .slice(0, MAX_IMAGES);
  }
}
