/*
 * Interop paced publisher that reports its connection: offers COUNT messages (content rule in
 * interop_common.h) on CHANNEL/STREAM at RATE per second once connected, retrying on back pressure
 * so that indices stay contiguous, and prints every change of aeron_publication_is_connected with
 * the CLOCK_MONOTONIC time it was seen:
 *   "connected T" / "disconnected T"
 * DEST, unless "-", is added with aeron_publication_add_destination (manual MDC). With
 * EXIT_ON_DISCONNECT 1 it exits 0 at the first disconnection after a connection.
 *   usage: interop_watch_pub AERON_DIR CHANNEL STREAM COUNT MAX_LENGTH RATE TIMEOUT_S DEST EXIT_ON_DISCONNECT
 * Prints "sent N" at the end and exits 0; exits 1 on timeout, 2 on an Aeron error.
 */
#include "interop_common.h"
#include <sched.h>

int main(int argc, char **argv)
{
    if (argc != 10)
    {
        fprintf(stderr, "usage: %s AERON_DIR CHANNEL STREAM COUNT MAX_LENGTH RATE TIMEOUT_S DEST EXIT_ON_DISCONNECT\n", argv[0]);
        return 2;
    }
    const char *aeron_dir = argv[1];
    const char *channel = argv[2];
    int32_t stream_id = (int32_t)strtol(argv[3], NULL, 10);
    uint32_t count = (uint32_t)strtoul(argv[4], NULL, 10);
    int32_t max_length = (int32_t)strtol(argv[5], NULL, 10);
    double rate = strtod(argv[6], NULL);
    double deadline = interop_now_s() + strtod(argv[7], NULL);
    const char *destination = argv[8];
    int exit_on_disconnect = (int)strtol(argv[9], NULL, 10);
    if (max_length < 4 || max_length > 16 * 1024 * 1024 || rate <= 0)
    {
        fprintf(stderr, "MAX_LENGTH %d outside 4..16M or RATE %f not positive\n", max_length, rate);
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
    if (0 != strcmp(destination, "-"))
    {
        aeron_async_destination_t *async_destination = NULL;
        if (aeron_publication_async_add_destination(&async_destination, aeron, publication, destination) < 0)
        {
            fprintf(stderr, "add destination %s: %s\n", destination, aeron_errmsg());
            return 2;
        }
        int done = 0;
        while (0 == done)
        {
            done = aeron_publication_async_destination_poll(async_destination);
            if (done < 0)
            {
                fprintf(stderr, "add destination %s: %s\n", destination, aeron_errmsg());
                return 2;
            }
            sched_yield();
        }
    }
    printf("publication ready %s stream %d\n", channel, stream_id);
    fflush(stdout);

    uint32_t sent = 0;
    int connected = 0;
    int was_connected = 0;
    double paced_from = 0;
    while (sent < count)
    {
        double now = interop_now_s();
        if (now > deadline)
        {
            fprintf(stderr, "timeout after sent %u of %u (connected %d)\n", sent, count, connected);
            return 1;
        }
        int is_connected = aeron_publication_is_connected(publication) ? 1 : 0;
        if (is_connected != connected)
        {
            connected = is_connected;
            printf("%s %.6f\n", connected ? "connected" : "disconnected", now);
            fflush(stdout);
            if (connected && !was_connected)
            {
                was_connected = 1;
                paced_from = now;
            }
            else if (!connected && exit_on_disconnect)
            {
                break;
            }
        }
        if (!connected || (double)sent > (now - paced_from) * rate)
        {
            sched_yield();
            continue;
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
    aeron_publication_close(publication, NULL, NULL);
    aeron_close(aeron);
    free(message);
    return 0;
}
