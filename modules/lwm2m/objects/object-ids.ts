/** Object IDs of the objects this client ships (OMA LwM2M registry; 10241 is the Azure IoT dmpreview Config object). */
export const ObjectId = Object.freeze({
  Security: 0,
  Server: 1,
  AccessControl: 2,
  Device: 3,
  ConnectivityMonitoring: 4,
  FirmwareUpdate: 5,
  Location: 6,
  ConnectivityStatistics: 7,
  BinaryAppDataContainer: 19,
  Config: 10241,
} as const);
