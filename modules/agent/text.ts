/** Text to bytes and back for applications on the agent API (one implementation, in the CoAP layer). */
export { utf8Decode, utf8Encode } from "../coap/message.js";
