import dgram from "node:dgram";

/** A UDP port free on 127.0.0.1 right now (for servers that need a port number before they start). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.bind(0, "127.0.0.1", () => {
      const port = socket.address().port;
      socket.close(() => resolve(port));
    });
  });
}
