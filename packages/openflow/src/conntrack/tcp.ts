/**
 * TCP connection tracking, the algorithm of OVS's lib/conntrack-tcp.c (itself pf's
 * `pf_test_tcp()`, after Guido van Rooij's "Real Stateful TCP Packet Filtering in IP Filter").
 * Each direction ("peer") keeps `seqlo` (highest sequence number sent), `seqhi` (highest the other
 * end has acknowledged plus its window), `max_win`, the window-scale option and a state
 * (CLOSED, SYN_SENT, ESTABLISHED, CLOSING, FIN_WAIT_2, TIME_WAIT). A segment is accepted when its
 * last octet is inside the receiver's window, it is at most one window behind, it acknowledges
 * no more than one window ahead or one reassembled fragment back (`MAXACKWINDOW`), and, for a
 * RST, its sequence number is exactly (or one off) the expected one; accepted segments move the
 * windows and the states, and pick the timeout. A second, looser test lets through SYN
 * retransmissions, pick-ups of established streams and stray segments after close without
 * refreshing the timeout. Everything else is invalid. Flag combinations that pf's scrubber
 * rejects (SYN with RST or FIN, no ACK and no RST, FIN/PSH/URG without ACK) are invalid up front.
 *
 * Sequence arithmetic is modulo 2^32: `SEQ_GEQ(a, b)` is `(a - b) | 0 >= 0`.
 */
import { u16, u32 } from '@ovnts/packet';
import { TcpState, Tm } from './constants.js';
import type { ConnStore } from './store.js';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const URG = 0x20;

const TCP_MAX_WSCALE = 14;
const WS_FLAG = 0x80;
const WS_UNKNOWN = 0x40;
const WS_MASK = 0x0f;
const MAXACKWINDOW = 0xffff + 1500;

/** Result of updating a connection with a packet (OVS `enum ct_update_res`). */
export const Upd = {
  INVALID: 0,
  VALID: 1,
  /** The connection is closed and this packet reopens it (SYN after both sides finished). */
  NEW: 2,
  /** Valid, but the connection is still new (ct_state keeps +new). */
  VALID_NEW: 3,
} as const;

/** `tcp_invalid_flags()`: flag combinations no tracked TCP segment may carry. */
export function tcpInvalidFlags(flags: number): boolean {
  if (flags & SYN) {
    if (flags & (RST | FIN)) return true;
  } else if (!(flags & (ACK | RST))) return true;
  if (!(flags & ACK) && flags & (FIN | PSH | URG)) return true;
  return false;
}

/** `tcp_valid_new()`: may this segment create a connection? (Not SYN+ACK: no half-open pick-up.) */
export function tcpValidNew(flags: number): boolean {
  if (tcpInvalidFlags(flags)) return false;
  return !((flags & SYN) && (flags & ACK));
}

function geq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

function gt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** Window-scale option of a TCP header (`tcp_get_wscale()`): `WS_FLAG | shift`, or 0. */
function getWscale(b: Uint8Array, l4: number): number {
  let len = (b[l4 + 12]! >>> 4) * 4 - 20;
  let o = l4 + 20;
  let wscale = 0;
  while (len >= 3) {
    const kind = b[o]!;
    if (kind === 0) return wscale;
    if (kind === 1) {
      o++;
      len--;
      continue;
    }
    if (kind === 3) wscale = Math.min(b[o + 2]!, TCP_MAX_WSCALE) | WS_FLAG;
    let optlen = b[o + 1]!;
    if (optlen < 2) optlen = 2;
    len -= optlen;
    o += optlen;
  }
  return wscale;
}

function storePeers(
  s: ConnStore, si: number, di: number, sMaxWin: number, sWs: number, sState: number,
  dMaxWin: number, dWs: number, dState: number, sSeqlo: number, sSeqhi: number, dSeqhi: number,
): void {
  s.pinfo[si] = (((sMaxWin & 0xffff) << 16) | ((sWs & 0xff) << 8) | sState) >>> 0;
  s.pinfo[di] = (((dMaxWin & 0xffff) << 16) | ((dWs & 0xff) << 8) | dState) >>> 0;
  s.seqlo[si] = sSeqlo >>> 0;
  s.seqhi[si] = sSeqhi >>> 0;
  s.seqhi[di] = dSeqhi >>> 0;
}

/** Initialise both peers from the first packet (`tcp_new_conn()`); returns the timeout attribute. */
export function tcpNewConn(s: ConnStore, id: number, b: Uint8Array, l4: number, l4Len: number): number {
  const flags = u16(b, l4 + 12) & 0x0fff;
  const hlen = (b[l4 + 12]! >>> 4) * 4;
  const src = 2 * id;
  const dst = src + 1;
  const seq = u32(b, l4 + 4);
  let seqhi = (seq + (l4Len - hlen) + 1) >>> 0;
  let sws = 0;
  let dws = 0;
  if (flags & SYN) {
    seqhi = (seqhi + 1) >>> 0;
    sws = getWscale(b, l4);
  } else {
    sws = WS_UNKNOWN;
    dws = WS_UNKNOWN;
  }
  let maxWin = Math.max(u16(b, l4 + 14), 1);
  if (sws & WS_MASK) maxWin = Math.ceil(maxWin / (1 << (sws & WS_MASK)));
  if (flags & FIN) seqhi = (seqhi + 1) >>> 0;
  s.seqlo[src] = seq;
  s.seqhi[src] = seqhi;
  s.pinfo[src] = ((maxWin & 0xffff) << 16 | sws << 8 | TcpState.SYN_SENT) >>> 0;
  s.seqlo[dst] = 0;
  s.seqhi[dst] = 1;
  s.pinfo[dst] = (1 << 16 | dws << 8 | TcpState.CLOSED) >>> 0;
  return Tm.TCP_SYN_SENT;
}

/**
 * Update connection `id` with a segment at `b[l4, l4 + l4Len)` sent by the reply side when `reply`
 * (`tcp_conn_update()`). Returns `Upd` in the low 4 bits and, when the expiry must be refreshed,
 * the timeout attribute + 1 in the bits above (0 = leave the expiry alone).
 */
export function tcpConnUpdate(s: ConnStore, id: number, b: Uint8Array, l4: number, l4Len: number, reply: boolean, seqCheck: boolean): number {
  const flags = u16(b, l4 + 12) & 0x0fff;
  if (tcpInvalidFlags(flags)) return Upd.INVALID;
  const si = 2 * id + (reply ? 1 : 0);
  const di = 2 * id + (reply ? 0 : 1);
  const sInfo = s.pinfo[si]!;
  const dInfo = s.pinfo[di]!;
  let sState = sInfo & 0xff;
  let dState = dInfo & 0xff;
  let sWs = (sInfo >>> 8) & 0xff;
  let dWs = (dInfo >>> 8) & 0xff;
  let sMaxWin = sInfo >>> 16;
  let dMaxWin = dInfo >>> 16;
  let sSeqlo = s.seqlo[si]!;
  let sSeqhi = s.seqhi[si]!;
  const dSeqlo = s.seqlo[di]!;
  let dSeqhi = s.seqhi[di]!;

  if ((flags & (SYN | ACK)) === SYN) {
    if (dState >= TcpState.FIN_WAIT_2 && sState >= TcpState.FIN_WAIT_2) {
      sState = dState = TcpState.CLOSED;
      storePeers(s, si, di, sMaxWin, sWs, sState, dMaxWin, dWs, dState, sSeqlo, sSeqhi, dSeqhi);
      return Upd.NEW;
    } else if (sState <= TcpState.SYN_SENT) {
      sState = TcpState.SYN_SENT;
      storePeers(s, si, di, sMaxWin, sWs, sState, dMaxWin, dWs, dState, sSeqlo, sSeqhi, dSeqhi);
      return Upd.VALID_NEW | ((Tm.TCP_SYN_SENT + 1) << 4);
    }
  }

  let sws = 0;
  let dws = 0;
  if (sWs & WS_FLAG && dWs & WS_FLAG && !(flags & SYN)) {
    sws = sWs & WS_MASK;
    dws = dWs & WS_MASK;
  } else if (sWs & WS_UNKNOWN && dWs & WS_UNKNOWN && !(flags & SYN)) {
    sws = TCP_MAX_WSCALE;
    dws = TCP_MAX_WSCALE;
  }

  let win = u16(b, l4 + 14);
  const pLen = l4Len - (b[l4 + 12]! >>> 4) * 4;
  const origSeq = u32(b, l4 + 4);
  let seq = origSeq;
  let ack = u32(b, l4 + 8);
  let end: number;
  let checkAckskew = true;
  if (sState < TcpState.SYN_SENT) {
    // First packet from this end.
    end = (seq + pLen) >>> 0;
    if (flags & SYN) {
      end = (end + 1) >>> 0;
      if (dWs & WS_FLAG) {
        sWs = getWscale(b, l4);
        if (sWs & WS_FLAG) {
          sws = sWs & WS_MASK;
          win = Math.ceil(win / (1 << sws));
          dws = dWs & WS_MASK;
        } else {
          dMaxWin = (dMaxWin << (dWs & WS_MASK)) & 0xffff; // uint16_t in OVS
          dWs = 0;
        }
      }
    }
    if (flags & FIN) end = (end + 1) >>> 0;
    sSeqlo = seq;
    sState = TcpState.SYN_SENT;
    const w = Math.max(1, dMaxWin << dws);
    if (sSeqhi === 1 || geq((end + w) >>> 0, sSeqhi)) {
      sSeqhi = (end + w) >>> 0;
      checkAckskew = false;
    }
    if (win > sMaxWin) sMaxWin = win;
  } else {
    end = (seq + pLen) >>> 0;
    if (flags & SYN) end = (end + 1) >>> 0;
    if (flags & FIN) end = (end + 1) >>> 0;
  }

  if (!(flags & ACK)) ack = dSeqlo;
  else if (ack === 0 && (flags & (ACK | RST)) === (ACK | RST)) ack = dSeqlo;

  if (seq === end) {
    seq = sSeqlo;
    end = seq;
  }

  const ackskew = checkAckskew ? (dSeqlo - ack) | 0 : 0;
  if (
    (geq(sSeqhi, end) &&
      geq(seq, (sSeqlo - (dMaxWin << dws)) >>> 0) &&
      ackskew >= -MAXACKWINDOW &&
      ackskew <= MAXACKWINDOW << sws &&
      (!(flags & RST) || origSeq === sSeqlo || origSeq === ((sSeqlo + 1) >>> 0) || ((origSeq + 1) >>> 0) === sSeqlo)) ||
    !seqCheck
  ) {
    if (sMaxWin < win) sMaxWin = win;
    if (gt(end, sSeqlo)) sSeqlo = end;
    const ws = (win << sws) >>> 0;
    if (geq((ack + ws) >>> 0, dSeqhi)) dSeqhi = (ack + Math.max(ws, 1)) >>> 0;
    if (flags & SYN && sState < TcpState.SYN_SENT) sState = TcpState.SYN_SENT;
    if (flags & FIN && sState < TcpState.CLOSING) sState = TcpState.CLOSING;
    if (flags & ACK) {
      if (dState === TcpState.SYN_SENT) dState = TcpState.ESTABLISHED;
      else if (dState === TcpState.CLOSING) dState = TcpState.FIN_WAIT_2;
    }
    if (flags & RST) sState = dState = TcpState.TIME_WAIT;
    let tm: number;
    if (sState >= TcpState.FIN_WAIT_2 && dState >= TcpState.FIN_WAIT_2) tm = Tm.TCP_CLOSE;
    else if (sState >= TcpState.CLOSING && dState >= TcpState.CLOSING) tm = Tm.TCP_TIME_WAIT;
    else if (sState < TcpState.ESTABLISHED || dState < TcpState.ESTABLISHED) tm = Tm.TCP_SYN_RECV;
    else if (sState >= TcpState.CLOSING || dState >= TcpState.CLOSING) tm = Tm.TCP_FIN_WAIT;
    else tm = Tm.TCP_ESTABLISHED;
    storePeers(s, si, di, sMaxWin, sWs, sState, dMaxWin, dWs, dState, sSeqlo, sSeqhi, dSeqhi);
    return Upd.VALID | ((tm + 1) << 4);
  } else if (
    (dState < TcpState.SYN_SENT || dState >= TcpState.FIN_WAIT_2 || sState >= TcpState.FIN_WAIT_2) &&
    geq((sSeqhi + MAXACKWINDOW) >>> 0, end) &&
    geq(seq, (sSeqlo - MAXACKWINDOW) >>> 0)
  ) {
    // SYN shotguns, pick-up of an established stream, stray segments after close: accepted
    // without refreshing the timeout.
    if (sMaxWin < win) sMaxWin = win;
    if (gt(end, sSeqlo)) sSeqlo = end;
    const ws = (win << sws) >>> 0;
    if (geq((ack + ws) >>> 0, dSeqhi)) dSeqhi = (ack + Math.max(ws, 1)) >>> 0;
    if (flags & FIN && sState < TcpState.CLOSING) sState = TcpState.CLOSING;
    if (flags & RST) sState = dState = TcpState.TIME_WAIT;
    storePeers(s, si, di, sMaxWin, sWs, sState, dMaxWin, dWs, dState, sSeqlo, sSeqhi, dSeqhi);
    return Upd.VALID;
  }
  storePeers(s, si, di, sMaxWin, sWs, sState, dMaxWin, dWs, dState, sSeqlo, sSeqhi, dSeqhi);
  return Upd.INVALID;
}
