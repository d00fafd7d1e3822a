// Tagged (group) flow control: min flow control over the receivers whose SMs carry the matching
// group tag; SMs without a tag, or with another tag, are ignored. With a group minimum size the
// publication is not connected (hasRequiredReceivers() false, limit held) until that many tagged
// receivers have reported.
import {
  MinMulticastFlowControl,
  type MinMulticastFlowControlOptions,
} from "./minMulticastFlowControl.js";

export interface TaggedMulticastFlowControlOptions extends MinMulticastFlowControlOptions {
  /** The group tag's int32 halves. */
  readonly groupTagLo: number;
  readonly groupTagHi: number;
}

export class TaggedMulticastFlowControl extends MinMulticastFlowControl {
  readonly groupTagLo: number;
  readonly groupTagHi: number;

  constructor(options: TaggedMulticastFlowControlOptions) {
    super(options);
    this.groupTagLo = options.groupTagLo | 0;
    this.groupTagHi = options.groupTagHi | 0;
  }

  protected override counts(groupTagPresent: boolean, groupTagLo: number, groupTagHi: number): boolean {
    return groupTagPresent && groupTagLo === this.groupTagLo && groupTagHi === this.groupTagHi;
  }

  /** Aeron's TaggedMulticastFlowControl.matchesTag(ErrorFlyweight): the frame's HAS_GROUP_TAG flag and the tag. */
  protected override countsError(groupTagPresent: boolean, groupTagLo: number, groupTagHi: number): boolean {
    return this.counts(groupTagPresent, groupTagLo, groupTagHi);
  }
}
