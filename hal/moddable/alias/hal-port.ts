// Module "hal/port" in Moddable builds (manifest.json). A bare specifier is
// needed: a relative one would resolve against "hal/port" itself.
export { createPlatform } from "hal/moddable/port";
