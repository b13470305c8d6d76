/**
 * The development server's web console: its routes over HTTP, then the page
 * itself in headless Chromium (Debian's chromium driven by playwright-core;
 * nothing downloads a browser) against the demo firmware running in XS. The
 * page sees the client appear, reads /3/0, writes /1/0/1, observes /3/0/13
 * and charts its notifications, executes Reboot and sees the client register
 * again, sends a command that succeeds, and leaves a screenshot in
 * test-artifacts/.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import fs from "node:fs";
import type http from "node:http";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { BUILD_ROOT, FirmwareHost } from "../../hal/host/node/firmware-host.js";
import { createNodePlatform } from "../../hal/host/node/node-platform.js";
import { generateKeys, signPackage } from "../../tools/fota/package-signer.js";
import { makeTestImage } from "../../tools/fota/test-image.js";
import { startHttpApi } from "../../tools/dev-server/http-api.js";
import { LwM2mDevServer } from "../../tools/dev-server/server.js";

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  const message = `web-console.test: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env["CI"]) throw new Error(message);
  process.stderr.write(`${message}; the browser tests are skipped\n`);
}
const inChromium = HAVE_CHROMIUM ? describe : describe.skip;

const ENDPOINT = "web-demo";
/** The key the firmware checks packages with, and the package the page uploads. */
const KEYS = generateKeys();
const NEW_VERSION = "9.9.1";
const REPO_ROOT = path.resolve(BUILD_ROOT, "..");
const ARTIFACTS = path.join(REPO_ROOT, "test-artifacts");

/** The page's DOM, as the functions run in the browser see it (this project's TypeScript has no DOM library). */
declare const document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };

let stateDir: string;
let serverPlatform: ReturnType<typeof createNodePlatform>;
let server: LwM2mDevServer;
let httpServer: http.Server;
let base: string;
const lines: string[] = [];

function until(check: () => boolean, what: string, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}\n${lines.slice(-20).join("\n")}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "web-console-"));
  serverPlatform = createNodePlatform({ stateDir: path.join(stateDir, "server"), logLevel: "warn" });
  server = new LwM2mDevServer({ platform: serverPlatform, port: 0, autoObserve: ["/19/0/0"] });
  httpServer = await startHttpApi(server, 0);
  base = `http://127.0.0.1:${(httpServer.address() as { port: number }).port}`;
  await until(() => server.port > 0, "the server's CoAP port");
}, 30000);

afterAll(async () => {
  server?.close();
  await new Promise((resolve) => (httpServer ? httpServer.close(resolve) : resolve(undefined)));
  httpServer?.closeAllConnections();
  serverPlatform?.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("the web console's routes", () => {
  test("GET / serves the page and /web/ its assets, from the package, with nothing from elsewhere", async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/web/console.js">');
    // Every script, style sheet and image the page loads is one of its own.
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]+)"/g)) expect(url).toMatch(/^\/web\/[a-z0-9.-]+$/);
    for (const asset of ["console.js", "console.css", "favicon.svg"]) {
      const response = await fetch(`${base}/web/${asset}`);
      expect(response.status).toBe(200);
      expect(await response.text()).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    }
    expect((await fetch(`${base}/web/console.js`)).headers.get("content-type")).toMatch(/^text\/javascript/);
  });

  test("assets are plain names in the page's folder: no other file is served", async () => {
    for (const name of ["..%2Fweb-api.ts", "..%2F..%2F..%2Fpackage.json", ".hidden.js", "web-api.ts", "missing.js"]) {
      const response = await fetch(`${base}/web/${name}`);
      expect(response.status).toBe(404);
    }
  });

  test("GET /models lists the object models with their resources", async () => {
    const models = (await (await fetch(`${base}/models`)).json()) as { id: number; name: string; resources: { id: number; name: string; type: string; operations: string }[] }[];
    const device = models.find((model) => model.id === 3);
    expect(device?.name).toBe("Device");
    expect(device?.resources.find((resource) => resource.id === 13)).toMatchObject({ name: "Current Time", type: "time", operations: "RW" });
    expect(models.map((model) => model.id)).toEqual([...models.map((model) => model.id)].sort((a, b) => a - b));
  });

  test("composite routes check their input before any client is asked", async () => {
    const noClient = await fetch(`${base}/clients/nobody/composite`, { method: "POST", body: JSON.stringify({ paths: ["/3/0/0"] }) });
    expect(noClient.status).toBe(404);
  });
});

inChromium("the web console in Chromium against the demo firmware", () => {
  let host: FirmwareHost;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    page.setDefaultTimeout(60000);
    await page.goto(`${base}/`);
    await page.waitForSelector("body[data-ready=true]");
    host = new FirmwareHost({
      stateDir: path.join(stateDir, "device"),
      config: { server: `coap://127.0.0.1:${server.port}`, endpoint: ENDPOINT, reportInterval: "3000", lifetime: "60", fotaPublicKey: KEYS.publicKeyHex },
      writeLine: (line) => void lines.push(line),
    });
    await host.start();
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await host?.stop(5000);
  });

  const row = (resourcePath: string) => page.locator(`#tree tr[data-path="${resourcePath}"]`);
  const logLine = (kind: string, text: string) => page.locator(`#log li.kind-${kind}`, { hasText: text });

  /** Opens an object of the tree (only Device is open at first). */
  async function openObject(objectId: number): Promise<void> {
    const details = page.locator(`#tree details.object[data-object="${objectId}"]`);
    if ((await details.getAttribute("open")) === null) await details.locator("summary .name").click();
    await page.waitForSelector(`#tree details.object[data-object="${objectId}"][open]`);
  }

  async function dialog(fields: Record<string, string>): Promise<void> {
    await page.waitForSelector("#dialog[open]");
    for (const [name, value] of Object.entries(fields)) await page.fill(`#field-${name}`, value);
    await page.click("#dialog-ok");
    await page.waitForSelector("#dialog:not([open])", { state: "attached" });
  }

  test("the client appears with its registration, and is selected", async () => {
    const client = page.locator(`#clients tr[data-endpoint="${ENDPOINT}"]`);
    await client.waitFor();
    const record = server.registry.get(ENDPOINT)!;
    await expect(client.locator("td.version").textContent()).resolves.toBe(record.version);
    await expect(client.locator("td.binding").textContent()).resolves.toBe(record.binding);
    await expect(client.locator("td.lifetime").textContent()).resolves.toBe("60 s");
    await expect(client.locator("td.objects").textContent()).resolves.toContain("/3 Device");
    await page.waitForSelector(`#client-name:text-is("${ENDPOINT}")`);
    await page.locator('#tree details.object[data-object="3"] summary .name').filter({ hasText: "Device" }).waitFor();
  }, 60000);

  test("Read /3/0 shows its values", async () => {
    await page.click('#tree .instance[data-path="/3/0"] .instance-head button[data-op=read]');
    await logLine("read", "/3/0 → 2.05").waitFor();
    const expected = await server.read(ENDPOINT, "/3/0/0");
    expect(expected.success).toBe(true);
    await expect(row("/3/0/0").locator("td.value").textContent()).resolves.toBe(String(expected.values![0]!.value));
    expect(await row("/3/0/3").locator("td.value").textContent()).not.toBe("");
  }, 60000);

  test("Write /1/0/1 (lifetime): the device takes it and updates its registration", async () => {
    await openObject(1);
    await row("/1/0/1").locator("button[data-op=write]").click();
    await dialog({ value: "120" });
    await logLine("write", "/1/0/1 → 2.04").waitFor();
    await expect(row("/1/0/1").locator("td.value").textContent()).resolves.toBe("120");
    // The device sends an Update with lt=120: the clients list shows it.
    await page.locator(`#clients tr[data-endpoint="${ENDPOINT}"] td.lifetime`, { hasText: "120 s" }).waitFor();
    expect((await server.read(ENDPOINT, "/1/0/1")).values?.[0]?.value).toBe(120);
  }, 60000);

  test("Composite read of a selection", async () => {
    await row("/3/0/0").locator("input.pick").check();
    await row("/1/0/1").locator("input.pick").check();
    await page.click("#composite-read");
    await page.locator("#composite-result", { hasText: "/1/0/1 = 120" }).waitFor();
    await expect(page.locator("#composite-result").textContent()).resolves.toContain("/3/0/0 = ");
    // Observe-Composite of the same selection: listed by the server until cancelled.
    await page.click("#composite-observe");
    await logLine("composite-observe", "/1/0/1,/3/0/0 → 2.05").waitFor();
    const listed = async () => (await (await fetch(`${base}/composite-observations`)).json()) as { endpoint: string; paths: string[] }[];
    expect(await listed()).toEqual([{ endpoint: ENDPOINT, paths: ["/1/0/1", "/3/0/0"] }]);
    await page.click("#composite-cancel");
    await logLine("cancel", "/1/0/1,/3/0/0 → done").waitFor();
    expect(await listed()).toEqual([]);
    await page.click("#selection-clear");
  }, 60000);

  test("Observe /3/0/13 (with pmax 1 by Write-Attributes): notifications arrive, and the chart draws them", async () => {
    await row("/3/0/13").locator("button[data-op=attributes]").click();
    await dialog({ pmax: "1" });
    await logLine("attributes", "/3/0/13 → 2.04").waitFor();
    await row("/3/0/13").locator("button[data-op=chart]").click();
    await row("/3/0/13").locator("button[data-op=observe]").click();
    await logLine("observe", "/3/0/13 → 2.05").waitFor();
    await page.waitForSelector('#tree tr.observed[data-path="/3/0/13"]');
    await logLine("notification", `${ENDPOINT} /3/0/13: 2.05`).first().waitFor();
    await page.waitForFunction(() => Number(document.querySelector("#chart")?.getAttribute("data-points")) >= 3);
    expect(await page.locator("#chart polyline.line").count()).toBe(1);
  }, 60000);

  test("Execute /3/0/4 (Reboot): the firmware restarts and the page sees it register again", async () => {
    const before = await page.getAttribute("#registered-at", "data-registered-at");
    await row("/3/0/4").locator("button[data-op=execute]").click();
    await dialog({});
    await logLine("execute", "/3/0/4 → 2.04").waitFor();
    expect(await host.whenBooted(1)).toBe(1);
    // The page was open before the first registration: this is the second one it logs.
    await logLine("registered", ENDPOINT).nth(1).waitFor();
    await page.waitForFunction((previous) => {
      const now = document.querySelector("#registered-at")?.getAttribute("data-registered-at");
      return Boolean(now) && now !== previous;
    }, before);
  }, 90000);

  test("a command to /19/1/0 succeeds", async () => {
    await page.fill("#command-data", "led on");
    await page.click("#command-send");
    await page.locator("#commands tr", { hasText: "led on" }).locator("td.command-status", { hasText: "success" }).waitFor();
    expect(server.commands.list(ENDPOINT).map((command) => command.status)).toContain("success");
  }, 60000);

  test("firmware update: upload a signed package, start a pull job, the progress bar fills and the device runs the new version", async () => {
    const packageFile = path.join(stateDir, "demo-9.9.1.xfw");
    fs.writeFileSync(packageFile, signPackage(makeTestImage(24 * 1024 + 5, 7), KEYS.privateKeyPem, { version: NEW_VERSION, name: "demo" }));
    await page.setInputFiles("#image-file", packageFile);
    await page.click("#image-upload");
    await logLine("fota", "image demo-9.9.1.xfw stored").waitFor();
    await page.selectOption("#fota-image", "demo-9.9.1.xfw");
    await page.selectOption("#fota-method", "pull");
    await page.selectOption("#fota-scheme", "coap");
    await page.click("#fota-start");
    await page.locator("#fota-status .status-succeeded").waitFor({ timeout: 120000 });
    await expect(page.locator("#fota-percent").textContent()).resolves.toBe("100%");
    await expect(page.locator("#fota-status").textContent()).resolves.toContain(`→ ${NEW_VERSION}`);
    expect(await page.locator("#log li.kind-fota", { hasText: "%" }).count()).toBeGreaterThan(0);
    await logLine("fota", `demo-9.9.1.xfw: updated, Update Result 1 (success), firmware version ${NEW_VERSION}`).waitFor();
  }, 150000);

  test("a screenshot of the console is kept in test-artifacts/", async () => {
    // Fresh values for the picture.
    await page.click('#tree .instance[data-path="/3/0"] .instance-head button[data-op=read]');
    await logLine("read", "/3/0 → 2.05").nth(1).waitFor();
    await page.locator('#tree details.object[data-object="1"] summary .name').click(); // closes Server: a shorter picture
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, "web-console.png");
    await page.screenshot({ path: file, fullPage: true, animations: "disabled" });
    expect(fs.statSync(file).size).toBeGreaterThan(10000);
    expect(pageErrors).toEqual([]);
  }, 60000);
});
