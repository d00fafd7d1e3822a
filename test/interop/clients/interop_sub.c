/*
 * Interop subscriber: receives COUNT messages on CHANNEL/STREAM through the Aeron media driver in
 * AERON_DIR and checks each one: index (exactly once, in order), length and every byte (content
 * rule in interop_common.h).
 *   usage: interop_sub AERON_DIR CHANNEL STREAM COUNT MAX_LENGTH TIMEOUT_S
 * Prints "ready" once the subscription is added, then "verified N" and exits 0; exits 1 on a
 * wrong message or timeout (saying which), 2 on an Aeron error.
 */
#include "interop_common.h"
#include <sched.h>

typedef struct
{
    uint32_t received;
    int32_t max_length;
    int failed;
}
checker_t;

static void on_message(void *clientd, const uint8_t *buffer, size_t length, aeron_header_t *header)
{
    (void)header;
    checker_t *checker = (checker_t *)clientd;
    if (checker->failed)
    {
        return;
    }
    uint32_t index = checker->received;
    int32_t expected = interop_message_length(index, checker->max_length);
    if ((int32_t)length != expected)
    {
        fprintf(stderr, "message %u: length %zu, expected %d\n", index, length, expected);
        checker->failed = 1;
        return;
    }
    uint32_t got = (uint32_t)buffer[0] | ((uint32_t)buffer[1] << 8) | ((uint32_t)buffer[2] << 16) |
        ((uint32_t)buffer[3] << 24);
    if (got != index)
    {
        fprintf(stderr, "message %u: carries index %u (lost, duplicated or out of order)\n", index, got);
        checker->failed = 1;
        return;
    }
    uint32_t base = index * 31u;
    for (size_t k = 4; k < length; k++)
    {
        if (buffer[k] != (uint8_t)((base + (uint32_t)k) & 255u))
        {
            fprintf(stderr, "message %u: byte %zu differs\n", index, k);
            checker->failed = 1;
            return;
        }
    }
    checker->received++;
}

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
    checker_t checker = { 0, (int32_t)strtol(argv[5], NULL, 10), 0 };
    double deadline = interop_now_s() + strtod(argv[6], NULL);

    aeron_t *aeron = interop_connect(aeron_dir);
    aeron_subscription_t *subscription = interop_add_subscription(aeron, channel, stream_id, NULL, NULL);
    aeron_fragment_assembler_t *assembler = interop_assembler(on_message, &checker);
    printf("ready\n");
    fflush(stdout);

    while (checker.received < count && !checker.failed)
    {
        int fragments = aeron_subscription_poll(subscription, aeron_fragment_assembler_handler, assembler, 256);
        if (fragments < 0)
        {
            fprintf(stderr, "poll: %s\n", aeron_errmsg());
            return 2;
        }
        if (0 == fragments)
        {
            if (interop_now_s() > deadline)
            {
                fprintf(stderr, "timeout after %u of %u messages\n", checker.received, count);
                return 1;
            }
            sched_yield();
        }
    }
    if (checker.failed)
    {
        return 1;
    }
    printf("verified %u\n", checker.received);
    fflush(stdout);
    aeron_subscription_close(subscription, NULL, NULL);
    aeron_fragment_assembler_delete(assembler);
    aeron_close(aeron);
    return 0;
}
