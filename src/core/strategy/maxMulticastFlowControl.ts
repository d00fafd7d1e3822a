// Max multicast flow control (Aeron's multicast default): the sender runs at the pace of the
// fastest receiver, the maximum over receivers of (position + window). Kept stateless as in Aeron:
// because the limit never moves backwards, max(limit, this SM's position + window) over the stream
// of SMs is the maximum over receivers. Slow receivers fall behind and recover by NAK.
//
// That is exactly the unicast rule applied to every SM, so the logic lives once, in
// UnicastFlowControl; this class names the multicast strategy.
import { UnicastFlowControl } from "./unicastFlowControl.js";

export class MaxMulticastFlowControl extends UnicastFlowControl {}
