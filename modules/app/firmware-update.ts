import type { Platform } from "../../hal/platform.js";
import type { LwM2mClient } from "../lwm2m/client.js";
import type { FirmwareUpdateHandlers } from "../lwm2m/objects/firmware-update-state.js";
import { CoapDownloader } from "../fota/coap-downloader.js";
import type { FirmwareDownloader } from "../fota/download.js";
import { FirmwareUpdater } from "../fota/firmware-updater.js";
import { HttpDownloader } from "../fota/http-downloader.js";
import { utf8Encode } from "../coap/message.js";
import { FirmwareUpdateResult } from "../lwm2m/objects/firmware-update.js";
import type { FirmwareSettings } from "./firmware-settings.js";

/**
 * The demo firmware's firmware update: packages signed with fotaPublicKey,
 * kept in the platform's firmware storage, pulled over coap:// and coaps://
 * (with the firmware's PSK) from any host and over http:// where the port
 * has an HTTP client, or pushed to /5/0/0.
 */
export function createFirmwareUpdate(platform: Platform, settings: FirmwareSettings, buildVersion: string): { updater: FirmwareUpdater; handlers: (lwm2m: () => LwM2mClient | undefined) => FirmwareUpdateHandlers } {
  const log = platform.log.child("fota");
  const updater = new FirmwareUpdater({
    storage: platform.firmware,
    trust: { crypto: platform.crypto, publicKey: settings.fotaPublicKey },
    time: platform.time,
    log,
    buildVersion,
    blockSize: settings.fotaBlockSize,
    restart: () => platform.restart(),
  });
  updater.restore();
  if (!settings.fotaPublicKey) log.warn("no fotaPublicKey configured: every firmware package will be refused (Update Result 5)");
  else if (!platform.crypto) log.warn("this build has no crypto binding: every firmware package will be refused (Update Result 5)");
  const psk = settings.psk && settings.pskId ? { identity: utf8Encode(settings.pskId), key: settings.psk } : undefined;
  const handlers = (lwm2m: () => LwM2mClient | undefined) => {
    // The client's endpoint exists only once bind() has built the client: the CoAP downloader is made per download.
    const coap: FirmwareDownloader = {
      protocols: platform.dtls && psk ? [0, 1] : [0],
      start: (job, done) => {
        const client = lwm2m();
        if (!client) {
          done(FirmwareUpdateResult.ConnectionLost, "the LwM2M client is not running");
          return { cancel: () => undefined };
        }
        const downloader = new CoapDownloader({ endpoint: client.endpoint, resolve: (host, callback) => platform.net.resolve(host, callback), peers: client, psk: () => psk, log });
        return downloader.start(job, done);
      },
    };
    const downloaders = platform.http ? [coap, new HttpDownloader({ http: platform.http, log })] : [coap];
    return updater.handlers(downloaders);
  };
  return { updater, handlers };
}
