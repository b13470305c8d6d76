import type { HttpClient } from "../http.js";

/**
 * Module "hal/moddable/http" on targets without the SDK's socket module
 * (Zephyr): no HTTP client, so Platform.http is absent and only CoAP
 * downloads are offered.
 */
export const moddableHttp: HttpClient | undefined = undefined;
