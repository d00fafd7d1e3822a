/*
 * Interop subscriber for a publisher that restarts: receives COUNT messages from each of SESSIONS
 * publication sessions on CHANNEL/STREAM, one after the other, and checks each session's stream by
 * itself: index (exactly once, in order, from 0), length and every byte (content rule in
 * interop_common.h). Fails on a third session, or on a message of a session that already ended.
 *   usage: interop_sessions_sub AERON_DIR CHANNEL STREAM SESSIONS COUNT MAX_LENGTH TIMEOUT_S
 * Prints "ready", then "verified SESSIONS x COUNT" and exits 0; exits 1 on a wrong message or a
 * timeout (saying which), 2 on an Aeron error.
 */
#include "interop_common.h"
#include <sched.h>

#define MAX_SESSIONS 8

typedef struct
{
    int32_t session_ids[MAX_SESSIONS];
    uint32_t received[MAX_SESSIONS];
    uint32_t sessions;
    uint32_t max_sessions;
    uint32_t count;
    int32_t max_length;
    int failed;
}
checker_t;

static uint32_t complete_sessions(const checker_t *checker)
{
    uint32_t complete = 0;
    for (uint32_t s = 0; s < checker->sessions; s++)
    {
        complete += checker->received[s] == checker->count ? 1u : 0u;
    }
    return complete;
}

static void on_message(void *clientd, const uint8_t *buffer, size_t length, aeron_header_t *header)
{
    checker_t *checker = (checker_t *)clientd;
    if (checker->failed)
    {
        return;
    }
    aeron_header_values_t values;
    if (aeron_header_values(header, &values) < 0)
    {
        fprintf(stderr, "header values: %s\n", aeron_errmsg());
        checker->failed = 1;
        return;
    }
    uint32_t s = 0;
    while (s < checker->sessions && checker->session_ids[s] != values.frame.session_id)
    {
        s++;
    }
    if (s == checker->sessions)
    {
        if (checker->sessions == checker->max_sessions)
        {
            fprintf(stderr, "a session more than %u: %d\n", checker->max_sessions, values.frame.session_id);
            checker->failed = 1;
            return;
        }
        checker->session_ids[s] = values.frame.session_id;
        checker->received[s] = 0;
        checker->sessions++;
    }
    uint32_t index = checker->received[s];
    if (index >= checker->count)
    {
        fprintf(stderr, "session %d: message after its %u\n", values.frame.session_id, checker->count);
        checker->failed = 1;
        return;
    }
    int32_t expected = interop_message_length(index, checker->max_length);
    uint32_t got = (uint32_t)buffer[0] | ((uint32_t)buffer[1] << 8) | ((uint32_t)buffer[2] << 16) |
        ((uint32_t)buffer[3] << 24);
    if ((int32_t)length != expected || got != index)
    {
        fprintf(stderr, "session %d message %u: length %zu (expected %d), carries index %u\n", values.frame.session_id,
            index, length, expected, got);
        checker->failed = 1;
        return;
    }
    uint32_t base = index * 31u;
    for (size_t k = 4; k < length; k++)
    {
        if (buffer[k] != (uint8_t)((base + (uint32_t)k) & 255u))
        {
            fprintf(stderr, "session %d message %u: byte %zu differs\n", values.frame.session_id, index, k);
            checker->failed = 1;
            return;
        }
    }
    checker->received[s]++;
}

int main(int argc, char **argv)
{
    if (argc != 8)
    {
        fprintf(stderr, "usage: %s AERON_DIR CHANNEL STREAM SESSIONS COUNT MAX_LENGTH TIMEOUT_S\n", argv[0]);
        return 2;
    }
    const char *aeron_dir = argv[1];
    const char *channel = argv[2];
    int32_t stream_id = (int32_t)strtol(argv[3], NULL, 10);
    checker_t checker;
    memset(&checker, 0, sizeof(checker));
    checker.max_sessions = (uint32_t)strtoul(argv[4], NULL, 10);
    checker.count = (uint32_t)strtoul(argv[5], NULL, 10);
    checker.max_length = (int32_t)strtol(argv[6], NULL, 10);
    double deadline = interop_now_s() + strtod(argv[7], NULL);
    if (checker.max_sessions < 1 || checker.max_sessions > MAX_SESSIONS)
    {
        fprintf(stderr, "SESSIONS must be 1..%d\n", MAX_SESSIONS);
        return 2;
    }

    aeron_t *aeron = interop_connect(aeron_dir);
    aeron_subscription_t *subscription = interop_add_subscription(aeron, channel, stream_id, NULL, NULL);
    aeron_fragment_assembler_t *assembler = interop_assembler(on_message, &checker);
    printf("ready\n");
    fflush(stdout);

    while (complete_sessions(&checker) < checker.max_sessions && !checker.failed)
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
                fprintf(stderr, "timeout with %u complete sessions of %u\n", complete_sessions(&checker), checker.max_sessions);
                return 1;
            }
            sched_yield();
        }
    }
    if (checker.failed)
    {
        return 1;
    }
    printf("verified %u x %u\n", checker.max_sessions, checker.count);
    fflush(stdout);
    aeron_subscription_close(subscription, NULL, NULL);
    aeron_fragment_assembler_delete(assembler);
    aeron_close(aeron);
    return 0;
}
