/*
 * Interop subscriber for the sender-conformance cases (issue #12): receives COUNT messages on
 * CHANNEL/STREAM through the Aeron media driver in AERON_DIR, checking each one (content rule in
 * interop_common.h), then keeps polling for HOLD_S seconds and reports what happens to the image:
 * it must stay available on an idle stream, and it reaches end of stream only if the publisher
 * sent EOS. Then it closes the subscription, so the driver sends its EOS status messages.
 *   usage: interop_hold_sub AERON_DIR CHANNEL STREAM COUNT MAX_LENGTH HOLD_S
 * Prints, one per line: "ready"; "verified N" once COUNT messages checked; during the hold
 * "unavailable T" (seconds into the hold) if the image goes and "eos T" the first time the image
 * is at end of stream; "held"; then "closed" once the subscription is closed. Exits 0 after
 * "closed"; 1 on a wrong message or a timeout (10 s for the messages); 2 on an Aeron error.
 */
#include "interop_common.h"
#include <sched.h>

typedef struct
{
    uint32_t received;
    int32_t max_length;
    int failed;
    volatile int unavailable;
}
hold_state_t;

static void on_message(void *clientd, const uint8_t *buffer, size_t length, aeron_header_t *header)
{
    (void)header;
    hold_state_t *state = (hold_state_t *)clientd;
    if (state->failed)
    {
        return;
    }
    uint32_t index = state->received;
    int32_t expected = interop_message_length(index, state->max_length);
    uint32_t got = length < 4 ? 0xffffffffu : (uint32_t)buffer[0] | ((uint32_t)buffer[1] << 8) |
        ((uint32_t)buffer[2] << 16) | ((uint32_t)buffer[3] << 24);
    if ((int32_t)length != expected || got != index)
    {
        fprintf(stderr, "message %u: length %zu (expected %d), index %u\n", index, length, expected, got);
        state->failed = 1;
        return;
    }
    uint32_t base = index * 31u;
    for (size_t k = 4; k < length; k++)
    {
        if (buffer[k] != (uint8_t)((base + (uint32_t)k) & 255u))
        {
            fprintf(stderr, "message %u: byte %zu differs\n", index, k);
            state->failed = 1;
            return;
        }
    }
    state->received++;
}

static void on_unavailable(void *clientd, aeron_subscription_t *subscription, aeron_image_t *image)
{
    (void)subscription;
    (void)image;
    ((hold_state_t *)clientd)->unavailable++;
}

int main(int argc, char **argv)
{
    if (argc != 7)
    {
        fprintf(stderr, "usage: %s AERON_DIR CHANNEL STREAM COUNT MAX_LENGTH HOLD_S\n", argv[0]);
        return 2;
    }
    const char *aeron_dir = argv[1];
    const char *channel = argv[2];
    int32_t stream_id = (int32_t)strtol(argv[3], NULL, 10);
    uint32_t count = (uint32_t)strtoul(argv[4], NULL, 10);
    hold_state_t state = { 0, (int32_t)strtol(argv[5], NULL, 10), 0, 0 };
    double hold_s = strtod(argv[6], NULL);

    aeron_t *aeron = interop_connect(aeron_dir);
    aeron_subscription_t *subscription = interop_add_subscription(aeron, channel, stream_id, on_unavailable, &state);
    aeron_fragment_assembler_t *assembler = interop_assembler(on_message, &state);
    printf("ready\n");
    fflush(stdout);

    double deadline = interop_now_s() + 10.0;
    while (state.received < count && !state.failed)
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
                fprintf(stderr, "timeout after %u of %u messages\n", state.received, count);
                return 1;
            }
            sched_yield();
        }
    }
    if (state.failed)
    {
        return 1;
    }
    printf("verified %u\n", state.received);
    fflush(stdout);

    double hold_start = interop_now_s();
    int reported_unavailable = 0;
    int reported_eos = 0;
    while (interop_now_s() - hold_start < hold_s && !state.failed)
    {
        int fragments = aeron_subscription_poll(subscription, aeron_fragment_assembler_handler, assembler, 256);
        if (fragments < 0)
        {
            fprintf(stderr, "poll: %s\n", aeron_errmsg());
            return 2;
        }
        double t = interop_now_s() - hold_start;
        if (state.unavailable > 0 && !reported_unavailable)
        {
            reported_unavailable = 1;
            printf("unavailable %.3f\n", t);
            fflush(stdout);
        }
        if (!reported_eos && aeron_subscription_image_count(subscription) > 0)
        {
            aeron_image_t *image = aeron_subscription_image_at_index(subscription, 0);
            if (NULL != image)
            {
                if (aeron_image_is_end_of_stream(image))
                {
                    reported_eos = 1;
                    printf("eos %.3f\n", t);
                    fflush(stdout);
                }
                aeron_subscription_image_release(subscription, image);
            }
        }
        if (0 == fragments)
        {
            struct timespec pause = { 0, 1000000 };
            nanosleep(&pause, NULL);
        }
    }
    if (state.failed)
    {
        return 1;
    }
    printf("held\n");
    fflush(stdout);
    aeron_subscription_close(subscription, NULL, NULL);
    aeron_fragment_assembler_delete(assembler);
    aeron_close(aeron);
    printf("closed\n");
    fflush(stdout);
    return 0;
}
