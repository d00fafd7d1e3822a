/*
 * Interop publisher for error frames (issue #12, item 12): publishes small messages on
 * CHANNEL/STREAM through the Aeron media driver in AERON_DIR until the driver reports an error
 * frame from a receiver (a subscriber that rejected the image), through the client's publication
 * error frame handler.
 *   usage: interop_errframe_pub AERON_DIR CHANNEL STREAM TIMEOUT_S
 * Prints "connected" once the publication is connected, then
 * "error_frame code=C session=S stream=T receiver=R message=M" and exits 0; exits 1 on timeout,
 * 2 on an Aeron error.
 */
#include "interop_common.h"
#include <sched.h>

typedef struct
{
    volatile int seen;
    char line[1400];
}
error_frame_state_t;

static void on_error_frame(void *clientd, aeron_publication_error_values_t *error_frame)
{
    error_frame_state_t *state = (error_frame_state_t *)clientd;
    if (state->seen)
    {
        return;
    }
    snprintf(state->line, sizeof(state->line), "error_frame code=%d session=%d stream=%d receiver=%lld message=%.*s",
        error_frame->error_code, error_frame->session_id, error_frame->stream_id, (long long)error_frame->receiver_id,
        error_frame->error_message_length, (const char *)error_frame->error_message);
    state->seen = 1;
}

int main(int argc, char **argv)
{
    if (argc != 5)
    {
        fprintf(stderr, "usage: %s AERON_DIR CHANNEL STREAM TIMEOUT_S\n", argv[0]);
        return 2;
    }
    const char *channel = argv[2];
    int32_t stream_id = (int32_t)strtol(argv[3], NULL, 10);
    double deadline = interop_now_s() + strtod(argv[4], NULL);
    error_frame_state_t state;
    memset(&state, 0, sizeof(state));

    aeron_context_t *context = NULL;
    aeron_t *aeron = NULL;
    if (aeron_context_init(&context) < 0 || aeron_context_set_dir(context, argv[1]) < 0 ||
        aeron_context_set_publication_error_frame_handler(context, on_error_frame, &state) < 0)
    {
        fprintf(stderr, "aeron context: %s\n", aeron_errmsg());
        return 2;
    }
    if (aeron_init(&aeron, context) < 0 || aeron_start(aeron) < 0)
    {
        fprintf(stderr, "aeron_init/start: %s\n", aeron_errmsg());
        return 2;
    }
    aeron_publication_t *publication = interop_add_publication(aeron, channel, stream_id);
    int reported_connected = 0;
    uint8_t message[64];
    uint32_t index = 0;
    while (!state.seen)
    {
        if (interop_now_s() > deadline)
        {
            fprintf(stderr, "timeout: no error frame (connected %d, sent %u)\n", aeron_publication_is_connected(publication), index);
            return 1;
        }
        if (!reported_connected && aeron_publication_is_connected(publication))
        {
            reported_connected = 1;
            printf("connected\n");
            fflush(stdout);
        }
        interop_fill(message, (int32_t)sizeof(message), index);
        if (aeron_publication_offer(publication, message, sizeof(message), NULL, NULL) > 0)
        {
            index++;
        }
        struct timespec pause = { 0, 10000000 };
        nanosleep(&pause, NULL);
    }
    printf("%s\n", state.line);
    fflush(stdout);
    aeron_publication_close(publication, NULL, NULL);
    aeron_close(aeron);
    return 0;
}
