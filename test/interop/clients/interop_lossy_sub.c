/*
 * Interop subscriber for streams that may lose messages (reliable=false): receives on
 * CHANNEL/STREAM until it has seen a message of index LAST_INDEX or beyond, or TIMEOUT_S passes, and checks that each
 * message is whole (length and every byte by the content rule in interop_common.h, for the index
 * it carries) and that indices only go up (never duplicated, never out of order). Gaps are allowed
 * and counted.
 *   usage: interop_lossy_sub AERON_DIR CHANNEL STREAM LAST_INDEX MAX_LENGTH TIMEOUT_S
 * Prints "ready", then "received N missing M" and exits 0; exits 1 on a wrong message or if it
 * never got that far, 2 on an Aeron error. "missing" counts the indices it skipped up to the last one seen.
 */
#include "interop_common.h"
#include <sched.h>

typedef struct
{
    uint32_t received;
    int64_t last;
    int32_t max_length;
    int failed;
}
checker_t;

static void on_message(void *clientd, const uint8_t *buffer, size_t length, aeron_header_t *header)
{
    (void)header;
    checker_t *checker = (checker_t *)clientd;
    if (checker->failed || length < 4)
    {
        checker->failed = 1;
        return;
    }
    uint32_t index = (uint32_t)buffer[0] | ((uint32_t)buffer[1] << 8) | ((uint32_t)buffer[2] << 16) |
        ((uint32_t)buffer[3] << 24);
    if ((int64_t)index <= checker->last)
    {
        fprintf(stderr, "message %u after %lld (duplicated or out of order)\n", index, (long long)checker->last);
        checker->failed = 1;
        return;
    }
    int32_t expected = interop_message_length(index, checker->max_length);
    if ((int32_t)length != expected)
    {
        fprintf(stderr, "message %u: length %zu, expected %d\n", index, length, expected);
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
    checker->last = index;
    checker->received++;
}

int main(int argc, char **argv)
{
    if (argc != 7)
    {
        fprintf(stderr, "usage: %s AERON_DIR CHANNEL STREAM LAST_INDEX MAX_LENGTH TIMEOUT_S\n", argv[0]);
        return 2;
    }
    const char *aeron_dir = argv[1];
    const char *channel = argv[2];
    int32_t stream_id = (int32_t)strtol(argv[3], NULL, 10);
    int64_t last_index = strtoll(argv[4], NULL, 10);
    checker_t checker = { 0, -1, (int32_t)strtol(argv[5], NULL, 10), 0 };
    double deadline = interop_now_s() + strtod(argv[6], NULL);

    aeron_t *aeron = interop_connect(aeron_dir);
    aeron_subscription_t *subscription = interop_add_subscription(aeron, channel, stream_id, NULL, NULL);
    aeron_fragment_assembler_t *assembler = interop_assembler(on_message, &checker);
    printf("ready\n");
    fflush(stdout);

    while (checker.last < last_index && !checker.failed)
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
                fprintf(stderr, "timeout: received %u, last index %lld of %lld\n", checker.received, (long long)checker.last,
                    (long long)last_index);
                return 1;
            }
            sched_yield();
        }
    }
    if (checker.failed)
    {
        return 1;
    }
    printf("received %u missing %lld\n", checker.received, (long long)(checker.last + 1 - checker.received));
    fflush(stdout);
    aeron_subscription_close(subscription, NULL, NULL);
    aeron_fragment_assembler_delete(assembler);
    aeron_close(aeron);
    return 0;
}
