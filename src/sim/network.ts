// The simulated network's topology: directed links between hosts (explicit, or made on first use
// from a default model), partitions (per direction, so one-way partitions are just one direction),
// and multicast group membership. It decides nothing about individual datagrams (links do that)
// and knows nothing about events or nodes (the simulator does that).
//
// Each link gets its own Prng, forked from the run's root generator by the link's endpoint names
// ("link:a->b"), so a link's stream is the same whichever order links are created in.
import { assert } from "./assert.js";
import { addressKey, simAddress, type SimAddress } from "./address.js";
import { Link, type LinkModel } from "./link.js";
import type { Prng } from "./prng.js";

/** A host's own traffic to itself: instantaneous and perfect unless a test says otherwise. */
export const LOOPBACK_MODEL: LinkModel = { latencyNs: 0 };

const LINKS_MAX = 1 << 16;
const GROUP_MEMBERS_MAX = 4096;

interface Group {
  readonly address: SimAddress;
  /** Member host indices, in join order (the order copies are sent in). */
  readonly members: number[];
}

export class Network {
  readonly links: Link[] = [];
  /** Per source host: destination host index -> link. */
  private readonly outLinks: Array<Array<Link | undefined>> = [];
  private readonly hostNames: string[] = [];
  /** Directed partitions, as src * 65536 + dst. Kept apart from links so a link made later obeys them. */
  private readonly partitions = new Set<number>();
  private readonly groups = new Map<number, Group>();

  constructor(
    private readonly root: Prng,
    /** Model for host pairs without an explicit link; null means they have no route. */
    private readonly defaultModel: LinkModel | null,
  ) {}

  addHost(index: number, name: string): void {
    assert(index === this.hostNames.length, "addHost: hosts are added in index order");
    this.hostNames.push(name);
    this.outLinks.push([]);
  }

  /** Creates the directed link src -> dst with `model`, or gives an existing one the new model. */
  setLink(src: number, dst: number, model: LinkModel): Link {
    const existing = this.outLinks[src]?.[dst];
    if (existing !== undefined) {
      existing.setModel(model);
      return existing;
    }
    return this.createLink(src, dst, model);
  }

  /** The link src -> dst, made from the default (or loopback) model on first use; null: no route. */
  linkFor(src: number, dst: number): Link | null {
    const existing = (this.outLinks[src] as Array<Link | undefined>)[dst];
    if (existing !== undefined) return existing;
    const model = src === dst ? LOOPBACK_MODEL : this.defaultModel;
    if (model === null) return null;
    return this.createLink(src, dst, model);
  }

  existingLink(src: number, dst: number): Link | null {
    return this.outLinks[src]?.[dst] ?? null;
  }

  /** Cuts src -> dst (one direction). */
  partition(src: number, dst: number): void {
    this.partitions.add(src * 65536 + dst);
    const link = this.existingLink(src, dst);
    if (link !== null) link.up = false;
  }

  heal(src: number, dst: number): void {
    this.partitions.delete(src * 65536 + dst);
    const link = this.existingLink(src, dst);
    if (link !== null) link.up = true;
  }

  healAll(): void {
    this.partitions.clear();
    for (const link of this.links) link.up = true;
  }

  isPartitioned(src: number, dst: number): boolean {
    return this.partitions.has(src * 65536 + dst);
  }

  /** Host `host` receives datagrams sent to (groupIp, port). Joining twice is a no-op. */
  join(groupIp: number, port: number, host: number): void {
    const key = addressKey(groupIp, port);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { address: simAddress(groupIp, port), members: [] };
      this.groups.set(key, group);
    }
    if (group.members.includes(host)) return;
    assert(group.members.length < GROUP_MEMBERS_MAX, "join: too many members in one group");
    group.members.push(host);
  }

  leave(groupIp: number, port: number, host: number): void {
    const group = this.groups.get(addressKey(groupIp, port));
    if (group === undefined) return;
    const at = group.members.indexOf(host);
    if (at >= 0) group.members.splice(at, 1);
  }

  /** Removes `host` from every group (it crashed). */
  leaveAll(host: number): void {
    for (const group of this.groups.values()) {
      const at = group.members.indexOf(host);
      if (at >= 0) group.members.splice(at, 1);
    }
  }

  /** The group for (groupIp, port), or undefined when nobody ever joined it. */
  group(groupIp: number, port: number): { readonly address: SimAddress; readonly members: ReadonlyArray<number> } | undefined {
    return this.groups.get(addressKey(groupIp, port));
  }

  private createLink(src: number, dst: number, model: LinkModel): Link {
    assert(this.links.length < LINKS_MAX, "too many links");
    const fromName = this.hostNames[src];
    const toName = this.hostNames[dst];
    assert(fromName !== undefined && toName !== undefined, "link between unknown hosts");
    const link = new Link(this.links.length, fromName, toName, this.root.fork(`link:${fromName}->${toName}`), model);
    link.up = !this.isPartitioned(src, dst);
    this.links.push(link);
    (this.outLinks[src] as Array<Link | undefined>)[dst] = link;
    return link;
  }
}
