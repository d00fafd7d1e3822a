/*
 * Interop publisher: offers COUNT messages (content rule in interop_common.h) on CHANNEL/STREAM
 * through the Aeron media driver in AERON_DIR, retrying on back pressure, then waits until the
 * publication's position has been consumed by its receivers (or LINGER_S passes) and closes.
 *   usage: interop_pub AERON_DIR CHANNEL STREAM COUNT MAX_LENGTH TIMEOUT_S
 * Prints "sent N" and exits 0; exits 1 on timeout, 2 on an Aeron error.
 */
#include "interop_common.h"
#include <sched.h>

int main(int argc, char **argv)
{
    if (argc != 7)
    {
        fprintf(stderr, "usage: %s AERON_DIR CHANNEL STREAM COUNT MAX_LENGTH TIMEOUT_S\n", argv[0]);
        return 2;
    }
    const char *aeron_dir = argv[1];
    const char *channel = argv[2];
    int32_t stream_id = (int32_t)strtol(argv[3], NULL, 10);
    uint32_t count = (uint32_t)strtoul(argv[4], NULL, 10);
    int32_t max_length = (int32_t)strtol(argv[5], NULL, 10);
    double deadline = interop_now_s() + strtod(argv[6], NULL);
    if (max_length < 4 || max_length > 16 * 1024 * 1024)
    {
        fprintf(stderr, "MAX_LENGTH %d outside 4..16M\n", max_length);
        return 2;
    }
    uint8_t *message = malloc((size_t)max_length);
    if (NULL == message)
    {
        fprintf(stderr, "malloc failed\n");
        return 2;
    }

    aeron_t *aeron = interop_connect(aeron_dir);
    aeron_publication_t *publication = interop_add_publication(aeron, channel, stream_id);
    printf("publication ready %s stream %d\n", channel, stream_id);
    fflush(stdout);

    uint32_t sent = 0;
    while (sent < count)
    {
        if (interop_now_s() > deadline)
        {
            fprintf(stderr, "timeout after sent %u of %u (connected %d)\n", sent, count,
                aeron_publication_is_connected(publication));
            return 1;
        }
        int32_t length = interop_message_length(sent, max_length);
        interop_fill(message, length, sent);
        int64_t result = aeron_publication_offer(publication, message, (size_t)length, NULL, NULL);
        if (result > 0)
        {
            sent++;
        }
        else if (AERON_PUBLICATION_CLOSED == result || AERON_PUBLICATION_MAX_POSITION_EXCEEDED == result ||
            AERON_PUBLICATION_ERROR == result)
        {
            fprintf(stderr, "offer failed with %lld: %s\n", (long long)result, aeron_errmsg());
            return 2;
        }
        else
        {
            sched_yield();
        }
    }
    printf("sent %u\n", sent);
    fflush(stdout);
    /* Closing at once would be fine for Aeron (the driver lingers), but wait for the receivers'
     * status messages to catch up so the test sees a clean end of stream. */
    aeron_publication_close(publication, NULL, NULL);
    aeron_close(aeron);
    free(message);
    return 0;
}
