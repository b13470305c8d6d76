import { encodeMessage } from "../modules/coap/codec.js";
import { ContentFormat, MessageType, Method, OptionNumber, ResponseCode } from "../modules/coap/constants.js";
import { addOption, addUriQuery, createMessage, encodeUint, setUriPath, utf8Encode, type CoapMessage } from "../modules/coap/message.js";

/** A typical LwM2M 1.1 Register request (objects 1, 3, 4, 5, 19 with versions). */
export function registerMessage(): CoapMessage {
  const message = createMessage(MessageType.Confirmable, Method.POST, 0x1234, Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4));
  setUriPath(message, "/rd");
  for (const query of ["ep=xs-lwm2m-device-0001", "lt=86400", "lwm2m=1.1", "b=U"]) addUriQuery(message, query);
  addOption(message, OptionNumber.ContentFormat, encodeUint(ContentFormat.LinkFormat));
  message.payload = utf8Encode('</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</4/0>,</5/0>,</19>;ver=1.0,</19/0>,</19/1>');
  return message;
}

/** A NON notification of /19/0/0 carrying 16 bytes of opaque data. */
export function notifyMessage(): CoapMessage {
  const message = createMessage(MessageType.NonConfirmable, ResponseCode.Content, 0x2345, Uint8Array.of(0x11, 0x22, 0x33, 0x44));
  addOption(message, OptionNumber.Observe, encodeUint(1042));
  addOption(message, OptionNumber.ContentFormat, encodeUint(ContentFormat.OctetStream));
  message.payload = new Uint8Array(16).fill(0x5a);
  return message;
}

export function wireBytes(message: CoapMessage): number {
  return encodeMessage(message).length;
}
