import { Type, type Static } from 'typebox'

/** Options of the mdns plugin (`createServer({ mdns: { … } })`; `mdns: false` turns it off). */
export const MdnsOptions = Type.Object({
  /**
   * Advertise on this network interface only: a name (`eth0`) or one of its addresses.
   * Default: every multicast-capable interface (or the bind address when the server is bound
   * to one specific address).
   */
  interface: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  /** Put the server version in TXT `version`. Set false to not reveal it on the LAN. */
  includeVersion: Type.Boolean({ default: true }),
  /**
   * Host name to advertise (instance name and SRV target `<hostname>.local`) instead of the
   * machine's. One DNS label: letters, digits and dashes.
   */
  hostname: Type.Optional(Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$' })),
  /** On close, how long to wait for the goodbye packets to go out. */
  goodbyeTimeoutMs: Type.Integer({ minimum: 0, maximum: 10_000, default: 1000 }),
}, { additionalProperties: false })
export type MdnsOptions = Static<typeof MdnsOptions>
