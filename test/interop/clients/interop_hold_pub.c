/*
 * Interop publisher that goes idle (issue #12, item 1): publishes COUNT messages on CHANNEL/STREAM
 * through the Aeron media driver in AERON_DIR (content rule in interop_common.h), then keeps the
 * publication open without offering for HOLD_S seconds, reporting whether it stays connected.
 *   usage: interop_hold_pub AERON_DIR CHANNEL STREAM COUNT MAX_LENGTH HOLD_S
 * Prints "sent N" once every message is offered, then "disconnected T" (seconds into the hold) if
 * the publication loses its subscriber, then "held" and exits 0; exits 1 on a timeout (10 s for the
 * messages), 2 on an Aeron error.
 */
#include "interop_common.h"
#include <sched.h>

int main(int argc, char **argv)
{
    if (argc != 7)
    {
        fprintf(stderr, "usage: %s AERON_DIR CHANNEL STREAM COUNT MAX_LENGTH HOLD_S\n", argv[0]);
        return 2;
    }
    const char *channel = argv[2];
    int32_t stream_id = (int32_t)strtol(argv[3], NULL, 10);
    uint32_t count = (uint32_t)strtoul(argv[4], NULL, 10);
    int32_t max_length = (int32_t)strtol(argv[5], NULL, 10);
    double hold_s = strtod(argv[6], NULL);
    if (max_length < 4 || max_length > 65536)
    {
        fprintf(stderr, "MAX_LENGTH %d outside 4..64K\n", max_length);
        return 2;
    }
    uint8_t *message = malloc((size_t)max_length);
    if (NULL == message)
    {
        fprintf(stderr, "malloc failed\n");
        return 2;
    }
    aeron_t *aeron = interop_connect(argv[1]);
    aeron_publication_t *publication = interop_add_publication(aeron, channel, stream_id);
    double deadline = interop_now_s() + 10.0;
    uint32_t sent = 0;
    while (sent < count)
    {
        if (interop_now_s() > deadline)
        {
            fprintf(stderr, "timeout after sent %u of %u\n", sent, count);
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
    double hold_start = interop_now_s();
    int reported = 0;
    while (interop_now_s() - hold_start < hold_s)
    {
        if (!reported && !aeron_publication_is_connected(publication))
        {
            reported = 1;
            printf("disconnected %.3f\n", interop_now_s() - hold_start);
            fflush(stdout);
        }
        struct timespec pause = { 0, 5000000 };
        nanosleep(&pause, NULL);
    }
    printf("held\n");
    fflush(stdout);
    aeron_publication_close(publication, NULL, NULL);
    aeron_close(aeron);
    free(message);
    return 0;
}
