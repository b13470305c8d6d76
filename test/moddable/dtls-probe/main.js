// Module "main" of the DTLS probe app. The probe itself is named after its
// folder so that its relative imports resolve in mcconfig's build as in tsc's.
import probe from "test/moddable/dtls-probe/probe";

export default probe;
