// Aeron's ChannelEndpointStatus (io.aeron.status.ChannelEndpointStatus): the state of the socket
// a publication or subscription uses, as channelStatus() returns it.

export const ChannelEndpointStatus = {
  /** The socket is being opened. */
  INITIALIZING: 0,
  /** Opening or using the socket failed (also the value of NO_ID_ALLOCATED). */
  ERRORED: -1,
  /** The socket is open. */
  ACTIVE: 1,
  /** The client is closing and will release the socket. */
  CLOSING: 2,
  /** What a closed publication or subscription returns (Aeron's NO_ID_ALLOCATED, -1). */
  NO_ID_ALLOCATED: -1,
} as const;

/** Aeron's ChannelEndpointStatus.status(long): the name of a status value. */
export function channelStatusName(status: number): string {
  switch (status) {
    case ChannelEndpointStatus.INITIALIZING:
      return "INITIALIZING";
    case ChannelEndpointStatus.ERRORED:
      return "ERRORED";
    case ChannelEndpointStatus.ACTIVE:
      return "ACTIVE";
    case ChannelEndpointStatus.CLOSING:
      return "CLOSING";
    default:
      return "unknown id=" + status;
  }
}
