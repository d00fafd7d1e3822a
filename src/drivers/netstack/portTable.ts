// The netstack's UDP port table: which engine endpoint owns which local port (the demultiplexer's
// key), an ephemeral port allocator (sequential from a start, wrapping within its range, skipping
// ports in use: deterministic, so a simulator run repeats), and the multicast groups joined (with
// a count per group, since several endpoints may join one group).

export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
}

export class PortTable {
  /** Local port -> endpoint id (-1: free). */
  private readonly owner = new Int32Array(65536).fill(-1);
  private readonly groups = new Map<number, number>();
  private next: number;

  constructor(readonly ephemeralFirst = 49152, readonly ephemeralLast = 65535, start = ephemeralFirst) {
    if (!(ephemeralFirst >= 1 && ephemeralLast <= 65535 && ephemeralFirst <= ephemeralLast)) throw new RangeError("ephemeral port range must lie in 1..65535");
    if (!(start >= ephemeralFirst && start <= ephemeralLast)) throw new RangeError("ephemeral start outside its range");
    this.next = start;
  }

  /** The endpoint bound to `port`, or -1. */
  endpointOf(port: number): number {
    return this.owner[port & 0xffff] as number;
  }

  /** Binds `port` (0: an ephemeral one) to `endpointId`; returns the port. Throws PortInUseError. */
  bind(port: number, endpointId: number): number {
    if (port === 0) {
      const span = this.ephemeralLast - this.ephemeralFirst + 1;
      for (let i = 0; i < span; i++) {
        const candidate = this.next;
        this.next = candidate === this.ephemeralLast ? this.ephemeralFirst : candidate + 1;
        if (this.owner[candidate] === -1) {
          this.owner[candidate] = endpointId;
          return candidate;
        }
      }
      throw new PortInUseError("no free ephemeral port");
    }
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new RangeError(`port ${port} outside 1..65535`);
    if (this.owner[port] !== -1) throw new PortInUseError(`port ${port} is in use by endpoint ${this.owner[port]}`);
    this.owner[port] = endpointId;
    return port;
  }

  unbind(port: number): void {
    this.owner[port & 0xffff] = -1;
  }

  joinGroup(groupIp: number): void {
    const key = groupIp >>> 0;
    this.groups.set(key, (this.groups.get(key) ?? 0) + 1);
  }

  leaveGroup(groupIp: number): void {
    const key = groupIp >>> 0;
    const count = this.groups.get(key) ?? 0;
    if (count <= 1) this.groups.delete(key);
    else this.groups.set(key, count - 1);
  }

  isMember(groupIp: number): boolean {
    return this.groups.has(groupIp >>> 0);
  }

  /** The joined groups (allocates: for endpoint open and close, not the hot path). */
  groupList(): number[] {
    return [...this.groups.keys()];
  }

  get groupCount(): number {
    return this.groups.size;
  }
}
