/**
 * Named values of the pcap and pcapng file formats (draft-ietf-opsawg-pcap,
 * draft-ietf-opsawg-pcapng) and the common link types (tcpdump.org/linktypes.html).
 */

/** Common LINKTYPE_* values; any 16-bit number is accepted and reported as is. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  IEEE802_11: 105,
  LOOP: 108,
  LINUX_SLL: 113,
  IEEE802_11_RADIOTAP: 127,
  IPV4: 228,
  IPV6: 229,
  NETLINK: 253,
  LINUX_SLL2: 276,
} as const;

/** pcap magic numbers, as read big-endian from the first four bytes. */
export const PcapMagic = {
  /** Microsecond timestamps, big-endian file. */
  Micro: 0xa1b2c3d4,
  /** Microsecond timestamps, little-endian file (as read big-endian). */
  MicroSwapped: 0xd4c3b2a1,
  /** Nanosecond timestamps, big-endian file. */
  Nano: 0xa1b23c4d,
  /** Nanosecond timestamps, little-endian file (as read big-endian). */
  NanoSwapped: 0x4d3cb2a1,
  /** Kuznetzov's modified pcap (not supported). */
  Modified: 0xa1b2cd34,
  /** Kuznetzov's modified pcap, swapped (not supported). */
  ModifiedSwapped: 0x34cdb2a1,
} as const;

/** Length of the pcap file header. */
export const PCAP_HEADER_LEN = 24;
/** Length of a pcap record header. */
export const PCAP_RECORD_HEADER_LEN = 16;
/** libpcap's largest snapshot length; used as the record limit when a file's snaplen is 0. */
export const MAX_SNAPLEN = 262144;

/** pcapng block types. */
export const BlockType = {
  SectionHeader: 0x0a0d0d0a,
  InterfaceDescription: 0x00000001,
  ObsoletePacket: 0x00000002,
  SimplePacket: 0x00000003,
  NameResolution: 0x00000004,
  InterfaceStatistics: 0x00000005,
  EnhancedPacket: 0x00000006,
  DecryptionSecrets: 0x0000000a,
  Custom: 0x00000bad,
} as const;

/** The pcapng byte-order magic, as written in the section's byte order. */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** pcapng option codes this package reads or writes. */
export const OptionCode = {
  EndOfOpt: 0,
  Comment: 1,
  ShbHardware: 2,
  ShbOs: 3,
  ShbUserAppl: 4,
  IfName: 2,
  IfDescription: 3,
  IfTsresol: 9,
  IfTsoffset: 14,
} as const;

/** Minimum total lengths of pcapng blocks (header, fixed fields, trailing length). */
export const MinBlockLen = {
  Any: 12,
  SectionHeader: 28,
  InterfaceDescription: 20,
  EnhancedPacket: 32,
  ObsoletePacket: 32,
  SimplePacket: 16,
} as const;

/** pcapng blocks and pcap records larger than this are rejected as corrupt, so a reader's memory stays bounded. */
export const MAX_BLOCK_LEN = 64 * 1024 * 1024;

/** The if_tsresol value for microseconds (10^-6, the pcapng default). */
export const TSRESOL_MICRO = 6;
/** The if_tsresol value for nanoseconds (10^-9). */
export const TSRESOL_NANO = 9;
