import type { Suite } from "./harness.js";
import agent from "./agent.suite.js";
import agentReportPath from "./agent-report-path.suite.js";
import agentLifecycle from "./agent-lifecycle.suite.js";
import atParser from "./at-parser.suite.js";
import atChannel from "./at-channel.suite.js";
import atAdaptors from "./at-adaptors.suite.js";
import atRecovery from "./at-recovery.suite.js";
import coapCodec from "./coap-codec.suite.js";
import coapDefects from "./coap-defects.suite.js";
import coapDedupDefects from "./coap-dedup-defects.suite.js";
import coapEndpoint from "./coap-endpoint.suite.js";
import coapBlock1Stream from "./coap-block1-stream.suite.js";
import crypto from "./crypto.suite.js";
import dtls from "./dtls.suite.js";
import dtlsServer from "./dtls-server.suite.js";
import faults from "./faults.suite.js";
import fotaCoapDownloader from "./fota-coap-downloader.suite.js";
import fotaCoapsDownloader from "./fota-coaps-downloader.suite.js";
import fotaHttpDownloader from "./fota-http-downloader.suite.js";
import fotaPackage from "./fota-package.suite.js";
import lwm2mBootstrap from "./lwm2m-bootstrap.suite.js";
import lifecycleSoak from "./lifecycle-soak.suite.js";
import lwm2mBootstrapDefects from "./lwm2m-bootstrap-defects.suite.js";
import lwm2mClient from "./lwm2m-client.suite.js";
import lwm2mDtls from "./lwm2m-dtls.suite.js";
import lwm2mDmDefects from "./lwm2m-dm-defects.suite.js";
import lwm2mObserveDefects from "./lwm2m-observe-defects.suite.js";
import lwm2mAccessControl from "./lwm2m-access-control.suite.js";
import lwm2mBlock1Uplink from "./lwm2m-block1-uplink.suite.js";
import lwm2mBlock1Stream from "./lwm2m-block1-stream.suite.js";
import firmwareStorage from "./firmware-storage.suite.js";
import fotaUpdater from "./fota-updater.suite.js";
import firmwareSettings from "./firmware-settings.suite.js";
import memory from "./memory.suite.js";
import mutex from "./mutex.suite.js";
import platform from "./platform.suite.js";
import settings from "./settings.suite.js";
import timers from "./timers.suite.js";

/** Every suite that runs both under jest and inside XS. */
export const SUITES: readonly Suite[] = Object.freeze([
  memory,
  mutex,
  firmwareStorage,
  fotaUpdater,
  settings,
  platform,
  timers,
  faults,
  coapCodec,
  coapEndpoint,
  coapBlock1Stream,
  coapDefects,
  coapDedupDefects,
  dtls,
  dtlsServer,
  crypto,
  fotaPackage,
  lwm2mClient,
  lwm2mDmDefects,
  lwm2mObserveDefects,
  lwm2mAccessControl,
  lwm2mBlock1Uplink,
  lwm2mBlock1Stream,
  lwm2mBootstrap,
  lwm2mBootstrapDefects,
  lwm2mDtls,
  fotaCoapDownloader,
  fotaCoapsDownloader,
  fotaHttpDownloader,
  agent,
  agentReportPath,
  agentLifecycle,
  lifecycleSoak,
  firmwareSettings,
  atParser,
  atChannel,
  atAdaptors,
  atRecovery,
]);
