// Sessions on cool-down at one receive endpoint (Aeron's DataPacketDispatcher ON_COOL_DOWN state):
// after an image went without end of stream, its session's SETUPs and data are ignored until the
// cool-down expires, or for as long as the stream stays subscribed (`rejoin=false`). Lookups on the
// data path allocate nothing; entries are made only when an image is removed, and bounded.

/** Sessions one receive endpoint holds on cool-down at most (each came from an image that was removed). */
export const MAX_COOL_DOWNS = 4096;

export class SessionCoolDowns {
  /** streamId -> sessionId -> expiry (ns; Infinity for as long as the stream is subscribed). */
  private readonly byStream = new Map<number, Map<number, number>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** True while (streamId, sessionId) is on cool-down; forgets an expired entry. */
  isCoolingDown(nowNs: number, streamId: number, sessionId: number): boolean {
    if (this.count === 0) return false;
    const sessions = this.byStream.get(streamId);
    const expiryNs = sessions?.get(sessionId);
    if (expiryNs === undefined) return false;
    if (expiryNs - nowNs > 0) return true;
    sessions!.delete(sessionId);
    this.count--;
    return false;
  }

  /**
   * Puts a session on cool-down until `expiryNs`. Past MAX_COOL_DOWNS live entries (only
   * `rejoin=false` ones outlive their expiry) a new session is not held back.
   */
  add(nowNs: number, streamId: number, sessionId: number, expiryNs: number): void {
    if (this.count >= MAX_COOL_DOWNS) this.forgetExpired(nowNs);
    let sessions = this.byStream.get(streamId);
    if (sessions === undefined) {
      sessions = new Map();
      this.byStream.set(streamId, sessions);
    }
    if (!sessions.has(sessionId)) {
      if (this.count >= MAX_COOL_DOWNS) return;
      this.count++;
    }
    sessions.set(sessionId, expiryNs);
  }

  /** A stream nobody subscribes to any more forgets its cool-downs (Aeron's removeSubscription). */
  forgetStream(streamId: number): void {
    const sessions = this.byStream.get(streamId);
    if (sessions === undefined) return;
    this.count -= sessions.size;
    this.byStream.delete(streamId);
  }

  private forgetExpired(nowNs: number): void {
    for (const sessions of this.byStream.values()) {
      for (const [sessionId, expiryNs] of sessions) {
        if (expiryNs - nowNs <= 0) {
          sessions.delete(sessionId);
          this.count--;
        }
      }
    }
  }
}
